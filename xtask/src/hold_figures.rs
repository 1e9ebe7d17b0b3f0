//! The figures of a `cargo xtask hold` run, from its samples and the client's merged report:
//! the table, `hold.json`, and whether every connection was held.

use std::path::Path;
use std::process::ExitStatus;

use serde_json::Value as Json;

use crate::hold::Plan;
use crate::report::{self, Figure, Goal};
use crate::sampler::Sample;

/// Everything a run left to report on.
pub(crate) struct Outcome<'a> {
    /// What was run.
    pub(crate) plan: &'a Plan,
    /// The machine before the target started.
    pub(crate) before: &'a Sample,
    /// One sample a second while the client ran.
    pub(crate) samples: &'a [Sample],
    /// The machine once both had stopped.
    pub(crate) after: &'a Sample,
    /// How the client ended.
    pub(crate) status: ExitStatus,
    /// The client's merged report, or why there is none.
    pub(crate) report: Result<Json, String>,
}

/// Prints the table, writes `json_path`, and fails unless every connection was held (all
/// connected at once, no connect and no request failed, the client exited 0).
pub(crate) fn report(outcome: &Outcome<'_>, json_path: &Path) -> Result<(), String> {
    let plan = outcome.plan;
    let before = outcome.before;
    let (figures, mut problems) = figures(outcome);
    println!("\n{}", report::table(&figures));
    if !outcome.status.success() {
        problems.push(format!("the client exited with {}", outcome.status));
    }
    let report = outcome.report.as_ref().ok();
    let json = serde_json::json!({
        "plan": {
            "connections": plan.connections,
            "client_processes": plan.processes,
            "target_processes": plan.targets,
            "ramp_up_s": plan.ramp_up_s,
            "hold_s": plan.hold_s,
            "every_s": plan.every_s,
        },
        "summary": report::json(&figures, &problems),
        "errors": report.map(errors_by_kind),
        "client_exit": outcome.status.code(),
        "before": before.json(),
        "after": outcome.after.json(),
        "samples": outcome.samples.iter().map(Sample::json).collect::<Vec<_>>(),
    });
    let text = serde_json::to_string_pretty(&json).expect("JSON of numbers and strings");
    std::fs::write(json_path, text)
        .map_err(|error| format!("cannot write {}: {error}", json_path.display()))?;
    println!("wrote {}", json_path.display());
    let leftover = outcome.after.connections_above(before);
    println!(
        "after the run: {leftover} connections above the start, {} TCP sockets in use",
        outcome.after.tcp_inuse
    );
    match problems.is_empty() {
        true => Ok(()),
        false => Err(format!(
            "{} connections were not held: {}",
            plan.connections,
            problems.join("; ")
        )),
    }
}

/// The figures, and the reasons the run did not hold every connection, if any.
fn figures(outcome: &Outcome<'_>) -> (Vec<Figure>, Vec<String>) {
    let plan = outcome.plan;
    let before = outcome.before;
    let samples = outcome.samples;
    let mut problems = Vec::new();
    // The target's count lags by up to two seconds: among the samples at its peak, the one
    // with the most sockets established is on the plateau, not in the closing.
    let Some(peak) = samples
        .iter()
        .max_by_key(|sample| (sample.target_open, sample.established))
    else {
        return (Vec::new(), vec!["no sample was taken".to_owned()]);
    };
    let held = peak.target_open;
    let mut figures = vec![
        Figure::new(
            "connections held at once (peak, counted by the target)",
            held as f64,
            "conns",
            Goal::AtLeast(plan.connections as f64),
        ),
        Figure::new(
            "  established sockets / 2 at that moment (machine-wide)",
            peak.connections_above(before) as f64,
            "conns",
            Goal::None,
        ),
    ];
    if held < plan.connections {
        problems.push(format!("the target held at most {held} at once"));
    }
    match samples
        .iter()
        .find(|sample| sample.target_open >= plan.connections)
    {
        Some(full) => figures.push(Figure::new(
            "time to hold them all (from the client's start)",
            full.t,
            "s",
            Goal::None,
        )),
        None => figures.push(Figure::skipped(
            "time to hold them all (from the client's start)",
            "never all held",
            "s",
            Goal::None,
        )),
    }
    match &outcome.report {
        Ok(report) => figures.extend(report_figures(report, &mut problems)),
        Err(error) => problems.push(error.clone()),
    }

    // Memory: the client's at its start is its processes before (nearly) any connection.
    let start = samples
        .iter()
        .find(|sample| sample.client.processes > plan.processes)
        .unwrap_or(&samples[0]);
    let held_f = held.max(1) as f64;
    let added = held.saturating_sub(start.target_open).max(1) as f64;
    let kib = |value: u64| value as f64 * 1024.0;
    figures.extend([
        Figure::new(
            format!(
                "client RSS at the peak ({} processes)",
                peak.client.processes
            ),
            peak.client.kib as f64 / 1024.0,
            "MiB",
            Goal::None,
        ),
        Figure::new(
            "client RSS per connected bot (all of it / connections)",
            kib(peak.client.kib) / held_f,
            "B/bot",
            Goal::None,
        ),
        Figure::new(
            "client RSS per connected bot (above the processes' start)",
            kib(peak.client.kib.saturating_sub(start.client.kib)) / added,
            "B/bot",
            Goal::None,
        ),
        Figure::new(
            format!(
                "target RSS at the peak ({} processes)",
                peak.target.processes
            ),
            peak.target.kib as f64 / 1024.0,
            "MiB",
            Goal::None,
        ),
        Figure::new(
            "target RSS per connection (above its start)",
            kib(peak.target.kib.saturating_sub(samples[0].target.kib)) / held_f,
            "B/conn",
            Goal::None,
        ),
        Figure::new(
            "kernel slab above the start (both ends)",
            peak.slab_kib.saturating_sub(before.slab_kib) as f64 / 1024.0,
            "MiB",
            Goal::None,
        ),
        Figure::new(
            "kernel slab per connection (both ends)",
            kib(peak.slab_kib.saturating_sub(before.slab_kib)) / held_f,
            "B/conn",
            Goal::None,
        ),
        Figure::new(
            "  of it unreclaimable (SUnreclaim)",
            kib(peak.sunreclaim_kib.saturating_sub(before.sunreclaim_kib)) / held_f,
            "B/conn",
            Goal::None,
        ),
        Figure::new(
            "TCP buffer memory at the peak (sockstat mem)",
            peak.tcp_mem_pages as f64 * 4.0,
            "KiB",
            Goal::None,
        ),
        Figure::new(
            "memory available at the peak",
            peak.available_kib as f64 / 1024.0 / 1024.0,
            "GiB",
            Goal::None,
        ),
    ]);
    figures.extend(cpu_figures(plan, samples));
    if let Some(entries) = peak.conntrack {
        figures.push(Figure::new(
            "conntrack entries at the peak",
            entries as f64,
            "entries",
            Goal::None,
        ));
    }
    (figures, problems)
}

/// CPU use while the bots connected and while they held: the client's and the target's (in
/// CPUs: 2.0 is both cores) and the machine's (other users' work included).
fn cpu_figures(plan: &Plan, samples: &[Sample]) -> Vec<Figure> {
    let ramp_end = plan.ramp_up_s as f64 + 1.0;
    let hold_end = (plan.ramp_up_s + plan.hold_s) as f64;
    let mut figures = Vec::new();
    for (phase, from, to) in [
        ("connecting", 1.0, ramp_end),
        ("holding", ramp_end + 1.0, hold_end),
    ] {
        let during: Vec<&Sample> = samples
            .iter()
            .filter(|sample| sample.t > from && sample.t <= to)
            .collect();
        let mean = |value: fn(&Sample) -> f64| {
            during.iter().map(|sample| value(sample)).sum::<f64>() / during.len().max(1) as f64
        };
        for (what, value, unit) in [
            ("client CPUs used", mean(|s| s.client_cpus), "CPUs"),
            ("target CPUs used", mean(|s| s.target_cpus), "CPUs"),
            (
                "machine busy (all users)",
                mean(|s| s.cpu_busy * 100.0),
                "%",
            ),
        ] {
            let name = format!("{what} while {phase}");
            figures.push(match during.is_empty() {
                true => Figure::skipped(name, "no sample", unit, Goal::None),
                false => Figure::new(name, value, unit, Goal::None),
            });
        }
    }
    figures
}

/// Figures from the client's merged report: connects and requests, the gauge, the ramp rate.
fn report_figures(report: &Json, problems: &mut Vec<String>) -> Vec<Figure> {
    let mut figures = Vec::new();
    for name in ["connect", "request"] {
        let transaction = transaction(report, name);
        let count = |field: &str| transaction.and_then(|t| t[field].as_u64()).unwrap_or(0);
        let (ok, failed) = (count("ok"), count("failed"));
        figures.push(Figure::new(
            format!("{name}: ok"),
            ok as f64,
            "",
            Goal::None,
        ));
        figures.push(Figure::new(
            format!("{name}: failed"),
            failed as f64,
            "",
            Goal::AtMost(0.0),
        ));
        if failed > 0 {
            problems.push(format!("{failed} {name}s failed"));
        }
        if name == "connect" && ok == 0 {
            problems.push("no connect succeeded".to_owned());
        }
    }
    if let Some(max) = report["gauges"]["connections"]["max"].as_u64() {
        figures.push(Figure::new(
            "connections gauge, summed over processes (max)",
            max as f64,
            "conns",
            Goal::None,
        ));
    }
    let series = report["series"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    let per_second = |name: &str| -> Vec<(u64, u64)> {
        series
            .iter()
            .filter_map(|second| {
                let ok = second["transactions"][name]["ok"].as_u64()?;
                Some((second["t"].as_u64()?, ok))
            })
            .filter(|(_, ok)| *ok > 0)
            .collect()
    };
    let connects = per_second("connect");
    if let (Some(first), Some(last)) = (connects.first(), connects.last()) {
        let total: u64 = connects.iter().map(|(_, ok)| ok).sum();
        let seconds = (last.0 - first.0 + 1) as f64;
        let peak = connects.iter().map(|(_, ok)| *ok).max().unwrap_or(0);
        figures.push(Figure::new(
            format!("ramp: connects per second (mean over {seconds} s)"),
            total as f64 / seconds,
            "conn/s",
            Goal::None,
        ));
        figures.push(Figure::new(
            "ramp: connects in the busiest second",
            peak as f64,
            "conn/s",
            Goal::None,
        ));
    }
    let worst_p99 = series
        .iter()
        .filter_map(|second| second["transactions"]["request"]["p99_us"].as_u64())
        .max();
    if let Some(p99) = worst_p99 {
        figures.push(Figure::new(
            "request p99, worst second",
            p99 as f64 / 1000.0,
            "ms",
            Goal::None,
        ));
    }
    let requests = per_second("request");
    if let Some(peak) = requests.iter().map(|(_, ok)| *ok).max() {
        figures.push(Figure::new(
            "requests answered in the busiest second",
            peak as f64,
            "req/s",
            Goal::None,
        ));
    }
    figures
}

/// The transaction `name` of a report.
fn transaction<'a>(report: &'a Json, name: &str) -> Option<&'a Json> {
    report["transactions"]
        .as_array()?
        .iter()
        .find(|transaction| transaction["name"] == name)
}

/// Every transaction's failures by kind, with their samples, and the bots' own.
fn errors_by_kind(report: &Json) -> Json {
    let mut errors = serde_json::Map::new();
    for transaction in report["transactions"].as_array().into_iter().flatten() {
        if let Some(name) = transaction["name"].as_str() {
            errors.insert(name.to_owned(), transaction["errors"].clone());
        }
    }
    errors.insert("bots".to_owned(), report["bots"]["errors"].clone());
    Json::Object(errors)
}
