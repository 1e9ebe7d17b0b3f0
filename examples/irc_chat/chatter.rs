//! The chatters: bots in rooms of four, each with one connection to the IRC server, registered
//! under a nick of its own and joined to its room's channel, saying a line a round.
//!
//! A round: each chatter sends one PRIVMSG to its channel, then reads its three mates' lines
//! of the round (IRC does not echo a client's own), then meets its room at the barrier. The
//! barriers make the counts exact: the whole room has joined before anyone speaks, and has
//! heard a round before anyone speaks the next. Lines the server sends meanwhile (the MOTD, a
//! mate's JOIN) are passed over; its PINGs are answered wherever they come.
//!
//! What they measure, through the harness: the transactions `connect`, `register` (NICK and
//! USER until the welcome, 001), `join` (JOIN until the end of the channel's names, 366) and
//! `round` (from the PRIVMSG until the room's three lines were read); the counters `sent`
//! (PRIVMSGs), `delivered` (mates' lines read) and `pongs` (PINGs answered).

use std::future::Future;
use std::io;
use std::time::Duration;

use ttk::cli::Session;
use ttk::net::TcpStream;
use ttk::{Cx, ThinkTime};
use ttk_examples::chat_rooms::{ROOM, Rooms};

use crate::irc::{Irc, Message};

/// How far apart the chatters connect. All at once, they overflow a server's listen backlog
/// (ngircd's is 10): the kernel drops the SYNs past it (a connect then takes a second) and
/// resets some of the connections it half-made, which fail their registration.
const CONNECT_SPACING: Duration = Duration::from_millis(10);

/// How long a chatter waits for the server, or for its room's lines, before giving up: longer
/// than `redis_chat`'s 10 s, since an IRC server may hold a busy client's commands back for
/// seconds (ngircd's throttling).
const PATIENCE: Duration = Duration::from_secs(20);

/// A chatter's context: no messages between bots, the rooms as the world.
type ChatCx = Cx<(), Rooms>;

/// One chatter: registers as `ttk<id>`, joins `#room-<room>`, says `rounds` lines and reads its
/// mates', then quits.
#[ttk::bot]
pub(crate) fn chatter(cx: ChatCx, session: Session, server: String, rounds: u32) -> io::Result<()> {
    let me = session.id();
    let room = me / ROOM;
    let channel = format!("#room-{room}");
    let nick = format!("ttk{me}");
    let barrier = cx.world(|rooms| rooms.barrier(room));

    ttk::yield_!(ttk::sleep(CONNECT_SPACING * me as u32));
    let stream = ttk::yield_!(cx.time("connect", patiently(TcpStream::connect(&server))))?;
    let mut irc = Irc::new(stream);
    ttk::yield_!(cx.time("register", patiently(register(&cx, &mut irc, &nick))))?;
    ttk::yield_!(cx.time("join", patiently(join(&cx, &mut irc, &channel))))?;
    // Nobody speaks before the whole room has joined.
    ttk::yield_!(barrier.wait()).map_err(io::Error::other)?;

    for round in 0..rounds {
        ttk::yield_!(cx.think(ThinkTime::uniform(
            Duration::from_millis(5),
            Duration::from_millis(25),
        )));
        let started = ttk::now();
        ttk::yield_!(irc.send(&format!("PRIVMSG {channel} :round {round} from {nick}")))?;
        cx.count("sent", 1);
        ttk::yield_!(patiently(hear_round(&cx, &mut irc, &channel, round)))?;
        cx.record("round", ttk::now() - started);
        // Nobody speaks the next round before the whole room has heard this one.
        ttk::yield_!(barrier.wait()).map_err(io::Error::other)?;
    }
    ttk::yield_!(patiently(irc.quit()))
}

/// `op`, given up on (`TimedOut`) after [`PATIENCE`].
async fn patiently<T>(op: impl Future<Output = io::Result<T>>) -> io::Result<T> {
    ttk::timeout(PATIENCE, op).await?
}

/// An error for a reply the chatter did not expect: the server's own words.
fn refused(message: &Message) -> io::Error {
    io::Error::other(format!(
        "the IRC server answered {} {}",
        message.command,
        message.params.join(" ")
    ))
}

/// Whether `command` is an error reply (numerics 400 to 599).
fn is_error(command: &str) -> bool {
    command.len() == 3 && matches!(command.as_bytes()[0], b'4' | b'5')
}

/// NICK and USER, until the server welcomes `nick` (001); an error reply (a nick in use, 433)
/// fails.
async fn register(cx: &ChatCx, irc: &mut Irc, nick: &str) -> io::Result<()> {
    irc.send(&format!("NICK {nick}")).await?;
    irc.send(&format!("USER {nick} 0 * :ttk chatter")).await?;
    loop {
        let message = irc.next(cx).await?;
        match message.command.as_str() {
            "001" => return Ok(()),
            command if is_error(command) => return Err(refused(&message)),
            // Notices before the welcome (looking up the host, checking ident).
            _ => {}
        }
    }
}

/// JOIN `channel`, until the end of its names (366): the join is done and the mates already
/// in it are listed. What comes before (the MOTD after the welcome) is passed over.
async fn join(cx: &ChatCx, irc: &mut Irc, channel: &str) -> io::Result<()> {
    irc.send(&format!("JOIN {channel}")).await?;
    loop {
        let message = irc.next(cx).await?;
        // Channel names are case-insensitive: the server names it as its creator spelled it.
        let for_channel = message
            .params
            .get(1)
            .is_some_and(|name| name.eq_ignore_ascii_case(channel));
        match message.command.as_str() {
            "366" if for_channel => return Ok(()),
            // No MOTD (422) is no answer to the JOIN; any other error is (registered, the
            // chatter sent nothing else).
            "422" => {}
            command if is_error(command) => return Err(refused(&message)),
            // The MOTD, our own JOIN, the channel's names.
            _ => {}
        }
    }
}

/// Reads the room's three other lines of `round`, counting each as `delivered`; a line of
/// another round or from outside the room fails (the barriers forbid both).
async fn hear_round(cx: &ChatCx, irc: &mut Irc, channel: &str, round: u32) -> io::Result<()> {
    let prefix = format!("round {round} from ttk");
    let mut heard = 0;
    while heard < ROOM - 1 {
        let message = irc.next(cx).await?;
        if message.command != "PRIVMSG" {
            // A mate's JOIN seen late, a notice: no line of the chat.
            continue;
        }
        let [target, text] = &message.params[..] else {
            return Err(refused(&message));
        };
        let in_room = target.eq_ignore_ascii_case(channel);
        if !in_room || !text.starts_with(&prefix) || !text.ends_with(message.nick()) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "{text:?} from {} to {target} in round {round} of {channel}",
                    message.nick()
                ),
            ));
        }
        cx.count("delivered", 1);
        heard += 1;
    }
    Ok(())
}
