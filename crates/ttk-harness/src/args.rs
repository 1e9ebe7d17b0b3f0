//! The standard flags of a load test's command line.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use ttk_report::{Threshold, parse_duration};

use super::shape::{RampUp, Rate};
use super::shard::{ShardSpec, StartAt};

/// The flags every [`LoadTest`](super::LoadTest) has. Add your own beside them with
/// [`LoadTest::try_from_args_with`](super::LoadTest::try_from_args_with).
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use ttk::harness::LoadTest;
///
/// let test = LoadTest::try_from_args("shop", ["shop", "--ramp-up", "10:30s,100:1m"]).unwrap();
/// let args = test.args();
/// assert_eq!(args.ramp_up.as_ref().unwrap().bots(args.bots), 100); // the stages' count
/// assert_eq!(args.grace, Duration::from_secs(10)); // the default
/// assert!(args.duration.is_none() && args.json.is_none() && !args.quiet);
/// // One model at a time: --rate starts sessions, --bots a fixed set.
/// assert!(LoadTest::try_from_args("shop", ["shop", "--rate", "5/s", "--bots", "3"]).is_err());
/// ```
#[derive(Args, Clone, Debug)]
#[command(next_help_heading = "Load")]
pub struct LoadArgs {
    /// Bots of the closed model: each runs its iterations, then ends.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub bots: usize,

    /// Start the bots evenly over this time (`30s`), or in stages (`10:30s,100:1m`: reach 10
    /// bots in 30 s, then 100 in the next minute).
    #[arg(long, value_name = "TIME|STAGES", value_parser = parse_ramp)]
    pub ramp_up: Option<RampUp>,

    /// Make load for this long (`30s`, `5m`, `1h 30m`, `1.5s`): then sessions stop arriving and bots
    /// end after their current iteration; those still running after --grace are stopped, and
    /// their transactions in flight count as stopped.
    #[arg(long, value_name = "TIME", value_parser = parse_duration)]
    pub duration: Option<Duration>,

    /// After --duration, how long bots get to finish the iteration they are in before they are
    /// stopped.
    #[arg(long, value_name = "TIME", value_parser = parse_duration, default_value = "10s")]
    pub grace: Duration,

    /// Open model: start sessions at this rate, each a new bot, and time each from when it was
    /// meant to start (`50/s`; stages `10/s:30s,100/s:1m`).
    #[arg(long, value_name = "RATE", value_parser = parse_rate, conflicts_with_all = ["bots", "ramp_up"])]
    pub rate: Option<Rate>,

    /// Iterations each bot runs (default: as many as fit in --duration if given, else one; one
    /// per open-model session).
    #[arg(long, value_name = "N")]
    pub iterations: Option<u64>,

    /// Seed of the bots' random generators: the same seed, the same choices.
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub seed: u64,

    /// The system under test, handed to the bots (an address, a URL…).
    #[arg(long, value_name = "ADDR")]
    pub target: Option<String>,

    /// Write the JSON report here (schema: docs/report-schema.md).
    #[arg(long, value_name = "PATH", help_heading = "Report")]
    pub json: Option<PathBuf>,

    /// Write the HTML report here: one file, opens offline.
    #[arg(long, value_name = "PATH", help_heading = "Report")]
    pub html: Option<PathBuf>,

    /// Fail the run (exit code 1) unless this holds: `p99(login) < 50ms`, `p(99.9) < 200ms`,
    /// `failures < 0.1%`, `rate(move) > 1000`, `count(chat) >= 5000`, `failed_bots == 0` (bots
    /// that panicked or returned an error). Repeatable.
    #[arg(long = "threshold", value_name = "EXPR", value_parser = parse_threshold, help_heading = "Report")]
    pub thresholds: Vec<Threshold>,

    /// No live progress; the summary is still printed.
    #[arg(long, short, help_heading = "Report")]
    pub quiet: bool,

    /// Run shard I of N (from 0): its block of the --bots (started when the whole run would
    /// start them), or its share of the --rate. Merge the shards' --json reports with the
    /// `merge` command.
    #[arg(long, value_name = "I/N", value_parser = parse_shard, help_heading = "Scale out")]
    pub shard: Option<ShardSpec>,

    /// The run's id, written in the report: shards of one run share it, and only reports of
    /// one run merge (default for a shard: derived from the test's name, parameters and
    /// --start-at, or the Slurm job; a shard given neither gets an id of its own and merges
    /// with no other).
    #[arg(long, value_name = "ID", help_heading = "Scale out")]
    pub run_id: Option<String>,

    /// Wait until this time to start (`2026-11-26T10:00:00Z`, or `@UNIX_SECONDS`), so that
    /// shards on several machines start together. Stopped while it waits, a shard runs no bot
    /// and its report merges with its siblings' without moving their seconds.
    #[arg(long, value_name = "TIME", value_parser = parse_start_at, help_heading = "Scale out")]
    pub start_at: Option<StartAt>,

    /// Emulate a network on every socket the bots make: a preset (lte, 3g, lossy-wifi,
    /// intercontinental), settings (`delay=80ms±20ms loss=2% dup=1% reorder=5% rate=1mbit
    /// up=… down=…`, each direction) or a mix over the bots (`lte:70%,3g:30%`), drawn from
    /// --seed. Recorded in the report's parameters.
    #[arg(long, value_name = "PROFILE", value_parser = parse_net, help_heading = "Load")]
    pub net: Option<String>,

    /// The source addresses bots' connections and UDP sockets leave from, in turn: a range
    /// (`127.0.0.2-127.0.0.250`), a CIDR block (`10.0.0.0/24`) or a list, each an address of
    /// this machine. One source address reaches one server address and port from at most
    /// 28,232 ports (Linux's default range); a pool holds more connections to one server.
    #[arg(long, value_name = "POOL", value_parser = parse_local_ips, help_heading = "Scale out")]
    pub local_ips: Option<String>,

    /// Loops of this process, each on a thread of its own (default: one per core, for tests
    /// that run in parallel; 1 otherwise).
    #[arg(long, value_name = "N", help_heading = "Scale out")]
    pub workers: Option<usize>,

    /// Run the test as N shard processes of this binary: one combined progress, one merged
    /// summary and report. The way past the per-process limit of open files.
    #[arg(long, value_name = "N", conflicts_with = "shard", value_parser = clap::value_parser!(u32).range(1..), help_heading = "Scale out")]
    pub processes: Option<u32>,

    /// Serve a live dashboard of the run: the report's page, updated every second, with
    /// `/status`, `/report.json` and Prometheus' `/metrics` beside it (`--dashboard` alone: a
    /// free port on 127.0.0.1, printed at the start; `--dashboard=0.0.0.0:8089` to be seen
    /// from other machines).
    #[arg(long, value_name = "ADDR", num_args = 0..=1, require_equals = true, default_missing_value = "127.0.0.1:0", help_heading = "Live")]
    pub dashboard: Option<String>,

    /// After the run, keep the dashboard and `/metrics` serving the final report this long
    /// (`10m`: time to look, or for a last scrape); Ctrl-C stops it sooner.
    #[arg(long, value_name = "TIME", value_parser = parse_duration, help_heading = "Live")]
    pub dashboard_linger: Option<Duration>,

    /// The token a control request from another machine must carry (`Authorization: Bearer
    /// TOKEN`): without one, the dashboard takes changes to the load from this machine only
    /// (a load generator anyone on the network could steer is a weapon).
    #[arg(long, value_name = "TOKEN", help_heading = "Live")]
    pub dashboard_token: Option<String>,

    /// Serve Prometheus' `/metrics` alone at ADDR (`127.0.0.1:9464`), for a Prometheus that
    /// scrapes the run.
    #[arg(long, value_name = "ADDR", help_heading = "Live")]
    pub metrics: Option<String>,

    /// Push the run's metrics to this Prometheus remote-write URL every 5 s and at the end
    /// (`http://127.0.0.1:9090/api/v1/write`; Prometheus with
    /// `--web.enable-remote-write-receiver`, Mimir, VictoriaMetrics, Grafana Cloud…): for
    /// shards no Prometheus can scrape. `https://` checks the receiver's certificate against
    /// the system's roots (or `SSL_CERT_FILE`); `https://user:password@host/…` sends basic
    /// auth, and `TTK_REMOTE_WRITE_TOKEN` in the environment a bearer token.
    #[arg(long, value_name = "URL", value_parser = parse_remote_write, help_heading = "Live")]
    pub remote_write: Option<String>,

    /// Set by --processes in its children when the parent's load may change: follow the
    /// changes the parent writes on standard input.
    #[arg(long, hide = true)]
    pub control_stdin: bool,

    /// Set by --processes in its children: write each second's figures to stdout as JSON
    /// lines for the parent to combine.
    #[arg(long, hide = true)]
    pub progress_lines: bool,
}

fn parse_net(text: &str) -> Result<String, String> {
    // Kept as given (the report shows it so); the run reads it again, the same way.
    text.parse::<ttk_net::NetMix>()
        .map(|_| text.trim().to_owned())
}

fn parse_local_ips(text: &str) -> Result<String, String> {
    text.parse::<ttk_net::SourcePool>().map(|_| text.to_owned())
}

fn parse_remote_write(text: &str) -> Result<String, String> {
    text.parse::<super::live::remote_write::Endpoint>()
        .map(|_| text.to_owned())
}

fn parse_ramp(text: &str) -> Result<RampUp, String> {
    text.parse()
}

fn parse_rate(text: &str) -> Result<Rate, String> {
    text.parse()
}

fn parse_shard(text: &str) -> Result<ShardSpec, String> {
    text.parse()
}

fn parse_start_at(text: &str) -> Result<StartAt, String> {
    text.parse()
}

fn parse_threshold(text: &str) -> Result<Threshold, String> {
    Threshold::parse(text).map_err(|error| error.to_string())
}
