//! Full and resumed TLS handshakes per client CPU-second: `ttk http https://…/close -H
//! 'Connection: close'` with `--tls-resume off` or with its default, on (a handshake and one
//! request per connection, each connection resuming its own session), beside `openssl s_time
//! -new|-reuse -www /close` (one connection at a time, each with one request; `-reuse` resumes
//! the session of a first connection it does not count), both checking the server's
//! certificate against the bench's CA, each pinned to the client core. The handshakes are the
//! clients' own counts; the CPU is the kernel's (`wait4`); nginx's log says how many of them it
//! resumed and with what.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use super::client::run_pinned;
use super::nginx::{HANDSHAKE_PATH, Logged, Nginx};
use super::s_time;
use super::summary::{Spread, goal_text, grouped, met, verdict};
use super::ttk;
use crate::report::{Figure, Goal};

/// ttk's full handshakes per CPU-second over s_time's.
pub(crate) const FULL_TARGET: Goal = Goal::AtLeast(1.0);
/// ttk's resumed handshakes per CPU-second over its full ones.
pub(crate) const RESUMED_TARGET: Goal = Goal::AtLeast(5.0);

/// The client making handshakes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Peer {
    /// `ttk http`.
    Ttk,
    /// `openssl s_time`.
    STime,
}

impl Peer {
    /// Its name, as in the table.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Peer::Ttk => "ttk",
            Peer::STime => "s_time",
        }
    }
}

/// Full or resumed handshakes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Every handshake full (`--tls-resume off`, `-new`).
    Full,
    /// Sessions resumed (`--tls-resume on`, `-reuse`).
    Resumed,
}

impl Mode {
    /// Its name, as in the table.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Mode::Full => "full",
            Mode::Resumed => "resumed",
        }
    }
}

/// Every run of a round, in the order of the first round.
pub(crate) const RUNS: [(Peer, Mode); 4] = [
    (Peer::Ttk, Mode::Full),
    (Peer::STime, Mode::Full),
    (Peer::Ttk, Mode::Resumed),
    (Peer::STime, Mode::Resumed),
];

/// One run's handshakes.
#[derive(Clone, Debug)]
pub(crate) struct Run {
    /// Handshakes made, as the client counted them.
    pub(crate) handshakes: u64,
    /// Failed connects, handshakes and requests (s_time stops at its first, with an error).
    pub(crate) failed: u64,
    /// Of the handshakes, those the client counted as resumed.
    pub(crate) resumed: u64,
    /// The client's user plus system CPU time, in seconds.
    pub(crate) cpu_s: f64,
    /// The client's run time from start to exit, in seconds.
    pub(crate) wall_s: f64,
    /// What nginx logged meanwhile.
    pub(crate) logged: Logged,
}

impl Run {
    /// Handshakes per second of client CPU.
    pub(crate) fn per_cpu_s(&self) -> Option<f64> {
        (self.cpu_s > 0.0 && self.handshakes > 0).then(|| self.handshakes as f64 / self.cpu_s)
    }

    /// Handshakes per second of the run.
    fn per_s(&self) -> f64 {
        self.handshakes as f64 / self.wall_s.max(f64::EPSILON)
    }

    /// The share of the requests nginx logged that came on a resumed session.
    fn server_resumed(&self) -> Option<f64> {
        (self.logged.requests > 0).then(|| self.logged.resumed as f64 / self.logged.requests as f64)
    }
}

/// One run of the bench.
#[derive(Debug)]
pub(crate) struct Sample {
    /// The round, from 0.
    pub(crate) round: usize,
    /// The client.
    pub(crate) peer: Peer,
    /// Full or resumed.
    pub(crate) mode: Mode,
    /// Its figures, or why it failed.
    pub(crate) run: Result<Run, String>,
}

/// Where the clients are and what they load.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Setup<'a> {
    /// ttk's executable, if it was built.
    pub(crate) ttk: Option<&'a Path>,
    /// openssl's executable.
    pub(crate) openssl: &'a Path,
    /// The CA that signed nginx's certificate.
    pub(crate) ca: &'a Path,
    /// ttk's connections (s_time makes one at a time).
    pub(crate) connections: u64,
    /// Seconds each run lasts.
    pub(crate) seconds: u64,
    /// The client core.
    pub(crate) core: usize,
    /// Where outputs go.
    pub(crate) dir: &'a Path,
}

/// Runs `peer` making `mode` handshakes against `server`'s HTTPS port.
pub(crate) fn run(setup: &Setup, peer: Peer, mode: Mode, server: &Nginx) -> Result<Run, String> {
    let addr = server.tls_addr.as_deref().ok_or("nginx serves no HTTPS")?;
    let files = format!("{}-handshakes-{}", peer.name(), mode.name());
    let report = setup.dir.join(format!("{files}.json"));
    let _ = std::fs::remove_file(&report);
    let seconds = setup.seconds.to_string();
    let mut command = match peer {
        Peer::Ttk => {
            let binary = setup.ttk.ok_or("ttk was not built")?;
            let mut command = Command::new(binary);
            command
                .args(["http", &format!("https://{addr}{HANDSHAKE_PATH}")])
                .args(["-H", "Connection: close"]);
            // Resumption is on by default: only full handshakes need the flag.
            if mode == Mode::Full {
                command.args(["--tls-resume", "off"]);
            }
            command
                .args(["-c", &setup.connections.to_string()])
                .args(["-d", &format!("{seconds}s"), "--workers", "1", "-q"])
                .arg("--json")
                .arg(&report)
                .arg("--cacert")
                .arg(setup.ca);
            command
        }
        Peer::STime => {
            let mut command = Command::new(setup.openssl);
            command
                .args(["s_time", "-connect", addr])
                .arg(if mode == Mode::Full { "-new" } else { "-reuse" })
                .args(["-time", &seconds, "-www", HANDSHAKE_PATH, "-CAfile"])
                .arg(setup.ca);
            command
        }
    };
    let label = format!("{} {} handshakes", peer.name(), mode.name());
    let position = server.log_position();
    let ran = run_pinned(&mut command, setup.seconds, setup.core, setup.dir, &files)?;
    let logged = server.logged_since(position)?;
    let ran = ran.check(&label)?;
    let (handshakes, failed, resumed) = match peer {
        Peer::Ttk => {
            let text = std::fs::read_to_string(&report)
                .map_err(|error| ran.failure(&label, &format!("no report: {error}")))?;
            let counts = ttk::handshakes(&text).map_err(|what| ran.failure(&label, &what))?;
            (counts.ok, counts.failed, counts.resumed)
        }
        Peer::STime => {
            let counts = s_time::parse(&ran.stdout).map_err(|what| ran.failure(&label, &what))?;
            (counts.connections, 0, counts.resumed)
        }
    };
    Ok(Run {
        handshakes,
        failed,
        resumed,
        cpu_s: ran.cpu_s,
        wall_s: ran.wall_s,
        logged,
    })
}

/// One client and mode over the rounds that succeeded.
#[derive(Debug)]
pub(crate) struct Line {
    /// The client.
    pub(crate) peer: Peer,
    /// Full or resumed.
    pub(crate) mode: Mode,
    /// Handshakes per client CPU-second.
    pub(crate) per_cpu_s: Spread,
    /// Handshakes per second.
    pub(crate) per_s: Spread,
    /// The share of its requests nginx logged as resumed.
    pub(crate) server_resumed: Option<Spread>,
    /// The runs' handshakes, failures and client-counted resumptions, added up.
    pub(crate) totals: (u64, u64, u64),
    /// What nginx negotiated with it, over every run: `protocol cipher group` and how often.
    pub(crate) suites: std::collections::BTreeMap<String, u64>,
}

/// Everything measured.
#[derive(Debug)]
pub(crate) struct Summary {
    /// Per client and mode.
    pub(crate) lines: Vec<Line>,
    /// ttk's full handshakes per CPU-second over s_time's, per round.
    pub(crate) ttk_over_s_time_full: Option<Spread>,
    /// ttk's resumed handshakes per CPU-second over its full ones, per round.
    pub(crate) ttk_resumed_over_full: Option<Spread>,
    /// ttk's resumed handshakes per CPU-second over s_time's, per round (no target).
    pub(crate) ttk_over_s_time_resumed: Option<Spread>,
    /// s_time's resumed handshakes per CPU-second over its full ones, per round (no target).
    pub(crate) s_time_resumed_over_full: Option<Spread>,
}

impl Summary {
    /// Brings `samples` together.
    pub(crate) fn new(samples: &[Sample]) -> Summary {
        let ok = |peer: Peer, mode: Mode| -> Vec<(usize, &Run)> {
            samples
                .iter()
                .filter(|s| s.peer == peer && s.mode == mode)
                .filter_map(|s| Some((s.round, s.run.as_ref().ok()?)))
                .collect()
        };
        let mut lines = Vec::new();
        for (peer, mode) in RUNS {
            let runs = ok(peer, mode);
            let rates: Vec<f64> = runs.iter().filter_map(|(_, r)| r.per_cpu_s()).collect();
            let Some(per_cpu_s) = Spread::of(&rates) else {
                continue;
            };
            let per_s: Vec<f64> = runs.iter().map(|(_, r)| r.per_s()).collect();
            let resumed: Vec<f64> = runs
                .iter()
                .filter_map(|(_, r)| r.server_resumed())
                .collect();
            let mut suites = std::collections::BTreeMap::new();
            let mut totals = (0, 0, 0);
            for (_, run) in &runs {
                totals.0 += run.handshakes;
                totals.1 += run.failed;
                totals.2 += run.resumed;
                for (suite, count) in &run.logged.suites {
                    *suites.entry(suite.clone()).or_default() += count;
                }
            }
            lines.push(Line {
                peer,
                mode,
                per_cpu_s,
                per_s: Spread::of(&per_s).unwrap_or(per_cpu_s),
                server_resumed: Spread::of(&resumed),
                totals,
                suites,
            });
        }
        // a's handshakes per CPU-second over b's, round by round.
        let ratio = |a: (Peer, Mode), b: (Peer, Mode)| -> Option<Spread> {
            let (a, b) = (ok(a.0, a.1), ok(b.0, b.1));
            let ratios: Vec<f64> = a
                .iter()
                .filter_map(|(round, run)| {
                    let (_, other) = b.iter().find(|(r, _)| r == round)?;
                    Some(run.per_cpu_s()? / other.per_cpu_s()?)
                })
                .collect();
            Spread::of(&ratios)
        };
        Summary {
            ttk_over_s_time_full: ratio((Peer::Ttk, Mode::Full), (Peer::STime, Mode::Full)),
            ttk_resumed_over_full: ratio((Peer::Ttk, Mode::Resumed), (Peer::Ttk, Mode::Full)),
            ttk_over_s_time_resumed: ratio(
                (Peer::Ttk, Mode::Resumed),
                (Peer::STime, Mode::Resumed),
            ),
            s_time_resumed_over_full: ratio(
                (Peer::STime, Mode::Resumed),
                (Peer::STime, Mode::Full),
            ),
            lines,
        }
    }

    /// The ratios with their targets: (what, spread, goal).
    fn ratios(&self) -> [(&'static str, Option<Spread>, Goal); 4] {
        [
            (
                "ttk / s_time full handshakes per CPU-second",
                self.ttk_over_s_time_full,
                FULL_TARGET,
            ),
            (
                "ttk resumed / full handshakes per CPU-second",
                self.ttk_resumed_over_full,
                RESUMED_TARGET,
            ),
            (
                "ttk / s_time resumed handshakes per CPU-second",
                self.ttk_over_s_time_resumed,
                Goal::None,
            ),
            (
                "s_time resumed / full handshakes per CPU-second",
                self.s_time_resumed_over_full,
                Goal::None,
            ),
        ]
    }

    /// The table printed to the terminal.
    pub(crate) fn table(&self, connections: u64) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "TLS handshakes, one request per connection (ttk: {connections} connections; s_time: \
             one at a time), per second of client CPU:"
        );
        let _ = writeln!(
            out,
            "{:<6} {:<7}  {:<28} {:<28} {:>12} {:>18}",
            "client",
            "mode",
            "per CPU-s median [range]",
            "per s median [range]",
            "resumed (*)",
            "failed / made"
        );
        for line in &self.lines {
            let _ = writeln!(
                out,
                "{:<6} {:<7}  {:<28} {:<28} {:>12} {:>18}",
                line.peer.name(),
                line.mode.name(),
                line.per_cpu_s.text(0),
                line.per_s.text(0),
                line.server_resumed
                    .map_or("-".to_owned(), |s| format!("{:.1} %", s.median * 100.0)),
                format!(
                    "{} / {}",
                    grouped(line.totals.1 as f64, 0),
                    grouped(line.totals.0 as f64, 0)
                ),
            );
        }
        let _ = writeln!(
            out,
            "(*) share of the requests nginx logged on a resumed session ($ssl_session_reused), \
             median over the rounds"
        );
        for line in &self.lines {
            let total: u64 = line.suites.values().sum();
            let suites: Vec<String> = line
                .suites
                .iter()
                .map(|(suite, count)| {
                    format!("{suite} ({:.0} %)", *count as f64 * 100.0 / total as f64)
                })
                .collect();
            let _ = writeln!(
                out,
                "negotiated with {} {}: {}; the client counted {} of {} resumed",
                line.peer.name(),
                line.mode.name(),
                suites.join(", "),
                grouped(line.totals.2 as f64, 0),
                grouped(line.totals.0 as f64, 0),
            );
        }
        for (what, spread, goal) in self.ratios() {
            let _ = writeln!(out, "{what}: {}", verdict(spread, goal));
        }
        out
    }

    /// The figures for `cargo xtask bench`'s summary.
    pub(crate) fn figures(&self) -> Vec<Figure> {
        let mut figures = Vec::new();
        for line in &self.lines {
            let s = line.per_cpu_s;
            figures.push(
                Figure::new(
                    format!(
                        "peers tls: {} handshakes per client CPU-second ({})",
                        line.mode.name(),
                        line.peer.name()
                    ),
                    s.median,
                    "/CPU-s",
                    Goal::None,
                )
                .with_range(s.min, s.max),
            );
        }
        for (what, spread, goal) in self.ratios() {
            let name = format!("peers tls: {what}");
            figures.push(match spread {
                Some(s) => Figure::new(name, s.median, "x", goal).with_range(s.min, s.max),
                // A client that did not run: a figure that should exist and does not.
                None => Figure::new(name, f64::NAN, "x", goal),
            });
        }
        figures
    }

    /// The ratios that missed their targets or could not be measured.
    pub(crate) fn missed(&self) -> Vec<String> {
        self.ratios()
            .into_iter()
            .filter(|(_, spread, goal)| match (spread, goal) {
                (_, Goal::None) => false,
                (Some(s), _) => met(s.median, *goal) == Some(false),
                (None, _) => true,
            })
            .map(|(what, _, _)| what.to_owned())
            .collect()
    }

    /// Medians and ratios as JSON.
    pub(crate) fn json(&self) -> serde_json::Value {
        let lines: Vec<serde_json::Value> = self
            .lines
            .iter()
            .map(|line| {
                serde_json::json!({
                    "client": line.peer.name(),
                    "mode": line.mode.name(),
                    "per_cpu_second": line.per_cpu_s.json(),
                    "per_second": line.per_s.json(),
                    "nginx_resumed_share": line.server_resumed.map(Spread::json),
                    "handshakes": line.totals.0,
                    "failed": line.totals.1,
                    "client_counted_resumed": line.totals.2,
                    "negotiated": line.suites,
                })
            })
            .collect();
        let ratios: Vec<serde_json::Value> = self
            .ratios()
            .into_iter()
            .map(|(what, spread, goal)| {
                serde_json::json!({
                    "what": what,
                    "ratio": spread.map(Spread::json),
                    "target": goal_text(goal),
                    "met": spread.and_then(|s| met(s.median, goal)),
                })
            })
            .collect();
        serde_json::json!({ "medians": lines, "ratios": ratios })
    }
}

/// One run as JSON, for the raw figures of every round.
pub(crate) fn sample_json(sample: &Sample) -> serde_json::Value {
    let mut json = serde_json::json!({
        "round": sample.round,
        "client": sample.peer.name(),
        "mode": sample.mode.name(),
    });
    match &sample.run {
        Ok(run) => {
            json["handshakes"] = run.handshakes.into();
            json["failed"] = run.failed.into();
            json["client_counted_resumed"] = run.resumed.into();
            json["cpu_s"] = run.cpu_s.into();
            json["wall_s"] = run.wall_s.into();
            json["per_cpu_second"] = run.per_cpu_s().into();
            json["nginx_requests"] = run.logged.requests.into();
            json["nginx_resumed"] = run.logged.resumed.into();
        }
        Err(error) => json["error"] = error.as_str().into(),
    }
    json
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(handshakes: u64, cpu_s: f64, resumed: u64) -> Result<Run, String> {
        Ok(Run {
            handshakes,
            failed: 0,
            resumed,
            cpu_s,
            wall_s: 5.0,
            logged: Logged {
                requests: handshakes,
                resumed,
                suites: [(
                    "TLSv1.3 TLS_AES_256_GCM_SHA384 X25519".to_owned(),
                    handshakes,
                )]
                .into(),
            },
        })
    }

    fn sample(round: usize, peer: Peer, mode: Mode, run: Result<Run, String>) -> Sample {
        Sample {
            round,
            peer,
            mode,
            run,
        }
    }

    #[test]
    fn ratios_are_per_cpu_second_and_round_by_round() {
        let samples = [
            sample(0, Peer::Ttk, Mode::Full, run(4_000, 2.0, 0)),
            sample(0, Peer::STime, Mode::Full, run(3_000, 1.0, 0)),
            sample(0, Peer::Ttk, Mode::Resumed, run(12_000, 1.0, 11_990)),
            sample(1, Peer::Ttk, Mode::Full, run(5_000, 2.0, 0)),
            sample(1, Peer::STime, Mode::Full, Err("refused".to_owned())),
            sample(1, Peer::Ttk, Mode::Resumed, run(12_500, 1.0, 12_490)),
        ];
        let summary = Summary::new(&samples);
        // Round 0 only for s_time: 2,000 / 3,000 per CPU-second.
        let full = summary.ttk_over_s_time_full.unwrap();
        assert!((full.median - 2.0 / 3.0).abs() < 1e-12);
        // 12,000 / 2,000 and 12,500 / 2,500: 6 and 5.
        let resumed = summary.ttk_resumed_over_full.unwrap();
        assert_eq!((resumed.min, resumed.max), (5.0, 6.0));
        assert!(summary.ttk_over_s_time_resumed.is_none());
        assert_eq!(
            summary.missed(),
            ["ttk / s_time full handshakes per CPU-second"]
        );
        let ttk = &summary.lines[0];
        assert_eq!(
            (ttk.peer, ttk.mode, ttk.totals.0),
            (Peer::Ttk, Mode::Full, 9_000)
        );
        assert!(summary.table(10).contains("MISSED"));
    }

    #[test]
    fn a_client_that_never_ran_misses() {
        let samples = [sample(0, Peer::STime, Mode::Full, run(3_000, 1.0, 0))];
        let summary = Summary::new(&samples);
        assert_eq!(summary.missed().len(), 2);
        assert!(
            crate::report::missed(&summary.figures())
                .iter()
                .all(|name| name.contains("ttk"))
        );
    }
}
