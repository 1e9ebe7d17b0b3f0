//! The load flags `ttk http`, `ttk tcp` and `ttk udp` share, and the harness run they make.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use ttk::cli::{LoadTest, Rate, RunOutcome, ShardSpec, StartAt, parse_duration};

use crate::given::Given;
use crate::limits::{check_open_files, usable_open_files};
use crate::sources::{PER_LOOPBACK_SOURCE, Sources};

/// How much load, for how long, and where the reports go.
#[derive(Args, Clone, Debug)]
#[command(next_help_heading = "Load")]
pub(crate) struct LoadFlags {
    /// Connections (each a bot with one connection) [wrk -c, oha -c, hey -c]
    #[arg(short = 'c', long, default_value_t = 50, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) connections: u32,

    /// How long to send [wrk -d, oha -z, hey -z]; with --rate stages, their length; else 10s
    #[arg(short = 'd', long, value_name = "TIME", value_parser = parse_load_duration)]
    pub(crate) duration: Option<Given<Duration>>,

    /// Requests per second over all connections, on one schedule, each timed from when it was
    /// due (no coordinated omission): a connection still waiting for a reply sends its next
    /// request late, and the wait counts; those due but not sent by the end are counted as
    /// `requests due, never sent` [wrk2 -R, oha -q]: `2000`, `2000/s`, `120000/m`, or stages
    /// `100/s:10s,1000/s:20s`
    #[arg(long, value_name = "RATE", value_parser = parse_given_rate)]
    pub(crate) rate: Option<Given<Rate>>,

    /// Give up on a request (or a connect) after this long; it counts as failed [oha -t, hey -t]
    #[arg(long, value_name = "TIME", value_parser = parse_timeout)]
    pub(crate) timeout: Option<Duration>,

    /// When the duration is over, how long the requests in flight may take to finish; those
    /// still unanswered then are stopped (counted as stopped, not failed). Without --timeout,
    /// a server that never answers holds the run this long past its duration
    #[arg(long, value_name = "TIME", default_value = "10s", value_parser = parse_given_duration)]
    pub(crate) grace: Given<Duration>,

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

    /// Run as N processes of this command, each with its share of the connections (and of
    /// --rate), on its share of the cores: one live progress, one merged summary and report.
    /// The way past one process's open-file limit. A process that dies is named; the others'
    /// reports are merged (exit 3)
    #[arg(long, value_name = "N", conflicts_with = "shard", value_parser = clap::value_parser!(u32).range(1..=1024), help_heading = "Scale out")]
    pub(crate) processes: Option<u32>,

    /// Run shard I of N (from 0): its block of the -c connections and its share of --rate, so
    /// that N shards (on N machines) make the load asked for. Give every shard the same
    /// --run-id (or --start-at), then `ttk merge` their --json reports
    #[arg(long, value_name = "I/N", value_parser = parse_shard, help_heading = "Scale out")]
    pub(crate) shard: Option<ShardSpec>,

    /// The run's id, written in the report: shards of one run share it, and only reports of
    /// one run merge
    #[arg(long, value_name = "ID", help_heading = "Scale out")]
    pub(crate) run_id: Option<String>,

    /// Wait until this time to start (`2026-11-26T10:00:00Z`, or `@UNIX_SECONDS`), so that
    /// shards on several machines make load together
    #[arg(long, value_name = "TIME", value_parser = parse_start_at, help_heading = "Scale out")]
    pub(crate) start_at: Option<StartAt>,

    /// Source addresses the connections leave from, in turn (connection i from the i-th): a
    /// range `127.0.0.2-127.0.0.250`, a block `127.0.0.0/24`, or a list `10.0.0.5,10.0.0.6`,
    /// each an address of this machine. One source reaches one server port from at most
    /// 28,232 ports, and Linux slows every connect past about 14,000. Default: the system's
    /// choice; for a target on 127.0.0.0/8 with more than 10,000 connections, 127.0.0.1,
    /// 127.0.0.2, … (10,000 connections each) [Tsung ip, Gatling localAddresses]
    #[arg(long, value_name = "ADDRS", value_parser = parse_sources, help_heading = "Scale out")]
    pub(crate) local_ips: Option<Sources>,

    /// Emulate a network on every connection: a preset (lte, 3g, lossy-wifi,
    /// intercontinental), settings (`delay=80ms±20ms loss=2% rate=1mbit up=… down=…`, each
    /// direction; loss on TCP costs a 200 ms retransmission) or a mix over the connections
    /// (`lte:70%,3g:30%`) [tc netem, Chrome DevTools throttling]
    #[arg(long, value_name = "PROFILE", help_heading = "Load")]
    pub(crate) net: Option<String>,

    /// Seed of the run's random draws (--net's losses, delays and mix of profiles):
    /// the same seed, the same draws; recorded in the report
    #[arg(long, default_value_t = 0, value_name = "N", help_heading = "Load")]
    pub(crate) seed: u64,

    /// Serve a live dashboard of the run: the report's page, updated every second, with
    /// /status, /report.json and Prometheus' /metrics (`--dashboard` alone: a free port on
    /// 127.0.0.1, printed at the start; `--dashboard=0.0.0.0:8089` to be seen from elsewhere)
    #[arg(long, value_name = "ADDR", num_args = 0..=1, require_equals = true, default_missing_value = "127.0.0.1:0", help_heading = "Live")]
    pub(crate) dashboard: Option<String>,

    /// After the run, keep the dashboard and /metrics serving the final report this long (time
    /// to look, or for a last scrape); Ctrl-C stops it sooner
    #[arg(long, value_name = "TIME", value_parser = parse_given_duration, help_heading = "Live")]
    pub(crate) dashboard_linger: Option<Given<Duration>>,

    /// The token a change of the load from another machine must carry (`Authorization:
    /// Bearer TOKEN`); without it, the dashboard takes changes from this machine only
    #[arg(long, value_name = "TOKEN", help_heading = "Live")]
    pub(crate) dashboard_token: Option<String>,

    /// Push the run's metrics to this Prometheus remote-write URL every 5 s and at the end
    /// (`http://127.0.0.1:9090/api/v1/write`), for runs no Prometheus can scrape; https://
    /// checks the certificate (system roots or SSL_CERT_FILE), `https://user:password@…` sends
    /// basic auth, TTK_REMOTE_WRITE_TOKEN a bearer token
    #[arg(long, value_name = "URL", help_heading = "Live")]
    pub(crate) remote_write: Option<String>,

    /// Serve Prometheus' /metrics alone at ADDR (`127.0.0.1:9464`)
    #[arg(long, value_name = "ADDR", help_heading = "Live")]
    pub(crate) metrics: Option<String>,

    /// Set by --processes in its children when the parent's load may change: they follow
    /// what it writes on their standard input.
    #[arg(long, hide = true)]
    pub(crate) control_stdin: bool,

    /// Set by --processes in its children: each second's figures go to stdout as JSON lines.
    #[arg(long, hide = true)]
    pub(crate) progress_lines: bool,

    /// The command line as typed (secrets redacted), for the report: set after parsing.
    #[arg(skip)]
    pub(crate) command_line: Vec<String>,

    /// The command line as typed, secrets and all: what the children of --processes are
    /// started with. Set after parsing.
    #[arg(skip)]
    pub(crate) typed: Vec<String>,
}

impl LoadFlags {
    /// The connections this process opens: all of them, or its shard's block (at most, when
    /// they do not divide evenly), or, for the parent of --processes, a child's.
    pub(crate) fn connections_here(&self) -> u32 {
        let parts = self
            .processes
            .or(self.shard.map(|shard| shard.count))
            .unwrap_or(1);
        self.connections.div_ceil(parts)
    }

    /// Chooses the source addresses when `--local-ips` did not: for a target `host` on
    /// 127.0.0.0/8 with more connections than one source carries well, loopback addresses
    /// enough for them (said once, by the process the user started).
    pub(crate) fn choose_sources(&mut self, host: &str) {
        if self.local_ips.is_some() || self.connections <= PER_LOOPBACK_SOURCE {
            return;
        }
        // Only where all of 127.0.0.0/8 is the loopback's (Linux; macOS has 127.0.0.1 alone),
        // and for an IPv4 address given as such: a name may be served over IPv6 only.
        let loopback = cfg!(target_os = "linux")
            && host
                .parse::<std::net::Ipv4Addr>()
                .is_ok_and(|v4| v4.is_loopback());
        if !loopback {
            return;
        }
        let sources = Sources::loopback(self.connections.div_ceil(PER_LOOPBACK_SOURCE));
        if !self.quiet && !self.progress_lines && self.shard.is_none() {
            eprintln!(
                "{} connections to {host}: sent from {} (10,000 from each address: Linux \
                 slows every connect past about 14,000 from one); --local-ips chooses others",
                self.connections,
                sources.as_str()
            );
        }
        self.local_ips = Some(sources);
    }

    /// The source address connection `connection` leaves from, if `--local-ips` (or
    /// [`LoadFlags::choose_sources`]) says.
    pub(crate) fn source_for(&self, connection: usize) -> Option<std::net::SocketAddr> {
        self.local_ips
            .as_ref()
            .map(|sources| sources.for_connection(connection))
    }

    /// How long the load lasts: `-d`, else the rate's stages, else 10 s.
    pub(crate) fn load_duration(&self) -> Duration {
        self.duration
            .as_ref()
            .map(|duration| duration.value)
            .or_else(|| self.rate().and_then(Rate::total_duration))
            .unwrap_or(DEFAULT_DURATION)
    }

    /// Refuses stages of `--rate` that last no time at all (nothing would be sent), and a `-d`
    /// beside stages that say how long otherwise (one of the two would be ignored).
    fn duration_fits_the_stages(&self) -> Result<(), String> {
        let (Some(rate), Some(stages_last)) = (
            self.rate.as_ref(),
            self.rate().and_then(Rate::total_duration),
        ) else {
            return Ok(());
        };
        if stages_last.is_zero() {
            return Err(format!(
                "--rate {}: its stages last no time, so nothing would be sent; give each a length \
                 above 0 (`100/s:10s`)",
                rate.text
            ));
        }
        match &self.duration {
            Some(duration) if duration.value != stages_last => Err(format!(
                "-d {} and --rate {}, whose stages last {}: the stages say how long the load \
                 lasts; leave -d out, or leave the last stage without a length (`…,100/s`) to \
                 hold it until -d",
                duration.text,
                rate.text,
                humantime::format_duration(stages_last)
            )),
            _ => Ok(()),
        }
    }

    /// `--rate`, if given.
    pub(crate) fn rate(&self) -> Option<&Rate> {
        self.rate.as_ref().map(|rate| &rate.value)
    }

    /// The harness run these flags describe, named `name` (`ttk http`): a closed set of
    /// `--connections` bots for the load's duration, against `target`. The report records the
    /// command line as typed ([`LoadFlags::command_line`]) and the load as given. `Err` is the
    /// exit code, the message printed (a threshold that does not parse, more sockets than the
    /// open-file limit).
    pub(crate) fn load_test(
        &self,
        name: &str,
        target: &str,
        sockets_per_bot: u64,
    ) -> Result<LoadTest, u8> {
        if let Err(why) = self.duration_fits_the_stages() {
            eprintln!("error: {why}");
            return Err(2);
        }
        if let Some(parts) = self.processes.or(self.shard.map(|shard| shard.count))
            && parts > self.connections
        {
            eprintln!(
                "error: {} connections cut in {parts} processes or shards: each needs one at \
                 least; use more connections or fewer parts",
                self.connections
            );
            return Err(2);
        }
        check_open_files(
            u64::from(self.connections_here()) * sockets_per_bot,
            self.processes.or(self.shard.map(|shard| shard.count)),
        )?;
        let mut args: Vec<String> = vec![
            name.to_owned(),
            "--bots".into(),
            self.connections.to_string(),
            "--duration".into(),
            humantime::format_duration(self.load_duration()).to_string(),
            "--grace".into(),
            humantime::format_duration(self.grace.value).to_string(),
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
        if let Some(processes) = self.processes {
            args.extend(["--processes".into(), processes.to_string()]);
        }
        if let Some(shard) = self.shard {
            args.extend(["--shard".into(), shard.to_string()]);
        }
        if let Some(run_id) = &self.run_id {
            args.extend(["--run-id".into(), run_id.clone()]);
        }
        if let Some(start_at) = &self.start_at {
            args.extend(["--start-at".into(), start_at.as_str().to_owned()]);
        }
        if self.progress_lines {
            args.push("--progress-lines".into());
        }
        if self.control_stdin {
            args.push("--control-stdin".into());
        }
        if let Some(dashboard) = &self.dashboard {
            args.push(format!("--dashboard={dashboard}"));
        }
        if let Some(linger) = &self.dashboard_linger {
            args.extend(["--dashboard-linger".into(), linger.text.clone()]);
        }
        if let Some(metrics) = &self.metrics {
            args.extend(["--metrics".into(), metrics.clone()]);
        }
        if let Some(url) = &self.remote_write {
            args.extend(["--remote-write".into(), url.clone()]);
        }
        if let Some(net) = &self.net {
            args.extend(["--net".into(), net.clone()]);
        }
        args.extend(["--seed".into(), self.seed.to_string()]);
        if let Some(token) = &self.dashboard_token {
            args.extend(["--dashboard-token".into(), token.clone()]);
        }
        let mut test = LoadTest::try_from_args(name, args).map_err(|error| {
            let _ = error.print();
            2
        })?;
        let harness = test.args_mut();
        harness.json.clone_from(&self.json);
        harness.html.clone_from(&self.html);
        test.record_parameters(|recorded| {
            recorded.bots = Some(u64::from(self.connections));
            recorded.duration = match (&self.duration, self.rate()) {
                (Some(duration), _) => Some(duration.text.clone()),
                // The stages say how long.
                (None, Some(rate)) if rate.total_duration().is_some() => None,
                (None, _) => Some(humantime::format_duration(DEFAULT_DURATION).to_string()),
            };
            recorded.rate = self.rate.as_ref().map(|rate| rate.text.clone());
            recorded.local_ips = self
                .local_ips
                .as_ref()
                .map(|sources| sources.as_str().to_owned());
            recorded.target = Some(crate::redact::redact_url(target));
            recorded.command_line.clone_from(&self.command_line);
        });
        if !self.typed.is_empty() {
            test.set_command_line(self.typed.iter().cloned());
        }
        if self.rate.is_some() {
            test.refuse_control(
                "with --rate each connection owns its turns in one schedule: its connections \
                 cannot come and go",
            );
        }
        // As -c is checked against the open-file limit before the run, a count the dashboard
        // asks for is checked during it: the whole run's, over its --processes (a shard's is
        // its own).
        let processes = u64::from(self.processes.unwrap_or(1));
        let most = (usable_open_files() / sockets_per_bot.max(1)).saturating_mul(processes);
        test.limit_control_bots(
            usize::try_from(most).unwrap_or(usize::MAX),
            &format!(
                "each connection holds {sockets_per_bot} open file(s), and a process has {} \
                 for them under its open-file limit (`ulimit -n`): more connections need more \
                 --processes",
                usable_open_files()
            ),
        );
        Ok(test)
    }
}

/// How long the load lasts when neither `-d` nor the rate's stages say.
const DEFAULT_DURATION: Duration = Duration::from_secs(10);

/// The exit code of a finished run: the harness's, except that a run in which no request
/// succeeded (a wrong address, a server down, every reply refused) fails with 1 although it
/// had no threshold to fail: load that never reached the server measured nothing.
pub(crate) fn finish(outcome: RunOutcome) -> u8 {
    finish_named(outcome, "request")
}

/// [`finish`] for a run whose requests are timed as `transaction` (`call` for gRPC).
pub(crate) fn finish_named(outcome: RunOutcome, transaction: &str) -> u8 {
    let succeeded = outcome
        .report
        .transaction(transaction)
        .is_some_and(|request| request.ok > 0);
    if outcome.code == 0 && !succeeded {
        let failed = outcome
            .report
            .transactions
            .iter()
            .any(|transaction| transaction.failed > 0);
        if failed {
            eprintln!("error: no {transaction} succeeded (the errors are listed above)");
        } else {
            eprintln!(
                "error: no {transaction} succeeded: none was answered before the run ended (no \
                 error either; see the transactions above)"
            );
        }
        return 1;
    }
    outcome.code
}

/// `-d`: a duration above zero (a load of no time would send nothing), kept as typed.
fn parse_load_duration(text: &str) -> Result<Given<Duration>, String> {
    Given::parse(text, |text| {
        match parse_duration(text).map_err(|e| e.to_string())? {
            Duration::ZERO => Err(format!(
                "`{text}` is no time: the load would send nothing; give a duration above 0, e.g. 10s"
            )),
            duration => Ok(duration),
        }
    })
}

/// `--timeout`: above 0 (a limit of no time would fail every request, and every connect).
fn parse_timeout(text: &str) -> Result<Duration, String> {
    match parse_duration(text).map_err(|e| e.to_string())? {
        Duration::ZERO => Err(format!(
            "`{text}` is no time: every request would time out; give a limit above 0, e.g. 5s"
        )),
        limit => Ok(limit),
    }
}

/// `--local-ips`.
fn parse_sources(text: &str) -> Result<Sources, String> {
    text.parse()
}

/// `--shard I/N`, as the harness reads it.
fn parse_shard(text: &str) -> Result<ShardSpec, String> {
    text.parse()
}

/// `--start-at`, as the harness reads it.
fn parse_start_at(text: &str) -> Result<StartAt, String> {
    text.parse()
}

/// A duration, kept as typed.
fn parse_given_duration(text: &str) -> Result<Given<Duration>, String> {
    Given::parse(text, |text| parse_duration(text).map_err(|e| e.to_string()))
}

/// `--rate`, kept as typed.
fn parse_given_rate(text: &str) -> Result<Given<Rate>, String> {
    Given::parse(text, parse_rate)
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
        let given = parse_load_duration("60s").unwrap();
        assert_eq!(
            (given.value, given.text.as_str()),
            (Duration::from_secs(60), "60s")
        );
        assert!(parse_load_duration("0s").unwrap_err().contains("no time"));
        assert!(
            parse_duration("soon")
                .unwrap_err()
                .to_string()
                .contains("not a duration")
        );
    }
}
