//! `ttk http https://…` against a real nginx serving TLS with a CA and certificate the test
//! makes: successes equal nginx's access log, also when nginx closes idle connections and when
//! it closes after every response; `--cacert` and `--insecure` work, and without them the
//! certificate error says what to do.

#[path = "../../ttk-http/tests/support/nginx.rs"]
mod nginx;

use std::fs;
use std::process::{Command, Output};

use nginx::Nginx;
use ttk::tls::TestPki;
use ttk_report::Report;

/// nginx serving HTTPS; `{keepalive}` is filled in by each test. Session resumption is on, as
/// on real servers.
const HTTP: &str = r#"
    default_type text/plain;
    access_log {dir}/access.log;
    {keepalive}
    server {
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {dir}/server.pem;
        ssl_certificate_key {dir}/server.key;
        ssl_session_cache shared:TTK:1m;
        location = / { return 200 "Hello, World!"; }
        location = /moved { return 302 https://$http_host/; }
    }
"#;

/// The whole config: [`HTTP`] in the common frame.
fn config() -> String {
    nginx::config(1024, HTTP)
}

/// nginx with `keepalive` directives, its certificate signed by a new CA; the CA's file.
fn start(keepalive: &str) -> Option<(Nginx, std::path::PathBuf)> {
    start_with(&config().replace("{keepalive}", keepalive))
}

/// nginx with `config`, its certificate signed by a new CA; the CA's file.
fn start_with(config: &str) -> Option<(Nginx, std::path::PathBuf)> {
    let pki = TestPki::new().unwrap();
    let server = pki.server_certificate(&["localhost", "127.0.0.1"]).unwrap();
    let nginx = Nginx::start(config, |dir| {
        fs::write(dir.join("server.pem"), server.chain_pem()).unwrap();
        fs::write(dir.join("server.key"), server.key_pem()).unwrap();
        fs::write(dir.join("ca.pem"), pki.ca_pem()).unwrap();
    })?;
    let ca = nginx.dir.join("ca.pem");
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

/// Requests nginx logged as served with 200.
fn served(nginx: &Nginx) -> usize {
    served_with(nginx, 200)
}

/// Requests nginx logged as served with `status`.
fn served_with(nginx: &Nginx, status: u16) -> usize {
    fs::read_to_string(nginx.dir.join("access.log"))
        .unwrap()
        .lines()
        .filter(|line| line.contains(&format!("HTTP/1.1\" {status} ")))
        .count()
}

/// Checks a run that should have passed with every success logged by nginx; the report.
fn check_counts(output: &Output, report: Option<Report>, nginx: &Nginx) -> Report {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let report = report.unwrap();
    let request = report.transaction("request").unwrap();
    assert_eq!(request.failed, 0, "{:?}", request.errors);
    assert!(request.ok > 0);
    assert_eq!(
        request.ok as usize,
        served(nginx),
        "ttk's successes against nginx's log"
    );
    let tls = report
        .transaction("tls")
        .expect("handshakes are timed as `tls`");
    assert_eq!(tls.failed, 0, "{:?}", tls.errors);
    report
}

#[test]
fn https_with_the_ca_and_insecure_and_without_either() {
    let Some((nginx, ca)) = start("keepalive_requests 1000;") else {
        return;
    };
    let url = format!("https://{}/", nginx.addr);
    let ca = ca.to_str().unwrap();
    let args = [
        "http",
        &url,
        "-c",
        "20",
        "-d",
        "2s",
        "--workers",
        "2",
        "--cacert",
        ca,
    ];
    let (output, report) = ttk(&args, &nginx, "cacert");
    let report = check_counts(&output, report, &nginx);
    // nginx closes a connection after 1,000 requests; ttk opens it again and resumes.
    assert!(
        report.counters["tls resumed handshakes"] > 0,
        "{:?}",
        report.counters
    );

    // Paced, on connections nginx keeps open: each is kept, whatever TLS records came while it
    // was idle (TLS 1.3's session tickets follow the handshake): one connection each.
    let before = served(&nginx);
    let args = [
        "http", &url, "-c", "3", "--rate", "30", "-d", "1s", "--cacert", ca,
    ];
    let (output, report) = ttk(&args, &nginx, "paced");
    assert_eq!(output.status.code(), Some(0));
    let report = report.unwrap();
    let request = report.transaction("request").unwrap();
    assert_eq!(request.ok as usize, served(&nginx) - before);
    assert!(request.ok >= 20, "{} requests", request.ok);
    assert_eq!(report.transaction("connect").unwrap().ok, 3);

    // --insecure: it works, and the report says certificates went unchecked.
    let before = served(&nginx);
    let args = ["http", &url, "-c", "5", "-d", "500ms", "--insecure"];
    let (output, report) = ttk(&args, &nginx, "insecure");
    assert_eq!(output.status.code(), Some(0));
    let report = report.unwrap();
    let request = report.transaction("request").unwrap();
    assert_eq!(request.ok as usize, served(&nginx) - before);
    let unverified = report.counters["tls handshakes NOT verified (--insecure)"];
    assert_eq!(unverified, report.transaction("tls").unwrap().ok);
    assert!(String::from_utf8_lossy(&output.stderr).contains("NOT checked"));

    // An absolute https:// redirect to the same host is followed on the TLS connection.
    let before = served(&nginx);
    let moved = format!("https://{}/moved", nginx.addr);
    let args = [
        "http",
        &moved,
        "-c",
        "2",
        "-d",
        "300ms",
        "--redirects",
        "1",
        "--cacert",
        ca,
    ];
    let (output, report) = ttk(&args, &nginx, "moved");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let request = report.unwrap();
    let request = request.transaction("request").unwrap();
    assert_eq!(request.failed, 0, "{:?}", request.errors);
    assert_eq!(request.ok as usize, served_with(&nginx, 302));
    assert_eq!(request.ok as usize, served(&nginx) - before);

    // Neither: a certificate error, named, that says what to do; exit 1.
    let args = ["http", &url, "-c", "2", "-d", "300ms"];
    let (output, report) = ttk(&args, &nginx, "untrusted");
    assert_eq!(output.status.code(), Some(1));
    let tls = report.unwrap();
    let tls = tls.transaction("tls").unwrap();
    assert_eq!(tls.ok, 0);
    assert_eq!(tls.errors[0].kind, "TlsUnknownIssuer");
    assert!(tls.errors[0].samples[0].contains("--cacert"));
    assert!(tls.errors[0].samples[0].contains("--insecure"));
}

#[test]
fn no_false_failures_when_nginx_closes_idle_connections() {
    // Each connection sends every 500 ms; nginx closes a connection idle for 200 ms, so nearly
    // every request goes out on a connection nginx has just closed.
    let Some((nginx, ca)) = start("keepalive_timeout 200ms;") else {
        return;
    };
    let url = format!("https://{}/", nginx.addr);
    let ca = ca.to_str().unwrap();
    let args = [
        "http", &url, "-c", "5", "--rate", "10", "-d", "3s", "--cacert", ca,
    ];
    let (output, report) = ttk(&args, &nginx, "idle");
    let report = check_counts(&output, report, &nginx);
    let request = report.transaction("request").unwrap();
    assert!(request.ok >= 25, "{} requests", request.ok);
    // Each close (nginx's `close_notify` and FIN) was seen before the next request: every
    // request after a connection's first went on a new connection, connected and shaken hands
    // as such, timed; none was written on a closed one and sent again.
    let resent = "requests sent again (server closed an idle connection)";
    assert_eq!(report.counters.get(resent), None, "{:?}", report.counters);
    let connects = report.transaction("connect").unwrap().ok;
    assert_eq!(connects, request.ok, "a connection per request");
    let counted = report.counters.get("tls full handshakes").unwrap_or(&0)
        + report.counters.get("tls resumed handshakes").unwrap_or(&0);
    let timed = report.transaction("tls").unwrap().ok;
    assert_eq!(
        (counted, timed),
        (connects, connects),
        "{:?}",
        report.counters
    );
}

#[test]
fn no_false_failures_when_nginx_closes_after_every_response() {
    let Some((nginx, ca)) = start("keepalive_requests 1;") else {
        return;
    };
    let url = format!("https://{}/", nginx.addr);
    let ca = ca.to_str().unwrap();
    let args = ["http", &url, "-c", "10", "-d", "1s", "--cacert", ca];
    let (output, report) = ttk(&args, &nginx, "close");
    let report = check_counts(&output, report, &nginx);
    // A connection per request: every request but each connection's first has a handshake of
    // its own, most of them resumed.
    let request = report.transaction("request").unwrap().ok;
    let tls = report.transaction("tls").unwrap().ok;
    assert!(tls >= request, "{tls} handshakes for {request} requests");
    assert!(
        report.counters["tls resumed handshakes"] > tls / 2,
        "{:?}",
        report.counters
    );

    // --tls-resume off: every handshake a full one.
    let args = [
        "http",
        &url,
        "-c",
        "4",
        "-d",
        "500ms",
        "--cacert",
        ca,
        "--tls-resume",
        "off",
    ];
    let (output, report) = ttk(&args, &nginx, "full");
    assert_eq!(output.status.code(), Some(0));
    let report = report.unwrap();
    let tls = report.transaction("tls").unwrap().ok;
    assert!(tls > 4, "{tls} handshakes");
    assert_eq!(report.counters["tls full handshakes"], tls);
    assert!(!report.counters.contains_key("tls resumed handshakes"));
}

#[test]
fn a_server_that_resumes_no_session_is_reported_as_zero_resumed_handshakes() {
    // No session cache and no tickets: nginx resumes nothing; a connection per request.
    let config = config()
        .replace("{keepalive}", "keepalive_requests 1;")
        .replace(
            "ssl_session_cache shared:TTK:1m;",
            "ssl_session_cache off; ssl_session_tickets off;",
        );
    let Some((nginx, ca)) = start_with(&config) else {
        return;
    };
    let url = format!("https://{}/", nginx.addr);
    let ca = ca.to_str().unwrap();
    let args = ["http", &url, "-c", "4", "-d", "500ms", "--cacert", ca];
    let (output, report) = ttk(&args, &nginx, "no_resumption");
    let report = check_counts(&output, report, &nginx);
    let tls = report.transaction("tls").unwrap().ok;
    assert!(tls > 4, "{tls} handshakes");
    assert_eq!(report.counters["tls full handshakes"], tls);
    assert_eq!(
        report.counters.get("tls resumed handshakes"),
        Some(&0),
        "resumption was on and none resumed: {:?}",
        report.counters
    );
}
