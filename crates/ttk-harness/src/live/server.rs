//! `--dashboard` and `--metrics`: a small HTTP server on a thread of its own, reading the
//! run's report in the making ([`Live`]).
//!
//! | path | what |
//! |---|---|
//! | `/` | the report's page, which its script refreshes every second |
//! | `/live` | the page's `<main>`, as it is now |
//! | `/dashboard.js` | that script |
//! | `/status` | the run's state as JSON: running or finished, elapsed, bots, transactions |
//! | `/report.json` | the report so far (the final one after the run) |
//! | `/metrics` | Prometheus' text format ([`Report::to_prometheus`]) |
//! | `POST /control` | `{"bots": 50}` or `{"rate": 200}` (sessions per second): changes the load |
//!
//! A change to the load is taken from this machine (a loopback peer) only, unless the request
//! carries the `--dashboard-token` (`Authorization: Bearer TOKEN`): a load generator that anyone
//! on the network could steer is a weapon.
//!
//! Each request is answered on a short-lived thread of its own and the connection closed:
//! a page polled each second and a scrape every few seconds need no more, and a slow reader
//! holds only its own thread. The figures are the collector's, read under its lock, so a
//! reader costs the run nothing but the rendering it asks for.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use ttk_report::Report;

use super::Live;
use crate::control::Control;

/// The script of the live page: it swaps `<main>` for `/live` every second until the run is
/// over, and says when the server is gone.
const SCRIPT: &str = include_str!("dashboard.js");

/// The longest request head read.
const MAX_HEAD: usize = 16 * 1024;

/// How long a client may take to send its whole request, or to read the answer: a client that
/// trickles bytes holds its thread no longer.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(5);

/// Requests answered at once; more wait to be accepted.
const MAX_CLIENTS: usize = 32;

/// What a server answers: the whole dashboard, or only `/metrics`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Serves {
    Dashboard,
    Metrics,
}

/// A running server; stopped (and its thread joined) when dropped.
#[derive(Debug)]
pub(crate) struct Server {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// Serves `live` on `addr` (`127.0.0.1:0`: a free loopback port).
    ///
    /// # Errors
    /// The address does not parse or cannot be bound; the message says which.
    pub(crate) fn start(
        addr: &str,
        live: Arc<Live>,
        serves: Serves,
        control: Option<Arc<Control>>,
        token: Option<String>,
    ) -> io::Result<Server> {
        let listener = TcpListener::bind(addr).map_err(|error| {
            io::Error::new(error.kind(), format!("cannot serve on {addr}: {error}"))
        })?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = Arc::clone(&stop);
        let serving = Serving {
            live,
            serves,
            control,
            token,
        };
        let thread = std::thread::Builder::new()
            .name("ttk-dashboard".to_owned())
            .spawn(move || accept(&listener, &Arc::new(serving), &stopping))?;
        Ok(Server {
            addr,
            stop,
            thread: Some(thread),
        })
    }

    /// Its URL, with `path`.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept: the flag is read before the next one.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// What a server serves and how.
struct Serving {
    live: Arc<Live>,
    serves: Serves,
    control: Option<Arc<Control>>,
    token: Option<String>,
}

/// Accepts until stopped, answering each request on a thread of its own.
fn accept(listener: &TcpListener, serving: &Arc<Serving>, stop: &AtomicBool) {
    let busy = Arc::new(AtomicUsize::new(0));
    for stream in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok(stream) = stream else {
            // Out of descriptors, or a client gone before it was accepted: go on.
            std::thread::sleep(Duration::from_millis(10));
            continue;
        };
        while busy.load(Ordering::SeqCst) >= MAX_CLIENTS {
            if stop.load(Ordering::SeqCst) {
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        busy.fetch_add(1, Ordering::SeqCst);
        let (serving, done) = (Arc::clone(serving), Arc::clone(&busy));
        let spawned = std::thread::Builder::new()
            .name("ttk-dashboard-client".to_owned())
            .spawn(move || {
                let _ = answer(stream, &serving);
                done.fetch_sub(1, Ordering::SeqCst);
            });
        if spawned.is_err() {
            busy.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

/// A response: status, content type, body.
struct Response {
    status: &'static str,
    content_type: &'static str,
    body: Vec<u8>,
}

impl Response {
    fn new(status: &'static str, content_type: &'static str, body: impl Into<Vec<u8>>) -> Self {
        Response {
            status,
            content_type,
            body: body.into(),
        }
    }

    fn text(status: &'static str, body: impl Into<String>) -> Self {
        let mut body = body.into();
        body.push('\n');
        Response::new(status, "text/plain; charset=utf-8", body)
    }
}

/// The most a control request's body may hold.
const MAX_BODY: usize = 4096;

/// Reads one request from `stream` and answers it.
fn answer(mut stream: TcpStream, serving: &Serving) -> io::Result<()> {
    let deadline = std::time::Instant::now() + CLIENT_TIMEOUT;
    // Each read waits at most what is left of the client's time.
    let read_within = |stream: &mut TcpStream, buf: &mut [u8]| -> io::Result<usize> {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return Err(io::ErrorKind::TimedOut.into());
        }
        stream.set_read_timeout(Some(left))?;
        stream.read(buf)
    };
    stream.set_write_timeout(Some(CLIENT_TIMEOUT))?;
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 4096];
    let mut is_head = false;
    let response = loop {
        let read = read_within(&mut stream, &mut buf)?;
        if read == 0 {
            return Ok(());
        }
        head.extend_from_slice(&buf[..read]);
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut request = httparse::Request::new(&mut headers);
        match request.parse(&head) {
            Ok(httparse::Status::Complete(head_len)) => {
                let method = request.method.unwrap_or_default().to_owned();
                let path = request.path.unwrap_or_default().to_owned();
                let header = |name: &str| {
                    request
                        .headers
                        .iter()
                        .find(|header| header.name.eq_ignore_ascii_case(name))
                        .map(|header| String::from_utf8_lossy(header.value).into_owned())
                };
                is_head = method == "HEAD";
                // A page of another site the operator opens must not read the run, nor steer it:
                // a name other than an address or localhost is a DNS rebinding, an Origin other
                // than the Host another site.
                if let Err(refused) = same_origin(header("host"), header("origin")) {
                    break refused;
                }
                if method == "POST" && path.split('?').next() == Some("/control") {
                    // A form of another site can post text without asking; JSON it cannot.
                    let json = header("content-type").is_some_and(|kind| {
                        kind.trim()
                            .to_ascii_lowercase()
                            .starts_with("application/json")
                    });
                    if !json {
                        break Response::text(
                            "415 Unsupported Media Type",
                            "a control is JSON: Content-Type: application/json",
                        );
                    }
                    let length = header("content-length")
                        .and_then(|length| length.trim().parse::<usize>().ok())
                        .unwrap_or(0);
                    if length > MAX_BODY {
                        break Response::text("413 Content Too Large", "a control is small JSON");
                    }
                    let mut body = head[head_len..].to_vec();
                    while body.len() < length {
                        let read = read_within(&mut stream, &mut buf)?;
                        if read == 0 {
                            return Ok(());
                        }
                        body.extend_from_slice(&buf[..read]);
                    }
                    body.truncate(length);
                    let allowed = allowed(&stream, header("authorization"), serving);
                    break control(serving, allowed, &body);
                }
                break route(&method, &path, serving);
            }
            Ok(httparse::Status::Partial) if head.len() < MAX_HEAD => {}
            Ok(httparse::Status::Partial) => {
                break Response::text("431 Request Header Fields Too Large", "head too long");
            }
            Err(error) => break Response::text("400 Bad Request", error.to_string()),
        }
    };
    write!(
        stream,
        "HTTP/1.1 {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nCache-Control: no-store\r\n\
         X-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n",
        response.status,
        response.content_type,
        response.body.len()
    )?;
    if !is_head {
        stream.write_all(&response.body)?;
    }
    stream.flush()
}

/// Whether a request comes from the dashboard's own pages (or from no page at all): its Host
/// an address or `localhost` (a DNS name pointed at this machine by another site is a DNS
/// rebinding), its Origin, if any, that Host.
fn same_origin(host: Option<String>, origin: Option<String>) -> Result<(), Response> {
    let Some(host) = host else {
        return Ok(());
    };
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|byte| byte.is_ascii_digit()) => name,
        _ => host.as_str(),
    };
    let name = name.trim_start_matches('[').trim_end_matches(']');
    let known = name.eq_ignore_ascii_case("localhost") || name.parse::<std::net::IpAddr>().is_ok();
    if !known {
        return Err(Response::text(
            "421 Misdirected Request",
            format!("{host} is not this dashboard's address: reach it by its address"),
        ));
    }
    match origin {
        Some(origin)
            if origin
                .strip_prefix("http://")
                .is_none_or(|origin| origin != host) =>
        {
            Err(Response::text(
                "403 Forbidden",
                "a page of another origin may not read or steer this run",
            ))
        }
        _ => Ok(()),
    }
}

/// Whether a control request may change the load: from this machine, or with the token.
fn allowed(
    stream: &TcpStream,
    authorization: Option<String>,
    serving: &Serving,
) -> Result<(), Response> {
    // The scheme's name is case-insensitive (RFC 9110).
    let given = authorization
        .as_deref()
        .and_then(|value| value.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim());
    match (&serving.token, given) {
        (Some(token), Some(given)) if constant_time_eq(token.as_bytes(), given.as_bytes()) => {
            Ok(())
        }
        (Some(_), Some(_)) => Err(Response::text(
            "403 Forbidden",
            "that is not the dashboard's token",
        )),
        _ if stream
            .peer_addr()
            .is_ok_and(|peer| peer_is_local(peer.ip())) =>
        {
            Ok(())
        }
        (Some(_), None) => Err(Response::text(
            "403 Forbidden",
            "a change from another machine needs the dashboard's token (Authorization: Bearer TOKEN)",
        )),
        (None, _) => Err(Response::text(
            "403 Forbidden",
            "changes are taken from this machine only: start the run with --dashboard-token to \
             take them from others",
        )),
    }
}

/// Whether a peer is this machine: a loopback address (IPv4-mapped ones too).
pub(crate) fn peer_is_local(ip: std::net::IpAddr) -> bool {
    match ip {
        std::net::IpAddr::V4(v4) => v4.is_loopback(),
        std::net::IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

/// Compares without stopping at the first difference, so the time taken says nothing of how
/// much of a guessed token was right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

/// The highest rate a change may set, in sessions per second: a rate no run makes would only
/// queue sessions.
const MOST_PER_SECOND: f64 = 10_000_000.0;

/// A rate: sessions per second, or `N/s`, `N/m`, `N/h`.
fn parse_rate(text: &str) -> Option<f64> {
    let (number, per) = match text.trim().split_once('/') {
        Some((number, "s")) => (number, 1.0),
        Some((number, "m")) => (number, 60.0),
        Some((number, "h")) => (number, 3_600.0),
        Some(_) => return None,
        None => (text.trim(), 1.0),
    };
    let per_second = number.trim().parse::<f64>().ok()? / per;
    (per_second.is_finite() && per_second > 0.0).then_some(per_second)
}

/// `POST /control`: `{"bots": N}` or `{"rate": R}` (sessions per second, or `"R/s"`).
fn control(serving: &Serving, allowed: Result<(), Response>, body: &[u8]) -> Response {
    if serving.serves != Serves::Dashboard {
        return Response::text("404 Not Found", "no /control here");
    }
    if let Err(refused) = allowed {
        return refused;
    }
    let Some(control) = &serving.control else {
        return Response::text(
            "409 Conflict",
            "this run cannot be changed as it goes: it has no --duration",
        );
    };
    let asked: serde_json::Value = match serde_json::from_slice(body) {
        Ok(asked) => asked,
        Err(error) => return Response::text("400 Bad Request", format!("not JSON: {error}")),
    };
    let done = if let Some(bots) = asked.get("bots") {
        match bots.as_u64().and_then(|bots| usize::try_from(bots).ok()) {
            Some(bots) if bots <= 10_000_000 => {
                let before = serving.live.read(|_, active, _| active).unwrap_or_default();
                control.set_bots(bots, before)
            }
            _ => Err(format!(
                "bots: {bots} is not a count of bots (0 to 10,000,000)"
            )),
        }
    } else if let Some(rate) = asked.get("rate") {
        let text = match rate {
            serde_json::Value::String(text) => text.trim().to_owned(),
            other => other.to_string(),
        };
        match parse_rate(&text) {
            Some(per_second) if per_second <= MOST_PER_SECOND => {
                control.set_rate(per_second, &format!("{per_second}/s"))
            }
            _ => Err(format!(
                "rate: {:?} is not a rate up to {MOST_PER_SECOND} a second (200, \"200/s\", \
                 \"6000/m\")",
                text.chars().take(40).collect::<String>()
            )),
        }
    } else {
        Err("give {\"bots\": N} or {\"rate\": R}".to_owned())
    };
    match done {
        Ok(()) => Response::new(
            "200 OK",
            "application/json",
            serde_json::json!({ "changes": control.made() }).to_string(),
        ),
        Err(why) => Response::text("409 Conflict", why),
    }
}

/// The response to `method` on `path`.
fn route(method: &str, path: &str, serving: &Serving) -> Response {
    let (live, serves) = (&serving.live, serving.serves);
    let changeable = serving
        .control
        .as_ref()
        .and_then(|control| control.changeable());
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let known = match serves {
        Serves::Metrics => matches!(path, "/metrics"),
        Serves::Dashboard => matches!(
            path,
            "/" | "/live" | "/dashboard.js" | "/status" | "/report.json" | "/metrics"
        ),
    };
    if path == "/control" && serves == Serves::Dashboard && serving.control.is_some() {
        return Response::text(
            "405 Method Not Allowed",
            "/control takes a POST of JSON, such as {\"bots\": 50}",
        );
    }
    if !known {
        return Response::text("404 Not Found", format!("no {path} here"));
    }
    if method != "GET" && method != "HEAD" {
        return Response::text("405 Method Not Allowed", format!("{path} is read with GET"));
    }
    if path == "/dashboard.js" {
        return Response::new("200 OK", "text/javascript; charset=utf-8", SCRIPT);
    }
    let content_type = match path {
        "/" | "/live" => "text/html; charset=utf-8",
        "/status" | "/report.json" => "application/json",
        _ => "text/plain; version=0.0.4; charset=utf-8",
    };
    let rendered = live.rendered(path_key(path), |report, active_bots, finished| match path {
        "/" => report.to_live_html("/dashboard.js").into_bytes(),
        "/live" => {
            let mut main = report.html_main();
            if finished {
                // The script stops polling at this mark.
                main.push_str("<p class=\"run-over\" id=\"ttk-run-over\">The run is over.</p>\n");
            }
            main.into_bytes()
        }
        "/status" => status(report, active_bots, finished, changeable).into_bytes(),
        "/report.json" => report.to_json().into_bytes(),
        _ => report.to_prometheus(active_bots).into_bytes(),
    });
    match rendered {
        Some(body) => Response::new("200 OK", content_type, body.to_vec()),
        None => Response::text(
            "503 Service Unavailable",
            "the run is ending: its report is being finished",
        ),
    }
}

/// The cache key of a rendered path.
fn path_key(path: &str) -> &'static str {
    match path {
        "/" => "/",
        "/live" => "/live",
        "/status" => "/status",
        "/report.json" => "/report.json",
        _ => "/metrics",
    }
}

/// `/status`: the run's state, its time, its bots and its transactions' counts.
fn status(report: &Report, active_bots: u64, finished: bool, changeable: Option<&str>) -> String {
    let transactions: serde_json::Map<String, serde_json::Value> = report
        .transactions
        .iter()
        .map(|transaction| {
            (
                transaction.name.clone(),
                serde_json::json!({ "ok": transaction.ok, "failed": transaction.failed }),
            )
        })
        .collect();
    serde_json::json!({
        "name": report.run.name,
        "run_id": report.run.run_id,
        "state": if finished { "finished" } else { "running" },
        "end": finished.then_some(report.run.end.as_str()),
        "elapsed_s": report.run.duration_s,
        "bots_active": active_bots,
        "transactions": transactions,
        // What POST /control may change while the run goes on.
        "control": if finished { None } else { changeable },
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_per_second_minute_or_hour() {
        assert_eq!(parse_rate("200"), Some(200.0));
        assert_eq!(parse_rate("6000/m"), Some(100.0));
        assert_eq!(parse_rate(" 7200/h "), Some(2.0));
        for bad in ["0", "-3", "fast", "5/d", "NaN", "inf"] {
            assert_eq!(parse_rate(bad), None, "{bad}");
        }
    }

    #[test]
    fn pages_of_other_sites_are_refused() {
        let allowed = |host: &str, origin: Option<&str>| {
            same_origin(Some(host.to_owned()), origin.map(str::to_owned)).is_ok()
        };
        assert!(allowed("127.0.0.1:8089", None));
        assert!(allowed("localhost:8089", Some("http://localhost:8089")));
        assert!(allowed("[::1]:8089", None));
        assert!(!allowed("evil.example:8089", None), "a DNS rebinding");
        assert!(!allowed("127.0.0.1:8089", Some("http://evil.example")));
        assert!(!allowed("127.0.0.1:8089", Some("null")));
    }

    #[test]
    fn only_loopback_peers_are_this_machine() {
        for local in ["127.0.0.1", "127.9.9.9", "::1", "::ffff:127.0.0.1"] {
            assert!(peer_is_local(local.parse().unwrap()), "{local}");
        }
        for remote in [
            "10.0.0.1",
            "192.0.2.7",
            "::ffff:10.0.0.1",
            "fe80::1",
            "0.0.0.0",
        ] {
            assert!(!peer_is_local(remote.parse().unwrap()), "{remote}");
        }
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd") && !constant_time_eq(b"abc", b"ab"));
    }
}
