//! `Report::summary`.

mod util;

use ttk_report::{Report, Threshold};
use util::{NEVER_OK, known_report};

/// The summary of the known report, with two thresholds checked (one fails).
fn summary() -> String {
    let mut report = known_report();
    let thresholds = ["p99(login) < 1ms", "failures < 0.5%"]
        .map(|expression| Threshold::parse(expression).unwrap());
    report.check_thresholds(&thresholds);
    report.summary()
}

/// The lines of the table whose header's first cells are `titles`, up to a blank line.
fn table<'a>(summary: &'a str, titles: &[&str]) -> Vec<&'a str> {
    let lines = summary.lines().collect::<Vec<_>>();
    let start = lines
        .iter()
        .position(|line| cells(line).starts_with(titles))
        .unwrap_or_else(|| panic!("no table {titles:?} in\n{summary}"));
    lines[start..]
        .iter()
        .take_while(|line| !line.is_empty())
        .copied()
        .collect()
}

/// The cells of a line, split at runs of two spaces or more.
fn cells(line: &str) -> Vec<&str> {
    line.split("  ")
        .map(str::trim)
        .filter(|cell| !cell.is_empty())
        .collect()
}

#[test]
fn the_header_says_how_the_run_ended() {
    let summary = summary();
    let mut lines = summary.lines();
    assert_eq!(lines.next(), Some("checkout: completed after 10.0s"));
    assert_eq!(
        lines.next(),
        Some("bots: 50 started, 47 finished, 2 failed, 1 stopped")
    );

    let mut failed = Report::new("checkout");
    failed.run.end = "failed".to_owned();
    failed.run.end_detail = Some("hook 0 panicked:\nboom".to_owned());
    failed.run.duration_s = 75.0;
    failed.run.processes = 3;
    failed.bots.started = 4;
    failed.bots.finished = 4;
    let summary = failed.summary();
    let mut lines = summary.lines();
    assert_eq!(
        lines.next(),
        Some("checkout: failed after 1m15s (3 processes): hook 0 panicked: boom")
    );
    assert_eq!(lines.next(), Some("bots: 4 started, 4 finished"));
    assert!(summary.contains("no transactions ran"), "{summary}");
}

#[test]
fn a_row_per_transaction_with_its_figures() {
    let summary = summary();
    let table = table(&summary, &["transaction", "ok"]);
    assert_eq!(table.len(), 4, "{summary}");
    assert_eq!(
        cells(table[0]),
        [
            "transaction",
            "ok",
            "failed",
            "abandoned",
            "stopped",
            "rate/s",
            "mean",
            "p50",
            "p90",
            "p99",
            "p99.9",
            "max"
        ]
    );
    assert_eq!(
        cells(table[1]),
        [
            "login",
            "1000",
            "10 (0.990%)",
            "0",
            "0",
            "100",
            "501us",
            "500us",
            "900us",
            "990us",
            "999us",
            "1.00ms"
        ]
    );
    assert_eq!(
        cells(table[2]),
        [
            "browse", "100", "0", "0", "0", "10.0", "1.50ms", "1.50ms", "1.50ms", "1.50ms",
            "1.50ms", "1.50ms"
        ]
    );
    assert_eq!(
        cells(table[3]),
        [
            NEVER_OK, "0", "2 (100%)", "1", "3", "0", "-", "-", "-", "-", "-", "-"
        ]
    );
}

#[test]
fn columns_line_up_with_long_names() {
    let summary = summary();
    let table = table(&summary, &["transaction", "ok"]);
    // The last column is right-aligned: every line of the table ends at the same place …
    let width = table[0].chars().count();
    for line in &table {
        assert_eq!(line.chars().count(), width, "{line:?} in\n{summary}");
    }
    // … and so does the (right-aligned) ok column, past the longest name.
    let ok_end = table[0].find(" ok ").unwrap() + " ok".len();
    assert!(ok_end > NEVER_OK.len() + "  0".len(), "{summary}");
    for line in &table {
        let (before, after) = line.split_at(ok_end);
        assert!(before.ends_with(|c: char| !c.is_whitespace()), "{line:?}");
        assert!(after.starts_with("  "), "{line:?}");
    }
}

#[test]
fn unfinished_columns_appear_only_when_there_are_unfinished_transactions() {
    let mut report = known_report();
    report.transactions.retain(|tx| tx.name != NEVER_OK);
    let summary = report.summary();
    let header = table(&summary, &["transaction", "ok"])[0];
    assert!(!header.contains("abandoned"), "{header}");
    assert!(!header.contains("stopped"), "{header}");
    assert_eq!(cells(header)[3], "rate/s");
}

#[test]
fn errors_by_kind_with_one_clean_sample_line() {
    let summary = summary();
    let errors = table(&summary, &["transaction", "error"]);
    assert_eq!(
        cells(errors[0]),
        ["transaction", "error", "count", "sample"]
    );
    assert_eq!(
        cells(errors[1]),
        ["login", "TimedOut", "7", "connection timed out after 5s"]
    );
    let http = cells(errors[2]);
    assert_eq!(
        http[..2],
        ["Http500", "3"],
        "the name is not repeated: {summary}"
    );
    // Newline and colour escape gone, cut to 100 characters.
    assert!(
        http[2].starts_with("HTTP 500 internal error internal"),
        "{}",
        http[2]
    );
    assert_eq!(http[2].chars().count(), 100);
    assert!(http[2].ends_with('…'));
    assert_eq!(
        cells(errors[3]),
        [NEVER_OK, "Refused", "2", "connection refused"]
    );
    assert!(!summary.contains('\x1b'));
}

#[test]
fn bots_counters_gauges_and_thresholds() {
    let summary = summary();
    let bots = table(&summary, &["bot failure"]);
    assert_eq!(
        cells(bots[1]),
        ["panicked", "2", "bot 3 panicked at 'index out of bounds'"]
    );
    assert_eq!(cells(table(&summary, &["counter"])[1]), ["bytes", "4096"]);
    let gauges = table(&summary, &["gauge"]);
    assert_eq!(cells(gauges[0]), ["gauge", "last", "min", "max"]);
    assert_eq!(cells(gauges[1]), ["lobby", "3", "0", "12"]);

    let thresholds = table(&summary, &["threshold"]);
    assert_eq!(
        cells(thresholds[0]),
        ["threshold", "result", "measured", "limit"]
    );
    assert_eq!(
        cells(thresholds[1]),
        ["p99(login) < 1ms", "ok", "990us", "1.00ms"]
    );
    assert_eq!(
        cells(thresholds[2]),
        ["failures < 0.5%", "FAILED", "1.08%", "0.500%"]
    );
    assert_eq!(thresholds[3], "thresholds: 1 of 2 FAILED");

    let mut passing = known_report();
    passing.check_thresholds(&[Threshold::parse("count > 0").unwrap()]);
    assert!(passing.summary().ends_with("thresholds: all 1 passed\n"));
}

#[test]
fn empty_sections_are_left_out() {
    let mut report = Report::new("quiet");
    report.run.end = "duration".to_owned();
    report.run.duration_s = 0.5;
    let summary = report.summary();
    assert_eq!(
        summary,
        "quiet: ran its whole duration after 500ms\n\
         bots: 0 started, 0 finished\n\
         \n\
         no transactions ran\n"
    );
}
