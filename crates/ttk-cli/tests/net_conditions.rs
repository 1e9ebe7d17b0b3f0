//! `--net` on the `ttk` command, against a real nginx: every request's round trip takes the
//! profile's delay each way (and nginx's access log still counts every success); a mix gives
//! each connection its profile; the profile is recorded in the report; a bad one is refused.

#[path = "../../ttk-http/tests/support/nginx.rs"]
mod nginx;
mod support;

use nginx::Nginx;
use support::{HELLO_NGINX, stderr, ttk};
use ttk_report::Report;

/// Requests nginx logged as served (`GET /`, 200).
fn served(nginx: &Nginx) -> u64 {
    support::served_hello(&nginx.dir)
}

#[test]
fn every_request_takes_the_delay_each_way_and_nginx_counts_them_all() {
    let Some(nginx) = Nginx::start(&nginx::config(1024, HELLO_NGINX), |_| {}) else {
        return;
    };
    let url = format!("http://{}/", nginx.addr);
    let json = nginx.dir.join("net.json");
    let output = ttk(&[
        "http",
        &url,
        "-c",
        "4",
        "-d",
        "2s",
        "--workers",
        "1",
        "-q",
        "--net",
        "delay=20ms",
        "--json",
        json.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let report = Report::read_json(&json).unwrap();
    assert_eq!(report.run.parameters.net.as_deref(), Some("delay=20ms"));
    let request = report.transaction("request").unwrap();
    let latency = request.latency();
    // 20 ms out, 20 ms back: never less than 40 ms; nginx itself answers in microseconds.
    assert!(
        latency.p50_us >= 40_000 && latency.p50_us < 45_000,
        "{latency:?}"
    );
    assert!(request.histogram.inner().min() >= 40_000, "{latency:?}");
    // 4 connections, one request each 40 ms or so, for 2 s: about 200, and nginx saw each.
    assert!((80..=210).contains(&request.ok), "{}", request.ok);
    assert_eq!(request.failed, 0);
    assert_eq!(request.ok, served(&nginx));
    // A connect's handshake crosses the link too: a round trip.
    let connect = report.transaction("connect").unwrap();
    assert!(
        connect.histogram.inner().min() >= 40_000,
        "{:?}",
        connect.latency()
    );
}

#[test]
fn a_mix_gives_each_connection_its_profile() {
    let Some(nginx) = Nginx::start(&nginx::config(1024, HELLO_NGINX), |_| {}) else {
        return;
    };
    let url = format!("http://{}/", nginx.addr);
    let json = nginx.dir.join("mix.json");
    let output = ttk(&[
        "http",
        &url,
        "-c",
        "40",
        "-d",
        "2s",
        "--workers",
        "1",
        "-q",
        "--net",
        "delay=5ms:50%,delay=50ms:50%",
        "--json",
        json.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let report = Report::read_json(&json).unwrap();
    let request = report.transaction("request").unwrap();
    let histogram = request.histogram.inner();
    // Two kinds of connection: round trips of 10 ms and of 100 ms (a loaded machine adds a
    // few ms), none shorter, none halfway.
    assert_eq!(
        histogram.count_between(0, 9_999),
        0,
        "shorter than the delays"
    );
    let near = histogram.count_between(10_000, 50_000);
    let far = histogram.count_between(100_000, 1_000_000);
    assert_eq!(near + far, request.ok, "round trips of another length");
    // A far connection makes a tenth of a near one's requests.
    assert!(near > 5 * far && far > 0, "near {near}, far {far}");
    assert_eq!(request.ok, served(&nginx));
}

#[test]
fn a_bad_profile_is_refused_with_the_reason() {
    let output = ttk(&["http", "http://127.0.0.1:9/", "--net", "delay=fast"]);
    assert_eq!(output.status.code(), Some(2));
    let said = stderr(&output);
    assert!(said.contains("delay=fast"), "{said}");
    assert!(said.contains("not a time"), "{said}");
}

/// nginx unlike its defaults: a connection ends after 3 requests, and idles out after 1 s.
const CLOSING_NGINX: &str = r#"
    default_type text/plain;
    access_log {dir}/access.log;
    keepalive_requests 3;
    keepalive_timeout 1s;
    server {
        listen 127.0.0.1:{port};
        location = / { return 200 "Hello, World!"; }
    }
"#;

#[test]
fn through_a_lossy_link_a_server_that_closes_often_is_counted_exactly() {
    let Some(nginx) = Nginx::start(&nginx::config(1024, CLOSING_NGINX), |_| {}) else {
        return;
    };
    let url = format!("http://{}/", nginx.addr);
    let json = nginx.dir.join("closing.json");
    let output = ttk(&[
        "http",
        &url,
        "-c",
        "8",
        "-d",
        "2s",
        "--workers",
        "1",
        "-q",
        "--net",
        "delay=5ms±3ms loss=1%",
        "--json",
        json.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let report = Report::read_json(&json).unwrap();
    let request = report.transaction("request").unwrap();
    // Reconnects every 3 requests, a lost segment a retransmission late: no false failure,
    // and every success is one nginx logged.
    assert_eq!(request.failed, 0, "{}", stderr(&output));
    assert!(request.ok > 100, "{}", request.ok);
    assert_eq!(request.ok, served(&nginx));
    assert!(report.transaction("connect").unwrap().ok >= request.ok / 3);
}
