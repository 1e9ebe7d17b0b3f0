//! `cargo xtask peers [--duration 5s] [--rounds 3] [--connections 100,1000] [--only plain|tls]
//! [--idle-bots 10000]`: `ttk http` side by side with wrk, hey, oha, Locust and Goose (each
//! installed first if missing, see `install.rs`) against one nginx on
//! loopback (one worker, pinned to its own core, a 13-byte body on keep-alive connections), each
//! client on the other core with one thread. Rounds are interleaved (every client once per round
//! and connection count, in an order that turns each round); the client's CPU time comes from
//! the kernel (`wait4`), the server's count of requests from `stub_status`. Then the TLS rows
//! (see `tls.rs`): HTTPS keep-alive beside wrk, handshakes per CPU-second beside `openssl
//! s_time`, memory per idle TLS bot. After the plain rounds, each client's system calls and
//! user instructions per request are counted in runs of their own (see `counts.rs`). Prints
//! tables, writes `target/ttk-bench/peers.json`, and fails if ttk could not be built or run, if a
//! client failed, or if ttk missed a target. Clients that cannot be installed are reported as
//! skipped with the reason, never faked.

pub(crate) mod client;
mod counts;
mod goose;
mod h2;
mod h2load;
mod handshakes;
mod hey;
mod idle;
mod install;
mod instructions;
mod locust;
mod machine;
mod measure;
pub(crate) mod nginx;
mod oha;
mod output;
pub(crate) mod pki;
mod s_time;
mod summary;
mod syscalls;
mod tls;
mod ttk;
mod url;
mod wrapped;
mod wrk;

use std::path::{Path, PathBuf};
use std::time::Duration;

pub(crate) use client::run_pinned;
use client::{Client, Kind};
pub(crate) use measure::pin;
use summary::{Sample, Summary};
pub(crate) use ttk::parse as parse_ttk;

use crate::cargo;
use crate::report::Figure;

/// The usage line of `cargo xtask peers`.
pub(crate) const USAGE: &str = "cargo xtask peers [--duration SECONDS(s)] [--rounds N] \
     [--connections N,N,...] [--only plain|tls] [--idle-bots N]";

/// The core every client runs on.
pub(crate) const CLIENT_CORE: usize = 0;
/// The core nginx runs on.
pub(crate) const SERVER_CORE: usize = 1;
/// The pause between two runs, for the previous client's connections to close.
const PAUSE: Duration = Duration::from_secs(1);

/// The rows of the bench.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Rows {
    /// Plain HTTP beside wrk, hey, oha, Locust and Goose.
    Plain,
    /// HTTPS, handshakes and idle TLS bots.
    Tls,
    /// HTTP/2, h2c and over TLS, beside h2load.
    H2,
}

/// What to run, from the command line.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Plan {
    /// Seconds each client runs per round.
    pub(crate) seconds: u64,
    /// Rounds.
    pub(crate) rounds: usize,
    /// The connection counts of the plain rows, each run in every round.
    pub(crate) connections: Vec<u64>,
    /// Only these rows (`--only`), or all.
    pub(crate) only: Option<Rows>,
    /// Idle TLS bots held at once for the memory figure.
    pub(crate) idle_bots: u64,
}

impl Default for Plan {
    fn default() -> Self {
        Plan {
            seconds: 5,
            rounds: 3,
            connections: vec![100, 1000],
            only: None,
            idle_bots: 10_000,
        }
    }
}

impl Plan {
    /// Reads the flags after `peers`.
    pub(crate) fn parse(args: &[String]) -> Result<Plan, String> {
        let mut plan = Plan::default();
        let mut words = args.iter();
        while let Some(flag) = words.next() {
            let value = words.next().ok_or(format!("{flag} needs a value"))?;
            let whole = |text: &str| -> Result<u64, String> {
                match text.replace('_', "").parse() {
                    Ok(0) | Err(_) => Err(format!("{flag}: not a whole number above 0: {value:?}")),
                    Ok(number) => Ok(number),
                }
            };
            match flag.as_str() {
                "--duration" => {
                    plan.seconds = match value.strip_suffix('m') {
                        Some(minutes) => whole(minutes)? * 60,
                        None => whole(value.strip_suffix('s').unwrap_or(value))?,
                    }
                }
                "--rounds" => plan.rounds = whole(value)? as usize,
                "--connections" => {
                    plan.connections = value.split(',').map(whole).collect::<Result<_, _>>()?
                }
                "--only" => {
                    plan.only = Some(match value.as_str() {
                        "plain" => Rows::Plain,
                        "tls" => Rows::Tls,
                        "h2" => Rows::H2,
                        _ => return Err(format!("--only: plain, tls or h2, not {value:?}")),
                    })
                }
                "--idle-bots" => plan.idle_bots = whole(value)?,
                _ => return Err(format!("unknown flag {flag}")),
            }
        }
        Ok(plan)
    }

    /// Whether `rows` are run.
    fn runs(&self, rows: Rows) -> bool {
        self.only.is_none_or(|only| only == rows)
    }
}

/// What a measurement gave: the figures for the bench summary, what failed, what missed.
pub(crate) struct Measured {
    /// Each client's medians and ttk's ratios to wrk.
    pub(crate) figures: Vec<Figure>,
    /// Runs and builds that failed (ttk not built, a client that exited with an error).
    pub(crate) failures: Vec<String>,
    /// ttk's targets it missed.
    pub(crate) missed: Vec<String>,
}

/// Where a round's runs go: their samples, and the failures to report.
pub(crate) struct Records<'a> {
    /// Every run, well or not.
    pub(crate) samples: &'a mut Vec<Sample>,
    /// Why runs failed, for the table's footer.
    pub(crate) failures: &'a mut Vec<String>,
}

/// One round of keep-alive runs against `server` at `connections`: each client once, their
/// order turned by `round` so that none always runs first; prints a line per run (`label`
/// before the connection count, e.g. `"https, "`).
#[allow(clippy::too_many_arguments)]
pub(crate) fn keep_alive_round(
    round: usize,
    plan: &Plan,
    connections: u64,
    clients: &[&Client],
    target: &client::Target,
    work: &Path,
    server: &nginx::Nginx,
    label: &str,
    records: Records<'_>,
) {
    let mut order = clients.to_vec();
    let turn = round % order.len().max(1);
    order.rotate_left(turn);
    for client in order {
        let run = client.run(target, connections, plan.seconds, CLIENT_CORE, work, || {
            server.requests()
        });
        match &run {
            Ok(run) => println!(
                "  round {}/{}, {label}{connections} connections, {}: {:.0} req/s, {} errors",
                round + 1,
                plan.rounds,
                client.kind.name(),
                run.output.rate(),
                run.output.errors,
            ),
            Err(error) => {
                println!("  round {}: {error}", round + 1);
                records
                    .failures
                    .push(format!("round {}: {error}", round + 1));
            }
        }
        records.samples.push(Sample {
            round,
            connections,
            kind: client.kind,
            run,
        });
        std::thread::sleep(PAUSE);
    }
}

/// `cargo xtask peers`: measures and reports; an error if anything failed or missed.
pub(crate) fn run(plan: &Plan) -> Result<(), String> {
    let measured = measure(plan)?;
    match (measured.failures.len(), measured.missed.len()) {
        (0, 0) => Ok(()),
        (failed, missed) => Err(format!(
            "{failed} failure(s), {missed} target(s) missed{}",
            if missed > 0 {
                format!(": {}", measured.missed.join("; "))
            } else {
                String::new()
            }
        )),
    }
}

/// Runs every round, prints the table, writes `peers.json`.
pub(crate) fn measure(plan: &Plan) -> Result<Measured, String> {
    let dir = cargo::target_dir().join("ttk-bench");
    let json_path = dir.join("peers.json");
    // An earlier run's figures must not outlive a run that fails before writing its own.
    match std::fs::remove_file(&json_path) {
        Ok(()) => {}
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => return Err(format!("cannot remove {}: {error}", json_path.display())),
    }
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    if cores < 2 {
        return Err(format!(
            "peers needs 2 cores (one for nginx, one for the client); this machine has {cores}"
        ));
    }
    let nginx_binary = nginx::find()
        .ok_or("nginx not found on PATH or in /usr/sbin (Debian: apt-get install nginx)")?;

    let mut failures = Vec::new();
    let mut skipped = Vec::new();
    let mut clients = Vec::new();
    for kind in Kind::ALL {
        match find(kind) {
            Ok(binary) => clients.push(Client { kind, binary }),
            Err(Found::Skipped(reason)) => skipped.push((kind, reason)),
            Err(Found::Failed(reason)) => failures.push(reason),
        }
    }
    let mut tools = serde_json::Map::new();
    tools.insert(
        "nginx".into(),
        machine::version(&nginx_binary, Some("-v")).into(),
    );
    for client in &clients {
        let version = machine::version(&client.binary, client.kind.version_flag());
        tools.insert(client.kind.name().into(), version.into());
    }

    let work = dir.join("peers-work");
    std::fs::create_dir_all(&work)
        .map_err(|error| format!("cannot create {}: {error}", work.display()))?;
    let wrk_skipped = skipped
        .iter()
        .find(|(kind, _)| *kind == Kind::Wrk)
        .map(|(_, reason): &(Kind, String)| reason.clone());
    let load_before = machine::load_average();
    let mut figures = Vec::new();
    let mut missed = Vec::new();
    let mut json = serde_json::json!({
        "version": 2,
        "plan": {
            "duration_s": plan.seconds,
            "rounds": plan.rounds,
            "connections": plan.connections,
            "only": plan.only.map(|rows| format!("{rows:?}").to_lowercase()),
            "client_core": CLIENT_CORE,
            "server_core": SERVER_CORE,
            "body_bytes": nginx::BODY.len(),
        },
        "machine": machine::json(),
        "tools": tools,
        "skipped": skipped.iter().map(|(kind, reason)| serde_json::json!({
            "client": kind.name(), "reason": reason,
        })).collect::<Vec<_>>(),
        "runs": [],
        "summary": null,
        "tls": null,
        "h2": null,
        "counts": null,
    });

    if plan.runs(Rows::Plain) {
        let server = nginx::Nginx::start(&nginx_binary, dir.join("peers-nginx"), SERVER_CORE)?;
        let url = server.url();
        let target = client::Target {
            url: &url,
            cacert: None,
        };
        println!(
            "peers: nginx on {} (core {SERVER_CORE}), clients on core {CLIENT_CORE}, {} round(s) of {} s",
            server.addr, plan.rounds, plan.seconds
        );
        let mut samples = Vec::new();
        for round in 0..plan.rounds {
            for &connections in &plan.connections {
                let clients: Vec<&Client> = clients.iter().collect();
                let records = Records {
                    samples: &mut samples,
                    failures: &mut failures,
                };
                keep_alive_round(
                    round,
                    plan,
                    connections,
                    &clients,
                    &target,
                    &work,
                    &server,
                    "",
                    records,
                );
            }
        }
        // Outside the timed rounds: a watched client is slower, its CPU time not the timed one.
        let counted = counts::measure(
            &clients,
            &target,
            &plan.connections,
            CLIENT_CORE,
            &dir,
            PAUSE,
        );
        drop(server);
        let count_figures = counted.figures();
        json["counts"] = counted.json();
        let summary =
            Summary::new(&samples, &plan.connections, summary::PLAIN).with_counts(counted);
        missed.extend(summary.missed(wrk_skipped.is_some()));
        println!("\n{}", summary.table(&skipped, &failures));
        figures.extend(summary.figures(wrk_skipped.as_deref()));
        figures.extend(count_figures);
        json["runs"] = samples.iter().map(summary::sample_json).collect();
        json["summary"] = summary.json();
    }
    if plan.runs(Rows::Tls) {
        let measured = tls::measure(
            plan,
            &nginx_binary,
            &clients,
            wrk_skipped.as_deref(),
            &dir,
            &work,
        );
        figures.extend(measured.figures);
        failures.extend(measured.failures);
        missed.extend(measured.missed);
        json["tls"] = measured.json;
    }
    if plan.runs(Rows::H2) {
        let ttk = clients
            .iter()
            .find(|client| client.kind == Kind::Ttk)
            .map(|client| client.binary.clone());
        let measured = h2::measure(plan, &nginx_binary, ttk.as_deref(), &dir, &work);
        figures.extend(measured.figures);
        failures.extend(measured.failures);
        missed.extend(measured.missed);
        json["h2"] = measured.json;
    }
    let load_after = machine::load_average();
    println!("load average before: {load_before}; after: {load_after}");
    for failure in &failures {
        println!("FAILED: {failure}");
    }
    for target in &missed {
        println!("MISSED: {target}");
    }

    json["load_average"] = serde_json::json!({ "before": load_before, "after": load_after });
    json["failures"] = serde_json::json!(failures);
    json["missed"] = serde_json::json!(missed);
    json["passed"] = (failures.is_empty() && missed.is_empty()).into();
    std::fs::write(
        &json_path,
        serde_json::to_string_pretty(&json).expect("JSON of numbers and strings"),
    )
    .map_err(|error| format!("cannot write {}: {error}", json_path.display()))?;
    println!("wrote {}", json_path.display());
    Ok(Measured {
        figures,
        failures,
        missed,
    })
}

/// Why a client is not run.
enum Found {
    /// It is not on this machine: reported, not a failure.
    Skipped(String),
    /// It should be and is not: ttk that did not build.
    Failed(String),
}

/// The executable of `kind`: ttk built from this workspace, the others found or installed
/// (`install.rs`).
fn find(kind: Kind) -> Result<PathBuf, Found> {
    if kind == Kind::Ttk {
        cargo::run(&["build", "--release", "-p", "ttk-cli"])
            .map_err(|error| Found::Failed(format!("ttk could not be built: {error}")))?;
        let binary = cargo::target_dir().join("release").join("ttk");
        return if binary.is_file() {
            Ok(binary)
        } else {
            Err(Found::Failed(format!(
                "ttk was built but {} is missing",
                binary.display()
            )))
        };
    }
    install::find(kind).map_err(Found::Skipped)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(text: &str) -> Vec<String> {
        text.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn flags_override_the_defaults() {
        assert_eq!(Plan::parse(&[]).unwrap(), Plan::default());
        let plan = Plan::parse(&args("--duration 3s --rounds 1 --connections 10,2_000")).unwrap();
        assert_eq!(
            (plan.seconds, plan.rounds, plan.connections),
            (3, 1, vec![10, 2000])
        );
        assert_eq!(Plan::parse(&args("--duration 2m")).unwrap().seconds, 120);
        assert!(Plan::parse(&args("--rounds 0")).is_err());
        assert!(Plan::parse(&args("--connections 100,")).is_err());
        assert!(Plan::parse(&args("--duration 1.5s")).is_err());
        assert!(Plan::parse(&args("--verbose 1")).is_err());
        let plan = Plan::parse(&args("--only tls --idle-bots 1_000")).unwrap();
        assert_eq!((plan.only, plan.idle_bots), (Some(Rows::Tls), 1_000));
        assert!(plan.runs(Rows::Tls) && !plan.runs(Rows::Plain));
        assert!(Plan::default().runs(Rows::Plain));
        assert!(Plan::parse(&args("--only https")).is_err());
    }
}
