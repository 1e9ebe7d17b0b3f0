//! `ttk quic` against aioquic's server (a QUIC stack no one here wrote): the requests it counts
//! equal the streams (or datagrams) the server echoed, its connections the server's handshakes;
//! a protocol the server does not speak fails by kind.

#[path = "../../ttk-quic/tests/support/aioquic.rs"]
#[allow(dead_code)]
mod aioquic;
mod support;

use aioquic::{Aioquic, Certificate};
use support::{scratch, stderr, ttk};
use ttk_report::Report;

const ALPN: &str = "ttk-echo";

/// Runs `ttk quic` against `server` with `extra` flags; its report and exit code.
fn run_quic(server: &Aioquic, name: &str, extra: &[&str]) -> (Report, i32) {
    let dir = scratch(name);
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, &server.ca_pem).unwrap();
    let json = dir.join("report.json");
    let addr = server.addr.to_string();
    let mut args = vec![
        "quic",
        &addr,
        "--server-name",
        "localhost",
        "--cacert",
        ca.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
        "-q",
    ];
    args.extend_from_slice(extra);
    let output = ttk(&args);
    let report =
        Report::read_json(&json).unwrap_or_else(|error| panic!("{error}: {}", stderr(&output)));
    (report, output.status.code().unwrap_or(-1))
}

#[test]
fn streams_counted_by_ttk_equal_the_servers() {
    let Some(server) = Aioquic::start(ALPN, "", Certificate::Good) else {
        return;
    };
    let (report, code) = run_quic(
        &server,
        "streams",
        &[
            "--alpn",
            ALPN,
            "--send",
            "hello quic",
            "--expect",
            "hello",
            "-c",
            "8",
            "-d",
            "2s",
        ],
    );
    let counts = server.finish();
    assert_eq!(code, 0);
    let request = report.transaction("request").unwrap();
    let connect = report.transaction("connect").unwrap();
    assert!(request.ok > 100, "{}", request.ok);
    assert_eq!(request.failed, 0);
    assert_eq!(connect.ok, 8, "one connection per bot, kept");
    assert_eq!(counts["handshakes"], connect.ok);
    // Every request a stream the server echoed to its end; every connection closed by its
    // bot (code 0) at the end.
    assert_eq!(counts["bi_streams"], request.ok);
    assert_eq!(counts["bi_bytes"], request.ok * "hello quic".len() as u64);
    assert_eq!(counts.get("closed_with_0"), Some(&8));
}

#[test]
fn datagrams_at_a_rate_are_answered_and_counted() {
    let Some(server) = Aioquic::start(ALPN, "", Certificate::Good) else {
        return;
    };
    let (report, code) = run_quic(
        &server,
        "datagrams",
        &[
            "--alpn",
            ALPN,
            "--send",
            "pos 3 4",
            "--datagram",
            "-c",
            "4",
            "--rate",
            "200",
            "-d",
            "2s",
        ],
    );
    let counts = server.finish();
    assert_eq!(code, 0);
    let request = report.transaction("request").unwrap();
    assert!((380..=400).contains(&request.ok), "{}", request.ok);
    // On loopback none is lost: each answered datagram one the server echoed.
    assert_eq!(counts["datagrams"], request.ok + request.failed);
    assert_eq!(request.failed, 0);
}

#[test]
fn a_protocol_the_server_does_not_speak_fails_by_kind() {
    let Some(server) = Aioquic::start(ALPN, "", Certificate::Good) else {
        return;
    };
    let (report, code) = run_quic(
        &server,
        "alpn",
        &["--alpn", "h3", "--send", "x", "-c", "2", "-d", "1s"],
    );
    assert_eq!(code, 1, "nothing succeeded");
    let connect = report.transaction("connect").unwrap();
    assert_eq!(connect.ok, 0);
    assert!(connect.failed > 0);
    assert_eq!(connect.errors[0].kind, "TlsAlert", "{:?}", connect.errors);
    assert_eq!(server.finish()["handshakes"], 0);
}

#[test]
fn connections_the_server_idles_out_are_made_again_without_false_failures() {
    // aioquic ends a connection idle for 1 s; each bot asks every 2 s, so every connection
    // ends between two requests (QUIC's idle end is silent: both sides just stop).
    let Some(server) = Aioquic::start(ALPN, "idle1", Certificate::Good) else {
        return;
    };
    let (report, code) = run_quic(
        &server,
        "idle",
        &[
            "--alpn", ALPN, "--send", "ping", "--expect", "ping", "-c", "2", "--rate", "1", "-d",
            "6s",
        ],
    );
    let counts = server.finish();
    assert_eq!(code, 0);
    let request = report.transaction("request").unwrap();
    let connect = report.transaction("connect").unwrap();
    assert_eq!(request.failed, 0, "{:?}", request.errors);
    assert!(request.ok >= 5, "{}", request.ok);
    // Each request after the first of its bot found its connection ended and made it again.
    assert!(connect.ok > 2, "{} connections", connect.ok);
    assert_eq!(connect.failed, 0);
    assert_eq!(counts["handshakes"], connect.ok);
    assert_eq!(counts["bi_streams"], request.ok);
}
