//! `ttk http`: keep-alive connections sending one request again and again.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use ttk::Cx;
use ttk::cli::{LoadTest, RunOutcome, Session};
use ttk::http::{HttpConnection, Request};
use ttk::tls::TlsConnector;

use crate::http_target::HttpTarget;
use crate::http2_load::h2_connection;
use crate::load_flags::{LoadFlags, finish};
use crate::pace::{Pace, Turns, Unsent};
use crate::status::failure_reason;
use crate::tls_flags::{TlsFlags, connect_timed, count_handshakes, record_reconnects};

/// The counter of requests sent again on a new connection after the server closed the
/// kept-alive one they went out on.
pub(crate) const RESENT: &str = "requests sent again (server closed an idle connection)";
/// Counter: connections given up because the server had sent bytes after an answer that no
/// request asked for (a body longer than its `Content-Length`): read as the next answer, they
/// would have failed the next request for the server's fault.
pub(crate) const UNASKED: &str = "connections dropped (server sent bytes no request asked for)";

/// `ttk http`'s flags.
#[derive(Args, Clone, Debug)]
#[command(
    after_help = "Each connection is a bot that sends the request, reads the whole \
    response, and sends again (keep-alive; it reconnects if the server closes). The body is \
    counted and dropped as it arrives, so a connection's memory stays small whatever the \
    body's size, and no body is too long. A request that finds its kept-alive connection \
    closed by the server (idle too long) before any answer is sent again once on a new \
    connection, inside the same timed request, if its method is idempotent (GET, HEAD, PUT, \
    DELETE, OPTIONS, TRACE) or it has an Idempotency-Key header (counted as `requests sent \
    again`); a request that fails on a new connection is a failure. A response with status 400 or more counts as a failed \
    request. When the duration is over, each connection finishes the request it is in, for \
    up to --grace (10s by default); a request still unanswered then is stopped (counted as \
    stopped, not failed). \
    Transactions in the report and thresholds: \
    `connect` and `request` (a connection the server closed, or an error broke, is opened \
    again as a `connect`), and for https:// `tls`, each TLS handshake (counted as full or \
    resumed). Exit code 1 if no request succeeded.\n\n\
    Examples:\n  \
    ttk http http://127.0.0.1:8080/ -c 100 -d 10s\n  \
    ttk http https://127.0.0.1:8443/ -c 100 -d 10s --cacert ca.pem\n  \
    ttk http https://127.0.0.1:8443/ -H 'Connection: close' --tls-resume off  (handshakes)\n  \
    ttk http http://127.0.0.1:8080/ -c 50 --rate 2000 --html report.html\n  \
    ttk http http://127.0.0.1:8080/login -m POST -b '{\"user\":\"a\"}' \
    -H 'Content-Type: application/json' --threshold 'p99(request) < 20ms'"
)]
pub(crate) struct HttpArgs {
    /// http://HOST[:PORT][/PATH][?QUERY], or https://
    #[arg(value_name = "URL", value_parser = parse_target)]
    url: HttpTarget,

    /// Request method [oha -m, hey -m, curl -X]
    #[arg(short = 'm', long, default_value = "GET", value_parser = parse_method)]
    method: String,

    /// A request header, 'Name: value'; repeatable [wrk -H, oha -H, hey -H]
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE", value_parser = parse_header)]
    headers: Vec<(String, String)>,

    /// The request body [oha -d, hey -d, curl -d]
    #[arg(short = 'b', long, value_name = "BODY")]
    body: Option<String>,

    /// The request body, read from a file [oha -D, hey -D]
    #[arg(long, value_name = "PATH", conflicts_with = "body")]
    body_file: Option<PathBuf>,

    /// Follow up to N redirects on the same host (default 0: a 3xx is the response, as in wrk)
    /// [oha --redirect, curl -L --max-redirs]
    #[arg(long, value_name = "N", default_value_t = 0)]
    redirects: u8,

    /// The longest response head (status line and headers) accepted, in bytes or with K or M
    /// (1024, 1024²); any number of headers that fit [wrk: 80K]. Over HTTP/2, the header list
    /// size said to the server in SETTINGS. Bodies have no limit: they are counted and dropped
    /// as they arrive
    #[arg(long, value_name = "SIZE", default_value = "80K", value_parser = parse_size)]
    max_head: usize,

    /// The protocol: 1.1; 2 (over TLS with ALPN h2 for https://, cleartext h2c with prior
    /// knowledge for http://, as h2load does); 2c (h2c; http:// only); auto (https:// takes
    /// what the server chooses in ALPN, h2 or HTTP/1.1; http:// is HTTP/1.1) [h2load, curl
    /// --http2]
    #[arg(long = "http", value_name = "VERSION", default_value = "1.1", value_parser = parse_version)]
    version: Version,

    /// Requests in flight on each connection, over HTTP/2 (streams; past the server's
    /// SETTINGS limit they wait, timed from when they were due) [h2load -m]
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    streams: u32,

    #[command(flatten)]
    pub(crate) load: LoadFlags,

    #[command(flatten)]
    tls: TlsFlags,
}

/// `--http`: the protocol asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Version {
    /// HTTP/1.1.
    One,
    /// HTTP/2: over TLS for https://, h2c for http://.
    Two,
    /// HTTP/2 in cleartext (h2c).
    TwoCleartext,
    /// Whatever the server chooses in ALPN (https://), HTTP/1.1 for http://.
    Auto,
}

/// What every connection of a run shares.
#[derive(Debug)]
pub(crate) struct HttpPlan {
    pub(crate) target: HttpTarget,
    /// `host:port` to connect to.
    pub(crate) socket_authority: String,
    /// For https: how TLS connections are made (each connection gets its own session cache).
    pub(crate) tls: Option<TlsConnector>,
    pub(crate) request: Request,
    /// `--max-head`.
    pub(crate) max_head: usize,
    pub(crate) load: LoadFlags,
    pub(crate) pace: Option<Pace>,
    /// Whether connections speak HTTP/2 (or, with `--http auto`, may).
    http2: bool,
    /// `--http auto`: a TLS server that does not choose h2 in ALPN is spoken to in HTTP/1.1
    /// (otherwise it is an error).
    pub(crate) http1_fallback: bool,
    /// `--streams`.
    pub(crate) streams: usize,
    /// For `ttk grpc`: the call (a reply is judged by its gRPC status, not its HTTP one).
    pub(crate) grpc: Option<crate::grpc_load::GrpcPlan>,
    /// The transaction each request is timed as: `request`, or `call` for gRPC.
    pub(crate) transaction: &'static str,
}

impl HttpPlan {
    /// The plan of `ttk grpc`: `call` over HTTP/2 to `target`, `streams` in flight per
    /// connection.
    pub(crate) fn grpc(
        target: HttpTarget,
        tls: Option<TlsConnector>,
        grpc: crate::grpc_load::GrpcPlan,
        load: LoadFlags,
        pace: Option<Pace>,
        streams: usize,
    ) -> HttpPlan {
        HttpPlan {
            socket_authority: target.socket_authority(),
            tls,
            request: grpc.call.request(),
            target,
            // gRPC's metadata and trailers: HTTP/2's own limit (no --max-head on ttk grpc).
            max_head: 256 * 1024,
            load,
            pace,
            http2: true,
            http1_fallback: false,
            streams,
            grpc: Some(grpc),
            transaction: crate::grpc_load::CALL,
        }
    }
}

impl HttpArgs {
    /// Runs the load; the exit code.
    pub(crate) fn run(self) -> u8 {
        self.run_named("ttk http")
    }

    /// Runs the load as the harness run `name`; the exit code.
    pub(crate) fn run_named(self, name: &str) -> u8 {
        match self.prepare(name) {
            Ok((test, plan)) => finish(run_load(test, plan)),
            Err(code) => code,
        }
    }

    /// The harness run and the plan its connections follow; `Err` is an exit code.
    fn prepare(mut self, name: &str) -> Result<(LoadTest, Arc<HttpPlan>), u8> {
        let body = match &self.body_file {
            Some(path) => std::fs::read(path).map_err(|error| {
                eprintln!(
                    "error: cannot read the body file {}: {error}",
                    path.display()
                );
                2
            })?,
            None => self.body.clone().unwrap_or_default().into_bytes(),
        };
        if let Err(why) = framing_headers_fit(&self.headers, body.len()) {
            eprintln!("error: {why}");
            return Err(2);
        }
        let mut request = Request::new(self.method.clone(), self.url.path.clone());
        for (name, value) in &self.headers {
            request = request.header(name.clone(), value.clone());
        }
        if !body.is_empty() {
            request = request.body(body);
        }
        if let Some(limit) = self.load.timeout {
            request = request.timeout(limit);
        }
        // Nobody reads the body: counted and dropped as it arrives, whatever its size.
        request = request.follow_redirects(self.redirects).discard_body(true);
        let alpn: &[&str] = match (self.version, self.url.tls) {
            (Version::TwoCleartext, true) => {
                eprintln!(
                    "error: --http 2c is HTTP/2 in cleartext, for http:// URLs; for https:// \
                     write --http 2"
                );
                return Err(2);
            }
            (Version::Two, _) => &["h2"],
            (Version::Auto, _) => &["h2", "http/1.1"],
            _ => &["http/1.1"],
        };
        let http2 = match self.version {
            Version::One => false,
            Version::Two | Version::TwoCleartext => true,
            Version::Auto => self.url.tls,
        };
        if self.streams > 1 && !http2 {
            eprintln!(
                "error: --streams keeps several requests in flight on a connection: HTTP/2 \
                 only (add --http 2)"
            );
            return Err(2);
        }
        if http2 && self.redirects > 0 {
            eprintln!(
                "warning: --redirects is not followed over HTTP/2 yet: a 3xx is the response"
            );
        }
        let tls = if self.url.tls {
            Some(self.tls.connector(alpn, self.load.timeout)?)
        } else {
            if self.tls.any_given() {
                eprintln!("warning: the TLS flags do nothing for an http:// URL");
            }
            None
        };
        let redacted_url = crate::redact::redact_url(&self.url.to_string());
        self.load.choose_sources(self.url.host());
        let test = self.load.load_test(name, &redacted_url, 1)?;
        let pace = self
            .load
            .rate()
            .cloned()
            .map(|rate| Pace::new(rate, self.load.connections, self.load.load_duration()));
        Ok((
            test,
            Arc::new(HttpPlan {
                socket_authority: self.url.socket_authority(),
                tls,
                target: self.url,
                request,
                max_head: self.max_head,
                load: self.load,
                pace,
                http2,
                http1_fallback: self.version == Version::Auto,
                streams: self.streams as usize,
                grpc: None,
                transaction: "request",
            }),
        ))
    }
}

/// Runs `plan`'s connections as `test`'s bots.
pub(crate) fn run_load(test: LoadTest, plan: Arc<HttpPlan>) -> RunOutcome {
    if plan.http2 {
        return test.run_parallel(move |cx, session| h2_connection(cx, session, Arc::clone(&plan)));
    }
    test.run_parallel(move |cx, session| connection(cx, session, Arc::clone(&plan)))
}

/// One connection: connects, then sends the request for each of its iterations (on the
/// schedule, with `--rate`).
#[ttk::bot]
fn connection(cx: Cx, session: Session, plan: Arc<HttpPlan>) {
    let mut http: Option<HttpConnection> = None;
    // This connection's own TLS sessions: it resumes its own, as a browser does.
    let tls = plan.tls.as_ref().map(TlsConnector::for_one_client);
    let turns = Turns::new(plan.pace.as_ref(), session.id());
    let mut unsent = Unsent::new(&cx, turns);
    for k in session.iterations() {
        let Some(send_at) = ttk::yield_!(turns.wait(k)) else {
            break;
        };
        unsent.next = k + 1;
        // Only a connection left idle (on a schedule: without one, the next request goes as
        // the last one ends) may have been closed for it.
        if send_at.is_some()
            && let Some(connection) = http.as_mut()
        {
            let unasked_before = connection.dropped_for_unasked_bytes();
            if !ttk::yield_!(connection.still_open()) {
                // The server closed it while it was idle (its keep-alive timeout), or sent
                // what no request asked for: the next one is opened, and timed, as a connect,
                // not inside the request.
                count_unasked(&cx, connection, unasked_before);
                http = None;
            }
        }
        if http.is_none() {
            // Boxed: connecting (a TLS handshake with it) takes kilobytes of future, which held
            // inline would make every bot that large for all of its requests.
            let source = plan.load.source_for(session.id());
            match ttk::yield_!(Box::pin(connect(&cx, &plan, source, tls.as_ref()))) {
                Ok(connected) => http = Some(connected),
                Err(_) => {
                    // Refused or timed out (counted as a failed connect).
                    ttk::yield_!(turns.pause_after_failure());
                    continue;
                }
            }
        }
        let Some(connection) = http.as_mut() else {
            continue;
        };
        if let Some(at) = send_at {
            cx.measure_from(at);
        }
        let retries_before = connection.retries();
        let unasked_before = connection.dropped_for_unasked_bytes();
        let handshakes_before = connection.tls_handshakes();
        let request = cx.transaction("request");
        match ttk::yield_!(connection.send(&plan.request)) {
            Ok(response) if response.status() < 400 => {
                request.ok();
            }
            Ok(response) => {
                request.fail(failure_reason(response.status()));
            }
            Err(error) => {
                request.fail_with(&error);
            }
        }
        if let Some(connection) = http.as_mut() {
            if connection.retries() > retries_before {
                // The server had closed the kept-alive connection as the request went: it
                // went again on a new one (its connect and handshake inside the request's
                // time, and also timed as such).
                cx.count(RESENT, connection.retries() - retries_before);
            }
            count_unasked(&cx, connection, unasked_before);
            record_reconnects(&cx, connection.take_reconnects());
        }
        if let (Some(connection), Some(tls)) = (http.as_ref(), tls.as_ref()) {
            // Handshakes made inside the request (to send it again): counted, though timed in
            // the request.
            let (full, resumed) = connection.tls_handshakes();
            count_handshakes(
                &cx,
                tls,
                full - handshakes_before.0,
                resumed - handshakes_before.1,
            );
        }
        // Closed by the server or broken by an error: start over through `connect`, timed as
        // such (and paused if the server is gone) rather than inside the next request.
        if http
            .as_ref()
            .is_some_and(|connection| !connection.is_open())
        {
            http = None;
        }
    }
}

/// Counts as [`UNASKED`] the connections `connection` gave up since its count was `before`.
fn count_unasked(cx: &Cx, connection: &HttpConnection, before: u64) {
    let unasked = connection.dropped_for_unasked_bytes() - before;
    if unasked > 0 {
        cx.count(UNASKED, unasked);
    }
}

/// Connects, timed as `connect`, then for https makes the handshake, timed as `tls` (each
/// within `--timeout`).
async fn connect(
    cx: &Cx,
    plan: &HttpPlan,
    source: Option<SocketAddr>,
    tls: Option<&TlsConnector>,
) -> io::Result<HttpConnection> {
    let name = plan.target.host();
    let stream = connect_timed(
        cx,
        &plan.socket_authority,
        source,
        tls.map(|tls| (tls, name)),
        plan.load.timeout,
    )
    .await?;
    let mut http = HttpConnection::over(stream, &plan.target.authority, tls)?;
    http.set_max_head_len(plan.max_head);
    if let Some(source) = source {
        http.set_source(source);
    }
    Ok(http)
}

/// `--http`'s value.
fn parse_version(text: &str) -> Result<Version, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "1.1" | "1" | "http/1.1" => Ok(Version::One),
        "2" | "h2" => Ok(Version::Two),
        "2c" | "h2c" => Ok(Version::TwoCleartext),
        "auto" => Ok(Version::Auto),
        other => Err(format!("`{other}`: write 1.1, 2, 2c or auto")),
    }
}

fn parse_target(url: &str) -> Result<HttpTarget, String> {
    url.parse()
}

/// A method: an HTTP token (`GET`, `POST`, `PROPFIND`).
fn parse_method(method: &str) -> Result<String, String> {
    if !method.is_empty() && method.bytes().all(is_token_byte) {
        Ok(method.to_owned())
    } else {
        Err(format!(
            "`{method}` is not a method; write e.g. GET, POST, PUT"
        ))
    }
}

/// Refuses `-H` headers that would frame the body otherwise than it is sent (as given, after a
/// `Content-Length` ttk adds): a `Content-Length` of another length, and any
/// `Transfer-Encoding` (ttk does not chunk the body). Either would make the server read the
/// body wrongly, and take the next request into it or wait for bytes never sent.
fn framing_headers_fit(headers: &[(String, String)], body_len: usize) -> Result<(), String> {
    for (name, value) in headers {
        if name.eq_ignore_ascii_case("transfer-encoding") {
            return Err(format!(
                "-H '{name}: {value}': ttk sends the body as given, with a Content-Length; \
                 leave Transfer-Encoding out"
            ));
        }
        if name.eq_ignore_ascii_case("content-length") && value.trim() != body_len.to_string() {
            return Err(format!(
                "-H '{name}: {value}' does not match the body, {body_len} bytes; leave it out \
                 (ttk sets Content-Length from the body)"
            ));
        }
    }
    Ok(())
}

/// A header, `Name: value`: the name an HTTP token, the value on one line.
fn parse_header(header: &str) -> Result<(String, String), String> {
    let Some((name, value)) = header.split_once(':') else {
        return Err(format!("`{header}` has no `:`; write 'Name: value'"));
    };
    let name = name.trim();
    if name.is_empty() || !name.bytes().all(is_token_byte) {
        return Err(format!(
            "`{name}` is not a header name; write 'Name: value'"
        ));
    }
    if value.contains(['\r', '\n']) {
        return Err(format!("the value of `{name}` has a line break"));
    }
    Ok((name.to_owned(), value.trim().to_owned()))
}

/// A size in bytes: a number, then optionally `K` or `M` (1024 and 1024², `KiB`, `KB`, `MiB`
/// and `MB` read the same), e.g. `80K`, `65536`, `1MiB`.
fn parse_size(text: &str) -> Result<usize, String> {
    let text = text.trim();
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    let unit = match text[digits..].trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1024,
        "m" | "mb" | "mib" => 1024 * 1024,
        _ => 0,
    };
    text[..digits]
        .parse::<usize>()
        .ok()
        .and_then(|number| number.checked_mul(unit))
        .filter(|&size| size > 0)
        .ok_or_else(|| format!("`{text}` is not a size; write e.g. 80K, 1M, 65536"))
}

/// Whether `byte` may appear in an HTTP token (RFC 9110, section 5.6.2).
fn is_token_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_and_methods_are_checked() {
        assert_eq!(
            parse_header("Content-Type:  text/plain "),
            Ok(("Content-Type".into(), "text/plain".into()))
        );
        assert!(parse_header("no colon").unwrap_err().contains("no `:`"));
        let header = |name: &str, value: &str| vec![(name.to_owned(), value.to_owned())];
        assert!(framing_headers_fit(&header("Content-Length", "3"), 3).is_ok());
        assert!(framing_headers_fit(&header("content-length", "0"), 3).is_err());
        assert!(framing_headers_fit(&header("Content-Length", "7"), 3).is_err());
        assert!(framing_headers_fit(&header("Transfer-Encoding", "chunked"), 3).is_err());
        assert!(framing_headers_fit(&header("Content-Type", "text/plain"), 3).is_ok());
        assert!(
            parse_header("bad name: x")
                .unwrap_err()
                .contains("not a header name")
        );
        assert_eq!(parse_method("PROPFIND"), Ok("PROPFIND".into()));
        assert!(parse_method("GET /").is_err());
        assert!(parse_method("").is_err());
    }

    #[test]
    fn sizes_are_bytes_or_k_or_m() {
        assert_eq!(parse_size("65536"), Ok(65_536));
        assert_eq!(parse_size("80K"), Ok(80 * 1024));
        assert_eq!(parse_size("80 KiB"), Ok(80 * 1024));
        assert_eq!(parse_size("1mb"), Ok(1024 * 1024));
        for bad in ["", "K", "0", "12 bytes", "1.5M", "-1"] {
            assert!(parse_size(bad).unwrap_err().contains("not a size"), "{bad}");
        }
    }
}
