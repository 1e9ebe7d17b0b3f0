//! The per-second series, grouped into at most [`MAX_POINTS`] buckets for the time charts.
//!
//! A one-minute run draws one point per second. A day-long run would draw 86,400, which makes
//! a page of megabytes with lines no screen can show; so consecutive seconds are grouped, rates
//! are averaged over the group and latency percentiles taken over the group's merged histogram.
//! Buckets keep the percentiles, not the histograms: an HDR histogram is a few hundred
//! kilobytes, and a copy per bucket and transaction would dwarf the report itself.

use std::collections::BTreeMap;

use crate::{Histogram, SecondReport};

/// The most points a time chart draws per line.
pub(crate) const MAX_POINTS: usize = 1200;

/// One point of the time axis: one second, or several consecutive seconds.
#[derive(Debug)]
pub(crate) struct Bucket<'a> {
    /// Seconds since the start at the end of the bucket.
    pub(crate) t: f64,
    /// Seconds since the start at its beginning: `t` less the time it covers.
    pub(crate) start: f64,
    /// Bots alive at the end of the bucket.
    pub(crate) active_bots: f64,
    /// Failed transactions per second (all names), averaged over the bucket.
    pub(crate) errors_per_s: f64,
    /// Each transaction active in the bucket, by name.
    pub(crate) transactions: BTreeMap<&'a str, BucketTransaction>,
}

/// One transaction over one bucket.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct BucketTransaction {
    /// Successes per second, averaged over the bucket.
    pub(crate) ok_per_s: f64,
    /// Failures per second, averaged over the bucket.
    pub(crate) failed_per_s: f64,
    /// Median latency of the bucket's successes in milliseconds; `None` without a success.
    pub(crate) p50_ms: Option<f64>,
    /// 99th percentile latency of the bucket's successes in milliseconds.
    pub(crate) p99_ms: Option<f64>,
}

/// The buckets of `series`: one per second up to [`MAX_POINTS`] seconds, wider beyond.
///
/// A last entry under half as long as the one before (a run's last, partial second or
/// interval, after its bots stopped) joins the bucket before it: alone, its rate would read as
/// a collapse that never happened.
pub(crate) fn buckets(series: &[SecondReport]) -> Vec<Bucket<'_>> {
    let width = series.len().div_ceil(MAX_POINTS).max(1);
    let mut chunks: Vec<&[SecondReport]> = series.chunks(width).collect();
    if let [.., before, last] = chunks[..] {
        let span = |entries: &[SecondReport]| entries.iter().map(|e| e.length_s).sum::<f64>();
        if span(last) < span(before) / 2.0 {
            let joined = before.len() + last.len();
            chunks.pop();
            chunks.pop();
            chunks.push(&series[series.len() - joined..]);
        }
    }
    chunks
        .into_iter()
        .map(|seconds| {
            // Rates divide by the time the seconds cover: a last, partial second is shorter.
            let span = seconds
                .iter()
                .map(|second| second.length_s)
                .sum::<f64>()
                .max(f64::EPSILON);
            let last = seconds.last().expect("chunks are never empty");
            let mut names: Vec<&str> = Vec::new();
            for second in seconds {
                for name in second.transactions.keys() {
                    if !names.contains(&name.as_str()) {
                        names.push(name);
                    }
                }
            }
            let transactions = names
                .into_iter()
                .map(|name| {
                    let mut tx = BucketTransaction::default();
                    let mut ones = Vec::new();
                    for second in seconds {
                        if let Some(one) = second.transactions.get(name) {
                            tx.ok_per_s += one.ok as f64 / span;
                            tx.failed_per_s += one.failed as f64 / span;
                            ones.push(one);
                        }
                    }
                    let (p50_us, p99_us, count) = match ones[..] {
                        // One second: its own figures, without unpacking its histogram.
                        [one] => (one.p50_us, one.p99_us, one.ok),
                        _ => {
                            let merged = ones.iter().fold(Histogram::new(), |mut sum, one| {
                                sum.merge(&one.histogram.unpack());
                                sum
                            });
                            let inner = merged.inner();
                            match inner.is_empty() {
                                true => (0, 0, 0),
                                false => (
                                    inner.value_at_quantile(0.5),
                                    inner.value_at_quantile(0.99),
                                    inner.len(),
                                ),
                            }
                        }
                    };
                    if count > 0 {
                        tx.p50_ms = Some(p50_us as f64 / 1000.0);
                        tx.p99_ms = Some(p99_us as f64 / 1000.0);
                    }
                    (name, tx)
                })
                .collect();
            Bucket {
                t: last.t as f64,
                start: (last.t as f64 - span).max(0.0),
                active_bots: last.active_bots as f64,
                errors_per_s: seconds.iter().map(|s| s.errors as f64).sum::<f64>() / span,
                transactions,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::SecondTransaction;

    fn second(t: u64, ok: u64, latency_ms: u64) -> SecondReport {
        let mut histogram = Histogram::new();
        for _ in 0..ok {
            histogram.record(Duration::from_millis(latency_ms));
        }
        let tx = SecondTransaction::new(ok, 1, &histogram);
        SecondReport {
            t,
            active_bots: t,
            errors: 1,
            transactions: [("get".to_owned(), tx)].into(),
            ..SecondReport::default()
        }
    }

    #[test]
    fn short_series_keep_one_bucket_per_second() {
        let series: Vec<_> = (1..=60).map(|t| second(t, t, 5)).collect();
        let buckets = buckets(&series);
        assert_eq!(buckets.len(), 60);
        assert_eq!(buckets[9].t, 10.0);
        assert_eq!(buckets[9].transactions["get"].ok_per_s, 10.0);
        let p50 = buckets[9].transactions["get"].p50_ms.unwrap();
        assert!((p50 - 5.0).abs() < 0.05, "{p50}"); // 2 significant digits: within 1%
    }

    #[test]
    fn long_series_are_averaged_and_merged() {
        let series: Vec<_> = (1..=(MAX_POINTS as u64 * 2 + 1))
            .map(|t| second(t, 2, t))
            .collect();
        let buckets = buckets(&series);
        assert!(buckets.len() <= MAX_POINTS);
        let first = &buckets[0];
        assert_eq!(first.t, 3.0);
        assert_eq!(first.active_bots, 3.0);
        assert_eq!(first.errors_per_s, 1.0);
        assert_eq!(first.transactions["get"].ok_per_s, 2.0);
        // Two successes at each of 1, 2 and 3 ms: the median is 2 ms, the 99th 3 ms.
        assert_eq!(first.transactions["get"].p50_ms, Some(2.0));
        let p99 = first.transactions["get"].p99_ms.unwrap();
        assert!((p99 - 3.0).abs() < 0.01, "{p99}");
    }

    #[test]
    fn no_series_no_buckets() {
        assert!(buckets(&[]).is_empty());
    }
}
