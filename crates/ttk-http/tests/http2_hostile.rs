//! `Http2Connection` against hostile HTTP/2 peers, written frame by frame here: a bad preface,
//! a SETTINGS flood, a window never opened, a huge header block, a storm of stream resets.
//! Each ends in a named failure (or, for the flood, in answers), within the request's time:
//! never a hang, never a panic. And what the client's own SETTINGS state, as such a peer reads
//! them.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use ttk_core::Cx;
use ttk_http::Request;
use ttk_http::http2::Http2Connection;
use ttk_macros::bot;

/// Frame types.
const DATA: u8 = 0;
const HEADERS: u8 = 1;
const RST_STREAM: u8 = 3;
const SETTINGS: u8 = 4;
const CONTINUATION: u8 = 9;
/// Flags.
const END_STREAM: u8 = 1;
const END_HEADERS: u8 = 4;
/// `:status: 200` in HPACK (static table entry 8).
const STATUS_200: u8 = 0x88;

/// One frame: type, flags, stream, payload.
type Frame = (u8, u8, u32, Vec<u8>);

/// Reads a frame.
fn read_frame(stream: &mut TcpStream) -> io::Result<Frame> {
    let mut header = [0; 9];
    stream.read_exact(&mut header)?;
    let len =
        (usize::from(header[0]) << 16) | (usize::from(header[1]) << 8) | usize::from(header[2]);
    let id = u32::from_be_bytes([header[5], header[6], header[7], header[8]]) & 0x7fff_ffff;
    let mut payload = vec![0; len];
    stream.read_exact(&mut payload)?;
    Ok((header[3], header[4], id, payload))
}

/// A frame's bytes.
fn frame(kind: u8, flags: u8, id: u32, payload: &[u8]) -> Vec<u8> {
    let len = payload.len() as u32;
    let mut bytes = vec![(len >> 16) as u8, (len >> 8) as u8, len as u8, kind, flags];
    bytes.extend_from_slice(&id.to_be_bytes());
    bytes.extend_from_slice(payload);
    bytes
}

/// Starts a peer on loopback that reads the client's preface and hands the connection to
/// `behave` (one connection; the thread ends with it).
fn peer(behave: impl FnOnce(TcpStream) -> io::Result<()> + Send + 'static) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || -> io::Result<()> {
        let (mut stream, _) = listener.accept()?;
        let mut preface = [0; 24];
        stream.read_exact(&mut preface)?;
        behave(stream)
    });
    addr
}

/// Reads frames until the client's first HEADERS; its stream.
fn first_request(stream: &mut TcpStream) -> io::Result<u32> {
    loop {
        let (kind, _, id, _) = read_frame(stream)?;
        if kind == HEADERS {
            return Ok(id);
        }
    }
}

/// Reads (and drops) whatever the client sends, on another thread.
fn drain(stream: &TcpStream) {
    let mut reader = stream.try_clone().unwrap();
    std::thread::spawn(move || io::copy(&mut reader, &mut io::sink()));
}

/// What a bot's requests came to: each one's status or error (kind and text), and how long
/// they all took.
#[derive(Debug)]
struct Outcome {
    results: Vec<Result<u16, (io::ErrorKind, String)>>,
    took: Duration,
}

/// Sends `count` copies of `request` to `addr`, `depth` in flight at a time.
/// With `max_head`, the header blocks accepted are bounded by it.
#[bot(crate = ttk_core)]
fn client(
    _cx: Cx,
    _id: usize,
    addr: SocketAddr,
    request: Request,
    count: usize,
    max_head: Option<usize>,
) -> Outcome {
    let started = Instant::now();
    let mut results = Vec::new();
    match ttk_core::yield_!(Http2Connection::connect(&format!("http://{addr}/"))) {
        Ok(mut h2c) => {
            if let Some(limit) = max_head {
                h2c.set_max_head_len(limit);
            }
            for _ in 0..count {
                h2c.start(&request);
            }
            while let Some((_, result)) = ttk_core::yield_!(h2c.next()) {
                results.push(
                    result
                        .map(|response| response.status())
                        .map_err(|error| (error.kind(), error.to_string())),
                );
            }
        }
        Err(error) => results.push(Err((error.kind(), error.to_string()))),
    }
    Outcome {
        results,
        took: started.elapsed(),
    }
}

/// Runs [`client`] in one bot against `addr`.
fn run(addr: SocketAddr, request: Request, count: usize) -> Outcome {
    run_bounded(addr, request, count, None)
}

/// [`run`], the header blocks accepted bounded by `max_head`, if given.
fn run_bounded(
    addr: SocketAddr,
    request: Request,
    count: usize,
    max_head: Option<usize>,
) -> Outcome {
    ttk_core::run(1, move |cx, id| {
        client(cx, id, addr, request.clone(), count, max_head)
    })
    .remove(0)
}

/// A request that gives up after 2 s.
fn get() -> Request {
    Request::get("/").timeout(Duration::from_secs(2))
}

#[test]
fn the_clients_settings_state_its_hpack_table_size_and_no_push() {
    let (read, settings) = std::sync::mpsc::channel();
    let addr = peer(move |mut stream| {
        let _ = read.send(read_frame(&mut stream)?);
        Ok(())
    });
    // The peer hangs up after the client's SETTINGS: the request fails, as it may.
    run(addr, get(), 1);
    let (kind, flags, stream, payload) = settings
        .recv_timeout(Duration::from_secs(5))
        .expect("the client's first frame");
    assert_eq!((kind, flags, stream), (SETTINGS, 0, 0));
    let stated: Vec<(u16, u32)> = payload
        .chunks_exact(6)
        .map(|setting| {
            let id = u16::from_be_bytes([setting[0], setting[1]]);
            (
                id,
                u32::from_be_bytes([setting[2], setting[3], setting[4], setting[5]]),
            )
        })
        .collect();
    // SETTINGS_HEADER_TABLE_SIZE (nginx, told it, keeps no table for its response headers)
    // and SETTINGS_ENABLE_PUSH.
    assert!(stated.contains(&(0x1, 4096)), "{stated:?}");
    assert!(stated.contains(&(0x2, 0)), "{stated:?}");
}

#[test]
fn a_bad_preface_is_a_protocol_error() {
    let addr = peer(|mut stream| {
        stream.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")?;
        io::copy(&mut stream, &mut io::sink()).map(drop)
    });
    let outcome = run(addr, get(), 3);
    assert_eq!(outcome.results.len(), 3, "{outcome:?}");
    for result in &outcome.results {
        let (kind, text) = result.as_ref().unwrap_err();
        assert_eq!(*kind, io::ErrorKind::InvalidData, "{text}");
        // An HTTP/1.1 server's answer to the preface: named as such, not as h2's
        // FRAME_SIZE_ERROR (its status line read as a frame's length).
        assert!(text.contains("the server answered in HTTP/1"), "{text}");
    }
    assert!(outcome.took < Duration::from_secs(2), "{outcome:?}");
}

#[test]
fn a_settings_flood_is_answered_or_named_without_a_hang() {
    let addr = peer(|mut stream| {
        drain(&stream);
        let one = frame(SETTINGS, 0, 0, &[0, 3, 0, 0, 0, 100]);
        let flood: Vec<u8> = one
            .iter()
            .copied()
            .cycle()
            .take(one.len() * 100_000)
            .collect();
        stream.write_all(&flood)?;
        let answer = frame(HEADERS, END_HEADERS | END_STREAM, 1, &[STATUS_200]);
        stream.write_all(&answer)?;
        std::thread::sleep(Duration::from_secs(3));
        Ok(())
    });
    let outcome = run(addr, get(), 1);
    assert_eq!(outcome.results.len(), 1, "{outcome:?}");
    match &outcome.results[0] {
        Ok(status) => assert_eq!(*status, 200),
        Err((_, text)) => assert!(text.starts_with("HTTP/2"), "{text}"),
    }
    assert!(outcome.took < Duration::from_secs(3), "{outcome:?}");
}

#[test]
fn a_window_never_opened_times_the_request_out() {
    let addr = peer(|mut stream| {
        drain(&stream);
        // SETTINGS_INITIAL_WINDOW_SIZE = 0, and never a WINDOW_UPDATE.
        stream.write_all(&frame(SETTINGS, 0, 0, &[0, 4, 0, 0, 0, 0]))?;
        std::thread::sleep(Duration::from_secs(5));
        Ok(())
    });
    let post = Request::post("/")
        .body(vec![b'x'; 1000])
        .timeout(Duration::from_millis(300));
    let outcome = run(addr, post, 2);
    assert_eq!(outcome.results.len(), 2, "{outcome:?}");
    for result in &outcome.results {
        assert_eq!(result.as_ref().unwrap_err().0, io::ErrorKind::TimedOut);
    }
    assert!(outcome.took < Duration::from_secs(2), "{outcome:?}");
}

#[test]
fn a_huge_header_block_fails_the_request() {
    // 400 KiB of headers: over the 256 KiB accepted by default, which the failure names; with
    // the limit raised to 1 MiB, a response.
    for (max_head, fails) in [(None, true), (Some(1 << 20), false)] {
        let outcome = run_bounded(huge_headers_peer(), get(), 1, max_head);
        assert_eq!(outcome.results.len(), 1, "{max_head:?}: {outcome:?}");
        assert!(
            outcome.took < Duration::from_secs(2),
            "{max_head:?}: {outcome:?}"
        );
        if fails {
            let (_, text) = outcome.results[0].as_ref().unwrap_err();
            assert!(text.starts_with("HTTP/2"), "{text}");
            assert!(text.contains("--max-head"), "{text}");
        } else {
            assert_eq!(outcome.results[0], Ok(200), "{outcome:?}");
        }
    }
}

/// A peer answering the first request with a header block of 400 KiB.
fn huge_headers_peer() -> SocketAddr {
    peer(|mut stream| {
        stream.write_all(&frame(SETTINGS, 0, 0, &[]))?;
        // The request is read before anything else reads the socket: a drain started first
        // raced this read for the client's frames, and when it won, the peer never answered
        // (seen once in CI, as the request's timeout).
        let id = first_request(&mut stream)?;
        drain(&stream);
        // :status 200, then 100 headers of 4 KiB each (a literal with a new name), in one
        // HEADERS and then CONTINUATION frames of 16 KiB.
        let mut block = vec![STATUS_200];
        for i in 0..100 {
            let name = format!("x-big-{i:03}");
            block.push(0);
            block.push(name.len() as u8);
            block.extend_from_slice(name.as_bytes());
            // 4096 as an HPACK integer with a 7-bit prefix: 127, then 3969 in 7-bit groups.
            block.extend_from_slice(&[0x7f, 0x81, 0x1f]);
            block.extend(std::iter::repeat_n(b'v', 4096));
        }
        // END_STREAM on the HEADERS frame (a CONTINUATION has no such flag), END_HEADERS on
        // the last.
        let mut chunks = block.chunks(16_384).peekable();
        let (mut kind, mut flags) = (HEADERS, END_STREAM);
        while let Some(chunk) = chunks.next() {
            if chunks.peek().is_none() {
                flags |= END_HEADERS;
            }
            stream.write_all(&frame(kind, flags, id, chunk))?;
            (kind, flags) = (CONTINUATION, 0);
        }
        std::thread::sleep(Duration::from_secs(3));
        Ok(())
    })
}

#[test]
fn a_reset_storm_fails_each_request_by_name() {
    let addr = peer(|mut stream| {
        stream.write_all(&frame(SETTINGS, 0, 0, &[]))?;
        let mut writer = stream.try_clone()?;
        loop {
            let (kind, _, id, _) = read_frame(&mut stream)?;
            if kind == HEADERS {
                // INTERNAL_ERROR (2).
                writer.write_all(&frame(RST_STREAM, 0, id, &[0, 0, 0, 2]))?;
            } else if kind == DATA {
                continue;
            }
        }
    });
    let outcome = run(addr, get(), 500);
    assert_eq!(outcome.results.len(), 500, "{outcome:?}");
    for result in &outcome.results {
        let (kind, text) = result.as_ref().unwrap_err();
        assert_eq!(*kind, io::ErrorKind::ConnectionReset, "{text}");
        assert!(text.contains("INTERNAL_ERROR"), "{text}");
    }
    assert!(outcome.took < Duration::from_secs(2), "{outcome:?}");
}
