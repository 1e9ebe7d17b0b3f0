//! The lobby's wire protocol: text frames behind a big-endian `u16` length.
//!
//! ```text
//! client → server          server → client
//! JOIN <name>              ROOM <room> <seat> <name>,<name>,<name>,<name>
//! MOVE <round> <value> <stamp>   TURN <round> <seat>
//! CHAT <text>              MOVED <round> <seat> <value> <stamp>
//! LEAVE                    SCORE <round> <sum>
//!                          SAID <seat> <text>
//!                          BYE
//! ```

use std::fmt;
use std::io;

use ttk::net::FrameFormat;

/// Frames are small: anything longer is a protocol error, not an allocation.
pub(crate) fn format() -> FrameFormat {
    FrameFormat::u16_be().max_frame_len(1024)
}

/// One protocol message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Frame {
    /// A player asks for a seat.
    Join { name: String },
    /// The player's room, seat and table (names by seat).
    Room {
        room: u32,
        seat: usize,
        names: Vec<String>,
    },
    /// Whose turn it is.
    Turn { round: u32, seat: usize },
    /// A player's move, stamped when it was made (`ttk::Stamp`, nanoseconds since the Unix
    /// epoch): its teammates time how long it took to reach them.
    Move { round: u32, value: u32, stamp: u64 },
    /// A move, as the server saw it, with the mover's stamp.
    Moved {
        round: u32,
        seat: usize,
        value: u32,
        stamp: u64,
    },
    /// The round's total.
    Score { round: u32, sum: u32 },
    /// A player's chat line.
    Chat { text: String },
    /// A chat line, as the server relays it.
    Said { seat: usize, text: String },
    /// A player leaves.
    Leave,
    /// The server's goodbye.
    Bye,
}

impl fmt::Display for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Frame::Join { name } => write!(f, "JOIN {name}"),
            Frame::Room { room, seat, names } => {
                write!(f, "ROOM {room} {seat} {}", names.join(","))
            }
            Frame::Turn { round, seat } => write!(f, "TURN {round} {seat}"),
            Frame::Move {
                round,
                value,
                stamp,
            } => write!(f, "MOVE {round} {value} {stamp}"),
            Frame::Moved {
                round,
                seat,
                value,
                stamp,
            } => write!(f, "MOVED {round} {seat} {value} {stamp}"),
            Frame::Score { round, sum } => write!(f, "SCORE {round} {sum}"),
            Frame::Chat { text } => write!(f, "CHAT {text}"),
            Frame::Said { seat, text } => write!(f, "SAID {seat} {text}"),
            Frame::Leave => write!(f, "LEAVE"),
            Frame::Bye => write!(f, "BYE"),
        }
    }
}

impl Frame {
    /// Parses a frame's payload.
    ///
    /// # Errors
    /// `InvalidData` naming what was wrong.
    pub(crate) fn parse(payload: &[u8]) -> io::Result<Frame> {
        let text =
            std::str::from_utf8(payload).map_err(|_| invalid("a frame that is not UTF-8"))?;
        let (verb, rest) = text.split_once(' ').unwrap_or((text, ""));
        let mut words = rest.splitn(4, ' ');
        let mut word = || {
            words
                .next()
                .ok_or_else(|| invalid(&format!("a short {verb} frame")))
        };
        let number = |w: &str| {
            w.parse::<u32>()
                .map_err(|_| invalid(&format!("{verb}: bad number {w:?}")))
        };
        let stamp = |w: &str| {
            w.parse::<u64>()
                .map_err(|_| invalid(&format!("{verb}: bad stamp {w:?}")))
        };
        Ok(match verb {
            "JOIN" => Frame::Join {
                name: rest.to_owned(),
            },
            "ROOM" => Frame::Room {
                room: number(word()?)?,
                seat: number(word()?)? as usize,
                names: word()?.split(',').map(str::to_owned).collect(),
            },
            "TURN" => Frame::Turn {
                round: number(word()?)?,
                seat: number(word()?)? as usize,
            },
            "MOVE" => Frame::Move {
                round: number(word()?)?,
                value: number(word()?)?,
                stamp: stamp(word()?)?,
            },
            "MOVED" => Frame::Moved {
                round: number(word()?)?,
                seat: number(word()?)? as usize,
                value: number(word()?)?,
                stamp: stamp(word()?)?,
            },
            "SCORE" => Frame::Score {
                round: number(word()?)?,
                sum: number(word()?)?,
            },
            "CHAT" => Frame::Chat {
                text: rest.to_owned(),
            },
            "SAID" => {
                let (seat, text) = rest.split_once(' ').unwrap_or((rest, ""));
                Frame::Said {
                    seat: number(seat)? as usize,
                    text: text.to_owned(),
                }
            }
            "LEAVE" => Frame::Leave,
            "BYE" => Frame::Bye,
            other => return Err(invalid(&format!("an unknown frame {other:?}"))),
        })
    }
}

/// An `InvalidData` error: "the peer sent <what>".
pub(crate) fn invalid(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("protocol error: {what}"),
    )
}
