//! Datagrams held back on their way out, for every conditioned UDP socket of a loop, in one
//! queue in time order, sent by one timed action of the loop for the earliest.
//!
//! Each socket scheduling its own action per datagram cost an allocation and two heap
//! operations per datagram, and touched the socket's own queue from the loop: more than a
//! plain send costs. Here a held datagram joins the end of a queue (a link's fixed delay makes
//! each due after the one before; see [`TimeQueue`]), and the loop's action sends all that are
//! due, whichever socket they are from, then asks for the next time. The queue is the loop's
//! ([`ttk_core::io::loop_local`]). A held datagram keeps its socket open until it has left:
//! one sent is on its way, though its bot closed the socket (a player's last `LEAVE`). When the
//! run ends, what is still held is sent at once ([`ttk_core::io::at_run_end`]).
//!
//! A held datagram points only at its socket's [`SendSide`], which keeps the socket itself: a
//! pass reads each datagram's side and socket, gone cold in the delay, once each, and counts
//! no reference to the socket up and down per datagram. A short datagram's bytes travel in the
//! queue's entry ([`HeldBytes`]).
//!
//! Per socket, a [`SendSide`] keeps what the socket needs to know: how many of its datagrams
//! are held (a full queue drops what comes, as netem's `limit`), when its last leaves
//! ([`UdpSocket::held_until`](crate::UdpSocket::held_until)), and, while its buffer refuses
//! sends, which datagram was refused: every other of the socket's datagrams that comes due
//! meanwhile waits behind it, so they leave in the order they were sent.

use std::cell::{Cell, RefCell};
use std::io;
use std::net::SocketAddr;
use std::rc::{Rc, Weak};
use std::time::{Duration, Instant};

use ttk_core::io::{IoSource, TimeQueue};

use super::buffers::HeldBytes;

/// The most datagrams one socket holds each way, as netem's queue (`limit 1000`): past it,
/// they are lost.
pub(crate) const MOST_HELD: usize = 1_000;
/// How long a send the socket refused (its buffer full) first waits before it is tried again;
/// the wait doubles while it is refused, up to [`MOST_RETRY`].
const RETRY: Duration = Duration::from_millis(1);
/// The longest wait before a refused send is tried again.
const MOST_RETRY: Duration = Duration::from_millis(100);

/// One socket's side of the queue.
#[derive(Debug)]
pub(crate) struct SendSide {
    /// Its datagrams in the queue.
    held: Cell<usize>,
    /// When the latest of them leaves (while any is held).
    latest: Cell<Option<Instant>>,
    /// While its buffer refuses sends: the refused datagram's number ([`Parcel::number`]) and
    /// when it is tried again; it leaves first.
    refused: Cell<Option<(u64, Instant)>>,
    /// How long the next refused send waits.
    retry: Cell<Duration>,
    /// The queue its datagrams went to last: found again without a lookup while its run lasts
    /// (the queue goes with the run, and then this no longer upgrades).
    outbox: RefCell<Weak<Outbox>>,
    /// Its socket, kept open while a datagram held points at this side (one sent is on its
    /// way, though its bot closed the socket).
    socket: Rc<IoSource<mio::net::UdpSocket>>,
}

impl SendSide {
    /// The side of `socket`, which holds nothing yet.
    pub(crate) fn new(socket: Rc<IoSource<mio::net::UdpSocket>>) -> SendSide {
        SendSide {
            held: Cell::new(0),
            latest: Cell::new(None),
            refused: Cell::new(None),
            retry: Cell::new(Duration::ZERO),
            outbox: RefCell::new(Weak::new()),
            socket,
        }
    }

    /// When the last of this socket's held datagrams leaves (`None`: none is held).
    pub(crate) fn held_until(&self) -> Option<Instant> {
        (self.held.get() > 0).then(|| self.latest.get()).flatten()
    }

    /// One of its datagrams waits again, until `until`.
    fn delayed_to(&self, until: Instant) {
        let latest = self.latest.get().map_or(until, |latest| latest.max(until));
        self.latest.set(Some(latest));
    }

    /// The running loop's queue, kept for the next datagram held (`None`: no loop runs).
    /// Once per socket and run (cold: kept out of the path of every held datagram).
    #[cold]
    fn find_outbox(&self) -> Option<Rc<Outbox>> {
        let outbox = ttk_core::io::loop_local::<Outbox>()?;
        *self.outbox.borrow_mut() = Rc::downgrade(&outbox);
        Some(outbox)
    }

    /// Its buffer refused datagram `number` at `now`: when that one is tried again (the wait
    /// doubling while refusals go on). Cold: a full buffer is rare, and this stays out of the
    /// pass's loop.
    #[cold]
    fn refused_at(&self, number: u64, now: Instant) -> Instant {
        let wait = self.retry.get().max(RETRY);
        self.retry.set((wait * 2).min(MOST_RETRY));
        let until = now + wait;
        self.refused.set(Some((number, until)));
        self.delayed_to(until);
        until
    }

    /// Datagram `number` left: if it was the refused one, the others go on.
    fn forget_refused(&self, number: u64) {
        if self
            .refused
            .get()
            .is_some_and(|(refused, _)| refused == number)
        {
            self.refused.set(None);
        }
    }

    /// One of its datagrams left the queue (sent, or lost with its run).
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
    /// Its number among the loop's held datagrams: tells the refused one from the others.
    number: u64,
    /// Its socket's side of the queue, which keeps the socket open until the datagram has
    /// left ([`SendSide::socket`]).
    side: Rc<SendSide>,
    /// Where it goes (a send on a connected socket has none).
    peer: Option<SocketAddr>,
    /// A copy of what was sent.
    data: HeldBytes,
}

impl Parcel {
    /// Sends it through `send` on its socket.
    fn send_through(
        &self,
        send: &mut impl FnMut(&mio::net::UdpSocket, &[u8], Option<SocketAddr>) -> io::Result<usize>,
    ) -> io::Result<usize> {
        send(self.side.socket.get_ref(), self.data.as_slice(), self.peer)
    }
}

impl Drop for Parcel {
    /// However it leaves — sent, refused for good, or lost with its run — its
    /// socket counts it gone.
    fn drop(&mut self) {
        self.side.forget_refused(self.number);
        self.side.left();
    }
}

/// The loop's held datagrams ([`ttk_core::io::loop_local`]).
#[derive(Default)]
pub(crate) struct Outbox {
    inner: RefCell<OutboxInner>,
}

#[derive(Default)]
struct OutboxInner {
    /// By the time each is due.
    parcels: TimeQueue<Instant, Parcel>,
    /// The number of the next datagram held.
    next_number: u64,
    /// The time of the pass asked of the loop, if one is pending: a pass that finds another
    /// time here was overtaken by an earlier one, and does nothing.
    scheduled: Option<Instant>,
    /// Whether the run's end is to send what is still held ([`Outbox::flush`]).
    flush_asked: bool,
}

impl OutboxInner {
    /// Asks the run's end to send what `outbox` still holds then. Once per run (cold: kept
    /// out of the path of every held datagram).
    #[cold]
    fn ask_flush(&mut self, outbox: &Rc<Outbox>) {
        self.flush_asked = true;
        let outbox = Rc::downgrade(outbox);
        ttk_core::io::at_run_end(move || {
            if let Some(outbox) = outbox.upgrade() {
                outbox.flush(send_one);
            }
        });
    }

    /// Asks `outbox`'s loop for a pass at `at` unless one as early is pending.
    fn schedule(&mut self, outbox: &Rc<Outbox>, at: Instant) {
        if self.scheduled.is_none_or(|scheduled| at < scheduled) {
            self.scheduled = Some(at);
            let outbox = Rc::downgrade(outbox);
            ttk_core::io::run_at(at, move || {
                if let Some(outbox) = outbox.upgrade() {
                    outbox.pass(at, send_one);
                }
            });
        }
    }
}

/// Holds a copy of `data` for the loop to send through `side`'s socket at `at` (dropped if
/// `side` holds all it may).
pub(crate) fn hold(side: &Rc<SendSide>, at: Instant, data: &[u8], peer: Option<SocketAddr>) {
    let cached = side.outbox.borrow().upgrade();
    let Some(outbox) = cached.or_else(|| side.find_outbox()) else {
        // No loop runs: nothing would send it, as no loop would have sent it plain.
        return;
    };
    if side.held.get() >= MOST_HELD {
        // A full queue drops what comes, as a router's does.
        return;
    }
    side.held.set(side.held.get() + 1);
    side.delayed_to(at);
    let mut inner = outbox.inner.borrow_mut();
    let number = inner.next_number;
    inner.next_number += 1;
    inner.parcels.push(
        at,
        Parcel {
            number,
            side: Rc::clone(side),
            peer,
            data: HeldBytes::copy_of(data),
        },
    );
    inner.schedule(&outbox, at);
    if !inner.flush_asked {
        inner.ask_flush(&outbox);
    }
}

impl Outbox {
    /// The loop's pass at `at`: sends what is due through `send` (if this pass is still the one
    /// asked for), then asks for the next.
    fn pass(
        self: &Rc<Self>,
        at: Instant,
        mut send: impl FnMut(&mio::net::UdpSocket, &[u8], Option<SocketAddr>) -> io::Result<usize>,
    ) {
        let mut inner = self.inner.borrow_mut();
        if inner.scheduled != Some(at) {
            // Overtaken by an earlier pass.
            return;
        }
        inner.scheduled = None;
        let now = ttk_core::now();
        while let Some((due, parcel)) = inner.parcels.pop_due(now) {
            let side = &parcel.side;
            if let Some((refused, retry_at)) = side.refused.get()
                && refused != parcel.number
            {
                // Behind its socket's refused datagram: waits until that one has left. Pushed
                // again at that one's time (or its own, if later), it comes after it.
                let until = retry_at.max(due);
                side.delayed_to(until);
                inner.parcels.push(until, parcel);
                continue;
            }
            match parcel.send_through(&mut send) {
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                    // The socket's buffer is full: this one stays first, and is tried again.
                    let until = side.refused_at(parcel.number, now);
                    inner.parcels.push(until, parcel);
                }
                // Sent, or refused for good (as the kernel drops a datagram it cannot route):
                // dropped, it counts itself gone from its socket.
                _ => side.retry.set(RETRY),
            }
        }
        if let Some(next) = inner.parcels.next_at() {
            inner.schedule(self, next);
        }
    }
}

impl Outbox {
    /// At the run's end: sends at once, in order, what is still held (a QUIC connection's
    /// close, a player's last datagram), rather than lose it with the run. Once each: what the
    /// socket's buffer refuses then is lost, as at a socket's close. A socket's datagrams
    /// behind one its buffer refused earlier go after that one, as in a pass.
    fn flush(
        &self,
        mut send: impl FnMut(&mio::net::UdpSocket, &[u8], Option<SocketAddr>) -> io::Result<usize>,
    ) {
        let mut inner = self.inner.borrow_mut();
        // Another datagram held after this (by a later last word) asks for another flush.
        inner.flush_asked = false;
        let mut behind = Vec::new();
        let mut send_parcel = |parcel: &Parcel| {
            let _ = parcel.send_through(&mut send);
        };
        while let Some((_, parcel)) = inner.parcels.pop_next() {
            match parcel.side.refused.get() {
                // Its socket's refused one is due later: this one waits for it.
                Some((refused, _)) if refused != parcel.number => behind.push(parcel),
                // Sent, it clears its socket's refusal as it drops.
                _ => send_parcel(&parcel),
            }
        }
        for parcel in &behind {
            send_parcel(parcel);
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use ttk_core::Cx;
    use ttk_macros::bot;

    /// A UDP socket of the running loop, and an address to send to.
    fn socket() -> (Rc<IoSource<mio::net::UdpSocket>>, SocketAddr) {
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        socket.set_nonblocking(true).unwrap();
        let to = socket.local_addr().unwrap();
        let socket = IoSource::new(mio::net::UdpSocket::from_std(socket)).unwrap();
        (Rc::new(socket), to)
    }

    /// Holds `count` datagrams numbered from 0, 100 µs apart from now on, on a socket of the
    /// running loop: the socket, its side of the queue and the first one's time.
    fn hold_numbered(count: u8) -> (Rc<IoSource<mio::net::UdpSocket>>, Rc<SendSide>, Instant) {
        let (socket, to) = socket();
        let side = Rc::new(SendSide::new(Rc::clone(&socket)));
        let base = ttk_core::now();
        for k in 0..count {
            let at = base + Duration::from_micros(100 * u64::from(k));
            hold(&side, at, &[k], Some(to));
        }
        (socket, side, base)
    }

    /// A send that refuses its first `refusals` (a full buffer) and keeps the number of each
    /// datagram it sends.
    struct Sender {
        refusals: usize,
        sent: Vec<u8>,
    }

    impl Sender {
        fn refusing(refusals: usize) -> Sender {
            Sender {
                refusals,
                sent: Vec::new(),
            }
        }

        fn send(
            &mut self,
            _: &mio::net::UdpSocket,
            data: &[u8],
            _: Option<SocketAddr>,
        ) -> io::Result<usize> {
            if self.refusals > 0 {
                self.refusals -= 1;
                return Err(io::ErrorKind::WouldBlock.into());
            }
            self.sent.push(data[0]);
            Ok(data.len())
        }
    }

    /// The loop's pass asked for, run now (rather than by the loop) through `send`.
    fn pass_now(
        send: impl FnMut(&mio::net::UdpSocket, &[u8], Option<SocketAddr>) -> io::Result<usize>,
    ) {
        let outbox = ttk_core::io::loop_local::<Outbox>().unwrap();
        let at = outbox
            .inner
            .borrow()
            .scheduled
            .expect("a pass is asked for");
        outbox.pass(at, send);
    }

    /// Holds ten numbered datagrams 100 µs apart; a pass 300 µs in has the first refused by a
    /// full buffer; the next pass comes late, after the refused one's retry time and after
    /// every datagram's own. Returns the order they left in, and what `held_until` said in
    /// between and after.
    #[bot(crate = ttk_core)]
    fn refused_then_late(_cx: Cx, _id: usize) -> (Vec<u8>, Option<Duration>, Option<Instant>) {
        let (_socket, side, base) = hold_numbered(10);
        let mut sender = Sender::refusing(1);
        std::thread::sleep(Duration::from_micros(300));
        pass_now(|socket, data, peer| sender.send(socket, data, peer));
        // The refused one waits a millisecond; what came due meanwhile waits behind it.
        let waiting = side.held_until().map(|until| until - base);
        std::thread::sleep(Duration::from_millis(5));
        pass_now(|socket, data, peer| sender.send(socket, data, peer));
        (sender.sent, waiting, side.held_until())
    }

    #[test]
    fn a_socket_s_datagrams_leave_in_order_behind_one_its_buffer_refused() {
        let (sent, waiting, after) = ttk_core::run(1, refused_then_late).remove(0);
        assert_eq!(sent, (0..10).collect::<Vec<u8>>());
        // Held until at least the refused one's retry, a millisecond after the first pass.
        assert!(
            waiting.is_some_and(|until| until >= Duration::from_micros(1_300)),
            "{waiting:?}"
        );
        assert_eq!(after, None, "nothing left held");
    }

    /// What became of three datagrams held on a socket dropped before they were due.
    #[derive(Debug, PartialEq)]
    struct AfterDrop {
        /// Whether the socket was still open once dropped, its datagrams held.
        open_while_held: bool,
        /// How many the pass sent.
        sent: usize,
        /// What the side says is held after the pass.
        held_until: Option<Instant>,
        /// How many the queue still holds.
        left: usize,
        /// Whether the socket was closed once the side went too.
        closed_after: bool,
    }

    /// Holds three datagrams, then drops the socket before they are due; a pass sends them.
    #[bot(crate = ttk_core)]
    fn dropped_socket(_cx: Cx, _id: usize) -> AfterDrop {
        let (socket, to) = socket();
        let side = Rc::new(SendSide::new(Rc::clone(&socket)));
        let at = ttk_core::now();
        for k in 0..3u8 {
            hold(&side, at, &[k], Some(to));
        }
        let watch = Rc::downgrade(&socket);
        drop(socket);
        let open_while_held = watch.upgrade().is_some();
        let mut sent = 0;
        pass_now(|_, _, _| {
            sent += 1;
            Ok(1)
        });
        let outbox = ttk_core::io::loop_local::<Outbox>().unwrap();
        let left = outbox.inner.borrow().parcels.len();
        let held_until = side.held_until();
        drop(side);
        AfterDrop {
            open_while_held,
            sent,
            held_until,
            left,
            closed_after: watch.upgrade().is_none(),
        }
    }

    #[test]
    fn a_dropped_socket_s_held_datagrams_still_leave_and_then_it_closes() {
        assert_eq!(
            ttk_core::run(1, dropped_socket),
            [AfterDrop {
                open_while_held: true,
                sent: 3,
                held_until: None,
                left: 0,
                closed_after: true,
            }]
        );
    }

    /// Holds a datagram an hour away and ends (its socket with it): the run's end sends it.
    /// Returns how many its side held, and the side.
    #[bot(crate = ttk_core)]
    fn held_at_the_end(_cx: Cx, _id: usize) -> (usize, Rc<SendSide>) {
        let (socket, to) = socket();
        let side = Rc::new(SendSide::new(socket));
        hold(
            &side,
            ttk_core::now() + Duration::from_secs(3_600),
            b"late",
            Some(to),
        );
        (side.held.get(), side)
    }

    /// Holds a datagram an hour away on a socket it hands back (whose address the test checks).
    #[bot(crate = ttk_core)]
    fn last_word(_cx: Cx, _id: usize, to: SocketAddr) -> Rc<IoSource<mio::net::UdpSocket>> {
        let (socket, _) = socket();
        let side = Rc::new(SendSide::new(Rc::clone(&socket)));
        let later = ttk_core::now() + Duration::from_secs(3_600);
        hold(&side, later, b"bye", Some(to));
        socket
    }

    #[test]
    fn what_an_open_socket_still_holds_at_the_run_s_end_is_sent_then() {
        let receiver = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        receiver
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let to = receiver.local_addr().unwrap();
        let sockets = ttk_core::run(1, move |cx, id| last_word(cx, id, to));
        let mut buf = [0; 16];
        let (n, from) = receiver.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"bye");
        assert_eq!(from, sockets[0].get_ref().local_addr().unwrap());
    }

    /// How many datagrams the loop holds.
    #[bot(crate = ttk_core)]
    fn held_now(_cx: Cx, _id: usize) -> usize {
        ttk_core::io::loop_local::<Outbox>()
            .unwrap()
            .inner
            .borrow()
            .parcels
            .len()
    }

    /// What a run held leaves at its end (its socket kept for it), and the run's queue goes
    /// with the run: the next starts with none.
    #[test]
    fn a_run_s_queue_is_emptied_at_its_end_and_goes_with_it() {
        let (held, side) = ttk_core::run(1, held_at_the_end).remove(0);
        assert_eq!(held, 1);
        assert_eq!(side.held_until(), None, "its socket counts it gone");
        assert!(
            side.outbox.borrow().upgrade().is_none(),
            "the run's queue went with it"
        );
        assert_eq!(
            ttk_core::run(1, held_now),
            [0],
            "the next run starts afresh"
        );
    }

    /// Holds six numbered datagrams 100 µs apart; a pass 300 µs in has the first refused; then
    /// the run's end sends what is held, at once. Returns the order they left in.
    #[bot(crate = ttk_core)]
    fn refused_then_flushed(_cx: Cx, _id: usize) -> Vec<u8> {
        let (_socket, _side, _) = hold_numbered(6);
        let mut sender = Sender::refusing(1);
        std::thread::sleep(Duration::from_micros(300));
        pass_now(|socket, data, peer| sender.send(socket, data, peer));
        // Those not yet due kept their own times, before the refused one's retry.
        let outbox = ttk_core::io::loop_local::<Outbox>().unwrap();
        outbox.flush(|socket, data, peer| sender.send(socket, data, peer));
        sender.sent
    }

    #[test]
    fn the_run_s_end_sends_a_socket_s_datagrams_in_order_behind_a_refused_one() {
        assert_eq!(
            ttk_core::run(1, refused_then_flushed).remove(0),
            (0..6).collect::<Vec<u8>>()
        );
    }
}
