//! Datagrams held back on their way out, for every conditioned UDP socket of a loop, in one
//! queue in time order, sent by one timed action of the loop for the earliest.
//!
//! Each socket scheduling its own action per datagram cost an allocation and two heap
//! operations per datagram, and touched the socket's own queue from the loop: more than a
//! plain send costs. Here a held datagram joins the end of a queue (a link's fixed delay makes
//! each due after the one before; those that are not go to a heap beside it), and the loop's
//! action sends all that are due, whichever socket they are from, then asks for the next time.
//!
//! Per socket, a [`SendSide`] keeps what the socket needs to know: how many of its datagrams
//! are held (a full queue drops what comes, as netem's `limit`), when its last leaves
//! ([`UdpSocket::held_until`](crate::UdpSocket::held_until)), and, while its buffer refuses
//! sends, until when it waits: its datagrams due meanwhile wait behind the refused one, in
//! order.

use std::cell::{Cell, RefCell};
use std::cmp::Ordering;
use std::collections::binary_heap::PeekMut;
use std::collections::{BinaryHeap, VecDeque};
use std::io;
use std::net::SocketAddr;
use std::rc::{Rc, Weak};
use std::time::{Duration, Instant};

use ttk_core::io::IoSource;

use super::buffers;

/// The most datagrams one socket holds on their way out, as netem's queue (`limit 1000`): past
/// it, they are lost.
const MOST_HELD: usize = 1_000;
/// How long a send the socket refused (its buffer full) first waits before it is tried again;
/// the wait doubles while it is refused, up to [`MOST_RETRY`].
const RETRY: Duration = Duration::from_millis(1);
/// The longest wait before a refused send is tried again.
const MOST_RETRY: Duration = Duration::from_millis(100);

/// One socket's side of the queue.
#[derive(Debug, Default)]
pub(crate) struct SendSide {
    /// Its datagrams in the queue.
    held: Cell<usize>,
    /// When the latest of them leaves (while any is held).
    latest: Cell<Option<Instant>>,
    /// While its buffer refuses sends: when the next try is.
    blocked_until: Cell<Option<Instant>>,
    /// How long the next refused send waits.
    retry: Cell<Duration>,
}

impl SendSide {
    /// When the last of this socket's held datagrams leaves (`None`: none is held).
    pub(crate) fn held_until(&self) -> Option<Instant> {
        (self.held.get() > 0).then(|| self.latest.get()).flatten()
    }

    /// One of its datagrams left the queue (sent, or lost with its socket).
    fn left(&self) {
        let held = self.held.get().saturating_sub(1);
        self.held.set(held);
        if held == 0 {
            self.latest.set(None);
        }
    }
}

/// A datagram held back.
struct Parcel {
    at: Instant,
    seq: u64,
    side: Rc<SendSide>,
    socket: Weak<IoSource<mio::net::UdpSocket>>,
    /// Where it goes (a send on a connected socket has none).
    peer: Option<SocketAddr>,
    data: Vec<u8>,
}

impl PartialEq for Parcel {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}

impl Eq for Parcel {}

impl PartialOrd for Parcel {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Parcel {
    /// Reversed: a heap's top is the earliest.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

/// The loop's held datagrams.
#[derive(Default)]
struct Outbox {
    /// The loop they are for: a later loop on this thread starts afresh (the earlier one's
    /// action ended with its run).
    loop_id: Option<u32>,
    /// In order of (time, sequence).
    in_order: VecDeque<Parcel>,
    /// Those that came earlier than the in-order queue's last.
    heap: BinaryHeap<Parcel>,
    next_seq: u64,
    /// The time of the action asked of the loop, if one is pending: an action that finds
    /// another time here was overtaken by an earlier one, and does nothing.
    scheduled: Option<Instant>,
}

thread_local! {
    static OUTBOX: RefCell<Outbox> = RefCell::default();
}

impl Outbox {
    fn push(&mut self, at: Instant, parcel: impl FnOnce(u64) -> Parcel) {
        let seq = self.next_seq;
        self.next_seq += 1;
        let parcel = parcel(seq);
        match self.in_order.back() {
            Some(last) if at < last.at => self.heap.push(parcel),
            _ => self.in_order.push_back(parcel),
        }
    }

    /// The earliest parcel's time.
    fn next_at(&self) -> Option<Instant> {
        match (self.in_order.front(), self.heap.peek()) {
            (Some(a), Some(b)) => Some(a.at.min(b.at)),
            (a, b) => a.or(b).map(|parcel| parcel.at),
        }
    }

    /// The earliest parcel if it is due by `now`.
    fn pop_due(&mut self, now: Instant) -> Option<Parcel> {
        let from_heap = match (self.in_order.front(), self.heap.peek()) {
            (Some(a), Some(b)) => (b.at, b.seq) < (a.at, a.seq),
            (None, Some(_)) => true,
            (_, None) => false,
        };
        match from_heap {
            true => self
                .heap
                .peek_mut()
                .filter(|parcel| parcel.at <= now)
                .map(PeekMut::pop),
            false => match self.in_order.front() {
                Some(parcel) if parcel.at <= now => self.in_order.pop_front(),
                _ => None,
            },
        }
    }

    /// Starts afresh if this is another loop than the one its parcels were for.
    fn for_this_loop(&mut self) {
        let current = ttk_core::io::loop_id();
        if self.loop_id != current {
            let left = std::mem::replace(
                self,
                Outbox {
                    loop_id: current,
                    ..Outbox::default()
                },
            );
            // Their loop's run is over: they are lost, as a closed socket's queue is.
            for parcel in left.in_order.into_iter().chain(left.heap) {
                parcel.side.left();
            }
        }
    }

    /// Asks the loop for a pass at `at` unless one as early is pending.
    fn schedule(&mut self, at: Instant) {
        if self.scheduled.is_none_or(|scheduled| at < scheduled) {
            self.scheduled = Some(at);
            ttk_core::io::run_at(at, move || OUTBOX.with(|outbox| send_due(outbox, at)));
        }
    }
}

/// Holds a copy of `data` for the loop to send through `socket` at `at` (dropped if `side`
/// holds all it may).
pub(crate) fn hold(
    side: &Rc<SendSide>,
    socket: &Rc<IoSource<mio::net::UdpSocket>>,
    at: Instant,
    data: &[u8],
    peer: Option<SocketAddr>,
) {
    if side.held.get() >= MOST_HELD {
        // A full queue drops what comes, as a router's does.
        return;
    }
    side.held.set(side.held.get() + 1);
    side.latest
        .set(Some(side.latest.get().map_or(at, |latest| latest.max(at))));
    OUTBOX.with(|outbox| {
        let mut outbox = outbox.borrow_mut();
        outbox.for_this_loop();
        outbox.push(at, |seq| Parcel {
            at,
            seq,
            side: Rc::clone(side),
            socket: Rc::downgrade(socket),
            peer,
            data: buffers::copy_of(data),
        });
        outbox.schedule(at);
    });
}

/// The loop's pass at `at`: sends what is due (if this pass is still the one asked for), then
/// asks for the next. A parcel whose socket was dropped meanwhile goes with it, as a closed
/// socket's queue does.
fn send_due(outbox: &RefCell<Outbox>, at: Instant) {
    let mut outbox = outbox.borrow_mut();
    if outbox.loop_id != ttk_core::io::loop_id() || outbox.scheduled != Some(at) {
        // Overtaken by an earlier pass, or left from another loop.
        return;
    }
    outbox.scheduled = None;
    let now = ttk_core::now();
    while let Some(parcel) = outbox.pop_due(now) {
        let blocked_until = parcel.side.blocked_until.get().filter(|until| *until > now);
        if let Some(until) = blocked_until {
            // Behind a refused one of its socket: waits with it, in order.
            outbox.push(until, |seq| Parcel {
                at: until,
                seq,
                ..parcel
            });
            continue;
        }
        let Some(socket) = parcel.socket.upgrade() else {
            parcel.side.left();
            buffers::give_back(parcel.data);
            continue;
        };
        match send_one(socket.get_ref(), &parcel.data, parcel.peer) {
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                // The socket's buffer is full: this one stays first, and is tried again.
                let side = &parcel.side;
                let wait = side.retry.get().max(RETRY);
                side.retry.set((wait * 2).min(MOST_RETRY));
                let until = now + wait;
                side.blocked_until.set(Some(until));
                outbox.push(until, |seq| Parcel {
                    at: until,
                    seq,
                    ..parcel
                });
            }
            // Sent, or refused for good (as the kernel drops a datagram it cannot route).
            _ => {
                let side = &parcel.side;
                side.retry.set(RETRY);
                side.blocked_until.set(None);
                side.left();
                buffers::give_back(parcel.data);
            }
        }
    }
    if let Some(next) = outbox.next_at() {
        outbox.schedule(next);
    }
}

/// Sends one datagram on a non-blocking socket.
pub(crate) fn send_one(
    socket: &mio::net::UdpSocket,
    data: &[u8],
    peer: Option<SocketAddr>,
) -> io::Result<usize> {
    match peer {
        Some(peer) => socket.send_to(data, peer),
        None => socket.send(data),
    }
}
