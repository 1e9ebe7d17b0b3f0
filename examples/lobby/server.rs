//! The lobby's game server — a ttk run of its own on its own thread: one lobby bot accepts
//! players and seats them in rooms of four; one room bot per room runs the game, turn by turn.

use std::io;
use std::sync::mpsc;
use std::time::Duration;

use crate::conn::{Conn, Listener, Transport};
use ttk::Cx;

use crate::protocol::{Frame, invalid};

/// Players per room.
pub(crate) const SEATS: usize = 4;
/// How long the server waits for a player (its connection, or its next frame) before giving up:
/// players that never come (stopped by the run's end, say) must not hang the server.
const PLAYER_TIMEOUT: Duration = Duration::from_secs(10);

/// A seated player.
pub(crate) struct Seat {
    /// The connection.
    conn: Conn,
    /// The name it joined with.
    name: String,
}

/// What the lobby bot sends a room bot: its table.
pub(crate) struct Table {
    /// The room's number.
    room: u32,
    /// The players, by seat.
    seats: Vec<Seat>,
}

/// What the server counts.
#[derive(Debug, Default)]
pub(crate) struct ServerStats {
    /// Frames read.
    pub(crate) frames_in: u64,
    /// Frames written.
    pub(crate) frames_out: u64,
}

/// Runs the server for `players` players and `rounds` rounds over `transport`; reports its
/// address on `ready`
/// once listening. Returns each bot's outcome: what it counted, or how it failed.
pub(crate) fn serve(
    players: usize,
    rounds: u32,
    transport: Transport,
    ready: mpsc::Sender<io::Result<std::net::SocketAddr>>,
) -> Vec<Result<io::Result<ServerStats>, ttk::BotError>> {
    let rooms = players / SEATS;
    let mut ready = Some(ready);
    ttk::try_run(1 + rooms, |cx, id| {
        server_bot(cx, id, players, rounds, transport, ready.take())
    })
}

/// Bot 0 is the lobby; bots 1.. are rooms.
#[ttk::bot]
fn server_bot(
    cx: Cx<Table>,
    id: usize,
    players: usize,
    rounds: u32,
    transport: Transport,
    ready: Option<mpsc::Sender<io::Result<std::net::SocketAddr>>>,
) -> io::Result<ServerStats> {
    if id == 0 {
        let ready = ready.expect("the lobby bot reports the address");
        let listener = match Listener::bind(transport, players) {
            Ok(listener) => listener,
            Err(error) => {
                let _ = ready.send(Err(io::Error::new(error.kind(), error.to_string())));
                return Err(error);
            }
        };
        let _ = ready.send(listener.local_addr());
        ttk::yield_!(lobby(&cx, &listener, players))
    } else {
        let table = ttk::yield_!(cx.recv()).data;
        ttk::yield_!(room(table, rounds))
    }
}

/// Accepts `players` players, reads their JOIN, and sends each full table to its room bot.
#[ttk::bot]
fn lobby(cx: &Cx<Table>, listener: &Listener, players: usize) -> io::Result<ServerStats> {
    let mut stats = ServerStats::default();
    let mut waiting = Vec::with_capacity(SEATS);
    let mut next_room = 0;
    for _ in 0..players {
        let mut conn = ttk::yield_!(ttk::timeout(PLAYER_TIMEOUT, listener.accept()))??;
        let name = match ttk::yield_!(read(&mut conn, &mut stats))? {
            Frame::Join { name } => name,
            other => return Err(invalid(&format!("{other} instead of JOIN"))),
        };
        waiting.push(Seat { conn, name });
        if waiting.len() == SEATS {
            let seats = std::mem::replace(&mut waiting, Vec::with_capacity(SEATS));
            cx.send(
                1 + next_room as usize,
                Table {
                    room: next_room,
                    seats,
                },
            );
            next_room += 1;
        }
    }
    Ok(stats)
}

/// Plays `rounds` rounds at one table, then says goodbye.
#[ttk::bot]
fn room(mut table: Table, rounds: u32) -> io::Result<ServerStats> {
    let mut stats = ServerStats::default();
    let names: Vec<String> = table.seats.iter().map(|seat| seat.name.clone()).collect();
    for seat in 0..SEATS {
        let frame = Frame::Room {
            room: table.room,
            seat,
            names: names.clone(),
        };
        ttk::yield_!(write(&mut table.seats[seat].conn, &frame, &mut stats))?;
    }
    for round in 1..=rounds {
        let mut sum = 0;
        for turn in 0..SEATS {
            ttk::yield_!(broadcast(
                &mut table,
                &Frame::Turn { round, seat: turn },
                &mut stats
            ))?;
            let (value, stamp) = match ttk::yield_!(read(&mut table.seats[turn].conn, &mut stats))?
            {
                Frame::Move {
                    round: r,
                    value,
                    stamp,
                } if r == round => (value, stamp),
                other => return Err(invalid(&format!("{other} instead of MOVE {round}"))),
            };
            sum += value;
            let moved = Frame::Moved {
                round,
                seat: turn,
                value,
                stamp,
            };
            ttk::yield_!(broadcast(&mut table, &moved, &mut stats))?;
        }
        ttk::yield_!(broadcast(
            &mut table,
            &Frame::Score { round, sum },
            &mut stats
        ))?;
        for turn in 0..SEATS {
            let text = match ttk::yield_!(read(&mut table.seats[turn].conn, &mut stats))? {
                Frame::Chat { text } => text,
                other => return Err(invalid(&format!("{other} instead of CHAT"))),
            };
            ttk::yield_!(broadcast(
                &mut table,
                &Frame::Said { seat: turn, text },
                &mut stats
            ))?;
        }
    }
    for seat in &mut table.seats {
        match ttk::yield_!(read(&mut seat.conn, &mut stats))? {
            Frame::Leave => ttk::yield_!(write(&mut seat.conn, &Frame::Bye, &mut stats))?,
            other => return Err(invalid(&format!("{other} instead of LEAVE"))),
        }
    }
    for seat in table.seats {
        ttk::yield_!(seat.conn.close())?;
    }
    Ok(stats)
}

/// Reads one frame (with a time limit: a silent player must not hang the server).
#[ttk::bot]
fn read(conn: &mut Conn, stats: &mut ServerStats) -> io::Result<Frame> {
    let frame = ttk::yield_!(ttk::timeout(PLAYER_TIMEOUT, conn.read()))??;
    let frame = frame.ok_or_else(|| invalid("a player hung up"))?;
    stats.frames_in += 1;
    Ok(frame)
}

/// Writes one frame.
#[ttk::bot]
fn write(conn: &mut Conn, frame: &Frame, stats: &mut ServerStats) -> io::Result<()> {
    ttk::yield_!(conn.write(frame))?;
    stats.frames_out += 1;
    Ok(())
}

/// Writes one frame to every seat.
#[ttk::bot]
fn broadcast(table: &mut Table, frame: &Frame, stats: &mut ServerStats) -> io::Result<()> {
    for seat in &mut table.seats {
        ttk::yield_!(write(&mut seat.conn, frame, stats))?;
    }
    Ok(())
}
