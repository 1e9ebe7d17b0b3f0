//! The chatters: bots in rooms of four, each subscribed to its room's channel on one
//! connection and publishing on another, round after round.
//!
//! A round: each chatter publishes one line (it holds a CRLF, so Redis sends it back as a bulk
//! string with a CRLF inside), then reads its room's four lines of the round on its
//! subscription, then meets its room at the barrier. The barriers make the counts exact: every
//! chatter is subscribed before anyone publishes, and reads all of a round before anyone
//! publishes the next, so each PUBLISH reaches the room's four subscribers.
//!
//! What they measure, through the harness: the transactions `connect`, `subscribe` (SUBSCRIBE
//! until Redis confirms it), `publish` (PUBLISH until its reply) and `round` (from the publish
//! until the room's four lines were read); the counters `published` (PUBLISH replies),
//! `receivers` (the PUBLISH replies summed: how many subscribers Redis says it delivered to)
//! and `delivered` (lines read on the subscriptions).

use std::future::Future;
use std::io;
use std::time::Duration;

use ttk::cli::Session;
use ttk::net::TcpStream;
use ttk::{Cx, ThinkTime};
use ttk_examples::chat_rooms::{ROOM, Rooms};

use crate::resp::{Reply, Resp, encode, invalid, read_reply, resp};

/// How long a chatter waits for Redis, or for its room's lines, before giving up.
const PATIENCE: Duration = Duration::from_secs(10);

/// A chatter's context: no messages between bots, the rooms as the world.
type ChatCx = Cx<(), Rooms>;

/// One chatter: subscribes, publishes `rounds` lines, reads its room's lines.
#[ttk::bot]
pub(crate) fn chatter(cx: ChatCx, session: Session, redis: String, rounds: u32) -> io::Result<()> {
    let me = session.id();
    let room = me / ROOM;
    let channel = format!("room-{room}");
    let barrier = cx.world(|rooms| rooms.barrier(room));

    let mut listening = ttk::yield_!(connect(&cx, &redis))?;
    let subscribed = subscribe(&mut listening, &channel);
    ttk::yield_!(cx.time("subscribe", patiently(subscribed)))?;
    let mut talking = ttk::yield_!(connect(&cx, &redis))?;
    // Nobody publishes before the whole room listens.
    ttk::yield_!(barrier.wait()).map_err(io::Error::other)?;

    for round in 0..rounds {
        ttk::yield_!(cx.think(ThinkTime::uniform(
            Duration::from_millis(5),
            Duration::from_millis(25),
        )));
        let started = ttk::now();
        let line = format!("round {round} from {me}\r\nhello, room {room}");
        let published = publish(&mut talking, &channel, &line);
        let receivers = ttk::yield_!(cx.time("publish", patiently(published)))?;
        cx.count("published", 1);
        cx.count("receivers", receivers);
        let heard = hear_round(&cx, &mut listening, &channel, round);
        ttk::yield_!(patiently(heard))?;
        cx.record("round", ttk::now() - started);
        // Nobody publishes the next round before the whole room heard this one.
        ttk::yield_!(barrier.wait()).map_err(io::Error::other)?;
    }
    Ok(())
}

/// Connects to Redis, timed as `connect`.
async fn connect(cx: &ChatCx, redis: &str) -> io::Result<Resp> {
    let stream = cx
        .time("connect", patiently(TcpStream::connect(redis)))
        .await?;
    Ok(resp(stream))
}

/// `op`, given up on (`TimedOut`) after [`PATIENCE`].
async fn patiently<T>(op: impl Future<Output = io::Result<T>>) -> io::Result<T> {
    ttk::timeout(PATIENCE, op).await?
}

/// SUBSCRIBE `channel`, until Redis confirms it.
async fn subscribe(listening: &mut Resp, channel: &str) -> io::Result<()> {
    let command = encode(&[b"SUBSCRIBE", channel.as_bytes()]);
    listening.write_raw(&command).await?;
    let expected = Reply::Array(vec![
        Reply::Bulk(Some(b"subscribe".to_vec())),
        Reply::Bulk(Some(channel.as_bytes().to_vec())),
        Reply::Integer(1),
    ]);
    match read_reply(listening).await? {
        reply if reply == expected => Ok(()),
        other => Err(invalid(&format!("{other:?} instead of the subscription"))),
    }
}

/// PUBLISH `line` to `channel`; how many subscribers Redis delivered it to.
async fn publish(talking: &mut Resp, channel: &str, line: &str) -> io::Result<u64> {
    let command = encode(&[b"PUBLISH", channel.as_bytes(), line.as_bytes()]);
    talking.write_raw(&command).await?;
    match read_reply(talking).await? {
        Reply::Integer(receivers) => {
            u64::try_from(receivers).map_err(|_| invalid("a negative count"))
        }
        other => Err(invalid(&format!("{other:?} instead of a count"))),
    }
}

/// Reads the room's four lines of `round` on the subscription, counting each as `delivered`.
async fn hear_round(
    cx: &ChatCx,
    listening: &mut Resp,
    channel: &str,
    round: u32,
) -> io::Result<()> {
    let prefix = format!("round {round} from ");
    let suffix = format!("\r\nhello, room {}", channel.trim_start_matches("room-"));
    for _ in 0..ROOM {
        let Reply::Array(parts) = read_reply(listening).await? else {
            return Err(invalid("a reply that is not a message"));
        };
        let [
            Reply::Bulk(Some(kind)),
            Reply::Bulk(Some(from)),
            Reply::Bulk(Some(line)),
        ] = &parts[..]
        else {
            return Err(invalid(&format!("{parts:?} is not a message")));
        };
        let line = String::from_utf8_lossy(line);
        if kind != b"message" || from != channel.as_bytes() {
            return Err(invalid(&format!(
                "a {kind:?} on {from:?}, not a message on {channel}"
            )));
        }
        // The CRLF inside the line came through whole.
        if !line.starts_with(&prefix) || !line.ends_with(&suffix) {
            return Err(invalid(&format!("{line:?} in round {round} of {channel}")));
        }
        cx.count("delivered", 1);
    }
    Ok(())
}
