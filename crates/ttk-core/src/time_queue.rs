//! Items by the time they are due, for what a transport holds until later (a datagram an
//! emulated link delays, an action of the loop).
//!
//! Most come in time order already: a fixed delay makes each due after the one before. Those
//! join a queue's end and leave its front, O(1) each, where a heap of a thousand would sift ten
//! levels both ways; the others (an earlier time than the last queued) go to a heap beside it.

use std::cmp::Ordering;
use std::collections::binary_heap::PeekMut;
use std::collections::{BinaryHeap, VecDeque};

/// Items by due time; items of one time leave in the order they came.
///
/// # Examples
/// ```
/// use ttk_core::io::TimeQueue;
///
/// let mut queue = TimeQueue::default();
/// queue.push(10, "b");
/// queue.push(20, "c");
/// queue.push(5, "a"); // earlier than the last: kept aside, still first out
/// queue.push(10, "b2"); // same time as "b": after it
/// assert_eq!(queue.next_at(), Some(5));
/// let mut out = Vec::new();
/// while let Some((_, item)) = queue.pop_due(15) {
///     out.push(item);
/// }
/// assert_eq!(out, ["a", "b", "b2"]);
/// assert_eq!((queue.len(), queue.next_at()), (1, Some(20)));
/// ```
#[derive(Debug)]
pub struct TimeQueue<K, T> {
    /// In order of (time, sequence).
    in_order: VecDeque<Entry<K, T>>,
    /// Those that came earlier than the in-order queue's last.
    aside: BinaryHeap<Entry<K, T>>,
    /// The sequence of the next item: ties leave in the order they came.
    next_seq: u64,
}

impl<K, T> Default for TimeQueue<K, T> {
    fn default() -> Self {
        TimeQueue {
            in_order: VecDeque::new(),
            aside: BinaryHeap::new(),
            next_seq: 0,
        }
    }
}

/// One item, its time and its place among items of that time.
#[derive(Debug)]
struct Entry<K, T> {
    at: K,
    seq: u64,
    item: T,
}

impl<K: Ord, T> Entry<K, T> {
    fn key(&self) -> (&K, u64) {
        (&self.at, self.seq)
    }
}

impl<K: Ord, T> PartialEq for Entry<K, T> {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl<K: Ord, T> Eq for Entry<K, T> {}

impl<K: Ord, T> PartialOrd for Entry<K, T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<K: Ord, T> Ord for Entry<K, T> {
    /// Reversed: the heap's top is the earliest.
    fn cmp(&self, other: &Self) -> Ordering {
        other.key().cmp(&self.key())
    }
}

impl<K: Ord + Copy, T> TimeQueue<K, T> {
    /// Adds `item`, due at `at`.
    ///
    /// # Examples
    /// ```
    /// let mut queue = ttk_core::io::TimeQueue::default();
    /// queue.push(3u64, 'x');
    /// assert_eq!(queue.len(), 1);
    /// ```
    pub fn push(&mut self, at: K, item: T) {
        let seq = self.next_seq;
        self.next_seq += 1;
        let entry = Entry { at, seq, item };
        // Sequences grow, so a time no earlier than the last's is a later (time, sequence).
        match self.in_order.back() {
            Some(last) if at < last.at => self.aside.push(entry),
            _ => self.in_order.push_back(entry),
        }
    }

    /// The earliest item's time.
    ///
    /// # Examples
    /// ```
    /// let mut queue = ttk_core::io::TimeQueue::default();
    /// assert_eq!(queue.next_at(), None);
    /// queue.push(7u64, ());
    /// assert_eq!(queue.next_at(), Some(7));
    /// ```
    pub fn next_at(&self) -> Option<K> {
        match (self.in_order.front(), self.aside.peek()) {
            (Some(a), Some(b)) => Some(a.at.min(b.at)),
            (a, b) => a.or(b).map(|entry| entry.at),
        }
    }

    /// The earliest item and its time, if it is due by `now`.
    ///
    /// # Examples
    /// ```
    /// let mut queue = ttk_core::io::TimeQueue::default();
    /// queue.push(7u64, "later");
    /// assert_eq!(queue.pop_due(6), None);
    /// assert_eq!(queue.pop_due(7), Some((7, "later")));
    /// ```
    pub fn pop_due(&mut self, now: K) -> Option<(K, T)> {
        let aside_first = match (self.in_order.front(), self.aside.peek()) {
            (Some(a), Some(b)) => b.key() < a.key(),
            (None, Some(_)) => true,
            (_, None) => false,
        };
        let entry = match aside_first {
            true => self
                .aside
                .peek_mut()
                .filter(|entry| entry.at <= now)
                .map(PeekMut::pop),
            false => match self.in_order.front() {
                Some(entry) if entry.at <= now => self.in_order.pop_front(),
                _ => None,
            },
        }?;
        Some((entry.at, entry.item))
    }

    /// The earliest item and its time, due or not.
    ///
    /// # Examples
    /// ```
    /// let mut queue = ttk_core::io::TimeQueue::default();
    /// queue.push(9u64, 'b');
    /// queue.push(8, 'a');
    /// assert_eq!(queue.pop_next(), Some((8, 'a')));
    /// ```
    pub fn pop_next(&mut self) -> Option<(K, T)> {
        let at = self.next_at()?;
        self.pop_due(at)
    }

    /// How many items it holds.
    ///
    /// # Examples
    /// ```
    /// let queue = ttk_core::io::TimeQueue::<u64, ()>::default();
    /// assert_eq!(queue.len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.in_order.len() + self.aside.len()
    }

    /// Whether it holds nothing.
    ///
    /// # Examples
    /// ```
    /// let queue = ttk_core::io::TimeQueue::<u64, ()>::default();
    /// assert!(queue.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_leave_in_time_order_whichever_way_they_came() {
        let mut queue = TimeQueue::default();
        // In order, then earlier ones, then ties with both sides, then a long in-order run.
        let times = [10u64, 20, 30, 5, 25, 20, 30, 40, 15, 50, 60, 70];
        for (seq, at) in times.into_iter().enumerate() {
            queue.push(at, seq as u64);
        }
        for seq in 0..10_000u64 {
            queue.push(100 + seq / 3, 100 + seq);
        }
        assert_eq!(queue.next_at(), Some(5));
        assert!(queue.pop_due(4).is_none(), "nothing due before 5");
        let mut order = Vec::new();
        while let Some(popped) = queue.pop_due(u64::MAX) {
            order.push(popped);
        }
        // By time, then in the order pushed (the items are their push order).
        let mut sorted = order.clone();
        sorted.sort();
        assert_eq!(order, sorted);
        assert_eq!(order.len(), times.len() + 10_000);
        assert!(queue.is_empty());
        assert_eq!(queue.next_at(), None);
    }

    #[test]
    fn a_million_items_in_order_with_a_thousand_out_of_it_leave_by_time() {
        let mut queue = TimeQueue::default();
        for k in 0..1_000_000u64 {
            queue.push(k * 10, k);
            if k % 1_000 == 999 {
                // One that comes late: due before the last queued.
                queue.push(k * 10 - 5_000, u64::MAX - k);
            }
        }
        assert_eq!(queue.len(), 1_001_000);
        let mut last = 0;
        let mut count = 0;
        while let Some((at, _)) = queue.pop_due(u64::MAX) {
            assert!(at >= last, "{at} after {last}");
            last = at;
            count += 1;
        }
        assert_eq!(count, 1_001_000);
    }
}
