//! What watching a run costs it (`cargo xtask bench`'s live rows, or `cargo xtask live` alone):
//! `ttk http -c 100` against the peers' pinned nginx, plain and with its dashboard open and
//! scraped — a watcher fetching `/live`, `/status` and `/metrics` every second, as a browser tab
//! and a Prometheus do — in interleaved rounds (the order turned each round), its client CPU
//! per request from the kernel (`wait4`, every thread of ttk counted: the dashboard's server
//! and the collector too). The target is the issue's: at most 2 % more CPU per request. The
//! criterion bench `benches/live.rs` times what one reader's rendering costs: `/metrics` of 100
//! transactions under 5 ms.
//! `cargo xtask live-soak` (see `live/soak.rs`) holds a watched run for an hour and samples
//! its memory.

mod soak;
mod watcher;

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::cargo;
use crate::criterion::Results;
use crate::peers::{self, nginx};
use crate::report::{self, Figure, Goal};
pub(crate) use soak::{Plan as SoakPlan, USAGE as SOAK_USAGE, run as soak};
use watcher::Watcher;

/// Connections of the measured runs (the c100).
const CONNECTIONS: u64 = 100;
/// Seconds of each run.
const SECONDS: u64 = 5;
/// Rounds (each a plain and a watched run); `TTK_BENCH_LIVE_ROUNDS` overrides it.
const ROUNDS: usize = 9;
/// The budget: watched CPU per request over plain.
const OVERHEAD_BUDGET: f64 = 1.02;

/// The budget for one scrape of a run of 100 transactions, in milliseconds.
const SCRAPE_BUDGET_MS: f64 = 5.0;

/// What rendering for a reader costs (`benches/live.rs`, criterion): `/metrics` and the live
/// page of a report of 100 transactions, 10,000 latencies each.
pub(crate) fn render_figures(results: Results) -> Result<Vec<Figure>, String> {
    let ms = |function: &str| Ok::<_, String>(results.median_ns("live", function)? / 1e6);
    Ok(vec![
        Figure::new(
            "live: /metrics of 100 transactions, latencies to 10 ms",
            ms("metrics_100_transactions_10ms")?,
            "ms",
            Goal::AtMost(SCRAPE_BUDGET_MS),
        ),
        Figure::new(
            "live: /metrics of 100 transactions, latencies to 2 s",
            ms("metrics_100_transactions_2s")?,
            "ms",
            Goal::AtMost(SCRAPE_BUDGET_MS),
        ),
        Figure::new(
            "live: the page of 100 transactions, latencies to 2 s (once a second at most)",
            ms("page_100_transactions_2s")?,
            "ms",
            Goal::None,
        ),
    ])
}

/// The `ttk` binary, built for release from this workspace.
pub(crate) fn ttk_binary() -> Result<PathBuf, String> {
    cargo::run(&["build", "--release", "-p", "ttk-cli"])?;
    let binary = cargo::target_dir().join("release").join("ttk");
    match binary.is_file() {
        true => Ok(binary),
        false => Err(format!("ttk was built but {} is missing", binary.display())),
    }
}

/// `cargo xtask live`: the rounds, their table; an error if the target was missed.
pub(crate) fn run() -> Result<(), String> {
    report::print_and_judge(&figures()?)
}

/// The rounds' figures: CPU per request plain and watched, their ratio against its budget.
pub(crate) fn figures() -> Result<Vec<Figure>, String> {
    let rounds = match std::env::var("TTK_BENCH_LIVE_ROUNDS") {
        Ok(text) => text
            .parse()
            .ok()
            .filter(|&rounds| rounds > 0)
            .ok_or(format!("TTK_BENCH_LIVE_ROUNDS: not a count: {text:?}"))?,
        Err(_) => ROUNDS,
    };
    let ttk = ttk_binary()?;
    let nginx_binary = nginx::find().ok_or("nginx not found (Debian: apt-get install nginx)")?;
    let dir = cargo::target_dir().join("ttk-bench").join("live");
    std::fs::create_dir_all(&dir)
        .map_err(|error| format!("cannot create {}: {error}", dir.display()))?;
    let server = nginx::Nginx::start(&nginx_binary, dir.join("nginx"), peers::SERVER_CORE)?;
    let url = server.url();
    let (mut plain, mut watched, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    let mut scrapes = 0;
    for round in 0..rounds {
        // Each round's pair in turned order, so neither always runs first.
        let mut pair = [false, true];
        if round % 2 == 1 {
            pair.reverse();
        }
        let mut per_request = [0.0; 2];
        for watch in pair {
            let run = measure(&ttk, &url, watch, &dir)?;
            println!(
                "  live round {}/{rounds}, {}: {:.0} req/s, {:.3} µs CPU per request{}",
                round + 1,
                if watch { "watched" } else { "plain" },
                run.ok as f64 / run.seconds,
                run.cpu_us_per_request,
                match watch {
                    true => format!(", {} scrapes", run.scrapes),
                    false => String::new(),
                }
            );
            per_request[usize::from(watch)] = run.cpu_us_per_request;
            scrapes += run.scrapes;
            std::thread::sleep(std::time::Duration::from_secs(1));
        }
        plain.push(per_request[0]);
        watched.push(per_request[1]);
        ratios.push(per_request[1] / per_request[0]);
    }
    drop(server);
    Ok(vec![
        Figure::median_of(
            format!("live: ttk http -c {CONNECTIONS} CPU per request, plain"),
            &plain,
            "µs",
            Goal::None,
        ),
        Figure::median_of(
            format!(
                "live: the same with the dashboard open and scraped each second ({scrapes} scrapes)"
            ),
            &watched,
            "µs",
            Goal::None,
        ),
        Figure::median_of(
            "live: watched / plain CPU per request (interleaved rounds)",
            &ratios,
            "x",
            Goal::AtMost(OVERHEAD_BUDGET),
        ),
    ])
}

/// One measured run.
struct Run {
    /// Successful requests.
    ok: u64,
    /// The run's length as ttk measured it.
    seconds: f64,
    /// CPU per successful request, in microseconds.
    cpu_us_per_request: f64,
    /// `/metrics` fetches answered (0 unwatched).
    scrapes: u64,
}

/// Runs `ttk http url -c 100` pinned to the client core, watched if `watch`.
fn measure(ttk: &Path, url: &str, watch: bool, dir: &Path) -> Result<Run, String> {
    let report = dir.join(if watch { "watched.json" } else { "plain.json" });
    let _ = std::fs::remove_file(&report);
    let mut command = Command::new(ttk);
    command
        .args(["http", url, "-c", &CONNECTIONS.to_string()])
        .args([
            "-d",
            &format!("{SECONDS}s"),
            "--workers",
            "1",
            "-q",
            "--json",
        ])
        .arg(&report);
    let watcher = match watch {
        true => {
            let addr = watcher::free_addr()?;
            command.arg(format!("--dashboard={addr}"));
            Some(Watcher::start(addr))
        }
        false => None,
    };
    let files = if watch { "watched" } else { "plain" };
    let ran = peers::run_pinned(&mut command, SECONDS, peers::CLIENT_CORE, dir, files);
    let watched = watcher.map(Watcher::stop);
    let label = format!(
        "ttk http -c {CONNECTIONS}{}",
        if watch { " --dashboard" } else { "" }
    );
    let ran = ran?.check(&label)?;
    let text = std::fs::read_to_string(&report)
        .map_err(|error| format!("{label} wrote no report: {error}"))?;
    let output = peers::parse_ttk(&text)?;
    if output.ok == 0 || output.errors > 0 {
        return Err(format!(
            "{label}: {} ok, {} failed: the run must be clean to be measured",
            output.ok, output.errors
        ));
    }
    let scrapes = match watched {
        None => 0,
        Some(watched) => {
            // A watcher that saw little measured little: every second but the first must have
            // been scraped.
            if watched.scrapes() + 1 < SECONDS {
                return Err(format!(
                    "{label}: the watcher scraped {} times in {SECONDS} s (first failure: {})",
                    watched.scrapes(),
                    watched.first_failure.as_deref().unwrap_or("none")
                ));
            }
            watched.scrapes()
        }
    };
    Ok(Run {
        ok: output.ok,
        seconds: output.seconds,
        cpu_us_per_request: ran.cpu_s * 1e6 / output.ok as f64,
        scrapes,
    })
}
