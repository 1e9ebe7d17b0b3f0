//! Each misbehaving server gives its bot a clear error while the other bots go on untouched.

mod util;

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream as StdStream};
use std::thread;
use std::time::Duration;

use ttk_macros::bot;
use ttk_net::{FrameFormat, Framed, TcpStream};
use util::{closed_port, run_beside_healthy_bots, silent, spawn_server};

#[bot(crate = ttk_core)]
fn connect_only(addr: SocketAddr) -> io::Result<()> {
    ttk_core::yield_!(TcpStream::connect(addr))?;
    Ok(())
}

#[test]
fn connection_refused() {
    let addr = closed_port();
    let error = run_beside_healthy_bots(|| connect_only(addr));
    assert_eq!(error.kind(), io::ErrorKind::ConnectionRefused);
}

/// Reads a request, answers part of it, then resets the connection (linger 0 → RST).
fn reset_mid_stream(mut stream: StdStream) {
    let mut request = [0; 5];
    if stream.read_exact(&mut request).is_ok() {
        let _ = stream.write_all(b"hel");
        thread::sleep(Duration::from_millis(50));
        let _ = socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO));
    }
}

#[bot(crate = ttk_core)]
fn request_response(addr: SocketAddr) -> io::Result<()> {
    let stream = ttk_core::yield_!(TcpStream::connect(addr))?;
    ttk_core::yield_!(stream.write_all(b"hello"))?;
    let mut response = [0; 5];
    ttk_core::yield_!(stream.read_exact(&mut response))?;
    Ok(())
}

#[test]
fn reset_in_the_middle_of_a_response() {
    let addr = spawn_server(reset_mid_stream);
    let error = run_beside_healthy_bots(|| request_response(addr));
    assert_eq!(error.kind(), io::ErrorKind::ConnectionReset, "{error}");
}

/// Says why it refuses, then closes with the client's first line unread (so it resets), as an
/// IRC server past its limit does.
fn refuses_with_a_reason(mut stream: StdStream) {
    let _ = stream.write_all(b"ERROR :Connection limit reached\r\n");
    thread::sleep(Duration::from_millis(100));
}

/// Registers line by line without reading, as a client that expects no answer before the
/// second line; the write that meets the close fails. Then reads what the server had said.
#[bot(crate = ttk_core)]
fn registers(addr: SocketAddr) -> io::Result<()> {
    let stream = ttk_core::yield_!(TcpStream::connect(addr))?;
    ttk_core::yield_!(ttk_core::sleep(Duration::from_millis(20)));
    ttk_core::yield_!(stream.write_all(b"NICK bot\r\n"))?;
    let mut failed = None;
    for _ in 0..50 {
        ttk_core::yield_!(ttk_core::sleep(Duration::from_millis(10)));
        if let Err(error) = ttk_core::yield_!(stream.write_all(b"USER bot 0 * :bot\r\n")) {
            failed = Some(error);
            break;
        }
    }
    let failed = failed.expect("a write met the close");
    let mut reason = [0; 33];
    ttk_core::yield_!(stream.read_exact(&mut reason)).expect("the reason is still there to read");
    assert_eq!(&reason, b"ERROR :Connection limit reached\r\n");
    Err(failed)
}

#[test]
fn a_write_into_a_refusal_names_the_reason_the_server_gave() {
    let addr = spawn_server(refuses_with_a_reason);
    let error = run_beside_healthy_bots(|| registers(addr));
    assert!(
        matches!(
            error.kind(),
            io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset
        ),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .ends_with("; the peer had sent `ERROR :Connection limit reached`, unread"),
        "{error}"
    );
}

#[bot(crate = ttk_core)]
fn impatient_request(addr: SocketAddr) -> io::Result<()> {
    let limit = Duration::from_millis(200);
    ttk_core::yield_!(ttk_core::timeout(limit, request_response(addr)))?
}

#[test]
fn a_server_that_never_answers_times_out_with_the_limit_named() {
    let addr = spawn_server(silent);
    let error = run_beside_healthy_bots(|| impatient_request(addr));
    assert_eq!(error.kind(), io::ErrorKind::TimedOut);
    assert_eq!(error.to_string(), "timed out after 200ms");
}

/// Sends `bytes` then closes.
fn sends_then_closes(stream: &mut StdStream, bytes: &[u8]) {
    let _ = stream.write_all(bytes);
    let _ = stream.shutdown(std::net::Shutdown::Write);
    thread::sleep(Duration::from_millis(100));
}

#[bot(crate = ttk_core)]
fn read_one_frame(addr: SocketAddr, format: FrameFormat) -> io::Result<()> {
    let stream = ttk_core::yield_!(TcpStream::connect(addr))?;
    let mut framed = Framed::new(stream, format);
    match ttk_core::yield_!(framed.read_frame())? {
        Some(_) => Ok(()),
        None => Err(io::Error::other("closed between frames")),
    }
}

#[test]
fn eof_in_the_middle_of_a_frame() {
    let addr = spawn_server(|mut s| sends_then_closes(&mut s, b"\x00\x00\x00\x0aabc"));
    let error = run_beside_healthy_bots(|| read_one_frame(addr, FrameFormat::u32_be()));
    assert_eq!(error.kind(), io::ErrorKind::UnexpectedEof);
    assert!(error.to_string().contains("middle of a frame"), "{error}");
}

#[test]
fn an_oversized_length_prefix_is_invalid_data_not_an_allocation() {
    let addr = spawn_server(|mut s| sends_then_closes(&mut s, b"\xff\xff\xff\xffgarbage"));
    let format = FrameFormat::u32_be().max_frame_len(64 * 1024);
    let error = run_beside_healthy_bots(|| read_one_frame(addr, format));
    assert_eq!(error.kind(), io::ErrorKind::InvalidData);
    assert!(
        error.to_string().contains("over the limit of 65536 bytes"),
        "{error}"
    );
}

#[test]
fn garbage_without_a_newline_is_invalid_data_once_over_the_limit() {
    let addr = spawn_server(|mut s| sends_then_closes(&mut s, &[0xAB; 4096]));
    let format = FrameFormat::lines().max_frame_len(100);
    let error = run_beside_healthy_bots(|| read_one_frame(addr, format));
    assert_eq!(error.kind(), io::ErrorKind::InvalidData);
}
