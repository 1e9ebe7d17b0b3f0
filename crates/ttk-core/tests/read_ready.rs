//! `IoSource::read_ready` asked from inside a bot's poll after the loop slept: it polls the
//! selector there, and an event for a source this very bot is parked on wakes it (as a yield),
//! rather than being lost.

use std::future::{Future, poll_fn};
use std::io::{self, Read, Write};
use std::pin::pin;
use std::time::Duration;

use ttk_core::Cx;
use ttk_core::io::IoSource;
use ttk_macros::bot;

/// Parks a read on `a` and, in the same poll, asks whether `b` is readable, after a sleep in
/// which `a`'s peer wrote: what the read got.
#[bot(crate = ttk_core)]
fn parked_then_looked(_cx: Cx, _id: usize) -> io::Result<Vec<u8>> {
    let (a, mut a_peer) = mio::net::UnixStream::pair()?;
    let (b, _b_peer) = mio::net::UnixStream::pair()?;
    let (a, b) = (IoSource::new(a)?, IoSource::new(b)?);
    // Both known empty: a read parks without a syscall, a look at `b` polls the selector.
    a.clear_read_ready();
    b.clear_read_ready();
    let writer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(5));
        a_peer.write_all(b"late").unwrap();
        a_peer
    });
    // No bot waits on I/O meanwhile: the loop sleeps rather than polls.
    ttk_core::yield_!(ttk_core::sleep(Duration::from_millis(50)));
    let mut buf = [0; 8];
    let n = {
        let mut read = pin!(a.read_with(|mut s| s.read(&mut buf)));
        ttk_core::yield_!(poll_fn(|cx| {
            let polled = read.as_mut().poll(cx);
            // Takes in `a`'s event, which wakes this bot while it is being polled.
            let _ = b.read_ready();
            polled
        }))?
    };
    drop(writer.join());
    Ok(buf[..n].to_vec())
}

#[test]
fn an_event_taken_in_by_a_look_from_inside_a_bot_wakes_that_bot() {
    assert_eq!(
        ttk_core::run(1, parked_then_looked)[0].as_ref().unwrap(),
        b"late"
    );
}
