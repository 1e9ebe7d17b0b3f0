//! A canned h2c server for the documentation's examples: one response, written as fixed
//! HTTP/2 frames by a plain thread. Not a server to test against (the tests use nginx).

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener};

/// The frames of the answer to the first request (stream 1): the server's SETTINGS, then
/// HEADERS (`:status: 200`, `content-type: text/plain`), then DATA `hello` ending the stream.
const ANSWER: &[u8] = &[
    0, 0, 0, 4, 0, 0, 0, 0, 0, // SETTINGS, empty
    0, 0, 14, 1, 4, 0, 0, 0, 1,    // HEADERS, END_HEADERS, stream 1
    0x88, // :status 200 (static table entry 8)
    0x0f, 0x10, 10, b't', b'e', b'x', b't', b'/', b'p', b'l', b'a', b'i',
    b'n', // content-type
    0, 0, 5, 0, 1, 0, 0, 0, 1, // DATA, END_STREAM, stream 1
    b'h', b'e', b'l', b'l', b'o',
];

/// Starts the canned server on loopback: it accepts one connection, waits for the client's
/// first HEADERS frame, answers it with "hello", then reads until the client closes.
///
/// # Errors
/// Binding a loopback port.
#[doc(hidden)]
pub fn hello_h2c_server() -> io::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    std::thread::spawn(move || -> io::Result<()> {
        let (mut stream, _) = listener.accept()?;
        let mut preface = [0; 24];
        stream.read_exact(&mut preface)?;
        loop {
            let mut header = [0; 9];
            stream.read_exact(&mut header)?;
            let len =
                usize::from(header[0]) << 16 | usize::from(header[1]) << 8 | usize::from(header[2]);
            io::copy(&mut (&mut stream).take(len as u64), &mut io::sink())?;
            if header[3] == 1 {
                break;
            }
        }
        stream.write_all(ANSWER)?;
        io::copy(&mut stream, &mut io::sink())?;
        Ok(())
    });
    Ok(addr)
}
