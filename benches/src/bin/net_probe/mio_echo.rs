//! The echo probe's workload written by hand on mio, to compare ttk's client against: one
//! thread, one `Poll`, nonblocking connections registered once, edge-triggered, each doing
//! 13-byte write, then read-exact, round trips.

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::time::Instant;

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};

use crate::REQUEST;

/// Events taken from the poll at a time.
const EVENTS: usize = 1024;

/// Where a connection is in its life.
#[derive(Clone, Copy, Debug)]
enum Phase {
    /// Waiting for the connect to complete.
    Connecting,
    /// Writing the request; this many bytes are sent.
    Writing(usize),
    /// Reading the response; this many bytes are in.
    Reading(usize),
    /// Finished (time was up after a round trip) or failed: nothing more to do.
    Done,
}

/// One client connection.
#[derive(Debug)]
struct Connection {
    /// The socket.
    stream: TcpStream,
    /// Where it is.
    phase: Phase,
    /// The response being read.
    response: [u8; REQUEST.len()],
}

/// What a run of the mio client did.
#[derive(Debug)]
pub(crate) struct Outcome {
    /// Round trips completed.
    pub(crate) requests: u64,
    /// Connections that failed.
    pub(crate) errors: usize,
}

impl Connection {
    /// Drives the connection until the socket would block or the connection is done. A round
    /// trip that completes at or after `until` (`now` is when the poll returned) is its last.
    fn drive(&mut self, now: Instant, until: Instant, requests: &mut u64) -> io::Result<()> {
        loop {
            match self.phase {
                Phase::Connecting => {
                    if let Some(error) = self.stream.take_error()? {
                        return Err(error);
                    }
                    match self.stream.peer_addr() {
                        Ok(_) => {
                            self.stream.set_nodelay(true)?;
                            self.phase = Phase::Writing(0);
                        }
                        Err(error) if error.kind() == io::ErrorKind::NotConnected => {
                            return Ok(());
                        }
                        Err(error) => return Err(error),
                    }
                }
                Phase::Writing(sent) => match self.stream.write(&REQUEST[sent..]) {
                    Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                    Ok(n) if sent + n == REQUEST.len() => self.phase = Phase::Reading(0),
                    Ok(n) => self.phase = Phase::Writing(sent + n),
                    Err(error) if error.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                    Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                    Err(error) => return Err(error),
                },
                Phase::Reading(got) => match self.stream.read(&mut self.response[got..]) {
                    Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                    Ok(n) if got + n == REQUEST.len() => {
                        *requests += 1;
                        self.phase = if now < until {
                            Phase::Writing(0)
                        } else {
                            Phase::Done
                        };
                    }
                    Ok(n) => self.phase = Phase::Reading(got + n),
                    Err(error) if error.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                    Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                    Err(error) => return Err(error),
                },
                Phase::Done => return Ok(()),
            }
        }
    }
}

/// Runs `bots` connections to `target`, each doing round trips while the time is before
/// `until`, and returns when every one has finished or failed.
pub(crate) fn run(bots: usize, target: SocketAddr, until: Instant) -> io::Result<Outcome> {
    let mut poll = Poll::new()?;
    let mut events = Events::with_capacity(EVENTS);
    let mut connections = Vec::with_capacity(bots);
    let mut outcome = Outcome {
        requests: 0,
        errors: 0,
    };
    for _ in 0..bots {
        match TcpStream::connect(target) {
            Ok(mut stream) => {
                let token = Token(connections.len());
                poll.registry().register(
                    &mut stream,
                    token,
                    Interest::READABLE | Interest::WRITABLE,
                )?;
                connections.push(Connection {
                    stream,
                    phase: Phase::Connecting,
                    response: [0; REQUEST.len()],
                });
            }
            Err(_) => outcome.errors += 1,
        }
    }
    let mut live = connections.len();
    while live > 0 {
        poll.poll(&mut events, None)?;
        let now = Instant::now();
        for event in &events {
            let connection = &mut connections[event.token().0];
            if matches!(connection.phase, Phase::Done) {
                continue;
            }
            let driven = connection.drive(now, until, &mut outcome.requests);
            if driven.is_err() {
                outcome.errors += 1;
                connection.phase = Phase::Done;
            }
            if matches!(connection.phase, Phase::Done) {
                live -= 1;
            }
        }
    }
    Ok(outcome)
}
