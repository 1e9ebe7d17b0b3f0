//! A load test of an HTTP server: each bot keeps one HTTP/1.1 connection (`ttk::http`) and
//! sends `GET /` on it again and again, each timed as a `request` transaction, through the
//! harness (`ttk::cli`).
//!
//! `cargo run --release --example http_get -- --bots 50 --duration 5s` starts its own small
//! target (in this process, a thread per connection); `--target IP:PORT` aims at another server,
//! e.g. a local nginx. Without `--duration`, `--iterations` or `--rate`, it runs for 5 s.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::process::ExitCode;
use std::time::Duration;

use ttk::Cx;
use ttk::cli::{LoadTest, Session};
use ttk::http::{HttpConnection, Request};
use ttk_examples::storm_setup::{StormFlags, prepare};

/// How long one request may take before it counts as failed.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// One bot: connect (timed as `connect`), then one `GET /` per iteration on the kept-alive
/// connection. A failed connection is paused on and replaced.
#[ttk::bot]
fn client(cx: Cx, session: Session, target: SocketAddr) {
    let target = target.to_string();
    let request = Request::get("/").timeout(REQUEST_TIMEOUT);
    let mut iterations = session.iterations();
    while iterations.next().is_some() {
        let Ok(mut http) = ttk::yield_!(cx.time("connect", HttpConnection::connect(&target)))
        else {
            ttk::yield_!(ttk::sleep(Duration::from_millis(100)));
            continue;
        };
        loop {
            if ttk::yield_!(cx.time("request", get(&mut http, &request))).is_err() {
                break;
            }
            if iterations.next().is_none() {
                return;
            }
        }
    }
}

/// One request, which must come back `200 OK`.
#[ttk::bot]
fn get(http: &mut HttpConnection, request: &Request) -> io::Result<()> {
    let response = ttk::yield_!(http.send(request))?;
    match response.status() {
        200 => Ok(()),
        status => Err(io::Error::other(format!("status {status}"))),
    }
}

/// A minimal keep-alive HTTP target on its own threads: answers every request with a short
/// `200 OK`. It reads only up to the end of each request head (the bots send no bodies).
fn spawn_http_target() -> io::Result<SocketAddr> {
    const RESPONSE: &[u8] =
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nhello, world\n";
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    std::thread::spawn(move || {
        for socket in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut socket = socket;
                let _ = socket.set_nodelay(true);
                let mut buf = [0; 4096];
                let mut pending = 0;
                loop {
                    let n = match socket.read(&mut buf[pending..]) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    pending += n;
                    // Answer each complete request head received, keep the rest.
                    while let Some(end) = buf[..pending].windows(4).position(|w| w == b"\r\n\r\n") {
                        if socket.write_all(RESPONSE).is_err() {
                            return;
                        }
                        buf.copy_within(end + 4..pending, 0);
                        pending -= end + 4;
                    }
                    if pending == buf.len() {
                        return; // a head over 4 KiB: not from our bots
                    }
                }
            });
        }
    });
    Ok(addr)
}

fn main() -> ExitCode {
    let mut test: LoadTest<StormFlags> = LoadTest::from_env_with("http_get");
    match prepare(&mut test, "http_get", spawn_http_target) {
        Ok(target) => test
            .run_parallel(move |cx, session| client(cx, session, target))
            .exit_code(),
        Err(code) => code,
    }
}
