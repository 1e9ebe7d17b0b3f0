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
use ttk::cli::{LoadTest, Session, clap};
use ttk::net::TcpStream;
use ttk_examples::echo_target;

/// The request: 13 bytes, echoed back whole.
const REQUEST: &[u8; 13] = b"hello, world\n";

/// Flags of this test besides the standard ones.
#[derive(clap::Args, Debug)]
struct EchoFlags {
    /// The run's length in seconds (an older spelling of --duration).
    #[arg(long, hide = true, value_name = "S")]
    seconds: Option<f64>,
}

/// One bot: connect (timed as `connect`), then one request per iteration on the connection. A
/// failed connection is counted and replaced after a pause, as a real client would reconnect.
#[ttk::bot]
fn client(cx: Cx, session: Session, target: SocketAddr) {
    let mut iterations = session.iterations();
    loop {
        let stream = match ttk::yield_!(cx.time("connect", TcpStream::connect(target))) {
            Ok(stream) => stream,
            Err(_) => {
                ttk::yield_!(ttk::sleep(Duration::from_millis(100)));
                continue;
            }
        };
        if stream.set_nodelay(true).is_err() {
            continue;
        }
        let mut response = [0; REQUEST.len()];
        loop {
            if iterations.next().is_none() {
                return;
            }
            if ttk::yield_!(cx.time("request", request(&stream, &mut response))).is_err() {
                break;
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
    let mut test: LoadTest<EchoFlags> = LoadTest::from_env_with("echo_storm");
    let seconds = test.flags().seconds;
    let args = test.args_mut();
    if let Some(seconds) = seconds {
        match Duration::try_from_secs_f64(seconds) {
            Ok(duration) if !duration.is_zero() => args.duration = Some(duration),
            _ => {
                eprintln!("echo_storm: --seconds: not a positive number: {seconds}");
                return ExitCode::from(2);
            }
        }
    }
    if args.duration.is_none() && args.iterations.is_none() && args.rate.is_none() {
        args.duration = Some(Duration::from_secs(5));
    }
    let target = match &args.target {
        Some(target) => target.parse::<SocketAddr>().map_err(|_| {
            io::Error::new(io::ErrorKind::InvalidInput, format!("bad address {target}"))
        }),
        None => echo_target::spawn_tcp("127.0.0.1:0"),
    };
    let target = match target {
        Ok(target) => target,
        Err(error) => {
            eprintln!("echo_storm: {error}");
            return ExitCode::from(2);
        }
    };
    test.default_target(|| target.to_string());
    test.run(|cx, session| client(cx, session, target))
        .exit_code()
}
