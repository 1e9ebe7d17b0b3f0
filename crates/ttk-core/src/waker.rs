//! Wakers for foreign futures.
//!
//! ttk's own operations never use the `Waker`: they register the running bot with the loop
//! directly. A future from another crate does use it — it calls `wake_by_ref` to yield, or clones
//! the waker and wakes it later, perhaps from another thread. The waker handed to every poll is
//! one static value that costs nothing until used: waking it queues the running bot; cloning it
//! makes an owned waker for the running bot, which wakes the loop through a mio `Waker` when
//! called from another thread.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{RawWaker, RawWakerVTable, Wake, Waker};

use mio::Token;

use crate::context::try_with_loop;
use crate::loop_state::LoopState;

/// The token of the loop's cross-thread waker (I/O tokens are slab indices, far below it).
pub(crate) const REMOTE_TOKEN: Token = Token(usize::MAX);

/// How other threads reach a loop: bots to wake, and the selector's waker.
#[derive(Debug)]
pub(crate) struct Remote {
    /// Bots woken from other threads since the loop last looked.
    woken: Mutex<Vec<u32>>,
    /// Whether `woken` may be non-empty: the loop checks it every tick without locking.
    pending: AtomicBool,
    /// Interrupts the loop's `epoll_wait` (shared with the run's stop handle: a selector has
    /// one waker).
    waker: Arc<mio::Waker>,
    /// Owned bot wakers alive: while there is one, a parked bot may still be woken.
    wakers: AtomicUsize,
    /// The loop's id, to tell "on the loop's own thread" from "elsewhere".
    loop_id: u32,
}

impl Remote {
    /// A remote for the loop `loop_id` whose selector is `registry`.
    pub(crate) fn new(registry: &mio::Registry, loop_id: u32) -> std::io::Result<Remote> {
        Ok(Remote {
            woken: Mutex::new(Vec::new()),
            pending: AtomicBool::new(false),
            waker: Arc::new(mio::Waker::new(registry, REMOTE_TOKEN)?),
            wakers: AtomicUsize::new(0),
            loop_id,
        })
    }

    /// The selector's waker.
    pub(crate) fn waker(&self) -> Arc<mio::Waker> {
        Arc::clone(&self.waker)
    }

    /// Whether an owned bot waker is alive somewhere.
    pub(crate) fn wakers_alive(&self) -> bool {
        self.wakers.load(Ordering::Acquire) > 0
    }

    /// Takes the bots woken from other threads.
    pub(crate) fn take_woken(&self) -> Vec<u32> {
        if !self.pending.swap(false, Ordering::Acquire) {
            return Vec::new();
        }
        std::mem::take(&mut *self.woken.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// An owned waker for one bot.
struct BotWaker {
    /// The bot.
    bot: u32,
    /// Its loop.
    remote: Arc<Remote>,
}

impl BotWaker {
    /// A waker for `bot`, counted as alive until dropped.
    fn new(bot: u32, remote: Arc<Remote>) -> BotWaker {
        remote.wakers.fetch_add(1, Ordering::AcqRel);
        BotWaker { bot, remote }
    }
}

impl Drop for BotWaker {
    fn drop(&mut self) {
        self.remote.wakers.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Wake for BotWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // On the loop's own thread, queue the bot directly; elsewhere, hand it over and
        // interrupt the selector.
        let queued_here = try_with_loop(|state| {
            let here = state.id() == self.remote.loop_id;
            if here {
                state.wake(self.bot);
            }
            here
        });
        if queued_here != Some(true) {
            self.remote
                .woken
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(self.bot);
            self.remote.pending.store(true, Ordering::Release);
            // A failed wake means the loop is gone: nobody is left to wake.
            let _ = self.remote.waker.wake();
        }
    }
}

/// The waker passed to every poll.
pub(crate) fn borrowed() -> &'static Waker {
    &BORROWED
}

/// See [`borrowed`]; its data pointer is unused (the running bot is read from the loop).
static BORROWED: Waker = {
    const RAW: RawWaker = RawWaker::new(std::ptr::null(), &BORROWED_VTABLE);
    // SAFETY: the vtable's functions ignore the data pointer (null), never free anything, and
    // are safe to call from any thread: they reach the loop only through this thread's
    // thread-local context, and do nothing where there is none.
    unsafe { Waker::from_raw(RAW) }
};

/// The vtable of [`BORROWED`].
static BORROWED_VTABLE: RawWakerVTable =
    RawWakerVTable::new(clone_borrowed, wake_borrowed, wake_borrowed, drop_borrowed);

/// Clones the borrowed waker into an owned waker for the running bot (a no-op waker outside
/// a loop).
fn clone_borrowed(_: *const ()) -> RawWaker {
    let owned = try_with_loop(|state| owned_waker(state, state.current()))
        .flatten()
        .unwrap_or_else(|| Waker::noop().clone());
    let owned = std::mem::ManuallyDrop::new(owned);
    RawWaker::new(owned.data(), owned.vtable())
}

/// Queues the running bot.
fn wake_borrowed(_: *const ()) {
    let _ = try_with_loop(|state| state.wake(state.current()));
}

/// Nothing to free.
fn drop_borrowed(_: *const ()) {}

/// An owned waker for `bot` of `state`, or `None` if the loop cannot make one (its selector
/// refused a waker).
fn owned_waker(state: &LoopState, bot: u32) -> Option<Waker> {
    let remote = state.remote().ok()?;
    Some(Waker::from(Arc::new(BotWaker::new(bot, remote))))
}
