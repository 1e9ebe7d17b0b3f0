//! The report document: what one run (or several merged) measured. Every field is described in
//! `docs/report-schema.md`; a change to it changes [`SCHEMA`].

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::histogram::{CoarseHistogram, Histogram, PackedHistogram};
use crate::quantiles::quantile_values;

/// The schema this crate writes (and reads).
pub const SCHEMA: &str = "ttk-report/3";

/// Older schemas this crate still reads: a report of one is read as [`SCHEMA`], its newer
/// fields at their defaults (version 2 added the run id and the shards; version 3 the series'
/// interval, the gauges' merge rule and the transactions' summaries).
pub const READS_TOO: &[&str] = &["ttk-report/2", "ttk-report/1"];

/// A whole report.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Report {
    /// Always [`SCHEMA`].
    pub schema: String,
    /// What ran, how, and how it ended.
    pub run: RunInfo,
    /// Every named transaction, in order of first use.
    #[serde(deserialize_with = "crate::limits::bounded_transactions")]
    pub transactions: Vec<TransactionReport>,
    /// Counters by name: sums over the run.
    pub counters: BTreeMap<String, u64>,
    /// Gauges by name.
    pub gauges: BTreeMap<String, GaugeReport>,
    /// How the bots themselves ended.
    pub bots: BotTally,
    /// The run over time, in order: one entry per `series_interval_s` seconds.
    pub series: Vec<SecondReport>,
    /// How many seconds each entry of `series` covers: 1 for a run of up to
    /// [`MAX_INTERVALS`](crate::MAX_INTERVALS) seconds, wider for longer runs (see
    /// [`SeriesBuilder`](crate::SeriesBuilder)). Always one of [`INTERVALS_S`](crate::INTERVALS_S).
    #[serde(default = "one_second_interval")]
    pub series_interval_s: u64,
    /// The thresholds checked at the end, in the order given.
    pub thresholds: Vec<ThresholdResult>,
}

impl Default for Report {
    fn default() -> Self {
        Report {
            schema: String::new(),
            run: RunInfo::default(),
            transactions: Vec::new(),
            counters: BTreeMap::new(),
            gauges: BTreeMap::new(),
            bots: BotTally::default(),
            series: Vec::new(),
            series_interval_s: one_second_interval(),
            thresholds: Vec::new(),
        }
    }
}

/// The run: its name, parameters and end.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct RunInfo {
    /// The load test's name, as the test gives it (`LoadTest::from_env("shop")`).
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
    /// Whether a run in which nothing succeeded passes anyway, given no threshold: its test
    /// turned the rule off (`LoadTest::require_success(false)`). A merge, and `ttk report`,
    /// judge the run by it as the run itself was judged (a run given thresholds is judged by
    /// them: the report keeps them, and a merge checks them on the whole run).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub success_optional: bool,
    /// The run's id: the shards of one run share it, and only reports of one run merge.
    #[serde(default)]
    pub run_id: String,
    /// Which shard of its run this report is of, for a shard's own report.
    #[serde(default)]
    pub shard: Option<Shard>,
    /// For a merge of shards' reports: which shards it holds, and which are missing.
    #[serde(default)]
    pub shards: Option<ShardSet>,
    /// The load shape and other parameters the run was given.
    pub parameters: Parameters,
    /// Changes made to the load while the run went on (from its live dashboard), in the order
    /// they were made.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<LoadChange>,
}

/// A change made to a run's load while it went on: when, and what (`bots 10 → 50`).
///
/// # Examples
/// ```
/// use ttk_report::{LoadChange, Report};
///
/// let mut report = Report::new("shop");
/// report.run.changes.push(LoadChange { t_s: 12.5, what: "bots 10 → 50".to_owned() });
/// let read = Report::from_json(&report.to_json()).unwrap();
/// assert_eq!(read.run.changes[0].what, "bots 10 → 50");
/// ```
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct LoadChange {
    /// Seconds since the run's start.
    pub t_s: f64,
    /// What changed, in words.
    pub what: String,
}

/// One shard of a run cut in `count` (`--shard index/count`).
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Shard {
    /// This shard, from 0.
    pub index: u32,
    /// How many shards the run is cut in.
    pub count: u32,
}

/// The shards a merged report holds.
///
/// # Examples
/// ```
/// use ttk_report::ShardSet;
///
/// let set = ShardSet { count: 4, merged: vec![0, 1, 3], missing: vec![2] };
/// assert!(!set.is_complete());
/// assert_eq!(set.describe_missing().unwrap(), "shard 2 of 4 is missing: its bots are not counted");
/// ```
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ShardSet {
    /// How many shards the run is cut in.
    pub count: u32,
    /// The shards merged, in increasing order.
    pub merged: Vec<u32>,
    /// The shards whose reports were not merged, in increasing order: the report is
    /// incomplete unless this is empty.
    pub missing: Vec<u32>,
}

impl ShardSet {
    /// Whether every shard was merged.
    pub fn is_complete(&self) -> bool {
        self.missing.is_empty()
    }

    /// What is missing, as a sentence, if anything is.
    pub fn describe_missing(&self) -> Option<String> {
        let (last, rest) = self.missing.split_last()?;
        let count = self.count;
        Some(match rest {
            [] => format!("shard {last} of {count} is missing: its bots are not counted"),
            _ => {
                let rest: Vec<String> = rest.iter().map(u32::to_string).collect();
                let rest = rest.join(", ");
                format!(
                    "shards {rest} and {last} of {count} are missing: their bots are not counted"
                )
            }
        })
    }
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
    /// When the run was set to start (`--start-at`), as given, if it was.
    #[serde(default)]
    pub start_at: Option<String>,
    /// The network conditions the bots' sockets emulated (`--net`: a profile, a preset or a
    /// mix), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub net: Option<String>,
    /// The source addresses the bots' sockets left from (`--local-ips`, or those the `ttk`
    /// command chose for many connections to a loopback target), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_ips: Option<String>,
    /// The whole command line (of one process; not compared when merging).
    pub command_line: Vec<String>,
}

/// One named transaction over the run.
///
/// In JSON it also has a `summary` (written, never read: the histogram is the truth), the
/// figures of [`TransactionReport::summary`], for readers that cannot decode a histogram.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use ttk_report::{Report, TransactionReport};
///
/// let mut login = TransactionReport::new("login");
/// login.record_ok(Duration::from_millis(5));
/// let mut report = Report::new("demo");
/// report.transactions.push(login);
/// let json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
/// assert_eq!(json["transactions"][0]["summary"]["p99_us"], 5_003);
/// ```
#[derive(Clone, Debug, Deserialize, PartialEq)]
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
    /// How the values of several loops, processes or shards combine (absent in a report of
    /// version 2 or older: `sum`, the only rule then).
    #[serde(default)]
    pub merge: GaugeMerge,
    /// When `last` was set, in milliseconds since the Unix epoch (to the end of the second it
    /// was set in; 0 when unknown): how the rule `last` picks among processes.
    #[serde(default)]
    pub last_set_unix_ms: u64,
}

/// How the values of one gauge held by several loops, processes or shards combine into the
/// run's: written as `"sum"`, `"max"` or `"last"`.
///
/// # Examples
/// ```
/// use ttk_report::{GaugeMerge, GaugeReport};
///
/// let gauge = GaugeReport { last: 7, min: 1, max: 9, merge: GaugeMerge::Max, last_set_unix_ms: 0 };
/// let json = serde_json::to_string(&gauge).unwrap();
/// assert!(json.contains(r#""merge":"max""#));
/// ```
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum GaugeMerge {
    /// Shares of one total: `last`, `min` and `max` are each summed (the summed `min` and `max`
    /// bound the true extremes of the total, which no sum can recover).
    #[default]
    Sum,
    /// Readings of one quantity: `last` is the highest of the last values, `min` the lowest
    /// and `max` the highest of all.
    Max,
    /// Readings of one quantity where the latest counts: `last` is the one set last (by
    /// `last_set_unix_ms`), `min` the lowest and `max` the highest of all.
    Last,
}

impl GaugeReport {
    /// Combines another loop's, process's or shard's value of the same gauge, by this gauge's
    /// rule.
    ///
    /// # Examples
    /// ```
    /// use ttk_report::{GaugeMerge, GaugeReport};
    ///
    /// let gauge = |last, min, max, merge, at| GaugeReport { last, min, max, merge, last_set_unix_ms: at };
    /// let mut players = gauge(10, 2, 12, GaugeMerge::Sum, 0);
    /// players.combine(gauge(5, 1, 6, GaugeMerge::Sum, 0));
    /// assert_eq!((players.last, players.min, players.max), (15, 3, 18));
    ///
    /// let mut id = gauge(3_500, 1, 3_500, GaugeMerge::Max, 0);
    /// id.combine(gauge(1_001, 0, 1_001, GaugeMerge::Max, 0));
    /// assert_eq!((id.last, id.min, id.max), (3_500, 0, 3_500));
    ///
    /// let mut version = gauge(2, 1, 2, GaugeMerge::Last, 5_000);
    /// version.combine(gauge(3, 3, 3, GaugeMerge::Last, 9_000));
    /// assert_eq!((version.last, version.min, version.max), (3, 1, 3));
    /// ```
    pub fn combine(&mut self, other: GaugeReport) {
        match self.merge {
            GaugeMerge::Sum => {
                self.last = self.last.saturating_add(other.last);
                self.min = self.min.saturating_add(other.min);
                self.max = self.max.saturating_add(other.max);
            }
            GaugeMerge::Max => {
                self.last = self.last.max(other.last);
                self.min = self.min.min(other.min);
                self.max = self.max.max(other.max);
            }
            GaugeMerge::Last => {
                if other.last_set_unix_ms > self.last_set_unix_ms {
                    self.last = other.last;
                }
                self.min = self.min.min(other.min);
                self.max = self.max.max(other.max);
            }
        }
        self.last_set_unix_ms = self.last_set_unix_ms.max(other.last_set_unix_ms);
    }
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

fn one_second_interval() -> u64 {
    1
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
    /// Latencies of the second's successes, in microseconds, kept packed at the series'
    /// precision ([`PackedHistogram::pack_coarse`]): the percentiles above are read from it.
    pub histogram: PackedHistogram,
}

impl SecondTransaction {
    /// One transaction's second: `ok` successes with the latencies in `histogram`, `failed`
    /// failures. The latencies are kept at the series' precision
    /// ([`PackedHistogram::pack_coarse`]), and the figures read from them.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// use ttk_report::{Histogram, SecondTransaction};
    ///
    /// let mut latencies = Histogram::new();
    /// latencies.record(Duration::from_millis(3));
    /// let second = SecondTransaction::new(1, 0, &latencies);
    /// assert_eq!(second.max_us, 3_007); // the top of 3 ms's 2-digit bucket (within 1%)
    /// ```
    pub fn new(ok: u64, failed: u64, histogram: &Histogram) -> Self {
        let mut second = SecondTransaction::packed(ok, failed, histogram);
        second.refresh_figures();
        second
    }

    /// Like [`SecondTransaction::new`], without reading the figures (`p50_us`…`max_us` stay 0
    /// until [`SecondTransaction::refresh_figures`]): for an entry that will be added to
    /// before anyone reads it.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// use ttk_report::{Histogram, SecondTransaction};
    ///
    /// let mut latencies = Histogram::new();
    /// latencies.record(Duration::from_millis(3));
    /// let mut second = SecondTransaction::packed(1, 0, &latencies);
    /// assert_eq!(second.max_us, 0);
    /// second.refresh_figures();
    /// assert_eq!(second.max_us, 3_007);
    /// ```
    pub fn packed(ok: u64, failed: u64, histogram: &Histogram) -> Self {
        SecondTransaction {
            ok,
            failed,
            p50_us: 0,
            p90_us: 0,
            p99_us: 0,
            max_us: 0,
            histogram: PackedHistogram::pack_coarse(histogram),
        }
    }

    /// Reads the figures (`p50_us`, `p90_us`, `p99_us`, `max_us`) from the histogram again.
    pub fn refresh_figures(&mut self) {
        let latency = Latency::of_inner(self.histogram.coarse().inner());
        self.p50_us = latency.p50_us;
        self.p90_us = latency.p90_us;
        self.p99_us = latency.p99_us;
        self.max_us = latency.max_us;
    }

    /// Adds `ok` successes with the latencies in `histogram`, and `failed` failures.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// use ttk_report::{Histogram, SecondTransaction};
    ///
    /// let mut first = Histogram::new();
    /// first.record(Duration::from_millis(2));
    /// let mut second = SecondTransaction::new(1, 0, &first);
    /// let mut more = Histogram::new();
    /// more.record(Duration::from_millis(8));
    /// second.add(1, 2, &more);
    /// assert_eq!((second.ok, second.failed), (2, 2));
    /// assert_eq!(second.max_us, 8_031); // the top of 8 ms's 2-digit bucket
    /// ```
    pub fn add(&mut self, ok: u64, failed: u64, histogram: &Histogram) {
        let mut merged = self.histogram.coarse();
        merged.add(histogram);
        self.set(ok, failed, &merged);
    }

    /// Adds `ok` and `failed`, and sets the latencies to `merged` (its figures read).
    pub(crate) fn set(&mut self, ok: u64, failed: u64, merged: &CoarseHistogram) {
        self.ok = self.ok.saturating_add(ok);
        self.failed = self.failed.saturating_add(failed);
        self.histogram = merged.pack();
        let latency = Latency::of_inner(merged.inner());
        self.p50_us = latency.p50_us;
        self.p90_us = latency.p90_us;
        self.p99_us = latency.p99_us;
        self.max_us = latency.max_us;
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
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// use ttk_report::{Histogram, Latency};
    ///
    /// let mut histogram = Histogram::new();
    /// for millis in [1, 2, 3, 4] {
    ///     histogram.record(Duration::from_millis(millis));
    /// }
    /// let latency = Latency::of(&histogram);
    /// assert_eq!((latency.count, latency.p50_us, latency.max_us), (4, 2_000, 4_001));
    /// assert_eq!(Latency::of(&Histogram::new()), Latency::default()); // empty: all zero
    /// ```
    pub fn of(histogram: &Histogram) -> Latency {
        Latency::of_inner(histogram.inner())
    }

    /// The figures of a histogram of any bounds.
    pub(crate) fn of_inner(inner: &hdrhistogram::Histogram<u64>) -> Latency {
        if inner.is_empty() {
            return Latency::default();
        }
        let [p50_us, p90_us, p99_us, p999_us] = quantile_values(inner, [0.5, 0.9, 0.99, 0.999]);
        Latency {
            count: inner.len(),
            mean_us: inner.mean(),
            p50_us,
            p90_us,
            p99_us,
            p999_us,
            max_us: inner.max(),
        }
    }
}

/// A report that could not be read.
///
/// # Examples
/// ```
/// use ttk_report::{Report, ReportError};
///
/// let error = Report::from_json(r#"{"schema": "ttk-report/0"}"#).unwrap_err();
/// assert!(matches!(error, ReportError::Schema(_)));
/// assert_eq!(
///     error.to_string(),
///     r#"a report of schema "ttk-report/0"; this ttk reads "ttk-report/3" and "ttk-report/2" and "ttk-report/1""#,
/// );
/// ```
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
    /// A report whose fields are out of bounds or do not fit together (a hostile or corrupt
    /// file: see [`MAX_SHARDS`](crate::MAX_SHARDS)); the message names the field.
    Invalid(String),
}

impl fmt::Display for ReportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReportError::Json(error) => write!(f, "not a ttk report: {error}"),
            ReportError::Schema(schema) => {
                write!(
                    f,
                    "a report of schema {schema:?}; this ttk reads {SCHEMA:?}"
                )?;
                for older in READS_TOO {
                    write!(f, " and {older:?}")?;
                }
                Ok(())
            }
            ReportError::Merge(why) => write!(f, "cannot merge these reports: {why}"),
            ReportError::Io(error) => write!(f, "{error}"),
            ReportError::Invalid(why) => write!(f, "not a valid ttk report: {why}"),
        }
    }
}

impl std::error::Error for ReportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ReportError::Json(error) => Some(error),
            ReportError::Io(error) => Some(error),
            ReportError::Schema(_) | ReportError::Merge(_) | ReportError::Invalid(_) => None,
        }
    }
}

impl Report {
    /// An empty report of the current schema for a run named `name`.
    ///
    /// # Examples
    /// ```
    /// use ttk_report::{Report, SCHEMA};
    ///
    /// let report = Report::new("checkout");
    /// assert_eq!(report.schema, SCHEMA);
    /// assert_eq!((report.run.name.as_str(), report.run.processes), ("checkout", 1));
    /// assert!(report.transactions.is_empty());
    /// ```
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
    ///
    /// # Examples
    /// ```
    /// let json = ttk_report::Report::new("demo").to_json();
    /// assert!(json.contains(r#""schema": "ttk-report/3""#));
    /// assert!(json.contains(r#""name": "demo""#));
    /// ```
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a report always serializes")
    }

    /// Reads a report, checking its schema.
    ///
    /// # Examples
    /// ```
    /// use ttk_report::{Report, ReportError};
    ///
    /// let report = Report::new("demo");
    /// assert_eq!(Report::from_json(&report.to_json()).unwrap(), report);
    /// let newer = report.to_json().replace("ttk-report/3", "ttk-report/9");
    /// assert!(matches!(Report::from_json(&newer), Err(ReportError::Schema(_))));
    /// assert!(matches!(Report::from_json("{}"), Err(ReportError::Json(_))));
    /// ```
    pub fn from_json(text: &str) -> Result<Report, ReportError> {
        #[derive(Deserialize)]
        struct Versioned {
            schema: String,
        }
        let versioned: Versioned = serde_json::from_str(text).map_err(ReportError::Json)?;
        if versioned.schema != SCHEMA && !READS_TOO.contains(&versioned.schema.as_str()) {
            return Err(ReportError::Schema(versioned.schema));
        }
        let mut report: Report = serde_json::from_str(text).map_err(ReportError::Json)?;
        crate::limits::check_report(&report).map_err(ReportError::Invalid)?;
        report.schema = SCHEMA.to_owned();
        Ok(report)
    }

    /// The transaction named `name`.
    ///
    /// # Examples
    /// ```
    /// use ttk_report::{Report, TransactionReport};
    ///
    /// let mut report = Report::new("demo");
    /// report.transactions.push(TransactionReport::new("login"));
    /// assert_eq!(report.transaction("login").unwrap().name, "login");
    /// assert!(report.transaction("logout").is_none());
    /// ```
    pub fn transaction(&self, name: &str) -> Option<&TransactionReport> {
        self.transactions.iter().find(|tx| tx.name == name)
    }

    /// Why the report shows a run in which nothing succeeded, if it does: every bot failed, or
    /// transactions ended and none succeeded. A run without a threshold fails by this (exit
    /// code 1: a target that was down measured nothing worth passing), and so do its merge
    /// and `ttk report` on it, unless the run's success was optional
    /// ([`RunInfo::success_optional`]).
    ///
    /// # Examples
    /// ```
    /// use ttk_report::{Report, TransactionReport};
    ///
    /// let mut report = Report::new("demo");
    /// let mut request = TransactionReport::new("request");
    /// request.failed = 5;
    /// report.transactions.push(request);
    /// assert_eq!(
    ///     report.nothing_succeeded().as_deref(),
    ///     Some("no transaction succeeded (0 of 5)")
    /// );
    /// report.transactions[0].ok = 1;
    /// assert_eq!(report.nothing_succeeded(), None);
    /// ```
    pub fn nothing_succeeded(&self) -> Option<String> {
        let bots = &self.bots;
        if bots.started > 0 && bots.failed == bots.started {
            return Some(format!(
                "every bot failed ({} of {})",
                bots.failed, bots.started
            ));
        }
        let ended: u64 = self
            .transactions
            .iter()
            .map(|t| t.ok + t.failed + t.abandoned + t.stopped)
            .sum();
        let ok: u64 = self.transactions.iter().map(|t| t.ok).sum();
        (ended > 0 && ok == 0).then(|| format!("no transaction succeeded (0 of {ended})"))
    }
}

impl TransactionReport {
    /// A transaction with nothing recorded.
    ///
    /// # Examples
    /// ```
    /// use ttk_report::TransactionReport;
    ///
    /// let login = TransactionReport::new("login");
    /// assert_eq!((login.ok, login.failed, login.abandoned, login.stopped), (0, 0, 0, 0));
    /// assert_eq!(login.latency().count, 0);
    /// ```
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
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// use ttk_report::TransactionReport;
    ///
    /// let mut login = TransactionReport::new("login");
    /// login.record_ok(Duration::from_millis(5));
    /// assert_eq!(login.ok, 1);
    /// assert_eq!(login.histogram.inner().max(), 5_003); // µs: the top of 5 ms's bucket
    /// ```
    pub fn record_ok(&mut self, latency: Duration) {
        self.ok += 1;
        self.histogram.record(latency);
    }

    /// The latency figures of the successes.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// use ttk_report::TransactionReport;
    ///
    /// let mut login = TransactionReport::new("login");
    /// for millis in 1..=100 {
    ///     login.record_ok(Duration::from_millis(millis));
    /// }
    /// let latency = login.latency();
    /// assert_eq!((latency.count, latency.p99_us, latency.max_us), (100, 99_007, 100_031));
    /// ```
    pub fn latency(&self) -> Latency {
        Latency::of(&self.histogram)
    }

    /// Successes per second over `duration_s` seconds.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// use ttk_report::TransactionReport;
    ///
    /// let mut login = TransactionReport::new("login");
    /// for _ in 0..30 {
    ///     login.record_ok(Duration::from_millis(5));
    /// }
    /// assert_eq!(login.rate(10.0), 3.0);
    /// assert_eq!(login.rate(0.0), 0.0); // no time, no rate
    /// ```
    pub fn rate(&self, duration_s: f64) -> f64 {
        if duration_s > 0.0 {
            self.ok as f64 / duration_s
        } else {
            0.0
        }
    }
}
