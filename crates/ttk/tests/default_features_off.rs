//! A crate that depends on `ttk` with `default-features = false` builds the bots, their loop and
//! their sockets, and nothing of the harness or of the protocol crates: at most 25 crates in
//! all, its own included (it was 101 when the harness was part of the facade, with no feature
//! to leave it out).
//!
//! The count comes from `cargo tree` (no build): every package of ttk's tree without its
//! default features, through normal and build dependencies — the crates such a dependent
//! compiles besides itself. (A scratch crate built that way compiled 17, itself included.)

use std::collections::BTreeSet;
use std::process::Command;

/// The most crates a dependent of `ttk` without default features may compile, itself included.
const MOST_CRATES: usize = 25;

/// The packages of ttk's dependency tree, without its default features if
/// `no_default_features`, ttk included, each once.
fn packages_of_ttk(no_default_features: bool) -> BTreeSet<String> {
    let mut command = Command::new(env!("CARGO"));
    command
        .args([
            "tree",
            "-p",
            "ttk",
            "-e",
            "normal,build",
            "--prefix",
            "none",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    if no_default_features {
        command.arg("--no-default-features");
    }
    let output = command.output().expect("cargo runs");
    assert!(
        output.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .expect("cargo tree prints UTF-8")
        .lines()
        .filter_map(|line| {
            // "name v1.2.3 (...)": the name and version say which package it is.
            let mut words = line.split_whitespace();
            Some(format!("{} {}", words.next()?, words.next()?))
        })
        .collect()
}

#[test]
fn a_dependent_without_default_features_compiles_at_most_25_crates() {
    let packages = packages_of_ttk(true);
    // The dependent itself is one more.
    let crates = packages.len() + 1;
    assert!(crates <= MOST_CRATES, "{crates} crates: {packages:#?}");
    for heavy in [
        "ttk-harness",
        "clap",
        "indicatif",
        "serde_json",
        "tungstenite",
        "rustls",
    ] {
        assert!(
            !packages
                .iter()
                .any(|package| package.split(' ').next() == Some(heavy)),
            "{heavy} is built without default features: {packages:#?}"
        );
    }
}

#[test]
fn the_default_features_bring_the_harness_and_the_protocols() {
    let packages = packages_of_ttk(false);
    for crate_of_a_feature in ["ttk-harness", "ttk-http", "ttk-tls"] {
        assert!(
            packages
                .iter()
                .any(|package| package.split(' ').next() == Some(crate_of_a_feature)),
            "{crate_of_a_feature} is missing from the default build: {packages:#?}"
        );
    }
}
