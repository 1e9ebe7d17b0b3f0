//! Figures of a day-long run (`day_probe`): 24 hours of 30 transactions through the harness
//! on a virtual clock. The run's memory must stop growing (its series is bounded), what the
//! collector keeps must fit 32 MiB, and the JSON report must stay a size a browser opens.

use std::process::Command;

use crate::probe::{self, number};
use crate::report::{Figure, Goal};

/// Hours of the run.
const HOURS: &str = "24";
/// The most the process's heap may grow from the run's first hour to its last, in MiB.
const GROWTH_MIB: f64 = 1.0;
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
    let growth = mib("live_last_second_bytes")? - mib("live_hour_bytes")?;
    Ok(vec![
        Figure::new(
            "day run (24 h, 30 tx): heap growth from hour 1 to hour 24",
            growth,
            "MiB",
            Goal::AtMost(GROWTH_MIB),
        ),
        Figure::new(
            "day run: what the collector keeps (report in memory)",
            mib("live_after_run_bytes")?,
            "MiB",
            Goal::AtMost(COLLECTOR_MIB),
        ),
        Figure::new(
            "day run: whole process heap at hour 24 (loop, queue, collector)",
            mib("live_last_second_bytes")?,
            "MiB",
            Goal::None,
        ),
        Figure::new(
            "day run: JSON report",
            number(&json, "json_bytes")? / 1e6,
            "MB",
            Goal::AtMost(JSON_MB),
        ),
        Figure::new(
            "day run: series interval",
            number(&json, "series_interval_s")?,
            "s",
            Goal::None,
        ),
    ])
}
