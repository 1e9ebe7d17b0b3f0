//! The clients compared: how each is found, started (one core, one thread or worker, N
//! connections, T seconds) and read.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use super::measure;
use super::output::Output;
use super::{hey, oha, ttk, wrk};

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
}

impl Kind {
    /// Every client, in the order of the first round.
    pub(crate) const ALL: [Kind; 4] = [Kind::Ttk, Kind::Wrk, Kind::Hey, Kind::Oha];

    /// Its name, as in the table.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Ttk => "ttk",
            Kind::Wrk => "wrk",
            Kind::Hey => "hey",
            Kind::Oha => "oha",
        }
    }

    /// The command line of a run against `url` with `connections` for `seconds`; ttk writes
    /// its report to `report`.
    fn command(
        self,
        binary: &Path,
        url: &str,
        connections: u64,
        seconds: u64,
        report: &Path,
    ) -> Command {
        let mut command = Command::new(binary);
        let (n, t) = (connections.to_string(), format!("{seconds}s"));
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
                command.args(["-c", &n, "-z", &t, "--no-tui", "--json", url]);
                // One tokio worker thread (oha's runtime reads it), as the others get one.
                command.env("TOKIO_WORKER_THREADS", "1");
            }
        }
        command
    }

    /// Reads a run's output (ttk's from its report file, the others' from their stdout).
    fn parse(self, stdout: &str, report: &Path) -> Result<Output, String> {
        match self {
            Kind::Ttk => {
                let text = std::fs::read_to_string(report).map_err(|error| {
                    format!("ttk wrote no report {}: {error}", report.display())
                })?;
                ttk::parse(&text)
            }
            Kind::Wrk => wrk::parse(stdout),
            Kind::Hey => hey::parse(stdout),
            Kind::Oha => oha::parse(stdout),
        }
    }

    /// The argument that makes it print its version, if it has one.
    pub(crate) fn version_flag(self) -> Option<&'static str> {
        match self {
            Kind::Ttk | Kind::Oha => Some("--version"),
            Kind::Wrk => Some("-v"),
            Kind::Hey => None,
        }
    }
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
}

impl Run {
    /// CPU time per successful request, in microseconds.
    pub(crate) fn cpu_us_per_request(&self) -> Option<f64> {
        (self.output.ok > 0).then(|| self.cpu_s * 1e6 / self.output.ok as f64)
    }
}

impl Client {
    /// Runs the client once, pinned to `core`, with its output in `dir`; `served` counts the
    /// requests the server saw meanwhile (called once before and once after).
    pub(crate) fn run(
        &self,
        url: &str,
        connections: u64,
        seconds: u64,
        core: usize,
        dir: &Path,
        served: impl Fn() -> Result<u64, String>,
    ) -> Result<Run, String> {
        let name = self.kind.name();
        let stdout_path = dir.join(format!("{name}-{connections}.out"));
        let stderr_path = dir.join(format!("{name}-{connections}.err"));
        let report = dir.join(format!("{name}-{connections}.json"));
        let _ = std::fs::remove_file(&report);
        let file = |path: &Path| {
            std::fs::File::create(path)
                .map_err(|error| format!("cannot create {}: {error}", path.display()))
        };
        let mut command = self
            .kind
            .command(&self.binary, url, connections, seconds, &report);
        command
            .stdin(Stdio::null())
            .stdout(file(&stdout_path)?)
            .stderr(file(&stderr_path)?);
        measure::pin(&mut command, core);
        let before = served()?;
        let finished = measure::run(&mut command, Duration::from_secs(seconds) + OVERTIME)?;
        // The status request that reads `after` is counted in it.
        let served = served()?.saturating_sub(before + 1);
        let stdout = std::fs::read_to_string(&stdout_path).unwrap_or_default();
        let failure = |what: String| {
            let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
            format!(
                "{name} -c {connections}: {what}; stdout: {}; stderr: {}",
                stdout.trim(),
                stderr.trim()
            )
        };
        if finished.killed {
            return Err(failure(format!(
                "still running {OVERTIME:?} past its duration"
            )));
        }
        if !finished.status.success() {
            return Err(failure(format!("exited with {}", finished.status)));
        }
        let output = self.kind.parse(&stdout, &report).map_err(failure)?;
        Ok(Run {
            output,
            cpu_s: finished.cpu_s,
            served,
        })
    }
}

/// `program` on `PATH`.
pub(crate) fn on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}
