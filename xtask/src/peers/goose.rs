//! Goose's row: the client `benches/goose-peer` (one scenario, one transaction GETting the
//! bench's path, one tokio worker thread), how it is started (every user launched in the
//! first instant, metrics never reset) and how its JSON report is read.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use super::output::Output;
use super::url::host_and_path;

/// The environment variable that tells `goose-peer` which path to GET.
const PATH_VARIABLE: &str = "GOOSE_PEER_PATH";

/// `goose-peer` against `url` with `users` for `seconds`, its report written to `report` (a
/// `.json` name: Goose picks the format by the extension).
///
/// The test plan `users,0s;users,{seconds}s;0,0s` launches every user at once, keeps them for
/// `seconds` and stops them at once (`--increase-rate users` would take a second to launch
/// them). Goose does not reset its metrics under a test plan: they cover the whole run, as
/// the CPU time from `wait4` does. Its telnet controller is off (it would listen on a fixed
/// port, and nothing drives it).
pub(crate) fn command(
    binary: &Path,
    url: &str,
    users: u64,
    seconds: u64,
    report: &Path,
) -> Command {
    let (host, path) = host_and_path(url);
    let plan = format!("{users},0s;{users},{seconds}s;0,0s");
    let mut command = Command::new(binary);
    command
        .args(["--host", host, "--test-plan", &plan, "--no-telnet"])
        .arg("--report-file")
        .arg(report)
        .env(PATH_VARIABLE, path);
    command
}

/// The figures in Goose's JSON report.
///
/// The counts are its `Aggregated` request metrics (Goose counts a response that is not 2xx,
/// or none, as a failure); the seconds run from its first step (`Increasing`) to its last
/// (`Finished`) in `raw_metrics.history`. The percentiles are taken as Goose takes its own,
/// but from its histogram in microseconds (`times_us` of each request) rather than its
/// whole milliseconds, which read 0 for a sub-millisecond median.
pub(crate) fn parse(text: &str) -> Result<Output, String> {
    let json: serde_json::Value = serde_json::from_str(text)
        .map_err(|error| format!("Goose's report is no JSON: {error}"))?;
    let aggregated = json
        .get("raw_request_metrics")
        .and_then(serde_json::Value::as_array)
        .and_then(|rows| rows.iter().find(|row| row["name"] == "Aggregated"))
        .ok_or("Goose's report has no Aggregated request metrics")?;
    let count = |key: &str| {
        aggregated[key]
            .as_u64()
            .ok_or_else(|| format!("Goose's Aggregated request metrics have no {key}"))
    };
    let (requests, failures) = (count("number_of_requests")?, count("number_of_failures")?);
    let ok = requests
        .checked_sub(failures)
        .ok_or("Goose counted more failures than requests")?;
    let history = json
        .pointer("/raw_metrics/history")
        .and_then(serde_json::Value::as_array)
        .ok_or("Goose's report has no raw_metrics.history")?;
    let time = |step: Option<&serde_json::Value>| {
        let text = step
            .and_then(|step| step["timestamp"].as_str())
            .ok_or("Goose's history has a step with no timestamp")?;
        utc_seconds(text).ok_or_else(|| format!("Goose's timestamp {text:?} is not UTC RFC 3339"))
    };
    let (start, end) = (time(history.first())?, time(history.last())?);
    let mut output = Output {
        ok,
        errors: failures,
        seconds: (end.0 - start.0) as f64 + (end.1 - start.1) as f64 / 1e9,
        ..Output::default()
    };
    if ok > 0 {
        let times = histogram(&json)?;
        output.p50_us = percentile(&times, 0.50);
        output.p99_us = percentile(&times, 0.99);
    }
    Ok(output)
}

/// Every request's `times_us` added together: microseconds to their count.
fn histogram(json: &serde_json::Value) -> Result<BTreeMap<u64, u64>, String> {
    let requests = json
        .pointer("/raw_metrics/requests")
        .and_then(serde_json::Value::as_object)
        .ok_or("Goose's report has no raw_metrics.requests")?;
    let mut times = BTreeMap::new();
    for (name, request) in requests {
        let buckets = request
            .pointer("/raw_data/times_us")
            .and_then(serde_json::Value::as_object)
            .ok_or_else(|| format!("Goose's request {name} has no raw_data.times_us"))?;
        for (micros, count) in buckets {
            let micros: u64 = micros
                .parse()
                .map_err(|_| format!("Goose's time {micros:?} is no number of microseconds"))?;
            let count = count
                .as_u64()
                .ok_or_else(|| format!("Goose's count at {micros} us is no count"))?;
            *times.entry(micros).or_insert(0) += count;
        }
    }
    Ok(times)
}

/// Goose's percentile: the first time at which the requests counted from the fastest reach
/// `share` of them (rounded).
fn percentile(times: &BTreeMap<u64, u64>, share: f64) -> Option<f64> {
    let total: u64 = times.values().sum();
    let wanted = (total as f64 * share).round() as u64;
    let mut counted = 0;
    for (&micros, &count) in times {
        counted += count;
        if counted >= wanted {
            return Some(micros as f64);
        }
    }
    None
}

/// `2026-12-05T22:45:07.440977572Z` as whole seconds since 1970 and nanoseconds.
fn utc_seconds(text: &str) -> Option<(i64, i64)> {
    let text = text.strip_suffix('Z')?;
    let (date, time) = text.split_once('T')?;
    let mut date = date.splitn(3, '-').map(str::parse::<i64>);
    let (year, month, day) = (date.next()?.ok()?, date.next()?.ok()?, date.next()?.ok()?);
    let (clock, fraction) = time.split_once('.').unwrap_or((time, "0"));
    let mut clock = clock.splitn(3, ':').map(str::parse::<i64>);
    let (hour, minute, second) = (
        clock.next()?.ok()?,
        clock.next()?.ok()?,
        clock.next()?.ok()?,
    );
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || fraction.len() > 9 {
        return None;
    }
    let nanos: i64 = format!("{fraction:0<9}").parse().ok()?;
    // Days from 1970-01-01 to the date, in the proleptic Gregorian calendar (years from March,
    // so that the leap day is the last of its year).
    let (y, m) = if month <= 2 {
        (year - 1, month + 9)
    } else {
        (year, month - 3)
    };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let day_of_year = (153 * m + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = era * 146_097 + day_of_era - 719_468;
    Some((days * 86_400 + hour * 3_600 + minute * 60 + second, nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Real reports of Goose 0.19.0 (`goose-peer` with the command line above, pinned to core
    // 0) against an nginx on loopback pinned to core 1.

    #[test]
    fn reads_a_run_of_100_users() {
        let output = parse(include_str!("samples/goose-100.json")).unwrap();
        assert_eq!((output.ok, output.errors), (61_596, 0));
        // 22:45:07.440977572 (Increasing) to 22:45:10.476717746 (Finished).
        assert!(
            (output.seconds - 3.035_740_174).abs() < 1e-9,
            "{}",
            output.seconds
        );
        // Goose's own percentiles, in whole milliseconds, are 4 and 19 (its p95 is 10).
        assert_eq!(output.p50_us, Some(4_000.0));
        assert_eq!(output.p99_us, Some(18_944.0));
    }

    #[test]
    fn responses_that_are_not_2xx_are_errors() {
        let output = parse(include_str!("samples/goose-404.json")).unwrap();
        assert_eq!((output.ok, output.errors), (0, 18_060));
        assert_eq!((output.p50_us, output.rate()), (None, 0.0));
    }

    #[test]
    fn utc_timestamps_count_from_1970() {
        assert_eq!(utc_seconds("1970-01-01T00:00:00Z"), Some((0, 0)));
        assert_eq!(
            utc_seconds("2000-03-01T00:00:01.5Z"),
            Some((951_868_801, 500_000_000))
        );
        assert_eq!(
            utc_seconds("2026-12-05T22:45:07.440977572Z"),
            Some((1_796_510_707, 440_977_572))
        );
        assert_eq!(utc_seconds("2026-12-05 22:45:07Z"), None);
        assert_eq!(utc_seconds("2026-13-05T22:45:07Z"), None);
    }

    #[test]
    fn a_report_that_is_not_gooses_is_refused() {
        assert!(parse("{}").is_err());
        assert!(parse(r#"{"raw_request_metrics": [{"name": "Aggregated"}]}"#).is_err());
        assert!(parse(" === PER REQUEST METRICS ===").is_err());
    }
}
