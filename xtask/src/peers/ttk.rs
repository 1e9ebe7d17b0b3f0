//! Reading the report `ttk http URL … --json PATH` writes (schema `ttk-report/2`, see
//! `docs/report-schema.md`), through the `ttk-report` crate that defines it.

use ttk_report::{Histogram, Report};

use super::output::Output;

/// The figures in a ttk report's text: every transaction's successes and failures together,
/// percentiles from their merged histograms, the run's duration.
pub(crate) fn parse(text: &str) -> Result<Output, String> {
    let report =
        Report::from_json(text).map_err(|error| format!("ttk wrote no report: {error}"))?;
    let mut latencies = Histogram::new();
    let mut output = Output {
        seconds: report.run.duration_s,
        ..Output::default()
    };
    for transaction in &report.transactions {
        output.ok += transaction.ok;
        output.errors += transaction.failed;
        latencies.merge(&transaction.histogram);
    }
    if output.ok > 0 {
        let inner = latencies.inner();
        output.p50_us = Some(inner.value_at_quantile(0.5) as f64);
        output.p99_us = Some(inner.value_at_quantile(0.99) as f64);
    }
    Ok(output)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use ttk_report::TransactionReport;

    use super::*;

    /// A report written by `ttk-report` itself, the writer `ttk` uses.
    fn report(transactions: Vec<TransactionReport>) -> String {
        let mut report = Report::new("ttk-http");
        report.run.duration_s = 3.0;
        report.transactions = transactions;
        report.to_json()
    }

    #[test]
    fn sums_the_transactions() {
        let mut get = TransactionReport::new("GET /");
        for millis in 1..=100 {
            get.record_ok(Duration::from_millis(millis));
        }
        let mut other = TransactionReport::new("other");
        other.failed = 7;
        let output = parse(&report(vec![get, other])).unwrap();
        assert_eq!((output.ok, output.errors), (100, 7));
        assert_eq!(output.seconds, 3.0);
        // Percentiles are the bucket's highest value, to 3 significant digits.
        assert_eq!(output.p50_us, Some(50_015.0));
        assert_eq!(output.p99_us, Some(99_007.0));
    }

    #[test]
    fn no_successes_no_percentiles() {
        let output = parse(&report(vec![])).unwrap();
        assert_eq!((output.ok, output.p50_us), (0, None));
    }

    #[test]
    fn another_document_is_refused() {
        assert!(parse(r#"{"schema": "something-else"}"#).is_err());
    }
}
