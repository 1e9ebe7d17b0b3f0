//! Wrapping a send in `ttk_core::timeout` limits it too, and the connection recovers.

mod util;

use std::io::{self, ErrorKind};
use std::time::Duration;

use ttk_core::Cx;
use ttk_http::{HttpConnection, Request};
use ttk_macros::bot;
use util::Server;

#[bot(crate = ttk_core)]
fn impatient(_cx: Cx, _id: usize, addr: String) -> io::Result<(ErrorKind, u16, u64)> {
    let mut http = ttk_core::yield_!(HttpConnection::connect(&addr))?;
    let request = Request::get("/");
    let limited = ttk_core::timeout(Duration::from_millis(50), http.send(&request));
    let kind = match ttk_core::yield_!(limited) {
        Err(elapsed) => io::Error::from(elapsed).kind(),
        Ok(_) => panic!("the silent server answered"),
    };
    let status = ttk_core::yield_!(http.send(&request))?.status();
    Ok((kind, status, http.connections_opened()))
}

#[test]
fn an_abandoned_send_is_replaced_by_a_new_connection() {
    let server = Server::start(|mut peer, number| {
        while peer.next_request().is_some() {
            if number == 0 {
                std::thread::sleep(Duration::from_secs(5));
                return;
            }
            peer.send(b"HTTP/1.1 204 No Content\r\n\r\n");
        }
    });
    let addr = server.addr.clone();
    let outcome = ttk_core::run(1, move |cx, id| impatient(cx, id, addr.clone()))
        .pop()
        .unwrap()
        .unwrap();
    assert_eq!(outcome, (ErrorKind::TimedOut, 204, 2));
}
