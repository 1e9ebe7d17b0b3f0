//! Bots dropped in the middle of an operation close their sockets: no descriptor leaks.
//! (A test binary of its own: it counts this process's descriptors.)

mod util;

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use ttk_core::Cx;
use ttk_macros::bot;
use ttk_net::TcpStream;

/// Descriptors open in this process.
fn open_descriptors() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .count()
}

/// Connects and starts a read that never completes; then gives up (timeout) and, for odd ids,
/// panics while still holding the connection.
#[bot(crate = ttk_core)]
fn abandon(_cx: Cx, id: usize, addr: SocketAddr) -> io::Result<()> {
    let stream = ttk_core::yield_!(TcpStream::connect(addr))?;
    let mut buf = [0; 16];
    let read = ttk_core::yield_!(ttk_core::timeout(
        Duration::from_millis(50),
        stream.read(&mut buf)
    ));
    assert!(read.is_err(), "the silent server answered");
    if id % 2 == 1 {
        panic!("bot {id} gives up holding its connection");
    }
    Ok(())
}

#[test]
fn panicking_and_timed_out_bots_leave_no_descriptor_open() {
    // The server holds one descriptor per connection until the client side closes.
    let addr = util::spawn_server(util::silent);
    let before = open_descriptors();
    let outcomes = ttk_core::try_run(40, |cx, id| abandon(cx, id, addr));
    assert_eq!(
        outcomes.iter().filter(|outcome| outcome.is_err()).count(),
        20
    );
    // The server's threads close their ends once they see EOF; give them a moment.
    let mut after = open_descriptors();
    for _ in 0..100 {
        if after <= before {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
        after = open_descriptors();
    }
    assert_eq!(after, before, "descriptors leaked");
}
