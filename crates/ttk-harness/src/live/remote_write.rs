//! `--remote-write URL`: the run pushes its metrics to Prometheus (or anything that takes
//! Prometheus remote write 1.0: Mimir, Thanos, VictoriaMetrics, Grafana Cloud) — for shards no
//! Prometheus can scrape (Slurm or Kubernetes jobs, machines behind NAT).
//!
//! Every [`EVERY`] and once more with the final report, the same samples `/metrics` shows
//! ([`Report::to_prometheus`]) are sent as a `WriteRequest` (protobuf, through prost's
//! encoding), snappy-compressed (`snap`), in one HTTP POST from a thread of its own. A push that
//! fails is said once and the run goes on: metrics are never a reason to stop the load.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use prost::bytes::BufMut;
use prost::encoding::{WireType, encode_key, encode_varint};

use ttk_tls::TlsConnector;

use super::Live;

/// How often the run pushes while it goes on.
pub(crate) const EVERY: Duration = Duration::from_secs(5);

/// How long a push may take.
const TIMEOUT: Duration = Duration::from_secs(10);

/// The environment variable a bearer token for the receiver is read from (kept out of the
/// command line, which other users of the machine can read).
pub(crate) const TOKEN_VARIABLE: &str = "TTK_REMOTE_WRITE_TOKEN";

/// Where to push: `http[s]://[user:password@]host[:port]/path`.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Endpoint {
    /// Over TLS (`https://`), checked against the system's roots (and `SSL_CERT_FILE`).
    tls: bool,
    /// The host, as the certificate must name it.
    host: String,
    /// `host:port`.
    authority: String,
    path: String,
    /// The `Authorization` header's value: Basic from the URL's user and password, else Bearer
    /// from [`TOKEN_VARIABLE`].
    authorization: Option<String>,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the credentials.
        f.debug_struct("Endpoint")
            .field("tls", &self.tls)
            .field("authority", &self.authority)
            .field("path", &self.path)
            .field("authorized", &self.authorization.is_some())
            .finish()
    }
}

impl std::str::FromStr for Endpoint {
    type Err = String;

    fn from_str(url: &str) -> Result<Endpoint, String> {
        let shown = crate::redact_url(url);
        let (tls, rest) = match url.split_once("://") {
            Some(("http", rest)) => (false, rest),
            Some(("https", rest)) => (true, rest),
            _ => {
                return Err(format!(
                    "{shown:?}: remote write goes to an http:// or https:// URL, e.g. \
                     http://127.0.0.1:9090/api/v1/write"
                ));
            }
        };
        let (authority, path) = match rest.find('/') {
            Some(slash) => (&rest[..slash], &rest[slash..]),
            None => (rest, "/"),
        };
        let (credentials, authority) = match authority.rsplit_once('@') {
            Some((credentials, authority)) => (Some(credentials), authority),
            None => (None, authority),
        };
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) if !port.contains(']') => {
                let port: u16 = port
                    .parse()
                    .map_err(|_| format!("{shown:?}: the port {port:?} is not a port number"))?;
                (host, port)
            }
            _ => (authority, if tls { 443 } else { 80 }),
        };
        if host.is_empty() {
            return Err(format!(
                "{shown:?}: give the host, e.g. http://127.0.0.1:9090/api/v1/write"
            ));
        }
        let authorization = match credentials {
            Some(credentials) => {
                let (user, password) = credentials.split_once(':').unwrap_or((credentials, ""));
                let pair = format!("{}:{}", percent_decoded(user)?, percent_decoded(password)?);
                Some(format!("Basic {}", STANDARD.encode(pair)))
            }
            None => std::env::var(TOKEN_VARIABLE)
                .ok()
                .filter(|token| !token.trim().is_empty())
                .map(|token| format!("Bearer {}", token.trim())),
        };
        Ok(Endpoint {
            tls,
            host: host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned(),
            authority: format!("{host}:{port}"),
            path: path.to_owned(),
            authorization,
        })
    }
}

/// `text` with its `%XX` escapes decoded (a password may hold `@` or `:` escaped).
fn percent_decoded(text: &str) -> Result<String, String> {
    let mut bytes = Vec::with_capacity(text.len());
    let mut rest = text.as_bytes();
    while let Some((&byte, after)) = rest.split_first() {
        if byte == b'%' {
            let hex = after
                .get(..2)
                .and_then(|hex| std::str::from_utf8(hex).ok())
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
                .ok_or("a bad %-escape in the URL's user or password")?;
            bytes.push(hex);
            rest = &after[2..];
        } else {
            bytes.push(byte);
            rest = after;
        }
    }
    String::from_utf8(bytes).map_err(|_| "the URL's user or password is not UTF-8".to_owned())
}

/// The pushing thread; its last push is made (with the final report) when it is stopped.
#[derive(Debug)]
pub(crate) struct Pusher {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Pusher {
    /// Pushes `live`'s metrics to `endpoint` every [`EVERY`].
    pub(crate) fn start(endpoint: Endpoint, live: Arc<Live>) -> io::Result<Pusher> {
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("ttk-remote-write".to_owned())
            .spawn(move || push_until_stopped(&endpoint, &live, &stopping))?;
        Ok(Pusher {
            stop,
            thread: Some(thread),
        })
    }

    /// Stops it after a last push of the report as it is now (the final one, once set).
    pub(crate) fn finish(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Pusher {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn push_until_stopped(endpoint: &Endpoint, live: &Live, stop: &AtomicBool) {
    let mut said = false;
    let mut next = Instant::now() + EVERY;
    loop {
        let stopping = stop.load(Ordering::SeqCst);
        if stopping || Instant::now() >= next {
            next = Instant::now() + EVERY;
            let text = live.read(|report, bots, _| report.to_prometheus(bots));
            if let Some(text) = text
                && let Err(error) = push(endpoint, &text)
                && !said
            {
                eprintln!("warning: remote write to {}: {error}", endpoint.authority);
                said = true;
            }
        }
        if stopping {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Sends the samples of `text` (the exposition format) as one remote-write request.
fn push(endpoint: &Endpoint, text: &str) -> io::Result<()> {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_millis() as i64);
    let request = write_request(text, now_ms);
    let body = snap::raw::Encoder::new()
        .compress_vec(&request)
        .map_err(io::Error::other)?;
    let addr = std::net::ToSocketAddrs::to_socket_addrs(&endpoint.authority)?
        .next()
        .ok_or_else(|| io::Error::other("the address names no host"))?;
    let stream = TcpStream::connect_timeout(&addr, TIMEOUT)?;
    stream.set_read_timeout(Some(TIMEOUT))?;
    stream.set_write_timeout(Some(TIMEOUT))?;
    let authorization = endpoint
        .authorization
        .as_ref()
        .map(|value| format!("Authorization: {value}\r\n"))
        .unwrap_or_default();
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: ttk/{}\r\nContent-Type: application/x-protobuf\r\n\
         Content-Encoding: snappy\r\nX-Prometheus-Remote-Write-Version: 0.1.0\r\n{authorization}\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        endpoint.path,
        endpoint.authority,
        env!("CARGO_PKG_VERSION"),
        body.len()
    );
    let answer = match endpoint.tls {
        false => exchange(stream, head.as_bytes(), &body)?,
        true => {
            let config = TlsConnector::system_default()?.rustls_config();
            let name = rustls::pki_types::ServerName::try_from(endpoint.host.clone())
                .map_err(|error| io::Error::other(format!("{}: {error}", endpoint.host)))?;
            let connection = rustls::ClientConnection::new(config, name)
                .map_err(|error| io::Error::other(error.to_string()))?;
            exchange(
                rustls::StreamOwned::new(connection, stream),
                head.as_bytes(),
                &body,
            )?
        }
    };
    let answer = String::from_utf8_lossy(&answer);
    let status = answer.split(' ').nth(1).unwrap_or_default();
    if status.starts_with('2') {
        return Ok(());
    }
    let body = answer.split_once("\r\n\r\n").map_or("", |(_, body)| body);
    Err(io::Error::other(format!(
        "the receiver answered {status}: {}",
        body.trim().chars().take(200).collect::<String>()
    )))
}

/// Writes `head` and `body` to `stream` and reads the answer (its first 64 KiB) until the
/// receiver closes; a TLS receiver that closes without saying so still has answered.
fn exchange(mut stream: impl Read + Write, head: &[u8], body: &[u8]) -> io::Result<Vec<u8>> {
    stream.write_all(head)?;
    stream.write_all(body)?;
    stream.flush()?;
    let mut answer = Vec::new();
    match stream.take(64 * 1024).read_to_end(&mut answer) {
        Ok(_) => Ok(answer),
        Err(error) if error.kind() == io::ErrorKind::UnexpectedEof && !answer.is_empty() => {
            Ok(answer)
        }
        Err(error) => Err(error),
    }
}

/// A `WriteRequest` of every sample in `text`, all at `timestamp_ms`: field 1 repeated
/// `TimeSeries { 1: repeated Label { 1: name, 2: value }, 2: repeated Sample { 1: double
/// value, 2: int64 timestamp } }`.
pub(crate) fn write_request(text: &str, timestamp_ms: i64) -> Vec<u8> {
    let mut request = Vec::with_capacity(text.len());
    for (labels, value) in text.lines().filter_map(parse_sample) {
        let mut series = Vec::with_capacity(128);
        for (name, value) in &labels {
            let mut label = Vec::with_capacity(name.len() + value.len() + 4);
            prost::encoding::string::encode(1, name, &mut label);
            prost::encoding::string::encode(2, value, &mut label);
            nested(1, &label, &mut series);
        }
        let mut sample = Vec::with_capacity(20);
        prost::encoding::double::encode(1, &value, &mut sample);
        prost::encoding::int64::encode(2, &timestamp_ms, &mut sample);
        nested(2, &sample, &mut series);
        nested(1, &series, &mut request);
    }
    request
}

/// Writes `message` as field `tag` of the message in `out`.
fn nested(tag: u32, message: &[u8], out: &mut Vec<u8>) {
    encode_key(tag, WireType::LengthDelimited, out);
    encode_varint(message.len() as u64, out);
    out.put_slice(message);
}

/// One sample line of the exposition format — `name{label="value",…} value` — as its labels
/// (`__name__` first, the others sorted, as remote write wants them) and its value; `None` for
/// comments and blank lines.
fn parse_sample(line: &str) -> Option<(Vec<(String, String)>, f64)> {
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let (series, value) = line.rsplit_once(' ')?;
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        value => value.parse().ok()?,
    };
    let (name, rest) = match series.find('{') {
        Some(brace) => (&series[..brace], &series[brace + 1..]),
        None => (series, "}"),
    };
    let mut labels = vec![("__name__".to_owned(), name.to_owned())];
    let mut rest = rest.strip_suffix('}')?;
    while !rest.is_empty() {
        let (label, after) = rest.split_once("=\"")?;
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next()? {
                (_, '\\') => match chars.next()?.1 {
                    'n' => value.push('\n'),
                    other => value.push(other),
                },
                (at, '"') => break at,
                (_, c) => value.push(c),
            }
        };
        labels.push((label.trim_start_matches(',').to_owned(), value));
        rest = after[end + 1..].trim_start_matches(',');
    }
    labels[1..].sort();
    Some((labels, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_are_read_back_from_the_exposition_format() {
        let line = r#"ttk_transactions_total{run="a \"b\"\\c",transaction="x\ny",outcome="ok"} 42"#;
        let (labels, value) = parse_sample(line).unwrap();
        assert_eq!(value, 42.0);
        let labels: Vec<(&str, &str)> = labels
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
            .collect();
        assert_eq!(
            labels,
            [
                ("__name__", "ttk_transactions_total"),
                ("outcome", "ok"),
                ("run", "a \"b\"\\c"),
                ("transaction", "x\ny"),
            ]
        );
        assert_eq!(parse_sample("# HELP x y"), None);
        let (_, infinite) = parse_sample(r#"x_bucket{le="+Inf"} +Inf"#).unwrap();
        assert!(infinite.is_infinite());
        let (bare, _) = parse_sample("ttk_up 1").unwrap();
        assert_eq!(bare.len(), 1);
    }

    #[test]
    fn the_write_request_is_protobuf_prost_reads_back() {
        let request = write_request("a{k=\"v\"} 1.5\nb 2\n", 1_700_000_000_000);
        // Two time series, field 1, length-delimited.
        let mut buf = request.as_slice();
        let mut series = 0;
        while !buf.is_empty() {
            let (tag, wire) = prost::encoding::decode_key(&mut buf).unwrap();
            assert_eq!((tag, wire), (1, WireType::LengthDelimited));
            let len = prost::encoding::decode_varint(&mut buf).unwrap() as usize;
            buf = &buf[len..];
            series += 1;
        }
        assert_eq!(series, 2);
        assert!(
            request
                .windows(8)
                .any(|window| window == 1.5f64.to_le_bytes())
        );
    }

    #[test]
    fn endpoints_are_http_or_https_urls() {
        let endpoint: Endpoint = "http://127.0.0.1:9090/api/v1/write".parse().unwrap();
        assert_eq!(endpoint.authority, "127.0.0.1:9090");
        assert_eq!(endpoint.path, "/api/v1/write");
        assert!(!endpoint.tls);
        let endpoint: Endpoint = "https://metrics.example/api/prom/push".parse().unwrap();
        assert_eq!(
            (
                endpoint.tls,
                endpoint.host.as_str(),
                endpoint.authority.as_str()
            ),
            (true, "metrics.example", "metrics.example:443")
        );
        let endpoint: Endpoint = "https://[::1]:8443/w".parse().unwrap();
        assert_eq!(
            (endpoint.host.as_str(), endpoint.authority.as_str()),
            ("::1", "[::1]:8443")
        );
        assert_eq!("http://h/".parse::<Endpoint>().unwrap().authority, "h:80");
        assert!("ftp://x:1/".parse::<Endpoint>().is_err());
        assert!("http://:9090/".parse::<Endpoint>().is_err());
        assert!("http://h:port/".parse::<Endpoint>().is_err());
    }

    #[test]
    fn a_user_and_password_in_the_url_are_sent_as_basic_and_never_shown() {
        let endpoint: Endpoint = "https://12345:s%40cret@metrics.example/api/prom/push"
            .parse()
            .unwrap();
        // base64("12345:s@cret")
        assert_eq!(
            endpoint.authorization.as_deref(),
            Some("Basic MTIzNDU6c0BjcmV0")
        );
        assert_eq!(endpoint.authority, "metrics.example:443");
        assert!(!format!("{endpoint:?}").contains("MTIz"));
        let error = "ftp://12345:s3cret@h/".parse::<Endpoint>().unwrap_err();
        assert!(!error.contains("s3cret"), "{error}");
        assert!("http://u:%zz@h/".parse::<Endpoint>().is_err());
    }
}
