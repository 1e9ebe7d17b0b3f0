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

use prost::bytes::BufMut;
use prost::encoding::{WireType, encode_key, encode_varint};

use super::Live;

/// How often the run pushes while it goes on.
pub(crate) const EVERY: Duration = Duration::from_secs(5);

/// How long a push may take.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Where to push: `http://host:port/path`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Endpoint {
    authority: String,
    path: String,
}

impl std::str::FromStr for Endpoint {
    type Err = String;

    fn from_str(url: &str) -> Result<Endpoint, String> {
        let rest = url.strip_prefix("http://").ok_or_else(|| {
            format!("{url:?}: remote write goes to an http:// URL (https is not supported yet)")
        })?;
        let (authority, path) = match rest.find('/') {
            Some(slash) => (&rest[..slash], &rest[slash..]),
            None => (rest, "/"),
        };
        if authority.is_empty() || !authority.contains(':') {
            return Err(format!(
                "{url:?}: give the host and port, e.g. http://127.0.0.1:9090/api/v1/write"
            ));
        }
        Ok(Endpoint {
            authority: authority.to_owned(),
            path: path.to_owned(),
        })
    }
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
    let mut stream = TcpStream::connect_timeout(&addr, TIMEOUT)?;
    stream.set_read_timeout(Some(TIMEOUT))?;
    stream.set_write_timeout(Some(TIMEOUT))?;
    write!(
        stream,
        "POST {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: ttk/{}\r\nContent-Type: application/x-protobuf\r\n\
         Content-Encoding: snappy\r\nX-Prometheus-Remote-Write-Version: 0.1.0\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        endpoint.path,
        endpoint.authority,
        env!("CARGO_PKG_VERSION"),
        body.len()
    )?;
    stream.write_all(&body)?;
    let mut answer = Vec::new();
    stream.take(64 * 1024).read_to_end(&mut answer)?;
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
    fn endpoints_are_http_urls_with_a_port() {
        let endpoint: Endpoint = "http://127.0.0.1:9090/api/v1/write".parse().unwrap();
        assert_eq!(endpoint.authority, "127.0.0.1:9090");
        assert_eq!(endpoint.path, "/api/v1/write");
        assert!("https://x:1/".parse::<Endpoint>().is_err());
        assert!("http://nohost/".parse::<Endpoint>().is_err());
    }
}
