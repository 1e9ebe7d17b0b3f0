//! What a loop's metrics hand to their sink: one interval's worth of measurements.

use std::time::Duration;

use hdrhistogram::Histogram;

use super::gauge_merge::GaugeMerge;

/// Latencies are kept in microseconds from this value up…
///
/// # Examples
/// ```
/// use ttk_core::metrics::{HIGHEST_MICROS, LOWEST_MICROS, latency_histogram};
///
/// let histogram = latency_histogram();
/// assert_eq!(histogram.low(), LOWEST_MICROS);
/// assert!(histogram.high() >= HIGHEST_MICROS);
/// ```
pub const LOWEST_MICROS: u64 = 1;
/// …to this one (an hour); longer ones count as an hour.
///
/// # Examples
/// ```
/// use ttk_core::metrics::HIGHEST_MICROS;
///
/// // An hour, in microseconds.
/// assert_eq!(HIGHEST_MICROS, 3600 * 1_000_000);
/// ```
pub const HIGHEST_MICROS: u64 = 3_600_000_000;
/// Significant decimal digits kept of every latency.
///
/// # Examples
/// ```
/// use ttk_core::metrics::{SIGNIFICANT_DIGITS, latency_histogram};
///
/// assert_eq!(latency_histogram().sigfig(), SIGNIFICANT_DIGITS);
/// ```
pub const SIGNIFICANT_DIGITS: u8 = 3;

/// An empty latency histogram with the bounds every ttk histogram has (1 µs to 1 h, 3
/// significant digits), so that any two merge exactly.
///
/// # Examples
/// ```
/// let mut histogram = ttk_core::metrics::latency_histogram();
/// histogram.record(1_500).unwrap(); // 1.5 ms, in microseconds
/// assert_eq!(histogram.len(), 1);
/// ```
pub fn latency_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(LOWEST_MICROS, HIGHEST_MICROS, SIGNIFICANT_DIGITS)
        .expect("the standard bounds are valid")
}

/// One interval of one loop's measurements (every second by default, and once more when the
/// run ends): counts and histograms of what happened *in the interval*, so the sink adds them
/// up (exactly: histograms merge without loss) for totals and keeps them for time series.
///
/// [`Runtime::metrics`](crate::Runtime::metrics) has another example.
///
/// # Examples
/// ```
/// # use ttk_macros::bot;
/// use std::time::Duration;
/// use ttk_core::{Cx, MetricsSnapshot, Runtime};
///
/// #[bot(crate = ttk_core)]
/// fn walker(cx: Cx, _id: usize) {
///     for _ in 0..3 {
///         ttk_core::yield_!(ttk_core::sleep(Duration::from_millis(700)));
///         cx.count("steps", 1);
///     }
/// }
///
/// let (sender, receiver) = std::sync::mpsc::channel();
/// Runtime::new().virtual_time(true).metrics(move |s| sender.send(s).unwrap()).run(2, walker);
/// let snapshots: Vec<MetricsSnapshot> = receiver.try_iter().collect();
/// let ends: Vec<u128> = snapshots.iter().map(|s| s.elapsed.as_millis()).collect();
/// assert_eq!(ends, [1_000, 2_000, 2_100]); // whole seconds, then the run's end
/// assert_eq!((snapshots[0].live_bots, snapshots[2].covers), (2, Duration::from_millis(100)));
/// let steps: u64 = snapshots.iter().flat_map(|s| &s.counters).map(|(_, n)| n).sum();
/// assert_eq!(steps, 6);
/// ```
#[derive(Clone, Debug)]
pub struct MetricsSnapshot {
    /// When the interval ended, since the run started: a multiple of the interval, except for
    /// the last snapshot (the run's end).
    pub elapsed: Duration,
    /// How long the interval lasted, from the previous close to this one: about the interval
    /// (the loop closes a little after each end), except for the last snapshot, and for one the
    /// loop closed late because it was blocked past several ends (it covers them all). The
    /// snapshots' lengths add up to the run's.
    pub covers: Duration,
    /// Bots alive at the end of the interval.
    pub live_bots: usize,
    /// Whether this is the run's last snapshot (sent when the run ends, for the rest of the
    /// last interval).
    pub last: bool,
    /// Transactions that did anything in the interval, in order of first use in the run.
    pub transactions: Vec<TransactionDelta>,
    /// Counters that moved in the interval: name and how much.
    pub counters: Vec<(String, u64)>,
    /// Every gauge set so far.
    pub gauges: Vec<GaugeValue>,
}

/// One transaction over one interval.
///
/// # Examples
/// ```
/// # use ttk_macros::bot;
/// use std::time::Duration;
/// use ttk_core::{Cx, Runtime};
///
/// #[bot(crate = ttk_core)]
/// fn caller(cx: Cx, id: usize) {
///     let call = cx.transaction("call");
///     match id {
///         0 => drop(call.ok()),
///         1 => drop(call), // given up on: abandoned
///         _ => ttk_core::yield_!(ttk_core::sleep(Duration::from_secs(60))), // the deadline stops it: stopped
///     }
/// }
///
/// let (sender, snapshots) = std::sync::mpsc::channel();
/// let runtime = Runtime::new().virtual_time(true).deadline(Duration::from_millis(500));
/// let _ = runtime.metrics(move |s| sender.send(s).unwrap()).try_run(3, caller);
/// let call = &snapshots.recv().unwrap().transactions[0];
/// assert_eq!((call.ok, call.failed, call.abandoned, call.stopped), (1, 0, 1, 1));
/// ```
#[derive(Clone, Debug)]
pub struct TransactionDelta {
    /// Its name.
    pub name: String,
    /// Finished successfully.
    pub ok: u64,
    /// Finished with a failure.
    pub failed: u64,
    /// Dropped unfinished while the run went on.
    pub abandoned: u64,
    /// In flight when the run stopped.
    pub stopped: u64,
    /// Latencies of the successes, in microseconds (see [`latency_histogram`]).
    pub latencies: Histogram<u64>,
    /// Latencies of the failures, in microseconds.
    pub failed_latencies: Histogram<u64>,
    /// Failures by kind.
    pub errors: Vec<ErrorDelta>,
}

/// Failures of one kind in one interval.
///
/// # Examples
/// ```
/// # use ttk_macros::bot;
/// use std::io;
/// use ttk_core::{Cx, Runtime};
///
/// #[bot(crate = ttk_core)]
/// fn sender(cx: Cx, id: usize) {
///     let error = io::Error::new(io::ErrorKind::TimedOut, format!("peer {}", id % 4));
///     cx.transaction("send").fail_with(&error);
/// }
///
/// let (sink, snapshots) = std::sync::mpsc::channel();
/// Runtime::new().metrics(move |s| sink.send(s).unwrap()).run(8, sender);
/// let timed_out = &snapshots.recv().unwrap().transactions[0].errors[0];
/// assert_eq!((timed_out.kind.as_str(), timed_out.count), ("TimedOut", 8));
/// assert_eq!(timed_out.new_samples, ["peer 0", "peer 1", "peer 2"]); // three at most
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorDelta {
    /// The kind: an [`io::ErrorKind`](std::io::ErrorKind)'s name (`TimedOut`), an error type's
    /// name, or the reason a bot gave.
    pub kind: String,
    /// How many, in the interval.
    pub count: u64,
    /// Messages of this kind not sent before (at most three over the run, all distinct).
    pub new_samples: Vec<String>,
}

/// A gauge: its last value, and the lowest and highest it took in the interval.
///
/// # Examples
/// ```
/// # use ttk_macros::bot;
/// use std::time::Duration;
/// use ttk_core::{Cx, Runtime};
///
/// #[bot(crate = ttk_core)]
/// fn lobby(cx: Cx, _id: usize) {
///     cx.gauge("players", 5);
///     cx.gauge("players", 2);
///     ttk_core::yield_!(ttk_core::sleep(Duration::from_millis(1_500)));
/// }
///
/// let (sender, receiver) = std::sync::mpsc::channel();
/// Runtime::new().virtual_time(true).metrics(move |s| sender.send(s).unwrap()).run(1, lobby);
/// let gauges: Vec<_> = receiver.try_iter().map(|s| s.gauges[0].clone()).collect();
/// assert_eq!((gauges[0].last, gauges[0].min, gauges[0].max), (2, 2, 5));
/// assert_eq!((gauges[1].last, gauges[1].min, gauges[1].max), (2, 2, 2)); // not set again
/// assert_eq!((gauges[0].set, gauges[1].set), (true, false));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GaugeValue {
    /// Its name.
    pub name: String,
    /// Its value at the end of the interval.
    pub last: i64,
    /// Its lowest value in the interval.
    pub min: i64,
    /// Its highest value in the interval.
    pub max: i64,
    /// How the loops' values combine into the run's (the rule of the latest set).
    pub merge: GaugeMerge,
    /// Whether a bot set it in the interval (else `last` is from an earlier one).
    pub set: bool,
}
