//! Locust's row: how it is started (headless, one process, every user spawned at once, the
//! locustfile `xtask/peers/locustfile.py` of `FastHttpUser`s) and how its JSON stats are read.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::output::Output;
use super::url::host_and_path;
use crate::cargo;

/// The environment variable that tells the locustfile which path to GET.
const PATH_VARIABLE: &str = "LOCUST_PEER_PATH";

/// The locustfile: users that GET one path with no wait time.
pub(crate) fn locustfile() -> PathBuf {
    cargo::workspace_root().join("xtask/peers/locustfile.py")
}

/// `locust` (from its virtual environment) against `url` with `users` for `seconds`, its final
/// stats written to `report` as JSON.
///
/// All users are spawned in the first second (spawn rate = users) and the stats are not reset
/// once they are: the counts cover the whole run, as the CPU time from `wait4` does.
pub(crate) fn command(
    binary: &Path,
    url: &str,
    users: u64,
    seconds: u64,
    report: &Path,
) -> Command {
    let (host, path) = host_and_path(url);
    let users = users.to_string();
    let mut command = Command::new(binary);
    command
        .arg("-f")
        .arg(locustfile())
        .args(["--headless", "--only-summary", "--users", &users])
        .args(["--spawn-rate", &users, "--run-time", &format!("{seconds}s")])
        .args(["--host", host, "--exit-code-on-error", "0"])
        // Locust appends `.json` to the name it is given.
        .arg("--json-file")
        .arg(report.with_extension(""))
        .env(PATH_VARIABLE, path);
    command
}

/// The figures in Locust's `--json-file`: a list of its stats entries (one per request name).
///
/// A request is a failure if its status is 400 or more or it got none (Locust's rule); the
/// rest are counted as 2xx (nginx serves nothing else here). The run's seconds are from the
/// first request to the last (each entry's `start_time` and `last_request_timestamp`, what
/// Locust's own requests/s divides by). The percentiles are Locust's: over its histogram of
/// response times in milliseconds, rounded to 2 significant digits above 100 ms.
pub(crate) fn parse(text: &str) -> Result<Output, String> {
    let json: serde_json::Value = serde_json::from_str(text)
        .map_err(|error| format!("Locust's report is no JSON: {error}"))?;
    let entries = json
        .as_array()
        .ok_or("Locust's report is not a list of stats entries")?;
    let mut requests = 0;
    let mut failures = 0;
    let mut start = f64::INFINITY;
    let mut end = f64::NEG_INFINITY;
    let mut times: Vec<(f64, u64)> = Vec::new();
    for entry in entries {
        let count = |key: &str| {
            entry
                .get(key)
                .and_then(serde_json::Value::as_u64)
                .ok_or_else(|| format!("Locust's stats entry has no count {key}"))
        };
        let time = |key: &str| {
            entry
                .get(key)
                .and_then(serde_json::Value::as_f64)
                .ok_or_else(|| format!("Locust's stats entry has no time {key}"))
        };
        requests += count("num_requests")?;
        failures += count("num_failures")?;
        if count("num_requests")? > 0 {
            start = start.min(time("start_time")?);
            end = end.max(time("last_request_timestamp")?);
        }
        let histogram = entry
            .get("response_times")
            .and_then(serde_json::Value::as_object)
            .ok_or("Locust's stats entry has no response_times")?;
        for (millis, count) in histogram {
            let millis: f64 = millis
                .parse()
                .map_err(|_| format!("Locust's response time {millis:?} is no number"))?;
            let count = count
                .as_u64()
                .ok_or_else(|| format!("Locust's count of {millis} ms is no count"))?;
            times.push((millis, count));
        }
    }
    let ok = requests
        .checked_sub(failures)
        .ok_or("Locust counted more failures than requests")?;
    let mut output = Output {
        ok,
        errors: failures,
        seconds: if end > start { end - start } else { 0.0 },
        ..Output::default()
    };
    if ok > 0 {
        output.p50_us = percentile(&mut times, 0.50).map(|millis| millis * 1000.0);
        output.p99_us = percentile(&mut times, 0.99).map(|millis| millis * 1000.0);
    }
    Ok(output)
}

/// The response time that `share` of the requests took at most, as Locust computes it: from
/// the slowest down, the first time at which no more than `share` of the requests remain.
fn percentile(times: &mut [(f64, u64)], share: f64) -> Option<f64> {
    let total: u64 = times.iter().map(|(_, count)| count).sum();
    if total == 0 {
        return None;
    }
    times.sort_by(|a, b| b.0.total_cmp(&a.0));
    let within = (total as f64 * share) as u64;
    let mut counted = 0;
    for &(millis, count) in times.iter() {
        counted += count;
        if total - counted <= within {
            return Some(millis);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    // Real `--json-file` reports of Locust 2.47.0 (the command line above, one process pinned
    // to core 0) against an nginx on loopback pinned to core 1; the percentiles checked against
    // Locust's own `calculate_response_time_percentile` on the same files.

    #[test]
    fn reads_a_run_of_100_users() {
        let output = parse(include_str!("samples/locust-100.json")).unwrap();
        assert_eq!((output.ok, output.errors), (22_665, 0));
        // From the first request to the last, not the 3 s of --run-time.
        assert_eq!(output.seconds, 2.8394317626953125);
        // Locust's p90 is 11 ms and its slowest 40 ms.
        assert_eq!(output.p50_us, Some(8_000.0));
        assert_eq!(output.p99_us, Some(26_000.0));
    }

    #[test]
    fn reads_a_run_of_1000_users() {
        let output = parse(include_str!("samples/locust-1000.json")).unwrap();
        assert_eq!((output.ok, output.errors), (17_009, 0));
        assert_eq!(output.seconds, 2.775069236755371);
        // Above 1 s Locust keeps 2 significant digits: 1,600 ms (its p100 is 2,800).
        assert_eq!(output.p50_us, Some(52_000.0));
        assert_eq!(output.p99_us, Some(1_600_000.0));
    }

    #[test]
    fn failures_are_errors_not_responses() {
        let output = parse(include_str!("samples/locust-404.json")).unwrap();
        assert_eq!((output.ok, output.errors), (0, 3_786));
        assert_eq!((output.p50_us, output.rate()), (None, 0.0));
    }

    #[test]
    fn entries_are_added_and_their_histograms_merged() {
        let entry = |requests: u64, failures: u64, start: f64, end: f64, times: &str| {
            format!(
                r#"{{"name": "/", "method": "GET", "num_requests": {requests},
                "num_failures": {failures}, "start_time": {start},
                "last_request_timestamp": {end}, "response_times": {times}}}"#
            )
        };
        let text = format!(
            "[{}, {}]",
            entry(60, 10, 100.0, 102.0, r#"{"1": 50, "3": 10}"#),
            entry(40, 0, 101.0, 103.5, r#"{"2": 40}"#)
        );
        let output = parse(&text).unwrap();
        assert_eq!((output.ok, output.errors, output.seconds), (90, 10, 3.5));
        // 50 at 1 ms, 40 at 2 ms, 10 at 3 ms: from the top, 50 requests took 2 ms or more, so
        // Locust's p50 is 2 ms.
        assert_eq!(
            (output.p50_us, output.p99_us),
            (Some(2_000.0), Some(3_000.0))
        );
    }

    #[test]
    fn a_report_that_is_not_locusts_is_refused() {
        assert!(parse("{}").is_err());
        assert!(parse(r#"[{"num_requests": 3}]"#).is_err());
        assert!(parse("Type Name # reqs").is_err());
    }
}
