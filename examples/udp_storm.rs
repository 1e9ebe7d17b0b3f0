//! The UDP load test: N bots send datagrams to a UDP echo target for D seconds and wait for each
//! echo (a lost datagram counts as an error after a timeout), then the run prints requests,
//! errors, requests/s and latency percentiles.
//!
//! `cargo run --release --example udp_storm -- --bots 100 --seconds 5 [--target HOST:PORT]`

use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use ttk::Cx;
use ttk::net::UdpSocket;
use ttk_examples::echo_target;
use ttk_examples::storm::{StormArgs, Tally};

/// How long a bot waits for an echo before counting the datagram as lost.
const ECHO_TIMEOUT: Duration = Duration::from_secs(1);

/// One bot: a socket connected to the target, then datagram/echo until the deadline.
#[ttk::bot]
fn client(
    _cx: Cx,
    id: usize,
    target: SocketAddr,
    until: Instant,
    tally: Rc<Tally>,
) -> io::Result<()> {
    let socket = UdpSocket::bind("127.0.0.1:0")?;
    socket.connect(target)?;
    let request = format!("move {id:>8}");
    let mut response = [0; 64];
    while ttk::now() < until {
        let sent = Instant::now();
        ttk::yield_!(socket.send(request.as_bytes()))?;
        match ttk::yield_!(ttk::timeout(ECHO_TIMEOUT, socket.recv(&mut response))) {
            Ok(Ok(n)) if response[..n] == *request.as_bytes() => tally.request(sent.elapsed()),
            Ok(Ok(_)) => tally.error("an echo that differs from the datagram sent"),
            Ok(Err(error)) => tally.error(error),
            Err(elapsed) => tally.error(format!("datagram lost: {elapsed}")),
        }
    }
    Ok(())
}

fn main() -> io::Result<()> {
    let args = StormArgs::from_env_or_exit();
    let target = args.target(|| echo_target::spawn_udp("127.0.0.1:0"))?;
    println!(
        "udp_storm: {} bots against {target} for {:?}",
        args.bots, args.duration
    );
    let tally = Rc::new(Tally::default());
    let started = Instant::now();
    let until = started + args.duration;
    for outcome in ttk::run(args.bots, |cx, id| {
        client(cx, id, target, until, Rc::clone(&tally))
    }) {
        if let Err(error) = outcome {
            tally.error(error);
        }
    }
    tally.report(started.elapsed())
}
