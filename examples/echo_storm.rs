//! A load test: N bots hammer a TCP echo target for D seconds with 13-byte requests, then the
//! run prints requests, errors, requests/s and latency percentiles.
//!
//! `cargo run --release --example echo_storm -- --bots 100 --seconds 5` starts its own target
//! (in this process, on its own thread); `--target HOST:PORT` aims at another one.

use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use ttk::Cx;
use ttk::net::TcpStream;
use ttk_examples::echo_target;
use ttk_examples::storm::{StormArgs, Tally};

/// The request: 13 bytes, echoed back whole.
const REQUEST: &[u8; 13] = b"hello, world\n";

/// One bot: connect, then request/response until the deadline. A failed connection is counted
/// and replaced, as a real client would reconnect.
#[ttk::bot]
fn client(_cx: Cx, _id: usize, target: SocketAddr, until: Instant, tally: Rc<Tally>) {
    while ttk::now() < until {
        let stream = match ttk::yield_!(TcpStream::connect(target)) {
            Ok(stream) => stream,
            Err(error) => {
                tally.error(error);
                ttk::yield_!(ttk::sleep(Duration::from_millis(100)));
                continue;
            }
        };
        if let Err(error) = ttk::yield_!(requests(&stream, until, &tally)) {
            tally.error(error);
        }
    }
}

/// Request/response on one connection until the deadline.
#[ttk::bot]
fn requests(stream: &TcpStream, until: Instant, tally: &Tally) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let mut response = [0; REQUEST.len()];
    while ttk::now() < until {
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
    Ok(())
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
    let until = started + args.duration;
    ttk::run(args.bots, |cx, id| {
        client(cx, id, target, until, Rc::clone(&tally))
    });
    tally.report(started.elapsed())
}
