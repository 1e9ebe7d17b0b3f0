//! Network probes that `cargo xtask bench` runs; each prints one JSON line.
//!
//! - `net_probe echo BOTS SECONDS TARGET`: BOTS bots do 13-byte echo round trips against TARGET
//!   for SECONDS; prints requests and this process's CPU time (user + sys, getrusage).
//! - `net_probe mio-echo BOTS SECONDS TARGET`: the same round trips from a client written by
//!   hand on mio (see `mio_echo.rs`), printing the same fields, to compare ttk's against.
//! - `net_probe idle BOTS [TARGET]`: BOTS bots connect (to TARGET, or to an echo target started
//!   in this process) and stay connected and idle; prints how many connected and peak RSS.
//! - `net_probe idle-tls BOTS TARGET CA_FILE`: BOTS bots connect to TARGET, an HTTPS server
//!   whose certificate CA_FILE signed, make a TLS handshake, send one request and read its
//!   response, then stay connected and idle (see `idle_tls.rs`); prints how many connected, peak
//!   and current RSS, and the kernel's TCP memory before and while they were held. With 0 bots,
//!   the same figures for a process that made the same TLS settings (the baseline).
//! - `net_probe timeouts BOTS SECONDS TARGET`: BOTS bots do echo round trips against TARGET at
//!   full speed for SECONDS (more than 3), each under a 30-second timeout, while the RSS is
//!   sampled (see `timeouts.rs`); prints requests, the RSS after 3 s, the peak RSS after it and
//!   their difference (growth).

use std::cell::Cell;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use ttk::Cx;
use ttk::net::{TcpSocket, TcpStream};

mod idle_tls;
mod mio_echo;
mod timeouts;

/// The request of the echo probes.
const REQUEST: &[u8; 13] = b"hello, world\n";

#[ttk::bot]
fn echo_client(
    _cx: Cx,
    _id: usize,
    target: SocketAddr,
    until: Instant,
    done: Rc<Cell<u64>>,
) -> io::Result<()> {
    let stream = ttk::yield_!(TcpStream::connect(target))?;
    stream.set_nodelay(true)?;
    let mut response = [0; REQUEST.len()];
    while ttk::now() < until {
        ttk::yield_!(stream.write_all(REQUEST))?;
        ttk::yield_!(stream.read_exact(&mut response))?;
        done.set(done.get() + 1);
    }
    Ok(())
}

/// Loopback source addresses the idle probe rotates over: one source reaches one destination
/// from at most ~28k ephemeral ports, and closed connections hold theirs in TIME_WAIT.
const SOURCES: usize = 200;

/// The loopback address bot `id` connects from.
fn source(id: usize) -> std::net::Ipv4Addr {
    std::net::Ipv4Addr::new(
        127,
        0,
        1 + (id / SOURCES % 250) as u8,
        2 + (id % SOURCES) as u8,
    )
}

/// Connects (from a rotating loopback source), then idles until `hold_until` (so every bot is
/// connected at the same time).
#[ttk::bot]
fn idle_client(
    _cx: Cx,
    id: usize,
    target: SocketAddr,
    hold_until: Instant,
    peak: Rc<Cell<u64>>,
) -> io::Result<()> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::from((source(id), 0)))?;
    let stream = ttk::yield_!(socket.connect(target))?;
    ttk::yield_!(ttk::sleep_until(hold_until));
    if id == 0 {
        peak.set(ttk_benches::peak_rss_bytes().unwrap_or(0));
    }
    drop(stream);
    Ok(())
}

/// User + system CPU time of this process (getrusage).
fn cpu_time() -> Duration {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: `getrusage` writes one `rusage` through a pointer to a live local.
    let status = unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) };
    assert_eq!(status, 0, "getrusage failed");
    // SAFETY: `getrusage` succeeded, so it initialized the value (and zeroed is valid anyway).
    let usage = unsafe { usage.assume_init() };
    let time = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    time(usage.ru_utime) + time(usage.ru_stime)
}

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| args.get(i).map(String::as_str);
    match (arg(0), arg(1)) {
        (Some(mode @ ("echo" | "mio-echo")), Some(bots)) => {
            let bots: usize = bots.parse().expect("BOTS");
            let seconds: f64 = arg(2).expect("SECONDS").parse().expect("SECONDS");
            let target: SocketAddr = arg(3).expect("TARGET").parse().expect("TARGET");
            let cpu_before = cpu_time();
            let started = Instant::now();
            let until = started + Duration::from_secs_f64(seconds);
            let (requests, errors) = if mode == "echo" {
                let done = Rc::new(Cell::new(0));
                let outcomes = ttk::run(bots, |cx, id| {
                    echo_client(cx, id, target, until, done.clone())
                });
                let errors = outcomes.iter().filter(|outcome| outcome.is_err()).count();
                (done.get(), errors)
            } else {
                let outcome = mio_echo::run(bots, target, until)?;
                (outcome.requests, outcome.errors)
            };
            let elapsed = started.elapsed();
            let cpu = cpu_time() - cpu_before;
            println!(
                "{{\"bots\": {bots}, \"requests\": {requests}, \"errors\": {errors}, \"seconds\": {}, \"cpu_seconds\": {}}}",
                elapsed.as_secs_f64(),
                cpu.as_secs_f64()
            );
        }
        (Some("idle"), Some(bots)) => {
            let bots: usize = bots.parse().expect("BOTS");
            let target: SocketAddr = match arg(2) {
                Some(addr) => addr.parse().expect("TARGET"),
                None => ttk_examples::echo_target::spawn_tcp("127.0.0.1:0")?,
            };
            let peak = Rc::new(Cell::new(0));
            // Long enough for every bot to connect first; scaled with the crowd.
            let hold = Duration::from_millis(500 + bots as u64 / 10);
            let hold_until = Instant::now() + hold;
            let outcomes = ttk::run(bots, |cx, id| {
                idle_client(cx, id, target, hold_until, peak.clone())
            });
            let connected = outcomes.iter().filter(|outcome| outcome.is_ok()).count();
            let first_error = outcomes.iter().find_map(|outcome| outcome.as_ref().err());
            let peak = if bots == 0 {
                ttk_benches::peak_rss_bytes().unwrap_or(0)
            } else {
                peak.get()
            };
            println!(
                "{{\"bots\": {bots}, \"connected\": {connected}, \"peak_rss_bytes\": {peak}, \"first_error\": {:?}}}",
                first_error.map(ToString::to_string).unwrap_or_default()
            );
        }
        (Some("idle-tls"), Some(bots)) => {
            let bots: usize = bots.parse().expect("BOTS");
            let target: SocketAddr = arg(2).expect("TARGET").parse().expect("TARGET");
            let ca = arg(3).expect("CA_FILE");
            // The settings `ttk http https://… --cacert CA_FILE` makes.
            let connector = ttk::tls::TlsConnector::builder()
                .alpn(&["http/1.1"])
                .ca_file(ca)?
                .build()?;
            let tcp_before = idle_tls::tcp_mem_pages().unwrap_or(0);
            let outcome = if bots == 0 {
                idle_tls::Outcome {
                    connected: 0,
                    resumed: 0,
                    first_error: None,
                    sampled: Some(idle_tls::sample(0.0)),
                }
            } else {
                idle_tls::run(bots, target, connector)
            };
            let sampled = outcome.sampled.unwrap_or_default();
            println!(
                "{{\"bots\": {bots}, \"connected\": {}, \"resumed\": {}, \"sampled\": {}, \
                 \"peak_rss_bytes\": {}, \"rss_bytes\": {}, \"tcp_mem_pages_before\": {tcp_before}, \
                 \"tcp_mem_pages\": {}, \"seconds\": {}, \"first_error\": {:?}}}",
                outcome.connected,
                outcome.resumed,
                outcome.sampled.is_some(),
                sampled.peak_rss,
                sampled.rss,
                sampled.tcp_mem_pages,
                sampled.seconds,
                outcome.first_error.unwrap_or_default(),
            );
        }
        (Some("timeouts"), Some(bots)) => {
            let bots: usize = bots.parse().expect("BOTS");
            let seconds: f64 = arg(2).expect("SECONDS").parse().expect("SECONDS");
            let seconds = Duration::from_secs_f64(seconds);
            assert!(
                seconds > timeouts::WARM_UP,
                "SECONDS must exceed the warm-up"
            );
            let target: SocketAddr = arg(3).expect("TARGET").parse().expect("TARGET");
            let started = Instant::now();
            let outcome = timeouts::run(bots, seconds, target);
            println!(
                "{{\"bots\": {bots}, \"seconds\": {}, \"requests\": {}, \"errors\": {}, \
                 \"first_error\": {:?}, \"rss_after_3s\": {}, \"peak_rss\": {}, \
                 \"growth\": {}, \"samples\": {}}}",
                started.elapsed().as_secs_f64(),
                outcome.requests,
                outcome.errors,
                outcome.first_error.unwrap_or_default(),
                outcome.rss_after_warm_up,
                outcome.peak_rss,
                outcome.peak_rss.saturating_sub(outcome.rss_after_warm_up),
                outcome.samples,
            );
        }
        _ => {
            eprintln!(
                "usage: net_probe echo|mio-echo BOTS SECONDS TARGET | net_probe idle BOTS [TARGET] \
                 | net_probe idle-tls BOTS TARGET CA_FILE | net_probe timeouts BOTS SECONDS TARGET"
            );
            std::process::exit(2);
        }
    }
    Ok(())
}
