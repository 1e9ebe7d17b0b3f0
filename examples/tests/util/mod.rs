//! Running the examples that `cargo test` builds beside the test binaries.

// Each test binary includes this module and uses only part of it.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};

use ttk::cli::ttk_report::Report;

/// Runs example `name` with `args` and returns its output, asserting it exited successfully.
pub(crate) fn run_example(name: &str, args: &[&str]) -> String {
    let output = run_example_raw(name, args);
    assert!(output.status.success(), "{name} failed: {output:?}");
    String::from_utf8(output.stdout).expect("utf-8 output")
}

/// Runs example `name` with `args`, whatever its exit status.
pub(crate) fn run_example_raw(name: &str, args: &[&str]) -> Output {
    let binary = example_path(name);
    Command::new(&binary)
        .args(args)
        .output()
        .unwrap_or_else(|error| panic!("cannot run {}: {error}", binary.display()))
}

/// Runs example `name` with bad `args` and checks it exits with status 2 and says `expected`.
pub(crate) fn assert_usage_error(name: &str, args: &[&str], expected: &str) {
    let output = run_example_raw(name, args);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(expected), "{stderr}");
}

/// The path of example `name`'s binary, built beside the test binaries.
pub(crate) fn example_path(name: &str) -> PathBuf {
    let test_binary = std::env::current_exe().expect("the test binary's path");
    let profile_dir = test_binary
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>");
    profile_dir.join("examples").join(name)
}

/// Runs chat example `name` (`redis_chat`, `irc_chat`) against `target` with `rooms` rooms of
/// `rounds` rounds, capped at `duration`, checks that it passed its own checks, and returns its
/// JSON report.
pub(crate) fn run_chat(
    name: &str,
    target: &str,
    rooms: u64,
    rounds: u64,
    duration: &str,
) -> Report {
    let json = std::env::temp_dir().join(format!("ttk-{name}-{}.json", std::process::id()));
    let output = run_example_raw(
        name,
        &[
            "--target",
            target,
            "--rooms",
            &rooms.to_string(),
            "--rounds",
            &rounds.to_string(),
            "--duration",
            duration,
            "--quiet",
            "--json",
            json.to_str().unwrap(),
        ],
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{name} failed: {output:?}");
    assert!(stdout.contains("all checks passed"), "{stdout}");
    let report = Report::read_json(&json).unwrap();
    let _ = std::fs::remove_file(&json);
    report
}
