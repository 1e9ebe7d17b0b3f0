//! The timer heap: bots sleeping until a deadline, with timers that cancel.
//!
//! A binary min-heap of (deadline, sequence) whose entries know their place in a slab, so a
//! timer that is no longer wanted (the operation of a `timeout` won, a `sleep` was dropped) is
//! taken out at once in O(log n): the heap holds live timers only. A stale entry would keep
//! memory until its deadline, wake its bot for nothing, count as pending work (hiding a
//! deadlock) and move a virtual clock to a time nobody waits for.

use std::time::Duration;

/// Deadlines are kept as nanoseconds since the loop's start: a `u64` compares faster than an
/// `Instant` and is half its size, which matters with a million sleeping bots.
pub(crate) type Nanos = u64;

/// Converts a duration to [`Nanos`], saturating (a sleep of ~584 years is "forever").
pub(crate) fn nanos(duration: Duration) -> Nanos {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

/// A handle on a pending timer, to cancel it. The generation tells a live timer from a timer
/// that fired or was cancelled and whose slab entry now serves another.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TimerKey {
    /// The slab index.
    index: u32,
    /// The entry's generation when the timer was set.
    generation: u32,
}

/// One heap entry: ordered by deadline, then by the order timers were set (so equal deadlines
/// fire in the order they were set and runs are deterministic).
#[derive(Clone, Copy, Debug)]
struct HeapEntry {
    /// When it fires.
    deadline: Nanos,
    /// The order it was set in.
    seq: u64,
    /// Its slab index.
    slab: u32,
}

impl HeapEntry {
    /// The sort key.
    #[inline]
    fn key(&self) -> (Nanos, u64) {
        (self.deadline, self.seq)
    }
}

/// One slab entry.
#[derive(Clone, Copy, Debug)]
struct SlabEntry {
    /// The bot to wake.
    bot: u32,
    /// The entry's place in the heap ([`FREE`] when the entry is free).
    position: u32,
    /// Bumped every time the entry is freed.
    generation: u32,
}

/// The `position` of a free slab entry.
const FREE: u32 = u32::MAX;

/// Pending timers.
#[derive(Debug, Default)]
pub(crate) struct Timers {
    /// The heap, earliest first.
    heap: Vec<HeapEntry>,
    /// Entries by slab index.
    slab: Vec<SlabEntry>,
    /// Free slab indices.
    free: Vec<u32>,
    /// Sequence number of the next timer.
    next_seq: u64,
}

impl Timers {
    /// Wakes `bot` at `deadline`; the key cancels it.
    pub(crate) fn insert(&mut self, deadline: Nanos, bot: u32) -> TimerKey {
        let seq = self.next_seq;
        self.next_seq += 1;
        let position = self.heap.len() as u32;
        let index = match self.free.pop() {
            Some(index) => {
                let entry = &mut self.slab[index as usize];
                entry.bot = bot;
                entry.position = position;
                index
            }
            None => {
                self.slab.push(SlabEntry {
                    bot,
                    position,
                    generation: 0,
                });
                self.slab.len() as u32 - 1
            }
        };
        self.heap.push(HeapEntry {
            deadline,
            seq,
            slab: index,
        });
        self.sift_up(position as usize);
        TimerKey {
            index,
            generation: self.slab[index as usize].generation,
        }
    }

    /// Cancels the timer of `key`, if it is still pending; true if it was.
    pub(crate) fn cancel(&mut self, key: TimerKey) -> bool {
        match self.slab.get(key.index as usize) {
            Some(entry) if entry.generation == key.generation && entry.position != FREE => {
                let position = entry.position as usize;
                self.remove_at(position);
                true
            }
            _ => false,
        }
    }

    /// Whether the timer of `key` is still pending (not fired, not cancelled).
    pub(crate) fn is_pending(&self, key: TimerKey) -> bool {
        self.slab
            .get(key.index as usize)
            .is_some_and(|entry| entry.generation == key.generation && entry.position != FREE)
    }

    /// The earliest deadline, if any timer is pending.
    pub(crate) fn next_deadline(&self) -> Option<Nanos> {
        self.heap.first().map(|entry| entry.deadline)
    }

    /// Removes and returns the bot of the earliest timer if it is due at `now`.
    pub(crate) fn pop_due(&mut self, now: Nanos) -> Option<u32> {
        let first = self.heap.first()?;
        if first.deadline > now {
            return None;
        }
        let bot = self.slab[first.slab as usize].bot;
        self.remove_at(0);
        Some(bot)
    }

    /// Whether no timer is pending.
    pub(crate) fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// How many timers are pending.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.heap.len()
    }

    /// Removes the heap entry at `position` and frees its slab entry.
    fn remove_at(&mut self, position: usize) {
        let removed = self.heap.swap_remove(position);
        let entry = &mut self.slab[removed.slab as usize];
        entry.position = FREE;
        entry.generation = entry.generation.wrapping_add(1);
        self.free.push(removed.slab);
        if position < self.heap.len() {
            self.place(position);
            let moved = self.sift_up(position);
            if moved == position {
                self.sift_down(position);
            }
        }
        // A burst of timers (a million bots sleeping once) must not pin its memory for the rest
        // of the run: give it back once the heap is far below its high-water mark.
        if self.heap.capacity() > 1024 && self.heap.len() * 4 < self.heap.capacity() {
            self.heap.shrink_to(self.heap.len() * 2);
        }
    }

    /// Records in the slab that the entry at `position` is there.
    #[inline]
    fn place(&mut self, position: usize) {
        let slab = self.heap[position].slab;
        self.slab[slab as usize].position = position as u32;
    }

    /// Moves the entry at `position` up to its place; returns where it ended.
    fn sift_up(&mut self, mut position: usize) -> usize {
        while position > 0 {
            let parent = (position - 1) / 2;
            if self.heap[parent].key() <= self.heap[position].key() {
                break;
            }
            self.heap.swap(parent, position);
            self.place(position);
            position = parent;
        }
        self.place(position);
        position
    }

    /// Moves the entry at `position` down to its place.
    fn sift_down(&mut self, mut position: usize) {
        let len = self.heap.len();
        loop {
            let left = 2 * position + 1;
            if left >= len {
                break;
            }
            let right = left + 1;
            let child = if right < len && self.heap[right].key() < self.heap[left].key() {
                right
            } else {
                left
            };
            if self.heap[position].key() <= self.heap[child].key() {
                break;
            }
            self.heap.swap(position, child);
            self.place(position);
            position = child;
        }
        self.place(position);
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

    #[test]
    fn a_cancelled_timer_is_gone_and_a_stale_key_cancels_nothing() {
        let mut timers = Timers::default();
        let early = timers.insert(10, 1);
        let late = timers.insert(20, 2);
        assert!(timers.cancel(early));
        assert!(!timers.cancel(early), "cancelled twice");
        assert_eq!(timers.next_deadline(), Some(20));
        // The freed entry serves a new timer; the old key must not cancel it.
        let reused = timers.insert(30, 3);
        assert!(!timers.cancel(early));
        assert_eq!(timers.len(), 2);
        assert_eq!(timers.pop_due(100), Some(2));
        assert!(!timers.cancel(late), "fired timers cannot be cancelled");
        assert!(timers.cancel(reused));
        assert!(timers.is_empty());
    }

    /// A model check against a sorted list: random inserts, cancels and pops at scale.
    #[test]
    fn matches_a_sorted_model_under_random_operations() {
        let mut timers = Timers::default();
        let mut model: Vec<(Nanos, u64, u32, TimerKey)> = Vec::new();
        let mut seq = 0;
        let mut rng = 0x1234_5678_u64;
        let mut next = || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        let mut now = 0;
        for step in 0..200_000u32 {
            match next() % 4 {
                0 | 1 => {
                    let deadline = now + next() % 1000;
                    let key = timers.insert(deadline, step);
                    model.push((deadline, seq, step, key));
                    seq += 1;
                }
                2 if !model.is_empty() => {
                    let victim = (next() % model.len() as u64) as usize;
                    let (_, _, _, key) = model.swap_remove(victim);
                    assert!(timers.cancel(key));
                }
                _ => {
                    now += next() % 50;
                    model.sort_unstable_by_key(|&(deadline, seq, _, _)| (deadline, seq));
                    let due = model.iter().take_while(|entry| entry.0 <= now).count();
                    for (_, _, bot, _) in model.drain(..due) {
                        assert_eq!(timers.pop_due(now), Some(bot));
                    }
                    assert_eq!(timers.pop_due(now), None);
                }
            }
            assert_eq!(timers.len(), model.len());
        }
    }
}
