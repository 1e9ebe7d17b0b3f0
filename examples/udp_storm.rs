//! A UDP load test: bots send datagrams to a UDP echo target and wait for each echo, each
//! round trip timed as an `echo` transaction through the harness (`ttk::cli`). A datagram
//! whose echo does not come back within a second is lost: a failed `echo` of kind `TimedOut`.
//!
//! `cargo run --release --example udp_storm -- --bots 100 --duration 5s` starts its own target
//! (in this process, on its own thread); `--target HOST:PORT` aims at another one. Without
//! `--duration`, `--iterations` or `--rate`, it runs for 5 s.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

use ttk::Cx;
use ttk::cli::{LoadTest, Session};
use ttk::net::UdpSocket;
use ttk_examples::echo_target;
use ttk_examples::storm_setup::{StormFlags, prepare};

/// How long a bot waits for an echo before counting the datagram as lost.
const ECHO_TIMEOUT: Duration = Duration::from_secs(1);
/// How long a bot pauses after an error other than a lost datagram (a target that refuses),
/// as a real client would rather than spin.
const BACK_OFF: Duration = Duration::from_millis(100);

/// One bot: a socket connected to the target, then one datagram and its echo per iteration.
#[ttk::bot]
fn client(cx: Cx, session: Session, target: SocketAddr) -> io::Result<()> {
    let any: IpAddr = match target {
        SocketAddr::V4(_) => Ipv4Addr::UNSPECIFIED.into(),
        SocketAddr::V6(_) => Ipv6Addr::UNSPECIFIED.into(),
    };
    let socket = UdpSocket::bind(SocketAddr::new(any, 0))?;
    socket.connect(target)?;
    let prefix = format!("echo {} ", session.id());
    let mut response = [0; 64];
    for sequence in session.iterations() {
        let round_trip = echo(&socket, &prefix, sequence, &mut response);
        match ttk::yield_!(cx.time_within("echo", ECHO_TIMEOUT, round_trip)) {
            Err(error) if error.kind() != io::ErrorKind::TimedOut => {
                ttk::yield_!(ttk::sleep(BACK_OFF));
            }
            _ => {}
        }
    }
    Ok(())
}

/// Sends datagram `sequence` of this bot and waits for its echo. Late echoes of earlier
/// datagrams (already counted lost) are skipped.
#[ttk::bot]
fn echo(
    socket: &UdpSocket,
    prefix: &str,
    sequence: u64,
    response: &mut [u8; 64],
) -> io::Result<()> {
    let request = format!("{prefix}{sequence}");
    ttk::yield_!(socket.send(request.as_bytes()))?;
    loop {
        let n = ttk::yield_!(socket.recv(response))?;
        let echo = &response[..n];
        if echo == request.as_bytes() {
            return Ok(());
        }
        let earlier = std::str::from_utf8(echo)
            .ok()
            .and_then(|echo| echo.strip_prefix(prefix))
            .and_then(|number| number.parse::<u64>().ok())
            .is_some_and(|number| number < sequence);
        if !earlier {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "an echo that differs from the datagram sent",
            ));
        }
    }
}

fn main() -> ExitCode {
    let mut test: LoadTest<StormFlags> = LoadTest::from_env_with("udp_storm");
    match prepare(&mut test, "udp_storm", || {
        echo_target::spawn_udp("127.0.0.1:0")
    }) {
        Ok(target) => test
            .run(|cx, session| client(cx, session, target))
            .exit_code(),
        Err(code) => code,
    }
}
