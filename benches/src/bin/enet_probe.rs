//! Holds N ENet connections on one loop — each bot a player with a host and socket of its own —
//! to ENet hosts on the C library that `cargo xtask enet` starts, and prints what it saw as
//! JSON: connections made and failed, connect times, then, once every bot is in, the loop's
//! CPU per bot-second while each player sends one reliable packet a second (echoed by the
//! host, and serviced meanwhile: acknowledgements, pings), and the memory per connection.
//!
//! `enet_probe BOTS HOLD_SECONDS ADDR [ADDR...]`: bot `i` connects to `ADDR[i % n]`.

use std::cell::{Cell, RefCell};
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use ttk::net::enet::{Delivery, EnetConfig, EnetPeer};

/// What the bots share.
#[derive(Default)]
struct Shared {
    /// Connections made, and failed.
    connected: Cell<usize>,
    failed: Cell<usize>,
    first_error: RefCell<Option<String>>,
    /// Each connection's time to connect, in microseconds.
    connect_us: RefCell<Vec<u64>>,
    /// When every bot was in, and the process's CPU seconds then.
    hold_start: Cell<Option<(Instant, f64)>>,
    /// Bots done holding, and the CPU seconds and time when the last one was.
    held: Cell<usize>,
    hold_end: Cell<Option<(Instant, f64)>>,
    /// Resident memory when the last bot was done holding, in KiB.
    rss_held_kib: Cell<u64>,
    /// Packets sent while holding, and echoes received.
    sent: Cell<u64>,
    echoes: Cell<u64>,
    /// Graceful disconnects that timed out.
    unacknowledged: Cell<u64>,
}

/// The process's resident memory now, in KiB.
fn rss_kib() -> u64 {
    ttk_benches::rss_bytes().unwrap_or(0) / 1024
}

/// One player.
#[ttk::bot]
fn player(
    _cx: ttk::Cx,
    id: usize,
    bots: usize,
    hold: Duration,
    servers: Rc<Vec<SocketAddr>>,
    shared: Rc<Shared>,
) -> io::Result<()> {
    let server = servers[id % servers.len()];
    let config = EnetConfig {
        connect_timeout: Duration::from_secs(60),
        ..EnetConfig::default()
    };
    let started = ttk::now();
    let peer = match ttk::yield_!(EnetPeer::connect(server, &config)) {
        Ok(peer) => peer,
        Err(error) => {
            shared.failed.set(shared.failed.get() + 1);
            shared
                .first_error
                .borrow_mut()
                .get_or_insert_with(|| format!("bot {id}: {error}"));
            return Err(error);
        }
    };
    let took = ttk::now() - started;
    shared.connect_us.borrow_mut().push(took.as_micros() as u64);
    shared.connected.set(shared.connected.get() + 1);
    // Every bot in (or failed): the hold starts.
    while shared.connected.get() + shared.failed.get() < bots {
        ttk::yield_!(peer.sleep(Duration::from_millis(100)))?;
    }
    let (hold_start, _) = match shared.hold_start.get() {
        Some(start) => start,
        None => {
            let start = (Instant::now(), ttk_benches::cpu_seconds());
            shared.hold_start.set(Some(start));
            start
        }
    };
    let end = hold_start + hold;
    // A packet a second, the bots spread over the second.
    let mut next =
        Instant::now() + Duration::from_micros((id as u64 * 1_000_000 / bots as u64) % 1_000_000);
    loop {
        let now = Instant::now();
        if now >= end {
            break;
        }
        ttk::yield_!(peer.sleep(next.min(end).saturating_duration_since(now)))?;
        while let Ok(packet) = ttk::yield_!(ttk::timeout(Duration::ZERO, peer.recv())) {
            if packet?.is_none() {
                return Err(io::Error::other(format!(
                    "bot {id}: disconnected by the host"
                )));
            }
            shared.echoes.set(shared.echoes.get() + 1);
        }
        if Instant::now() >= next && Instant::now() < end {
            peer.send(0, &[7; 16], Delivery::Reliable)?;
            shared.sent.set(shared.sent.get() + 1);
            next += Duration::from_secs(1);
        }
    }
    shared.held.set(shared.held.get() + 1);
    if shared.held.get() == shared.connected.get() {
        shared
            .hold_end
            .set(Some((Instant::now(), ttk_benches::cpu_seconds())));
        shared.rss_held_kib.set(rss_kib());
    }
    // 0x77: the data the C host counts as a clean disconnect.
    if let Err(error) = ttk::yield_!(peer.disconnect_with(0x77)) {
        if error.kind() != io::ErrorKind::TimedOut {
            return Err(error);
        }
        shared.unacknowledged.set(shared.unacknowledged.get() + 1);
    }
    Ok(())
}

/// The `q`th quantile of sorted `values`.
fn quantile(values: &[u64], q: f64) -> u64 {
    if values.is_empty() {
        return 0;
    }
    values[((values.len() - 1) as f64 * q).round() as usize]
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let parsed = (|| {
        let bots: usize = args.first()?.parse().ok()?;
        let hold: u64 = args.get(1)?.parse().ok()?;
        let servers: Vec<SocketAddr> = args[2..]
            .iter()
            .map(|a| a.parse().ok())
            .collect::<Option<_>>()?;
        (!servers.is_empty()).then_some((bots, hold, servers))
    })();
    let Some((bots, hold, servers)) = parsed else {
        eprintln!("usage: enet_probe BOTS HOLD_SECONDS ADDR [ADDR...]");
        std::process::exit(2);
    };
    let rss_before = rss_kib();
    let shared = Rc::new(Shared::default());
    let servers = Rc::new(servers);
    let outcomes = ttk::run(bots, |cx, id| {
        player(
            cx,
            id,
            bots,
            Duration::from_secs(hold),
            Rc::clone(&servers),
            Rc::clone(&shared),
        )
    });
    let errors = outcomes.iter().filter(|outcome| outcome.is_err()).count();
    let mut connect_us = shared.connect_us.take();
    connect_us.sort_unstable();
    let (hold_cpu, hold_wall) = match (shared.hold_start.get(), shared.hold_end.get()) {
        (Some((t0, cpu0)), Some((t1, cpu1))) => (cpu1 - cpu0, (t1 - t0).as_secs_f64()),
        _ => (0.0, 0.0),
    };
    let connected = shared.connected.get();
    let bot_seconds = connected as f64 * hold_wall;
    let rss_held = shared.rss_held_kib.get();
    println!(
        "{{\"bots\": {bots}, \"connected\": {connected}, \"failed\": {}, \"bot_errors\": {errors}, \
         \"first_error\": {:?}, \"connect_p50_ms\": {:.3}, \"connect_p99_ms\": {:.3}, \
         \"connect_max_ms\": {:.3}, \"hold_s\": {hold_wall:.3}, \"hold_cpu_s\": {hold_cpu:.3}, \
         \"cpu_us_per_bot_second\": {:.3}, \"sent\": {}, \"echoes\": {}, \
         \"rss_before_kib\": {rss_before}, \"rss_held_kib\": {rss_held}, \
         \"rss_kib_per_connection\": {:.2}, \"unacknowledged_disconnects\": {}}}",
        shared.failed.get(),
        shared.first_error.take().unwrap_or_default(),
        quantile(&connect_us, 0.5) as f64 / 1e3,
        quantile(&connect_us, 0.99) as f64 / 1e3,
        connect_us.last().copied().unwrap_or(0) as f64 / 1e3,
        if bot_seconds > 0.0 {
            hold_cpu * 1e6 / bot_seconds
        } else {
            0.0
        },
        shared.sent.get(),
        shared.echoes.get(),
        if connected > 0 {
            rss_held.saturating_sub(rss_before) as f64 / connected as f64
        } else {
            0.0
        },
        shared.unacknowledged.get(),
    );
}
