//! A report as Prometheus reads it: the text exposition format (version 0.0.4), for a
//! `/metrics` endpoint scraped while the run goes on.
//!
//! Every series carries the run's labels — `run` (the test's name), `run_id`, and `shard`
//! (`2/4`) for a shard — so that Prometheus can sum a run's shards and tell runs apart. The
//! latency histogram has fixed buckets (100 µs to 60 s), read from the report's exact HDR
//! histogram in one pass.

use std::fmt::Write as _;

use crate::{Report, TransactionReport};

/// The histogram's bucket bounds, in seconds: 1-2.5-5 steps from 100 µs to 60 s, where load
/// tests' latencies fall.
pub const LATENCY_BUCKETS_S: [f64; 18] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0, 30.0, 60.0,
];

/// [`LATENCY_BUCKETS_S`] in microseconds, the histogram's unit.
const LATENCY_BUCKETS_US: [u64; LATENCY_BUCKETS_S.len()] = [
    100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000,
    1_000_000, 2_500_000, 5_000_000, 10_000_000, 30_000_000, 60_000_000,
];

impl Report {
    /// The report in Prometheus' text format: per transaction `ttk_transactions_total` (by
    /// `outcome`: ok, failed, abandoned, stopped), `ttk_transaction_failures_total` by `kind`,
    /// the latency of successes as the histogram `ttk_transaction_duration_seconds`; the
    /// counters as `ttk_counter_total`, the gauges as `ttk_gauge`, and the bots
    /// (`ttk_bots_started_total`, `ttk_bots_finished_total`, `ttk_bots_failed_total`), with
    /// `ttk_bots_active` set to `active_bots` (the bots alive now, which a finished report does
    /// not hold).
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// use ttk_report::{Report, TransactionReport};
    ///
    /// let mut login = TransactionReport::new("login");
    /// login.record_ok(Duration::from_millis(3));
    /// login.record_ok(Duration::from_millis(40));
    /// let mut report = Report::new("shop");
    /// report.run.run_id = "shop-1".to_owned();
    /// report.transactions.push(login);
    ///
    /// let text = report.to_prometheus(7);
    /// let labels = r#"run="shop",run_id="shop-1""#;
    /// assert!(text.contains(&format!(
    ///     r#"ttk_transactions_total{{{labels},transaction="login",outcome="ok"}} 2"#
    /// )));
    /// assert!(text.contains(&format!(
    ///     r#"ttk_transaction_duration_seconds_bucket{{{labels},transaction="login",le="0.005"}} 1"#
    /// )));
    /// assert!(text.contains(&format!("ttk_bots_active{{{labels}}} 7")));
    /// ```
    pub fn to_prometheus(&self, active_bots: u64) -> String {
        let mut out = String::with_capacity(4096 + self.transactions.len() * 3072);
        let run = run_labels(self);
        family(
            &mut out,
            "ttk_transactions_total",
            "counter",
            "Transactions that ended, by outcome.",
        );
        for transaction in &self.transactions {
            let labels = format!("{run},transaction=\"{}\"", escape(&transaction.name));
            for (outcome, count) in [
                ("ok", transaction.ok),
                ("failed", transaction.failed),
                ("abandoned", transaction.abandoned),
                ("stopped", transaction.stopped),
            ] {
                let _ = writeln!(
                    out,
                    "ttk_transactions_total{{{labels},outcome=\"{outcome}\"}} {count}"
                );
            }
        }
        family(
            &mut out,
            "ttk_transaction_failures_total",
            "counter",
            "Failed transactions, by kind of failure.",
        );
        for transaction in &self.transactions {
            for error in &transaction.errors {
                let _ = writeln!(
                    out,
                    "ttk_transaction_failures_total{{{run},transaction=\"{}\",kind=\"{}\"}} {}",
                    escape(&transaction.name),
                    escape(&error.kind),
                    error.count
                );
            }
        }
        family(
            &mut out,
            "ttk_transaction_duration_seconds",
            "histogram",
            "How long successful transactions took.",
        );
        for transaction in &self.transactions {
            latency_histogram(&mut out, &run, transaction);
        }
        family(
            &mut out,
            "ttk_counter_total",
            "counter",
            "The run's counters (cx.count).",
        );
        for (name, value) in &self.counters {
            let _ = writeln!(
                out,
                "ttk_counter_total{{{run},name=\"{}\"}} {value}",
                escape(name)
            );
        }
        family(
            &mut out,
            "ttk_gauge",
            "gauge",
            "The run's gauges (cx.gauge), as combined over its loops.",
        );
        for (name, gauge) in &self.gauges {
            let _ = writeln!(
                out,
                "ttk_gauge{{{run},name=\"{}\"}} {}",
                escape(name),
                gauge.last
            );
        }
        family(&mut out, "ttk_bots_active", "gauge", "Bots alive now.");
        let _ = writeln!(out, "ttk_bots_active{{{run}}} {active_bots}");
        for (name, help, value) in [
            ("started", "Bots started.", self.bots.started),
            ("finished", "Bots that ended well.", self.bots.finished),
            ("failed", "Bots that failed.", self.bots.failed),
        ] {
            let metric = format!("ttk_bots_{name}_total");
            family(&mut out, &metric, "counter", help);
            let _ = writeln!(out, "{metric}{{{run}}} {value}");
        }
        out
    }
}

/// `# HELP` and `# TYPE` of a metric family.
fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// The run's labels: `run`, `run_id`, and `shard` for a shard.
fn run_labels(report: &Report) -> String {
    let mut labels = format!(
        "run=\"{}\",run_id=\"{}\"",
        escape(&report.run.name),
        escape(&report.run.run_id)
    );
    if let Some(shard) = &report.run.shard {
        let _ = write!(labels, ",shard=\"{}/{}\"", shard.index, shard.count);
    }
    labels
}

/// The latency histogram of `transaction`'s successes: cumulative counts at each bound and the
/// sum, read in one pass over the recorded values (microseconds).
fn latency_histogram(out: &mut String, run: &str, transaction: &TransactionReport) {
    let histogram = transaction.histogram.inner();
    let (counts, sum_us) = buckets_and_sum(histogram);
    let name = escape(&transaction.name);
    let mut cumulative = 0;
    for (bound, count) in LATENCY_BUCKETS_S.iter().zip(counts) {
        cumulative += count;
        let _ = writeln!(
            out,
            "ttk_transaction_duration_seconds_bucket{{{run},transaction=\"{name}\",le=\"{bound}\"}} {cumulative}"
        );
    }
    let total = histogram.len();
    let _ = writeln!(
        out,
        "ttk_transaction_duration_seconds_bucket{{{run},transaction=\"{name}\",le=\"+Inf\"}} {total}\n\
         ttk_transaction_duration_seconds_sum{{{run},transaction=\"{name}\"}} {}\n\
         ttk_transaction_duration_seconds_count{{{run},transaction=\"{name}\"}} {total}",
        sum_us / 1e6
    );
}

/// What lies at or below each of [`LATENCY_BUCKETS_S`] (not cumulated; what lies above them
/// all is left out), and the sum of the values, each at its bucket's median as the report's
/// mean counts it. An HDR bucket is counted at its highest equivalent value, so a latency is
/// never put below its bucket. Read bucket by bucket up to the largest value, a run of equal
/// widths at a time: the histogram's own iterator costs several times more per bucket, and a
/// scrape reads every transaction's histogram.
fn buckets_and_sum(
    histogram: &hdrhistogram::Histogram<u64>,
) -> ([u64; LATENCY_BUCKETS_S.len()], f64) {
    let mut counts = [0u64; LATENCY_BUCKETS_S.len()];
    if histogram.is_empty() {
        return (counts, 0.0);
    }
    let max = histogram.max();
    let mut sum: u128 = 0;
    // Values come in increasing order: the bound only moves up.
    let mut bound = 0;
    let mut value = histogram.min();
    while value <= max {
        // Buckets have one width from `value` to the next power of two (their widths double
        // there, or not yet).
        let width = histogram.equivalent_range(value);
        let run_end = match value {
            0 => 0,
            value => (u64::MAX >> value.leading_zeros()).min(max),
        };
        let mut lowest = histogram.lowest_equivalent(value);
        while lowest <= run_end {
            let count = histogram.count_at(lowest);
            if count > 0 {
                sum += u128::from(lowest + (width >> 1)) * u128::from(count);
                let highest = lowest + (width - 1);
                while LATENCY_BUCKETS_US
                    .get(bound)
                    .is_some_and(|&limit| limit < highest)
                {
                    bound += 1;
                }
                if let Some(slot) = counts.get_mut(bound) {
                    *slot += count;
                }
            }
            lowest += width;
        }
        if lowest <= value {
            break;
        }
        value = lowest;
    }
    (counts, sum as f64)
}

/// A label value as the text format wants it: backslash, double quote and line feed escaped.
fn escape(value: &str) -> String {
    let mut escaped = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => escaped.push_str("\\\\"),
            '"' => escaped.push_str("\\\""),
            '\n' => escaped.push_str("\\n"),
            c => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn buckets_are_cumulative_and_names_escaped() {
        let mut odd = TransactionReport::new("say \"hi\"\\\n");
        for ms in [1, 2, 7, 700, 90_000] {
            odd.record_ok(Duration::from_millis(ms));
        }
        let mut report = Report::new("run");
        report.transactions.push(odd);
        let text = report.to_prometheus(0);
        let bucket = |le: &str| {
            let needle = format!("le=\"{le}\"}} ");
            let line = text
                .lines()
                .find(|line| line.contains("_bucket") && line.contains(&needle))
                .unwrap();
            line.rsplit(' ').next().unwrap().parse::<u64>().unwrap()
        };
        assert_eq!(bucket("0.001"), 1);
        assert_eq!(bucket("0.0025"), 2);
        assert_eq!(bucket("0.01"), 3);
        assert_eq!(bucket("1"), 4);
        assert_eq!(bucket("60"), 4, "90 s is past the last bound");
        assert_eq!(bucket("+Inf"), 5);
        assert!(text.contains(r#"transaction="say \"hi\"\\\n""#), "{text}");
        let sum: f64 = text
            .lines()
            .find(|line| line.starts_with("ttk_transaction_duration_seconds_sum"))
            .and_then(|line| line.rsplit(' ').next())
            .unwrap()
            .parse()
            .unwrap();
        assert!((sum - 90.71).abs() < 0.1, "{sum}");
    }
    #[test]
    fn a_latency_whose_bucket_straddles_a_bound_counts_above_it() {
        // 5 ms falls in the HDR bucket 5,000–5,003 µs: it may have been 5.003 ms, so it is
        // not counted at or below 5 ms; 4.99 ms's bucket ends below 5 ms and is.
        let mut transaction = TransactionReport::new("t");
        transaction.record_ok(Duration::from_micros(5_000));
        transaction.record_ok(Duration::from_micros(4_990));
        let mut report = Report::new("run");
        report.transactions.push(transaction);
        let text = report.to_prometheus(0);
        assert!(text.contains(r#"le="0.005"} 1"#), "{text}");
        assert!(text.contains(r#"le="0.01"} 2"#), "{text}");
    }

    #[test]
    fn buckets_are_the_histograms_counts_and_the_sum_its_mean_times_the_count() {
        let mut transaction = TransactionReport::new("t");
        for i in 0..20_000u64 {
            let micros = 1 + i.wrapping_mul(0x9E37_79B9) % 3_000_000;
            transaction.record_ok(Duration::from_micros(micros));
        }
        transaction.record_ok(Duration::from_micros(0));
        transaction.record_ok(Duration::from_secs(3_000));
        let histogram = transaction.histogram.inner();
        let expected = histogram.mean() * histogram.len() as f64;
        let (counts, sum) = buckets_and_sum(histogram);
        assert!(
            (sum - expected).abs() <= expected * 1e-9,
            "{sum} against {expected}"
        );
        // Each bound's count is the histogram's own count of the buckets below it.
        let mut low = 0;
        for (count, bound) in counts.iter().zip(LATENCY_BUCKETS_US) {
            let high = histogram.lowest_equivalent(bound + 1) - 1;
            assert_eq!(*count, histogram.count_between(low, high), "at {bound} µs");
            low = high + 1;
        }
        let empty = TransactionReport::new("none");
        assert_eq!(buckets_and_sum(empty.histogram.inner()).1, 0.0);
    }

    #[test]
    fn bounds_in_microseconds_are_the_bounds_in_seconds() {
        for (us, s) in LATENCY_BUCKETS_US.iter().zip(LATENCY_BUCKETS_S) {
            assert_eq!(*us, (s * 1e6).round() as u64);
        }
    }
}
