//! [`RealClock`]: the loop's now, and readings of the real clock (a kernel's receive stamps)
//! placed on the loop's clock.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::context;

/// The loop's now, read once, with what places a reading of the real clock on the loop's
/// clock: a kernel stamps what a socket receives on the real clock (since the epoch), and a
/// transport that emulates a network times it on the loop's.
///
/// On a real clock, placing a stamp reads no clock: the loop keeps a pair of readings of the
/// real clock and the monotonic one, taken again each second (the real clock can be set, the
/// monotonic one cannot). On a virtual clock, and outside a running loop, it reads the real
/// clock to learn how long ago the stamp was.
///
/// # Examples
/// ```
/// # use ttk_macros::bot;
/// # use ttk_core::Cx;
/// use std::time::{Duration, SystemTime, UNIX_EPOCH};
/// use ttk_core::io::RealClock;
///
/// #[bot(crate = ttk_core)]
/// fn stamped(_cx: Cx, _id: usize) -> Duration {
///     let stamp = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
///     ttk_core::yield_!(ttk_core::sleep(Duration::from_millis(20)));
///     let clock = RealClock::now();
///     clock.instant() - clock.instant_of_real(stamp)
/// }
///
/// let ago = ttk_core::run(1, stamped)[0];
/// assert!(ago >= Duration::from_millis(19) && ago < Duration::from_secs(5), "{ago:?}");
/// ```
#[derive(Clone, Copy, Debug)]
pub struct RealClock {
    /// The loop's now.
    now: Instant,
    /// A reading of the real clock and the loop's instant of it (on a real clock).
    base: Option<(Duration, Instant)>,
}

impl RealClock {
    /// Reads the loop's clock (the monotonic clock outside a running loop).
    ///
    /// # Examples
    /// ```
    /// let clock = ttk_core::io::RealClock::now();
    /// assert!(clock.instant() <= std::time::Instant::now());
    /// ```
    pub fn now() -> RealClock {
        context::try_with_loop(|state| {
            let now = state.clock.now_instant();
            RealClock {
                now,
                base: state.clock.real_base(now),
            }
        })
        .unwrap_or_else(|| RealClock {
            now: Instant::now(),
            base: None,
        })
    }

    /// The loop's now, as read.
    ///
    /// # Examples
    /// ```
    /// let clock = ttk_core::io::RealClock::now();
    /// assert_eq!(clock.instant(), clock.instant());
    /// ```
    pub fn instant(&self) -> Instant {
        self.now
    }

    /// The loop's instant at which the real clock read `real` (the time since the epoch):
    /// now less the real time since `real`, and never later than now.
    ///
    /// # Examples
    /// ```
    /// use std::time::{SystemTime, UNIX_EPOCH};
    ///
    /// let clock = ttk_core::io::RealClock::now();
    /// let later = SystemTime::now().duration_since(UNIX_EPOCH).unwrap() * 2;
    /// assert_eq!(clock.instant_of_real(later), clock.instant(), "never after now");
    /// ```
    pub fn instant_of_real(&self, real: Duration) -> Instant {
        let at = match self.base {
            Some((real_base, instant_base)) => match real.checked_sub(real_base) {
                Some(after) => instant_base.checked_add(after),
                None => instant_base.checked_sub(real_base - real),
            },
            None => since_epoch()
                .checked_sub(real)
                .and_then(|ago| self.now.checked_sub(ago)),
        };
        at.map_or(self.now, |at| at.min(self.now))
    }
}

/// The real clock, as kernels stamp it: the time since the epoch.
pub(crate) fn since_epoch() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}
