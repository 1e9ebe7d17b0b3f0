//! `Threshold::check` and `Report::check_thresholds` on a report of known figures.

mod util;

use ttk_report::{Report, Threshold, ThresholdResult};
use util::{NEVER_OK, known_report};

fn check(expression: &str, report: &Report) -> ThresholdResult {
    Threshold::parse(expression)
        .unwrap_or_else(|error| panic!("{error}"))
        .check(report)
}

/// Checks `expression` on the known report: whether it passed, what was measured, the limit.
fn verdict(expression: &str) -> (bool, String, String) {
    let result = check(expression, &known_report());
    assert_eq!(result.expression, expression);
    (result.passed, result.measured, result.limit)
}

fn figures(passed: bool, measured: &str, limit: &str) -> (bool, String, String) {
    (passed, measured.to_owned(), limit.to_owned())
}

#[test]
fn latency_thresholds_measure_the_successes() {
    let cases = [
        ("p50(login) < 501us", figures(true, "500us", "501us")),
        ("p50(login) < 500us", figures(false, "500us", "500us")),
        ("p90(login) <= 900us", figures(true, "900us", "900us")),
        ("p99(login) <= 990us", figures(true, "990us", "990us")),
        ("p99(login) < 990us", figures(false, "990us", "990us")),
        ("p99.9(login) == 999us", figures(true, "999us", "999us")),
        ("p(99.9, login) > 999us", figures(false, "999us", "999us")),
        ("p100(login) == 1ms", figures(true, "1.00ms", "1.00ms")),
        ("max(login) >= 1ms", figures(true, "1.00ms", "1.00ms")),
        ("mean(login) > 500us", figures(true, "501us", "500us")),
        ("mean(browse) == 1.5ms", figures(true, "1.50ms", "1.50ms")),
        // All transactions: 1000 of login, 100 of browse at 1500 µs.
        ("p(90) < 1ms", figures(true, "990us", "1.00ms")),
        ("p95 < 1ms", figures(false, "1.50ms", "1.00ms")),
        ("max < 1.5s", figures(true, "1.50ms", "1.50s")),
        ("mean > 1m", figures(false, "591us", "1m00s")),
    ];
    for (expression, expected) in cases {
        assert_eq!(verdict(expression), expected, "{expression}");
    }
}

#[test]
fn failure_rate_and_count_thresholds() {
    let cases = [
        // login: 10 failed of 1010 finished; all: 12 of 1112.
        ("failures(login) < 1%", figures(true, "0.990%", "1.00%")),
        (
            "failures(login) < 0.009",
            figures(false, "0.990%", "0.900%"),
        ),
        ("failures < 1.07%", figures(false, "1.08%", "1.07%")),
        ("failures < 1.1%", figures(true, "1.08%", "1.10%")),
        ("failures(browse) == 0", figures(true, "0%", "0%")),
        // Abandoned and stopped are not failures: 2 failed of 2 finished.
        (
            &format!("failures({NEVER_OK}) == 100%"),
            figures(true, "100%", "100%"),
        ),
        ("rate(login) >= 100/s", figures(true, "100/s", "100/s")),
        ("rate > 110", figures(false, "110/s", "110/s")),
        ("rate(browse) < 10.5/s", figures(true, "10.0/s", "10.5/s")),
        ("count(login) == 1000", figures(true, "1000", "1000")),
        ("count >= 1101", figures(false, "1100", "1101")),
        (&format!("count({NEVER_OK}) == 0"), figures(true, "0", "0")),
        ("counter(bytes) > 4095", figures(true, "4096", "4095")),
        ("counter(bytes) < 4096", figures(false, "4096", "4096")),
    ];
    for (expression, expected) in cases {
        assert_eq!(verdict(expression), expected, "{expression}");
    }
}

#[test]
fn what_did_not_run_fails_and_says_so() {
    let cases = [
        (
            "p99(logout) < 1s",
            figures(false, "no such transaction", "1.00s"),
        ),
        (
            "count(logout) == 0",
            figures(false, "no such transaction", "0"),
        ),
        ("counter(nope) == 0", figures(false, "no such counter", "0")),
        (
            &format!("p50({NEVER_OK}) < 1h"),
            figures(false, "no successes", "1h00m"),
        ),
    ];
    for (expression, expected) in cases {
        assert_eq!(verdict(expression), expected, "{expression}");
    }
    let mut idle = Report::new("idle");
    idle.transactions
        .push(ttk_report::TransactionReport::new("login"));
    assert_eq!(
        check("failures(login) < 1%", &idle).measured,
        "nothing finished"
    );
    assert_eq!(check("max < 1s", &idle).measured, "no successes");
    assert!(!check("failures < 1%", &idle).passed);
    // No duration (a report built by hand): a rate of zero, not a division by zero.
    assert_eq!(check("rate(login) == 0", &idle).measured, "0/s");
}

#[test]
fn check_thresholds_fills_the_report_and_says_whether_all_passed() {
    let passing = ["p99(login) < 1ms", "failures < 2%", "count(browse) == 100"]
        .map(|expression| Threshold::parse(expression).unwrap());
    let mut report = known_report();
    assert!(report.check_thresholds(&passing));
    assert_eq!(report.thresholds.len(), 3);
    assert!(report.thresholds.iter().all(|result| result.passed));
    assert_eq!(report.thresholds[2].expression, "count(browse) == 100");

    let one_failing = ["p99(login) < 1ms", "rate(login) > 1000/s"]
        .map(|expression| Threshold::parse(expression).unwrap());
    assert!(!report.check_thresholds(&one_failing));
    assert_eq!(report.thresholds.len(), 2, "replaced, not appended");
    assert!(report.thresholds[0].passed);
    assert!(!report.thresholds[1].passed);

    assert!(
        report.check_thresholds(&[]),
        "no thresholds, nothing failed"
    );
    assert!(report.thresholds.is_empty());
}

#[test]
fn thresholds_parse_from_str_and_display_as_given() {
    let threshold: Threshold = "  p99(login)<50ms ".parse().unwrap();
    assert_eq!(threshold.to_string(), "p99(login)<50ms");
    assert_eq!(threshold.expression(), "p99(login)<50ms");
    assert!("p99(login) < 50".parse::<Threshold>().is_err());
}
