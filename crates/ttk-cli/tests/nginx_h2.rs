//! `ttk http --http 2|2c|auto` against a real nginx speaking HTTP/2 over TLS and in cleartext:
//! successes equal nginx's access log, also when nginx ends every connection with GOAWAY after
//! a few requests while many streams are in flight; the protocol shows in the report.

#[path = "../../ttk-http/tests/support/nginx.rs"]
mod nginx;

use std::fs;
use std::process::{Command, Output};

use nginx::Nginx;
use ttk::tls::TestPki;
use ttk_report::Report;

/// nginx on one port; `{listen}` and `{keepalive}` are filled in by each test.
const HTTP: &str = r#"
    default_type text/plain;
    log_format proto '$server_protocol $status $connection';
    access_log {dir}/access.log proto;
    {keepalive}
    server {
        listen 127.0.0.1:{port} {listen};
        ssl_certificate {dir}/server.pem;
        ssl_certificate_key {dir}/server.key;
        location = / { return 200 "Hello, World!"; }
    }
"#;

/// nginx with `listen` options and `keepalive` directives; the CA's file.
fn start(listen: &str, keepalive: &str) -> Option<(Nginx, String)> {
    let pki = TestPki::new().unwrap();
    let server = pki.server_certificate(&["localhost", "127.0.0.1"]).unwrap();
    let config = nginx::config(1024, HTTP)
        .replace("{listen}", listen)
        .replace("{keepalive}", keepalive);
    let nginx = Nginx::start(&config, |dir| {
        fs::write(dir.join("server.pem"), server.chain_pem()).unwrap();
        fs::write(dir.join("server.key"), server.key_pem()).unwrap();
        fs::write(dir.join("ca.pem"), pki.ca_pem()).unwrap();
    })?;
    let ca = nginx.dir.join("ca.pem").to_str().unwrap().to_owned();
    Some((nginx, ca))
}

/// Runs `ttk` with `args` and a JSON report; its output and report.
fn ttk(args: &[&str], nginx: &Nginx, name: &str) -> (Output, Option<Report>) {
    let json = nginx.dir.join(format!("{name}.json"));
    let output = Command::new(env!("CARGO_BIN_EXE_ttk"))
        .args(args)
        .arg("--json")
        .arg(&json)
        .arg("--quiet")
        .output()
        .unwrap();
    (output, Report::read_json(&json).ok())
}

/// Lines of nginx's access log that start with `prefix` (`HTTP/2.0 200`).
fn logged(nginx: &Nginx, prefix: &str) -> u64 {
    fs::read_to_string(nginx.dir.join("access.log"))
        .unwrap_or_default()
        .lines()
        .filter(|line| line.starts_with(prefix))
        .count() as u64
}

/// The connections nginx logged requests on.
fn connections(nginx: &Nginx) -> u64 {
    fs::read_to_string(nginx.dir.join("access.log"))
        .unwrap_or_default()
        .lines()
        .filter_map(|line| line.rsplit(' ').next().map(str::to_owned))
        .collect::<std::collections::HashSet<_>>()
        .len() as u64
}

/// Checks a run that passed, with every success logged as `logged_as`; the report.
fn check(output: &Output, report: Option<Report>, nginx: &Nginx, logged_as: &str) -> Report {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let report = report.unwrap();
    let request = report.transaction("request").unwrap();
    assert_eq!(request.failed, 0, "{:?}", request.errors);
    assert!(request.ok > 0);
    assert_eq!(
        request.ok,
        logged(nginx, logged_as),
        "ttk's successes against nginx's log"
    );
    assert_eq!(request.ok, logged(nginx, ""), "nothing else was logged");
    report
}

#[test]
fn h2c_with_many_streams_and_goaway_every_50_requests() {
    let Some((nginx, _)) = start("http2", "keepalive_requests 50;") else {
        return;
    };
    let url = format!("http://{}/", nginx.addr);
    let args = [
        "http",
        &url,
        "--http",
        "2c",
        "-c",
        "10",
        "--streams",
        "40",
        "-d",
        "2s",
    ];
    let (output, report) = ttk(&args, &nginx, "h2c");
    let report = check(&output, report, &nginx, "HTTP/2.0 200");
    // Each connection served 50 requests: the rest of its 40 in flight went again.
    let refused = "requests sent again (refused unprocessed: GOAWAY, REFUSED_STREAM)";
    assert!(report.counters[refused] > 0, "{:?}", report.counters);
    // The connections made again inside requests are timed as connects too: ttk's connects
    // are nginx's connections, and so is the count by protocol.
    let connects = report.transaction("connect").unwrap().ok;
    assert_eq!(
        connects,
        connections(&nginx),
        "ttk's connects against nginx's"
    );
    assert_eq!(report.counters["connections over h2c"], connects);
    let reopened = "connections made again (the server ended one: GOAWAY, close)";
    assert_eq!(report.counters[reopened], connects - 10);
    let requests = report.transaction("request").unwrap().ok;
    assert!(
        connects >= requests / 50,
        "{connects} connections for {requests} requests"
    );
}

#[test]
fn h2c_and_h2_when_nginx_ends_idle_connections() {
    // Each connection sends every 500 ms; nginx ends a connection idle for 200 ms (GOAWAY,
    // then its close), so every request after a connection's first finds its connection
    // ended, before it is sent.
    let Some((nginx, ca)) = start("ssl http2", "keepalive_timeout 200ms;") else {
        return;
    };
    let url = format!("https://{}/", nginx.addr);
    let args = [
        "http", &url, "--http", "2", "--cacert", &ca, "-c", "4", "--rate", "8", "-d", "2s",
    ];
    let (output, report) = ttk(&args, &nginx, "h2-idle");
    let report = check(&output, report, &nginx, "HTTP/2.0 200");
    let requests = report.transaction("request").unwrap().ok;
    assert!(requests >= 12, "{requests} requests");
    // Each was seen ended before the next request: every connection is a timed connect and
    // handshake, none made inside a request.
    let connects = report.transaction("connect").unwrap().ok;
    assert_eq!(connects, requests, "a connection per request");
    assert_eq!(
        connects,
        connections(&nginx),
        "ttk's connects against nginx's"
    );
    assert_eq!(report.transaction("tls").unwrap().ok, connects);
    let reopened = "connections made again (the server ended one: GOAWAY, close)";
    assert_eq!(report.counters.get(reopened), None, "{:?}", report.counters);
}

#[test]
fn h2_over_tls_and_auto_against_h2_and_http1_servers() {
    let Some((nginx, ca)) = start("ssl http2", "keepalive_requests 100000;") else {
        return;
    };
    let url = format!("https://{}/", nginx.addr);
    let args = [
        "http",
        &url,
        "--http",
        "2",
        "--cacert",
        &ca,
        "-c",
        "4",
        "--streams",
        "25",
        "-d",
        "1s",
    ];
    let (output, report) = ttk(&args, &nginx, "h2");
    let report = check(&output, report, &nginx, "HTTP/2.0 200");
    assert_eq!(report.counters["connections over h2"], 4);
    assert_eq!(report.transaction("tls").unwrap().ok, 4);

    // auto: the server chooses h2.
    let before = logged(&nginx, "");
    let args = [
        "http", &url, "--http", "auto", "--cacert", &ca, "-c", "2", "-d", "500ms",
    ];
    let (output, report) = ttk(&args, &nginx, "auto-h2");
    assert_eq!(output.status.code(), Some(0));
    let report = report.unwrap();
    assert_eq!(report.counters["connections over h2"], 2);
    let ok = report.transaction("request").unwrap().ok;
    assert_eq!(ok, logged(&nginx, "") - before);
    drop(nginx);

    // auto against a server without HTTP/2: HTTP/1.1, chosen in ALPN.
    let Some((nginx, ca)) = start("ssl", "") else {
        return;
    };
    let url = format!("https://{}/", nginx.addr);
    // --streams asks for more than HTTP/1.1 can carry: one at a time on each connection.
    let args = [
        "http",
        &url,
        "--http",
        "auto",
        "--cacert",
        &ca,
        "-c",
        "2",
        "--streams",
        "4",
        "-d",
        "500ms",
    ];
    let (output, report) = ttk(&args, &nginx, "auto-h1");
    let report = check(&output, report, &nginx, "HTTP/1.1 200");
    // nginx closes an HTTP/1.1 connection every 1,000 requests: each connect is counted.
    let connects = report.transaction("connect").unwrap().ok;
    assert!(connects >= 2);
    assert_eq!(report.counters["connections over http/1.1"], connects);
    assert!(!report.counters.contains_key("connections over h2"));
}

#[test]
fn flags_that_do_not_fit_are_refused() {
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_ttk"))
            .args(args)
            .output()
            .unwrap()
    };
    let h2c_over_https = run(&["http", "https://127.0.0.1:1/", "--http", "2c"]);
    assert_eq!(h2c_over_https.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&h2c_over_https.stderr).contains("for http:// URLs"));
    let streams_over_http1 = run(&["http", "http://127.0.0.1:1/", "--streams", "5"]);
    assert_eq!(streams_over_http1.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&streams_over_http1.stderr).contains("HTTP/2 only"));
    let bad_version = run(&["http", "http://127.0.0.1:1/", "--http", "3"]);
    assert_eq!(bad_version.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad_version.stderr).contains("write 1.1, 2, 2c or auto"));
}

#[test]
fn h2c_against_a_server_of_http1_alone_is_named_and_its_connections_not_counted_as_h2c() {
    let Some((nginx, _)) = start("", "") else {
        return;
    };
    let url = format!("http://{}/", nginx.addr);
    let args = ["http", &url, "--http", "2c", "-c", "1", "-d", "300ms"];
    let (output, report) = ttk(&args, &nginx, "h2c-to-h1");
    assert_eq!(output.status.code(), Some(1), "nothing succeeded");
    let report = report.unwrap();
    let request = report.transaction("request").unwrap();
    assert_eq!(request.ok, 0);
    assert!(request.failed > 0);
    let sample = &request.errors[0].samples[0];
    assert!(sample.contains("the server answered in HTTP/1"), "{sample}");
    // Each connection answered the preface in HTTP/1: none spoke h2c.
    assert_eq!(
        report.counters.get("connections over h2c"),
        None,
        "{:?}",
        report.counters
    );
}

/// nginx killed once it served 300 requests of a run of 2 connections × 4 streams: the requests
/// under way fail,
/// and then each connection tries again at the pace of refused connects (as over HTTP/1.1),
/// starting no request the server is not there for. Each refused connection made again on its
/// own used to fail every request waiting for it and start as many more at once: 77,844
/// refused connects and 155,690 failed requests in a second, none of them sent.
#[test]
fn h2c_against_a_server_gone_mid_run_tries_again_at_a_pace() {
    let Some((nginx, _)) = start("http2", "") else {
        return;
    };
    let pid = fs::read_to_string(nginx.dir.join("nginx.pid")).unwrap();
    let log = nginx.dir.join("access.log");
    let killer = std::thread::spawn(move || {
        // Once it has served a few hundred (whenever ttk gets going on a loaded machine).
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while fs::read_to_string(&log).map_or(0, |log| log.lines().count()) < 300
            && std::time::Instant::now() < deadline
        {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let killed = Command::new("kill")
            .args(["-KILL", pid.trim()])
            .status()
            .unwrap();
        assert!(killed.success());
    });
    let url = format!("http://{}/", nginx.addr);
    let args = [
        "http",
        &url,
        "--http",
        "2c",
        "-c",
        "2",
        "--streams",
        "4",
        "-d",
        "4s",
    ];
    let (output, report) = ttk(&args, &nginx, "gone");
    killer.join().unwrap();
    let report = report.unwrap_or_else(|| panic!("{output:?}"));
    let request = report.transaction("request").unwrap();
    assert!(request.ok >= 300, "served until killed: {}", request.ok);
    assert!(
        request.ok <= logged(&nginx, "HTTP/2.0 200"),
        "no success nginx did not log"
    );
    // At most the requests under way when it died, and those waiting as each connection found
    // it gone (a few rounds of 2 × 4).
    assert!(
        request.failed <= 40,
        "{} failed: {:?}",
        request.failed,
        request.errors
    );
    let connect = report.transaction("connect").unwrap();
    // Seconds without a server, two connections, some ten tries a second each.
    assert!(
        (2..=100).contains(&connect.failed),
        "{} refused connects",
        connect.failed
    );
}
