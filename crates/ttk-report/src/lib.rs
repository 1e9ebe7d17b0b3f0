//! The report of a ttk run: one versioned JSON document (see `docs/report-schema.md`) that holds
//! every transaction's full latency histogram, so reports from several processes merge exactly;
//! and what is made from it: the end-of-run summary, thresholds and the HTML page.
//!
//! # Examples
//! ```
//! use std::time::Duration;
//! use ttk_report::{Latency, Report, TransactionReport};
//!
//! let mut login = TransactionReport::new("login");
//! login.record_ok(Duration::from_millis(12));
//! login.record_ok(Duration::from_millis(30));
//! let mut report = Report::new("demo");
//! report.transactions.push(login);
//!
//! let json = report.to_json();
//! let back = Report::from_json(&json).unwrap();
//! let latency: Latency = back.transactions[0].latency();
//! assert_eq!(latency.count, 2);
//! assert_eq!(latency.max_us, 30_015); // 3 significant digits: the top of the value's bucket
//! ```

#![deny(missing_docs, missing_debug_implementations)]

mod duration;
mod file;
mod format;
mod histogram;
mod html;
mod limits;
mod merge;
mod model;
mod prometheus;
mod quantiles;
mod series;
mod series_entry;
mod summary;
mod table;
mod threshold;
mod transaction_json;
mod write;

pub use duration::{DurationError, parse_duration};
pub use format::format_duration_us;
pub use histogram::{
    HIGHEST_US, Histogram, HistogramError, LOWEST_US, PackedHistogram, SERIES_SIGNIFICANT_DIGITS,
    SIGNIFICANT_DIGITS,
};
pub use limits::{MAX_CHANGES, MAX_SERIES_SECONDS, MAX_SHARDS, MAX_TRANSACTIONS};
pub use model::{
    BotTally, ErrorTally, GaugeMerge, GaugeReport, Latency, LoadChange, Parameters, READS_TOO,
    Report, ReportError, RunInfo, SCHEMA, SecondReport, SecondTransaction, Shard, ShardSet,
    ThresholdResult, TransactionReport,
};
pub use prometheus::LATENCY_BUCKETS_S;
pub use series::{
    ENTRY_BYTES, INTERVALS_S, MAX_INTERVALS, MAX_SERIES_BYTES, SeriesBuilder, is_series_interval,
};
pub use threshold::{Threshold, ThresholdError};
pub use transaction_json::TransactionSummary;
pub use write::write_atomically;
