//! Propagation latency: bot A stamps the moment it acts ([`Cx::stamp`]) and carries the stamp in
//! the game's own message; bot B, seeing the effect, records how long it took
//! ([`Cx::observed`]). A stamp is nanoseconds since the Unix epoch on one clock per process —
//! the wall clock read once, then the loop's monotonic clock — so within a process two stamps
//! differ exactly as the loop's clock moved, and across processes and machines by as much as
//! their wall clocks disagree.

use std::fmt;
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::cx::Cx;

/// A moment as a bot stamped it: nanoseconds since the Unix epoch. Put it in the game's message
/// as a `u64` ([`Stamp::unix_nanos`], [`Stamp::to_be_bytes`]) and read it back on the other side
/// ([`Stamp::from_unix_nanos`], [`Stamp::from_be_bytes`]).
///
/// # Examples
/// ```
/// use ttk_core::Stamp;
///
/// let stamp = Stamp::from_unix_nanos(1_700_000_000_123_456_789);
/// assert_eq!(Stamp::from_be_bytes(stamp.to_be_bytes()), stamp);
/// assert_eq!(stamp.unix_nanos(), 1_700_000_000_123_456_789);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Stamp(u64);

impl Stamp {
    /// The stamp `nanos` nanoseconds after the Unix epoch.
    ///
    /// # Examples
    /// ```
    /// let stamp = ttk_core::Stamp::from_unix_nanos(42);
    /// assert_eq!(stamp.unix_nanos(), 42);
    /// ```
    pub const fn from_unix_nanos(nanos: u64) -> Stamp {
        Stamp(nanos)
    }

    /// Nanoseconds since the Unix epoch.
    ///
    /// # Examples
    /// ```
    /// let stamp = ttk_core::Stamp::from_unix_nanos(1_700_000_000_000_000_000);
    /// assert_eq!(stamp.unix_nanos() / 1_000_000_000, 1_700_000_000); // seconds
    /// ```
    pub const fn unix_nanos(self) -> u64 {
        self.0
    }

    /// Its eight bytes, most significant first, for a binary message.
    ///
    /// # Examples
    /// ```
    /// let stamp = ttk_core::Stamp::from_unix_nanos(0x0102);
    /// assert_eq!(stamp.to_be_bytes(), [0, 0, 0, 0, 0, 0, 1, 2]);
    /// ```
    pub const fn to_be_bytes(self) -> [u8; 8] {
        self.0.to_be_bytes()
    }

    /// The stamp of eight bytes made by [`Stamp::to_be_bytes`].
    ///
    /// # Examples
    /// ```
    /// let stamp = ttk_core::Stamp::from_be_bytes([0, 0, 0, 0, 0, 0, 1, 2]);
    /// assert_eq!(stamp.unix_nanos(), 0x0102);
    /// ```
    pub const fn from_be_bytes(bytes: [u8; 8]) -> Stamp {
        Stamp(u64::from_be_bytes(bytes))
    }

    /// How long after `earlier` this stamp is (zero if it is not after it).
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// use ttk_core::Stamp;
    ///
    /// let sent = Stamp::from_unix_nanos(1_000);
    /// let seen = Stamp::from_unix_nanos(4_000);
    /// assert_eq!(seen.since(sent), Duration::from_nanos(3_000));
    /// assert_eq!(sent.since(seen), Duration::ZERO);
    /// ```
    pub fn since(self, earlier: Stamp) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(earlier.0))
    }
}

impl fmt::Debug for Stamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Stamp({}.{:09})",
            self.0 / 1_000_000_000,
            self.0 % 1_000_000_000
        )
    }
}

/// The process's one reading of the wall clock, and the monotonic instant it was read at:
/// stamps are that reading plus the monotonic time since.
fn origin() -> (Instant, u64) {
    static ORIGIN: OnceLock<(Instant, u64)> = OnceLock::new();
    *ORIGIN.get_or_init(|| {
        let unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| {
                u64::try_from(since.as_nanos()).unwrap_or(u64::MAX)
            });
        (Instant::now(), unix)
    })
}

/// The stamp of `instant` (on the process's one clock).
fn stamp_of(instant: Instant) -> Stamp {
    let (at, unix) = origin();
    let nanos = match instant.checked_duration_since(at) {
        Some(after) => unix.saturating_add(u64::try_from(after.as_nanos()).unwrap_or(u64::MAX)),
        None => unix.saturating_sub(
            u64::try_from(at.duration_since(instant).as_nanos()).unwrap_or(u64::MAX),
        ),
    };
    Stamp(nanos)
}

/// # Propagation latency
///
/// ```
/// # use ttk_macros::bot;
/// use std::time::Duration;
/// use ttk_core::{Cx, Stamp};
///
/// // Bot 0 acts and tells bot 1, which sees it 30 ms later.
/// #[bot(crate = ttk_core)]
/// fn relay(cx: Cx<Stamp>, id: usize) -> Option<Duration> {
///     if id == 0 {
///         cx.send(1, cx.stamp());
///         return None;
///     }
///     let message = ttk_core::yield_!(cx.recv());
///     ttk_core::yield_!(ttk_core::sleep(Duration::from_millis(30)));
///     Some(cx.observed("fan-out", message.data))
/// }
///
/// let seen = ttk_core::Runtime::new().virtual_time(true).run(2, relay);
/// assert_eq!(seen[1], Some(Duration::from_millis(30)));
/// ```
impl<M, W> Cx<M, W> {
    /// Now, as a stamp to carry in a message: the loop's clock (virtual time under a virtual
    /// clock) on the process's reading of the wall clock.
    ///
    /// # Panics
    /// Outside a running loop.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// use std::time::Duration;
    /// use ttk_core::{Cx, Runtime};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn twice(cx: Cx, _id: usize) -> Duration {
    ///     let first = cx.stamp();
    ///     ttk_core::yield_!(ttk_core::sleep(Duration::from_millis(7)));
    ///     cx.stamp().since(first)
    /// }
    ///
    /// assert_eq!(Runtime::new().virtual_time(true).run(1, twice), [Duration::from_millis(7)]);
    /// ```
    pub fn stamp(&self) -> Stamp {
        stamp_of(crate::time::now())
    }

    /// Records, as the latency `name`, how long after `stamp` this bot observes what it
    /// stamped, and returns it. Exact between bots of one process (one clock); across
    /// processes or machines, as exact as their wall clocks agree (NTP keeps machines within a
    /// millisecond or so; `chronyc tracking` tells). A stamp from the future — the other
    /// machine's clock ahead of this one's — is recorded as zero and counted in the counter
    /// `"{name}: observed before stamped"`, so a skew shows instead of hiding in the latencies.
    ///
    /// # Panics
    /// Outside a running loop.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// use std::time::Duration;
    /// use ttk_core::{Cx, Runtime, Stamp};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn watcher(cx: Cx, _id: usize) -> (Duration, Duration) {
    ///     let acted = cx.stamp();
    ///     ttk_core::yield_!(ttk_core::sleep(Duration::from_millis(12)));
    ///     let late = cx.observed("update seen", acted);
    ///     // A stamp from a clock ahead of this one's.
    ///     let ahead = Stamp::from_unix_nanos(cx.stamp().unix_nanos() + 1_000_000);
    ///     (late, cx.observed("update seen", ahead))
    /// }
    ///
    /// let seen = Runtime::new().virtual_time(true).run(1, watcher);
    /// assert_eq!(seen[0], (Duration::from_millis(12), Duration::ZERO));
    /// ```
    pub fn observed(&self, name: &str, stamp: Stamp) -> Duration {
        let now = self.stamp();
        if now < stamp {
            self.count(&format!("{name}: observed before stamped"), 1);
        }
        let latency = now.since(stamp);
        self.record(name, latency);
        latency
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_follow_the_monotonic_clock_from_one_wall_clock_reading() {
        let (at, unix) = origin();
        assert_eq!(stamp_of(at), Stamp(unix));
        let later = at + Duration::from_millis(1500);
        assert_eq!(
            stamp_of(later).since(stamp_of(at)),
            Duration::from_millis(1500)
        );
        let wall = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        let now = stamp_of(Instant::now());
        // One reading of the wall clock, then the monotonic clock: they agree to well under a
        // second over a test's life.
        assert!(now.unix_nanos().abs_diff(wall.as_nanos() as u64) < 1_000_000_000);
    }
}
