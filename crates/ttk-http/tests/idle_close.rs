//! `HttpConnection::still_open` against a server on a thread that answers, then, while the
//! connection is idle, sends a `408` nobody asked for: the connection is given up, and the
//! next request goes on a new one and gets its own answer, not the `408`.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::Duration;

use ttk_core::Cx;
use ttk_http::{HttpConnection, Request};
use ttk_macros::bot;

const OK: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
const TIMED_OUT: &[u8] =
    b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";

/// Each connection: answers its first request, then 500 ms later sends a `408` and stays open
/// a second longer.
fn server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for socket in listener.incoming().take(2) {
            let mut socket = socket.unwrap();
            std::thread::spawn(move || {
                let mut request = [0; 1024];
                let _ = socket.read(&mut request).unwrap();
                socket.write_all(OK).unwrap();
                std::thread::sleep(Duration::from_millis(500));
                let _ = socket.write_all(TIMED_OUT);
                std::thread::sleep(Duration::from_secs(2));
            });
        }
    });
    addr
}

/// A request, a look while the `408` is not yet sent, one after it, then a second request:
/// the two looks, the second answer's status and the connections opened.
#[bot(crate = ttk_core)]
fn twice(_cx: Cx, _id: usize, addr: String) -> std::io::Result<(bool, bool, u16, u64)> {
    let mut http = ttk_core::yield_!(HttpConnection::connect(&addr))?;
    ttk_core::yield_!(http.send(&Request::get("/")))?;
    let before = ttk_core::yield_!(http.still_open());
    ttk_core::yield_!(ttk_core::sleep(Duration::from_millis(1_000)));
    let after = ttk_core::yield_!(http.still_open());
    let second = ttk_core::yield_!(http.send(&Request::get("/")))?;
    Ok((before, after, second.status(), http.connections_opened()))
}

#[test]
fn bytes_sent_unasked_to_an_idle_connection_end_it() {
    let addr = server();
    let outcome = ttk_core::run(1, move |cx, id| twice(cx, id, addr.clone()))
        .pop()
        .unwrap()
        .unwrap();
    assert_eq!(outcome, (true, false, 200, 2));
}
