//! The players: bots that join the lobby, play their room's rounds, tell their teammates about
//! their moves through ttk messages, meet when their room is full after every round
//! (`Cx::group_barrier_of`: players started by a ramp-up wait for their mates), chat, and check
//! every answer the server gives.
//!
//! What they measure, through the harness: the transactions `join` (connect and JOIN until
//! seated), `move` (MOVE sent until the server relays it as MOVED), `chat` (CHAT sent until it
//! comes back as SAID) and `round` (from the round's start until the table has met after it);
//! the latency `fan-out` (from a mover's `cx.stamp()`, carried in its MOVE and relayed in
//! MOVED, until each teammate sees it: `cx.observed`); the counters `frames sent`,
//! `frames received` and `messages between players`; the gauge `players seated`.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use ttk::cli::Session;
use ttk::{Barrier, Cx, Stamp, ThinkTime};

use crate::conn::{Conn, Transport};
use crate::protocol::{Frame, invalid};
use crate::server::SEATS;

/// How long a player waits for a frame, or for a teammate's word, before giving up.
const PATIENCE: Duration = Duration::from_secs(10);

/// What a player tells its teammates: "my move in this round".
#[derive(Clone, Debug)]
pub(crate) struct Told {
    /// The round.
    round: u32,
    /// The move.
    value: u32,
}

/// What all players of the run share.
#[derive(Debug, Default)]
pub(crate) struct Lobby {
    /// Players at a table now (between ROOM and BYE): the `players seated` gauge.
    seated: i64,
}

/// The player's context: messages are [`Told`], the world is the [`Lobby`].
type PlayerCx = Cx<Told, Lobby>;

/// Where a player sits.
struct Place {
    /// The player's seat.
    seat: usize,
    /// The table: names by seat.
    names: Vec<String>,
    /// The table: bot ids by seat.
    team: Vec<usize>,
    /// The room's message group.
    group: String,
    /// The room's meeting: all of its seats, every one waiting.
    barrier: Barrier,
}

/// The bot id behind a player name (`player-<id>`).
fn id_of(name: &str) -> io::Result<usize> {
    name.strip_prefix("player-")
        .and_then(|id| id.parse().ok())
        .ok_or_else(|| invalid(&format!("a stranger at the table: {name:?}")))
}

/// A check: an `InvalidData` error if `ok` is false.
fn check(ok: bool, what: impl FnOnce() -> String) -> io::Result<()> {
    if ok { Ok(()) } else { Err(invalid(&what())) }
}

/// Sets the `players seated` gauge after `change` players sat down (or, negative, left).
fn seat_change(cx: &PlayerCx, change: i64) {
    let seated = cx.world(|lobby| {
        lobby.seated += change;
        lobby.seated
    });
    cx.gauge("players seated", seated);
}

/// One player, from JOIN to BYE.
#[ttk::bot]
pub(crate) fn player(
    cx: PlayerCx,
    session: Session,
    server: SocketAddr,
    rounds: u32,
    transport: Transport,
) -> io::Result<()> {
    let me = format!("player-{}", session.id());
    let (mut conn, room, place) = ttk::yield_!(cx.time("join", join(&cx, server, transport, me)))?;
    cx.join(&place.group);
    seat_change(&cx, 1);
    let played = ttk::yield_!(play(&cx, &mut conn, &place, rounds));
    seat_change(&cx, -1);
    played?;
    cx.leave(&place.group)
        .map_err(|error| io::Error::other(format!("room {room}: {error}")))
}

/// Connects, joins, and waits for a seat: the connection, the room and the place in it.
#[ttk::bot]
fn join(
    cx: &PlayerCx,
    server: SocketAddr,
    transport: Transport,
    me: String,
) -> io::Result<(Conn, u32, Place)> {
    let mut conn = ttk::yield_!(Conn::connect(server, transport))?;
    ttk::yield_!(send(cx, &mut conn, Frame::Join { name: me.clone() }))?;
    let (room, seat, names) = match ttk::yield_!(receive(cx, &mut conn))? {
        Frame::Room { room, seat, names } => (room, seat, names),
        other => return Err(invalid(&format!("{other} instead of ROOM"))),
    };
    check(names.len() == SEATS && names.get(seat) == Some(&me), || {
        format!("seat {seat} at table {names:?} is not {me}")
    })?;
    let team = names
        .iter()
        .map(|name| id_of(name))
        .collect::<io::Result<_>>()?;
    let group = format!("room-{room}");
    // The room meets full: its first player waits for the others, however late a ramp-up
    // starts them.
    let barrier = cx.group_barrier_of(&group, SEATS);
    let place = Place {
        seat,
        names,
        team,
        group,
        barrier,
    };
    Ok((conn, room, place))
}

/// Plays the rounds (each a `round`, then the chat after it), then leaves the table.
#[ttk::bot]
fn play(cx: &PlayerCx, conn: &mut Conn, place: &Place, rounds: u32) -> io::Result<()> {
    for round in 1..=rounds {
        ttk::yield_!(cx.time("round", play_round(cx, conn, place, round)))?;
        ttk::yield_!(chat_round(cx, conn, place, round))?;
    }
    ttk::yield_!(send(cx, conn, Frame::Leave))?;
    let frame = ttk::yield_!(receive(cx, conn))?;
    check(frame == Frame::Bye, || format!("{frame} instead of BYE"))
}

/// One round: every seat's turn, the score, and the table meeting at the barrier.
#[ttk::bot]
fn play_round(cx: &PlayerCx, conn: &mut Conn, place: &Place, round: u32) -> io::Result<()> {
    let mut sum = 0;
    for (turn, &mover) in place.team.iter().enumerate() {
        let frame = ttk::yield_!(receive(cx, conn))?;
        check(frame == Frame::Turn { round, seat: turn }, || {
            format!("{frame} when TURN {round} {turn} was due")
        })?;
        let value = if turn == place.seat {
            // Think, then move.
            let think = ThinkTime::uniform(Duration::from_millis(1), Duration::from_millis(5));
            ttk::yield_!(cx.think(think));
            let value = cx.rng().range(1..100) as u32;
            let moved = make_move(cx, conn, &place.team, round, turn, value);
            ttk::yield_!(cx.time("move", moved))?;
            value
        } else {
            let value = match ttk::yield_!(receive(cx, conn))? {
                Frame::Moved {
                    round: r,
                    seat: s,
                    value,
                    stamp,
                } if r == round && s == turn => {
                    // How long the mover's move took to reach this player, through the server.
                    cx.observed("fan-out", Stamp::from_unix_nanos(stamp));
                    value
                }
                other => return Err(invalid(&format!("{other} instead of MOVED {round} {turn}"))),
            };
            // The mover's word must match what the server relayed.
            let mover = [mover];
            let told = ttk::yield_!(ttk::timeout(PATIENCE, cx.recv_from(&mover)))
                .map_err(|_| invalid("a teammate never told its move"))?;
            cx.count("messages between players", 1);
            check(told.data.round == round && told.data.value == value, || {
                format!("teammate said {:?}, the server said {value}", told.data)
            })?;
            value
        };
        sum += value;
    }
    let frame = ttk::yield_!(receive(cx, conn))?;
    check(frame == Frame::Score { round, sum }, || {
        format!("{frame}, expected SCORE {round} {sum}")
    })?;
    // The whole table meets before chatting.
    ttk::yield_!(place.barrier.wait()).map_err(io::Error::other)?;
    Ok(())
}

/// Sends this player's MOVE, tells the teammates, and waits for the server's MOVED.
#[ttk::bot]
fn make_move(
    cx: &PlayerCx,
    conn: &mut Conn,
    team: &[usize],
    round: u32,
    seat: usize,
    value: u32,
) -> io::Result<()> {
    let stamp = cx.stamp().unix_nanos();
    ttk::yield_!(send(
        cx,
        conn,
        Frame::Move {
            round,
            value,
            stamp
        }
    ))?;
    // To the table's bots by id, not to the room's group: a teammate whose ROOM frame is
    // still on its way (a slow link, `--net`) has not joined the group yet, and its mailbox
    // keeps the word until it reads it.
    let others: Vec<usize> = team
        .iter()
        .copied()
        .filter(|&id| id != team[seat])
        .collect();
    cx.send_many(&others, Told { round, value });
    match ttk::yield_!(receive(cx, conn))? {
        Frame::Moved {
            round: r,
            seat: s,
            value: seen,
            ..
        } if r == round && s == seat => check(seen == value, || {
            format!("the server saw {seen}, I moved {value}")
        }),
        other => Err(invalid(&format!("{other} instead of MOVED {round} {seat}"))),
    }
}

/// The chat after a round: each seat in turn says "gg"; this player's line is a `chat`.
#[ttk::bot]
fn chat_round(cx: &PlayerCx, conn: &mut Conn, place: &Place, round: u32) -> io::Result<()> {
    for (turn, name) in place.names.iter().enumerate() {
        let text = format!("gg from {name} in round {round}");
        if turn == place.seat {
            ttk::yield_!(cx.time("chat", chat(cx, conn, turn, text)))?;
        } else {
            ttk::yield_!(hear(cx, conn, turn, text))?;
        }
    }
    Ok(())
}

/// Sends this player's CHAT and waits for the server to relay it.
#[ttk::bot]
fn chat(cx: &PlayerCx, conn: &mut Conn, seat: usize, text: String) -> io::Result<()> {
    ttk::yield_!(send(cx, conn, Frame::Chat { text: text.clone() }))?;
    ttk::yield_!(hear(cx, conn, seat, text))
}

/// Receives a chat line, which must be `text` said by `seat`.
#[ttk::bot]
fn hear(cx: &PlayerCx, conn: &mut Conn, seat: usize, text: String) -> io::Result<()> {
    let frame = ttk::yield_!(receive(cx, conn))?;
    check(
        frame
            == Frame::Said {
                seat,
                text: text.clone(),
            },
        || format!("{frame}, expected SAID {seat} {text}"),
    )
}

/// Sends one frame.
#[ttk::bot]
fn send(cx: &PlayerCx, conn: &mut Conn, frame: Frame) -> io::Result<()> {
    ttk::yield_!(conn.write(&frame))?;
    cx.count("frames sent", 1);
    Ok(())
}

/// Receives one frame (a server that goes quiet is an error, not a hang).
#[ttk::bot]
fn receive(cx: &PlayerCx, conn: &mut Conn) -> io::Result<Frame> {
    let frame = ttk::yield_!(ttk::timeout(PATIENCE, conn.read()))??;
    let frame = frame.ok_or_else(|| invalid("the server hung up"))?;
    cx.count("frames received", 1);
    Ok(frame)
}
