//! Stopping a run from outside it: [`StopHandle`].

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, Weak};

/// Stops a run from any thread: a signal handler, a timer thread, another run's bot.
///
/// Get one from [`Runtime::stop_handle`](crate::Runtime::stop_handle) before the run starts.
/// [`StopHandle::stop`] only sets a flag and writes to the loop's wake-up descriptor (both safe
/// in a signal handler); the loop notices within a tick, or at once if it was waiting. Every bot
/// still running is then dropped in place — its sockets closed, its timers cancelled — and its
/// outcome is [`BotErrorKind::Stopped`](crate::BotErrorKind::Stopped); the run ends with
/// [`RunEnd::Stopped`](crate::RunEnd::Stopped). Calling it again, or after the run, does nothing.
///
/// # Examples
/// ```
/// # use ttk_macros::bot;
/// use std::time::Duration;
/// use ttk_core::{BotErrorKind, Cx, RunEnd, Runtime};
///
/// #[bot(crate = ttk_core)]
/// fn forever(_cx: Cx, _id: usize) {
///     loop {
///         ttk_core::yield_!(ttk_core::sleep(Duration::from_millis(1)));
///     }
/// }
///
/// let runtime = Runtime::new();
/// let stop = runtime.stop_handle();
/// let stopper = std::thread::spawn(move || {
///     std::thread::sleep(Duration::from_millis(20));
///     stop.stop();
///     stop.stop(); // harmless
/// });
/// let report = runtime.execute(3, forever);
/// stopper.join().unwrap();
/// assert_eq!(report.end, RunEnd::Stopped);
/// assert!(report.outcomes.iter().all(|outcome| {
///     matches!(outcome.as_ref().unwrap_err().kind(), BotErrorKind::Stopped)
/// }));
/// ```
#[derive(Clone)]
pub struct StopHandle {
    /// Shared with the run.
    pub(crate) signal: Arc<StopSignal>,
}

/// The state a [`StopHandle`] shares with its run.
pub(crate) struct StopSignal {
    /// Set by [`StopHandle::stop`].
    requested: AtomicBool,
    /// Interrupt the loops' waits, once the loops have started: one per loop of the run (a run
    /// on several workers shares one signal). Weak: a handle kept after its run must not keep
    /// the run's wake-up descriptors open. Fixed slots, not a growable list: `stop` may run in
    /// a signal handler, where no lock may be taken.
    wakers: [OnceLock<Weak<mio::Waker>>; MAX_LOOPS],
    /// The next free slot in `wakers`.
    next_waker: AtomicUsize,
}

/// The most loops one stop signal wakes (a run on more workers than this stops them at their
/// next tick, but cannot interrupt their waits).
pub(crate) const MAX_LOOPS: usize = 256;

impl Default for StopSignal {
    fn default() -> Self {
        StopSignal {
            requested: AtomicBool::new(false),
            wakers: [const { OnceLock::new() }; MAX_LOOPS],
            next_waker: AtomicUsize::new(0),
        }
    }
}

impl StopSignal {
    /// Whether a stop was asked for.
    #[inline]
    pub(crate) fn is_requested(&self) -> bool {
        self.requested.load(Ordering::Acquire)
    }

    /// Lets a stop interrupt the loop whose selector `waker` wakes.
    pub(crate) fn set_waker(&self, waker: &Arc<mio::Waker>) {
        let slot = self.next_waker.fetch_add(1, Ordering::AcqRel);
        if let Some(slot) = self.wakers.get(slot) {
            let _ = slot.set(Arc::downgrade(waker));
        }
    }
}

impl StopHandle {
    /// Stops the run (see [`StopHandle`]). Safe to call from a signal handler: it sets an atomic
    /// flag and writes to an eventfd, with no lock and no allocation. (If the run ends at that
    /// very moment, the handler may be the last to let go of the run's waker and free it.)
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// use std::time::Duration;
    /// use ttk_core::{Cx, RunEnd, Runtime};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn naps(_cx: Cx, _id: usize) {
    ///     loop {
    ///         ttk_core::yield_!(ttk_core::sleep(Duration::from_millis(1)));
    ///     }
    /// }
    ///
    /// let runtime = Runtime::new();
    /// let stop = runtime.stop_handle();
    /// let stopper = std::thread::spawn(move || {
    ///     std::thread::sleep(Duration::from_millis(10));
    ///     stop.stop();
    /// });
    /// assert_eq!(runtime.execute(1, naps).end, RunEnd::Stopped);
    /// stopper.join().unwrap();
    /// ```
    pub fn stop(&self) {
        self.signal.requested.store(true, Ordering::Release);
        // Every slot handed out so far: one being filled right now is skipped (its loop sees
        // the flag before it first waits), not taken for the end of the list.
        let taken = self
            .signal
            .next_waker
            .load(Ordering::Acquire)
            .min(MAX_LOOPS);
        for slot in &self.signal.wakers[..taken] {
            let Some(weak) = slot.get() else {
                continue;
            };
            if let Some(waker) = weak.upgrade() {
                // A failed wake means the loop is gone: there is nothing left to stop.
                let _ = waker.wake();
            }
        }
    }

    /// Whether [`StopHandle::stop`] was called.
    ///
    /// # Examples
    /// ```
    /// let handle = ttk_core::Runtime::new().stop_handle();
    /// assert!(!handle.is_stopped());
    /// handle.stop();
    /// assert!(handle.is_stopped());
    /// ```
    pub fn is_stopped(&self) -> bool {
        self.signal.is_requested()
    }
}

impl fmt::Debug for StopHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StopHandle")
            .field("stopped", &self.is_stopped())
            .finish()
    }
}
