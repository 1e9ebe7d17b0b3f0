//! The clients compared: how each is found, started (one core, one thread or worker, N
//! connections, T seconds) and read.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::measure;
use super::output::Output;
use super::{goose, hey, locust, oha, ttk, wrk};

/// How long a client may run past its duration before it is killed (hey at 1,000 connections
/// takes a few seconds to wind down).
const OVERTIME: Duration = Duration::from_secs(60);

/// A load generator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `ttk http`, this project's.
    Ttk,
    /// wrk (C, one thread with `-t1`).
    Wrk,
    /// hey (Go, `-cpus 1`).
    Hey,
    /// oha (Rust, tokio).
    Oha,
    /// Locust (Python, gevent) with `FastHttpUser`, one process.
    Locust,
    /// Goose (Rust, tokio and reqwest), one worker thread.
    Goose,
}

impl Kind {
    /// Every client, in the order of the first round.
    pub(crate) const ALL: [Kind; 6] = [
        Kind::Ttk,
        Kind::Wrk,
        Kind::Hey,
        Kind::Oha,
        Kind::Locust,
        Kind::Goose,
    ];

    /// Its name, as in the table.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Ttk => "ttk",
            Kind::Wrk => "wrk",
            Kind::Hey => "hey",
            Kind::Oha => "oha",
            Kind::Locust => "locust",
            Kind::Goose => "goose",
        }
    }

    /// The command line of a run against `target` with `connections` for `seconds`; ttk writes
    /// its report to `report`.
    pub(super) fn command(
        self,
        binary: &Path,
        target: &Target,
        connections: u64,
        seconds: u64,
        report: &Path,
    ) -> Command {
        let mut command = Command::new(binary);
        let (n, t) = (connections.to_string(), format!("{seconds}s"));
        let url = target.url;
        match self {
            Kind::Ttk => {
                command.args([
                    "http",
                    url,
                    "-c",
                    &n,
                    "-d",
                    &t,
                    "--workers",
                    "1",
                    "-q",
                    "--json",
                ]);
                command.arg(report);
                if let Some(ca) = target.cacert {
                    command.arg("--cacert").arg(ca);
                }
            }
            Kind::Wrk => {
                command.args([
                    "-t1",
                    &format!("-c{n}"),
                    &format!("-d{t}"),
                    "--latency",
                    url,
                ]);
            }
            Kind::Hey => {
                command.args(["-c", &n, "-z", &t, "-cpus", "1", url]);
            }
            Kind::Oha => {
                let json = ["--output-format", "json"];
                command
                    .args(["-c", &n, "-z", &t, "--no-tui"])
                    .args(json)
                    .arg(url);
                // One tokio worker thread (oha's runtime reads it), as the others get one.
                command.env("TOKIO_WORKER_THREADS", "1");
            }
            // Their command lines are theirs: host and path apart, their own report files.
            Kind::Locust => return locust::command(binary, url, connections, seconds, report),
            Kind::Goose => return goose::command(binary, url, connections, seconds, report),
        }
        command
    }

    /// Reads a run's output (ttk's, Locust's and Goose's from their report files, the others'
    /// from their stdout).
    pub(super) fn parse(self, stdout: &str, report: &Path) -> Result<Output, String> {
        let report_text = || {
            std::fs::read_to_string(report).map_err(|error| {
                format!(
                    "{} wrote no report {}: {error}",
                    self.name(),
                    report.display()
                )
            })
        };
        match self {
            Kind::Ttk => ttk::parse(&report_text()?),
            Kind::Wrk => wrk::parse(stdout),
            Kind::Hey => hey::parse(stdout),
            Kind::Oha => oha::parse(stdout),
            Kind::Locust => locust::parse(&report_text()?),
            Kind::Goose => goose::parse(&report_text()?),
        }
    }

    /// The argument that makes it print its version, if it has one.
    pub(crate) fn version_flag(self) -> Option<&'static str> {
        match self {
            Kind::Ttk | Kind::Oha | Kind::Locust | Kind::Goose => Some("--version"),
            Kind::Wrk => Some("-v"),
            Kind::Hey => None,
        }
    }
}

/// What a client loads.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Target<'a> {
    /// `http://…/` or `https://…/`.
    pub(crate) url: &'a str,
    /// The CA that signed an https server's certificate: ttk checks the certificate against
    /// it (`--cacert`). wrk checks no certificate; hey and oha are not run over https.
    pub(crate) cacert: Option<&'a Path>,
}

/// A client this machine has, ready to run.
#[derive(Clone, Debug)]
pub(crate) struct Client {
    /// Which.
    pub(crate) kind: Kind,
    /// Its executable.
    pub(crate) binary: PathBuf,
}

/// One run of one client: its own figures, the CPU it used, what the server counted.
#[derive(Clone, Debug)]
pub(crate) struct Run {
    /// What the client reported.
    pub(crate) output: Output,
    /// Its user plus system CPU time, in seconds.
    pub(crate) cpu_s: f64,
    /// Requests nginx served during the run.
    pub(crate) served: u64,
    /// The client's peak resident set, in KiB (`wait4`'s `ru_maxrss`).
    pub(crate) peak_rss_kib: u64,
}

impl Run {
    /// CPU time per successful request, in microseconds.
    pub(crate) fn cpu_us_per_request(&self) -> Option<f64> {
        (self.output.ok > 0).then(|| self.cpu_s * 1e6 / self.output.ok as f64)
    }

    /// Peak RSS per connection (or user), in KiB: the whole process's peak, runtime and all,
    /// spread over what it held open.
    pub(crate) fn peak_rss_kib_per(&self, connections: u64) -> Option<f64> {
        (connections > 0 && self.peak_rss_kib > 0)
            .then(|| self.peak_rss_kib as f64 / connections as f64)
    }
}

impl Client {
    /// Runs the client once against `target`, pinned to `core`, with its output in `dir`;
    /// `served` counts the requests the server saw meanwhile (called once before and once
    /// after).
    pub(crate) fn run(
        &self,
        target: &Target,
        connections: u64,
        seconds: u64,
        core: usize,
        dir: &Path,
        served: impl Fn() -> Result<u64, String>,
    ) -> Result<Run, String> {
        let name = self.kind.name();
        let scheme = target.url.split(':').next().unwrap_or("url");
        let files = format!("{name}-{scheme}-{connections}");
        let report = dir.join(format!("{files}.json"));
        let _ = std::fs::remove_file(&report);
        let mut command = self
            .kind
            .command(&self.binary, target, connections, seconds, &report);
        let before = served()?;
        let ran = run_pinned(&mut command, seconds, core, dir, &files)?;
        // The status request that reads `after` is counted in it.
        let served = served()?.saturating_sub(before + 1);
        let label = format!("{name} -c {connections} {}", target.url);
        let ran = ran.check(&label)?;
        let output = self
            .kind
            .parse(&ran.stdout, &report)
            .map_err(|what| ran.failure(&label, &what))?;
        Ok(Run {
            output,
            cpu_s: ran.cpu_s,
            served,
            peak_rss_kib: ran.peak_rss_kib,
        })
    }
}

/// A finished client: what it printed and the CPU and time it took.
#[derive(Debug)]
pub(crate) struct Ran {
    /// How it ended.
    finished: measure::Finished,
    /// Its standard output.
    pub(crate) stdout: String,
    /// Its standard error.
    pub(crate) stderr: String,
    /// User plus system CPU time, in seconds (`wait4`).
    pub(crate) cpu_s: f64,
    /// Wall-clock seconds from start to exit.
    pub(crate) wall_s: f64,
    /// Peak resident set, in KiB (`wait4`).
    pub(crate) peak_rss_kib: u64,
}

impl Ran {
    /// Itself if the client ran to its end and exited with 0; else why not, named `label`.
    pub(crate) fn check(self, label: &str) -> Result<Ran, String> {
        if self.finished.killed {
            return Err(self.failure(
                label,
                &format!("still running {OVERTIME:?} past its duration"),
            ));
        }
        if !self.finished.status.success() {
            return Err(self.failure(label, &format!("exited with {}", self.finished.status)));
        }
        Ok(self)
    }

    /// `what` went wrong with the run `label`, with what the client printed.
    pub(crate) fn failure(&self, label: &str, what: &str) -> String {
        format!(
            "{label}: {what}; stdout: {}; stderr: {}",
            tail(&self.stdout),
            tail(&self.stderr)
        )
    }
}

/// Runs `command` pinned to `core` with no input, its output kept in `dir/<files>.out` and
/// `.err`, and kills it if it runs [`OVERTIME`] past `seconds`. Its exit status is not
/// checked here ([`Ran::check`]).
pub(crate) fn run_pinned(
    command: &mut Command,
    seconds: u64,
    core: usize,
    dir: &Path,
    files: &str,
) -> Result<Ran, String> {
    let stdout_path = dir.join(format!("{files}.out"));
    let stderr_path = dir.join(format!("{files}.err"));
    let file = |path: &Path| {
        std::fs::File::create(path)
            .map_err(|error| format!("cannot create {}: {error}", path.display()))
    };
    command
        .stdin(Stdio::null())
        .stdout(file(&stdout_path)?)
        .stderr(file(&stderr_path)?);
    measure::pin(command, core);
    let started = Instant::now();
    let finished = measure::run(command, Duration::from_secs(seconds) + OVERTIME)?;
    let wall_s = started.elapsed().as_secs_f64();
    Ok(Ran {
        stdout: std::fs::read_to_string(&stdout_path).unwrap_or_default(),
        stderr: std::fs::read_to_string(&stderr_path).unwrap_or_default(),
        cpu_s: finished.cpu_s,
        wall_s,
        peak_rss_kib: finished.max_rss_kib,
        finished,
    })
}

/// The last 2,000 bytes of `text`, trimmed (s_time prints a character per connection).
fn tail(text: &str) -> &str {
    let text = text.trim();
    let mut start = text.len().saturating_sub(2_000);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    &text[start..]
}

/// `program` on `PATH`.
pub(crate) fn on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}
