//! The TLS rows of `cargo xtask peers` (issue 15): nginx serving the same 13-byte body over
//! HTTPS with a certificate made here (see `pki.rs`), pinned as for the plain rows, and three
//! measurements, every one once per round, in an order that turns each round:
//!
//! - HTTPS keep-alive: `ttk http https://… --cacert CA` beside `wrk https://…` at 100
//!   connections, one client core each: requests/s and client CPU per request (see
//!   `summary.rs`; ttk's target is at most wrk's CPU per request).
//! - Handshakes: full and resumed handshakes per client CPU-second, ttk beside `openssl
//!   s_time` (see `handshakes.rs`).
//! - Memory per idle connected TLS bot at 10,000 bots (see `idle.rs`).
//!
//! A tool this machine lacks is reported as skipped; nothing is made up.

use std::path::Path;

use super::client::{self, Client, Kind, Target};
use super::handshakes::{self, Setup};
use super::idle;
use super::nginx::{self, Nginx};
use super::pki::{self, Pki};
use super::summary::{self, Summary};
use super::{CLIENT_CORE, PAUSE, Plan, Records, SERVER_CORE, keep_alive_round, machine};
use crate::cargo;
use crate::report::Figure;

/// The connection counts of the HTTPS keep-alive rows.
const KEEP_ALIVE_CONNECTIONS: [u64; 1] = [100];
/// ttk's connections in the handshake rows.
const HANDSHAKE_CONNECTIONS: u64 = 10;

/// What the TLS rows gave.
pub(crate) struct Measured {
    /// For the bench summary.
    pub(crate) figures: Vec<Figure>,
    /// Runs and builds that failed.
    pub(crate) failures: Vec<String>,
    /// Targets missed.
    pub(crate) missed: Vec<String>,
    /// For `peers.json`.
    pub(crate) json: serde_json::Value,
}

impl Measured {
    /// Rows that could not be measured at all, and why.
    fn none(skipped: Option<String>, failure: Option<String>) -> Measured {
        Measured {
            figures: Vec::new(),
            failures: failure.iter().cloned().collect(),
            missed: Vec::new(),
            json: serde_json::json!({ "skipped": skipped, "failures": failure.into_iter().collect::<Vec<_>>() }),
        }
    }
}

/// Runs the TLS rows against an nginx of `nginx_binary` with `clients` (those this machine
/// has; `wrk_skipped` says why wrk is missing, if it is), files under `dir`, outputs in `work`.
pub(crate) fn measure(
    plan: &Plan,
    nginx_binary: &Path,
    clients: &[Client],
    wrk_skipped: Option<&str>,
    dir: &Path,
    work: &Path,
) -> Measured {
    let Some(openssl) = client::on_path("openssl") else {
        let reason = "openssl not found on PATH (Debian: apt-get install openssl): it makes the \
                      certificates and is the s_time peer";
        println!("\nskipped: the TLS rows ({reason})");
        return Measured::none(Some(reason.to_owned()), None);
    };
    let pki = match Pki::make(&openssl, &dir.join("peers-pki")) {
        Ok(pki) => pki,
        Err(error) => return Measured::none(None, Some(format!("TLS certificates: {error}"))),
    };
    let mut failures = Vec::new();
    let probe = match cargo::run(&[
        "build",
        "--release",
        "-p",
        "ttk-benches",
        "--bin",
        "net_probe",
    ]) {
        Ok(()) => Some(crate::probe::path("net_probe")),
        Err(error) => {
            failures.push(format!("net_probe could not be built: {error}"));
            None
        }
    };
    let server =
        match Nginx::start_tls(nginx_binary, dir.join("peers-nginx-tls"), SERVER_CORE, &pki) {
            Ok(server) => server,
            Err(error) => return Measured::none(None, Some(format!("nginx with TLS: {error}"))),
        };
    let url = server.tls_url("/").expect("started with TLS");
    let tls_addr = server.tls_addr.clone().expect("started with TLS");
    let keep_alive: Vec<&Client> = clients
        .iter()
        .filter(|client| matches!(client.kind, Kind::Ttk | Kind::Wrk))
        .collect();
    let ttk = clients
        .iter()
        .find(|client| client.kind == Kind::Ttk)
        .map(|client| client.binary.clone());
    let setup = Setup {
        ttk: ttk.as_deref(),
        openssl: &openssl,
        ca: &pki.ca,
        connections: HANDSHAKE_CONNECTIONS,
        seconds: plan.seconds,
        core: CLIENT_CORE,
        dir: work,
    };

    let load_before = machine::load_average();
    println!(
        "\npeers, TLS: nginx HTTPS on {tls_addr} (core {SERVER_CORE}), clients on core \
         {CLIENT_CORE}, {} round(s) of {} s",
        plan.rounds, plan.seconds
    );
    let mut samples = Vec::new();
    let mut shakes = Vec::new();
    let mut idles = Vec::new();
    for round in 0..plan.rounds {
        let r = round + 1;
        for &connections in &KEEP_ALIVE_CONNECTIONS {
            let target = Target {
                url: &url,
                cacert: Some(&pki.ca),
            };
            let records = Records {
                samples: &mut samples,
                failures: &mut failures,
            };
            keep_alive_round(
                round,
                plan,
                connections,
                &keep_alive,
                &target,
                work,
                &server,
                "https, ",
                records,
            );
        }
        let mut order = handshakes::RUNS;
        order.rotate_left(round % handshakes::RUNS.len());
        for (peer, mode) in order {
            if peer == handshakes::Peer::Ttk && setup.ttk.is_none() {
                continue; // ttk's build failure is reported already.
            }
            let run = handshakes::run(&setup, peer, mode, &server);
            match &run {
                Ok(run) => println!(
                    "  round {r}/{}, {} {} handshakes: {:.0} per CPU-second ({} in {:.2} s of \
                     CPU), nginx logged {} of {} resumed",
                    plan.rounds,
                    peer.name(),
                    mode.name(),
                    run.per_cpu_s().unwrap_or(0.0),
                    run.handshakes,
                    run.cpu_s,
                    run.logged.resumed,
                    run.logged.requests,
                ),
                Err(error) => {
                    println!("  round {r}: {error}");
                    failures.push(format!("round {r}: {error}"));
                }
            }
            shakes.push(handshakes::Sample {
                round,
                peer,
                mode,
                run,
            });
            std::thread::sleep(PAUSE);
        }
        if let Some(probe) = &probe {
            let run = idle::run(probe, &tls_addr, &pki.ca, plan.idle_bots, CLIENT_CORE, work);
            match &run {
                Ok(run) => println!(
                    "  round {r}/{}, {} idle TLS bots: {:.2} KiB peak RSS per bot, {:.2} KiB \
                     RSS, {:.2} KiB kernel TCP memory per connection",
                    plan.rounds,
                    run.bots,
                    run.peak_kib(),
                    run.rss_kib(),
                    run.kernel_kib(),
                ),
                Err(error) => {
                    println!("  round {r}: {error}");
                    failures.push(format!("round {r}: {error}"));
                }
            }
            idles.push((round, run));
            std::thread::sleep(PAUSE);
        }
    }
    drop(server);
    let load_after = machine::load_average();

    let keep_alive_summary = Summary::new(&samples, &KEEP_ALIVE_CONNECTIONS, summary::HTTPS);
    let shake_summary = handshakes::Summary::new(&shakes);
    let idle_runs: Vec<&idle::Run> = idles
        .iter()
        .filter_map(|(_, run)| run.as_ref().ok())
        .collect();
    let idle_summary = idle::Summary::new(&idle_runs);

    let mut missed = keep_alive_summary.missed(wrk_skipped.is_some());
    missed.extend(shake_summary.missed());
    match &idle_summary {
        Some(summary) => missed.extend(summary.missed()),
        None => missed.push("client peak RSS per idle TLS bot: not measured".to_owned()),
    }
    let skipped: Vec<(Kind, String)> = wrk_skipped
        .map(|reason| (Kind::Wrk, reason.to_owned()))
        .into_iter()
        .collect();
    println!(
        "\nHTTPS keep-alive (ttk --cacert; wrk checks no certificate):\n{}",
        keep_alive_summary.table(&skipped, &[])
    );
    println!("{}", shake_summary.table(HANDSHAKE_CONNECTIONS));
    match &idle_summary {
        Some(summary) => println!("{}", summary.table()),
        None => println!("idle TLS bots: not measured\n"),
    }
    println!("TLS load average before: {load_before}; after: {load_after}");

    let mut figures = keep_alive_summary.figures(wrk_skipped);
    figures.extend(shake_summary.figures());
    if let Some(summary) = &idle_summary {
        figures.extend(summary.figures());
    }
    let json = serde_json::json!({
        "plan": {
            "keep_alive_connections": KEEP_ALIVE_CONNECTIONS,
            "handshake_connections_ttk": HANDSHAKE_CONNECTIONS,
            "handshake_path": nginx::HANDSHAKE_PATH,
            "idle_bots": plan.idle_bots,
            "keys": pki::KEYS,
            "nginx": "TLSv1.2 and TLSv1.3, ssl_session_cache shared, ssl_session_tickets on",
        },
        "load_average": { "before": load_before, "after": load_after },
        "tools": { "openssl": machine::version(&openssl, Some("version")) },
        "skipped": skipped.iter().map(|(kind, reason)| serde_json::json!({
            "client": kind.name(), "reason": reason,
        })).collect::<Vec<_>>(),
        "failures": failures,
        "missed": missed,
        "keep_alive": {
            "runs": samples.iter().map(summary::sample_json).collect::<Vec<_>>(),
            "summary": keep_alive_summary.json(),
        },
        "handshakes": {
            "runs": shakes.iter().map(handshakes::sample_json).collect::<Vec<_>>(),
            "summary": shake_summary.json(),
        },
        "idle": {
            "runs": idles.iter().map(|(round, run)| idle::run_json(*round, run)).collect::<Vec<_>>(),
            "summary": idle_summary.as_ref().map(idle::Summary::json),
        },
    });
    Measured {
        figures,
        failures,
        missed,
        json,
    }
}
