//! Hostile TLS peers: each gives a named failure, never a hang past the timeout, never a panic,
//! and memory stays bounded (rustls refuses an oversized record from its header alone).

mod util;

use std::io::{self, Read, Write};
use std::net::TcpListener;
use std::time::Duration;

use ttk_core::Cx;
use ttk_macros::bot;
use ttk_net::TcpStream;
use ttk_tls::TlsConnector;
use util::kind;

/// A server thread that reads the client's first bytes (its ClientHello) and then does
/// `misbehave` with the socket.
fn hostile(misbehave: impl FnOnce(std::net::TcpStream) + Send + 'static) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let (mut socket, _) = listener.accept().unwrap();
        let mut hello = [0; 4096];
        let _ = socket.read(&mut hello);
        misbehave(socket);
    });
    port
}

#[bot(crate = ttk_core)]
fn handshake(_cx: Cx, _id: usize, port: u16, limit: Duration) -> io::Result<()> {
    let connector = TlsConnector::builder()
        .insecure(true)
        .handshake_timeout(Some(limit))
        .build()?;
    let tcp = ttk_core::yield_!(TcpStream::connect(("127.0.0.1", port)))?;
    ttk_core::yield_!(connector.connect("localhost", tcp))?;
    Ok(())
}

fn handshake_with(port: u16) -> io::Error {
    ttk_core::run(1, |cx, id| handshake(cx, id, port, Duration::from_secs(5)))
        .pop()
        .unwrap()
        .unwrap_err()
}

#[test]
fn garbage_after_the_client_hello() {
    let port = hostile(|mut socket| {
        let _ = socket.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
        std::thread::sleep(Duration::from_secs(1));
    });
    let error = handshake_with(port);
    assert_eq!(kind(&error), "TlsHandshake", "{error}");
    assert_eq!(error.kind(), io::ErrorKind::InvalidData, "{error}");
    assert!(error.to_string().contains("plain, non-TLS port"), "{error}");
}

#[test]
fn a_truncated_record_then_a_close() {
    let port = hostile(|mut socket| {
        // A handshake record announcing 100 bytes, 10 of them sent, then the close.
        let _ = socket.write_all(&[22, 3, 3, 0, 100, 2, 0, 0, 96, 3, 3, 0, 0, 0, 0]);
    });
    let error = handshake_with(port);
    assert_eq!(kind(&error), "TlsHandshake", "{error}");
    assert_eq!(error.kind(), io::ErrorKind::UnexpectedEof, "{error}");
    assert!(error.to_string().contains("closed"), "{error}");
}

#[test]
fn a_huge_record_length_is_refused_from_its_header() {
    let port = hostile(|mut socket| {
        // A record of 65,535 bytes: over TLS's limit; rustls must not wait to buffer it.
        let _ = socket.write_all(&[22, 3, 3, 0xff, 0xff]);
        let _ = socket.write_all(&[0; 1024]);
        std::thread::sleep(Duration::from_secs(2));
    });
    let error = handshake_with(port);
    assert_eq!(kind(&error), "TlsHandshake", "{error}");
    assert_eq!(error.kind(), io::ErrorKind::InvalidData, "{error}");
}

#[test]
fn a_stalled_handshake_times_out() {
    let port = hostile(|socket| {
        std::thread::sleep(Duration::from_secs(3));
        drop(socket);
    });
    let error = ttk_core::run(1, |cx, id| {
        handshake(cx, id, port, Duration::from_millis(300))
    })
    .pop()
    .unwrap()
    .unwrap_err();
    assert_eq!(kind(&error), "TlsHandshake", "{error}");
    assert_eq!(error.kind(), io::ErrorKind::TimedOut, "{error}");
    assert!(error.to_string().contains("did not finish"), "{error}");
}

#[test]
fn a_plain_server_that_closes_at_once() {
    let port = hostile(drop);
    let error = handshake_with(port);
    assert_eq!(kind(&error), "TlsHandshake", "{error}");
}
