//! Ending a bot's step for the current tick.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::context;

/// Ends the running bot's step: it goes to the back of the ready queue and runs again next tick.
///
/// This is what `yield_!()` waits on; bots do not name it.
#[derive(Debug, Default)]
#[must_use = "a yield does nothing unless waited on with yield_!"]
pub struct YieldNow {
    /// Whether the step has ended once already.
    yielded: bool,
}

impl YieldNow {
    /// A yield that has not happened yet.
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
