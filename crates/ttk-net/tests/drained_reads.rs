//! A read that drains the socket leaves the next read waiting for the selector's event (no
//! `WouldBlock` syscall first): the bytes that come later must still wake it, and so must a
//! close that came with the last bytes, whichever order the loop saw them in.

mod util;

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream as StdStream};
use std::thread;
use std::time::Duration;

use ttk_macros::bot;
use ttk_net::TcpStream;
use util::spawn_server;

/// Answers the request with `reply` and closes at once: the reply and the FIN arrive together.
fn reply_and_close(mut stream: StdStream) {
    let mut request = [0; 5];
    if stream.read_exact(&mut request).is_ok() {
        let _ = stream.write_all(b"reply");
    }
}

/// Answers the request in three pieces, 20 ms apart, then closes.
fn reply_in_pieces(mut stream: StdStream) {
    let mut request = [0; 5];
    if stream.read_exact(&mut request).is_ok() {
        for piece in [&b"one "[..], b"two ", b"three"] {
            let _ = stream.write_all(piece);
            thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Sends a request, waits `pause` (so that the loop may take the server's events before the
/// read, or not), then reads to the end with a buffer far larger than each reply; the bytes
/// read, and how many reads returned data.
#[bot(crate = ttk_core)]
fn read_to_end(addr: SocketAddr, pause: Duration) -> io::Result<(Vec<u8>, usize)> {
    let stream = ttk_core::yield_!(TcpStream::connect(addr))?;
    ttk_core::yield_!(stream.write_all(b"hello"))?;
    if !pause.is_zero() {
        ttk_core::yield_!(ttk_core::sleep(pause));
    }
    let mut received = Vec::new();
    let mut reads = 0;
    let mut buf = [0; 4096];
    loop {
        let read = ttk_core::timeout(Duration::from_secs(5), stream.read(&mut buf));
        match ttk_core::yield_!(read)?? {
            0 => return Ok((received, reads)),
            n => {
                received.extend_from_slice(&buf[..n]);
                reads += 1;
            }
        }
    }
}

fn run(addr: SocketAddr, pause: Duration) -> (Vec<u8>, usize) {
    ttk_core::run(1, move |_cx: ttk_core::Cx, _id| read_to_end(addr, pause))
        .pop()
        .unwrap()
        .expect("the end is read, not waited for (a 5 s timeout would say so)")
}

#[test]
fn a_reply_that_comes_with_the_close_is_read_to_the_end() {
    let addr = spawn_server(reply_and_close);
    for pause in [Duration::ZERO, Duration::from_millis(50)] {
        for _ in 0..20 {
            assert_eq!(run(addr, pause).0, b"reply", "pause {pause:?}");
        }
    }
}

#[test]
fn bytes_that_come_after_a_drained_read_wake_the_next_read() {
    let addr = spawn_server(reply_in_pieces);
    let (received, reads) = run(addr, Duration::ZERO);
    assert_eq!(received, b"one two three");
    assert_eq!(reads, 3, "each piece came on its own and woke its own read");
}
