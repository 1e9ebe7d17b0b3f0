//! The command lines `cargo xtask bench` runs the interleaved probes with: each `once` mode
//! runs and prints its JSON line, and a bad command line is a usage error (status 2), not a
//! panic. (The interleaved modes are sized for release builds and timed by hand.)

use std::process::{Command, Output};

/// Runs `probe` with `args`.
fn run(probe: &str, args: &[&str]) -> Output {
    Command::new(probe)
        .args(args)
        .output()
        .unwrap_or_else(|error| panic!("cannot run {probe}: {error}"))
}

/// The JSON line a successful run printed.
fn json(output: &Output) -> String {
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout.clone()).expect("UTF-8")
}

#[test]
fn tick_probe_once_runs_the_ticks_asked_for() {
    let output = run(env!("CARGO_BIN_EXE_tick_probe"), &["once", "alone", "50"]);
    assert_eq!(
        json(&output).trim(),
        r#"{"workload": "alone", "parked": 0, "ticks": 50}"#
    );
}

#[test]
fn rooms_probe_once_runs_the_rooms_asked_for() {
    let output = run(env!("CARGO_BIN_EXE_rooms_probe"), &["once", "8", "2"]);
    assert_eq!(json(&output).trim(), r#"{"bots": 8, "runs": 2}"#);
}

#[test]
fn a_bad_command_line_is_a_usage_error() {
    for (probe, args) in [
        (
            env!("CARGO_BIN_EXE_tick_probe"),
            &["once", "crowded", "5"][..],
        ),
        (env!("CARGO_BIN_EXE_tick_probe"), &["interleaved", "0"][..]),
        (
            env!("CARGO_BIN_EXE_rooms_probe"),
            &["once", "many", "1"][..],
        ),
        (env!("CARGO_BIN_EXE_rooms_probe"), &["interleaved"][..]),
        (env!("CARGO_BIN_EXE_yield_probe"), &["interleaved", "0"][..]),
    ] {
        let output = run(probe, args);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{probe} {args:?}: {output:?}"
        );
        assert!(
            String::from_utf8_lossy(&output.stderr).contains("usage:"),
            "{probe} {args:?}: {output:?}"
        );
    }
}
