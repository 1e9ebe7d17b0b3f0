//! `Http2Connection` against a real nginx on loopback, over h2c (prior knowledge) and over TLS
//! (ALPN `h2`): every success is a line of nginx's access log, also when nginx ends each
//! connection with GOAWAY after a few requests while many more are in flight. And, on the same
//! TLS setup, `HttpConnection` meeting nginx's close of an idle HTTPS connection.

mod support;

use std::fs;
use std::io;

use support::nginx::Nginx;
use ttk_core::Cx;
use ttk_http::Request;
use ttk_http::http2::Http2Connection;
use ttk_macros::bot;
use ttk_tls::{TestPki, TlsConnector};

/// A file big enough for many DATA frames and several window updates.
const BIG_LEN: usize = 3_000_000;

/// The config; `{listen}` and `{keepalive}` are filled in by each test, `{dir}` and `{port}`
/// by `Nginx::start`.
const HTTP: &str = r#"
    default_type text/plain;
    log_format proto '$server_protocol $status $request_method $request_uri';
    access_log {dir}/access.log proto;
    {keepalive}
    server {
        listen 127.0.0.1:{port} {listen};
        ssl_certificate {dir}/server.pem;
        ssl_certificate_key {dir}/server.key;
        root {dir}/www;
        client_max_body_size 10m;
        location = /hello { return 200 "hello from nginx\n"; }
        location = /echo-method { return 200 "$request_method\n"; }
        location = /teapot { return 418; }
    }
"#;

/// nginx listening with `listen` (`http2`, or `ssl http2`) and `keepalive` directives; for
/// TLS, the CA's PEM.
fn start(listen: &str, keepalive: &str) -> Option<(Nginx, String)> {
    let pki = TestPki::new().unwrap();
    let server = pki.server_certificate(&["localhost", "127.0.0.1"]).unwrap();
    let config = support::nginx::config(1024, HTTP)
        .replace("{listen}", listen)
        .replace("{keepalive}", keepalive);
    let nginx = Nginx::start(&config, |dir| {
        fs::write(dir.join("server.pem"), server.chain_pem()).unwrap();
        fs::write(dir.join("server.key"), server.key_pem()).unwrap();
        fs::write(dir.join("www/big.bin"), big_body()).unwrap();
    })?;
    Some((nginx, pki.ca_pem().to_owned()))
}

/// A connector trusting only the test's CA (`ca`, PEM), offering `alpn` (none if empty).
fn trusting(ca: &str, alpn: &[&str]) -> TlsConnector {
    let builder = TlsConnector::builder()
        .system_roots(false)
        .ca_pem(ca)
        .unwrap();
    let builder = if alpn.is_empty() {
        builder
    } else {
        builder.alpn(alpn)
    };
    builder.build().unwrap()
}

/// The content of `big.bin`.
fn big_body() -> Vec<u8> {
    (0..BIG_LEN).map(|i| (i % 251) as u8).collect()
}

/// The lines of nginx's access log (`protocol status method uri`).
fn logged(nginx: &Nginx) -> Vec<String> {
    // nginx logs a request after its response went out: a client that read the response may
    // look before the line is written. The log is read until it stops growing.
    let read = || {
        fs::read_to_string(nginx.dir.join("access.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    let mut lines = read();
    for _ in 0..40 {
        std::thread::sleep(std::time::Duration::from_millis(50));
        let again = read();
        if again.len() == lines.len() {
            break;
        }
        lines = again;
    }
    lines
}

/// What one bot's run came to.
#[derive(Debug, Default)]
struct Tally {
    /// Responses with 200, and with other statuses.
    ok: usize,
    other_status: usize,
    /// Failed requests, with their errors.
    failed: Vec<String>,
    /// Connections made and requests sent again.
    connections: u64,
    retries: u64,
    /// Whether every body was the expected one.
    bodies_right: bool,
}

/// What [`load`] sends.
#[derive(Clone, Debug)]
struct Job {
    /// nginx's address.
    addr: String,
    /// For TLS: the connector (`None`: h2c).
    tls: Option<TlsConnector>,
    /// The request, sent `total` times, `depth` in flight at a time.
    request: Request,
    total: usize,
    depth: usize,
    /// The body each response should have.
    expected: Vec<u8>,
}

/// Sends the job's requests on one connection.
#[bot(crate = ttk_core)]
fn load(_cx: Cx, _id: usize, job: Job) -> io::Result<Tally> {
    let Job {
        addr,
        tls,
        request,
        total,
        depth,
        expected,
    } = job;
    let mut h2 = match &tls {
        Some(tls) => ttk_core::yield_!(Http2Connection::connect_tls(&addr, tls))?,
        None => ttk_core::yield_!(Http2Connection::connect(&format!("http://{addr}/")))?,
    };
    let mut tally = Tally {
        bodies_right: true,
        ..Tally::default()
    };
    let mut started = 0;
    while started < depth.min(total) {
        h2.start(&request);
        started += 1;
    }
    while let Some((_, result)) = ttk_core::yield_!(h2.next()) {
        match result {
            Ok(response) if response.status() == 200 => {
                tally.ok += 1;
                tally.bodies_right &= response.body() == expected.as_slice();
            }
            Ok(_) => tally.other_status += 1,
            Err(error) => tally.failed.push(error.to_string()),
        }
        if started < total {
            h2.start(&request);
            started += 1;
        }
    }
    tally.connections = h2.connections_opened();
    tally.retries = h2.retries();
    Ok(tally)
}

/// Runs [`load`] in one bot.
fn run_load(
    nginx: &Nginx,
    tls: Option<TlsConnector>,
    request: Request,
    total: usize,
    depth: usize,
    expected: &[u8],
) -> Tally {
    let job = Job {
        addr: nginx.addr.clone(),
        tls,
        request,
        total,
        depth,
        expected: expected.to_vec(),
    };
    ttk_core::run(1, move |cx, id| load(cx, id, job.clone()))
        .remove(0)
        .unwrap()
}

#[test]
fn h2c_keeps_many_streams_in_flight_on_one_connection() {
    let Some((nginx, _)) = start("http2", "keepalive_requests 100000;") else {
        return;
    };
    let tally = run_load(
        &nginx,
        None,
        Request::get("/hello"),
        2_000,
        100,
        b"hello from nginx\n",
    );
    assert_eq!(tally.ok, 2_000, "{tally:?}");
    assert!(tally.failed.is_empty() && tally.bodies_right, "{tally:?}");
    assert_eq!((tally.connections, tally.retries), (1, 0));
    let log = logged(&nginx);
    assert_eq!(log.len(), 2_000);
    assert!(
        log.iter().all(|line| line == "HTTP/2.0 200 GET /hello"),
        "{:?}",
        &log[..3]
    );
}

#[test]
fn goaway_every_few_requests_loses_nothing() {
    // nginx ends each connection with GOAWAY after 7 requests, while 50 are in flight: those
    // above its last stream go again on the next connection, none counted twice or failed.
    let Some((nginx, _)) = start("http2", "keepalive_requests 7;") else {
        return;
    };
    let tally = run_load(
        &nginx,
        None,
        Request::get("/hello"),
        700,
        50,
        b"hello from nginx\n",
    );
    assert_eq!(tally.ok, 700, "{tally:?}");
    assert!(tally.failed.is_empty(), "{tally:?}");
    assert_eq!(logged(&nginx).len(), 700, "each success once in the log");
    assert!(tally.connections >= 100, "{tally:?}");
    assert!(
        tally.retries > 0,
        "streams above GOAWAY's last were sent again: {tally:?}"
    );
}

#[test]
fn tls_with_alpn_h2_bodies_both_ways_and_statuses() {
    let Some((nginx, ca)) = start("ssl http2", "keepalive_requests 100000;") else {
        return;
    };
    let tls = trusting(&ca, &["h2"]).for_one_client();
    // A 3 MB file: many windows' worth, reopened as it is read.
    let big = run_load(
        &nginx,
        Some(tls.clone()),
        Request::get("/big.bin"),
        6,
        3,
        &big_body(),
    );
    assert_eq!((big.ok, big.bodies_right), (6, true), "{big:?}");
    // A 1 MB request body: sent as the server's windows allow.
    let posted = run_load(
        &nginx,
        Some(tls.clone()),
        Request::post("/echo-method").body(vec![b'x'; 1_000_000]),
        4,
        2,
        b"POST\n",
    );
    assert_eq!((posted.ok, posted.bodies_right), (4, true), "{posted:?}");
    let teapots = run_load(&nginx, Some(tls), Request::get("/teapot"), 5, 5, b"");
    assert_eq!((teapots.ok, teapots.other_status), (0, 5), "{teapots:?}");
    let log = logged(&nginx);
    assert_eq!(
        log.iter()
            .filter(|l| l.starts_with("HTTP/2.0 200 GET /big.bin"))
            .count(),
        6
    );
    assert_eq!(
        log.iter()
            .filter(|l| l.starts_with("HTTP/2.0 200 POST"))
            .count(),
        4
    );
    assert_eq!(
        log.iter().filter(|l| l.starts_with("HTTP/2.0 418")).count(),
        5
    );
}

#[test]
fn a_server_without_h2_in_alpn_is_named() {
    let Some((nginx, ca)) = start("ssl", "") else {
        return;
    };
    let addr = nginx.addr.clone();
    let kind_and_text = ttk_core::run(1, move |cx, id| {
        refused(cx, id, addr.clone(), trusting(&ca, &["h2"]))
    })
    .remove(0);
    // nginx's alert names the refusal; now and then its reset overtakes the alert, and the
    // error can only say what it suspects.
    let named = kind_and_text.0 == io::ErrorKind::InvalidData
        && kind_and_text.1.contains("does not speak h2");
    let suspected = kind_and_text.0 == io::ErrorKind::ConnectionReset
        && kind_and_text.1.contains("may not speak h2");
    assert!(named || suspected, "{kind_and_text:?}");
}

/// Connects over TLS to a server that does not speak HTTP/2: the error's kind and text.
#[bot(crate = ttk_core)]
fn refused(_cx: Cx, _id: usize, addr: String, tls: TlsConnector) -> (io::ErrorKind, String) {
    let error = ttk_core::yield_!(Http2Connection::connect_tls(&addr, &tls)).unwrap_err();
    (error.kind(), error.to_string())
}

#[test]
fn send_waits_for_its_own_answer_among_others_started_before() {
    let Some((nginx, _)) = start("http2", "keepalive_requests 100000;") else {
        return;
    };
    let addr = nginx.addr.clone();
    let (own, others) = ttk_core::run(1, move |cx, id| mixed(cx, id, addr.clone()))
        .remove(0)
        .unwrap();
    assert_eq!(own, "POST\n");
    assert_eq!(others, 10, "the started requests' results wait for next()");
    assert_eq!(logged(&nginx).len(), 11);
}

/// Starts ten GETs, then sends a POST and awaits it; then collects the ten.
#[bot(crate = ttk_core)]
fn mixed(_cx: Cx, _id: usize, addr: String) -> io::Result<(String, usize)> {
    let mut h2c = ttk_core::yield_!(Http2Connection::connect(&format!("http://{addr}/")))?;
    for _ in 0..10 {
        h2c.start(&Request::get("/hello"));
    }
    let own = ttk_core::yield_!(h2c.send(&Request::post("/echo-method").body("x")))?;
    let mut others = 0;
    while let Some((_, result)) = ttk_core::yield_!(h2c.next()) {
        others += usize::from(result?.body() == b"hello from nginx\n");
    }
    Ok((own.text()?.to_owned(), others))
}

/// One bot of several sharing a connection: `count` GETs in turn; how many came back 200, and
/// the first failure, to say what went wrong.
#[bot(crate = ttk_core)]
fn tab(
    _cx: Cx,
    _id: usize,
    shared: ttk_http::http2::SharedHttp2Connection,
    count: usize,
) -> (usize, Option<String>) {
    let (mut ok, mut first_failure) = (0, None);
    for _ in 0..count {
        match ttk_core::yield_!(shared.send(&Request::get("/hello"))) {
            Ok(response) if response.status() == 200 => ok += 1,
            Ok(response) => {
                first_failure.get_or_insert_with(|| format!("status {}", response.status()));
            }
            Err(error) => {
                first_failure.get_or_insert_with(|| format!("{:?}: {error}", error.kind()));
            }
        }
    }
    (ok, first_failure)
}

/// Ends the test process if it is still running after `limit`: a bot left waiting with
/// nobody driving would hang the run, not fail it.
fn watchdog(limit: std::time::Duration) -> std::sync::mpsc::Sender<()> {
    let (done, finished) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = finished.recv_timeout(limit) {
            eprintln!("a test hung for {limit:?}: bots waited on a connection nobody drove");
            std::process::exit(101);
        }
    });
    done
}

#[test]
fn bots_of_one_loop_share_one_connection() {
    let _watchdog = watchdog(std::time::Duration::from_secs(60));
    for (keepalive, connections) in [
        ("keepalive_requests 100000;", 1..=1),
        ("keepalive_requests 50;", 20..=40),
    ] {
        let Some((nginx, _)) = start("http2", keepalive) else {
            return;
        };
        let url = format!("http://{}/", nginx.addr);
        let shared = ttk_http::http2::SharedHttp2Connection::new(&url, None).unwrap();
        let tabs = ttk_core::run(10, |cx, id| tab(cx, id, shared.clone(), 100));
        let oks: Vec<usize> = tabs.iter().map(|(ok, _)| *ok).collect();
        let first_failure = tabs.iter().find_map(|(_, failure)| failure.clone());
        assert_eq!(
            oks,
            vec![100; 10],
            "{keepalive}: first failure {first_failure:?}"
        );
        assert!(
            connections.contains(&shared.connections_opened()),
            "{keepalive}: {} connections",
            shared.connections_opened()
        );
        assert_eq!(
            logged(&nginx).len(),
            1_000,
            "{keepalive}: each request once in the log"
        );
    }
}

#[test]
fn the_servers_stream_limit_holds_back_the_rest() {
    // nginx allows 5 streams at once, 50 are in flight. Before nginx's SETTINGS arrive, the
    // client may open up to 100 (RFC 9113 5.1.2): nginx refuses those past 5 with
    // REFUSED_STREAM, and they go again once its limit is known; after that the rest wait
    // here. Each request is answered, and logged, once.
    let Some((nginx, _)) = start(
        "http2",
        "keepalive_requests 100000; http2_max_concurrent_streams 5;",
    ) else {
        return;
    };
    let tally = run_load(
        &nginx,
        None,
        Request::get("/hello"),
        600,
        50,
        b"hello from nginx\n",
    );
    assert_eq!((tally.ok, tally.failed.len()), (600, 0), "{tally:?}");
    assert_eq!(tally.connections, 1, "{tally:?}");
    assert!(
        tally.retries <= 45,
        "only the first burst is refused: {tally:?}"
    );
    assert_eq!(logged(&nginx).len(), 600);
}

#[test]
fn over_tls_a_request_that_meets_an_idle_close_goes_again_and_the_reconnect_is_recorded() {
    let Some((nginx, ca)) = start("ssl", "keepalive_timeout 200ms;") else {
        return;
    };
    let addr = nginx.addr.clone();
    let outcome = ttk_core::run(1, move |cx, id| {
        after_idle(cx, id, addr.clone(), trusting(&ca, &[]))
    })
    .remove(0)
    .unwrap();
    // Without a look first, the second request met nginx's close (its close_notify and FIN)
    // and went again on a new connection, whose connect and handshake are recorded.
    assert_eq!(outcome, (200, 1, 2, 1, true));
    assert_eq!(logged(&nginx).len(), 2, "nginx served each once");
}

/// Two requests over TLS, 500 ms apart (nginx closes a connection idle for 200 ms), without
/// asking `still_open` between them: the second's status, the retries, the connections, the
/// reconnects recorded and whether the last shook hands.
#[bot(crate = ttk_core)]
fn after_idle(
    _cx: Cx,
    _id: usize,
    addr: String,
    tls: TlsConnector,
) -> io::Result<(u16, u64, u64, usize, bool)> {
    let mut http = ttk_core::yield_!(ttk_http::HttpConnection::connect_tls(&addr, &tls))?;
    ttk_core::yield_!(http.send(&Request::get("/hello")))?;
    ttk_core::yield_!(ttk_core::sleep(std::time::Duration::from_millis(500)));
    let status = ttk_core::yield_!(http.send(&Request::get("/hello")))?.status();
    let reconnects: Vec<_> = http.take_reconnects().collect();
    let shook = reconnects
        .last()
        .is_some_and(|r| r.connected.is_ok() && matches!(r.handshaken, Some(Ok(_))));
    Ok((
        status,
        http.retries(),
        http.connections_opened(),
        reconnects.len(),
        shook,
    ))
}
