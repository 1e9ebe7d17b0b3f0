//! A load test that holds connections: each bot opens one TCP connection and keeps it for the
//! whole run, sending a small line every `--every` (5 s) and timing the echo, so the question is
//! how many connections one machine can hold, not how fast it answers.
//!
//! ```text
//! cargo run --release --bin hold_target -- --processes 7 --for 2m            # prints its address
//! cargo run --release --example hold -- --processes 6 --bots 100000 --ramp-up 40s \
//!     --duration 70s --target 127.0.0.1:PORT
//! ```
//!
//! `cargo xtask hold` does both, measures memory and connections from `/proc` while it runs,
//! and prints the figures. Without `--target`, an echo target is started in this process (a
//! small run's convenience: each connection it accepts takes one of this process's
//! descriptors too).
//!
//! - **Source addresses.** One source address reaches one destination from at most one
//!   ephemeral port range (28,232 ports by default), so bot `id` binds
//!   `127.0.0.(2 + id / 5,000)` before connecting (port 0: the kernel picks the port at connect
//!   time): 5,000 bots per address, 200 addresses for a million, all on loopback. Why 5,000 and
//!   not 20,000: Linux's `connect` looks for a free port among half the range first (the
//!   ports of the parity of its low end: 14,116); once those are taken, every further connect
//!   from that address scans them all before trying the other half. 17,000 bots on one address took 9.7 s of CPU (65 % of it in
//!   `__inet_hash_connect` and the checks it makes; connect p99 6.7 ms); on four addresses,
//!   4.2 s (p99 145 µs).
//! - **Transactions.** `connect` (socket, bind, connect) and `request` (a 5-byte line and its
//!   echo), each limited by `--timeout`. A connect that hits a limit of the system is failed
//!   under the limit's errno: `EMFILE` (this process's open-file limit — run more
//!   `--processes`), `ENFILE`, `EADDRNOTAVAIL` (no local port left). A bot whose connect or
//!   request fails drops its connection and ends with that error; it does not reconnect.
//! - **Gauge** `connections`: the connections this process holds (the merged report sums the
//!   processes').
//! - **Timing.** Bot `id` sends its first line `frac(id × 0.618…) × --every` after it connects
//!   (the golden ratio spreads consecutive ids evenly over the period), then every `--every`
//!   on a fixed schedule, until `--duration` is over; it then closes its connection at its next
//!   send time, so keep `--grace` (10 s) above `--every`.

use std::cell::Cell;
use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::process::ExitCode;
use std::rc::Rc;
use std::time::Duration;

use ttk::cli::{LoadTest, Session, clap};
use ttk::net::{LimitReached, TcpSocket, TcpStream};
use ttk::{Cx, Transaction};

/// The request, echoed back whole.
const REQUEST: &[u8; 5] = b"hold\n";

/// Bots per source address: well below the 14,116 ports Linux's `connect` searches first (see
/// the module docs), so the search finds a free port at once.
const BOTS_PER_SOURCE: usize = 5_000;

/// The first source address: `127.0.0.1` is left to the target.
const FIRST_SOURCE: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);

/// The fractional part of the golden ratio: `frac(id × GOLDEN)` spreads ids over `[0, 1)`.
const GOLDEN: f64 = 0.618_033_988_749_895;

/// The flags `hold` adds to the standard ones.
#[derive(clap::Args, Debug)]
struct HoldFlags {
    /// How often each bot sends its line (`5s`); bots' first sends are spread over this period.
    #[arg(long, default_value = "5s", value_name = "TIME", value_parser = parse_duration)]
    every: Duration,

    /// How long a connect or a request may take before it fails as `TimedOut`.
    #[arg(long, default_value = "10s", value_name = "TIME", value_parser = parse_duration)]
    timeout: Duration,
}

/// What every bot of a process shares: the target, the timing, and the count of connections
/// this process holds.
#[derive(Debug)]
struct Plan {
    /// Where to connect.
    target: SocketAddr,
    /// The period of a bot's requests.
    every: Duration,
    /// The time limit of a connect or a request.
    timeout: Duration,
    /// Connections this process holds now (bots share one thread: a `Cell` is enough).
    held: Cell<i64>,
}

impl Plan {
    /// Counts a connection opened (`+1`) or closed (`-1`) and reports the `connections` gauge.
    fn held(&self, cx: &Cx, change: i64) {
        self.held.set(self.held.get() + change);
        cx.gauge("connections", self.held.get());
    }
}

/// The source address of bot `id`: `127.0.0.2` for ids 0–4,999, then one more every
/// [`BOTS_PER_SOURCE`] ids (on into `127.0.1.x` past 253 of them — all of `127.0.0.0/8` is
/// local).
fn source_for(id: usize) -> Ipv4Addr {
    let step = u32::try_from(id / BOTS_PER_SOURCE).unwrap_or(u32::MAX);
    Ipv4Addr::from(u32::from(FIRST_SOURCE).saturating_add(step))
}

/// How long after connecting bot `id` sends its first line: `frac(id × GOLDEN)` of `every`.
fn first_send(id: usize, every: Duration) -> Duration {
    every.mul_f64((id as f64 * GOLDEN).fract())
}

/// One bot: connect, then hold the connection with a line every `plan.every` until the run's
/// duration is over.
#[ttk::bot]
fn holder(cx: Cx, session: Session, plan: Rc<Plan>) -> io::Result<()> {
    let source = source_for(session.id());
    let connect = cx.transaction("connect");
    let stream = match ttk::yield_!(ttk::timeout(plan.timeout, open(source, plan.target))) {
        Ok(Ok(stream)) => {
            connect.ok();
            stream
        }
        Ok(Err(error)) => {
            fail(connect, &error);
            return Err(error);
        }
        Err(elapsed) => {
            connect.fail_with(&elapsed);
            return Err(elapsed.into());
        }
    };
    plan.held(&cx, 1);
    let held = ttk::yield_!(hold(&cx, &session, &stream, &plan));
    plan.held(&cx, -1);
    held
}

/// Sends a line every `plan.every`, on a fixed schedule, while the run's iterations last; ends
/// at the first send time after they are over.
#[ttk::bot]
fn hold(cx: &Cx, session: &Session, stream: &TcpStream, plan: &Plan) -> io::Result<()> {
    let mut next = ttk::now() + first_send(session.id(), plan.every);
    let mut iterations = session.iterations();
    loop {
        ttk::yield_!(ttk::sleep_until(next));
        if iterations.next().is_none() {
            return Ok(());
        }
        ttk::yield_!(cx.time_within("request", plan.timeout, request(stream)))?;
        next += plan.every;
    }
}

/// A socket bound to `source` (port chosen at connect time), connected to `target`.
#[ttk::bot]
fn open(source: Ipv4Addr, target: SocketAddr) -> io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::V4(SocketAddrV4::new(source, 0)))?;
    let stream = ttk::yield_!(socket.connect(target))?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// One line and its echo.
#[ttk::bot]
fn request(stream: &TcpStream) -> io::Result<()> {
    ttk::yield_!(stream.write_all(REQUEST))?;
    let mut reply = [0; REQUEST.len()];
    ttk::yield_!(stream.read_exact(&mut reply))?;
    match &reply == REQUEST {
        true => Ok(()),
        false => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "the echo differs",
        )),
    }
}

/// Fails `connect` under the errno of the system limit `error` reports, if it is one (so the
/// summary says `EMFILE`, not just `QuotaExceeded`), else under the error's kind.
fn fail(connect: Transaction, error: &io::Error) {
    let limit = error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<LimitReached>());
    match limit {
        Some(LimitReached::OpenFiles { soft, .. }) => {
            connect.fail(&format!(
                "EMFILE: this process's open-file limit ({soft}) is reached; run more --processes"
            ));
        }
        Some(LimitReached::SystemOpenFiles) => {
            connect.fail("ENFILE: the system's open-file table is full (fs.file-max)");
        }
        Some(LimitReached::LocalPorts { peer }) => {
            connect.fail(&format!(
                "EADDRNOTAVAIL: no local port left to reach {peer} from this source address"
            ));
        }
        _ => {
            connect.fail_with(error);
        }
    }
}

/// A duration as `humantime` reads it (`5s`, `1m 30s`, `250ms`).
fn parse_duration(text: &str) -> Result<Duration, String> {
    match humantime::parse_duration(text) {
        Ok(duration) if !duration.is_zero() => Ok(duration),
        Ok(_) => Err("must be longer than zero".to_owned()),
        Err(error) => Err(error.to_string()),
    }
}

fn main() -> ExitCode {
    let mut test: LoadTest<HoldFlags> = LoadTest::from_env_with("hold");
    let (every, timeout) = (test.flags().every, test.flags().timeout);
    let args = test.args_mut();
    if args.duration.is_none() && args.iterations.is_none() {
        args.duration = Some(Duration::from_secs(30));
    }
    if args.grace <= every {
        eprintln!(
            "hold: warning: --grace {:?} is not above --every {every:?}: bots still waiting \
             for their next send when it ends are stopped, not finished",
            args.grace
        );
    }
    let target = match &args.target {
        Some(target) => match target.parse::<SocketAddr>() {
            Ok(target) => target,
            Err(_) => {
                eprintln!("hold: --target must be IP:PORT, not {target:?}");
                return ExitCode::from(2);
            }
        },
        None => match ttk_examples::echo_target::spawn_tcp("127.0.0.1:0") {
            Ok(target) => target,
            Err(error) => {
                eprintln!("hold: the echo target could not be started: {error}");
                return ExitCode::from(3);
            }
        },
    };
    test.default_target(|| target.to_string());
    let plan = Rc::new(Plan {
        target,
        every,
        timeout,
        held: Cell::new(0),
    });
    test.run(|cx, session| holder(cx, session, plan.clone()))
        .exit_code()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bots_spread_over_source_addresses_of_5k() {
        assert_eq!(source_for(0), Ipv4Addr::new(127, 0, 0, 2));
        assert_eq!(source_for(4_999), Ipv4Addr::new(127, 0, 0, 2));
        assert_eq!(source_for(5_000), Ipv4Addr::new(127, 0, 0, 3));
        assert_eq!(source_for(999_999), Ipv4Addr::new(127, 0, 0, 201));
        assert_eq!(source_for(254 * 5_000), Ipv4Addr::new(127, 0, 1, 0));
    }

    #[test]
    fn first_sends_spread_over_the_period() {
        let every = Duration::from_secs(5);
        let mut tenths = [0; 10];
        for id in 0..1000 {
            let at = first_send(id, every);
            assert!(at < every);
            tenths[(at.as_secs_f64() / 0.5) as usize] += 1;
        }
        // Each tenth of the period gets about a tenth of the bots.
        assert!(
            tenths.iter().all(|&n| (90..=110).contains(&n)),
            "{tenths:?}"
        );
    }
}
