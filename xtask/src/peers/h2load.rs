//! Reading h2load (nghttp2): its summary (`finished in 5.00s, … req/s`, `requests: N total, …
//! N succeeded, N failed, N errored, N timeout`) and its `--log-file` of one line per request
//! (start time, status, microseconds to the end of the response), whose latencies give the
//! percentiles h2load does not print.

use super::output::{Output, number};

/// The figures of an h2load run: `stdout` its output, `log` its `--log-file`.
pub(crate) fn parse(stdout: &str, log: &str) -> Result<Output, String> {
    let finished = stdout
        .lines()
        .find_map(|line| line.trim().strip_prefix("finished in "))
        .ok_or("h2load printed no `finished in` line")?;
    let seconds = finished
        .split(',')
        .next()
        .and_then(|text| text.trim().strip_suffix('s'))
        .ok_or_else(|| format!("h2load: no duration in {finished:?}"))?;
    let requests = stdout
        .lines()
        .find_map(|line| line.trim().strip_prefix("requests: "))
        .ok_or("h2load printed no `requests:` line")?;
    let count = |what: &str| -> Result<u64, String> {
        let field = requests
            .split(',')
            .find(|field| field.trim().ends_with(what))
            .ok_or_else(|| format!("h2load: no `{what}` in {requests:?}"))?;
        number(field.trim().trim_end_matches(what), what)
    };
    let mut latencies: Vec<u64> = Vec::new();
    for line in log.lines().filter(|line| !line.trim().is_empty()) {
        let mut fields = line.split('\t');
        let (Some(_start), Some(status), Some(micros)) =
            (fields.next(), fields.next(), fields.next())
        else {
            return Err(format!("h2load's log: not `start status micros`: {line:?}"));
        };
        // A status of -1 is a failed request: no latency.
        if status.trim().starts_with('2') {
            latencies.push(number(micros, "h2load's log latency")?);
        }
    }
    latencies.sort_unstable();
    let quantile = |q: f64| -> Option<f64> {
        let last = latencies.len().checked_sub(1)?;
        Some(latencies[((last as f64) * q).round() as usize] as f64)
    };
    Ok(Output {
        ok: count("succeeded")?,
        errors: count("failed")? + count("errored")? + count("timeout")?,
        seconds: number(seconds, "h2load's duration")?,
        p50_us: quantile(0.5),
        p99_us: quantile(0.99),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// h2load 1.52's output, as Debian bookworm's nghttp2-client prints it.
    const OUTPUT: &str = "starting benchmark...
spawning thread #0: 10 total client(s). 5 timing-based test with 0s of warm-up time and 0s of main duration for measurements.
Warm-up started for thread #0.
progress: 10% of clients started

finished in 5.00s, 109707.20 req/s, 8.37MB/s
requests: 548536 total, 549536 started, 548536 done, 548536 succeeded, 0 failed, 0 errored, 0 timeout
status codes: 548536 2xx, 0 3xx, 0 4xx, 0 5xx
traffic: 41.86MB (43894420) total, 1.05MB (1097072) headers (space savings 95.45%), 6.80MB (7131000) data
";

    #[test]
    fn reads_the_summary_and_the_log() {
        let log = "1733450000000000\t200\t900\n1733450000000100\t200\t100\n\
                   1733450000000200\t-1\t5\n1733450000000300\t200\t300\n";
        let output = parse(OUTPUT, log).unwrap();
        assert_eq!((output.ok, output.errors), (548_536, 0));
        assert_eq!(output.seconds, 5.0);
        assert_eq!(
            output.p50_us,
            Some(300.0),
            "failed requests have no latency"
        );
        assert_eq!(output.p99_us, Some(900.0));
    }

    #[test]
    fn output_without_a_summary_is_an_error() {
        assert!(parse("", "").unwrap_err().contains("finished in"));
        assert!(
            parse(OUTPUT, "garbage")
                .unwrap_err()
                .contains("not `start status micros`")
        );
    }
}
