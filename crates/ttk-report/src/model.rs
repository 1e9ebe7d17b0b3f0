//! The report document: what one run (or several merged) measured. Every field is described in
//! `docs/report-schema.md`; a change to it changes [`SCHEMA`].

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::histogram::{Histogram, PackedHistogram};

/// The schema this crate writes and reads.
pub const SCHEMA: &str = "ttk-report/1";

/// A whole report.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Report {
    /// Always [`SCHEMA`].
    pub schema: String,
    /// What ran, how, and how it ended.
    pub run: RunInfo,
    /// Every named transaction, in order of first use.
    pub transactions: Vec<TransactionReport>,
    /// Counters by name: sums over the run.
    pub counters: BTreeMap<String, u64>,
    /// Gauges by name.
    pub gauges: BTreeMap<String, GaugeReport>,
    /// How the bots themselves ended.
    pub bots: BotTally,
    /// One entry per second of the run, in order.
    pub series: Vec<SecondReport>,
    /// The thresholds checked at the end, in the order given.
    pub thresholds: Vec<ThresholdResult>,
}

/// The run: its name, parameters and end.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct RunInfo {
    /// The load test's name (its binary's name by default).
    pub name: String,
    /// The ttk version that wrote the report.
    pub ttk_version: String,
    /// When the run started, in seconds since the Unix epoch.
    pub started_unix_s: f64,
    /// How long the run lasted, in seconds.
    pub duration_s: f64,
    /// Why the run ended: `completed`, `duration`, `interrupted`, `stalled` or `failed`.
    pub end: String,
    /// More about the end (the failure's message), if anything.
    pub end_detail: Option<String>,
    /// How many processes' reports were merged into this one (1 for a single run).
    pub processes: u32,
    /// The load shape and other parameters the run was given.
    pub parameters: Parameters,
}

/// The parameters of a run, as given on its command line.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Parameters {
    /// Bots of the closed model (each runs its iterations and ends).
    pub bots: Option<u64>,
    /// Ramp-up of the closed model, as given (`30s`, or stages).
    pub ramp_up: Option<String>,
    /// The run's duration, as given.
    pub duration: Option<String>,
    /// The open model's arrival rate, as given (`10/s:30s,100/s:1m`).
    pub rate: Option<String>,
    /// Iterations per bot.
    pub iterations: Option<u64>,
    /// The seed of the bots' random generators.
    pub seed: u64,
    /// The target handed to the bots.
    pub target: Option<String>,
    /// The whole command line.
    pub command_line: Vec<String>,
}

/// One named transaction over the run.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct TransactionReport {
    /// Its name.
    pub name: String,
    /// Finished successfully.
    pub ok: u64,
    /// Finished with a failure (see `errors`).
    pub failed: u64,
    /// Dropped unfinished while the run went on (its bot gave up on it or panicked).
    pub abandoned: u64,
    /// In flight when the run stopped.
    pub stopped: u64,
    /// Latencies of successful transactions, in microseconds.
    pub histogram: Histogram,
    /// Latencies of failed ones, in microseconds.
    pub failed_histogram: Histogram,
    /// Failures by kind.
    pub errors: Vec<ErrorTally>,
}

/// Failures of one kind.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ErrorTally {
    /// The kind: an `io::ErrorKind` (`TimedOut`), an error type's name, or a reason given.
    pub kind: String,
    /// How many.
    pub count: u64,
    /// The first few distinct messages, at most [`ErrorTally::MAX_SAMPLES`] (server-controlled
    /// text: escape before display).
    pub samples: Vec<String>,
}

impl ErrorTally {
    /// How many distinct sample messages a tally keeps: enough to tell one cause from several,
    /// few enough that a flood of failures does not bloat the report.
    ///
    /// # Examples
    /// ```
    /// assert_eq!(ttk_report::ErrorTally::MAX_SAMPLES, 3);
    /// ```
    pub const MAX_SAMPLES: usize = 3;
}

/// A gauge over the run.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct GaugeReport {
    /// Its value at the end.
    pub last: i64,
    /// Its lowest value.
    pub min: i64,
    /// Its highest value.
    pub max: i64,
}

/// How the bots ended.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct BotTally {
    /// Bots started.
    pub started: u64,
    /// Bots that returned normally.
    pub finished: u64,
    /// Bots that panicked or returned an error (see `errors`).
    pub failed: u64,
    /// Bots running when the run stopped.
    pub stopped: u64,
    /// Bot failures by kind (`panicked`, `stalled`, or the error's kind).
    pub errors: Vec<ErrorTally>,
}

/// One second of the run.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct SecondReport {
    /// Seconds since the start at the end of this interval (1 for the first).
    pub t: u64,
    /// Bots alive at the end of the second.
    pub active_bots: u64,
    /// Failed transactions in the second (all names).
    pub errors: u64,
    /// The length of time this entry covers, in seconds: 1, except for the run's last, partial
    /// second, and after a second the loop could not close on time (it was blocked), whose
    /// entry covers the seconds it missed.
    #[serde(default = "one_second")]
    pub length_s: f64,
    /// Each transaction active in the second, by name.
    pub transactions: BTreeMap<String, SecondTransaction>,
}

fn one_second() -> f64 {
    1.0
}

impl Default for SecondReport {
    fn default() -> Self {
        SecondReport {
            t: 0,
            active_bots: 0,
            errors: 0,
            length_s: one_second(),
            transactions: BTreeMap::new(),
        }
    }
}

/// One transaction over one second.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct SecondTransaction {
    /// Finished successfully in the second.
    pub ok: u64,
    /// Failed in the second.
    pub failed: u64,
    /// Median latency of the second's successes, in microseconds (0 without successes).
    #[serde(default)]
    pub p50_us: u64,
    /// 90th percentile, in microseconds.
    #[serde(default)]
    pub p90_us: u64,
    /// 99th percentile, in microseconds.
    #[serde(default)]
    pub p99_us: u64,
    /// Highest latency, in microseconds.
    #[serde(default)]
    pub max_us: u64,
    /// Latencies of the second's successes, in microseconds, kept packed (see
    /// [`PackedHistogram`]): the percentiles above are read from it.
    pub histogram: PackedHistogram,
}

impl SecondTransaction {
    /// One transaction's second: `ok` successes with the latencies in `histogram`, `failed`
    /// failures.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// use ttk_report::{Histogram, SecondTransaction};
    ///
    /// let mut latencies = Histogram::new();
    /// latencies.record(Duration::from_millis(2));
    /// let second = SecondTransaction::new(1, 0, &latencies);
    /// assert_eq!(second.max_us, 3_001); // the top of 3 ms's bucket
    /// ```
    pub fn new(ok: u64, failed: u64, histogram: &Histogram) -> Self {
        let latency = Latency::of(histogram);
        SecondTransaction {
            ok,
            failed,
            p50_us: latency.p50_us,
            p90_us: latency.p90_us,
            p99_us: latency.p99_us,
            max_us: latency.max_us,
            histogram: PackedHistogram::pack(histogram),
        }
    }

    /// Adds `ok` successes with the latencies in `histogram`, and `failed` failures.
    pub fn add(&mut self, ok: u64, failed: u64, histogram: &Histogram) {
        let mut merged = self.histogram.unpack();
        merged.merge(histogram);
        *self = SecondTransaction::new(
            self.ok.saturating_add(ok),
            self.failed.saturating_add(failed),
            &merged,
        );
    }
}

/// One threshold and how the run did against it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ThresholdResult {
    /// The expression as given (`p99(login) < 50ms`).
    pub expression: String,
    /// The measured value, in the threshold's unit, as shown.
    pub measured: String,
    /// The limit, as shown.
    pub limit: String,
    /// Whether the run met it.
    pub passed: bool,
}

/// Percentiles and moments of a histogram, in microseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Latency {
    /// Samples.
    pub count: u64,
    /// Mean.
    pub mean_us: f64,
    /// Median.
    pub p50_us: u64,
    /// 90th percentile.
    pub p90_us: u64,
    /// 99th percentile.
    pub p99_us: u64,
    /// 99.9th percentile.
    pub p999_us: u64,
    /// Highest.
    pub max_us: u64,
}

impl Latency {
    /// The figures of `histogram`.
    pub fn of(histogram: &Histogram) -> Latency {
        let inner = histogram.inner();
        if inner.is_empty() {
            return Latency::default();
        }
        Latency {
            count: inner.len(),
            mean_us: inner.mean(),
            p50_us: inner.value_at_quantile(0.5),
            p90_us: inner.value_at_quantile(0.9),
            p99_us: inner.value_at_quantile(0.99),
            p999_us: inner.value_at_quantile(0.999),
            max_us: inner.max(),
        }
    }
}

/// A report that could not be read.
#[derive(Debug)]
pub enum ReportError {
    /// Not JSON, or not a report.
    Json(serde_json::Error),
    /// A report of another schema.
    Schema(String),
    /// Reports that cannot be merged.
    Merge(String),
    /// Reading or writing the file failed.
    Io(std::io::Error),
}

impl fmt::Display for ReportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReportError::Json(error) => write!(f, "not a ttk report: {error}"),
            ReportError::Schema(schema) => {
                write!(
                    f,
                    "a report of schema {schema:?}; this ttk reads {SCHEMA:?}"
                )
            }
            ReportError::Merge(why) => write!(f, "cannot merge these reports: {why}"),
            ReportError::Io(error) => write!(f, "{error}"),
        }
    }
}

impl std::error::Error for ReportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ReportError::Json(error) => Some(error),
            ReportError::Io(error) => Some(error),
            ReportError::Schema(_) | ReportError::Merge(_) => None,
        }
    }
}

impl Report {
    /// An empty report of the current schema for a run named `name`.
    pub fn new(name: &str) -> Report {
        Report {
            schema: SCHEMA.to_owned(),
            run: RunInfo {
                name: name.to_owned(),
                ttk_version: env!("CARGO_PKG_VERSION").to_owned(),
                processes: 1,
                ..RunInfo::default()
            },
            ..Report::default()
        }
    }

    /// The report as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a report always serializes")
    }

    /// Reads a report, checking its schema.
    pub fn from_json(text: &str) -> Result<Report, ReportError> {
        #[derive(Deserialize)]
        struct Versioned {
            schema: String,
        }
        let versioned: Versioned = serde_json::from_str(text).map_err(ReportError::Json)?;
        if versioned.schema != SCHEMA {
            return Err(ReportError::Schema(versioned.schema));
        }
        serde_json::from_str(text).map_err(ReportError::Json)
    }

    /// The transaction named `name`.
    pub fn transaction(&self, name: &str) -> Option<&TransactionReport> {
        self.transactions.iter().find(|tx| tx.name == name)
    }
}

impl TransactionReport {
    /// A transaction with nothing recorded.
    pub fn new(name: &str) -> Self {
        TransactionReport {
            name: name.to_owned(),
            ok: 0,
            failed: 0,
            abandoned: 0,
            stopped: 0,
            histogram: Histogram::new(),
            failed_histogram: Histogram::new(),
            errors: Vec::new(),
        }
    }

    /// Counts one success that took `latency`.
    pub fn record_ok(&mut self, latency: Duration) {
        self.ok += 1;
        self.histogram.record(latency);
    }

    /// The latency figures of the successes.
    pub fn latency(&self) -> Latency {
        Latency::of(&self.histogram)
    }

    /// Successes per second over `duration_s` seconds.
    pub fn rate(&self, duration_s: f64) -> f64 {
        if duration_s > 0.0 {
            self.ok as f64 / duration_s
        } else {
            0.0
        }
    }
}
