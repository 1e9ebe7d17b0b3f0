//! Actions the loop runs at a time of its clock, with no bot to wake: how a transport does
//! something later on its own (a datagram held back to emulate a slow network goes out when
//! its delay is over, whatever its bot is doing then).

use std::cell::RefCell;
use std::cmp::Ordering;
use std::collections::binary_heap::PeekMut;
use std::collections::{BinaryHeap, VecDeque};
use std::rc::Rc;
use std::time::Instant;

use crate::context::with_loop;
use crate::feature::{Feature, Stage};
use crate::loop_state::LoopState;
use crate::timers::Nanos;

/// One action and its time.
struct Entry {
    /// On the loop's clock.
    at: Nanos,
    /// Order among actions of one time: first asked, first run.
    seq: u64,
    action: Box<dyn FnOnce()>,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}

impl Eq for Entry {}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Entry {
    /// Reversed: the heap's top is the earliest.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

/// A loop's pending actions.
#[derive(Default)]
struct Deferred {
    inner: RefCell<DeferredInner>,
}

#[derive(Default)]
struct DeferredInner {
    queue: Queue,
    next_seq: u64,
    /// The due actions of a pass, kept between passes so that a pass allocates nothing.
    due: Vec<Entry>,
}

impl Deferred {
    /// The loop's actions (registered at the first use).
    fn of(state: &LoopState) -> Rc<Deferred> {
        state
            .features()
            .get_or_insert(Stage::Streams, Deferred::default)
    }
}

impl Deferred {
    /// Asks for `action` at `at`.
    fn push(&self, at: Nanos, action: Box<dyn FnOnce()>) {
        let mut inner = self.inner.borrow_mut();
        let seq = inner.next_seq;
        inner.next_seq += 1;
        inner.queue.push(Entry { at, seq, action });
    }
}

/// Actions in time order. Most come in it already (a link's fixed delay makes each held
/// datagram due after the one before): those join a queue's end and leave its front, O(1)
/// each, where a heap of a thousand would sift ten levels both ways; the others go to a heap.
#[derive(Default)]
struct Queue {
    /// In order of (time, sequence), each no earlier than the one before.
    in_order: VecDeque<Entry>,
    /// Those that came earlier than the in-order queue's last.
    heap: BinaryHeap<Entry>,
}

impl Queue {
    fn push(&mut self, entry: Entry) {
        // Sequences grow, so a time no earlier than the last's is a later (time, sequence).
        match self.in_order.back() {
            Some(last) if entry.at < last.at => self.heap.push(entry),
            _ => self.in_order.push_back(entry),
        }
    }

    /// The earliest action's time.
    fn next_at(&self) -> Option<Nanos> {
        match (self.in_order.front(), self.heap.peek()) {
            (Some(a), Some(b)) => Some(a.at.min(b.at)),
            (a, b) => a.or(b).map(|entry| entry.at),
        }
    }

    /// The earliest action if it is due by `now`.
    fn pop_due(&mut self, now: Nanos) -> Option<Entry> {
        let from_heap = match (self.in_order.front(), self.heap.peek()) {
            (Some(a), Some(b)) => (b.at, b.seq) < (a.at, a.seq),
            (None, Some(_)) => true,
            (_, None) => false,
        };
        match from_heap {
            true => self
                .heap
                .peek_mut()
                .filter(|entry| entry.at <= now)
                .map(PeekMut::pop),
            false => match self.in_order.front() {
                Some(entry) if entry.at <= now => self.in_order.pop_front(),
                _ => None,
            },
        }
    }

    fn len(&self) -> usize {
        self.in_order.len() + self.heap.len()
    }
}

impl Feature for Deferred {
    fn time_passed(&self, state: &LoopState, now: Nanos) {
        let mut due = {
            let mut inner = self.inner.borrow_mut();
            let mut due = std::mem::take(&mut inner.due);
            while let Some(entry) = inner.queue.pop_due(now) {
                due.push(entry);
            }
            due
        };
        // Outside the borrow: an action may ask for another. One that panics is said and
        // dropped; the run and the other actions go on.
        for entry in due.drain(..) {
            let action = entry.action;
            if let Err(panic) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(action)) {
                let message = panic
                    .downcast_ref::<&str>()
                    .map(|text| (*text).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                eprintln!("warning: a timed action (ttk_core::io::run_at) panicked: {message}");
            }
        }
        let mut inner = self.inner.borrow_mut();
        if inner.due.capacity() < due.capacity() {
            inner.due = due;
        }
        if let Some(next) = inner.queue.next_at() {
            state.wake_features_at(next);
        }
    }

    fn release(&self) {
        let dropped = std::mem::take(&mut self.inner.borrow_mut().queue);
        drop(dropped);
    }
}

/// Whether this thread runs a ttk loop now (inside a bot, a timed action or a hook): what a
/// `Drop` that would ask something of the loop checks first, for a value dropped after its
/// run ended.
///
/// # Examples
/// ```
/// # use ttk_macros::bot;
/// # use ttk_core::Cx;
/// #[bot(crate = ttk_core)]
/// fn inside(_cx: Cx, _id: usize) -> bool {
///     ttk_core::io::in_loop()
/// }
///
/// assert!(ttk_core::run(1, inside)[0]);
/// assert!(!ttk_core::io::in_loop());
/// ```
pub fn in_loop() -> bool {
    crate::context::try_with_loop(|_| ()).is_some()
}

/// The running loop's id, unique in the process (`None` outside a loop): state a transport
/// keeps per thread, for the loop it runs on, tells that loop from a later one on the same
/// thread by it (the clock and the timed actions of a loop end with its run).
///
/// # Examples
/// ```
/// # use ttk_macros::bot;
/// # use ttk_core::Cx;
/// #[bot(crate = ttk_core)]
/// fn which(_cx: Cx, _id: usize) -> Option<u32> {
///     ttk_core::io::loop_id()
/// }
///
/// let (first, second) = (ttk_core::run(1, which)[0], ttk_core::run(1, which)[0]);
/// assert!(first.is_some() && second.is_some());
/// assert_ne!(first, second, "each run's loop is another");
/// assert_eq!(ttk_core::io::loop_id(), None);
/// ```
pub fn loop_id() -> Option<u32> {
    crate::context::try_with_loop(|state| state.id())
}

/// Runs `action` on the running loop once its clock reaches `at` (at once, in the loop's next
/// wait, if `at` has passed), with no bot woken for it: for transports that act on their own
/// later. Actions of one time run in the order asked. The loop's clock is virtual under a
/// virtual clock, so an action an hour away takes no wall time. An action still pending when
/// the run ends is dropped, not run; it is not work that keeps a run going. An action that
/// panics is said on stderr and dropped: the run goes on.
///
/// # Panics
/// Outside a running loop.
///
/// # Examples
/// ```
/// # use ttk_macros::bot;
/// use std::cell::Cell;
/// use std::rc::Rc;
/// use std::time::Duration;
/// use ttk_core::{Cx, Runtime};
///
/// #[bot(crate = ttk_core)]
/// fn later(_cx: Cx, _id: usize) -> (bool, bool) {
///     let done = Rc::new(Cell::new(false));
///     let flag = Rc::clone(&done);
///     let at = ttk_core::now() + Duration::from_millis(30);
///     ttk_core::io::run_at(at, move || flag.set(true));
///     ttk_core::yield_!(ttk_core::sleep(Duration::from_millis(20)));
///     let early = done.get();
///     ttk_core::yield_!(ttk_core::sleep(Duration::from_millis(20)));
///     (early, done.get())
/// }
///
/// assert_eq!(Runtime::new().virtual_time(true).run(1, later), [(false, true)]);
/// ```
pub fn run_at(at: Instant, action: impl FnOnce() + 'static) {
    with_loop(|state| {
        let at = state.clock.since_start(at);
        let mut action: Option<Box<dyn FnOnce()>> = Some(Box::new(action));
        // Without an `Rc` of the feature when it is there already (every call but the first).
        let push = |deferred: &Deferred| deferred.push(at, action.take().expect("once"));
        if state.features().with::<Deferred, _>(push).is_none() {
            Deferred::of(state).push(at, action.take().expect("not pushed"));
        }
        state.wake_features_at(at);
    });
}

/// How many timed actions ([`run_at`]) the running loop holds: for a transport's tests, that
/// what it asks of the loop stays bounded. `0` outside a running loop.
///
/// # Examples
/// ```
/// # use ttk_macros::bot;
/// use std::time::Duration;
/// use ttk_core::Cx;
///
/// #[bot(crate = ttk_core)]
/// fn two(_cx: Cx, _id: usize) -> usize {
///     let later = ttk_core::now() + Duration::from_secs(1);
///     ttk_core::io::run_at(later, || {});
///     ttk_core::io::run_at(later, || {});
///     ttk_core::io::pending_actions()
/// }
///
/// assert_eq!(ttk_core::run(1, two), [2]);
/// ```
pub fn pending_actions() -> usize {
    crate::context::try_with_loop(|state| {
        state
            .features()
            .get::<Deferred>()
            .map_or(0, |deferred| deferred.inner.borrow().queue.len())
    })
    .unwrap_or(0)
}

/// A seed for the random streams of a transport's own — a socket's emulated losses, say — made
/// from the run's seed (`--seed`) and the running bot's id: the same in every run with the same
/// seed, different for every bot. `salt` tells apart the streams of one bot (its first socket,
/// its second…).
///
/// # Panics
/// Outside a running loop.
///
/// # Examples
/// ```
/// # use ttk_macros::bot;
/// use ttk_core::{Cx, Runtime};
///
/// #[bot(crate = ttk_core)]
/// fn seeds(_cx: Cx, _id: usize) -> (u64, u64) {
///     (ttk_core::io::bot_seed(0), ttk_core::io::bot_seed(1))
/// }
///
/// let first = Runtime::new().seed(7).run(2, seeds);
/// assert_eq!(first, Runtime::new().seed(7).run(2, seeds));
/// assert_ne!(first[0], first[1]);
/// assert_ne!(first[0].0, first[0].1);
/// ```
pub fn bot_seed(salt: u64) -> u64 {
    with_loop(|state| {
        let id = state.id_of(state.current()) as u64;
        // Chained, not XORed together: no two (bot, salt) pairs share a seed by arithmetic.
        let mut bot = state.seed() ^ id.wrapping_mul(0xD1B5_4A32_D192_ED03);
        let mut stream = crate::rng::splitmix_step(&mut bot) ^ salt;
        crate::rng::splitmix_step(&mut stream)
    })
}

/// How many seeds each bot of a loop has taken with [`next_bot_seed`].
#[derive(Default)]
struct SeedsTaken {
    by_bot: RefCell<crate::fast_hash::FastMap<u32, u64>>,
}

impl Feature for SeedsTaken {
    fn bot_exited(&self, _state: &LoopState, index: u32) {
        self.by_bot.borrow_mut().remove(&index);
    }

    fn release(&self) {
        self.by_bot.borrow_mut().clear();
    }
}

/// The running bot's next seed for a transport's random stream: [`bot_seed`] of 0 at its first
/// call, of 1 at its second… — so a bot's sockets get the same streams in every run with the
/// same seed, whatever the other bots made.
///
/// # Panics
/// Outside a running loop.
///
/// # Examples
/// ```
/// # use ttk_macros::bot;
/// use ttk_core::{Cx, Runtime};
///
/// #[bot(crate = ttk_core)]
/// fn sockets(_cx: Cx, _id: usize) -> [u64; 2] {
///     [ttk_core::io::next_bot_seed(), ttk_core::io::next_bot_seed()]
/// }
///
/// let first = Runtime::new().seed(3).run(2, sockets);
/// assert_eq!(first, Runtime::new().seed(3).run(2, sockets));
/// assert_ne!(first[0][0], first[0][1]);
/// ```
pub fn next_bot_seed() -> u64 {
    let taken = with_loop(|state| {
        let seeds = state
            .features()
            .get_or_insert(Stage::Streams, SeedsTaken::default);
        let mut by_bot = seeds.by_bot.borrow_mut();
        let count = by_bot.entry(state.current()).or_insert(0);
        *count += 1;
        *count - 1
    });
    bot_seed(taken)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(at: Nanos, seq: u64) -> Entry {
        Entry {
            at,
            seq,
            action: Box::new(|| {}),
        }
    }

    #[test]
    fn actions_leave_in_time_order_whichever_way_they_came() {
        let mut queue = Queue::default();
        // In order, then earlier ones, then ties with both sides, then a long in-order run.
        let times = [10, 20, 30, 5, 25, 20, 30, 40, 15, 50, 60, 70];
        for (seq, at) in times.into_iter().enumerate() {
            queue.push(entry(at, seq as u64));
        }
        for seq in 0..10_000u64 {
            queue.push(entry(100 + seq / 3, 100 + seq));
        }
        assert_eq!(queue.next_at(), Some(5));
        assert!(queue.pop_due(4).is_none(), "nothing due before 5");
        let mut order = Vec::new();
        while let Some(entry) = queue.pop_due(Nanos::MAX) {
            order.push((entry.at, entry.seq));
        }
        let mut sorted = order.clone();
        sorted.sort();
        assert_eq!(order, sorted);
        assert_eq!(order.len(), times.len() + 10_000);
        assert_eq!(queue.len(), 0);
        assert_eq!(queue.next_at(), None);
    }
}
