//! `cargo xtask bench`: criterion benches + probes + `ttk http` beside wrk, hey and oha (see
//! `peers.rs`) → table and `summary.json`.

use std::time::SystemTime;

use crate::cargo;
use crate::criterion::Results;
use crate::noise::Noise;
use crate::probe;
use crate::report::{self, Figure, Goal};

/// Bots per iteration of the spawn bench.
const SPAWN_BOTS: f64 = 100_000.0;
/// Bots in the memory probe.
const MEMORY_BOTS: u64 = 1_000_000;
/// Runs of each memory probe; the median is reported.
const MEMORY_RUNS: usize = 3;

/// Runs everything and reports: prints the table, writes `summary.json`, and fails (so the
/// process exits non-zero) if any figure missed its target or could not be measured.
/// `criterion_args` go to the bench binaries (e.g. `--quick`).
pub(crate) fn run(criterion_args: &[String]) -> Result<(), String> {
    let dir = cargo::target_dir().join("ttk-bench");
    let summary = dir.join("summary.json");
    // An earlier run's summary must not outlive a run that fails before writing its own.
    match std::fs::remove_file(&summary) {
        Ok(()) => {}
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => return Err(format!("cannot remove {}: {error}", summary.display())),
    }
    // Before anything of the bench's own (the build included) loads the machine.
    let noise_at_start = Noise::measure();
    if let Ok(noise) = &noise_at_start {
        println!("{}", noise.line("start"));
    }
    cargo::run(&[
        "build",
        "--release",
        "-p",
        "ttk-benches",
        "--bin",
        "mem_probe",
        "--bin",
        "net_probe",
        "--bin",
        "session_probe",
        "--bin",
        "metrics_probe",
        "--bin",
        "yield_probe",
        "--bin",
        "tick_probe",
        "--bin",
        "rooms_probe",
        "--bin",
        "workers_probe",
        "--bin",
        "ws_probe",
        "--bin",
        "day_probe",
        "-p",
        "ttk-examples",
        "--bin",
        "echo_target",
        "--example",
        "udp_storm",
    ])?;

    let mut figures = Vec::new();
    let mut errors = Vec::new();
    let mut record = |section: Result<Vec<Figure>, String>| match section {
        Ok(measured) => figures.extend(measured),
        Err(error) => errors.push(error),
    };
    record(crate::yields::figures());
    record(crate::instructions::figures());
    record(crate::ticks::figures());
    record(crate::rooms::figures());
    let started = SystemTime::now();
    match run_criterion(criterion_args) {
        Ok(()) => {
            let results = Results::since(started);
            record(scheduler_figures(results));
            record(echo_latency_figures(results));
            record(together_figures(results));
            record(crate::timeouts::figures(results));
            record(crate::metrics::timing_figures(results));
            record(crate::live::render_figures(results));
        }
        Err(error) => record(Err(error)),
    }
    record(memory_figures());
    record(crate::sessions::figures());
    record(crate::workers::figures());
    record(crate::metrics::probe_figures());
    record(crate::net::figures());
    record(crate::conditions::figures());
    record(crate::netem::figures());
    record(crate::enet::figures());
    record(crate::quic::figures());
    record(crate::ws::figures());
    record(crate::day::figures());
    record(crate::live::figures());
    // Last: it builds ttk-cli, and its rounds take a few minutes. A client the machine lacks is
    // skipped, not missed; ttk failing to build or run is a failure.
    match crate::peers::measure(&crate::peers::Plan::default()) {
        Ok(measured) => {
            record(Ok(measured.figures));
            for failure in measured.failures {
                record(Err(format!("peers: {failure}")));
            }
        }
        Err(error) => record(Err(format!("peers: {error}"))),
    }

    let noise_at_end = Noise::measure();
    let mut noise_json = serde_json::Map::new();
    let mut noise_lines = String::new();
    for (when, noise) in [("start", noise_at_start), ("end", noise_at_end)] {
        match noise {
            Ok(noise) => {
                noise_lines.push_str(&noise.line(when));
                noise_lines.push('\n');
                noise_json.insert(when.to_owned(), noise.json());
            }
            Err(error) => record(Err(format!("noise at {when}: {error}"))),
        }
    }

    let table = report::table(&figures);
    println!("\n{noise_lines}{table}");
    for error in &errors {
        println!("not measured: {error}");
    }
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let mut summary_json = report::json(&figures, &errors);
    summary_json["noise"] = serde_json::Value::Object(noise_json);
    let json = serde_json::to_string_pretty(&summary_json).expect("JSON of numbers");
    std::fs::write(&summary, json)
        .map_err(|e| format!("cannot write {}: {e}", summary.display()))?;
    println!("wrote {}", summary.display());

    let missed = report::missed(&figures);
    match (missed.is_empty(), errors.is_empty()) {
        (true, true) => Ok(()),
        (false, _) => Err(format!(
            "{} figure(s) missed their targets: {}{}",
            missed.len(),
            missed.join("; "),
            if errors.is_empty() {
                String::new()
            } else {
                format!("; and {} section(s) failed", errors.len())
            }
        )),
        (true, false) => Err(format!("{} section(s) failed", errors.len())),
    }
}

/// Runs the criterion benches with `criterion_args`.
fn run_criterion(criterion_args: &[String]) -> Result<(), String> {
    let mut bench_args = vec![
        "bench",
        "-p",
        "ttk-benches",
        "--bench",
        "scheduler",
        "--bench",
        "echo",
        "--bench",
        "together",
        "--bench",
        "timeouts",
        "--bench",
        "metrics",
        "--bench",
        "live",
        "--",
    ];
    bench_args.extend(criterion_args.iter().map(String::as_str));
    cargo::run(&bench_args)
}

/// Spawn cost. (The yield and tick figures come from interleaved probes, see `yields.rs` and
/// `ticks.rs`; criterion's round-robin and parked-bots groups are for people profiling by
/// hand.)
fn scheduler_figures(results: Results) -> Result<Vec<Figure>, String> {
    let spawn = results.median_ns("spawn_100k", "ttk")? / SPAWN_BOTS;
    Ok(vec![Figure::new(
        "spawn+run+drop, per bot",
        spawn,
        "ns",
        Goal::None,
    )])
}

/// Time per echo round trip from the criterion bench (the loop's throughput, not latency).
fn echo_latency_figures(results: Results) -> Result<Vec<Figure>, String> {
    let mut figures = Vec::new();
    for bots in [100.0, 1000.0] {
        let function = format!("{bots}_bots");
        let per_request = results.median_ns("echo_round_trips", &function)? / (bots * 100.0);
        figures.push(Figure::new(
            format!("echo {bots} bots (criterion): wall time per request"),
            per_request / 1000.0,
            "us",
            Goal::None,
        ));
    }
    Ok(figures)
}

/// Messages, barriers, virtual time and timers.
fn together_figures(results: Results) -> Result<Vec<Figure>, String> {
    let message = results.median_ns("messages", "send_and_receive_100k")? / 100_000.0;
    let barrier = results.median_ns("barrier", "10k_bots_10_rounds")? / 100_000.0;
    let hour = results.median_ns("virtual_time", "hour_10k_sleeping_bots")? / 1e6;
    let timer = results.median_ns("virtual_time", "1m_timers")? / 1e6;
    let figure = Figure::new;
    Ok(vec![
        figure("message send+receive", message, "ns", Goal::AtMost(50.0)),
        figure("barrier wait, 10k bots, per bot", barrier, "ns", Goal::None),
        figure(
            "virtual hour, 10k sleeping bots",
            hour,
            "ms",
            Goal::AtMost(1000.0),
        ),
        figure("1M bots each sleep once (virtual)", timer, "ms", Goal::None),
    ])
}

/// Peak RSS per trivial bot above an empty process.
fn memory_figures() -> Result<Vec<Figure>, String> {
    let empty = median_peak_rss(0)?;
    let full = median_peak_rss(MEMORY_BOTS)?;
    let per_bot = full.saturating_sub(empty) as f64 / MEMORY_BOTS as f64;
    Ok(vec![Figure::new(
        "memory: peak RSS per trivial bot (1M)",
        per_bot,
        "B/bot",
        Goal::AtMost(64.0),
    )])
}

/// The median peak RSS of `MEMORY_RUNS` runs of the memory probe with `bots` bots.
fn median_peak_rss(bots: u64) -> Result<u64, String> {
    let mut peaks = Vec::with_capacity(MEMORY_RUNS);
    for _ in 0..MEMORY_RUNS {
        let json = probe::json("mem_probe", &[&bots.to_string()])?;
        peaks.push(
            json["peak_rss_bytes"]
                .as_u64()
                .ok_or("mem_probe: no peak_rss_bytes")?,
        );
    }
    peaks.sort_unstable();
    Ok(peaks[MEMORY_RUNS / 2])
}
