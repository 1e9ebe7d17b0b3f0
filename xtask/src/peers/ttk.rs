//! Reading the report `ttk http URL … --json PATH` writes (schema `ttk-report/3`, see
//! `docs/report-schema.md`), through the `ttk-report` crate that defines it.

use ttk_report::{Histogram, Report};

use super::output::Output;

/// The transaction `ttk http` times each request as (the other is `connect`).
const REQUEST: &str = "request";
/// The transaction `ttk http` times each connect as.
const CONNECT: &str = "connect";
/// The transaction `ttk http` times each TLS handshake as (https:// only).
const TLS: &str = "tls";
/// The counter of handshakes that resumed a session.
const RESUMED: &str = "tls resumed handshakes";
/// The counter of full handshakes.
const FULL: &str = "tls full handshakes";

/// The figures in a ttk report's text: the `request` transaction's successes and failures
/// (failed connects and handshakes count as errors too), its percentiles, the run's duration.
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
            CONNECT | TLS => output.errors += transaction.failed,
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

/// The TLS handshakes in a report of `ttk http https://…`.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Handshakes {
    /// Handshakes made (the `tls` transaction's successes).
    pub(crate) ok: u64,
    /// Failed connects, handshakes and requests.
    pub(crate) failed: u64,
    /// Handshakes ttk counted as full.
    pub(crate) full: u64,
    /// Handshakes ttk counted as resumed.
    pub(crate) resumed: u64,
    /// How long the run took, in seconds.
    pub(crate) seconds: f64,
}

/// The handshakes in a ttk report's text.
pub(crate) fn handshakes(text: &str) -> Result<Handshakes, String> {
    let report =
        Report::from_json(text).map_err(|error| format!("ttk wrote no report: {error}"))?;
    let mut handshakes = Handshakes {
        seconds: report.run.duration_s,
        full: report.counters.get(FULL).copied().unwrap_or(0),
        resumed: report.counters.get(RESUMED).copied().unwrap_or(0),
        ..Handshakes::default()
    };
    for transaction in &report.transactions {
        match transaction.name.as_str() {
            TLS => {
                handshakes.ok += transaction.ok;
                handshakes.failed += transaction.failed;
            }
            CONNECT | REQUEST => handshakes.failed += transaction.failed,
            _ => {}
        }
    }
    Ok(handshakes)
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
        assert!(handshakes(r#"{"schema": "something-else"}"#).is_err());
    }

    // Real reports of `ttk http https://127.0.0.1:PORT/… --cacert ca.pem -c 10 -d 1s --workers
    // 1 -q --json PATH` against this task's nginx serving TLS.

    #[test]
    fn reads_requests_over_https() {
        let output = parse(include_str!("samples/ttk-https-10.json")).unwrap();
        assert_eq!((output.ok, output.errors), (134_214, 0));
        let handshakes = handshakes(include_str!("samples/ttk-https-10.json")).unwrap();
        assert_eq!((handshakes.ok, handshakes.full), (10, 10));
    }

    #[test]
    fn counts_handshakes_full_and_resumed() {
        // `-H 'Connection: close'`: a handshake per request, each connection resuming its own
        // session after its first.
        let handshakes = handshakes(include_str!("samples/ttk-handshakes-resumed.json")).unwrap();
        assert_eq!(
            handshakes,
            Handshakes {
                ok: 486,
                failed: 0,
                full: 10,
                resumed: 476,
                seconds: 1.01597316,
            }
        );
    }

    #[test]
    fn failed_handshakes_are_failures() {
        // The same without --cacert: every handshake fails (TlsUnknownIssuer), none counted.
        let text = include_str!("samples/ttk-handshakes-unknown-issuer.json");
        let handshakes = handshakes(text).unwrap();
        assert_eq!((handshakes.ok, handshakes.failed), (0, 20));
        assert_eq!((handshakes.full, handshakes.resumed), (0, 0));
        assert_eq!(parse(text).unwrap().errors, 20);
    }
}
