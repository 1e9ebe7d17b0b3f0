//! The players: bots that join the lobby, play their room's rounds, tell their teammates about
//! their moves through ttk messages, meet at a barrier after every round, chat, and check every
//! answer the server gives.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use ttk::net::{Framed, TcpStream};
use ttk::{Barrier, Cx};

use crate::protocol::{self, Frame, invalid};
use crate::server::SEATS;

/// What a player tells its teammates: "my move in this round".
#[derive(Clone, Debug)]
pub(crate) struct Told {
    /// The round.
    round: u32,
    /// The move.
    value: u32,
}

/// What all players of the run share.
#[derive(Debug)]
pub(crate) struct Lobby {
    /// One barrier per room, made by the first player to learn its room.
    barriers: HashMap<u32, Barrier>,
    /// Move → MOVED latencies seen by the movers, in microseconds.
    pub(crate) latencies: Histogram<u64>,
    /// Frames the players sent and received.
    pub(crate) frames: u64,
    /// Messages between players (ttk messages).
    pub(crate) messages: u64,
    /// Rounds completed, summed over players.
    pub(crate) rounds: u64,
    /// Rooms seen.
    pub(crate) rooms: std::collections::BTreeSet<u32>,
}

impl Default for Lobby {
    fn default() -> Self {
        Lobby {
            barriers: HashMap::new(),
            latencies: Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid bounds"),
            frames: 0,
            messages: 0,
            rounds: 0,
            rooms: Default::default(),
        }
    }
}

/// The player's context: messages are [`Told`], the world is the [`Lobby`].
type PlayerCx = Cx<Told, Lobby>;

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

/// One player, from JOIN to BYE.
#[ttk::bot]
pub(crate) fn player(cx: PlayerCx, id: usize, server: SocketAddr, rounds: u32) -> io::Result<()> {
    let stream = ttk::yield_!(TcpStream::connect(server))?;
    stream.set_nodelay(true)?;
    let mut conn = Framed::new(stream, protocol::format());
    let me = format!("player-{id}");
    ttk::yield_!(send(&cx, &mut conn, Frame::Join { name: me.clone() }))?;
    let (room, seat, names) = match ttk::yield_!(receive(&cx, &mut conn))? {
        Frame::Room { room, seat, names } => (room, seat, names),
        other => return Err(invalid(&format!("{other} instead of ROOM"))),
    };
    check(names.len() == SEATS && names.get(seat) == Some(&me), || {
        format!("seat {seat} at table {names:?} is not {me}")
    })?;
    let team: Vec<usize> = names
        .iter()
        .map(|name| id_of(name))
        .collect::<io::Result<_>>()?;
    let group = format!("room-{room}");
    cx.join(&group);
    let barrier = cx.world(|lobby| {
        lobby.rooms.insert(room);
        lobby
            .barriers
            .entry(room)
            .or_insert_with(|| Barrier::new(SEATS))
            .clone()
    });

    for round in 1..=rounds {
        let mut sum = 0;
        for (turn, &mover) in team.iter().enumerate() {
            let frame = ttk::yield_!(receive(&cx, &mut conn))?;
            check(frame == Frame::Turn { round, seat: turn }, || {
                format!("{frame} when TURN {round} {turn} was due")
            })?;
            let mine = if turn == seat {
                // Think, then move; tell the teammates what the move was.
                let think = Duration::from_millis(cx.rng().range(1..6));
                ttk::yield_!(ttk::sleep(think));
                let value = cx.rng().range(1..100) as u32;
                let sent = Instant::now();
                ttk::yield_!(send(&cx, &mut conn, Frame::Move { round, value }))?;
                cx.send_group(&group, Told { round, value });
                Some((value, sent))
            } else {
                None
            };
            let value = match ttk::yield_!(receive(&cx, &mut conn))? {
                Frame::Moved {
                    round: r,
                    seat: s,
                    value,
                } if r == round && s == turn => value,
                other => return Err(invalid(&format!("{other} instead of MOVED {round} {turn}"))),
            };
            match mine {
                Some((mine, sent)) => {
                    check(value == mine, || {
                        format!("the server saw {value}, I moved {mine}")
                    })?;
                    let micros = sent.elapsed().as_micros() as u64;
                    cx.world(|lobby| lobby.latencies.saturating_record(micros.max(1)));
                }
                None => {
                    let mover = [mover];
                    let wait = ttk::timeout(Duration::from_secs(5), cx.recv_from(&mover));
                    let told = ttk::yield_!(wait)
                        .map_err(|_| invalid("a teammate never told its move"))?;
                    cx.world(|lobby| lobby.messages += 1);
                    check(told.data.round == round && told.data.value == value, || {
                        format!("teammate said {:?}, the server said {value}", told.data)
                    })?;
                }
            }
            sum += value;
        }
        let frame = ttk::yield_!(receive(&cx, &mut conn))?;
        check(frame == Frame::Score { round, sum }, || {
            format!("{frame}, expected SCORE {round} {sum}")
        })?;

        // The whole table meets before chatting.
        ttk::yield_!(barrier.wait()).map_err(|error| invalid(&error.to_string()))?;
        for (turn, name) in names.iter().enumerate() {
            if turn == seat {
                let text = format!("gg from {me} in round {round}");
                ttk::yield_!(send(&cx, &mut conn, Frame::Chat { text }))?;
            }
            let expected = format!("gg from {name} in round {round}");
            let frame = ttk::yield_!(receive(&cx, &mut conn))?;
            check(
                frame
                    == Frame::Said {
                        seat: turn,
                        text: expected.clone(),
                    },
                || format!("{frame}, expected SAID {turn} {expected}"),
            )?;
        }
        cx.world(|lobby| lobby.rounds += 1);
    }
    ttk::yield_!(send(&cx, &mut conn, Frame::Leave))?;
    let frame = ttk::yield_!(receive(&cx, &mut conn))?;
    check(frame == Frame::Bye, || format!("{frame} instead of BYE"))?;
    cx.leave(&group)
        .map_err(|error| invalid(&error.to_string()))
}

/// Sends one frame.
#[ttk::bot]
fn send(cx: &PlayerCx, conn: &mut Framed, frame: Frame) -> io::Result<()> {
    ttk::yield_!(conn.write_frame(frame.to_string().as_bytes()))?;
    cx.world(|lobby| lobby.frames += 1);
    Ok(())
}

/// Receives one frame (a server that goes quiet is an error, not a hang).
#[ttk::bot]
fn receive(cx: &PlayerCx, conn: &mut Framed) -> io::Result<Frame> {
    let payload = ttk::yield_!(ttk::timeout(Duration::from_secs(10), conn.read_frame()))??;
    let frame = Frame::parse(payload.ok_or_else(|| invalid("the server hung up"))?)?;
    cx.world(|lobby| lobby.frames += 1);
    Ok(frame)
}
