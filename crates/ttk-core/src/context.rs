//! The thread-local context: which loop runs on this thread and which bot it is polling.
//!
//! Leaf operations (yield, sleep, I/O, receive) read it to register interest for the running bot.
//! This replaces the `Waker` on the hot path: no refcount, no atomic per switch.
//!
//! Handles that find their loop here (`Cx`, `BotRng`, a `Sleep`, a socket) remember the id of
//! the loop they belong to and check it: used in another run, they fail with a message that
//! names the mistake instead of acting on that run's bots.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use crate::loop_state::LoopState;

thread_local! {
    /// The loop running on this thread, while it runs.
    static CURRENT_LOOP: RefCell<Option<Rc<LoopState>>> = const { RefCell::new(None) };
    /// The id of [`CURRENT_LOOP`] (0: none), readable without a borrow.
    static CURRENT_LOOP_ID: Cell<u32> = const { Cell::new(NO_LOOP) };
    /// Set by `yield_!()` while a bot is polled; read and cleared by the scheduler after the poll.
    /// A plain `Cell<bool>` keeps a yield to one thread-local store.
    static YIELD_REQUESTED: Cell<bool> = const { Cell::new(false) };
}

/// The loop id that no loop has.
pub(crate) const NO_LOOP: u32 = 0;

/// Asks the scheduler to put the running bot at the back of the ready queue.
#[inline]
pub(crate) fn request_yield() {
    YIELD_REQUESTED.with(|flag| flag.set(true));
}

/// Reads and clears the yield request of the bot just polled.
#[inline]
pub(crate) fn take_yield_request() -> bool {
    YIELD_REQUESTED.with(|flag| flag.replace(false))
}

/// The id of the loop running on this thread ([`NO_LOOP`] if none).
#[inline]
pub(crate) fn current_loop_id() -> u32 {
    CURRENT_LOOP_ID.with(Cell::get)
}

/// Calls `f` with the loop running on this thread.
///
/// # Panics
/// Outside a running loop, with a message that says so: ttk operations only work inside bots.
pub(crate) fn with_loop<R>(f: impl FnOnce(&Rc<LoopState>) -> R) -> R {
    CURRENT_LOOP.with(|current| {
        let current = current.borrow();
        let state = current.as_ref().unwrap_or_else(|| {
            panic!(
                "a ttk operation was used outside a running ttk loop: \
                 call it from a bot started by ttk::run or ttk::Runtime"
            )
        });
        f(state)
    })
}

/// Calls `f` with the running loop, which must be loop `loop_id`: the one the handle `what`
/// (e.g. "a Cx") belongs to.
///
/// # Panics
/// Outside a running loop, or in a loop other than `loop_id`, with a message naming the mistake.
pub(crate) fn with_own_loop<R>(loop_id: u32, what: &str, f: impl FnOnce(&Rc<LoopState>) -> R) -> R {
    if current_loop_id() != loop_id {
        foreign_loop(what);
    }
    with_loop(f)
}

/// Calls `f` with the running loop, which must be loop `loop_id`, from the bot at `index` (the
/// one the handle `what` belongs to) when a bot is being polled.
///
/// # Panics
/// Outside a running loop, in another loop, or in another bot's step, naming the mistake.
pub(crate) fn with_bot_loop<R>(
    loop_id: u32,
    index: u32,
    what: &str,
    f: impl FnOnce(&Rc<LoopState>) -> R,
) -> R {
    with_own_loop(loop_id, what, |state| {
        if state.is_polling() && state.current() != index {
            foreign_bot(what, state, index);
        }
        f(state)
    })
}

/// The panic of a bot's handle used by another bot.
#[cold]
fn foreign_bot(what: &str, state: &LoopState, index: u32) -> ! {
    let running = state.id_of(state.current());
    panic!(
        "{what} was used by bot {running}, not by the bot it belongs to (place {index}): a bot's \
         context and generator act for that bot only, and only while it runs"
    )
}

/// The panic of a handle used outside its run.
#[cold]
fn foreign_loop(what: &str) -> ! {
    panic!(
        "{what} was used outside the run that made it: a ttk handle belongs to one run \
         (its loop) and works only in the bots of that run, while it runs"
    )
}

/// Calls `f` with the loop running on this thread, if there is one.
pub(crate) fn try_with_loop<R>(f: impl FnOnce(&Rc<LoopState>) -> R) -> Option<R> {
    CURRENT_LOOP.with(|current| current.borrow().as_ref().map(f))
}

/// Makes `state` the current loop until the guard drops (also when a panic unwinds).
#[derive(Debug)]
pub(crate) struct EnterGuard(());

impl EnterGuard {
    /// Enters `state`.
    ///
    /// # Panics
    /// If a loop already runs on this thread: runs do not nest (a bot must not call
    /// `ttk_core::run`).
    pub(crate) fn enter(state: Rc<LoopState>) -> EnterGuard {
        let id = state.id();
        CURRENT_LOOP.with(|current| {
            let mut current = current.borrow_mut();
            assert!(
                current.is_none(),
                "ttk::run was called inside a running ttk loop: runs do not nest; \
                 start more bots from the outer run instead"
            );
            *current = Some(state);
        });
        CURRENT_LOOP_ID.with(|current| current.set(id));
        YIELD_REQUESTED.with(|flag| flag.set(false));
        EnterGuard(())
    }
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        // Take the state out first, then drop it after the borrow ends: its drop may run user
        // code (a world, a hook) that looks at the context again.
        CURRENT_LOOP_ID.with(|current| current.set(NO_LOOP));
        let state = CURRENT_LOOP.with(|current| current.borrow_mut().take());
        drop(state);
    }
}
