//! The open model's rate changed while the run goes on, through the dashboard's
//! `POST /control`: sessions arrive at the new rate from then on, and the report says when.

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use ttk::Cx;
use ttk::harness::{LoadTest, Session};

#[ttk::bot]
fn visit(cx: Cx, session: Session) {
    for _ in session.iterations() {
        cx.transaction("visit").ok();
    }
}

/// `method path` with `body` on `127.0.0.1:port`; the status code, if anything answered.
fn request(port: u16, method: &str, path: &str, body: &str) -> Option<u16> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    response.split(' ').nth(1)?.parse().ok()
}

#[test]
fn a_rate_set_from_the_dashboard_takes_the_schedules_place() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dashboard = format!("--dashboard=127.0.0.1:{port}");
    let args = [
        "rates",
        "--rate",
        "20/s",
        "--duration",
        "3s",
        &dashboard,
        "-q",
    ];
    let test = LoadTest::try_from_args("rates", args).unwrap();
    let steer = std::thread::spawn(move || {
        let started = Instant::now();
        while request(port, "GET", "/status", "").is_none() {
            assert!(started.elapsed() < Duration::from_secs(10), "no dashboard");
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(1000));
        let refused = request(port, "POST", "/control", r#"{"bots": 5}"#);
        let taken = request(port, "POST", "/control", r#"{"rate": "100/s"}"#);
        (refused, taken)
    });
    let outcome = test.run(visit);
    let (refused, taken) = steer.join().unwrap();
    assert_eq!(
        refused,
        Some(409),
        "an open-model run has no bot count to set"
    );
    assert_eq!(taken, Some(200));
    let changes: Vec<&str> = outcome
        .report
        .run
        .changes
        .iter()
        .map(|change| change.what.as_str())
        .collect();
    assert_eq!(changes, ["rate → 100/s"]);
    let at = outcome.report.run.changes[0].t_s;
    // About 20 a second before the change, 100 a second after: far more than 20/s's 60.
    let visits = outcome.report.transaction("visit").unwrap().ok as f64;
    let expected = 20.0 * at + 100.0 * (3.0 - at);
    assert!(
        (visits - expected).abs() < expected * 0.15 + 5.0,
        "{visits} visits, {expected:.0} expected (changed at {at:.2} s)"
    );
}
