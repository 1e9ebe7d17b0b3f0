//! Reading the report `ttk http URL … --json PATH` writes (schema `ttk-report/2`, see
//! `docs/report-schema.md`), through the `ttk-report` crate that defines it.

use ttk_report::{Histogram, Report};

use super::output::Output;

/// The transaction `ttk http` times each request as (the other is `connect`).
const REQUEST: &str = "request";
/// The transaction `ttk http` times each connect as.
const CONNECT: &str = "connect";

/// The figures in a ttk report's text: the `request` transaction's successes and failures
/// (failed connects count as errors too), its percentiles, the run's duration.
pub(crate) fn parse(text: &str) -> Result<Output, String> {
    let report =
        Report::from_json(text).map_err(|error| format!("ttk wrote no report: {error}"))?;
    let mut output = Output {
        seconds: report.run.duration_s,
        ..Output::default()
    };
    let mut latencies = Histogram::new();
    for transaction in &report.transactions {
        match transaction.name.as_str() {
            REQUEST => {
                output.ok += transaction.ok;
                output.errors += transaction.failed;
                latencies.merge(&transaction.histogram);
            }
            CONNECT => output.errors += transaction.failed,
            _ => {}
        }
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
    use super::*;

    // Real reports of `ttk http URL -c 10 -d 1s --workers 1 -q --json PATH` against this task's
    // nginx (its summary printed p50 190us, p99 20.0ms for the first).

    #[test]
    fn reads_the_request_transaction() {
        let output = parse(include_str!("samples/ttk-10.json")).unwrap();
        assert_eq!((output.ok, output.errors), (6_758, 0));
        assert_eq!(output.seconds, 1.002448674);
        assert_eq!(output.p50_us, Some(190.0));
        assert!((19_950.0..=20_050.0).contains(&output.p99_us.unwrap()));
    }

    #[test]
    fn failed_requests_are_errors() {
        let output = parse(include_str!("samples/ttk-404.json")).unwrap();
        assert_eq!((output.ok, output.errors), (0, 11_724));
        assert_eq!(output.p50_us, None);
    }

    #[test]
    fn another_document_is_refused() {
        assert!(parse(r#"{"schema": "something-else"}"#).is_err());
    }
}
