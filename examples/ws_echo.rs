//! A load test of a WebSocket server: each bot connects (`ttk::ws`), pings once, then sends a
//! text message and awaits its echo again and again, each timed as an `echo` transaction, and
//! closes with the close handshake when the run's time is up — through the harness
//! (`ttk::cli`).
//!
//! `cargo run --release --example ws_echo -- --bots 1000 --duration 5s` starts its own echo
//! server in this process: ttk bots on a loop of their own thread, one per connection, answering
//! with `WebSocket::accept`. `--target IP:PORT` aims at another WebSocket echo server instead
//! (the bots connect to `ws://IP:PORT/`). Without `--duration`, `--iterations` or `--rate`, it
//! runs for 5 s.
//!
//! Transactions: `connect` (TCP connect and handshake), `ping` (a ping until its pong), `echo`
//! (a message until its echo), `close` (the close handshake, until the server closed the
//! connection).

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::rc::Rc;
use std::sync::mpsc;
use std::time::Duration;

use ttk::Cx;
use ttk::cli::{LoadTest, Session};
use ttk::net::{TcpListener, TcpStream};
use ttk::ws::{Message, WebSocket};
use ttk_examples::storm_setup::{StormFlags, prepare};

/// How long one exchange may take before it counts as failed.
const TIMEOUT: Duration = Duration::from_secs(5);

/// What each bot sends: built once, so a send clones it without copying or allocating.
const TEXT: &str = "hello, websocket";

/// One bot: connect, ping once, one echo per iteration, then close. A failed connection is
/// paused on and replaced.
#[ttk::bot]
fn client(cx: Cx, session: Session, url: String) {
    let text = Message::text(TEXT);
    let mut iterations = session.iterations();
    while iterations.next().is_some() {
        let Ok(mut ws) = ttk::yield_!(cx.time("connect", connect(&url))) else {
            ttk::yield_!(ttk::sleep(Duration::from_millis(100)));
            continue;
        };
        if ttk::yield_!(cx.time("ping", ping(&mut ws))).is_err() {
            continue;
        }
        loop {
            if ttk::yield_!(cx.time("echo", echo(&mut ws, &text))).is_err() {
                break;
            }
            if iterations.next().is_none() {
                let _ = ttk::yield_!(cx.time("close", close(&mut ws)));
                return;
            }
        }
    }
}

/// Connects and does the handshake, within [`TIMEOUT`].
#[ttk::bot]
fn connect(url: &str) -> io::Result<WebSocket> {
    ttk::yield_!(ttk::timeout(TIMEOUT, WebSocket::connect(url)))?
}

/// A ping and its pong.
#[ttk::bot]
fn ping(ws: &mut WebSocket) -> io::Result<()> {
    ttk::yield_!(ws.ping(b"ping"))?;
    loop {
        match ttk::yield_!(ttk::timeout(TIMEOUT, ws.receive()))?? {
            Message::Pong(payload) if payload == b"ping"[..] => return Ok(()),
            Message::Ping(_) => {} // the server's; answered already
            other => return Err(unexpected(&other)),
        }
    }
}

/// One message and its echo.
#[ttk::bot]
fn echo(ws: &mut WebSocket, text: &Message) -> io::Result<()> {
    ttk::yield_!(ws.send(text.clone()))?;
    loop {
        match ttk::yield_!(ttk::timeout(TIMEOUT, ws.receive()))?? {
            ref echo if echo == text => return Ok(()),
            Message::Ping(_) | Message::Pong(_) => {}
            other => return Err(unexpected(&other)),
        }
    }
}

/// The close handshake, until the server closed the connection.
#[ttk::bot]
fn close(ws: &mut WebSocket) -> io::Result<()> {
    ttk::yield_!(ttk::timeout(TIMEOUT, ws.close(None)))?
}

/// The error for a message that is not the one awaited.
fn unexpected(message: &Message) -> io::Error {
    let kind = if message.is_close() {
        "a close"
    } else {
        "a message"
    };
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("{kind} instead of the echo: {message:.60}"),
    )
}

/// Starts the in-process echo server: a ttk run on its own thread, whose bot 0 accepts and
/// starts one bot per connection. Returns its address once it listens.
fn spawn_ws_echo_server() -> io::Result<SocketAddr> {
    let (ready, listening) = mpsc::channel();
    std::thread::Builder::new()
        .name("ws-echo-server".into())
        .spawn(move || {
            let accepted = Rc::new(RefCell::new(VecDeque::new()));
            let mut ready = Some(ready);
            ttk::run(1, |cx, id| {
                server(cx, id, Rc::clone(&accepted), ready.take())
            });
        })?;
    listening
        .recv()
        .map_err(|_| io::Error::other("the echo server thread ended"))?
}

/// Bot 0 listens and accepts; each other bot serves one accepted connection: the handshake,
/// then every text or binary message sent back until the client closes.
#[ttk::bot]
fn server(
    _cx: Cx,
    id: usize,
    accepted: Rc<RefCell<VecDeque<TcpStream>>>,
    ready: Option<mpsc::Sender<io::Result<SocketAddr>>>,
) -> io::Result<()> {
    if id == 0 {
        let ready = ready.expect("bot 0 reports the address");
        let listener = match TcpListener::bind("127.0.0.1:0") {
            Ok(listener) => listener,
            Err(error) => {
                let _ = ready.send(Err(io::Error::new(error.kind(), error.to_string())));
                return Err(error);
            }
        };
        let _ = ready.send(listener.local_addr());
        loop {
            let (stream, _) = ttk::yield_!(listener.accept())?;
            stream.set_nodelay(true)?;
            accepted.borrow_mut().push_back(stream);
            ttk::start_bots(1);
        }
    }
    let stream = accepted
        .borrow_mut()
        .pop_front()
        .expect("one connection per bot started");
    let mut ws = ttk::yield_!(WebSocket::accept(stream))?;
    loop {
        match ttk::yield_!(ws.receive())? {
            message @ (Message::Text(_) | Message::Binary(_)) => ttk::yield_!(ws.send(message))?,
            // Answered already; dropping the socket ends the connection, as the client awaits.
            Message::Close(_) => return Ok(()),
            _ => {}
        }
    }
}

fn main() -> ExitCode {
    let mut test: LoadTest<StormFlags> = LoadTest::from_env_with("ws_echo");
    match prepare(&mut test, "ws_echo", spawn_ws_echo_server) {
        Ok(target) => {
            let url = format!("ws://{target}/");
            test.run_parallel(move |cx, session| client(cx, session, url.clone()))
                .exit_code()
        }
        Err(code) => code,
    }
}
