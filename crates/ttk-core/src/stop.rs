//! Stopping a run from outside it: [`StopHandle`].

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
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
#[derive(Default)]
pub(crate) struct StopSignal {
    /// Set by [`StopHandle::stop`].
    requested: AtomicBool,
    /// Interrupts the loop's wait, once the loop has started. Weak: a handle kept after its run
    /// must not keep the run's wake-up descriptor open.
    waker: OnceLock<Weak<mio::Waker>>,
}

impl StopSignal {
    /// Whether a stop was asked for.
    #[inline]
    pub(crate) fn is_requested(&self) -> bool {
        self.requested.load(Ordering::Acquire)
    }

    /// Lets a stop interrupt the loop whose selector `waker` wakes.
    pub(crate) fn set_waker(&self, waker: &Arc<mio::Waker>) {
        let _ = self.waker.set(Arc::downgrade(waker));
    }
}

impl StopHandle {
    /// Stops the run (see [`StopHandle`]). Safe to call from a signal handler: it sets an atomic
    /// flag and writes to an eventfd, with no lock and no allocation. (If the run ends at that
    /// very moment, the handler may be the last to let go of the run's waker and free it.)
    pub fn stop(&self) {
        self.signal.requested.store(true, Ordering::Release);
        if let Some(waker) = self.signal.waker.get().and_then(Weak::upgrade) {
            // A failed wake means the loop is gone: there is nothing left to stop.
            let _ = waker.wake();
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
