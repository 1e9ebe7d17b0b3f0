//! Figures of a day-long run (`day_probe`): 24 hours of 30 transactions through the harness
//! on a virtual clock. What the collector keeps (the whole-run histograms and the bounded
//! series) must fit 32 MiB, and the JSON report must stay a size a browser opens.

use std::process::Command;

use crate::probe::{self, number};
use crate::report::{self, Figure, Goal};

/// Hours of the run.
const HOURS: &str = "24";
/// The most the report (whole-run histograms and series) may take in memory, in MiB.
const COLLECTOR_MIB: f64 = 32.0;
/// The most the JSON report may take, in MB.
const JSON_MB: f64 = 20.0;

/// The day's memory and size figures.
pub(crate) fn figures() -> Result<Vec<Figure>, String> {
    let dir = crate::cargo::target_dir().join("ttk-bench");
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let path = dir.join("day.json");
    let binary = probe::path("day_probe");
    let output = Command::new(&binary)
        .arg(HOURS)
        .arg(&path)
        .output()
        .map_err(|error| format!("cannot run {}: {error}", binary.display()))?;
    if !output.status.success() {
        return Err(format!("day_probe failed: {output:?}"));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let last = stdout.lines().last().unwrap_or_default();
    let json: serde_json::Value = serde_json::from_str(last)
        .map_err(|error| format!("day_probe printed no JSON line: {error}: {stdout}"))?;
    let mib = |key: &str| number(&json, key).map(|bytes| bytes / (1024.0 * 1024.0));
    // The whole process's heap at any instant also holds up to two seconds of the loop's
    // snapshots queued for the collector (11 MB each for 30 transactions): reported, not gated.
    Ok(vec![
        Figure::new(
            "day run (24 h, 30 tx): what the collector keeps (the report in memory)",
            mib("live_after_run_bytes")?,
            "MiB",
            Goal::AtMost(COLLECTOR_MIB),
        ),
        Figure::new(
            "day run: JSON report",
            number(&json, "json_bytes")? / 1e6,
            "MB",
            Goal::AtMost(JSON_MB),
        ),
        Figure::new(
            "day run: whole process heap at hour 24 (loop, queue, collector)",
            mib("live_last_second_bytes")?,
            "MiB",
            Goal::None,
        ),
        Figure::new(
            "day run: peak RSS of the process",
            mib("peak_rss_bytes")?,
            "MiB",
            Goal::None,
        ),
        Figure::new(
            "day run: series interval",
            number(&json, "series_interval_s")?,
            "s",
            Goal::None,
        ),
    ])
}

/// `cargo xtask day`: builds the probe, runs the day, prints its figures; fails on a miss.
pub(crate) fn run() -> Result<(), String> {
    crate::cargo::run(&[
        "build",
        "--release",
        "-p",
        "ttk-benches",
        "--bin",
        "day_probe",
    ])?;
    let figures = figures()?;
    println!("\n{}", report::table(&figures));
    let missed = report::missed(&figures);
    match missed.is_empty() {
        true => Ok(()),
        false => Err(format!("missed: {}", missed.join("; "))),
    }
}
