//! Waits on the selector that end on time. epoll takes its timeout in whole milliseconds, and
//! mio rounds it up, so while some bots wait on I/O a timer of another would fire up to a
//! millisecond late — half a millisecond on average: a think time, a rate's next arrival, a
//! datagram an emulated link holds back, all late by that much. A timerfd registered with the
//! selector wakes it at the deadline itself; the selector's own timeout, a millisecond later,
//! stays as a backstop.
//!
//! Costs a `timerfd_settime` per wait whose deadline is near (50 ms or less) and in another
//! 100 µs step of a grid than the one armed — none for a wait epoll ends within the step itself,
//! or of no timeout; a far deadline costs one early wake instead. The timer is never read:
//! re-arming it clears it, and the selector is edge-triggered.

use std::io;
use std::time::{Duration, Instant};

use mio::{Registry, Token};

/// The selector's token for the timer.
pub(crate) const PRECISE_TOKEN: Token = Token(usize::MAX - 1);

/// The timer's grid: it is armed for a deadline rounded up to it, so the waits of many
/// deadlines close together (an emulated link's datagrams, a fast rate's arrivals) share one
/// arming; a timer fires at most this late.
const GRID: Duration = Duration::from_micros(100);
/// A wait longer than this ends `EARLY` before its deadline, and the next arms the timer.
const FAR: Duration = Duration::from_millis(50);
const EARLY: Duration = Duration::from_millis(20);

/// A timerfd on the selector, armed for the next wait's end.
#[derive(Debug)]
pub(crate) struct PreciseWait {
    #[cfg(target_os = "linux")]
    timer: std::os::fd::OwnedFd,
    /// Where the grid starts.
    base: Instant,
    /// The grid point it is armed for, until it fires.
    armed: Option<u64>,
}

/// Says once per process that precise waits are off, and what that costs: a loop without them
/// still runs, its timers up to a millisecond late while bots wait on I/O (epoll's whole
/// milliseconds), which a user reading sub-millisecond latencies should know.
#[cfg(target_os = "linux")]
fn warn_once(error: &std::io::Error) {
    static WARNED: std::sync::Once = std::sync::Once::new();
    WARNED.call_once(|| {
        eprintln!(
            "warning: no timerfd for precise waits ({error}): timers may fire up to 1 ms late \
             while bots wait on I/O"
        );
    });
}

impl PreciseWait {
    /// A timer registered with `registry` (`None` where the system has no timerfd).
    pub(crate) fn new(registry: &Registry) -> Option<PreciseWait> {
        #[cfg(target_os = "linux")]
        {
            use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
            // SAFETY: timerfd_create takes no pointers; a negative result is an error, checked.
            let fd = unsafe {
                libc::timerfd_create(
                    libc::CLOCK_MONOTONIC,
                    libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
                )
            };
            if fd < 0 {
                warn_once(&std::io::Error::last_os_error());
                return None;
            }
            // SAFETY: `fd` was just made and is owned by nothing else.
            let timer = unsafe { OwnedFd::from_raw_fd(fd) };
            let raw = timer.as_raw_fd();
            if let Err(error) = registry.register(
                &mut mio::unix::SourceFd(&raw),
                PRECISE_TOKEN,
                mio::Interest::READABLE,
            ) {
                warn_once(&error);
                return None;
            }
            Some(PreciseWait {
                timer,
                base: Instant::now(),
                armed: None,
            })
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = registry;
            None
        }
    }

    /// The selector's timeout for a wait that is to end `timeout` from now: `timeout` itself
    /// if it is whole milliseconds; else, with the timer armed for its end, a millisecond more
    /// (the backstop).
    pub(crate) fn timeout_for(&mut self, timeout: Duration) -> Duration {
        if timeout.subsec_nanos().is_multiple_of(1_000_000) {
            return timeout;
        }
        if timeout > FAR {
            // A far deadline (a request's timeout, mostly) moves at every request; the timer is
            // armed only once it is near: the selector wakes a little before it, and the wait
            // after is timed to the microsecond.
            return timeout - EARLY;
        }
        let late_by_epoll = Duration::from_millis(1)
            - Duration::from_nanos(u64::from(timeout.subsec_nanos() % 1_000_000));
        if late_by_epoll < GRID {
            // epoll's own rounding is within the grid.
            return timeout;
        }
        let now = Instant::now();
        let grid = GRID.as_nanos() as u64;
        let point = ((now + timeout)
            .saturating_duration_since(self.base)
            .as_nanos() as u64)
            .div_ceil(grid);
        if self.armed != Some(point) {
            let at = self.base + Duration::from_nanos(point * grid);
            if self.arm(at.saturating_duration_since(now)).is_err() {
                return timeout;
            }
            self.armed = Some(point);
        }
        timeout + Duration::from_millis(1)
    }

    /// The timer fired: the next wait arms it again, whatever its deadline.
    pub(crate) fn fired(&mut self) {
        self.armed = None;
    }

    #[cfg(target_os = "linux")]
    fn arm(&self, timeout: Duration) -> io::Result<()> {
        use std::os::fd::AsRawFd;
        let value = libc::itimerspec {
            it_interval: libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: libc::timespec {
                tv_sec: timeout.as_secs() as libc::time_t,
                // A zero value would disarm it: the earliest is a nanosecond.
                tv_nsec: (timeout.subsec_nanos().max(1)) as libc::c_long,
            },
        };
        // SAFETY: `value` is a valid itimerspec for the call's duration; the old value is not
        // asked for (null).
        let result = unsafe {
            libc::timerfd_settime(self.timer.as_raw_fd(), 0, &value, std::ptr::null_mut())
        };
        match result {
            0 => Ok(()),
            _ => Err(io::Error::last_os_error()),
        }
    }

    #[cfg(not(target_os = "linux"))]
    fn arm(&self, _timeout: Duration) -> io::Result<()> {
        Err(io::ErrorKind::Unsupported.into())
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn waits_between_milliseconds_arm_the_timer_and_others_do_not() {
        let poll = mio::Poll::new().unwrap();
        let mut precise = PreciseWait::new(poll.registry()).unwrap();
        // Whole milliseconds: epoll's own timeout is exact enough.
        assert_eq!(
            precise.timeout_for(Duration::from_millis(3)),
            Duration::from_millis(3)
        );
        assert_eq!(precise.armed, None);
        // Far: an early wake instead, no arming.
        let far = Duration::from_micros(2_000_500);
        assert_eq!(precise.timeout_for(far), far - EARLY);
        assert_eq!(precise.armed, None);
        // Near, between milliseconds: armed, the selector's timeout a backstop past it.
        let near = Duration::from_micros(2_500);
        let started = Instant::now();
        assert_eq!(precise.timeout_for(near), near + Duration::from_millis(1));
        assert!(precise.armed.is_some());
        // The timer wakes the selector at its deadline.
        let mut events = mio::Events::with_capacity(4);
        let mut poll = poll;
        poll.poll(&mut events, Some(near + Duration::from_millis(1)))
            .unwrap();
        let woke = started.elapsed();
        assert!(events.iter().any(|event| event.token() == PRECISE_TOKEN));
        assert!(woke >= near, "woke after {woke:?}, before the deadline");
        precise.fired();
        assert_eq!(precise.armed, None);
    }
}
