//! Idle TLS bots: each connects (from a rotating loopback source, as the plain idle probe
//! does), makes a TLS handshake with a session cache of its own (as a `ttk http` connection
//! does), sends one HTTP/1.1 request and reads its response, then holds the connection, idle.
//! When every bot has connected (or failed), the last one samples this process's memory and
//! the kernel's TCP buffer memory; then all of them close.

use std::cell::Cell;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Instant;

use ttk::net::{ByteStream as _, TcpSocket};
use ttk::tls::{TlsConnector, TlsStream};
use ttk::{Barrier, Cx, Semaphore};

/// Handshakes in flight at once: a ramp, so that no bot waits on the server past its
/// handshake timeout while thousands of others are served first.
const HANDSHAKING: usize = 64;

/// What the last bot to settle saw.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Sampled {
    /// `VmHWM`, in bytes.
    pub(crate) peak_rss: u64,
    /// `VmRSS`, in bytes.
    pub(crate) rss: u64,
    /// The `mem` of `/proc/net/sockstat`'s TCP line, in pages (machine-wide: both ends of
    /// every loopback connection).
    pub(crate) tcp_mem_pages: u64,
    /// Seconds from the start to the moment every bot had settled.
    pub(crate) seconds: f64,
}

/// What a run of the probe did.
#[derive(Debug)]
pub(crate) struct Outcome {
    /// Bots that held a connection.
    pub(crate) connected: usize,
    /// Bots whose handshake resumed a session (none should: each bot connects once).
    pub(crate) resumed: u64,
    /// The first failure, if any.
    pub(crate) first_error: Option<String>,
    /// The sample, taken once every bot had settled (`None` if the run never got there).
    pub(crate) sampled: Option<Sampled>,
}

/// What every bot shares.
struct Plan {
    /// The server.
    target: SocketAddr,
    /// The TLS settings; each bot makes one of its own with [`TlsConnector::for_one_client`].
    connector: TlsConnector,
    /// Limits the handshakes in flight.
    handshaking: Semaphore,
    /// Met twice: once every bot has settled, then once the sample is taken.
    barrier: Barrier,
    /// The run's start.
    started: Instant,
    /// The sample.
    sampled: Cell<Option<Sampled>>,
    /// Handshakes that resumed.
    resumed: Cell<u64>,
}

/// Runs `bots` idle TLS bots against `target` with `connector`.
pub(crate) fn run(bots: usize, target: SocketAddr, connector: TlsConnector) -> Outcome {
    let plan = Rc::new(Plan {
        target,
        connector,
        handshaking: Semaphore::new(HANDSHAKING),
        barrier: Barrier::new(bots),
        started: Instant::now(),
        sampled: Cell::new(None),
        resumed: Cell::new(0),
    });
    let outcomes = ttk::run(bots, |cx, id| idle_tls_client(cx, id, Rc::clone(&plan)));
    Outcome {
        connected: outcomes.iter().filter(|outcome| outcome.is_ok()).count(),
        resumed: plan.resumed.get(),
        first_error: outcomes
            .iter()
            .find_map(|outcome| outcome.as_ref().err())
            .map(ToString::to_string),
        sampled: plan.sampled.get(),
    }
}

/// This process's memory and the kernel's TCP memory now.
pub(crate) fn sample(seconds: f64) -> Sampled {
    Sampled {
        peak_rss: ttk_benches::peak_rss_bytes().unwrap_or(0),
        rss: ttk_benches::rss_bytes().unwrap_or(0),
        tcp_mem_pages: tcp_mem_pages().unwrap_or(0),
        seconds,
    }
}

/// The `mem` field of the `TCP:` line of `/proc/net/sockstat`, in pages.
pub(crate) fn tcp_mem_pages() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/net/sockstat").ok()?;
    let line = text.lines().find(|line| line.starts_with("TCP:"))?;
    let words: Vec<&str> = line.split_whitespace().collect();
    let at = words.iter().position(|word| *word == "mem")?;
    words.get(at + 1)?.parse().ok()
}

/// Connects, then waits with every other bot while the last one samples; `Err` if it could
/// not connect.
#[ttk::bot]
fn idle_tls_client(_cx: Cx, id: usize, plan: Rc<Plan>) -> io::Result<()> {
    let connected = {
        let _permit = ttk::yield_!(plan.handshaking.acquire());
        ttk::yield_!(connect(id, &plan))
    };
    if let Ok(stream) = &connected
        && stream.is_resumed()
    {
        plan.resumed.set(plan.resumed.get() + 1);
    }
    // Every bot arrives, connected or not; the last to arrive samples while all are held.
    if ttk::yield_!(plan.barrier.wait()).is_ok_and(|wait| wait.is_leader()) {
        plan.sampled
            .set(Some(sample(plan.started.elapsed().as_secs_f64())));
    }
    let _ = ttk::yield_!(plan.barrier.wait());
    connected.map(drop)
}

/// A TLS connection that has carried one request and its response.
async fn connect(id: usize, plan: &Plan) -> io::Result<TlsStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::from((crate::source(id), 0)))?;
    let tcp = socket.connect(plan.target).await?;
    tcp.set_nodelay(true)?;
    let tls = plan.connector.for_one_client();
    let stream = tls.connect(&plan.target.ip().to_string(), tcp).await?;
    let request = format!("GET / HTTP/1.1\r\nHost: {}\r\n\r\n", plan.target);
    stream.write_all(request.as_bytes()).await?;
    read_response(&stream).await?;
    Ok(stream)
}

/// Reads one response with a `Content-Length` body. The buffer is on the heap and gone once
/// read, so that it weighs nothing in the idle bot.
async fn read_response(stream: &TlsStream) -> io::Result<()> {
    let mut response = Vec::new();
    let mut chunk = vec![0; 4096];
    loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        response.extend_from_slice(&chunk[..n]);
        let Some(head_end) = response.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&response[..head_end]).to_ascii_lowercase();
        let length: usize = head
            .lines()
            .find_map(|line| line.strip_prefix("content-length:"))
            .and_then(|value| value.trim().parse().ok())
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no Content-Length"))?;
        if response.len() >= head_end + 4 + length {
            return Ok(());
        }
    }
}
