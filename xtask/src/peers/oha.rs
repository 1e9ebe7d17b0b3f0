//! Reading the JSON `oha -c N -z T --no-tui --output-format json URL` prints (oha 1.16: its
//! `summary.total` seconds, `statusCodeDistribution`, `errorDistribution` and
//! `latencyPercentiles` in seconds, over every request that got a response).

use super::output::Output;

/// The error oha records for each request still in flight when `-z` runs out: the client cut
/// it short, the server did not fail it (wrk and hey drop those silently).
const DEADLINE: &str = "aborted due to deadline";

/// The figures in oha's JSON.
pub(crate) fn parse(text: &str) -> Result<Output, String> {
    let json: serde_json::Value =
        serde_json::from_str(text).map_err(|error| format!("oha printed no JSON: {error}"))?;
    let seconds = json
        .pointer("/summary/total")
        .and_then(serde_json::Value::as_f64)
        .ok_or("oha's JSON has no summary.total")?;
    let counts = |key: &str| -> Result<Vec<(String, u64)>, String> {
        let map = json
            .get(key)
            .and_then(serde_json::Value::as_object)
            .ok_or_else(|| format!("oha's JSON has no {key}"))?;
        map.iter()
            .map(|(name, count)| {
                let count = count
                    .as_u64()
                    .ok_or_else(|| format!("oha's {key}: {name} is no count"))?;
                Ok((name.clone(), count))
            })
            .collect()
    };
    let mut output = Output {
        seconds,
        ..Output::default()
    };
    for (status, count) in counts("statusCodeDistribution")? {
        if status.starts_with('2') {
            output.ok += count;
        } else {
            output.errors += count;
        }
    }
    for (message, count) in counts("errorDistribution")? {
        if message != DEADLINE {
            output.errors += count;
        }
    }
    // Percentiles are in seconds; oha writes null for them when nothing was measured.
    let micros = |key: &str| {
        json.pointer(&format!("/latencyPercentiles/{key}"))
            .and_then(serde_json::Value::as_f64)
            .map(|seconds| (seconds * 1e6).round())
    };
    if output.ok > 0 {
        output.p50_us = micros("p50");
        output.p99_us = micros("p99");
    }
    Ok(output)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Real output of oha 1.16.0 (`-c N -z 3s --no-tui --output-format json`, one tokio worker
    // thread, pinned to core 0) against an nginx on loopback pinned to core 1.

    #[test]
    fn reads_a_run_at_100_connections() {
        let output = parse(include_str!("samples/oha-100.json")).unwrap();
        // The 69 requests cut short by the deadline are not errors.
        assert_eq!((output.ok, output.errors), (27_506, 0));
        assert_eq!(output.seconds, 3.005022326);
        // Not p10 (724 us) nor p90 (25.7 ms): the p50 and p99.
        assert_eq!(output.p50_us, Some(8_128.0));
        assert_eq!(output.p99_us, Some(36_391.0));
    }

    #[test]
    fn reads_a_run_at_1000_connections() {
        let output = parse(include_str!("samples/oha-1000.json")).unwrap();
        assert_eq!((output.ok, output.errors), (31_792, 0));
        assert_eq!(output.seconds, 3.094867744);
        assert_eq!(output.p50_us, Some(88_558.0));
        // p99.9 is 219.3 ms.
        assert_eq!(output.p99_us, Some(200_665.0));
    }

    #[test]
    fn responses_that_are_not_2xx_are_errors() {
        let output = parse(include_str!("samples/oha-404.json")).unwrap();
        assert_eq!((output.ok, output.errors), (0, 20_241));
        assert_eq!((output.p50_us, output.rate()), (None, 0.0));
    }

    #[test]
    fn failed_connections_are_errors_and_measure_no_latency() {
        let output = parse(include_str!("samples/oha-refused.json")).unwrap();
        assert_eq!((output.ok, output.errors), (0, 119_680));
        assert_eq!(output.p99_us, None);
    }

    #[test]
    fn text_output_is_refused() {
        assert!(parse("Summary:\n  Success rate:\t100.00%\n").is_err());
    }
}
