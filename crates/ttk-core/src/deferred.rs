//! Actions the loop runs at a time of its clock, with no bot to wake: how a transport does
//! something later on its own (a datagram held back to emulate a slow network goes out when
//! its delay is over, whatever its bot is doing then).

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Instant;

use crate::context::with_loop;
use crate::feature::{Feature, Stage};
use crate::loop_state::LoopState;
use crate::time_queue::TimeQueue;
use crate::timers::Nanos;

/// A timed action.
type Action = Box<dyn FnOnce()>;

/// A loop's pending actions.
#[derive(Default)]
struct Deferred {
    inner: RefCell<DeferredInner>,
}

#[derive(Default)]
struct DeferredInner {
    /// By time on the loop's clock; actions of one time in the order asked.
    queue: TimeQueue<Nanos, Action>,
    /// The due actions of a pass, kept between passes so that a pass allocates nothing.
    due: Vec<Action>,
    /// What runs when the run ends ([`at_run_end`]).
    at_end: Vec<Action>,
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
    fn push(&self, at: Nanos, action: Action) {
        self.inner.borrow_mut().queue.push(at, action);
    }
}

impl Feature for Deferred {
    fn time_passed(&self, state: &LoopState, now: Nanos) {
        let mut due = {
            let mut inner = self.inner.borrow_mut();
            let mut due = std::mem::take(&mut inner.due);
            while let Some((_, action)) = inner.queue.pop_due(now) {
                due.push(action);
            }
            due
        };
        // Outside the borrow: an action may ask for another. One that panics is said and
        // dropped; the run and the other actions go on.
        for action in due.drain(..) {
            run_caught(action, "a timed action (ttk_core::io::run_at)");
        }
        let mut inner = self.inner.borrow_mut();
        if inner.due.capacity() < due.capacity() {
            inner.due = due;
        }
        if let Some(next) = inner.queue.next_at() {
            state.wake_features_at(next);
        }
    }

    fn run_ended(&self, _state: &LoopState) {
        // An action may ask for another; a few rounds, not forever.
        for _ in 0..END_ROUNDS {
            let actions = std::mem::take(&mut self.inner.borrow_mut().at_end);
            if actions.is_empty() {
                break;
            }
            for action in actions {
                run_caught(
                    action,
                    "an action at the run's end (ttk_core::io::at_run_end)",
                );
            }
        }
    }

    fn release(&self) {
        let mut inner = self.inner.borrow_mut();
        let dropped = (
            std::mem::take(&mut inner.queue),
            std::mem::take(&mut inner.at_end),
        );
        drop(inner);
        drop(dropped);
    }
}

/// Rounds of [`at_run_end`] actions asked by those of the round before.
const END_ROUNDS: usize = 4;

/// Runs `action`; one that panics is said (as `what`) and dropped: the run and the other
/// actions go on.
fn run_caught(action: Action, what: &str) {
    if let Err(panic) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(action)) {
        let message = panic
            .downcast_ref::<&str>()
            .map(|text| (*text).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        eprintln!("warning: {what} panicked: {message}");
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
        let mut action: Option<Action> = Some(Box::new(action));
        // Without an `Rc` of the feature when it is there already (every call but the first).
        let push = |deferred: &Deferred| deferred.push(at, action.take().expect("once"));
        if state.features().with::<Deferred, _>(push).is_none() {
            Deferred::of(state).push(at, action.take().expect("not pushed"));
        }
        state.wake_features_at(at);
    });
}

/// Runs `action` when the running loop's run ends — every bot done or stopped — before what
/// the run holds is released: a transport's last word, such as a close that an emulated link
/// still holds back, sent at once rather than lost. Each loop of a run with workers ends on its
/// own and runs its own. By then the bots are gone, and a socket lives on only where something
/// still holds it (a transport's queue of what it has to send); an action may ask for more
/// (up to four rounds). Each call is kept until the run ends: ask once per loop (a
/// [`loop_local`](crate::io::loop_local) value knows whether it has), not once per connection.
/// Outside a running loop it is dropped.
///
/// # Examples
/// ```
/// # use ttk_macros::bot;
/// # use ttk_core::Cx;
/// use std::cell::Cell;
/// use std::rc::Rc;
///
/// #[bot(crate = ttk_core)]
/// fn last_word(_cx: Cx, _id: usize, said: Rc<Cell<bool>>) -> bool {
///     let later = Rc::clone(&said);
///     ttk_core::io::at_run_end(move || later.set(true));
///     said.get()
/// }
///
/// let said = Rc::new(Cell::new(false));
/// let during = ttk_core::run(1, {
///     let said = Rc::clone(&said);
///     move |cx, id| last_word(cx, id, Rc::clone(&said))
/// });
/// assert_eq!((during, said.get()), (vec![false], true));
/// ```
pub fn at_run_end(action: impl FnOnce() + 'static) {
    crate::context::try_with_loop(|state| {
        Deferred::of(state)
            .inner
            .borrow_mut()
            .at_end
            .push(Box::new(action));
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
