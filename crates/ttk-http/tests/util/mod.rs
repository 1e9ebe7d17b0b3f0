//! An in-process HTTP server on 127.0.0.1 (a thread per connection, serving what a test's
//! handler writes) and a bot that sends requests and records what came back.

#![allow(dead_code, unreachable_pub)]

pub mod ws;

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use ttk_core::Cx;
use ttk_http::{HttpConnection, Request, Response};
use ttk_macros::bot;

/// A server whose connections each run a handler on their own thread.
pub struct Server {
    /// `127.0.0.1:port`.
    pub addr: String,
    /// Connections accepted so far.
    accepted: Arc<AtomicUsize>,
}

impl Server {
    /// Serves every connection with `handler`, given the connection and its number (from 0).
    pub fn start(handler: impl Fn(Peer, usize) + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = Arc::clone(&accepted);
        let handler = Arc::new(handler);
        std::thread::spawn(move || {
            for socket in listener.incoming() {
                let Ok(socket) = socket else { return };
                socket.set_nodelay(true).unwrap();
                let number = count.fetch_add(1, Ordering::SeqCst);
                let handler = Arc::clone(&handler);
                std::thread::spawn(move || handler(Peer::new(socket), number));
            }
        });
        Server { addr, accepted }
    }

    /// Answers every request on every connection with `response`.
    pub fn canned(response: &'static [u8]) -> Server {
        Server::start(move |mut peer, _| {
            while peer.next_request().is_some() {
                peer.send(response);
            }
        })
    }

    /// Answers the first request on each connection with `response` written in `pieces`, a
    /// short pause between them (so the client reads them separately).
    pub fn in_pieces(pieces: &'static [&'static [u8]]) -> Server {
        Server::start(move |mut peer, _| {
            while peer.next_request().is_some() {
                for piece in pieces {
                    peer.send(piece);
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
        })
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

/// The server's side of one connection.
pub struct Peer {
    /// The socket.
    socket: TcpStream,
    /// Bytes read and not yet returned as requests.
    buf: Vec<u8>,
}

impl Peer {
    fn new(socket: TcpStream) -> Peer {
        Peer {
            socket,
            buf: Vec::new(),
        }
    }

    /// The next request's head (as text) and body; `None` once the client closed.
    pub fn next_request(&mut self) -> Option<(String, Vec<u8>)> {
        let head_len = loop {
            if let Some(at) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break at + 4;
            }
            self.fill()?;
        };
        let head = String::from_utf8(self.buf[..head_len].to_vec()).unwrap();
        let body_len = head
            .lines()
            .find_map(|line| {
                let (name, value) = line.split_once(':')?;
                name.eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse::<usize>().unwrap())
            })
            .unwrap_or(0);
        while self.buf.len() < head_len + body_len {
            self.fill()?;
        }
        let body = self.buf[head_len..head_len + body_len].to_vec();
        self.buf.drain(..head_len + body_len);
        Some((head, body))
    }

    /// Reads more; `None` at the end.
    fn fill(&mut self) -> Option<()> {
        let mut chunk = [0; 4096];
        match self.socket.read(&mut chunk) {
            Ok(0) | Err(_) => None,
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                Some(())
            }
        }
    }

    /// Writes `bytes` (ignoring a client that is gone).
    pub fn send(&mut self, bytes: &[u8]) {
        let _ = self.socket.write_all(bytes);
    }

    /// Waits until the client's next bytes are in this side's kernel (acknowledged by its TCP),
    /// without reading them.
    pub fn wait_for_bytes(&mut self) {
        let _ = self.socket.peek(&mut [0; 1]);
    }

    /// Shuts the writing side (a FIN), the reading side kept open.
    pub fn shut_write(&mut self) {
        let _ = self.socket.shutdown(std::net::Shutdown::Write);
    }

    /// Reads and drops what comes for `how_long` (or until the client closes), as a server
    /// closing in stages does.
    pub fn drain_for(&mut self, how_long: std::time::Duration) {
        let until = std::time::Instant::now() + how_long;
        let mut chunk = [0; 4096];
        while let Some(left) = until.checked_duration_since(std::time::Instant::now()) {
            let _ = self
                .socket
                .set_read_timeout(Some(left.max(std::time::Duration::from_millis(1))));
            // The end, a timeout or an error: done.
            if !matches!(self.socket.read(&mut chunk), Ok(1..)) {
                return;
            }
        }
    }
}

/// A response as a test sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub status: u16,
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Vec<u8>,
}

impl Outcome {
    /// What a test sees of `response`.
    fn of(response: Response<'_>) -> Outcome {
        Outcome {
            status: response.status(),
            headers: response
                .headers()
                .map(|(n, v)| (n.to_string(), v.to_vec()))
                .collect(),
            body: response.body().to_vec(),
        }
    }
}

/// Limits for the client, `None` for the default.
#[derive(Debug, Clone, Copy, Default)]
pub struct Limits {
    pub head: Option<usize>,
    pub body: Option<usize>,
}

/// Sends each request in turn on one connection and records each outcome; also returns how
/// many connections the client opened.
#[bot(crate = ttk_core)]
fn client(
    _cx: Cx,
    _id: usize,
    addr: String,
    requests: Vec<Request>,
    limits: Limits,
) -> io::Result<(Vec<io::Result<Outcome>>, u64)> {
    let mut http = ttk_core::yield_!(HttpConnection::connect(&addr))?;
    if let Some(limit) = limits.head {
        http.set_max_head_len(limit);
    }
    if let Some(limit) = limits.body {
        http.set_max_body_len(limit);
    }
    let mut outcomes = Vec::new();
    for request in &requests {
        let outcome = ttk_core::yield_!(http.send(request)).map(Outcome::of);
        outcomes.push(outcome);
    }
    Ok((outcomes, http.connections_opened()))
}

/// Queues every request, then receives every response, on one connection; the outcomes and
/// how many connections the client opened.
#[bot(crate = ttk_core)]
fn pipelining_client(
    _cx: Cx,
    _id: usize,
    addr: String,
    requests: Vec<Request>,
) -> io::Result<(Vec<io::Result<Outcome>>, u64)> {
    let mut http = ttk_core::yield_!(HttpConnection::connect(&addr))?;
    for request in &requests {
        http.queue(request);
    }
    let mut outcomes = Vec::new();
    for _ in &requests {
        let outcome = ttk_core::yield_!(http.receive()).map(Outcome::of);
        outcomes.push(outcome);
    }
    Ok((outcomes, http.connections_opened()))
}

/// Runs [`pipelining_client`].
pub fn pipelined(addr: &str, requests: Vec<Request>) -> (Vec<io::Result<Outcome>>, u64) {
    let addr = addr.to_string();
    ttk_core::run(1, move |cx, id| {
        pipelining_client(cx, id, addr.clone(), requests.clone())
    })
    .pop()
    .unwrap()
    .unwrap()
}

/// Runs [`client`] with default limits.
pub fn exchange(addr: &str, requests: Vec<Request>) -> (Vec<io::Result<Outcome>>, u64) {
    exchange_with(addr, requests, Limits::default())
}

/// Runs [`client`].
pub fn exchange_with(
    addr: &str,
    requests: Vec<Request>,
    limits: Limits,
) -> (Vec<io::Result<Outcome>>, u64) {
    let addr = addr.to_string();
    ttk_core::run(1, move |cx, id| {
        client(cx, id, addr.clone(), requests.clone(), limits)
    })
    .pop()
    .unwrap()
    .unwrap()
}

/// The one outcome of sending `request` once.
pub fn one(addr: &str, request: Request, limits: Limits) -> io::Result<Outcome> {
    exchange_with(addr, vec![request], limits).0.pop().unwrap()
}

/// A rustls server stream of [`tls_server`]'s.
pub type TlsServerStream = rustls::StreamOwned<rustls::ServerConnection, TcpStream>;

/// A TLS server on threads of its own (rustls's blocking stream, with ttk's acceptor's
/// configuration and a certificate for `localhost` from a new CA), `serve` run on a thread per
/// connection; its address (`localhost:port`) and the CA's PEM to trust.
pub fn tls_server(serve: impl Fn(TlsServerStream) + Send + Sync + 'static) -> (String, String) {
    let pki = ttk_tls::TestPki::new().unwrap();
    let certificate = pki.server_certificate(&["localhost"]).unwrap();
    let acceptor =
        ttk_tls::TlsAcceptor::from_pem(certificate.chain_pem(), certificate.key_pem()).unwrap();
    let config = acceptor.rustls_config();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let serve = Arc::new(serve);
    std::thread::spawn(move || {
        for socket in listener.incoming() {
            let Ok(socket) = socket else { return };
            socket.set_nodelay(true).unwrap();
            let conn = rustls::ServerConnection::new(Arc::clone(&config)).unwrap();
            let serve = Arc::clone(&serve);
            std::thread::spawn(move || serve(rustls::StreamOwned::new(conn, socket)));
        }
    });
    (format!("localhost:{port}"), pki.ca_pem().to_owned())
}
