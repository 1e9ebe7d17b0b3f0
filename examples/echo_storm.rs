//! A load test: N bots hammer a TCP echo target for D seconds with 13-byte requests, then the
//! run prints requests, errors, requests/s and latency percentiles.
//!
//! `cargo run --release --example echo_storm -- --bots 100 --seconds 5` starts its own target
//! (in this process, on its own thread); `--target HOST:PORT` aims at another one.

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use ttk::net::TcpStream;
use ttk::{Cx, RunEnd, Runtime};
use ttk_examples::echo_target;
use ttk_examples::storm::{StormArgs, Tally};

/// The request: 13 bytes, echoed back whole.
const REQUEST: &[u8; 13] = b"hello, world\n";

/// One bot: connect, then request/response until the run's deadline stops it (also in the
/// middle of a read, if the target stalls). A failed connection is counted and replaced, as a
/// real client would reconnect.
#[ttk::bot]
fn client(_cx: Cx, _id: usize, target: SocketAddr, tally: Rc<Tally>) {
    loop {
        let stream = match ttk::yield_!(TcpStream::connect(target)) {
            Ok(stream) => stream,
            Err(error) => {
                tally.error(error);
                ttk::yield_!(ttk::sleep(Duration::from_millis(100)));
                continue;
            }
        };
        let Err(error) = ttk::yield_!(requests(&stream, &tally));
        tally.error(error);
    }
}

/// Request/response on one connection until an error (or the run's end).
#[ttk::bot]
fn requests(stream: &TcpStream, tally: &Tally) -> io::Result<Infallible> {
    stream.set_nodelay(true)?;
    let mut response = [0; REQUEST.len()];
    loop {
        let sent = Instant::now();
        ttk::yield_!(stream.write_all(REQUEST))?;
        ttk::yield_!(stream.read_exact(&mut response))?;
        tally.request(sent.elapsed());
        if &response != REQUEST {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "the echo differs",
            ));
        }
    }
}

fn main() -> io::Result<()> {
    let args = StormArgs::from_env_or_exit();
    let target = args.target(|| echo_target::spawn_tcp("127.0.0.1:0"))?;
    println!(
        "echo_storm: {} bots against {target} for {:?}",
        args.bots, args.duration
    );
    let tally = Rc::new(Tally::default());
    let started = Instant::now();
    let report = Runtime::new()
        .deadline(args.duration)
        .execute(args.bots, |cx, id| {
            client(cx, id, target, Rc::clone(&tally))
        });
    if report.end != RunEnd::DeadlineReached {
        return Err(io::Error::other(format!(
            "the run ended early: {}",
            report.end
        )));
    }
    tally.report(started.elapsed())
}
