//! The HTTP/2 rows of `cargo xtask peers` (issue 16): nginx speaking HTTP/2 in cleartext (h2c,
//! prior knowledge) and over TLS (ALPN h2), pinned as for the other rows, and `ttk http --http
//! 2c|2` beside h2load (nghttp2, Debian's `nghttp2-client`) with the same connections and
//! streams per connection: 10 × 100 and 100 × 1, one client core each. For each run: client
//! CPU per request (wait4), requests/s and p50/p99 as each client counts them (h2load's from
//! its per-request log), and nginx's own count of requests served beside the client's.
//!
//! Targets: ttk's CPU per request at most h2load's at both shapes, and at 10 × 100 at least
//! h2load's requests/s. A tool this machine lacks is reported as skipped; nothing is made up.

use std::path::Path;
use std::process::Command;

use super::client::{self, run_pinned};
use super::install;
use super::nginx::Nginx;
use super::output::Output;
use super::pki::Pki;
use super::summary::{Spread, meets};
use super::{CLIENT_CORE, PAUSE, Plan, SERVER_CORE, h2load, ttk};
use crate::report::{Figure, Goal};

/// (connections, streams per connection), as h2load's `-c` and `-m`.
const SHAPES: [(u64, u64); 2] = [(10, 100), (100, 1)];

/// ttk's client CPU per request over h2load's, at every shape.
const CPU_TARGET: Goal = Goal::AtMost(1.0);

/// ttk's requests/s over h2load's at 10 × 100.
const RATE_TARGET: Goal = Goal::AtLeast(1.0);

/// The clients.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Peer {
    Ttk,
    H2load,
}

impl Peer {
    /// Its name, as in the table.
    fn name(self) -> &'static str {
        match self {
            Peer::Ttk => "ttk",
            Peer::H2load => "h2load",
        }
    }
}

/// How HTTP/2 is carried.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Wire {
    /// Cleartext, prior knowledge.
    H2c,
    /// TLS with ALPN h2.
    Tls,
}

impl Wire {
    /// Its name, as in the table.
    fn name(self) -> &'static str {
        match self {
            Wire::H2c => "h2c",
            Wire::Tls => "h2 (TLS)",
        }
    }
}

/// One run's figures.
#[derive(Debug)]
struct Run {
    /// What the client counted.
    output: Output,
    /// Its CPU time, user and system, in seconds.
    cpu_s: f64,
    /// Requests nginx served during the run.
    served: u64,
}

impl Run {
    /// Client CPU microseconds per successful request.
    fn cpu_us(&self) -> Option<f64> {
        (self.output.ok > 0).then(|| self.cpu_s * 1e6 / self.output.ok as f64)
    }
}

/// One run of the rows.
#[derive(Debug)]
struct Sample {
    round: usize,
    peer: Peer,
    wire: Wire,
    shape: (u64, u64),
    run: Result<Run, String>,
}

/// What the HTTP/2 rows gave.
pub(crate) struct Measured {
    /// For the bench summary.
    pub(crate) figures: Vec<Figure>,
    /// Runs that failed.
    pub(crate) failures: Vec<String>,
    /// Targets missed.
    pub(crate) missed: Vec<String>,
    /// For `peers.json`.
    pub(crate) json: serde_json::Value,
}

/// Runs the HTTP/2 rows with ttk's executable `ttk` (if it was built), files under `dir`,
/// outputs in `work`.
pub(crate) fn measure(
    plan: &Plan,
    nginx_binary: &Path,
    ttk: Option<&Path>,
    dir: &Path,
    work: &Path,
) -> Measured {
    let skipped = |reason: String| {
        println!("\nskipped: the HTTP/2 rows ({reason})");
        Measured {
            figures: Vec::new(),
            failures: Vec::new(),
            missed: Vec::new(),
            json: serde_json::json!({ "skipped": reason }),
        }
    };
    let h2load = match install::h2load() {
        Ok(binary) => binary,
        Err(reason) => return skipped(reason),
    };
    let Some(openssl) = client::on_path("openssl") else {
        return skipped("openssl not found on PATH: it makes the certificates".to_owned());
    };
    let mut failures = Vec::new();
    let Some(ttk) = ttk else {
        return skipped("ttk was not built (reported above)".to_owned());
    };
    let pki = match Pki::make(&openssl, &dir.join("peers-pki-h2")) {
        Ok(pki) => pki,
        Err(error) => return skipped(format!("TLS certificates: {error}")),
    };
    let server = match Nginx::start_h2(nginx_binary, dir.join("peers-nginx-h2"), SERVER_CORE, &pki)
    {
        Ok(server) => server,
        Err(error) => return skipped(format!("nginx with HTTP/2: {error}")),
    };
    println!(
        "\npeers, HTTP/2: nginx h2c on {} and h2 over TLS on {} (core {SERVER_CORE}), clients on \
         core {CLIENT_CORE}, {} round(s) of {} s",
        server.h2c_addr.as_deref().unwrap_or("?"),
        server.tls_addr.as_deref().unwrap_or("?"),
        plan.rounds,
        plan.seconds
    );
    let mut samples = Vec::new();
    for round in 0..plan.rounds {
        for wire in [Wire::H2c, Wire::Tls] {
            for shape in SHAPES {
                // Each goes first every other round, so a drift weighs on both alike.
                let order = if round % 2 == 0 {
                    [Peer::Ttk, Peer::H2load]
                } else {
                    [Peer::H2load, Peer::Ttk]
                };
                for peer in order {
                    let binary = match peer {
                        Peer::Ttk => ttk,
                        Peer::H2load => h2load.as_path(),
                    };
                    let run = run(plan, binary, peer, wire, shape, &server, &pki, work);
                    let (c, m) = shape;
                    match &run {
                        Ok(run) => println!(
                            "  round {}/{}, {} {} -c {c} -m {m}: {:.0} requests/s, {:.2} µs of \
                             CPU per request, p99 {}, nginx served {} of the client's {}",
                            round + 1,
                            plan.rounds,
                            wire.name(),
                            peer.name(),
                            run.output.rate(),
                            run.cpu_us().unwrap_or(f64::NAN),
                            run.output
                                .p99_us
                                .map_or("-".to_owned(), |us| format!("{us:.0} µs")),
                            run.served,
                            run.output.ok,
                        ),
                        Err(error) => {
                            println!("  round {}: {error}", round + 1);
                            failures.push(format!("round {}: {error}", round + 1));
                        }
                    }
                    samples.push(Sample {
                        round,
                        peer,
                        wire,
                        shape,
                        run,
                    });
                    std::thread::sleep(PAUSE);
                }
            }
        }
    }
    drop(server);
    let (figures, missed, table, json) = summarize(&samples);
    println!("\n{table}");
    Measured {
        figures,
        failures,
        missed,
        json,
    }
}

/// Runs `peer` (`binary`) over `wire` at `shape` against `server`.
#[allow(clippy::too_many_arguments)]
fn run(
    plan: &Plan,
    binary: &Path,
    peer: Peer,
    wire: Wire,
    shape: (u64, u64),
    server: &Nginx,
    pki: &Pki,
    work: &Path,
) -> Result<Run, String> {
    let (connections, streams) = shape;
    let url = match wire {
        Wire::H2c => format!("http://{}/", server.h2c_addr.as_deref().ok_or("no h2c")?),
        Wire::Tls => format!("https://{}/", server.tls_addr.as_deref().ok_or("no TLS")?),
    };
    let files = format!(
        "h2-{}-{}-c{connections}-m{streams}",
        peer.name(),
        if wire == Wire::H2c { "h2c" } else { "tls" }
    );
    let report = work.join(format!("{files}.json"));
    let log = work.join(format!("{files}.log"));
    let _ = std::fs::remove_file(&report);
    let _ = std::fs::remove_file(&log);
    let seconds = plan.seconds.to_string();
    let mut command = Command::new(binary);
    match peer {
        Peer::Ttk => {
            command
                .args(["http", &url, "--http"])
                .arg(if wire == Wire::H2c { "2c" } else { "2" })
                .args(["-c", &connections.to_string()])
                .args(["--streams", &streams.to_string()])
                .args(["-d", &format!("{seconds}s"), "--workers", "1", "-q"])
                .arg("--json")
                .arg(&report);
            if wire == Wire::Tls {
                command.arg("--cacert").arg(&pki.ca);
            }
        }
        Peer::H2load => {
            command
                .args(["-c", &connections.to_string()])
                .args(["-m", &streams.to_string()])
                .args(["-D", &seconds, "-t", "1"])
                .arg("--log-file")
                .arg(&log)
                .arg(&url);
        }
    }
    let label = format!(
        "{} {} -c {connections} -m {streams}",
        wire.name(),
        peer.name()
    );
    let before = server.requests()?;
    let ran = run_pinned(&mut command, plan.seconds, CLIENT_CORE, work, &files)?;
    // The status request itself is counted by the second call.
    let served = server.requests()?.saturating_sub(before + 1);
    let ran = ran.check(&label)?;
    let output = match peer {
        Peer::Ttk => {
            let text = std::fs::read_to_string(&report)
                .map_err(|error| ran.failure(&label, &format!("no report: {error}")))?;
            ttk::parse(&text).map_err(|what| ran.failure(&label, &what))?
        }
        Peer::H2load => {
            let log = std::fs::read_to_string(&log).unwrap_or_default();
            h2load::parse(&ran.stdout, &log).map_err(|what| ran.failure(&label, &what))?
        }
    };
    if output.errors > 0 {
        return Err(ran.failure(&label, &format!("{} requests failed", output.errors)));
    }
    Ok(Run {
        output,
        cpu_s: ran.cpu_s,
        served,
    })
}

/// The figures, the targets missed, the table and the JSON of `samples`.
fn summarize(samples: &[Sample]) -> (Vec<Figure>, Vec<String>, String, serde_json::Value) {
    let runs = |peer: Peer, wire: Wire, shape: (u64, u64)| -> Vec<(usize, &Run)> {
        samples
            .iter()
            .filter(|s| s.peer == peer && s.wire == wire && s.shape == shape)
            .filter_map(|s| Some((s.round, s.run.as_ref().ok()?)))
            .collect()
    };
    // ttk's `value` over h2load's, round by round.
    let ratio = |wire: Wire, shape: (u64, u64), value: &dyn Fn(&Run) -> Option<f64>| {
        let ttk = runs(Peer::Ttk, wire, shape);
        let other = runs(Peer::H2load, wire, shape);
        let ratios: Vec<f64> = ttk
            .iter()
            .filter_map(|(round, run)| {
                let (_, h2load) = other.iter().find(|(r, _)| r == round)?;
                Some(value(run)? / value(h2load)?)
            })
            .collect();
        Spread::of(&ratios)
    };
    let mut figures = Vec::new();
    let mut missed = Vec::new();
    let mut table = String::from(
        "HTTP/2 against nginx, one client core      requests/s     CPU µs/request    p99 µs   \
         nginx served / client counted\n",
    );
    let mut json_rows = Vec::new();
    for wire in [Wire::H2c, Wire::Tls] {
        for shape in SHAPES {
            let (c, m) = shape;
            for peer in [Peer::Ttk, Peer::H2load] {
                let runs = runs(peer, wire, shape);
                let rates: Vec<f64> = runs.iter().map(|(_, r)| r.output.rate()).collect();
                let cpu: Vec<f64> = runs.iter().filter_map(|(_, r)| r.cpu_us()).collect();
                let p99: Vec<f64> = runs.iter().filter_map(|(_, r)| r.output.p99_us).collect();
                let served: u64 = runs.iter().map(|(_, r)| r.served).sum();
                let counted: u64 = runs.iter().map(|(_, r)| r.output.ok).sum();
                let text = |spread: Option<Spread>, decimals| {
                    spread.map_or("-".to_owned(), |s| s.text(decimals))
                };
                table.push_str(&format!(
                    "  {:<9} -c {c:<3} -m {m:<3} {:<7} {:>22} {:>20} {:>16}   {served} / {counted}\n",
                    wire.name(),
                    peer.name(),
                    text(Spread::of(&rates), 0),
                    text(Spread::of(&cpu), 2),
                    text(Spread::of(&p99), 0),
                ));
                json_rows.push(serde_json::json!({
                    "wire": wire.name(), "connections": c, "streams": m, "client": peer.name(),
                    "requests_per_s": Spread::of(&rates).map(Spread::json),
                    "cpu_us_per_request": Spread::of(&cpu).map(Spread::json),
                    "p99_us": Spread::of(&p99).map(Spread::json),
                    "nginx_served": served, "client_counted": counted,
                }));
            }
            let mut gate = |what: String, spread: Option<Spread>, goal: Goal| match spread {
                Some(spread) => {
                    if !meets(spread.median, goal) {
                        missed.push(format!("{what}: {:.2}", spread.median));
                    }
                    figures.push(
                        Figure::new(what, spread.median, "x", goal)
                            .with_range(spread.min, spread.max),
                    );
                }
                None => missed.push(format!("{what}: not measured")),
            };
            gate(
                format!(
                    "{} ttk / h2load CPU per request, -c {c} -m {m}",
                    wire.name()
                ),
                ratio(wire, shape, &|run| run.cpu_us()),
                CPU_TARGET,
            );
            let rate_goal = if m > 1 { RATE_TARGET } else { Goal::None };
            gate(
                format!("{} ttk / h2load requests/s, -c {c} -m {m}", wire.name()),
                ratio(wire, shape, &|run| Some(run.output.rate())),
                rate_goal,
            );
        }
    }
    table.push_str(&crate::report::table(&figures));
    let json = serde_json::json!({ "rows": json_rows, "missed": missed });
    (figures, missed, table, json)
}
