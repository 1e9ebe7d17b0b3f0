//! The load flags `ttk http`, `ttk tcp` and `ttk udp` share, and the harness run they make.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use ttk::cli::{LoadTest, Rate, RunOutcome, parse_duration};

use crate::limits::check_open_files;

/// How much load, for how long, and where the reports go.
#[derive(Args, Clone, Debug)]
#[command(next_help_heading = "Load")]
pub(crate) struct LoadFlags {
    /// Connections (each a bot with one connection) [wrk -c, oha -c, hey -c]
    #[arg(short = 'c', long, default_value_t = 50, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) connections: u32,

    /// How long to send [wrk -d, oha -z, hey -z]; with --rate stages, their length; else 10s
    #[arg(short = 'd', long, value_name = "TIME", value_parser = parse_duration)]
    pub(crate) duration: Option<Duration>,

    /// Requests per second over all connections, on one schedule, each timed from when it was
    /// due (no coordinated omission): a connection still waiting for a reply sends its next
    /// request late, and the wait counts [wrk2 -R, oha -q]: `2000`, `2000/s`, `120000/m`, or
    /// stages `100/s:10s,1000/s:20s`
    #[arg(long, value_name = "RATE", value_parser = parse_rate)]
    pub(crate) rate: Option<Rate>,

    /// Give up on a request (or a connect) after this long; it counts as failed [oha -t, hey -t]
    #[arg(long, value_name = "TIME", value_parser = parse_duration)]
    pub(crate) timeout: Option<Duration>,

    /// Loops (threads) the connections are spread over [wrk -t]; default: one per core
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) workers: Option<u32>,

    /// Write the JSON report here
    #[arg(long, value_name = "PATH", help_heading = "Report")]
    pub(crate) json: Option<PathBuf>,

    /// Write the HTML report here (one file, works offline)
    #[arg(long, value_name = "PATH", help_heading = "Report")]
    pub(crate) html: Option<PathBuf>,

    /// Fail (exit 1) unless this holds, e.g. 'p99(request) < 10ms', 'failures < 1%',
    /// 'rate(request) > 5000'. Repeatable
    #[arg(long = "threshold", value_name = "EXPR", help_heading = "Report")]
    pub(crate) thresholds: Vec<String>,

    /// No live progress
    #[arg(short, long, help_heading = "Report")]
    pub(crate) quiet: bool,
}

impl LoadFlags {
    /// How long the load lasts: `-d`, else the rate's stages, else 10 s.
    pub(crate) fn load_duration(&self) -> Duration {
        self.duration
            .or_else(|| self.rate.as_ref().and_then(Rate::total_duration))
            .unwrap_or(Duration::from_secs(10))
    }

    /// The harness run these flags describe, named `name` (`ttk http`): a closed set of
    /// `--connections` bots for the load's duration. `Err` is the exit code, the message
    /// printed (a threshold that does not parse, more sockets than the open-file limit).
    pub(crate) fn load_test(&self, name: &str, sockets_per_bot: u64) -> Result<LoadTest, u8> {
        check_open_files(u64::from(self.connections) * sockets_per_bot)?;
        let mut args: Vec<String> = vec![
            name.to_owned(),
            "--bots".into(),
            self.connections.to_string(),
            "--duration".into(),
            humantime::format_duration(self.load_duration()).to_string(),
        ];
        if let Some(workers) = self.workers {
            args.extend(["--workers".into(), workers.to_string()]);
        }
        for threshold in &self.thresholds {
            args.extend(["--threshold".into(), threshold.clone()]);
        }
        if self.quiet {
            args.push("--quiet".into());
        }
        let mut test = LoadTest::try_from_args(name, args).map_err(|error| {
            let _ = error.print();
            2
        })?;
        let harness = test.args_mut();
        harness.json.clone_from(&self.json);
        harness.html.clone_from(&self.html);
        Ok(test)
    }
}

/// The exit code of a finished run: the harness's, except that a run in which no request
/// succeeded (a wrong address, a server down, every reply refused) fails with 1 although it
/// had no threshold to fail: load that never reached the server measured nothing.
pub(crate) fn finish(outcome: RunOutcome) -> u8 {
    let succeeded = outcome
        .report
        .transaction("request")
        .is_some_and(|request| request.ok > 0);
    if outcome.code == 0 && !succeeded {
        eprintln!("error: no request succeeded (the errors are listed above)");
        return 1;
    }
    outcome.code
}

/// A rate: a bare number is per second.
fn parse_rate(text: &str) -> Result<Rate, String> {
    let text = text.trim();
    match text.parse::<f64>() {
        Ok(_) => format!("{text}/s").parse(),
        Err(_) => text.parse(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_rate_is_per_second() {
        let rate = parse_rate("200").unwrap();
        assert_eq!(rate.as_str(), "200/s");
        assert_eq!(rate.arrival_offset(100), Some(Duration::from_millis(500)));
        assert!(parse_rate("fast").is_err());
    }

    #[test]
    fn durations_read_as_the_harness_reads_them() {
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert!(
            parse_duration("soon")
                .unwrap_err()
                .to_string()
                .contains("not a duration")
        );
    }
}
