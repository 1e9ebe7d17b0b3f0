//! Reading the JSON `oha -c N -z T --no-tui --json URL` prints (the fields of oha's published
//! `schema.json`; oha is not installed here, so no real output of it has been read yet).

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

    /// Not a real run: oha is not installed on the machine this was written on. The fields are
    /// those oha's `schema.json` requires (the ones read here, and a few others), with made-up
    /// values; replace it with a real `oha --json` output when oha is at hand.
    const SCHEMA_SHAPED: &str = r#"{
        "summary": {"successRate": 1.0, "total": 3.0021, "slowest": 0.02, "fastest": 0.0001,
                    "average": 0.0015, "requestsPerSec": 30000.5, "totalData": 1170000,
                    "sizePerRequest": 13, "sizePerSec": 389740.2},
        "responseTimeHistogram": {"0.0001": 10, "0.02": 89990},
        "latencyPercentiles": {"p10": 0.0005, "p25": 0.0008, "p50": 0.0012, "p75": 0.0017,
                               "p90": 0.0025, "p95": 0.003, "p99": 0.0061, "p99.9": 0.012,
                               "p99.99": 0.019},
        "rps": {"mean": 30000.0, "stddev": 10.0, "max": 30100.0, "percentiles": {}},
        "details": {"DNSDialup": {"average": 0.0001, "fastest": 0.0, "slowest": 0.001},
                    "DNSLookup": {"average": 0.0, "fastest": 0.0, "slowest": 0.0}},
        "statusCodeDistribution": {"200": 90000, "404": 3},
        "errorDistribution": {"aborted due to deadline": 100, "connection reset": 2}
    }"#;

    #[test]
    fn reads_the_schema_fields() {
        let output = parse(SCHEMA_SHAPED).unwrap();
        assert_eq!((output.ok, output.errors), (90_000, 5));
        assert_eq!(output.seconds, 3.0021);
        assert_eq!(output.p50_us, Some(1_200.0));
        assert_eq!(output.p99_us, Some(6_100.0));
    }

    #[test]
    fn text_output_is_refused() {
        assert!(parse("Summary:\n  Success rate:\t100.00%\n").is_err());
    }
}
