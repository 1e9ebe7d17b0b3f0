//! Reading what `wrk -t1 -cN -dT --latency URL` prints (wrk 4.1, Debian's).

use super::output::{Output, number};

/// The figures in wrk's report.
pub(crate) fn parse(text: &str) -> Result<Output, String> {
    let mut output = Output::default();
    let mut requests = None;
    let mut rate = None;
    for line in text.lines().map(str::trim) {
        // `191000 requests in 3.04s, 29.33MB read`
        if let Some((count, rest)) = line.split_once(" requests in ") {
            requests = Some(number::<u64>(count, "wrk's request count")?);
            let elapsed = rest.split(',').next().unwrap_or_default();
            output.seconds = duration_us(elapsed)? / 1e6;
        } else if let Some(value) = line.strip_prefix("Requests/sec:") {
            rate = Some(number::<f64>(value, "wrk's Requests/sec")?);
        } else if let Some(value) = line.strip_prefix("50%") {
            output.p50_us = Some(duration_us(value)?);
        } else if let Some(value) = line.strip_prefix("99%") {
            output.p99_us = Some(duration_us(value)?);
        } else if let Some(value) = line.strip_prefix("Non-2xx or 3xx responses:") {
            output.errors += number::<u64>(value, "wrk's non-2xx count")?;
        } else if let Some(counts) = line.strip_prefix("Socket errors:") {
            // `Socket errors: connect 0, read 15800, write 0, timeout 0`
            for part in counts.split(',') {
                let count = part.split_whitespace().last().unwrap_or_default();
                output.errors += number::<u64>(count, "wrk's socket error count")?;
            }
        }
    }
    let requests = requests.ok_or("wrk printed no request count")?;
    let rate = rate.ok_or("wrk printed no Requests/sec")?;
    // The elapsed time is printed rounded (`3.04s`); the rate is requests over the exact time.
    if rate > 0.0 {
        output.seconds = requests as f64 / rate;
    }
    // wrk counts non-2xx responses (its "Non-2xx or 3xx", 3xx included) among its requests.
    output.ok = requests.saturating_sub(output.errors.min(requests));
    if output.ok == 0 {
        output.p50_us = None;
        output.p99_us = None;
    }
    Ok(output)
}

/// A duration as wrk prints it (`721.00us`, `8.86ms`, `1.20s`, `2.00m`), in whole microseconds
/// (wrk records latencies in whole microseconds).
fn duration_us(text: &str) -> Result<f64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| c.is_ascii_alphabetic())
        .ok_or_else(|| format!("wrk duration without a unit: {text:?}"))?;
    let value: f64 = number(&text[..split], "wrk duration")?;
    let scale = match &text[split..] {
        "us" => 1.0,
        "ms" => 1e3,
        "s" => 1e6,
        "m" => 60e6,
        "h" => 3600e6,
        unit => return Err(format!("wrk duration with unknown unit {unit:?}: {text:?}")),
    };
    Ok((value * scale).round())
}

#[cfg(test)]
mod tests {
    use super::*;

    // Real output of wrk 4.1.0 (Debian) against this task's nginx, pinned as it runs it.

    #[test]
    fn reads_a_run_at_100_connections() {
        let output = parse(include_str!("samples/wrk-100.txt")).unwrap();
        assert_eq!(output.ok, 191_000);
        assert_eq!(output.errors, 0);
        assert!((output.seconds - 191_000.0 / 62_895.88).abs() < 1e-9);
        assert_eq!(output.p50_us, Some(721.0));
        assert_eq!(output.p99_us, Some(15_630.0));
    }

    #[test]
    fn reads_a_run_at_1000_connections() {
        let output = parse(include_str!("samples/wrk-1000.txt")).unwrap();
        assert_eq!(output.ok, 192_348);
        assert_eq!(output.p50_us, Some(8_860.0));
        assert_eq!(output.p99_us, Some(20_370.0));
    }

    #[test]
    fn reads_a_run_over_https() {
        // Against the same nginx serving TLS 1.3.
        let output = parse(include_str!("samples/wrk-https-100.txt")).unwrap();
        assert_eq!((output.ok, output.errors), (392_768, 0));
        assert!((output.seconds - 392_768.0 / 130_861.99).abs() < 1e-9);
        assert_eq!(output.p50_us, Some(694.0));
        assert_eq!(output.p99_us, Some(1_000.0));
    }

    #[test]
    fn non_2xx_responses_are_errors() {
        let output = parse(include_str!("samples/wrk-404.txt")).unwrap();
        assert_eq!((output.ok, output.errors), (0, 62_052));
        assert_eq!(output.p50_us, None);
    }

    #[test]
    fn socket_errors_are_errors() {
        let output = parse(include_str!("samples/wrk-socket-errors.txt")).unwrap();
        assert_eq!((output.ok, output.errors), (0, 15_800));
        assert_eq!(output.rate(), 0.0);
    }

    #[test]
    fn a_refused_connection_is_no_report() {
        assert!(parse("unable to connect to 127.0.0.1:18499 Connection refused\n").is_err());
    }
}
