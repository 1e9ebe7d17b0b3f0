//! `Framed`'s raw reads between frames, against a real server on loopback: what a RESP client
//! needs to read a bulk string that holds CRLFs, and nothing buffered is lost on the way out.

mod util;

use std::io::{self, Write};
use std::net::{SocketAddr, TcpStream as StdStream};
use std::thread;
use std::time::Duration;

use ttk_core::Cx;
use ttk_macros::bot;
use ttk_net::{FrameFormat, Framed, TcpStream};
use util::{run_beside_healthy_bots, spawn_server};

/// A bulk string longer than one read of the buffer (16 KiB), CRLFs inside.
fn big_payload() -> Vec<u8> {
    (0..40_000u32)
        .map(|i| match i % 7 {
            0 => b'\r',
            1 => b'\n',
            _ => b'a' + (i % 26) as u8,
        })
        .collect()
}

/// Answers like a RESP server: a small bulk string with CRLFs, then a big one, then `+OK`,
/// all in one write, then closes.
fn resp_replies(mut stream: StdStream) {
    let payload = big_payload();
    let mut wire = b"$12\r\nhello\r\nworld\r\n".to_vec();
    wire.extend_from_slice(format!("${}\r\n", payload.len()).as_bytes());
    wire.extend_from_slice(&payload);
    wire.extend_from_slice(b"\r\n+OK\r\n");
    let _ = stream.write_all(&wire);
    let _ = stream.shutdown(std::net::Shutdown::Write);
    thread::sleep(Duration::from_millis(100));
}

/// Reads one RESP bulk string: the `$LEN` line as a frame, the payload and its CRLF raw.
async fn read_bulk(resp: &mut Framed) -> io::Result<Vec<u8>> {
    let header = resp.read_frame().await?.expect("a header line").to_vec();
    let len: usize = std::str::from_utf8(&header[1..]).unwrap().parse().unwrap();
    let payload = resp.read_raw_exact(len + 2).await?;
    assert_eq!(&payload[len..], b"\r\n", "the payload ends in CRLF");
    Ok(payload[..len].to_vec())
}

#[bot(crate = ttk_core)]
fn resp_reader(addr: SocketAddr) -> io::Result<(Vec<u8>, Vec<u8>, Vec<u8>, Option<Vec<u8>>)> {
    let stream = ttk_core::yield_!(TcpStream::connect(addr))?;
    let mut resp = Framed::new(stream, FrameFormat::crlf_lines().max_frame_len(64));
    let small = ttk_core::yield_!(read_bulk(&mut resp))?;
    let big = ttk_core::yield_!(read_bulk(&mut resp))?;
    let ok = ttk_core::yield_!(resp.read_frame())?.expect("+OK").to_vec();
    let after = ttk_core::yield_!(resp.read_frame())?.map(<[u8]>::to_vec);
    Ok((small, big, ok, after))
}

#[test]
fn a_bulk_string_holding_crlfs_reads_raw_between_frames() {
    let addr = spawn_server(resp_replies);
    let (small, big, ok, after) = ttk_core::run(1, |_: Cx, _| resp_reader(addr))
        .pop()
        .unwrap()
        .unwrap();
    assert_eq!(small, b"hello\r\nworld");
    // Far over the format's 64-byte maximum: a raw read is not a frame.
    assert_eq!(big, big_payload());
    assert_eq!(ok, b"+OK");
    assert_eq!(after, None, "the peer closed between frames");
}

/// Sends a line and three raw bytes, waits, sends two more, then closes.
fn line_then_raw(mut stream: StdStream) {
    let _ = stream.write_all(b"HELLO\n\x01\x02\x03");
    thread::sleep(Duration::from_millis(50));
    let _ = stream.write_all(b"\x04\x05");
    let _ = stream.shutdown(std::net::Shutdown::Write);
    thread::sleep(Duration::from_millis(100));
}

#[bot(crate = ttk_core)]
fn raw_after_a_line(addr: SocketAddr) -> io::Result<Vec<Vec<u8>>> {
    let stream = ttk_core::yield_!(TcpStream::connect(addr))?;
    let mut framed = Framed::new(stream, FrameFormat::lines());
    assert_eq!(ttk_core::yield_!(framed.read_frame())?, Some(&b"HELLO"[..]));
    let mut reads = Vec::new();
    loop {
        let raw = ttk_core::yield_!(framed.read_raw())?;
        if raw.is_empty() {
            return Ok(reads);
        }
        reads.push(raw.to_vec());
    }
}

#[test]
fn read_raw_returns_what_is_buffered_then_what_arrives_then_nothing_at_the_close() {
    let addr = spawn_server(line_then_raw);
    let reads = ttk_core::run(1, |_: Cx, _| raw_after_a_line(addr))
        .pop()
        .unwrap()
        .unwrap();
    assert_eq!(reads.concat(), [1, 2, 3, 4, 5]);
    assert_eq!(
        reads[0],
        [1, 2, 3],
        "the buffered bytes first, on their own"
    );
}

#[bot(crate = ttk_core)]
fn more_raw_than_sent(addr: SocketAddr) -> io::Result<()> {
    let stream = ttk_core::yield_!(TcpStream::connect(addr))?;
    let mut framed = Framed::new(stream, FrameFormat::lines());
    ttk_core::yield_!(framed.read_frame())?;
    ttk_core::yield_!(framed.read_raw_exact(10))?;
    Ok(())
}

#[test]
fn a_close_before_the_raw_bytes_asked_for_is_unexpected_eof() {
    let addr = spawn_server(line_then_raw);
    let error = run_beside_healthy_bots(|| more_raw_than_sent(addr));
    assert_eq!(error.kind(), io::ErrorKind::UnexpectedEof);
    assert!(
        error.to_string().contains("5 of the 10 raw bytes"),
        "{error}"
    );
}

#[bot(crate = ttk_core)]
fn parts_after_a_line(addr: SocketAddr) -> io::Result<Vec<u8>> {
    let stream = ttk_core::yield_!(TcpStream::connect(addr))?;
    let mut framed = Framed::new(stream, FrameFormat::lines());
    ttk_core::yield_!(framed.read_frame())?;
    let (stream, mut early) = framed.into_parts();
    // The rest comes from the stream itself, after the buffered bytes.
    let mut more = [0; 8];
    loop {
        let n = ttk_core::yield_!(stream.read(&mut more))?;
        if n == 0 {
            return Ok(early);
        }
        early.extend_from_slice(&more[..n]);
    }
}

#[test]
fn into_parts_hands_back_the_bytes_read_beyond_the_last_frame() {
    let addr = spawn_server(line_then_raw);
    let bytes = ttk_core::run(1, |_: Cx, _| parts_after_a_line(addr))
        .pop()
        .unwrap()
        .unwrap();
    assert_eq!(bytes, [1, 2, 3, 4, 5]);
}
