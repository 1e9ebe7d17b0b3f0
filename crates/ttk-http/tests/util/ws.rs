//! WebSocket servers for the `ws_*` tests: tungstenite's blocking API on a thread per
//! connection, and ttk bots accepting on a loop of their own.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::rc::Rc;
use std::sync::mpsc;

use ttk_core::Cx;
use ttk_http::ws::{Message, WebSocket};
use ttk_macros::bot;

/// A server on 127.0.0.1 whose connections each run a handler on their own thread.
pub struct ThreadServer {
    /// `ws://127.0.0.1:port/`.
    pub url: String,
    /// The handlers' reports, in the order they were sent.
    pub reports: mpsc::Receiver<String>,
}

impl ThreadServer {
    /// Serves every connection, before any handshake, with `handler`, which can report what it
    /// saw on the sender.
    pub fn raw(handler: impl Fn(TcpStream, mpsc::Sender<String>) + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("ws://{}/", listener.local_addr().unwrap());
        let (report, reports) = mpsc::channel();
        let handler = std::sync::Arc::new(handler);
        std::thread::spawn(move || {
            for socket in listener.incoming() {
                let Ok(socket) = socket else { return };
                socket.set_nodelay(true).unwrap();
                let (handler, report) = (handler.clone(), report.clone());
                std::thread::spawn(move || handler(socket, report));
            }
        });
        ThreadServer { url, reports }
    }

    /// Does the server handshake on every connection, then hands it to `handler`.
    pub fn start(
        handler: impl Fn(tungstenite::WebSocket<TcpStream>, mpsc::Sender<String>)
        + Send
        + Sync
        + 'static,
    ) -> Self {
        ThreadServer::raw(move |socket, report| match tungstenite::accept(socket) {
            Ok(ws) => handler(ws, report),
            Err(error) => report.send(format!("handshake failed: {error}")).unwrap(),
        })
    }

    /// Answers the handshake and sends `frames` with the same write, so the client's first
    /// read holds the `101` answer and the start of the frames; then reads until the client
    /// closes.
    pub fn answering_with(frames: Vec<tungstenite::protocol::frame::Frame>) -> Self {
        ThreadServer::raw(move |mut socket, _| {
            let mut request = Vec::new();
            let mut buf = [0; 1024];
            while !request.ends_with(b"\r\n\r\n") {
                let n = socket.read(&mut buf).unwrap();
                assert!(n > 0, "the client closed during the handshake");
                request.extend_from_slice(&buf[..n]);
            }
            let request = String::from_utf8(request).unwrap();
            let key = request
                .lines()
                .find_map(|line| line.strip_prefix("Sec-WebSocket-Key: "))
                .expect("a key");
            let accept = tungstenite::handshake::derive_accept_key(key.trim().as_bytes());
            let mut out = format!(
                "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n\
                 Upgrade: websocket\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
            )
            .into_bytes();
            for frame in frames.iter().cloned() {
                frame.format(&mut out).unwrap();
            }
            socket.write_all(&out).unwrap();
            let role = tungstenite::protocol::Role::Server;
            let mut ws = tungstenite::WebSocket::from_raw_socket(socket, role, None);
            while ws.read().is_ok() {}
        })
    }

    /// Sends back every text and binary message; reports how the connection ended.
    pub fn echo() -> Self {
        ThreadServer::start(|mut ws, report| {
            let end = loop {
                match ws.read() {
                    Ok(message @ (Message::Text(_) | Message::Binary(_))) => {
                        if let Err(error) = ws.send(message) {
                            break format!("send failed: {error}");
                        }
                    }
                    Ok(Message::Close(frame)) => break format!("close {frame:?}"),
                    Ok(_) => {}
                    Err(error) => break format!("read failed: {error}"),
                }
            };
            // Drive the close reply out and wait for the client to see it.
            while ws.read().is_ok() {}
            let _ = report.send(end);
        })
    }

    /// The next report, waiting up to 5 s for it.
    pub fn report(&self) -> String {
        self.reports
            .recv_timeout(std::time::Duration::from_secs(5))
            .expect("a report")
    }
}

/// Runs one bot, `body`, and returns its outcome.
pub fn in_bot<T: 'static>(body: impl AsyncFnOnce() -> T + 'static) -> T {
    let mut body = Some(body);
    let mut outcomes = ttk_core::run(1, |_cx: Cx, _id| {
        let body = body.take().expect("one bot");
        async move { body().await }
    });
    outcomes.pop().unwrap()
}

/// An echo server of ttk bots on a loop of its own thread: bot 0 accepts and starts one bot per
/// connection, which answers the handshake and sends back every text and binary message until
/// the client closes. Returns its `ws://` URL.
pub fn ttk_echo_server() -> String {
    let (ready, address) = mpsc::channel();
    std::thread::spawn(move || {
        let accepted = Rc::new(RefCell::new(VecDeque::new()));
        let mut ready = Some(ready);
        ttk_core::run(1, |cx, id| echo_bot(cx, id, accepted.clone(), ready.take()));
    });
    format!("ws://{}/", address.recv().unwrap())
}

/// Bot 0 accepts; the others each serve one accepted connection.
#[bot(crate = ttk_core)]
fn echo_bot(
    _cx: Cx,
    id: usize,
    accepted: Rc<RefCell<VecDeque<ttk_net::TcpStream>>>,
    ready: Option<mpsc::Sender<SocketAddr>>,
) -> io::Result<()> {
    if id == 0 {
        let listener = ttk_net::TcpListener::bind("127.0.0.1:0")?;
        ready
            .expect("bot 0 reports")
            .send(listener.local_addr()?)
            .unwrap();
        loop {
            let (stream, _) = ttk_core::yield_!(listener.accept())?;
            accepted.borrow_mut().push_back(stream);
            ttk_core::start_bots(1);
        }
    }
    let stream = accepted
        .borrow_mut()
        .pop_front()
        .expect("a connection per started bot");
    let mut ws = ttk_core::yield_!(WebSocket::accept(stream))?;
    loop {
        match ttk_core::yield_!(ws.receive()) {
            Ok(message @ (Message::Text(_) | Message::Binary(_))) => {
                ttk_core::yield_!(ws.send(message))?
            }
            Ok(Message::Close(_)) => return Ok(()), // answered; dropping closes the TCP connection
            Ok(_) => {}
            Err(error) if error.kind() == ErrorKind::UnexpectedEof => return Ok(()),
            Err(error) => return Err(error),
        }
    }
}
