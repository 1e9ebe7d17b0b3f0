//! Shared by the facade's integration tests: a silent server on loopback, a poll counter, and a
//! count of this process's descriptors.

// Each test binary includes this module and uses only part of it.
#![allow(dead_code)]

use std::cell::Cell;
use std::future::Future;
use std::io::Read;
use std::net::{SocketAddr, TcpListener};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

/// Starts a server on `127.0.0.1:0` that accepts connections and never answers; each is held
/// (by a thread) until the client closes it. It lives until the test process exits.
pub(crate) fn silent_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut sink = Vec::new();
                let _ = stream.read_to_end(&mut sink);
            });
        }
    });
    addr
}

/// Serializes the tests of one binary that count descriptors (tests run on parallel threads
/// of one process, and each opens sockets).
pub(crate) fn counting_descriptors() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Descriptors open in this process.
pub(crate) fn open_descriptors() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .count()
}

/// Waits (up to two seconds) for the descriptors of this process to fall back to `before`:
/// server threads close their ends once they see EOF (and may accept a connection late, after
/// its client closed, so `before` itself may count one that is about to close: compare with
/// `<=`). Returns the last count.
pub(crate) fn descriptors_settle_to(before: usize) -> usize {
    let mut now = open_descriptors();
    for _ in 0..200 {
        if now <= before {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
        now = open_descriptors();
    }
    now
}

/// Asserts that this process's descriptors fall back to `before` (see
/// [`descriptors_settle_to`]): nothing the run opened is left open.
pub(crate) fn assert_no_descriptor_left(before: usize) {
    let after = descriptors_settle_to(before);
    assert!(
        after <= before,
        "descriptors leaked: {before} before, {after} after"
    );
}

/// A bot wrapped so that every poll of it is counted.
pub(crate) struct CountPolls<F> {
    /// The bot.
    pub(crate) bot: Pin<Box<F>>,
    /// Polls so far.
    pub(crate) polls: Rc<Cell<u64>>,
}

impl<F: Future> Future for CountPolls<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.polls.set(self.polls.get() + 1);
        self.bot.as_mut().poll(cx)
    }
}
