//! The ready queue: which bots run in the coming tick, and in what order.

use std::cell::UnsafeCell;
use std::collections::VecDeque;

/// Bot indices waiting to run, plus one flag per bot so a bot is never queued twice.
///
/// A bot's flag stays set from the moment it is queued until the executor settles it after its
/// poll: a bot that yields goes back to the queue with no flag work at all ([`ReadyQueue::requeue`]),
/// which is the hot path of a switch. (A wake of the running bot by itself goes through the
/// yield request instead: see `LoopState::wake`.)
///
/// A tick pops exactly the entries that were queued when it began ([`ReadyQueue::len`] read at
/// the start); anything pushed during the tick runs in the next one.
///
/// This is the hottest state of the loop (a pop and a push per switch), so it is reached through
/// `&self` without a `RefCell`'s borrow flag: no method hands out a reference into it or calls
/// code that could come back to it, and the type is not `Sync`, so each method has the queue to
/// itself for its whole body.
#[derive(Debug, Default)]
pub(crate) struct ReadyQueue {
    /// The queue.
    inner: UnsafeCell<Queue>,
}

/// The contents of a [`ReadyQueue`].
#[derive(Debug, Default)]
struct Queue {
    /// Bot indices in run order.
    order: VecDeque<u32>,
    /// `queued[i]` is true while bot `i` is in `order` or being polled.
    queued: Vec<bool>,
}

impl ReadyQueue {
    /// Calls `f` with the queue.
    #[inline]
    fn with<R>(&self, f: impl FnOnce(&mut Queue) -> R) -> R {
        // SAFETY: the queue is only reached through this function, whose callers below never
        // call back into the queue or into user code inside `f`, so no other reference to it
        // exists while `f` runs; `UnsafeCell` makes the type `!Sync`, so no other thread does.
        f(unsafe { &mut *self.inner.get() })
    }

    /// Makes room for bot indices below `bots` (none of them queued).
    pub(crate) fn grow_to(&self, bots: u32) {
        self.with(|queue| {
            if queue.queued.len() < bots as usize {
                queue.queued.resize(bots as usize, false);
            }
        });
    }

    /// How many bots are queued.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.with(|queue| queue.order.len())
    }

    /// Takes the next bot to run; its flag stays set until [`ReadyQueue::requeue`] or
    /// [`ReadyQueue::settle`].
    #[inline]
    pub(crate) fn pop(&self) -> Option<u32> {
        self.with(|queue| queue.order.pop_front())
    }

    /// Queues the bot just popped and polled at the back again (its flag is still set).
    #[inline]
    pub(crate) fn requeue(&self, bot: u32) {
        self.with(|queue| queue.order.push_back(bot));
    }

    /// The bot just popped and polled waits (or is gone): clears its flag.
    #[inline]
    pub(crate) fn settle(&self, bot: u32) {
        self.with(|queue| {
            if let Some(flag) = queue.queued.get_mut(bot as usize) {
                *flag = false;
            }
        });
    }

    /// Queues `bot` at the back unless it is queued already (or is not a bot of the loop).
    #[inline]
    pub(crate) fn push(&self, bot: u32) {
        self.with(|queue| {
            if let Some(flag) = queue.queued.get_mut(bot as usize)
                && !*flag
            {
                *flag = true;
                queue.order.push_back(bot);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bots_run_in_push_order_and_nothing_is_queued_twice() {
        let queue = ReadyQueue::default();
        queue.grow_to(3);
        for bot in [0, 1, 2, 1, 7] {
            queue.push(bot);
        }
        assert_eq!(queue.len(), 3);
        assert_eq!(queue.pop(), Some(0));
        queue.push(0);
        queue.settle(0);
        queue.push(0);
        queue.push(0);
        assert_eq!(
            std::iter::from_fn(|| queue.pop()).collect::<Vec<_>>(),
            vec![1, 2, 0]
        );
    }
}
