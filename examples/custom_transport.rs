//! A transport ttk-net does not have — a Unix socket pair — driven by bots through ttk-core's
//! public API alone. This example is built against `ttk-core` and `ttk-macros` only (it belongs
//! to the `ttk-core` package), which proves a user can write a transport without ttk's help.
//!
//! ```text
//! process 1: sent "ping 0"
//! process 0: answered "pong 0"
//! process 1: received "pong 0"
//! ...
//! ```

use std::cell::RefCell;
use std::io::{self, Read, Write};

use mio::net::UnixStream;
use ttk_core::Cx;
use ttk_core::io::IoSource;
use ttk_macros::bot;

/// How many pings the client sends.
const PINGS: usize = 3;

/// Reads one message (at most 64 bytes; a datagram-like use of the stream for brevity).
#[bot(crate = ttk_core)]
fn receive(end: &IoSource<UnixStream>) -> io::Result<String> {
    let mut buf = [0; 64];
    let n = ttk_core::yield_!(end.read_with(|mut stream| stream.read(&mut buf)))?;
    if n == 0 {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    Ok(String::from_utf8_lossy(&buf[..n]).into_owned())
}

/// Writes one message.
#[bot(crate = ttk_core)]
fn send(end: &IoSource<UnixStream>, message: &str) -> io::Result<()> {
    let n = ttk_core::yield_!(end.write_with(|mut stream| stream.write(message.as_bytes())))?;
    assert_eq!(n, message.len(), "a short message fits the socket buffer");
    Ok(())
}

/// Bot 0 answers pings on its end; bot 1 sends them on the other.
#[bot(crate = ttk_core)]
fn process(_cx: Cx, id: usize, end: UnixStream) -> io::Result<()> {
    let end = IoSource::new(end)?;
    for round in 0..PINGS {
        if id == 0 {
            let ping = ttk_core::yield_!(receive(&end))?;
            let pong = ping.replace("ping", "pong");
            ttk_core::yield_!(send(&end, &pong))?;
            println!("process 0: answered \"{pong}\"");
        } else {
            let ping = format!("ping {round}");
            ttk_core::yield_!(send(&end, &ping))?;
            println!("process 1: sent \"{ping}\"");
            let pong = ttk_core::yield_!(receive(&end))?;
            println!("process 1: received \"{pong}\"");
        }
    }
    Ok(())
}

fn main() -> io::Result<()> {
    let (server, client) = UnixStream::pair()?;
    let ends = RefCell::new([Some(server), Some(client)]);
    let take_end = |id: usize| ends.borrow_mut()[id].take().expect("one end per bot");
    for outcome in ttk_core::run(2, |cx, id| process(cx, id, take_end(id))) {
        outcome?;
    }
    Ok(())
}
