//! A TLS server that ends each connection after its response with a `close_notify` sent in
//! the same write (as servers closing after one response do): the client reads both at once,
//! and its next request goes on a new connection rather than into the close (which it used to
//! write it into, then send it again, counted as sent again: 97 % of requests).

mod util;

use std::time::Duration;

use ttk_core::Cx;
use ttk_http::{HttpConnection, Request};
use ttk_macros::bot;
use ttk_tls::TlsConnector;

const OK: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

/// Answers each connection's first request (`answers` times: the answers to requests sent at
/// once, pipelined), its `close_notify` in the same write, then keeps the connection open a
/// moment (so that only the alert says it is over); the CA's PEM.
fn server(answers: usize) -> (String, String) {
    util::tls_server(move |mut tls| {
        let mut request = [0; 1024];
        if std::io::Read::read(&mut tls, &mut request).is_err() {
            return;
        }
        // Into rustls's buffer: the answers and the alert leave in one write.
        for _ in 0..answers {
            std::io::Write::write_all(&mut tls.conn.writer(), OK).unwrap();
        }
        tls.conn.send_close_notify();
        let _ = std::io::Write::flush(&mut tls);
        std::thread::sleep(Duration::from_millis(300));
    })
}

/// Two requests on one `HttpConnection`: their statuses, the requests sent again, and the
/// connections opened.
#[bot(crate = ttk_core)]
fn twice(_cx: Cx, _id: usize, addr: String, ca: String) -> (Vec<u16>, u64, u64) {
    let tls = TlsConnector::builder().ca_pem(ca).unwrap().build().unwrap();
    let mut http = ttk_core::yield_!(HttpConnection::connect_tls(&addr, &tls)).unwrap();
    let mut statuses = Vec::new();
    for _ in 0..2 {
        let response = ttk_core::yield_!(http.send(&Request::get("/"))).unwrap();
        statuses.push(response.status());
        // Enough for the alert to have come with the answer, whoever reads it first.
        ttk_core::yield_!(ttk_core::sleep(Duration::from_millis(50)));
    }
    (statuses, http.retries(), http.connections_opened())
}

#[test]
fn a_close_notify_read_with_the_response_sends_the_next_request_on_a_new_connection() {
    let (addr, ca) = server(1);
    let outcome = ttk_core::run(1, move |cx, id| twice(cx, id, addr.clone(), ca.clone()));
    let (statuses, retries, opened) = outcome[0].clone();
    assert_eq!(statuses, [200, 200]);
    assert_eq!(
        retries, 0,
        "no request written into the close, then sent again"
    );
    assert_eq!(opened, 2);
}

/// Two requests sent at once (pipelined), then one more: their statuses.
#[bot(crate = ttk_core)]
fn pipelined(_cx: Cx, _id: usize, addr: String, ca: String) -> Vec<u16> {
    let tls = TlsConnector::builder().ca_pem(ca).unwrap().build().unwrap();
    let mut http = ttk_core::yield_!(HttpConnection::connect_tls(&addr, &tls)).unwrap();
    http.queue(&Request::get("/"));
    http.queue(&Request::get("/"));
    ttk_core::yield_!(http.flush()).unwrap();
    let mut statuses = Vec::new();
    for _ in 0..2 {
        statuses.push(ttk_core::yield_!(http.receive()).unwrap().status());
    }
    let third = ttk_core::yield_!(http.send(&Request::get("/"))).unwrap();
    statuses.push(third.status());
    statuses
}

/// Both answers to pipelined requests came before the `close_notify`, in one read: both are
/// read, and only then is the connection over (the alert ended it at the first, and the second
/// failed as unanswered).
#[test]
fn answers_read_with_a_close_notify_behind_them_are_all_taken() {
    let (addr, ca) = server(2);
    let outcome = ttk_core::run(1, move |cx, id| pipelined(cx, id, addr.clone(), ca.clone()));
    assert_eq!(outcome[0], [200, 200, 200]);
}
