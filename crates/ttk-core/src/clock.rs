//! The loop's clock: real, or virtual (jumps to the next timer when every bot waits).

use std::cell::Cell;
use std::time::{Duration, Instant};

use crate::timers::{Nanos, nanos};

/// Time as one loop sees it.
#[derive(Debug)]
pub(crate) struct Clock {
    /// The loop's time zero.
    start: Instant,
    /// `Some(t)`: virtual time, now `t` nanoseconds after `start`; it moves only when the loop
    /// advances it to the next timer. `None`: real time.
    virtual_now: Option<Cell<Nanos>>,
    /// A reading of the real clock (since the epoch), the instant it was taken, and until when
    /// it is trusted ([`Clock::real_base`]).
    real_base: Cell<Option<(Duration, Instant, Instant)>>,
}

/// How long a pair of readings of the real clock and the monotonic one places the first on the
/// second: they run at one rate (the kernel slews both alike), and part only when the real clock
/// is set (a step), which this bounds the effect of.
const REAL_BASE_TRUSTED: Duration = Duration::from_secs(1);

impl Clock {
    /// A clock starting now; virtual if `virtual_time`.
    pub(crate) fn new(virtual_time: bool) -> Self {
        Clock {
            start: Instant::now(),
            virtual_now: virtual_time.then(|| Cell::new(0)),
            real_base: Cell::new(None),
        }
    }

    /// On a real clock: a reading of the real clock (since the epoch) and the instant it was
    /// taken, measured again once `now` is [`REAL_BASE_TRUSTED`] past the last pair. `None` on
    /// a virtual clock, whose instants follow no real one.
    pub(crate) fn real_base(&self, now: Instant) -> Option<(Duration, Instant)> {
        if self.is_virtual() {
            return None;
        }
        // Compared, not subtracted: a subtraction of instants costs more than the rest of a
        // stamp's placing.
        if let Some((real, instant, until)) = self.real_base.get()
            && instant <= now
            && now < until
        {
            return Some((real, instant));
        }
        let (real, instant) = (crate::real_clock::since_epoch(), Instant::now());
        self.real_base
            .set(Some((real, instant, instant + REAL_BASE_TRUSTED)));
        Some((real, instant))
    }

    /// Whether this clock is virtual.
    pub(crate) fn is_virtual(&self) -> bool {
        self.virtual_now.is_some()
    }

    /// Nanoseconds since the loop's start.
    pub(crate) fn now(&self) -> Nanos {
        match &self.virtual_now {
            Some(now) => now.get(),
            None => nanos(self.start.elapsed()),
        }
    }

    /// Now, as an instant: on a real clock the instant itself, read once, rather than the
    /// nanoseconds since the start turned back into one (half the cost of [`Clock::now`] and
    /// [`Clock::instant`] together, and `ttk_core::now()` is read several times per datagram
    /// on a conditioned socket).
    pub(crate) fn now_instant(&self) -> Instant {
        match &self.virtual_now {
            Some(now) => self.instant(now.get()),
            None => Instant::now(),
        }
    }

    /// The instant `at` nanoseconds after the loop's start.
    pub(crate) fn instant(&self, at: Nanos) -> Instant {
        self.start + Duration::from_nanos(at)
    }

    /// Nanoseconds from the loop's start to `instant` (0 if before it).
    pub(crate) fn since_start(&self, instant: Instant) -> Nanos {
        nanos(instant.saturating_duration_since(self.start))
    }

    /// Moves virtual time forward to `at` (never backwards; no effect on a real clock).
    pub(crate) fn advance_to(&self, at: Nanos) {
        if let Some(now) = &self.virtual_now
            && at > now.get()
        {
            now.set(at);
        }
    }
}
