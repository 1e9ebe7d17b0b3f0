//! A transaction as JSON: its fields, and a `summary` of figures read from its histogram, for
//! readers (jq, a spreadsheet) that cannot decode HDR.

use serde::ser::{Serialize, SerializeStruct, Serializer};

use crate::model::TransactionReport;
use crate::quantiles::quantile_values;

/// The figures of a transaction's successful latencies, in microseconds, as written beside its
/// histogram (the `summary` of a transaction in JSON). All zero without a success.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use ttk_report::TransactionReport;
///
/// let mut login = TransactionReport::new("login");
/// for millis in 1..=1_000 {
///     login.record_ok(Duration::from_millis(millis));
/// }
/// let summary = login.summary();
/// assert_eq!((summary.count, summary.min_us, summary.p50_us), (1_000, 1_000, 500_223));
/// assert_eq!((summary.p99_us, summary.max_us), (990_207, 1_000_447));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TransactionSummary {
    /// Successes (the histogram's samples).
    pub count: u64,
    /// Mean latency.
    pub mean_us: f64,
    /// Lowest latency.
    pub min_us: u64,
    /// Median.
    pub p50_us: u64,
    /// 90th percentile.
    pub p90_us: u64,
    /// 95th percentile.
    pub p95_us: u64,
    /// 99th percentile.
    pub p99_us: u64,
    /// 99.9th percentile.
    pub p999_us: u64,
    /// 99.99th percentile.
    pub p9999_us: u64,
    /// Highest latency.
    pub max_us: u64,
}

impl TransactionReport {
    /// The figures of the successes' latencies, as the JSON's `summary` holds them.
    pub fn summary(&self) -> TransactionSummary {
        let inner = self.histogram.inner();
        if inner.is_empty() {
            return TransactionSummary::default();
        }
        let [p50_us, p90_us, p95_us, p99_us, p999_us, p9999_us] =
            quantile_values(inner, [0.5, 0.9, 0.95, 0.99, 0.999, 0.9999]);
        TransactionSummary {
            count: inner.len(),
            mean_us: inner.mean(),
            min_us: inner.min(),
            p50_us,
            p90_us,
            p95_us,
            p99_us,
            p999_us,
            p9999_us,
            max_us: inner.max(),
        }
    }
}

impl Serialize for TransactionReport {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut out = serializer.serialize_struct("TransactionReport", 9)?;
        out.serialize_field("name", &self.name)?;
        out.serialize_field("ok", &self.ok)?;
        out.serialize_field("failed", &self.failed)?;
        out.serialize_field("abandoned", &self.abandoned)?;
        out.serialize_field("stopped", &self.stopped)?;
        out.serialize_field("summary", &self.summary())?;
        out.serialize_field("histogram", &self.histogram)?;
        out.serialize_field("failed_histogram", &self.failed_histogram)?;
        out.serialize_field("errors", &self.errors)?;
        out.end()
    }
}
