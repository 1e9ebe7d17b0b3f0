//! What `ttk` says when a run cannot do what was asked: a host that does not resolve, a load
//! of no time, a server that never answers (the grace after the duration, which --help
//! names and --grace sets).

use std::io::Read;
use std::net::TcpListener;
use std::path::PathBuf;

use ttk_report::Report;

mod support;
use support::{stderr, stdout, ttk};

#[test]
fn an_unresolvable_host_is_host_not_found_naming_the_host() {
    // `.invalid` never resolves (RFC 2606).
    let output = ttk(&[
        "http",
        "http://no-such-host.invalid/",
        "-c",
        "1",
        "-d",
        "300ms",
        "-q",
    ]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let out = stdout(&output);
    assert!(out.contains("HostNotFound"), "{out}");
    assert!(!out.contains("Uncategorized"), "{out}");
    assert!(
        out.contains("cannot resolve the host name `no-such-host.invalid`"),
        "{out}"
    );
}

#[test]
fn a_load_of_no_time_is_a_bad_command_line() {
    for command in [
        &["http", "http://127.0.0.1:1/", "-d", "0s"][..],
        &["tcp", "127.0.0.1:1", "--send", "PING", "-d", "0ms"][..],
        &["udp", "127.0.0.1:1", "--send", "ping", "--duration", "0s"][..],
    ] {
        let output = ttk(command);
        assert_eq!(output.status.code(), Some(2), "{command:?}");
        let err = stderr(&output);
        assert!(err.contains("is no time"), "{command:?}: {err}");
        assert!(!err.contains("errors are listed above"), "{err}");
    }
}

#[test]
fn help_names_the_grace_after_the_duration() {
    for command in ["http", "tcp", "udp"] {
        let help = stdout(&ttk(&[command, "--help"]));
        assert!(help.contains("--grace <TIME>"), "{command}: {help}");
        assert!(help.contains("[default: 10s]"), "{command}: {help}");
    }
    let help = stdout(&ttk(&["http", "--help"]));
    assert!(help.contains("for up to --grace"), "{help}");
}

/// Accepts connections and reads them, never answering.
fn silent_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for mut socket in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut sink = Vec::new();
                let _ = socket.read_to_end(&mut sink);
            });
        }
    });
    addr
}

/// `ttk http` with `load` (flags) on 2 connections and a grace of 300 ms against a
/// [`silent_server`]: its output and report (`name` names the scratch directory). Every run
/// against it exits 1: no request succeeds.
fn against_a_silent_server(name: &str, load: &[&str]) -> (std::process::Output, Report) {
    let addr = silent_server();
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("ttk-messages-{name}"));
    std::fs::create_dir_all(&dir).unwrap();
    let json = dir.join("run.json");
    let url = format!("http://{addr}/");
    let mut args = vec!["http", &url, "-c", "2", "--grace", "300ms", "-q"];
    args.extend(load);
    args.extend(["--json", json.to_str().unwrap()]);
    let output = ttk(&args);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let report = Report::read_json(&json).unwrap();
    (output, report)
}

#[test]
fn a_server_that_never_answers_holds_the_run_for_the_grace_given_only() {
    let (output, report) = against_a_silent_server("grace", &["-d", "200ms"]);
    let err = stderr(&output);
    assert!(
        err.contains("none was answered before the run ended"),
        "{err}"
    );
    let request = report.transaction("request").unwrap();
    // Both requests were cut by the grace's end: stopped, neither answered nor failed.
    assert_eq!((request.ok, request.failed, request.stopped), (0, 0, 2));
    // Not the default 10 s of grace: far below it, whatever the machine's load.
    assert!(
        report.run.duration_s < 5.0,
        "the run lasted {} s",
        report.run.duration_s
    );
}

#[test]
fn requests_due_on_a_rate_and_never_sent_are_counted_also_when_the_run_stops_them() {
    // 100 requests due over 1 s on 2 connections; the server never answers, so each connection
    // sends its first and waits until the grace ends and stops it: 98 due, never sent.
    let (output, report) = against_a_silent_server("unsent", &["--rate", "100", "-d", "1s"]);
    let request = report.transaction("request").unwrap();
    assert_eq!((request.ok, request.failed, request.stopped), (0, 0, 2));
    assert_eq!(
        report
            .counters
            .get("requests due, never sent (fell behind the rate)")
            .copied(),
        Some(98),
        "{}",
        stdout(&output)
    );
}

#[test]
fn a_run_stopped_early_counts_as_never_sent_only_what_was_due() {
    // 200 datagrams a second for 10 s, echoed; interrupted after about a second. The rest of
    // the schedule was never due: it is not "fell behind the rate".
    let server = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = server.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        let mut buf = [0; 1500];
        while let Ok((len, from)) = server.recv_from(&mut buf) {
            let _ = server.send_to(&buf[..len], from);
        }
    });
    let json = support::scratch("interrupted").join("report.json");
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_ttk"))
        .args([
            "udp", &addr, "--send", "ping", "--expect", "ping", "-c", "2",
        ])
        .args(["--rate", "200", "-d", "10s", "-q", "--json"])
        .arg(&json)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(2000));
    let interrupted = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(interrupted.success());
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(130), "{}", stderr(&output));
    let report = Report::read_json(&json).unwrap();
    let request = report.transaction("request").unwrap();
    assert!(request.ok > 0, "{request:?}");
    // At most those due as the stop came (a few, more if this machine stalled the run): not
    // the 1,500-odd the schedule had left.
    let unsent = report
        .counters
        .get("requests due, never sent (fell behind the rate)")
        .copied()
        .unwrap_or(0);
    assert!(unsent < 500, "{unsent} counted as never sent");
}
