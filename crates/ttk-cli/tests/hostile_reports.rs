//! `ttk report` and `ttk merge` on hostile report files (issue #19, item 16): each is a clear
//! error naming the file and what is wrong, and exit code 2 — never an abort trying to allocate
//! what the file declares, never a report left out as if its shard were merely missing.

use std::path::Path;

use ttk_report::{Report, Shard};

mod support;
use support::{scratch, ttk};

/// The base64 of a V2 histogram header that declares 4 GiB of counts and has none.
const HISTOGRAM_OF_4_GIB: &str = "HISTE/////8AAAAAAAAAAwAAAAAAAAABAAAAANaTpAA/8AAAAAAAAA==";

/// A shard's report, as a run with `--shard 0/2` writes it.
fn shard_report() -> Report {
    let mut report = Report::new("ttk");
    report.run.run_id = "hostile".to_owned();
    report.run.shard = Some(Shard { index: 0, count: 2 });
    report
}

/// The hostile files: their name, their text and what the error must say.
fn hostile_files() -> Vec<(&'static str, String, &'static str)> {
    let mut shards = shard_report();
    shards.run.shard = Some(Shard {
        index: 1,
        count: u32::MAX,
    });
    let mut huge_histogram = shard_report();
    huge_histogram
        .transactions
        .push(ttk_report::TransactionReport::new("login"));
    let huge_histogram = huge_histogram.to_json().replacen(
        &huge_histogram.transactions[0].histogram.to_base64(),
        HISTOGRAM_OF_4_GIB,
        1,
    );
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    vec![
        (
            "shards.json",
            shards.to_json(),
            "not a valid ttk report: run.shard.count is 4294967295, over the limit of 65536 shards",
        ),
        (
            "histogram.json",
            huge_histogram,
            "bad histogram: its header says 4294967295 bytes of counts follow, and 0 do",
        ),
        (
            "deep.json",
            deep,
            "not a ttk report: invalid type: sequence",
        ),
    ]
}

#[test]
fn ttk_report_refuses_a_hostile_file_with_exit_2() {
    let dir = scratch("hostile-report");
    for (name, text, expected) in hostile_files() {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        let output = ttk(&[Path::new("report"), &path]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{name}: {stderr}");
        assert!(
            stderr.contains(name) && stderr.contains(expected),
            "{name}: {stderr}"
        );
    }
}

#[test]
fn ttk_merge_refuses_a_hostile_file_with_exit_2_and_writes_nothing() {
    let dir = scratch("hostile-merge");
    let good = dir.join("good.json");
    shard_report().write_json(&good).unwrap();
    let merged = dir.join("merged.json");
    for (name, text, expected) in hostile_files() {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        let output = ttk(&[
            Path::new("merge"),
            &good,
            &path,
            Path::new("--json"),
            &merged,
        ]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{name}: {stderr}");
        assert!(
            stderr.contains(name) && stderr.contains(expected),
            "{name}: {stderr}"
        );
        assert!(!stderr.contains("left out"), "{name}: {stderr}");
        assert!(!merged.exists(), "{name}");
    }
}

/// A file cut short (a shard killed while it wrote) is still left out as a missing shard:
/// the merge of the others is written, and the exit code says a shard is missing.
#[test]
fn ttk_merge_leaves_out_a_file_cut_short() {
    let dir = scratch("torn-merge");
    let good = dir.join("good.json");
    shard_report().write_json(&good).unwrap();
    let torn = dir.join("torn.json");
    let mut other = shard_report();
    other.run.shard = Some(Shard { index: 1, count: 2 });
    let json = other.to_json();
    std::fs::write(&torn, &json[..json.len() / 2]).unwrap();
    let merged = dir.join("merged.json");
    let output = ttk(&[
        Path::new("merge"),
        &good,
        &torn,
        Path::new("--json"),
        &merged,
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("torn.json is left out"), "{stderr}");
    assert_eq!(
        Report::read_json(&merged)
            .unwrap()
            .run
            .shards
            .unwrap()
            .missing,
        [1]
    );
}
