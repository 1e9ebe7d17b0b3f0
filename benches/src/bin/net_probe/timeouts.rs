//! Timeouts under load: bots do echo round trips at full speed, each under a 30-second
//! `ttk::timeout` that is set and then cancelled when the round trip wins, while one more bot
//! samples the process's RSS. Cancelled timers must leave nothing behind, so after a warm-up the
//! RSS must stay flat however many timeouts the run sets.

use std::cell::Cell;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use ttk::net::TcpStream;
use ttk::{BotErrorKind, Cx, RunEnd, Runtime};

use crate::REQUEST;

/// How long the run goes before the RSS it has then becomes the baseline: connections made,
/// buffers and tables at their working size.
pub(crate) const WARM_UP: Duration = Duration::from_secs(3);
/// How often the RSS is sampled after the warm-up.
const SAMPLE_EVERY: Duration = Duration::from_millis(100);
/// The limit of each round trip: far longer than one takes, so every timeout is cancelled.
const LIMIT: Duration = Duration::from_secs(30);

/// What the RSS sampler saw, in bytes.
#[derive(Clone, Copy, Debug, Default)]
struct Rss {
    /// The RSS at the end of the warm-up.
    after_warm_up: u64,
    /// The largest RSS sampled from then on.
    peak: u64,
    /// Samples taken.
    samples: u64,
}

/// What a run of the probe did.
#[derive(Debug)]
pub(crate) struct Outcome {
    /// Round trips completed.
    pub(crate) requests: u64,
    /// Bots that failed (a round trip timed out or saw an I/O error) instead of being stopped
    /// at the deadline.
    pub(crate) errors: usize,
    /// The first failure, if any.
    pub(crate) first_error: Option<String>,
    /// The RSS at the end of the warm-up, in bytes.
    pub(crate) rss_after_warm_up: u64,
    /// The largest RSS sampled after the warm-up, in bytes.
    pub(crate) peak_rss: u64,
    /// RSS samples taken after the warm-up.
    pub(crate) samples: u64,
}

/// One echo round trip.
#[ttk::bot]
fn round_trip(stream: &TcpStream, response: &mut [u8; REQUEST.len()]) -> io::Result<()> {
    ttk::yield_!(stream.write_all(REQUEST))?;
    ttk::yield_!(stream.read_exact(response))
}

/// Connects to `target`, then does round trips under a timeout until it is stopped (or one
/// fails).
#[ttk::bot]
fn client(target: SocketAddr, done: Rc<Cell<u64>>) -> io::Result<()> {
    let stream = ttk::yield_!(TcpStream::connect(target))?;
    stream.set_nodelay(true)?;
    let mut response = [0; REQUEST.len()];
    loop {
        ttk::yield_!(ttk::timeout(LIMIT, round_trip(&stream, &mut response)))??;
        done.set(done.get() + 1);
    }
}

/// Waits out the warm-up, then samples the RSS every `SAMPLE_EVERY` until it is stopped.
#[ttk::bot]
fn sampler(rss: Rc<Cell<Rss>>) -> io::Result<()> {
    ttk::yield_!(ttk::sleep(WARM_UP));
    let now = || ttk_benches::rss_bytes().ok_or_else(|| io::Error::other("no VmRSS"));
    let first = now()?;
    rss.set(Rss {
        after_warm_up: first,
        peak: first,
        samples: 1,
    });
    loop {
        ttk::yield_!(ttk::sleep(SAMPLE_EVERY));
        let sample = now()?;
        let seen = rss.get();
        rss.set(Rss {
            peak: seen.peak.max(sample),
            samples: seen.samples + 1,
            ..seen
        });
    }
}

/// Bot 0 samples the RSS; the others are clients.
#[ttk::bot]
fn member(
    _cx: Cx,
    id: usize,
    target: SocketAddr,
    done: Rc<Cell<u64>>,
    rss: Rc<Cell<Rss>>,
) -> io::Result<()> {
    if id == 0 {
        ttk::yield_!(sampler(rss))
    } else {
        ttk::yield_!(client(target, done))
    }
}

/// Runs `bots` clients against `target` for `seconds` (longer than [`WARM_UP`]), and the
/// sampler beside them.
pub(crate) fn run(bots: usize, seconds: Duration, target: SocketAddr) -> Outcome {
    let done = Rc::new(Cell::new(0));
    let rss = Rc::new(Cell::new(Rss::default()));
    let report = Runtime::new()
        .deadline(seconds)
        .execute(bots + 1, |cx, id| {
            member(cx, id, target, done.clone(), rss.clone())
        });
    assert_eq!(report.end, RunEnd::DeadlineReached, "the run ended early");
    let failures: Vec<String> = report
        .outcomes
        .iter()
        .filter_map(|outcome| match outcome {
            Ok(Ok(())) => None,
            Ok(Err(error)) => Some(error.to_string()),
            Err(error) if matches!(error.kind(), BotErrorKind::Stopped) => None,
            Err(error) => Some(error.to_string()),
        })
        .collect();
    let rss = rss.get();
    Outcome {
        requests: done.get(),
        errors: failures.len(),
        first_error: failures.into_iter().next(),
        rss_after_warm_up: rss.after_warm_up,
        peak_rss: rss.peak,
        samples: rss.samples,
    }
}
