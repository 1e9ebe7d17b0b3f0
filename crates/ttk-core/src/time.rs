//! Time for bots: [`now`], [`sleep`], [`sleep_until`], [`timeout`].
//!
//! Each follows the loop's clock, so under [`Runtime::virtual_time`](crate::Runtime::virtual_time)
//! an hour of sleeping takes no wall time.

use std::fmt;
use std::future::{Future, IntoFuture, poll_fn};
use std::io;
use std::pin::{Pin, pin};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::context::{self, with_loop, with_own_loop};
use crate::timers::{Nanos, TimerKey, nanos};

/// The current time of the running loop (virtual time under a virtual clock).
///
/// # Panics
/// Outside a running loop.
///
/// # Examples
/// ```
/// # use ttk_macros::bot;
/// # use ttk_core::Cx;
/// use std::time::Duration;
///
/// #[bot(crate = ttk_core)]
/// fn timed(_cx: Cx, _id: usize) -> Duration {
///     let start = ttk_core::now();
///     ttk_core::yield_!(ttk_core::sleep(Duration::from_millis(5)));
///     ttk_core::now() - start
/// }
///
/// assert!(ttk_core::run(1, timed)[0] >= Duration::from_millis(5));
/// ```
pub fn now() -> Instant {
    with_loop(|state| state.clock.now_instant())
}

/// Waits until `duration` has passed; wait for it with `yield_!(ttk_core::sleep(d))`.
///
/// The bot is parked meanwhile: it costs nothing until its timer fires. A sleep dropped before
/// its time (the operation of a [`timeout`] won) cancels its timer: nothing is kept and the bot
/// is not woken for it later.
///
/// # Examples
/// ```
/// # use ttk_macros::bot;
/// # use ttk_core::Cx;
/// use std::time::Duration;
///
/// #[bot(crate = ttk_core)]
/// fn napper(_cx: Cx, id: usize) -> usize {
///     ttk_core::yield_!(ttk_core::sleep(Duration::from_millis(10 - id as u64)));
///     id
/// }
///
/// assert_eq!(ttk_core::run(3, napper), vec![0, 1, 2]);
/// ```
pub fn sleep(duration: Duration) -> Sleep {
    Sleep {
        wait: Wait::For(duration),
        timer: None,
    }
}

/// Waits until `deadline`; wait for it with `yield_!(ttk_core::sleep_until(t))`.
///
/// # Examples
/// ```
/// # use ttk_macros::bot;
/// # use ttk_core::Cx;
/// use std::time::Duration;
///
/// #[bot(crate = ttk_core)]
/// fn punctual(_cx: Cx, _id: usize) -> bool {
///     let deadline = ttk_core::now() + Duration::from_millis(3);
///     ttk_core::yield_!(ttk_core::sleep_until(deadline));
///     ttk_core::now() >= deadline
/// }
///
/// assert!(ttk_core::run(1, punctual)[0]);
/// ```
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep {
        wait: Wait::Until(deadline),
        timer: None,
    }
}

/// A bot's wait for a point in time; made by [`sleep`] and [`sleep_until`].
///
/// # Examples
/// ```
/// # use ttk_macros::bot;
/// use std::time::Duration;
/// use ttk_core::{Cx, Sleep};
///
/// #[bot(crate = ttk_core)]
/// fn nap(_cx: Cx, _id: usize) -> Duration {
///     let start = ttk_core::now();
///     let sleep: Sleep = ttk_core::sleep(Duration::from_millis(5));
///     ttk_core::yield_!(sleep);
///     ttk_core::now() - start
/// }
///
/// assert!(ttk_core::run(1, nap)[0] >= Duration::from_millis(5));
/// ```
#[derive(Debug)]
#[must_use = "a sleep does nothing unless waited on with yield_!"]
pub struct Sleep {
    /// What the sleep waits for; resolved to a deadline on the loop's clock at the first poll.
    wait: Wait,
    /// Once set: the loop it was set in, and the timer's key.
    timer: Option<(u32, TimerKey)>,
}

/// The deadline of a [`Sleep`], before and after it is resolved.
#[derive(Debug)]
enum Wait {
    /// A duration from the first poll.
    For(Duration),
    /// An instant.
    Until(Instant),
    /// Nanoseconds on the loop's clock.
    Resolved(Nanos),
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        if let Some((loop_id, key)) = self.timer {
            // Once set, its timer says when it is over: the loop fires a timer when the clock
            // reaches its deadline, and wakes the bot. No clock is read (a sleep inside a
            // `timeout` is polled each time its bot is, and a clock read costs more here than
            // the look).
            return with_own_loop(loop_id, "a ttk::sleep", |state| {
                match state.timer_pending(key) {
                    true => Poll::Pending,
                    false => Poll::Ready(()),
                }
            });
        }
        let run = |state: &std::rc::Rc<crate::loop_state::LoopState>| {
            let now = state.clock.now();
            let deadline = match self.wait {
                Wait::For(duration) => now.saturating_add(nanos(duration)),
                Wait::Until(instant) => state.clock.since_start(instant),
                Wait::Resolved(deadline) => deadline,
            };
            self.wait = Wait::Resolved(deadline);
            if now >= deadline {
                return Poll::Ready(());
            }
            self.timer = Some((state.id(), state.add_timer(deadline)));
            Poll::Pending
        };
        with_loop(run)
    }
}

impl Drop for Sleep {
    /// Cancels the timer if it has not fired: no memory kept, no wake-up later.
    fn drop(&mut self) {
        if let Some((loop_id, key)) = self.timer
            && context::current_loop_id() == loop_id
        {
            context::try_with_loop(|state| state.cancel_timer(key));
        }
    }
}

/// Waits for `op`, at most `limit`: `yield_!(ttk_core::timeout(d, op))` is `Ok(output)`, or
/// `Err(Elapsed)` naming the limit if time ran out first (and `op` is dropped).
///
/// # Examples
/// ```
/// # use ttk_macros::bot;
/// # use ttk_core::Cx;
/// use std::time::Duration;
///
/// #[bot(crate = ttk_core)]
/// fn impatient(_cx: Cx, _id: usize) -> String {
///     let slow = ttk_core::sleep(Duration::from_secs(60));
///     let outcome = ttk_core::yield_!(ttk_core::timeout(Duration::from_millis(5), slow));
///     outcome.unwrap_err().to_string()
/// }
///
/// assert_eq!(ttk_core::run(1, impatient)[0], "timed out after 5ms");
/// ```
pub async fn timeout<F: IntoFuture>(limit: Duration, op: F) -> Result<F::Output, Elapsed> {
    let mut op = pin!(op.into_future());
    let mut timer = sleep(limit);
    poll_fn(|context| {
        if let Poll::Ready(output) = op.as_mut().poll(context) {
            return Poll::Ready(Ok(output));
        }
        match Pin::new(&mut timer).poll(context) {
            Poll::Ready(()) => Poll::Ready(Err(Elapsed { limit })),
            Poll::Pending => Poll::Pending,
        }
    })
    .await
}

/// The error of a [`timeout`] whose limit passed first.
///
/// # Examples
/// ```
/// # use ttk_macros::bot;
/// use std::time::Duration;
/// use ttk_core::{Cx, Elapsed};
///
/// #[bot(crate = ttk_core)]
/// fn impatient(cx: Cx<u8>, _id: usize) -> Result<u8, Elapsed> {
///     // Nobody sends: the limit passes first.
///     let message = ttk_core::yield_!(ttk_core::timeout(Duration::from_millis(5), cx.recv()))?;
///     Ok(message.data)
/// }
///
/// let error = ttk_core::run(1, impatient).pop().unwrap().unwrap_err();
/// assert_eq!(error.limit(), Duration::from_millis(5));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Elapsed {
    /// The limit that passed.
    pub(crate) limit: Duration,
}

impl Elapsed {
    /// The limit that passed.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use std::time::Duration;
    ///
    /// #[bot(crate = ttk_core)]
    /// fn waiter(_cx: Cx, _id: usize) -> Duration {
    ///     let never = ttk_core::sleep(Duration::MAX);
    ///     let error = ttk_core::yield_!(ttk_core::timeout(Duration::from_millis(1), never));
    ///     error.unwrap_err().limit()
    /// }
    ///
    /// assert_eq!(ttk_core::run(1, waiter)[0], Duration::from_millis(1));
    /// ```
    pub fn limit(&self) -> Duration {
        self.limit
    }
}

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "timed out after {:?}", self.limit)
    }
}

impl std::error::Error for Elapsed {}

impl From<Elapsed> for io::Error {
    fn from(elapsed: Elapsed) -> io::Error {
        io::Error::new(io::ErrorKind::TimedOut, elapsed)
    }
}
