//! The harness as a user meets it: real load-test binaries run as subprocesses against real
//! servers on loopback, and what they report checked against what the servers saw.

mod util;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ttk::cli::ttk_report::Report;
use util::{example_path, run_example_raw};

/// A fresh directory for one test's reports.
fn report_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ttk-harness-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    dir
}

/// The stall demo's two runs: the open model shows the stalls in p99, the closed model hides
/// them (coordinated omission).
#[test]
fn open_model_shows_stalls_that_the_closed_model_hides() {
    let dir = report_dir("stalls");
    let open_json = dir.join("open.json");
    let closed_json = dir.join("closed.json");
    let open = run_example_raw(
        "stall_demo",
        &[
            "--rate",
            "200/s",
            "--duration",
            "6s",
            "--quiet",
            "--json",
            open_json.to_str().unwrap(),
        ],
    );
    assert_eq!(open.status.code(), Some(0), "{open:?}");
    let closed = run_example_raw(
        "stall_demo",
        &[
            "--bots",
            "10",
            "--duration",
            "6s",
            "--quiet",
            "--json",
            closed_json.to_str().unwrap(),
        ],
    );
    assert_eq!(closed.status.code(), Some(0), "{closed:?}");

    let open = Report::read_json(&open_json).unwrap();
    let closed = Report::read_json(&closed_json).unwrap();
    let open_request = open.transaction("request").unwrap().latency();
    let closed_request = closed.transaction("request").unwrap().latency();
    // The stall (4 s to 5 s of the server's clock) holds a sixth of the open model's sessions,
    // each for up to a second: p99 lands in it.
    assert!(open_request.p99_us >= 900_000, "open p99 {open_request:?}");
    // The closed model saw the stall too (its max), but only in ten samples of many.
    assert!(
        closed_request.max_us >= 900_000,
        "closed max {closed_request:?}"
    );
    assert!(
        closed_request.p99_us < 100_000,
        "closed p99 {closed_request:?}"
    );
    assert!(closed_request.count > 100 * open_request.count / 10);
}

/// `--threshold` decides the exit code, and the summary names the failed threshold, the
/// measured value and the limit.
#[test]
fn thresholds_decide_the_exit_code() {
    let failing = run_example_raw(
        "echo_storm",
        &[
            "--bots",
            "5",
            "--iterations",
            "200",
            "--quiet",
            "--threshold",
            "p99(request) < 1us",
            "--threshold",
            "count(request) >= 1000",
        ],
    );
    let stdout = String::from_utf8_lossy(&failing.stdout);
    assert_eq!(failing.status.code(), Some(1), "{stdout}");
    // `p99(request) < 1us      FAILED     112us    1us`: the verdict, the measured value, the limit.
    let columns = |expression: &str| -> Vec<String> {
        let line = stdout
            .lines()
            .find(|line| line.starts_with(expression))
            .unwrap_or_else(|| panic!("the threshold {expression} is not named:\n{stdout}"));
        line[expression.len()..]
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    };
    let latency = columns("p99(request) < 1us");
    assert_eq!(latency[0], "FAILED", "{stdout}");
    assert_eq!(latency[2], "1us", "{stdout}");
    assert!(
        latency[1].ends_with("us") || latency[1].ends_with("ms"),
        "a measured latency: {stdout}"
    );
    assert_ne!(latency[1], "1us", "{stdout}");
    // Passing thresholds are listed too: 5 bots × 200 requests.
    assert_eq!(
        columns("count(request) >= 1000")[..2],
        ["ok", "1000"],
        "{stdout}"
    );

    let passing = run_example_raw(
        "echo_storm",
        &[
            "--bots",
            "5",
            "--iterations",
            "200",
            "--quiet",
            "--threshold",
            "count(request) == 1000",
            "--threshold",
            "failures < 0.1%",
        ],
    );
    assert_eq!(passing.status.code(), Some(0), "{passing:?}");
}

/// Bad flags: a clear message and exit code 2, before anything runs.
#[test]
fn bad_flags_exit_with_2_and_say_why() {
    let cases: [(&[&str], &str); 5] = [
        (&["--bots", "many"], "--bots"),
        (&["--threshold", "p99(request) < 50"], "unit"),
        (&["--rate", "10/s"], "--duration"),
        (&["--ramp-up", "10:30"], "not a duration"),
        (&["--bots", "5", "--rate", "5/s:1s"], "cannot be used with"),
    ];
    for (args, expected) in cases {
        let output = run_example_raw("echo_storm", args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}

/// Ctrl-C (and SIGTERM) mid-run: the run stops, the summary is printed, both reports are
/// written whole, and the exit code says interrupted.
#[test]
fn a_signal_stops_the_run_and_leaves_complete_reports() {
    for (signal, name) in [(libc::SIGINT, "sigint"), (libc::SIGTERM, "sigterm")] {
        let dir = report_dir(name);
        let json = dir.join("report.json");
        let html = dir.join("report.html");
        let child = Command::new(example_path("echo_storm"))
            .args(["--bots", "10", "--duration", "60s", "--json"])
            .arg(&json)
            .arg("--html")
            .arg(&html)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("echo_storm starts");
        std::thread::sleep(Duration::from_millis(2_500));
        let pid = libc::pid_t::try_from(child.id()).expect("a pid");
        let sent = Instant::now();
        // SAFETY: kill has no memory-safety preconditions; the pid is our own child's.
        assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
        let output = child.wait_with_output().expect("echo_storm ends");
        assert!(
            sent.elapsed() < Duration::from_secs(10),
            "{name}: slow to stop"
        );
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert_eq!(output.status.code(), Some(130), "{name}: {stdout}");
        assert!(stdout.contains("interrupted"), "{name}: {stdout}");
        assert!(
            stdout.contains("request"),
            "{name}: no summary table:\n{stdout}"
        );
        let report = Report::read_json(&json).unwrap();
        assert_eq!(report.run.end, "interrupted");
        let request = report.transaction("request").unwrap();
        assert!(request.ok > 0);
        assert_eq!(request.stopped, 10, "each bot had one request in flight");
        assert!(
            report.series.len() >= 2,
            "{name}: {} seconds",
            report.series.len()
        );
        let page = std::fs::read_to_string(&html).expect("the HTML report");
        assert!(page.trim_end().ends_with("</html>"), "{name}: a torn page");
    }
}

/// Reports go where they are asked to, directories made as needed.
#[test]
fn report_directories_are_made() {
    let dir = report_dir("nested");
    let json = dir.join("a/b/report.json");
    let html = dir.join("c/report.html");
    let output = run_example_raw(
        "echo_storm",
        &[
            "--bots",
            "2",
            "--iterations",
            "10",
            "--quiet",
            "--json",
            json.to_str().unwrap(),
            "--html",
            html.to_str().unwrap(),
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert_eq!(
        Report::read_json(&json)
            .unwrap()
            .transaction("request")
            .unwrap()
            .ok,
        20
    );
    // The page the harness wrote has every plot drawn (the browser test in ttk-report renders
    // such pages in chromium).
    let page = std::fs::read_to_string(&html).unwrap();
    for plot in ["throughput", "latency", "bots", "distribution", "errors"] {
        let at = page
            .find(&format!("<figure class=\"plot\" id=\"plot-{plot}\""))
            .unwrap_or_else(|| panic!("no {plot} plot"));
        let figure = &page[at..at + page[at..].find("</figure>").unwrap()];
        assert!(figure.contains("<svg"), "the {plot} plot has no drawing");
    }
}
