//! Bodies discarded as they arrive (`Request::discard_body`) and read piece by piece into the
//! caller's buffer (`send_streaming`, `read_body`): every framing, split across reads, with
//! the connection kept for the next request once the body is read, and a new one when it is
//! not.

mod util;

use std::io::{self, ErrorKind};

use ttk_core::Cx;
use ttk_http::{HttpConnection, Request};
use ttk_macros::bot;
use util::Server;

/// A body of `len` bytes that is not all one byte.
fn body(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

/// `payload` as a chunked body in chunks of `chunk` bytes, with an extension and a trailer.
fn chunked(payload: &[u8], chunk: usize) -> Vec<u8> {
    let mut wire = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for piece in payload.chunks(chunk) {
        wire.extend_from_slice(format!("{:x};x=y\r\n", piece.len()).as_bytes());
        wire.extend_from_slice(piece);
        wire.extend_from_slice(b"\r\n");
    }
    wire.extend_from_slice(b"0\r\nX-Trailer: 1\r\n\r\n");
    wire
}

/// `payload` with a `Content-Length`.
fn with_length(payload: &[u8]) -> Vec<u8> {
    let mut wire = format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n",
        payload.len()
    )
    .into_bytes();
    wire.extend_from_slice(payload);
    wire
}

/// A server answering every request with `wire`.
fn canned(wire: Vec<u8>) -> Server {
    Server::canned(wire.leak())
}

/// What a client saw of each response: status, kept body, body length.
type Seen = Vec<io::Result<(u16, Vec<u8>, u64)>>;

/// Sends each request in turn, with a body limit of `max_body`; what it saw and the
/// connections it opened.
#[bot(crate = ttk_core)]
fn send_all(
    _cx: Cx,
    _id: usize,
    addr: String,
    requests: Vec<Request>,
    max_body: usize,
) -> io::Result<(Seen, u64)> {
    let mut http = ttk_core::yield_!(HttpConnection::connect(&addr))?;
    http.set_max_body_len(max_body);
    let mut seen = Vec::new();
    for request in &requests {
        let response = ttk_core::yield_!(http.send(request));
        seen.push(response.map(|r| (r.status(), r.body().to_vec(), r.body_len())));
    }
    Ok((seen, http.connections_opened()))
}

fn send(addr: &str, requests: Vec<Request>, max_body: usize) -> (Seen, u64) {
    let addr = addr.to_string();
    ttk_core::run(1, move |cx, id| {
        send_all(cx, id, addr.clone(), requests.clone(), max_body)
    })
    .pop()
    .unwrap()
    .unwrap()
}

#[test]
fn a_discarded_body_is_counted_whatever_its_framing_and_size() {
    let payload = body(3_000_000);
    let discard = Request::get("/").discard_body(true);
    // Limited to 10 bytes kept: a discarded body is not limited.
    for wire in [with_length(&payload), chunked(&payload, 100_000)] {
        let server = canned(wire);
        let requests = vec![discard.clone(), discard.clone(), Request::get("/")];
        let (seen, opened) = send(&server.addr, requests, 10);
        for outcome in &seen[..2] {
            let (status, kept, len) = outcome.as_ref().unwrap();
            assert_eq!((*status, kept.len(), *len), (200, 0, 3_000_000));
        }
        // Kept, the same body is over the limit.
        let error = seen[2].as_ref().unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidData);
        assert_eq!(
            opened, 1,
            "the connection was kept after each discarded body"
        );
    }
    // Until the close: counted, then a new connection.
    let until_close = Server::start(|mut peer, _| {
        peer.next_request();
        peer.send(b"HTTP/1.0 200 OK\r\n\r\n");
        peer.send(&body(100_000));
    });
    let (seen, opened) = send(&until_close.addr, vec![discard.clone(); 2], 10);
    for outcome in seen {
        assert_eq!(outcome.unwrap().2, 100_000);
    }
    assert_eq!(opened, 2);
}

#[test]
fn discarded_bodies_split_across_reads_keep_the_next_response_intact() {
    let server = Server::in_pieces(&[
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhel",
        b"lo\r\n6\r",
        b"\n world\r\n0\r\nX-Trailer: yes\r\n",
        b"\r\n",
    ]);
    let requests = vec![
        Request::get("/").discard_body(true),
        Request::get("/"),
        Request::head("/").discard_body(true),
    ];
    let (seen, opened) = send(&server.addr, requests, 1 << 20);
    let seen: Vec<_> = seen.into_iter().map(Result::unwrap).collect();
    assert_eq!(seen[0], (200, vec![], 11));
    assert_eq!(seen[1], (200, b"hello world".to_vec(), 11));
    assert_eq!(opened, 1);
}

/// Streams the body of each request with pieces of `piece` bytes (or sends the next request
/// after reading only `stop_after` bytes, if given); the bodies and the connections opened.
#[bot(crate = ttk_core)]
fn stream_all(
    _cx: Cx,
    _id: usize,
    addr: String,
    requests: Vec<Request>,
    piece: usize,
    stop_after: Option<usize>,
) -> io::Result<(Vec<(u16, Vec<u8>)>, u64)> {
    let mut http = ttk_core::yield_!(HttpConnection::connect(&addr))?;
    let mut bodies = Vec::new();
    let mut buf = vec![0; piece];
    for request in &requests {
        let status = ttk_core::yield_!(http.send_streaming(request))?.status();
        let mut body = Vec::new();
        loop {
            if stop_after.is_some_and(|stop| body.len() >= stop) {
                break;
            }
            let n = ttk_core::yield_!(http.read_body(&mut buf))?;
            if n == 0 {
                // Read to its end: more reads say the same.
                assert_eq!(ttk_core::yield_!(http.read_body(&mut buf))?, 0);
                break;
            }
            assert!(n <= piece);
            body.extend_from_slice(&buf[..n]);
        }
        bodies.push((status, body));
    }
    Ok((bodies, http.connections_opened()))
}

fn stream(
    addr: &str,
    requests: Vec<Request>,
    piece: usize,
    stop_after: Option<usize>,
) -> (Vec<(u16, Vec<u8>)>, u64) {
    let addr = addr.to_string();
    ttk_core::run(1, move |cx, id| {
        stream_all(cx, id, addr.clone(), requests.clone(), piece, stop_after)
    })
    .pop()
    .unwrap()
    .unwrap()
}

#[test]
fn a_streamed_body_arrives_whole_in_the_callers_pieces() {
    let payload = body(300_000);
    for wire in [with_length(&payload), chunked(&payload, 70_000)] {
        let server = canned(wire);
        for piece in [1_000, 65_536, 1_000_000] {
            let (bodies, opened) = stream(&server.addr, vec![Request::get("/"); 2], piece, None);
            for (status, body) in bodies {
                assert_eq!(status, 200);
                assert!(body == payload, "piece {piece}: {} bytes", body.len());
            }
            assert_eq!(
                opened, 1,
                "read to its end, the body leaves the connection usable"
            );
        }
    }
    let until_close = Server::start(|mut peer, _| {
        peer.next_request();
        peer.send(b"HTTP/1.0 200 OK\r\n\r\n");
        peer.send(&body(100_000));
    });
    let (bodies, opened) = stream(&until_close.addr, vec![Request::get("/"); 2], 4096, None);
    assert!(bodies.iter().all(|(_, b)| *b == body(100_000)));
    assert_eq!(opened, 2);
}

#[test]
fn a_request_before_the_body_is_read_opens_a_new_connection() {
    let server = canned(with_length(&body(300_000)));
    let (bodies, opened) = stream(&server.addr, vec![Request::get("/"); 3], 1_000, Some(5_000));
    for (status, body) in bodies {
        assert_eq!(status, 200);
        assert!((5_000..6_000).contains(&body.len()), "{}", body.len());
    }
    assert_eq!(opened, 3);
    assert_eq!(server.accepted(), 3);
}

/// Streams a response, then sends a request with `send`; whether `read_body` found nothing to
/// read after the `send`, and the kept body.
#[bot(crate = ttk_core)]
fn stream_then_send(_cx: Cx, _id: usize, addr: String) -> io::Result<(usize, Vec<u8>, u64)> {
    let mut http = ttk_core::yield_!(HttpConnection::connect(&addr))?;
    let mut buf = [0; 64];
    ttk_core::yield_!(http.send_streaming(&Request::get("/")))?;
    while ttk_core::yield_!(http.read_body(&mut buf))? > 0 {}
    let kept = ttk_core::yield_!(http.send(&Request::get("/")))?
        .body()
        .to_vec();
    let after_send = ttk_core::yield_!(http.read_body(&mut buf))?;
    Ok((after_send, kept, http.connections_opened()))
}

#[test]
fn read_body_after_a_kept_body_reads_nothing() {
    let server = canned(with_length(b"hello"));
    let addr = server.addr.clone();
    let (after_send, kept, opened) =
        ttk_core::run(1, move |cx, id| stream_then_send(cx, id, addr.clone()))
            .pop()
            .unwrap()
            .unwrap();
    assert_eq!((after_send, &kept[..], opened), (0, &b"hello"[..], 1));
}

#[test]
fn a_streamed_redirect_discards_its_own_body_and_streams_the_last() {
    let server = Server::start(|mut peer, _| {
        while let Some((head, _)) = peer.next_request() {
            if head.starts_with("GET /old ") {
                peer.send(
                    b"HTTP/1.1 302 Found\r\nLocation: new\r\nContent-Length: 9\r\n\r\nmoved it!",
                );
            } else {
                peer.send(&with_length(b"the new page"));
            }
        }
    });
    let request = Request::get("/old").follow_redirects(1);
    let (bodies, opened) = stream(&server.addr, vec![request; 2], 5, None);
    for (status, body) in bodies {
        assert_eq!((status, &body[..]), (200, &b"the new page"[..]));
    }
    assert_eq!(opened, 1);
}

#[test]
fn a_discarded_body_cut_by_the_close_is_unexpected_eof() {
    for cut in [
        &b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this"[..],
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nabc",
    ] {
        let server = Server::start(move |mut peer, _| {
            peer.next_request();
            peer.send(cut);
        });
        let (seen, _) = send(&server.addr, vec![Request::get("/").discard_body(true)], 10);
        let error = seen[0].as_ref().unwrap_err();
        assert_eq!(error.kind(), ErrorKind::UnexpectedEof, "{error}");
        assert!(error.to_string().contains("in the middle"), "{error}");
    }
}

/// Pipelines three requests whose bodies are discarded; their body lengths.
#[bot(crate = ttk_core)]
fn pipelined_discards(_cx: Cx, _id: usize, addr: String) -> io::Result<Vec<u64>> {
    let mut http = ttk_core::yield_!(HttpConnection::connect(&addr))?;
    let discard = Request::get("/").discard_body(true);
    for _ in 0..3 {
        http.queue(&discard);
    }
    let mut lengths = Vec::new();
    for _ in 0..3 {
        lengths.push(ttk_core::yield_!(http.receive())?.body_len());
    }
    Ok(lengths)
}

#[test]
fn pipelined_responses_with_discarded_bodies_stay_apart() {
    let server = Server::start(|mut peer, _| {
        let mut replies = Vec::new();
        for _ in 0..3 {
            peer.next_request();
        }
        replies.extend_from_slice(&chunked(&body(50_000), 7_000));
        replies.extend_from_slice(&with_length(&body(20_000)));
        replies.extend_from_slice(&chunked(b"abc", 1));
        peer.send(&replies); // all in one write
        peer.next_request();
    });
    let addr = server.addr.clone();
    let lengths = ttk_core::run(1, move |cx, id| pipelined_discards(cx, id, addr.clone()))
        .pop()
        .unwrap()
        .unwrap();
    assert_eq!(lengths, [50_000, 20_000, 3]);
}
