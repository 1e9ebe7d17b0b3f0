//! `ttk grpc` against a real gRPC server (Python's grpcio, `support/grpc_echo_server.py` of
//! ttk-http's tests): the .proto read at run time, successes equal to the server's own count
//! of calls, failures counted by status code, mistakes in the flags named before any load.

#[path = "../../ttk-http/tests/support/grpc_server.rs"]
mod grpc_server;

use std::process::{Command, Output};

use grpc_server::{GrpcServer, support_dir};
use ttk_report::Report;

/// Runs `ttk grpc` against `server` with `args` and a JSON report; its output and report.
fn ttk_grpc(server: &GrpcServer, args: &[&str], name: &str) -> (Output, Option<Report>) {
    let dir = std::env::temp_dir().join(format!("ttk-grpc-command-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let json = dir.join(format!("{name}.json"));
    let proto = support_dir().join("echo.proto");
    let output = Command::new(env!("CARGO_BIN_EXE_ttk"))
        .args(["grpc", &format!("http://{}", server.addr), "--proto"])
        .arg(proto)
        .args(args)
        .arg("--json")
        .arg(&json)
        .arg("-q")
        .output()
        .unwrap();
    let report = Report::read_json(&json).ok();
    let _ = std::fs::remove_file(&json);
    (output, report)
}

/// The server's count of calls of `method`.
fn served(server: &GrpcServer, method: &str) -> u64 {
    grpc_server::served(&server.addr, method)
}

#[test]
fn unary_and_streaming_calls_counted_as_the_server_counts_them() {
    let Some(server) = GrpcServer::start() else {
        return;
    };
    let args = [
        "--call",
        "ttk.test.Echo/Say",
        "--data",
        r#"{"name": "bob"}"#,
        "-H",
        "x-echo: 1",
        "-c",
        "4",
        "--streams",
        "8",
        "-d",
        "1s",
    ];
    let (output, report) = ttk_grpc(&server, &args, "say");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let call = report
        .as_ref()
        .unwrap()
        .transaction("call")
        .unwrap()
        .clone();
    assert_eq!(call.failed, 0, "{:?}", call.errors);
    assert!(call.ok > 0);
    assert_eq!(
        call.ok,
        served(&server, "Say"),
        "ttk's successes against the server's count"
    );
    assert_eq!(report.unwrap().counters["connections over h2c"], 4);

    // Client streaming: an array of messages; server streaming: one message, many replies.
    let args = [
        "--call",
        "ttk.test.Echo.Collect",
        "--data",
        r#"[{"name": "a"}, {"name": "b"}]"#,
        "-c",
        "2",
        "-d",
        "500ms",
    ];
    let (output, report) = ttk_grpc(&server, &args, "collect");
    assert_eq!(output.status.code(), Some(0));
    let ok = report.unwrap().transaction("call").unwrap().ok;
    assert_eq!(ok, served(&server, "Collect"));
    let args = [
        "--call",
        "ttk.test.Echo/Count",
        "--data",
        r#"{"name": "n", "count": 20}"#,
        "-d",
        "300ms",
        "-c",
        "1",
    ];
    let (output, report) = ttk_grpc(&server, &args, "count");
    assert_eq!(output.status.code(), Some(0));
    let report = report.unwrap();
    let call = report.transaction("call").unwrap().clone();
    assert_eq!(call.failed, 0, "{:?}", call.errors);
    assert_eq!(call.ok, served(&server, "Count"));
    // Each call's 20 messages, counted.
    assert_eq!(
        report.counters["messages received (streaming calls)"],
        call.ok * 20
    );
}

#[test]
fn statuses_are_counted_by_code() {
    let Some(server) = GrpcServer::start() else {
        return;
    };
    let args = [
        "--call",
        "ttk.test.Echo/Unavailable",
        "-c",
        "2",
        "-d",
        "300ms",
    ];
    let (output, report) = ttk_grpc(&server, &args, "unavailable");
    assert_eq!(output.status.code(), Some(1), "no call succeeded");
    assert!(String::from_utf8_lossy(&output.stderr).contains("no call succeeded"));
    let call = report.unwrap().transaction("call").unwrap().clone();
    assert_eq!(call.ok, 0);
    assert_eq!(call.failed, served(&server, "Unavailable"));
    let unavailable = call
        .errors
        .iter()
        .find(|e| e.kind == "UNAVAILABLE")
        .unwrap();
    assert_eq!(unavailable.count, call.failed);
    assert!(
        unavailable.samples.iter().any(|s| s.contains("100% é")),
        "{:?}",
        unavailable.samples
    );

    let args = [
        "--call",
        "ttk.test.Echo/Slow",
        "--data",
        r#"{"count": 2000}"#,
        "--timeout",
        "100ms",
        "-c",
        "2",
        "-d",
        "300ms",
    ];
    let (_, report) = ttk_grpc(&server, &args, "slow");
    let call = report.unwrap().transaction("call").unwrap().clone();
    assert!(call.failed > 0);
    assert!(
        call.errors.iter().all(|e| e.kind == "DEADLINE_EXCEEDED"),
        "{:?}",
        call.errors
    );
}

#[test]
fn mistakes_are_named_before_any_load() {
    let Some(server) = GrpcServer::start() else {
        return;
    };
    let cases: [(&[&str], &str); 4] = [
        (&["--call", "ttk.test.Echo/Nope"], "has no method `Nope`"),
        (
            &["--call", "ttk.test.Nope/Say"],
            "has no service `ttk.test.Nope`",
        ),
        (
            &["--call", "ttk.test.Echo/Say", "--data", r#"{"nmae": 1}"#],
            "has no field `nmae`",
        ),
        (
            &["--call", "ttk.test.Echo/Say", "--data", "{"],
            "--data is not JSON",
        ),
    ];
    for (args, said) in cases {
        let (output, _) = ttk_grpc(&server, args, "mistake");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(said), "{args:?}: {stderr}");
    }
    assert_eq!(served(&server, "Say"), 0, "no call was made");
}

#[test]
fn grpc_over_tls_with_the_ca() {
    let pki = ttk::tls::TestPki::new().unwrap();
    let server_pem = pki.server_certificate(&["localhost", "127.0.0.1"]).unwrap();
    let dir = std::env::temp_dir().join(format!("ttk-grpc-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert, key, ca) = (
        dir.join("server.pem"),
        dir.join("server.key"),
        dir.join("ca.pem"),
    );
    std::fs::write(&cert, server_pem.chain_pem()).unwrap();
    std::fs::write(&key, server_pem.key_pem()).unwrap();
    std::fs::write(&ca, pki.ca_pem()).unwrap();
    let Some(server) = GrpcServer::start_tls(&cert, &key) else {
        return;
    };
    let output = Command::new(env!("CARGO_BIN_EXE_ttk"))
        .args(["grpc", &format!("https://{}", server.addr), "--proto"])
        .arg(support_dir().join("echo.proto"))
        .args([
            "--call",
            "ttk.test.Echo/Say",
            "--data",
            r#"{"name": "tls"}"#,
        ])
        .args(["-c", "2", "--streams", "4", "-d", "500ms", "--cacert"])
        .arg(&ca)
        .arg("--json")
        .arg(dir.join("tls.json"))
        .arg("-q")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let report = Report::read_json(dir.join("tls.json")).unwrap();
    let call = report.transaction("call").unwrap();
    assert_eq!(call.failed, 0, "{:?}", call.errors);
    assert_eq!(
        call.ok,
        grpc_server::served_over(&server.addr, Some(&ca), "Say")
    );
    assert_eq!(report.counters["connections over h2"], 2);
    assert_eq!(report.transaction("tls").unwrap().ok, 2);
    let _ = std::fs::remove_dir_all(&dir);
}
