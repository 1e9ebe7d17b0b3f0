//! Instructions, which a noisy neighbour does not move: the twin of every time ratio that
//! `cargo xtask bench` gates on, counted with `perf stat` where the CPU's counter is available,
//! else with callgrind.
//!
//! A probe's `once` mode runs one workload a given number of times (yields, ticks, runs); the
//! difference between the counts of two such runs cancels the process's start-up and
//! tear-down, leaving the instructions of the extra work alone. Here: yields, ttk against the
//! tight floor (`yield_probe once`, the same bots and two numbers of yields).

use std::path::Path;
use std::process::Command;

use crate::cargo;
use crate::probe;
use crate::report::{Figure, Goal};

/// Bots in each counted yield run (as in the timed probe).
const BOTS: u64 = 100_000;
/// Yields per bot of the shorter and the longer counted yield run.
const YIELDS: [u64; 2] = [50, 100];

/// What counts the instructions of a process.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Counter {
    /// `perf stat -e instructions:u`: the CPU's retired-instruction counter.
    Perf,
    /// `valgrind --tool=callgrind`: instructions executed on valgrind's simulated CPU.
    Callgrind,
}

impl Counter {
    /// `perf stat` if it reports a count here, else callgrind if valgrind is installed, else
    /// why neither can count.
    pub(crate) fn detect() -> Result<Counter, String> {
        if perf_count(&["true"]).is_ok() {
            return Ok(Counter::Perf);
        }
        match Command::new("valgrind").arg("--version").output() {
            Ok(output) if output.status.success() => Ok(Counter::Callgrind),
            _ => Err("neither `perf stat -e instructions:u` nor valgrind works here".to_owned()),
        }
    }

    /// The counter's name, for the figures' names.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Counter::Perf => "perf",
            Counter::Callgrind => "callgrind",
        }
    }

    /// Instructions of one run of `probe` with `args`.
    fn count(self, probe: &str, args: &[&str]) -> Result<u64, String> {
        let binary = probe::path(probe);
        let binary = binary.to_str().ok_or("the target directory is not UTF-8")?;
        let command: Vec<&str> = std::iter::once(binary)
            .chain(args.iter().copied())
            .collect();
        match self {
            Counter::Perf => perf_count(&command),
            Counter::Callgrind => {
                let out = cargo::target_dir()
                    .join("ttk-bench")
                    .join(format!("callgrind.{probe}.{}.out", args.join(".")));
                callgrind_count(&command, &out)
            }
        }
    }

    /// Instructions per unit of work of `probe`: the count of a run with `long` arguments less
    /// that of a run with `short` ones, divided by the `units` of work the longer run adds.
    pub(crate) fn per_unit(
        self,
        probe: &str,
        short: &[&str],
        long: &[&str],
        units: f64,
    ) -> Result<f64, String> {
        let fewer = self.count(probe, short)?;
        let more = self.count(probe, long)?;
        let extra = more
            .checked_sub(fewer)
            .filter(|&extra| extra > 0)
            .ok_or_else(|| {
                format!(
                    "{probe}: {more} instructions for `{}`, {fewer} for `{}` (less work)",
                    long.join(" "),
                    short.join(" ")
                )
            })?;
        Ok(extra as f64 / units)
    }

    /// Instructions per switch of yield workload `workload` (`ttk` or `floor`).
    fn per_switch(self, workload: &str) -> Result<f64, String> {
        let bots = BOTS.to_string();
        let [short, long] = YIELDS.map(|yields| yields.to_string());
        self.per_unit(
            "yield_probe",
            &["once", workload, &bots, &short],
            &["once", workload, &bots, &long],
            (BOTS * (YIELDS[1] - YIELDS[0])) as f64,
        )
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

/// The instruction twin of a time ratio: `measure` counts the instructions per unit of work
/// of the workload compared and of its reference, which become three figures (each count, and
/// their ratio against `goal`); all three are skipped (not failed) where nothing can count
/// instructions. `names` are those of the two counts and of the ratio; the counter's name is
/// added to each.
pub(crate) fn twin(
    names: [&str; 3],
    goal: Goal,
    measure: impl FnOnce(Counter) -> Result<(f64, f64), String>,
) -> Result<Vec<Figure>, String> {
    twin_with(Counter::detect(), names, goal, measure)
}

/// [`twin`] with the counter (or why there is none) given.
fn twin_with(
    counter: Result<Counter, String>,
    names: [&str; 3],
    goal: Goal,
    measure: impl FnOnce(Counter) -> Result<(f64, f64), String>,
) -> Result<Vec<Figure>, String> {
    let [compared_name, reference_name, ratio_name] = names;
    let counter = match counter {
        Ok(counter) => counter,
        Err(reason) => {
            return Ok(vec![
                Figure::skipped(compared_name, &reason, "instr", Goal::None),
                Figure::skipped(reference_name, &reason, "instr", Goal::None),
                Figure::skipped(ratio_name, reason, "x", goal),
            ]);
        }
    };
    let (compared, reference) = measure(counter)?;
    let by = counter.name();
    Ok(vec![
        Figure::new(
            format!("{compared_name} ({by})"),
            compared,
            "instr",
            Goal::None,
        ),
        Figure::new(
            format!("{reference_name} ({by})"),
            reference,
            "instr",
            Goal::None,
        ),
        Figure::new(
            format!("{ratio_name} ({by})"),
            compared / reference,
            "x",
            goal,
        ),
    ])
}

/// Instructions per switch of ttk and the floor, and their ratio (the twin of the yield time
/// ratio, with the same target).
pub(crate) fn figures() -> Result<Vec<Figure>, String> {
    twin(
        [
            "yield: ttk, instructions per switch",
            "yield: tight floor, instructions per switch",
            "yield: ttk / tight floor, instructions",
        ],
        Goal::AtMost(crate::yields::TTK_OVER_FLOOR),
        |counter| Ok((counter.per_switch("ttk")?, counter.per_switch("floor")?)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAMES: [&str; 3] = ["compared", "reference", "ratio"];

    #[test]
    fn a_twin_gates_the_ratio_of_its_counts() {
        let figures = twin_with(Ok(Counter::Callgrind), NAMES, Goal::AtMost(1.5), |_| {
            Ok((320.0, 200.0))
        })
        .unwrap();
        assert_eq!(figures.len(), 3);
        assert_eq!(figures[2].name, "ratio (callgrind)");
        assert_eq!(figures[2].meets_goal(), Some(false), "1.6 > 1.5");
        assert_eq!(figures[0].meets_goal(), None, "the counts have no target");
        let met = twin_with(Ok(Counter::Perf), NAMES, Goal::AtMost(1.5), |_| {
            Ok((300.0, 200.0))
        })
        .unwrap();
        assert_eq!(met[2].meets_goal(), Some(true));
    }

    #[test]
    fn a_twin_without_a_counter_is_skipped_and_a_failed_count_fails() {
        let figures = twin_with(
            Err("no counter".to_owned()),
            NAMES,
            Goal::AtMost(1.5),
            |_| unreachable!("nothing to count with"),
        )
        .unwrap();
        assert!(figures.iter().all(|figure| figure.meets_goal().is_none()));
        let failed = twin_with(Ok(Counter::Callgrind), NAMES, Goal::AtMost(1.5), |_| {
            Err("the probe died".to_owned())
        });
        assert!(matches!(failed, Err(error) if error == "the probe died"));
    }
}
