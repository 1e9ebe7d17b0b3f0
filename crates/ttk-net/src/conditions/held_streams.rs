//! The streams of a loop that still hold bytes to write through a link. When the run ends, what
//! they hold is written at once, in order, as the kernel still sends what a closed socket had
//! buffered, rather than lost with the run: a request, or a protocol's last word (`QUIT`), that
//! a bot wrote before the run ended reaches the server, as it would without conditions.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use super::tcp::{Outgoing, Socket, write_all_now};

/// The loop's streams holding bytes to write.
#[derive(Default)]
pub(super) struct HeldStreams {
    /// Each holds its place here in its [`Outgoing::slot`]: a stream comes and goes in O(1).
    streams: RefCell<Vec<Held>>,
    /// Whether the run's end is asked to write what is held (once per run, per loop).
    flush_asked: Cell<bool>,
}

/// A stream holding bytes: its socket (kept open until they are written) and its queue.
struct Held {
    socket: Rc<Socket>,
    outgoing: Rc<RefCell<Outgoing>>,
}

impl HeldStreams {
    /// Counts `outgoing` (borrowed as `queue`) among the loop's streams holding bytes, until
    /// [`HeldStreams::remove`]. Outside a loop, does nothing: no loop would write them either.
    pub(super) fn add(socket: &Rc<Socket>, outgoing: &Rc<RefCell<Outgoing>>, queue: &mut Outgoing) {
        let Some(held) = ttk_core::io::loop_local::<HeldStreams>() else {
            return;
        };
        let mut streams = held.streams.borrow_mut();
        queue.slot = Some(streams.len());
        streams.push(Held {
            socket: Rc::clone(socket),
            outgoing: Rc::clone(outgoing),
        });
        drop(streams);
        if !held.flush_asked.replace(true) {
            let held = Rc::downgrade(&held);
            ttk_core::io::at_run_end(move || {
                if let Some(held) = held.upgrade() {
                    held.flush();
                }
            });
        }
    }

    /// Takes `queue` (whose stream holds nothing more) out of the loop's streams holding bytes.
    pub(super) fn remove(queue: &mut Outgoing) {
        let Some(slot) = queue.slot.take() else {
            return;
        };
        let Some(held) = ttk_core::io::loop_local::<HeldStreams>() else {
            return;
        };
        let mut streams = held.streams.borrow_mut();
        if slot >= streams.len() {
            return;
        }
        drop(streams.swap_remove(slot));
        // The last one took the place left. No other stream's queue is borrowed while one
        // writes (`queue`, borrowed already, is not it).
        if let Some(moved) = streams.get(slot) {
            let moved = moved.outgoing.try_borrow_mut();
            debug_assert!(moved.is_ok(), "a stream's queue borrowed as another's left");
            if let Ok(mut moved) = moved {
                moved.slot = Some(slot);
            }
        }
    }

    /// At the run's end: writes everything each stream holds, at once, in order, then shuts
    /// its writing side if its bot asked to. Once each: what a socket's full buffer refuses
    /// then is lost, as at a socket's close.
    fn flush(&self) {
        let streams = std::mem::take(&mut *self.streams.borrow_mut());
        // Another write held after this (by a later last word) asks for another flush.
        self.flush_asked.set(false);
        for Held { socket, outgoing } in streams {
            write_all_now(socket.get_ref(), &mut outgoing.borrow_mut());
        }
    }

    /// How many streams hold bytes now.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.streams.borrow().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read as _;
    use std::net::SocketAddr;
    use std::time::Duration;
    use ttk_core::Cx;
    use ttk_macros::bot;

    /// Streams held (and their places as each has them) now.
    fn places() -> Vec<Option<usize>> {
        let held = ttk_core::io::loop_local::<HeldStreams>().unwrap();
        let streams = held.streams.borrow();
        streams
            .iter()
            .map(|held| held.outgoing.borrow().slot)
            .collect()
    }

    /// Opens `count` streams to `server`; the even ones through a millisecond's delay, the odd
    /// ones through an hour's; writes its number on each, and drops them. Returns the places
    /// held at once, then after the even ones went.
    #[bot(crate = ttk_core)]
    fn many(_cx: Cx, _id: usize, server: SocketAddr, count: u8) -> (usize, Vec<Option<usize>>) {
        for k in 0..count {
            let mut stream = ttk_core::yield_!(crate::TcpStream::connect(server)).unwrap();
            let delay = if k % 2 == 0 {
                "delay=1ms"
            } else {
                "delay=3600s"
            };
            stream.set_conditions(&delay.parse().unwrap());
            ttk_core::yield_!(stream.write_all(&[k])).unwrap();
        }
        let at_once = places().len();
        ttk_core::yield_!(ttk_core::sleep(Duration::from_millis(50)));
        (at_once, places())
    }

    /// How many streams hold bytes.
    #[bot(crate = ttk_core)]
    fn held_now(_cx: Cx, _id: usize) -> usize {
        ttk_core::io::loop_local::<HeldStreams>().unwrap().len()
    }

    #[test]
    fn streams_come_and_go_in_any_order_and_the_run_s_end_writes_the_rest() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let server = listener.local_addr().unwrap();
        let count = 100;
        let (at_once, left) = ttk_core::run(1, move |cx, id| many(cx, id, server, count)).remove(0);
        assert_eq!(at_once, usize::from(count));
        // The odd ones are left, each knowing its place.
        assert_eq!(left.len(), usize::from(count / 2));
        for (place, slot) in left.iter().enumerate() {
            assert_eq!(*slot, Some(place));
        }
        let mut heard = Vec::new();
        for _ in 0..count {
            let (mut accepted, _) = listener.accept().unwrap();
            accepted
                .set_read_timeout(Some(Duration::from_secs(1)))
                .unwrap();
            let mut bytes = Vec::new();
            accepted.read_to_end(&mut bytes).unwrap();
            heard.extend(bytes);
        }
        heard.sort_unstable();
        assert_eq!(heard, (0..count).collect::<Vec<u8>>(), "each stream's byte");
        assert_eq!(
            ttk_core::run(1, held_now),
            [0],
            "the next run starts afresh"
        );
    }
}
