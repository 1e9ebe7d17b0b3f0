//! `cargo xtask fuzz`: the property tests of every parser of untrusted input, run long. CI runs
//! each property a few thousand cases; this runs them with `PROPTEST_CASES` cases each (a
//! million by default), optimized, one test target after another, and writes what ran, for how
//! long and how it ended to `target/ttk-fuzz/summary.json`.

use std::time::Instant;

use crate::cargo;

/// How to run it.
pub(crate) const USAGE: &str =
    "cargo xtask fuzz [--cases N] [--only NAME] [--debug]   (N defaults to 1,000,000)";

/// The property tests of the parsers of untrusted input: (name, package, cargo test's target
/// and filter arguments).
const TARGETS: &[(&str, &str, &[&str])] = &[
    ("http-responses", "ttk-http", &["--test", "response_props"]),
    ("ws-frames", "ttk-http", &["--test", "ws_frame_props"]),
    ("histograms", "ttk-report", &["--test", "histogram_decode"]),
    ("report-json", "ttk-report", &["--test", "report_json"]),
    ("thresholds", "ttk-report", &["--test", "threshold_parse"]),
    ("load-specs", "ttk", &["--test", "spec_props"]),
    ("command-line", "ttk-cli", &["--lib", "parse_props"]),
];

/// What the command line asked for.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Plan {
    /// Cases per property (proptest counts them in a `u32`).
    cases: u32,
    /// Only the target of this name.
    only: Option<String>,
    /// A debug build instead of an optimized one (slower per case, quicker to build).
    debug: bool,
}

impl Plan {
    /// Reads the arguments after `fuzz`.
    pub(crate) fn parse(args: &[String]) -> Result<Plan, String> {
        let mut plan = Plan {
            cases: 1_000_000,
            only: None,
            debug: false,
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--cases" => {
                    let value = args.next().ok_or("--cases needs a number")?;
                    plan.cases = value
                        .replace(['_', ','], "")
                        .parse()
                        .ok()
                        .filter(|&cases| cases > 0)
                        .ok_or_else(|| format!("`{value}` is not a number of cases"))?;
                }
                "--only" => {
                    let name = args.next().ok_or("--only needs a target's name")?;
                    if !TARGETS.iter().any(|(target, ..)| target == name) {
                        let names: Vec<&str> = TARGETS.iter().map(|(name, ..)| *name).collect();
                        return Err(format!(
                            "no target `{name}`; the targets: {}",
                            names.join(", ")
                        ));
                    }
                    plan.only = Some(name.clone());
                }
                "--debug" => plan.debug = true,
                other => return Err(format!("unknown argument `{other}`")),
            }
        }
        Ok(plan)
    }
}

/// Runs every target (or the one asked for); an error naming those that failed.
pub(crate) fn run(plan: &Plan) -> Result<(), String> {
    let mut results = Vec::new();
    let mut failed = Vec::new();
    for &(name, package, target) in TARGETS {
        if plan.only.as_deref().is_some_and(|only| only != name) {
            continue;
        }
        println!("fuzz {name}: {} cases per property", plan.cases);
        let mut args = vec!["test", "-p", package];
        if !plan.debug {
            args.push("--release");
        }
        args.extend_from_slice(target);
        let started = Instant::now();
        let status = cargo::command()
            .args(&args)
            .env("PROPTEST_CASES", plan.cases.to_string())
            .current_dir(cargo::workspace_root())
            .status()
            .map_err(|error| format!("cannot start cargo: {error}"))?;
        let seconds = started.elapsed().as_secs_f64();
        println!(
            "fuzz {name}: {} in {seconds:.1} s",
            if status.success() { "passed" } else { "FAILED" }
        );
        if !status.success() {
            failed.push(name);
        }
        results.push(serde_json::json!({
            "target": name,
            "command": format!("cargo {}", args.join(" ")),
            "cases_per_property": plan.cases,
            "seconds": seconds,
            "passed": status.success(),
        }));
    }
    write_summary(&results)?;
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "fuzz targets failed: {} (their minimal cases are printed above)",
            failed.join(", ")
        ))
    }
}

/// Writes the results to `target/ttk-fuzz/summary.json`.
fn write_summary(results: &[serde_json::Value]) -> Result<(), String> {
    let dir = cargo::target_dir().join("ttk-fuzz");
    std::fs::create_dir_all(&dir).map_err(|error| format!("{}: {error}", dir.display()))?;
    let path = dir.join("summary.json");
    let json = serde_json::to_string_pretty(results).expect("JSON values serialize");
    std::fs::write(&path, json + "\n").map_err(|error| format!("{}: {error}", path.display()))?;
    println!("fuzz summary: {}", path.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Plan, String> {
        Plan::parse(&args.iter().map(|arg| arg.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn the_command_line_names_cases_a_target_and_the_build() {
        assert_eq!(
            parse(&[]),
            Ok(Plan {
                cases: 1_000_000,
                only: None,
                debug: false
            })
        );
        assert_eq!(
            parse(&["--cases", "2_000", "--only", "thresholds", "--debug"]),
            Ok(Plan {
                cases: 2_000,
                only: Some("thresholds".into()),
                debug: true
            })
        );
        assert!(
            parse(&["--cases", "0"])
                .unwrap_err()
                .contains("not a number of cases")
        );
        assert!(
            parse(&["--only", "nothing"])
                .unwrap_err()
                .contains("the targets: http-responses")
        );
        assert!(parse(&["--fast"]).unwrap_err().contains("unknown argument"));
    }
}
