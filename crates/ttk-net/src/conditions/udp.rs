//! Network conditions on a UDP socket: datagrams sent go through the link from the bot (lost,
//! duplicated, held back until their delay is over — then sent by the loop on its own, whatever
//! the bot is doing); datagrams received go through the link to it (lost, duplicated, held
//! until due before the bot sees them).

use std::cell::{Cell, RefCell};
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::task::Poll;
use std::time::{Duration, Instant};

use ttk_core::io::{IoSource, TimeQueue};

use super::arrival;
use super::buffers::HeldBytes;
use super::link::{Fate, Link};
use super::outbox::{self, MOST_HELD, SendSide, send_one};
use super::profile::NetProfile;

/// The largest datagram read from the socket.
const MOST_DATAGRAM: usize = 65_536;

/// A datagram held on its way in, until due.
struct Arrived {
    /// Where it came from.
    from: SocketAddr,
    /// A copy of it.
    data: HeldBytes,
}

/// The conditions of one socket. What a datagram's way through them reads comes first, in one
/// cache line ([`Hot`]); the links and the held arrivals behind it are read only when a
/// datagram's fate needs a draw or something is held.
#[repr(C)]
pub(crate) struct Conditioned {
    hot: Hot,
    up: RefCell<Link>,
    down: RefCell<Link>,
    /// What came, by when it reaches the bot (as many as [`Hot::held_in`] says).
    incoming: RefCell<TimeQueue<Instant, Arrived>>,
    /// The peer the socket is connected to, until a drain has emptied it ([`Hot::peer`],
    /// [`Hot::connecting`]).
    connecting: Cell<Option<SocketAddr>>,
}

/// What each datagram sent or received through a [`Conditioned`] socket reads, in one cache
/// line: with a thousand sockets each one's state is cold when its datagram comes, and the
/// links, the held arrivals and the peer, spread over seven lines, cost a miss each (callgrind's
/// cache model counted 17 more misses per echo than plain in `udp_storm`).
#[repr(C, align(64))]
struct Hot {
    /// The delay of the link from the bot in ns, if it only delays ([`NOT_ONLY_DELAY`] if it
    /// does more): a datagram's fate then needs no draw, nor the link.
    up_only_ns: Cell<u64>,
    /// The same for the link to the bot.
    down_only_ns: Cell<u64>,
    /// Its side of the loop's queue of held sends.
    sending: Rc<SendSide>,
    /// How many datagrams [`Conditioned::incoming`] holds.
    held_in: Cell<u32>,
    /// Whether the link to the bot keeps datagrams in order.
    down_keeps_order: Cell<bool>,
    /// Whether the socket was connected and no drain has emptied it since
    /// ([`Conditioned::connecting`] holds its peer).
    connecting: Cell<bool>,
    /// The peer of a connected socket, once every datagram the socket holds comes from it:
    /// the kernel keeps what came before the connect (from anyone) until it is read, so the
    /// peer is taken as the sender only from the first drain that empties the socket after
    /// the connect ([`Conditioned::connected_to`]) on.
    peer: Cell<Option<SocketAddr>>,
}

/// [`Hot::up_only_ns`] of a link that does more than delay.
const NOT_ONLY_DELAY: u64 = u64::MAX;

impl Hot {
    /// `link`'s delay in ns if it only delays, else [`NOT_ONLY_DELAY`].
    fn only_ns(link: &Link) -> u64 {
        link.only_delay()
            .and_then(|delay| u64::try_from(delay.as_nanos()).ok())
            .filter(|&ns| ns != NOT_ONLY_DELAY)
            .unwrap_or(NOT_ONLY_DELAY)
    }
}

/// The fate of `len` bytes that enter `link` at `at`: known from `only_ns` (the link's
/// mirror in [`Hot`]) without touching the link when it only delays.
fn fate(only_ns: &Cell<u64>, link: &RefCell<Link>, at: Instant, len: usize) -> Fate {
    match only_ns.get() {
        NOT_ONLY_DELAY => link.borrow_mut().fate(at, len),
        only_ns => Fate::Delivered {
            first: at + Duration::from_nanos(only_ns),
            second: None,
        },
    }
}

thread_local! {
    /// Where datagrams are read to before they are held: one per thread, not per socket, so a
    /// thousand sockets read into one warm buffer (made at the first read).
    static SCRATCH: RefCell<Option<arrival::BatchBuffers>> = const { RefCell::new(None) };
}

impl std::fmt::Debug for Conditioned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conditioned")
            .field("held_out_until", &self.hot.sending.held_until())
            .field("held_in", &self.hot.held_in.get())
            .finish()
    }
}

impl Conditioned {
    /// `profile`'s conditions, its randomness from `seed`, for `socket`, connected to `peer`
    /// (if it is).
    pub(crate) fn new(
        profile: &NetProfile,
        seed: u64,
        peer: Option<SocketAddr>,
        socket: Rc<IoSource<mio::net::UdpSocket>>,
    ) -> Conditioned {
        let (up, down) = Conditioned::links(profile, seed);
        Conditioned {
            hot: Hot {
                up_only_ns: Cell::new(Hot::only_ns(&up)),
                down_only_ns: Cell::new(Hot::only_ns(&down)),
                sending: Rc::new(SendSide::new(socket)),
                held_in: Cell::new(0),
                down_keeps_order: Cell::new(down.keeps_order()),
                connecting: Cell::new(peer.is_some()),
                peer: Cell::new(None),
            },
            up: RefCell::new(up),
            down: RefCell::new(down),
            incoming: RefCell::default(),
            connecting: Cell::new(peer),
        }
    }

    /// `profile`'s links from the bot and to it, their randomness from `seed`.
    fn links(profile: &NetProfile, seed: u64) -> (Link, Link) {
        (
            Link::new(profile, true, seed),
            Link::new(profile, false, seed ^ 0x5DEE_CE66_D1CE_4E5B),
        )
    }

    /// The socket is now connected to `peer` (`None`: connected to none the kernel names,
    /// such as port 0): what it receives comes from there once what it held before has been
    /// read; until then each datagram's sender is asked of the kernel.
    pub(crate) fn connected_to(&self, peer: Option<SocketAddr>) {
        self.hot.peer.set(None);
        self.hot.connecting.set(peer.is_some());
        self.connecting.set(peer);
    }

    /// A drain emptied the socket: what comes next is from its peer, if it has one.
    fn emptied(&self) {
        if self.hot.connecting.replace(false)
            && let Some(peer) = self.connecting.take()
        {
            self.hot.peer.set(Some(peer));
        }
    }

    /// Takes `profile`'s links from now on, keeping what is held (it goes when it was due).
    pub(crate) fn set_profile(&self, profile: &NetProfile, seed: u64) {
        let (up, down) = Conditioned::links(profile, seed);
        self.hot.up_only_ns.set(Hot::only_ns(&up));
        self.hot.down_only_ns.set(Hot::only_ns(&down));
        self.hot.down_keeps_order.set(down.keeps_order());
        *self.up.borrow_mut() = up;
        *self.down.borrow_mut() = down;
    }

    /// Sends `buf` (to `peer`, or to the connected peer) through the link from the bot: what
    /// is due now goes at once, the rest is held for the loop to send when due.
    pub(crate) async fn send(
        &self,
        io: &IoSource<mio::net::UdpSocket>,
        buf: &[u8],
        peer: Option<SocketAddr>,
    ) -> io::Result<usize> {
        let now = ttk_core::now();
        for at in self.departures(now, buf.len()) {
            match at <= now {
                true => _ = io.write_with(|socket| send_one(socket, buf, peer)).await?,
                false => outbox::hold(&self.hot.sending, at, buf, peer),
            }
        }
        Ok(buf.len())
    }

    /// [`Conditioned::send`] without waiting: `WouldBlock` if the socket's buffer has no room
    /// for what is due now (which is then not sent, as a full queue drops it).
    pub(crate) fn try_send(
        &self,
        io: &IoSource<mio::net::UdpSocket>,
        buf: &[u8],
        peer: Option<SocketAddr>,
    ) -> io::Result<usize> {
        let now = ttk_core::now();
        for at in self.departures(now, buf.len()) {
            match at <= now {
                true => _ = send_one(io.get_ref(), buf, peer)?,
                false => outbox::hold(&self.hot.sending, at, buf, peer),
            }
        }
        Ok(buf.len())
    }

    /// When the last datagram held back on its way out leaves (`None`: none is held).
    pub(crate) fn held_until(&self) -> Option<Instant> {
        self.hot.sending.held_until()
    }

    /// When `len` bytes sent at `now` leave, through the link from the bot: none if lost,
    /// twice if duplicated.
    fn departures(&self, now: Instant, len: usize) -> impl Iterator<Item = Instant> {
        let fate = fate(&self.hot.up_only_ns, &self.up, now, len);
        let (first, second) = match fate {
            Fate::Lost => (None, None),
            Fate::Delivered { first, second } => (Some(first), second),
        };
        first.into_iter().chain(second)
    }

    /// The next datagram due by `now`, if one is, into `buf` (truncated to it): its length and
    /// sender.
    fn pop_due(&self, buf: &mut [u8], now: Instant) -> Option<(usize, SocketAddr)> {
        let (_, arrived) = self.incoming.borrow_mut().pop_due(now)?;
        self.hot.held_in.set(self.hot.held_in.get() - 1);
        let data = arrived.data.as_slice();
        let n = data.len().min(buf.len());
        buf[..n].copy_from_slice(&data[..n]);
        Some((n, arrived.from))
    }

    /// When the earliest held datagram is due, if one is held: the held ones themselves are
    /// looked at only then.
    fn earliest_held(&self) -> Option<Instant> {
        match self.hot.held_in.get() {
            0 => None,
            _ => self.incoming.borrow().next_at(),
        }
    }

    /// Whether the held datagrams leave no room for another batch from the kernel.
    fn full(&self) -> bool {
        self.hot.held_in.get() as usize + 2 * arrival::BATCH > MOST_HELD
    }

    /// Receives the next datagram due through the link to the bot into `buf` (truncated to
    /// it, as UDP does): its length and sender. One receiver at a time: datagrams one receive
    /// takes in do not wake another receive of the same socket parked meanwhile.
    pub(crate) async fn recv(
        &self,
        io: &IoSource<mio::net::UdpSocket>,
        buf: &mut [u8],
    ) -> io::Result<(usize, SocketAddr)> {
        // A time known to have passed (the clock a drain read, a held datagram's time once its
        // timer fired): the next look for a due datagram spares a clock read.
        let mut passed = None;
        loop {
            // The clock is read only when something is held or comes in (to stamp it): a bot
            // waiting on an empty link reads it no more than a plain receive does.
            let earliest = self.earliest_held();
            let known: Option<Instant> = passed.take();
            if earliest.is_some()
                && let Some(received) = self.pop_due(buf, known.unwrap_or_else(ttk_core::now))
            {
                return Ok(received);
            }
            if let Some(at) = earliest
                && self.full()
            {
                // No room for more: the kernel keeps them until the earliest held is due.
                ttk_core::sleep_until(at).await;
                passed = Some(at);
                continue;
            }
            // Drains the socket into the held datagrams; a drain that took something in ends
            // the wait, so the next is timed from what is held now. One that found the socket
            // empty says so: the next wait is for the selector's event, with no call first.
            let drained = match earliest {
                // Nothing held: a datagram already due as it is read goes straight to `buf`.
                None => {
                    let due_into = &mut *buf;
                    io.read_with(|socket| self.drain(socket, Some(&mut *due_into)))
                        .await?
                }
                Some(at) => {
                    let drain = |socket: &mio::net::UdpSocket| self.drain(socket, None);
                    match until(at, io.read_with(drain)).await {
                        Some(drained) => drained?,
                        None => Drained::timed_out(at),
                    }
                }
            };
            passed = drained.read_at;
            if drained.emptied {
                io.clear_read_ready();
            }
            if let Some(received) = drained.handed {
                return Ok(received);
            }
        }
    }

    /// [`Conditioned::recv`] without waiting: `WouldBlock` if no datagram is due (then
    /// [`Conditioned::readable`] waits for one).
    pub(crate) fn try_recv(
        &self,
        io: &IoSource<mio::net::UdpSocket>,
        buf: &mut [u8],
    ) -> io::Result<(usize, SocketAddr)> {
        let held = self.hot.held_in.get() > 0;
        if held && let Some(received) = self.pop_due(buf, ttk_core::now()) {
            return Ok(received);
        }
        if !self.full() {
            // Nothing held: a datagram already due as it is read goes straight to `buf`.
            let due_into = (!held).then_some(&mut *buf);
            match self.drain(io.get_ref(), due_into) {
                Ok(drained) => {
                    if drained.emptied {
                        // The kernel had no more: the next wait is for the selector's event.
                        io.clear_read_ready();
                    }
                    if let Some(received) = drained.handed {
                        return Ok(received);
                    }
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => io.clear_read_ready(),
                Err(error) => return Err(error),
            }
        }
        self.pop_due(buf, ttk_core::now())
            .ok_or_else(|| io::ErrorKind::WouldBlock.into())
    }

    /// After [`Conditioned::try_recv`] said `WouldBlock`: waits until a datagram may be due —
    /// the earliest held one's time, or the socket's next datagram.
    pub(crate) async fn readable(&self, io: &IoSource<mio::net::UdpSocket>) {
        let earliest = self.earliest_held();
        match earliest {
            None => io.readable().await,
            Some(at) => _ = until(at, io.readable()).await,
        }
    }

    /// Reads every datagram the socket has (up to [`MOST_HELD`] held), each through the link
    /// to the bot; `WouldBlock` if it had nothing (its next datagram then wakes the bot). With
    /// `due_into`, given only while nothing is held, the first datagram that is due as soon as
    /// it is read goes into it instead of being held, if the link keeps datagrams in order (so
    /// none held after it can be due before it): under load a bot reads its datagrams later
    /// than their delay, and each would be copied in, queued, taken out and copied again for
    /// nothing.
    fn drain(
        &self,
        socket: &mio::net::UdpSocket,
        due_into: Option<&mut [u8]>,
    ) -> io::Result<Drained> {
        SCRATCH.with(|scratch| {
            let mut scratch = scratch.borrow_mut();
            let buffers = scratch.get_or_insert_with(|| arrival::BatchBuffers::new(MOST_DATAGRAM));
            self.drain_into(socket, buffers, due_into)
        })
    }

    /// [`Conditioned::drain`], through `buffers`.
    fn drain_into(
        &self,
        socket: &mio::net::UdpSocket,
        buffers: &mut arrival::BatchBuffers,
        mut due_into: Option<&mut [u8]>,
    ) -> io::Result<Drained> {
        debug_assert!(
            due_into.is_none() || self.hot.held_in.get() == 0,
            "a datagram goes straight to the bot only while none is held"
        );
        if !self.hot.down_keeps_order.get() {
            due_into = None;
        }
        let mut drained = Drained {
            emptied: false,
            read_at: None,
            handed: None,
        };
        loop {
            if self.full() {
                // No room for a batch (each datagram perhaps twice): what is left stays in the
                // kernel (the socket is not empty), rather than be taken and dropped.
                return Ok(drained);
            }
            let (taken, now) = match arrival::recv_batch(socket, buffers, self.hot.peer.get()) {
                Ok(batch) => batch,
                Err(error)
                    if error.kind() == io::ErrorKind::WouldBlock && drained.read_at.is_some() =>
                {
                    drained.emptied = true;
                    self.emptied();
                    return Ok(drained);
                }
                Err(error) => return Err(error),
            };
            drained.read_at = Some(now);
            for k in 0..taken {
                let Some((data, received)) = buffers.datagram(k) else {
                    continue;
                };
                // Its delay runs from when it came, however late the bot reads.
                let fate = fate(
                    &self.hot.down_only_ns,
                    &self.down,
                    received.arrived,
                    received.len,
                );
                let Fate::Delivered { first, second } = fate else {
                    continue;
                };
                let mut times = std::iter::once(first).chain(second).peekable();
                if first <= now
                    && let Some(buf) = due_into.take()
                {
                    let n = data.len().min(buf.len());
                    buf[..n].copy_from_slice(&data[..n]);
                    drained.handed = Some((n, received.from));
                    times.next();
                }
                if times.peek().is_some() {
                    self.hold_arrival(times, data, received.from);
                }
                // Once one is held, none after it goes straight to the bot.
                if self.hot.held_in.get() > 0 {
                    due_into = None;
                }
            }
            if taken < arrival::BATCH {
                // The kernel had no more: no call to find it empty.
                drained.emptied = true;
                self.emptied();
                return Ok(drained);
            }
            if drained.handed.is_some() {
                // The bot has a datagram: it goes on with it now. A read after this one could
                // fail (an ICMP error on a connected socket), and the datagram handed would be
                // lost with the error; the rest waits in the kernel for the next receive.
                return Ok(drained);
            }
        }
    }
}

impl Conditioned {
    /// Holds a copy of `data`, from `from`, for each of `times` (up to [`MOST_HELD`] held).
    /// Out of line: under load a bot reads its datagrams late, already due, and this code
    /// would only crowd the instruction cache around the hot path.
    #[inline(never)]
    fn hold_arrival(&self, times: impl Iterator<Item = Instant>, data: &[u8], from: SocketAddr) {
        let mut incoming = self.incoming.borrow_mut();
        for at in times {
            if incoming.len() >= MOST_HELD {
                break;
            }
            let data = HeldBytes::copy_of(data);
            incoming.push(at, Arrived { from, data });
        }
        self.hot.held_in.set(incoming.len() as u32);
    }
}

/// What a drain of the socket came to.
struct Drained {
    /// Whether it found the socket empty (the next wait is for the selector's event).
    emptied: bool,
    /// The loop's clock as the last read that took something saw it (none: nothing taken).
    read_at: Option<Instant>,
    /// The datagram it put straight into the bot's buffer: its length and sender.
    handed: Option<(usize, SocketAddr)>,
}

impl Drained {
    /// A wait for the socket that the earliest held datagram's time, `at`, ended.
    fn timed_out(at: Instant) -> Drained {
        Drained {
            emptied: false,
            read_at: Some(at),
            handed: None,
        }
    }
}

/// `op`'s output if it comes before `at`, else `None` (at `at`): a [`ttk_core::timeout`] on a
/// deadline, which spares reading the clock to turn it into a limit. Once `at` has come, `op` is
/// not tried again: what it waits for stays where it is (the kernel's buffer) for the next
/// receive, and the timer's wake costs no attempt. Under jitter or reordering, a datagram that
/// came in the same tick and is due before the held one is then delivered after it, a tick
/// late at most.
async fn until<F: Future>(at: Instant, op: F) -> Option<F::Output> {
    let mut op = std::pin::pin!(op);
    let mut timer = std::pin::pin!(ttk_core::sleep_until(at));
    std::future::poll_fn(|context| {
        if timer.as_mut().poll(context).is_ready() {
            return Poll::Ready(None);
        }
        op.as_mut().poll(context).map(Some)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use ttk_core::Cx;
    use ttk_macros::bot;

    /// Through `profile` (a delay of 20 ms), three datagrams come and are due before the drain
    /// reads them: what the drain handed to the bot (the first byte) and how many it held.
    #[bot(crate = ttk_core)]
    fn drain_late(_cx: Cx, _id: usize, profile: &'static str) -> (Option<u8>, usize) {
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        socket.set_nonblocking(true).unwrap();
        let to = socket.local_addr().unwrap();
        arrival::stamp_arrivals(&socket);
        let io = Rc::new(IoSource::new(mio::net::UdpSocket::from_std(socket)).unwrap());
        let conditioned = Conditioned::new(&profile.parse().unwrap(), 7, None, Rc::clone(&io));
        // Linux turns its receive stamps on a moment after a socket first asks for them.
        ttk_core::yield_!(ttk_core::sleep(Duration::from_millis(30)));
        let pusher = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        for k in 0..3u8 {
            pusher.send_to(&[k], to).unwrap();
        }
        ttk_core::yield_!(ttk_core::sleep(Duration::from_millis(60)));
        let mut buf = [0xFF; 4];
        let drained = conditioned.drain(io.get_ref(), Some(&mut buf)).unwrap();
        assert!(drained.emptied, "three datagrams, one batch");
        let handed = drained.handed.map(|(n, from)| {
            assert_eq!((n, from), (1, pusher.local_addr().unwrap()));
            buf[0]
        });
        (handed, conditioned.incoming.borrow().len())
    }

    #[test]
    fn a_datagram_due_as_it_is_read_goes_straight_to_the_bot_on_a_link_that_keeps_order() {
        let run = |profile| ttk_core::run(1, move |cx, id| drain_late(cx, id, profile))[0];
        assert_eq!(
            run("delay=20ms"),
            (Some(0), 2),
            "the first handed, the others held"
        );
        assert_eq!(
            run("delay=20ms duplicate=100%"),
            (Some(0), 5),
            "its copy held, due with it"
        );
        // Under jitter a datagram held after it could be due before it: all are held.
        assert_eq!(run("delay=20ms±1ms"), (None, 3));
    }
}
