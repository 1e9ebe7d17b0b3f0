//! What a loop's metrics hand to their sink: one interval's worth of measurements.

use std::time::Duration;

use hdrhistogram::Histogram;

/// Latencies are kept in microseconds from this value up…
pub const LOWEST_MICROS: u64 = 1;
/// …to this one (an hour); longer ones count as an hour.
pub const HIGHEST_MICROS: u64 = 3_600_000_000;
/// Significant decimal digits kept of every latency.
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
/// See [`Runtime::metrics`](crate::Runtime::metrics) for an example.
#[derive(Clone, Debug)]
pub struct MetricsSnapshot {
    /// When the interval ended, since the run started: a multiple of the interval, except for
    /// the last snapshot (the run's end).
    pub elapsed: Duration,
    /// How long the interval lasted: the interval, except for the last snapshot, and for one
    /// the loop closed late because it was blocked past several ends (it covers them all).
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
}
