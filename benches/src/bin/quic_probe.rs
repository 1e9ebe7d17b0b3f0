//! QUIC handshakes per client-CPU-second, against the aioquic server `cargo xtask quic` starts,
//! and the memory of idle QUIC connections; prints what it saw as JSON.
//!
//! `quic_probe BOTS SECONDS HOLD ADDR CA_PEM_FILE`:
//! - for SECONDS, BOTS bots each connect (the certificate checked against the CA, ALPN
//!   `ttk-echo`), echo 13 bytes on a bidirectional stream (as the TLS figure's one request),
//!   and close — first with full handshakes, then for SECONDS more resuming each bot's own
//!   session; the CPU of each phase is this process's own;
//! - then HOLD connections are made (ramped up over 3 s per thousand) and held idle at once:
//!   memory per connection.

use std::cell::{Cell, RefCell};
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use ttk::quic::{QuicConnection, QuicConnector};
use ttk::tls::TlsConnector;

/// What the bots share.
#[derive(Default)]
struct Tally {
    handshakes: Cell<u64>,
    failed: Cell<u64>,
    first_error: RefCell<Option<String>>,
    /// Each handshake's time, in microseconds.
    handshake_us: RefCell<Vec<u64>>,
}

impl Tally {
    fn failed(&self, error: &io::Error) {
        self.failed.set(self.failed.get() + 1);
        self.first_error
            .borrow_mut()
            .get_or_insert_with(|| error.to_string());
    }
}

/// One client: connect, echo, close, until `end`.
#[ttk::bot]
fn client(
    _cx: ttk::Cx,
    _id: usize,
    addr: SocketAddr,
    connector: QuicConnector,
    end: Instant,
    tally: Rc<Tally>,
) -> io::Result<()> {
    while Instant::now() < end {
        let started = ttk::now();
        let connection = match ttk::yield_!(QuicConnection::connect(addr, "localhost", &connector))
        {
            Ok(connection) => connection,
            Err(error) => {
                tally.failed(&error);
                continue;
            }
        };
        tally
            .handshake_us
            .borrow_mut()
            .push((ttk::now() - started).as_micros() as u64);
        tally.handshakes.set(tally.handshakes.get() + 1);
        let mut stream = ttk::yield_!(connection.open_bi())?;
        ttk::yield_!(stream.write_all(b"GET / HTTP/1"))?;
        stream.finish()?;
        let echoed = ttk::yield_!(stream.read_to_end(64))?;
        assert_eq!(echoed.len(), 12);
        ttk::yield_!(connection.close(0, b""));
    }
    Ok(())
}

/// What the held connections share: how many there are to be, the tally, whether they were
/// measured, and the memory then.
struct Hold {
    count: usize,
    tally: Tally,
    measured: Cell<bool>,
    rss: Cell<u64>,
}

/// One held connection: made, then idle until every one is made and measured.
#[ttk::bot]
fn holder(
    _cx: ttk::Cx,
    id: usize,
    addr: SocketAddr,
    connector: QuicConnector,
    hold: Rc<Hold>,
) -> io::Result<()> {
    // Ramped up over 3 s: aioquic's server makes some 600 handshakes a second, and a thousand
    // at once would be a test of its queue.
    ttk::yield_!(ttk::sleep(Duration::from_millis(3 * id as u64)));
    let tally = &hold.tally;
    let connection = match ttk::yield_!(QuicConnection::connect(addr, "localhost", &connector)) {
        Ok(connection) => connection,
        Err(error) => {
            tally.failed(&error);
            return Err(error);
        }
    };
    tally.handshakes.set(tally.handshakes.get() + 1);
    while !hold.measured.get() {
        if tally.handshakes.get() + tally.failed.get() == hold.count as u64 {
            // Every connection is made and idle: measured once, by the first to see it.
            hold.rss.set(ttk_benches::rss_bytes().unwrap_or(0));
            hold.measured.set(true);
            break;
        }
        ttk::yield_!(connection.sleep(Duration::from_millis(50)))?;
    }
    ttk::yield_!(connection.close(0, b""));
    Ok(())
}

/// The `q`th quantile of sorted `values`, in milliseconds.
fn quantile_ms(values: &[u64], q: f64) -> f64 {
    match values.is_empty() {
        true => 0.0,
        false => values[((values.len() - 1) as f64 * q).round() as usize] as f64 / 1e3,
    }
}

/// A phase of handshakes: its JSON fields.
fn handshakes(bots: usize, seconds: u64, addr: SocketAddr, connector: &QuicConnector) -> String {
    let tally = Rc::new(Tally::default());
    let (cpu0, t0) = (ttk_benches::cpu_seconds(), Instant::now());
    let end = t0 + Duration::from_secs(seconds);
    let outcomes = ttk::run(bots, |cx, id| {
        client(
            cx,
            id,
            addr,
            connector.for_one_client(),
            end,
            Rc::clone(&tally),
        )
    });
    let (cpu, wall) = (
        ttk_benches::cpu_seconds() - cpu0,
        t0.elapsed().as_secs_f64(),
    );
    let errors = outcomes.iter().filter(|outcome| outcome.is_err()).count();
    let mut took = tally.handshake_us.take();
    took.sort_unstable();
    let handshakes = tally.handshakes.get();
    format!(
        "{{\"handshakes\": {handshakes}, \"failed\": {}, \"bot_errors\": {errors}, \
         \"first_error\": {:?}, \"cpu_s\": {cpu:.4}, \"wall_s\": {wall:.3}, \
         \"per_cpu_second\": {:.1}, \"per_second\": {:.1}, \"p50_ms\": {:.3}, \"p99_ms\": {:.3}}}",
        tally.failed.get(),
        tally.first_error.take().unwrap_or_default(),
        handshakes as f64 / cpu.max(1e-9),
        handshakes as f64 / wall.max(1e-9),
        quantile_ms(&took, 0.5),
        quantile_ms(&took, 0.99),
    )
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let parsed = (|| {
        let bots: usize = args.first()?.parse().ok()?;
        let seconds: u64 = args.get(1)?.parse().ok()?;
        let hold: usize = args.get(2)?.parse().ok()?;
        let addr: SocketAddr = args.get(3)?.parse().ok()?;
        let ca = std::fs::read(args.get(4)?).ok()?;
        Some((bots, seconds, hold, addr, ca))
    })();
    let Some((bots, seconds, hold, addr, ca)) = parsed else {
        eprintln!("usage: quic_probe BOTS SECONDS HOLD ADDR CA_PEM_FILE");
        std::process::exit(2);
    };
    let tls = |resume: bool| {
        TlsConnector::builder()
            .system_roots(false)
            .ca_pem(&ca)
            .and_then(|builder| builder.resumption(resume).build())
            .expect("the CA's PEM")
    };
    let full = QuicConnector::new(&tls(false), &["ttk-echo"]).expect("a QUIC connector");
    let resumed = QuicConnector::new(&tls(true), &["ttk-echo"]).expect("a QUIC connector");
    let full_json = handshakes(bots, seconds, addr, &full);
    let resumed_json = handshakes(bots, seconds, addr, &resumed);

    let hold = Rc::new(Hold {
        count: hold,
        tally: Tally::default(),
        measured: Cell::new(false),
        rss: Cell::new(0),
    });
    let rss_before = ttk_benches::rss_bytes().unwrap_or(0);
    let holding = full.clone().with_handshake_timeout(Duration::from_secs(30));
    let outcomes = ttk::run(hold.count, |cx, id| {
        holder(cx, id, addr, holding.clone(), Rc::clone(&hold))
    });
    let errors = outcomes.iter().filter(|outcome| outcome.is_err()).count();
    let tally = &hold.tally;
    let made = tally.handshakes.get();
    let per_connection_kib = match made {
        0 => 0.0,
        made => hold.rss.get().saturating_sub(rss_before) as f64 / 1024.0 / made as f64,
    };
    println!(
        "{{\"full\": {full_json}, \"resumed\": {resumed_json}, \"hold\": {{\"connections\": {made}, \
         \"failed\": {}, \"bot_errors\": {errors}, \"first_error\": {:?}, \
         \"rss_kib_per_connection\": {per_connection_kib:.2}}}}}",
        tally.failed.get(),
        tally.first_error.take().unwrap_or_default(),
    );
}
