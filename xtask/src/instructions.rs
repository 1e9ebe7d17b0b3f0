//! Yield cost in instructions, which a noisy neighbour does not move: ttk against the tight
//! floor, counted with `perf stat` where the CPU's counter is available, else with callgrind.
//!
//! Each workload runs twice in `yield_probe once`, with the same bots and two numbers of
//! yields; the difference of the two counts cancels start-up, building and tear-down, leaving
//! the instructions of the extra switches alone.

use std::path::Path;
use std::process::Command;

use crate::cargo;
use crate::probe;
use crate::report::{Figure, Goal};

/// Bots in each counted run (as in the timed probe).
const BOTS: u64 = 100_000;
/// Yields per bot of the shorter and the longer counted run.
const YIELDS: [u64; 2] = [50, 100];

/// What counts the instructions of a process.
#[derive(Clone, Copy, Debug)]
enum Counter {
    /// `perf stat -e instructions:u`: the CPU's retired-instruction counter.
    Perf,
    /// `valgrind --tool=callgrind`: instructions executed on valgrind's simulated CPU.
    Callgrind,
}

impl Counter {
    /// `perf stat` if it reports a count here, else callgrind if valgrind is installed, else
    /// why neither can count.
    fn detect() -> Result<Counter, String> {
        if perf_count(&["true"]).is_ok() {
            return Ok(Counter::Perf);
        }
        match Command::new("valgrind").arg("--version").output() {
            Ok(output) if output.status.success() => Ok(Counter::Callgrind),
            _ => Err("neither `perf stat -e instructions:u` nor valgrind works here".to_owned()),
        }
    }

    /// The counter's name, for the figures' names.
    fn name(self) -> &'static str {
        match self {
            Counter::Perf => "perf",
            Counter::Callgrind => "callgrind",
        }
    }

    /// Instructions of one run of `yield_probe once WORKLOAD BOTS YIELDS`.
    fn count(self, workload: &str, yields: u64) -> Result<u64, String> {
        let probe = probe::path("yield_probe");
        let probe = probe.to_str().ok_or("the target directory is not UTF-8")?;
        let (bots, yields) = (BOTS.to_string(), yields.to_string());
        let args = [probe, "once", workload, &bots, &yields];
        match self {
            Counter::Perf => perf_count(&args),
            Counter::Callgrind => {
                let out = cargo::target_dir()
                    .join("ttk-bench")
                    .join(format!("callgrind.{workload}.{yields}.out"));
                callgrind_count(&args, &out)
            }
        }
    }

    /// Instructions per switch of `workload`: the difference between its two runs, divided by
    /// the switches the longer run adds.
    fn per_switch(self, workload: &str) -> Result<f64, String> {
        let short = self.count(workload, YIELDS[0])?;
        let long = self.count(workload, YIELDS[1])?;
        let extra = long
            .checked_sub(short)
            .filter(|&extra| extra > 0)
            .ok_or_else(|| {
                format!("{workload}: {long} instructions with more yields, {short} with fewer")
            })?;
        Ok(extra as f64 / (BOTS * (YIELDS[1] - YIELDS[0])) as f64)
    }
}

/// Runs `command` under `perf stat -e instructions:u` and returns the count, or an error if
/// perf cannot count (`<not supported>`, `<not counted>`, no perf).
fn perf_count(command: &[&str]) -> Result<u64, String> {
    let output = Command::new("perf")
        .args(["stat", "-x", ",", "-e", "instructions:u", "--"])
        .args(command)
        .output()
        .map_err(|error| format!("cannot run perf: {error}"))?;
    if !output.status.success() {
        return Err(format!(
            "perf stat {} failed: {output:?}",
            command.join(" ")
        ));
    }
    // CSV on stderr: `count,unit,event,...`; the count is text such as `<not supported>` when
    // the counter is unavailable.
    let stderr = String::from_utf8_lossy(&output.stderr);
    stderr
        .lines()
        .find(|line| line.contains("instructions"))
        .and_then(|line| line.split(',').next())
        .and_then(|count| count.trim().parse().ok())
        .ok_or_else(|| format!("perf stat counted no instructions: {stderr}"))
}

/// Runs `command` under callgrind, writing its profile to `out`, and returns the program's
/// total instructions (`Ir`) from the profile's `totals:` (or `summary:`) line.
pub(crate) fn callgrind_count(command: &[&str], out: &Path) -> Result<u64, String> {
    // A profile left by an earlier run must not be read as this one's.
    match std::fs::remove_file(out) {
        Ok(()) => {}
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => return Err(format!("cannot remove {}: {error}", out.display())),
    }
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|error| format!("cannot create {}: {error}", dir.display()))?;
    }
    let output = Command::new("valgrind")
        .arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", out.display()))
        .args(command)
        .output()
        .map_err(|error| format!("cannot run valgrind: {error}"))?;
    if !output.status.success() {
        return Err(format!(
            "callgrind {} failed: {output:?}",
            command.join(" ")
        ));
    }
    let profile = std::fs::read_to_string(out)
        .map_err(|error| format!("callgrind wrote no {}: {error}", out.display()))?;
    let total = |prefix: &str| {
        profile
            .lines()
            .find_map(|line| line.strip_prefix(prefix))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|count| count.parse().ok())
    };
    total("totals:")
        .or_else(|| total("summary:"))
        .ok_or_else(|| format!("{} has no totals: line", out.display()))
}

/// Instructions per switch of ttk and the floor, and their ratio; skipped (not failed) where
/// nothing can count instructions.
pub(crate) fn figures() -> Result<Vec<Figure>, String> {
    let ttk_name = "yield: ttk, instructions per switch";
    let floor_name = "yield: tight floor, instructions per switch";
    let ratio_name = "yield: ttk / tight floor, instructions";
    let counter = match Counter::detect() {
        Ok(counter) => counter,
        Err(reason) => {
            return Ok(vec![
                Figure::skipped(ttk_name, &reason, "instr", Goal::None),
                Figure::skipped(floor_name, &reason, "instr", Goal::None),
                Figure::skipped(ratio_name, reason, "x", Goal::AtMost(1.5)),
            ]);
        }
    };
    let ttk = counter.per_switch("ttk")?;
    let floor = counter.per_switch("floor")?;
    let by = counter.name();
    Ok(vec![
        Figure::new(format!("{ttk_name} ({by})"), ttk, "instr", Goal::None),
        Figure::new(format!("{floor_name} ({by})"), floor, "instr", Goal::None),
        Figure::new(
            format!("{ratio_name} ({by})"),
            ttk / floor,
            "x",
            Goal::AtMost(1.5),
        ),
    ])
}
