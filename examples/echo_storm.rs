//! A load test: bots hammer a TCP echo target with 13-byte requests, each timed as a
//! `request` transaction, through the harness (`ttk::cli`): live progress, a summary, and the
//! JSON and HTML reports.
//!
//! `cargo run --release --example echo_storm -- --bots 100 --duration 5s --html target/echo_storm.html`
//! starts its own target (in this process, on its own thread); `--target HOST:PORT` aims at
//! another one. Without `--duration`, `--iterations` or `--rate`, it runs for 5 s.

use std::io;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use ttk::Cx;
use ttk::cli::{LoadTest, Session};
use ttk::net::TcpStream;
use ttk_examples::echo_target;
use ttk_examples::storm_setup::{StormFlags, prepare};

/// The request: 13 bytes, echoed back whole.
const REQUEST: &[u8; 13] = b"hello, world\n";

/// One bot: connect (timed as `connect`), then one request per iteration on the connection. A
/// failed connection is counted and replaced after a pause, as a real client would reconnect.
#[ttk::bot]
fn client(cx: Cx, session: Session, target: SocketAddr) {
    let mut iterations = session.iterations();
    // A failed connect uses up the iteration it was for: against a dead target the run still
    // ends after --iterations.
    while iterations.next().is_some() {
        let stream = match ttk::yield_!(cx.time("connect", TcpStream::connect(target))) {
            Ok(stream) if stream.set_nodelay(true).is_ok() => stream,
            _ => {
                ttk::yield_!(ttk::sleep(Duration::from_millis(100)));
                continue;
            }
        };
        let mut response = [0; REQUEST.len()];
        loop {
            if ttk::yield_!(cx.time("request", request(&stream, &mut response))).is_err() {
                break;
            }
            if iterations.next().is_none() {
                return;
            }
        }
    }
}

/// One request and its echo.
#[ttk::bot]
fn request(stream: &TcpStream, response: &mut [u8; REQUEST.len()]) -> io::Result<()> {
    ttk::yield_!(stream.write_all(REQUEST))?;
    ttk::yield_!(stream.read_exact(response))?;
    match response == REQUEST {
        true => Ok(()),
        false => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "the echo differs",
        )),
    }
}

fn main() -> ExitCode {
    let mut test: LoadTest<StormFlags> = LoadTest::from_env_with("echo_storm");
    match prepare(&mut test, "echo_storm", || {
        echo_target::spawn_tcp("127.0.0.1:0")
    }) {
        Ok(target) => test
            .run_parallel(move |cx, session| client(cx, session, target))
            .exit_code(),
        Err(code) => code,
    }
}
