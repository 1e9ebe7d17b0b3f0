//! Network conditions on a TCP stream: bytes written go through the link from the bot — held
//! until due, then written by the loop on its own, in order, paced by the cap; bytes read go
//! through the link to the bot — taken from the socket and held until due. A lost segment
//! arrives a retransmission timeout late, as TCP resends it; duplicates and reordering do not
//! show on a stream.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::{self, Write as _};
use std::net::Shutdown;
use std::rc::Rc;
use std::time::{Duration, Instant};

use ttk_core::io::IoSource;

use super::arrival;
use super::held_streams::HeldStreams;
use super::link::Link;
use super::profile::NetProfile;

/// Bytes read from the socket at once.
const READ_CHUNK: usize = 65_536;
/// Bytes that cross a link as one: a write or a read is cut in segments of at most this, each
/// timed on its own, so that the first bytes of a large body arrive before the last.
const SEGMENT: usize = 16_384;
/// The most bytes held on either side: past it, writes wait and reads leave the rest in the
/// kernel (whose window then slows the peer, as a slow link's would).
const MOST_HELD: usize = 1 << 20;
/// How long a write the socket refused (its buffer full) first waits before it is tried again;
/// the wait doubles while it is refused, up to [`MOST_RETRY`].
const RETRY: Duration = Duration::from_millis(1);
/// The longest wait before a refused write is tried again.
const MOST_RETRY: Duration = Duration::from_millis(100);

thread_local! {
    /// Where bytes are read to before they are held: one per thread, not per stream.
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Bytes held back, and when they go on.
struct Chunk {
    at: Instant,
    data: Vec<u8>,
    /// How much of `data` has gone already.
    done: usize,
}

/// What is written but not yet sent.
#[derive(Default)]
pub(super) struct Outgoing {
    chunks: VecDeque<Chunk>,
    held: usize,
    /// Its place among the loop's streams that hold bytes (see [`HeldStreams`]), while it
    /// holds some.
    pub(super) slot: Option<usize>,
    /// The time of the write asked of the loop, if one is pending: an action that finds another
    /// time here was overtaken by an earlier one, and does nothing.
    scheduled: Option<Instant>,
    /// How long the next refused write waits (see [`RETRY`]).
    retry: Duration,
    /// Why a write the loop made failed: the bot's next operation says so.
    failed: Option<io::ErrorKind>,
    /// Shut the writing side once everything is sent.
    shutdown: bool,
}

/// What is read but not yet due.
#[derive(Default)]
struct Incoming {
    chunks: VecDeque<Chunk>,
    held: usize,
    /// When the peer's close reaches the bot, once read.
    end_at: Option<Instant>,
    /// A read error, for the bot once what came before is delivered.
    failed: Option<io::Error>,
}

/// The conditions of one stream.
pub(crate) struct ConditionedStream {
    up: RefCell<Link>,
    down: RefCell<Link>,
    outgoing: Rc<RefCell<Outgoing>>,
    incoming: RefCell<Incoming>,
}

impl std::fmt::Debug for ConditionedStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConditionedStream")
            .field("held_out", &self.outgoing.borrow().held)
            .field("held_in", &self.incoming.borrow().held)
            .finish()
    }
}

pub(super) type Socket = IoSource<mio::net::TcpStream>;

impl ConditionedStream {
    /// `profile`'s conditions, its randomness from `seed`.
    pub(crate) fn new(profile: &NetProfile, seed: u64) -> ConditionedStream {
        ConditionedStream {
            up: RefCell::new(Link::new(profile, true, seed)),
            down: RefCell::new(Link::new(profile, false, seed ^ 0x5DEE_CE66_D1CE_4E5B)),
            outgoing: Rc::default(),
            incoming: RefCell::default(),
        }
    }

    /// Bytes written and held here, not yet handed to the kernel.
    pub(crate) fn held_out(&self) -> usize {
        self.outgoing.borrow().held
    }

    /// One round trip of the links (a connect's handshake): the delay out and back, jittered,
    /// a retransmission timeout more for a lost SYN.
    pub(crate) fn round_trip(&self) -> Duration {
        let now = ttk_core::now();
        let out = self.up.borrow_mut().stream_arrival(now, 0);
        let back = self.down.borrow_mut().stream_arrival(out, 0);
        back.saturating_duration_since(now)
    }

    /// Takes `profile`'s links from now on, keeping what is held (it goes when it was due, and
    /// what comes after never before it).
    pub(crate) fn set_profile(&self, profile: &NetProfile, seed: u64) {
        let mut up = Link::new(profile, true, seed);
        let mut down = Link::new(profile, false, seed ^ 0x5DEE_CE66_D1CE_4E5B);
        up.keep_after(&self.up.borrow());
        down.keep_after(&self.down.borrow());
        *self.up.borrow_mut() = up;
        *self.down.borrow_mut() = down;
    }

    /// Takes `buf` to send when it is due; waits while too much is held already.
    pub(crate) async fn write(&self, io: &Rc<Socket>, buf: &[u8]) -> io::Result<usize> {
        loop {
            let wait = {
                let outgoing = self.outgoing.borrow();
                if let Some(kind) = outgoing.failed {
                    return Err(kind.into());
                }
                if outgoing.held < MOST_HELD || buf.is_empty() {
                    None
                } else {
                    Some(outgoing.chunks.front().map_or(RETRY, |chunk| {
                        chunk
                            .at
                            .saturating_duration_since(ttk_core::now())
                            .max(RETRY)
                    }))
                }
            };
            match wait {
                Some(wait) => ttk_core::sleep(wait).await,
                None => break,
            }
        }
        if buf.is_empty() {
            return Ok(0);
        }
        let now = ttk_core::now();
        let mut outgoing = self.outgoing.borrow_mut();
        // At most what the queue has room for; the rest is the caller's next write.
        let taken = buf
            .len()
            .min(MOST_HELD.saturating_sub(outgoing.held).max(1));
        let mut earliest = None;
        for segment in buf[..taken].chunks(SEGMENT) {
            let at = self.up.borrow_mut().stream_arrival(now, segment.len());
            earliest.get_or_insert(at);
            outgoing.held += segment.len();
            outgoing.chunks.push_back(Chunk {
                at,
                data: segment.to_vec(),
                done: 0,
            });
        }
        let at = earliest.expect("a write of at least a byte");
        if outgoing.slot.is_none() {
            HeldStreams::add(io, &self.outgoing, &mut outgoing);
        }
        if outgoing.scheduled.is_none_or(|scheduled| at < scheduled) {
            outgoing.scheduled = Some(at);
            drop(outgoing);
            schedule(at, Rc::clone(io), Rc::clone(&self.outgoing));
        }
        Ok(taken)
    }

    /// Shuts `how` once what is held is sent (the reading side at once).
    pub(crate) fn shutdown(&self, io: &Socket, how: Shutdown) -> io::Result<()> {
        if how == Shutdown::Read {
            return io.get_ref().shutdown(how);
        }
        let mut outgoing = self.outgoing.borrow_mut();
        if outgoing.chunks.is_empty() {
            return io.get_ref().shutdown(how);
        }
        outgoing.shutdown = true;
        if how == Shutdown::Both {
            return io.get_ref().shutdown(Shutdown::Read);
        }
        Ok(())
    }

    /// Reads what is due into `buf`, waiting until something is; `Ok(0)` once the peer's
    /// close is due.
    pub(crate) async fn read(&self, io: &Socket, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let now = ttk_core::now();
            let earliest = {
                let mut incoming = self.incoming.borrow_mut();
                if let Some(chunk) = incoming.chunks.front_mut().filter(|chunk| chunk.at <= now) {
                    let n = (chunk.data.len() - chunk.done).min(buf.len());
                    buf[..n].copy_from_slice(&chunk.data[chunk.done..chunk.done + n]);
                    chunk.done += n;
                    if chunk.done == chunk.data.len() {
                        incoming.chunks.pop_front();
                    }
                    incoming.held -= n;
                    return Ok(n);
                }
                if incoming.chunks.is_empty() && incoming.end_at.is_some_and(|end| end <= now) {
                    // A reset, like a close, after what came before it and its delay.
                    if let Some(error) = incoming.failed.take() {
                        return Err(error);
                    }
                    return Ok(0);
                }
                match incoming.chunks.front() {
                    Some(chunk) => Some(chunk.at),
                    None => incoming.end_at,
                }
            };
            let ended = self.incoming.borrow().end_at.is_some();
            let full = self.incoming.borrow().held >= MOST_HELD;
            match earliest {
                // Nothing more comes from the socket, or no room for it: wait for what is held.
                Some(at) if ended || full => {
                    ttk_core::sleep(at.saturating_duration_since(now)).await;
                }
                None => io.read_with(|stream| self.drain(stream)).await?,
                Some(at) => {
                    let wait = at.saturating_duration_since(now);
                    let drain = io.read_with(|stream| self.drain(stream));
                    if let Ok(drained) = ttk_core::timeout(wait, drain).await {
                        drained?;
                    }
                }
            }
        }
    }

    /// Whether a read might find something: bytes or a close held for the bot (due or not), or
    /// the socket's own readiness.
    pub(crate) fn read_ready(&self, io: &Socket) -> bool {
        let incoming = self.incoming.borrow();
        !incoming.chunks.is_empty()
            || incoming.end_at.is_some()
            || incoming.failed.is_some()
            || io.read_ready()
    }

    /// Takes what the socket has (up to [`MOST_HELD`]) through the link to the bot;
    /// `WouldBlock` if it had nothing.
    fn drain(&self, stream: &mio::net::TcpStream) -> io::Result<()> {
        SCRATCH.with(|scratch| self.drain_into(stream, &mut scratch.borrow_mut()))
    }

    /// [`ConditionedStream::drain`], through `scratch`.
    fn drain_into(&self, stream: &mio::net::TcpStream, scratch: &mut Vec<u8>) -> io::Result<()> {
        if scratch.is_empty() {
            scratch.resize(READ_CHUNK, 0);
        }
        let mut took = false;
        loop {
            let mut incoming = self.incoming.borrow_mut();
            if incoming.held >= MOST_HELD || incoming.end_at.is_some() {
                return Ok(());
            }
            match arrival::read_stamped(stream, scratch) {
                Ok((0, _)) => {
                    let now = ttk_core::now();
                    let end = self.down.borrow_mut().stream_arrival(now, 0);
                    incoming.end_at = Some(end);
                    return Ok(());
                }
                Ok((n, arrived)) => {
                    took = true;
                    incoming.held += n;
                    // Its delay runs from when it came (its latest segment), however late the
                    // bot reads.
                    for segment in scratch[..n].chunks(SEGMENT) {
                        let at = self
                            .down
                            .borrow_mut()
                            .stream_arrival(arrived, segment.len());
                        incoming.chunks.push_back(Chunk {
                            at,
                            data: segment.to_vec(),
                            done: 0,
                        });
                    }
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                    return match took {
                        true => Ok(()),
                        false => Err(error),
                    };
                }
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => {
                    // After what came before it, as the peer's close would be.
                    incoming.failed = Some(error);
                    let now = ttk_core::now();
                    incoming.end_at = Some(self.down.borrow_mut().stream_arrival(now, 0));
                    return Ok(());
                }
            }
        }
    }
}

/// Asks the loop to write what is due of `outgoing` at `at`; the loop holds the socket until
/// everything is written (a dropped stream's bytes still go, as the kernel's would; what is
/// still held when the run ends is written then, see [`HeldStreams`]).
fn schedule(at: Instant, io: Rc<Socket>, outgoing: Rc<RefCell<Outgoing>>) {
    ttk_core::io::run_at(at, move || write_due(at, io, outgoing));
}

/// Writes what is due, in order (if this action is still the one asked for, `at`); asks to be
/// called again for the rest.
fn write_due(at: Instant, io: Rc<Socket>, outgoing: Rc<RefCell<Outgoing>>) {
    let now = ttk_core::now();
    let mut queue = outgoing.borrow_mut();
    if queue.scheduled != Some(at) {
        // Overtaken: the action asked for instead carries on.
        return;
    }
    queue.scheduled = None;
    let next = match write_front(io.get_ref(), &mut queue, Some(now)) {
        Wrote::All | Wrote::Failed => None,
        Wrote::NotDue(next) => {
            // Not refused this time: the next refusal waits the least again.
            queue.retry = RETRY;
            Some(next)
        }
        Wrote::Refused => {
            // The socket's buffer is full (a peer that reads slowly): try again later, later
            // each time it stays full.
            let wait = queue.retry.max(RETRY);
            queue.retry = (wait * 2).min(MOST_RETRY);
            Some(now + wait)
        }
    };
    if queue.chunks.is_empty() {
        queue.retry = RETRY;
        HeldStreams::remove(&mut queue);
    }
    if let Some(next) = next {
        queue.scheduled = Some(next);
        drop(queue);
        schedule(next, io, outgoing);
    }
}

/// At the run's end: writes everything `queue` holds, at once (see [`HeldStreams`]); the
/// run's timed actions go with it, so none is pending any more.
pub(super) fn write_all_now(socket: &mio::net::TcpStream, queue: &mut Outgoing) {
    queue.slot = None;
    queue.scheduled = None;
    queue.retry = RETRY;
    let _ = write_front(socket, queue, None);
}

/// What [`write_front`] came to.
pub(super) enum Wrote {
    /// Everything held is written (and the writing side shut, if asked).
    All,
    /// What was due is written; the next chunk is due then.
    NotDue(Instant),
    /// The socket's buffer is full.
    Refused,
    /// The socket failed: the queue is emptied, the bot's next operation says why.
    Failed,
}

/// Writes `queue`'s chunks due by `now` (all of them if `None`), in order, to `socket`; once
/// none is left, shuts the writing side if the bot asked to.
pub(super) fn write_front(
    socket: &mio::net::TcpStream,
    queue: &mut Outgoing,
    now: Option<Instant>,
) -> Wrote {
    let failed = |queue: &mut Outgoing, kind: io::ErrorKind| {
        queue.failed = Some(kind);
        queue.chunks.clear();
        queue.held = 0;
        Wrote::Failed
    };
    while let Some(chunk) = queue.chunks.front_mut() {
        if let Some(now) = now
            && chunk.at > now
        {
            return Wrote::NotDue(chunk.at);
        }
        match (&*socket).write(&chunk.data[chunk.done..]) {
            Ok(0) => return failed(queue, io::ErrorKind::WriteZero),
            Ok(n) => {
                chunk.done += n;
                let finished = chunk.done == chunk.data.len();
                queue.held -= n;
                if finished {
                    queue.chunks.pop_front();
                }
            }
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => return Wrote::Refused,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return failed(queue, error.kind()),
        }
    }
    if queue.shutdown {
        queue.shutdown = false;
        let _ = socket.shutdown(Shutdown::Write);
    }
    Wrote::All
}
