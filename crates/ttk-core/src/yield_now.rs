//! Ending a bot's step for the current tick.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::context;

/// Ends the running bot's step: it goes to the back of the ready queue and runs again next tick.
///
/// This is what `yield_!()` waits on; bots do not name it.
///
/// # Examples
/// ```
/// # use ttk_macros::bot;
/// use ttk_core::{Cx, YieldNow};
///
/// #[bot(crate = ttk_core)]
/// fn two_ticks(_cx: Cx, _id: usize) -> u64 {
///     // What `ttk_core::yield_!()` waits on.
///     ttk_core::yield_!(YieldNow::new());
///     ttk_core::tick()
/// }
///
/// assert_eq!(ttk_core::run(1, two_ticks), [1]);
/// ```
#[derive(Debug, Default)]
#[must_use = "a yield does nothing unless waited on with yield_!"]
pub struct YieldNow {
    /// Whether the step has ended once already.
    yielded: bool,
}

impl YieldNow {
    /// A yield that has not happened yet.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// use ttk_core::{Cx, YieldNow};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn later(_cx: Cx, _id: usize) -> u64 {
    ///     let yield_now = YieldNow::new(); // nothing happens until it is waited on
    ///     ttk_core::yield_!(yield_now);
    ///     ttk_core::tick()
    /// }
    ///
    /// assert_eq!(ttk_core::run(1, later), [1]);
    /// ```
    pub fn new() -> Self {
        YieldNow::default()
    }
}

impl Future for YieldNow {
    type Output = ();

    #[inline]
    fn poll(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            Poll::Ready(())
        } else {
            self.yielded = true;
            context::request_yield();
            Poll::Pending
        }
    }
}
