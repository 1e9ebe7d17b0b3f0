//! The timer heap: bots sleeping until a deadline.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Duration;

/// Deadlines are kept as nanoseconds since the loop's start: a `u64` compares faster than an
/// `Instant` and makes an entry 16 bytes, which matters with a million sleeping bots.
pub(crate) type Nanos = u64;

/// Converts a duration to [`Nanos`], saturating (a sleep of ~584 years is "forever").
pub(crate) fn nanos(duration: Duration) -> Nanos {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

/// A min-heap of (deadline, sequence, bot).
///
/// Cancellation is lazy: a timer whose bot stopped waiting still fires and gives the bot one
/// spurious poll, which every ttk wait tolerates (it re-checks its own condition). The sequence
/// number makes equal deadlines fire in the order they were set, so runs are deterministic.
#[derive(Debug, Default)]
pub(crate) struct Timers {
    /// Pending timers, earliest first.
    heap: BinaryHeap<Reverse<(Nanos, u64, u32)>>,
    /// Sequence number of the next timer.
    next_seq: u64,
}

impl Timers {
    /// Wakes `bot` at `deadline`.
    pub(crate) fn insert(&mut self, deadline: Nanos, bot: u32) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.heap.push(Reverse((deadline, seq, bot)));
    }

    /// The earliest deadline, if any timer is pending.
    pub(crate) fn next_deadline(&self) -> Option<Nanos> {
        self.heap.peek().map(|Reverse((deadline, _, _))| *deadline)
    }

    /// Removes and returns the bot of the earliest timer if it is due at `now`.
    pub(crate) fn pop_due(&mut self, now: Nanos) -> Option<u32> {
        match self.heap.peek() {
            Some(Reverse((deadline, _, bot))) if *deadline <= now => {
                let bot = *bot;
                self.heap.pop();
                Some(bot)
            }
            _ => None,
        }
    }

    /// Whether no timer is pending.
    pub(crate) fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_timers_pop_in_deadline_then_insertion_order() {
        let mut timers = Timers::default();
        timers.insert(20, 1);
        timers.insert(10, 2);
        timers.insert(10, 0);
        assert_eq!(timers.next_deadline(), Some(10));
        assert_eq!(timers.pop_due(5), None);
        assert_eq!(timers.pop_due(15), Some(2));
        assert_eq!(timers.pop_due(15), Some(0));
        assert_eq!(timers.pop_due(15), None);
        assert_eq!(timers.pop_due(20), Some(1));
        assert!(timers.is_empty());
    }
}
