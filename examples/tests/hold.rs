//! `hold` against `hold_target`: connections held across processes, and the open-file limit
//! reported as failed connects of kind `EMFILE`.

mod util;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};

use ttk::cli::ttk_report::Report;
use util::example_path;

/// `hold_target` running; it stops when its standard input closes (on drop).
struct Target {
    child: Child,
    addr: String,
}

impl Target {
    fn start(processes: u32) -> Target {
        let mut child = Command::new(env!("CARGO_BIN_EXE_hold_target"))
            .args(["--processes", &processes.to_string(), "--for", "60s"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("hold_target starts");
        let mut stdout = BufReader::new(child.stdout.take().expect("piped"));
        let mut addr = String::new();
        stdout
            .read_line(&mut addr)
            .expect("hold_target prints its address");
        // Then a count every second, not needed here.
        std::thread::spawn(move || stdout.lines().count());
        Target {
            child,
            addr: addr.trim().to_owned(),
        }
    }

    /// Stops it and returns what its workers reported.
    fn stop(mut self) -> String {
        drop(self.child.stdin.take());
        let mut report = String::new();
        if let Some(stderr) = self.child.stderr.take() {
            for line in BufReader::new(stderr).lines() {
                report += &line.expect("text");
                report.push('\n');
            }
        }
        self.child.wait().expect("hold_target ends");
        report
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

/// Runs `hold` through `sh` (so that `prefix`, a shell command, applies to it) with `args`,
/// `--quiet` and a fresh `--json`; its output and report.
fn hold(test: &str, prefix: &str, args: &[&str]) -> (Output, Report) {
    let path = std::env::temp_dir().join(format!("ttk-hold-{test}-{}.json", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let output = Command::new("sh")
        .arg("-c")
        .arg(format!("{prefix} exec \"$0\" \"$@\""))
        .arg(example_path("hold"))
        .args(args)
        .args(["--quiet", "--json", path.to_str().expect("a UTF-8 path")])
        .output()
        .expect("sh runs hold");
    let report = Report::read_json(&path)
        .unwrap_or_else(|error| panic!("hold wrote no report ({error}): {output:?}"));
    let _ = std::fs::remove_file(&path);
    (output, report)
}

#[test]
fn two_processes_hold_every_connection_and_echo_lines() {
    let target = Target::start(2);
    let args = [
        "--processes",
        "2",
        "--bots",
        "300",
        "--ramp-up",
        "1s",
        "--duration",
        "3s",
        "--every",
        "1s",
        "--target",
        &target.addr,
    ];
    let (output, report) = hold("two", "", &args);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let connect = report.transaction("connect").expect("connects");
    assert_eq!(
        (connect.ok, connect.failed),
        (300, 0),
        "{}",
        report.summary()
    );
    let request = report.transaction("request").expect("requests");
    assert!(request.ok >= 300, "{}", report.summary());
    assert_eq!(
        request.failed + request.abandoned,
        0,
        "{}",
        report.summary()
    );
    assert_eq!(report.gauges["connections"].max, 300);
    assert_eq!(report.gauges["connections"].last, 0);
    assert_eq!(report.bots.finished, 300);
    let workers = target.stop();
    let accepted: u64 = workers
        .lines()
        .filter_map(|line| {
            line.split("accepted ")
                .nth(1)?
                .split(',')
                .next()?
                .parse::<u64>()
                .ok()
        })
        .sum();
    assert_eq!(accepted, 300, "{workers}");
}

#[test]
fn the_open_file_limit_fails_connects_as_emfile_without_a_panic() {
    let target = Target::start(1);
    let args = [
        "--bots",
        "100",
        "--duration",
        "2s",
        "--every",
        "1s",
        "--target",
        &target.addr,
    ];
    // 64 descriptors: stdio, the loop's own and a few dozen sockets.
    let (output, report) = hold("emfile", "ulimit -n 64 &&", &args);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let connect = report.transaction("connect").expect("connects");
    assert!(connect.ok > 0 && connect.failed > 0, "{}", report.summary());
    assert_eq!(connect.ok + connect.failed, 100);
    let kinds: Vec<&str> = connect.errors.iter().map(|e| e.kind.as_str()).collect();
    assert!(
        kinds.iter().all(|kind| kind.starts_with("EMFILE")),
        "{}",
        report.summary()
    );
    assert!(kinds[0].contains("(64)"), "{kinds:?}");
    assert_eq!(report.bots.failed, connect.failed, "{}", report.summary());
    assert!(
        report.bots.errors.iter().all(|e| e.kind != "panicked"),
        "{}",
        report.summary()
    );
    assert_eq!(report.gauges["connections"].max, connect.ok as i64);
}
