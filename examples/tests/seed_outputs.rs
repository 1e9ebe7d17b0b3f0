//! The seed's examples print exactly what the seed's README shows.

use std::path::PathBuf;
use std::process::Command;

/// Runs an example that `cargo test` built beside this test binary and returns its stdout.
fn run_example(name: &str) -> String {
    let deps = std::env::current_exe().expect("the test binary's path");
    let profile_dir = deps
        .parent()
        .and_then(|d| d.parent())
        .expect("target/<profile>");
    let binary: PathBuf = profile_dir.join("examples").join(name);
    let output = Command::new(&binary)
        .output()
        .unwrap_or_else(|error| panic!("cannot run {}: {error}", binary.display()));
    assert!(output.status.success(), "{name} failed: {output:?}");
    String::from_utf8(output.stdout).expect("utf-8 output")
}

#[test]
fn sequential_prints_the_seeds_first_output() {
    assert_eq!(
        run_example("sequential"),
        "process 0: 1\nprocess 0: 2\nprocess 1: 1\nprocess 1: 2\n"
    );
}

#[test]
fn interleaved_prints_the_seeds_second_output() {
    assert_eq!(
        run_example("interleaved"),
        "process 0: 1\nprocess 1: 1\nprocess 0: 2\nprocess 1: 2\n"
    );
}

#[test]
fn lifecycle_prints_do_something_interleaved_by_tick() {
    assert_eq!(
        run_example("lifecycle"),
        "process 0: started\nprocess 1: started\nprocess 0: working\n\
         process 1: working\nprocess 0: terminated\nprocess 1: terminated\n"
    );
}
