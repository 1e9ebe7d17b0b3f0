//! The ready queue: which bots run in the coming tick, and in what order.

use std::cell::UnsafeCell;

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
///
/// Two plain vectors rather than one ring: a tick runs exactly the bots queued when it began and
/// everything queued during it runs in the next, so the tick reads one vector front to back
/// while pushes append to the other, and the two swap at the start of each tick. A pop is a
/// load and a cursor bump, a push an append: no wrap-around arithmetic on the hot path.
#[derive(Debug, Default)]
struct Queue {
    /// The bots of the running tick, in run order; those before `cursor` have run.
    now: Vec<u32>,
    /// The next bot of `now` to run.
    cursor: usize,
    /// The bots queued for the next tick, in run order.
    next: Vec<u32>,
    /// `queued[i]` is true while bot `i` is in `now` (not yet run), in `next`, or being polled.
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

    /// Makes room for bot indices below `bots` (none of them queued). Each bot is queued at
    /// most once, so neither vector ever holds more than `bots` entries: reserving that much up
    /// front spares them growing by doubling (and overshooting, and copying) a push at a time.
    pub(crate) fn grow_to(&self, bots: u32) {
        self.with(|queue| {
            let bots = bots as usize;
            if queue.queued.len() < bots {
                queue.queued.resize(bots, false);
                queue
                    .next
                    .reserve_exact(bots.saturating_sub(queue.next.len()));
            }
        });
    }

    /// How many bots are queued (not yet run).
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.with(|queue| queue.now.len() - queue.cursor + queue.next.len())
    }

    /// Starts a tick: the bots queued so far are the ones [`ReadyQueue::pop`] hands out until
    /// the next call; bots pushed meanwhile wait for it.
    pub(crate) fn begin_tick(&self) {
        self.with(|queue| {
            if queue.cursor < queue.now.len() {
                // A tick left unfinished (never, today): its bots run first.
                queue.now.drain(..queue.cursor);
                queue.now.append(&mut queue.next);
            } else {
                std::mem::swap(&mut queue.now, &mut queue.next);
                queue.next.clear();
            }
            queue.cursor = 0;
            let bots = queue.queued.len();
            queue
                .next
                .reserve_exact(bots.saturating_sub(queue.next.len()));
        });
    }

    /// The bots of the running tick from the next one to run: `(first, count, cursor)`, the
    /// cursor being how many of the tick's bots ran before them. The executor
    /// walks them without going back to the queue for each one (the pointer and count stay in
    /// registers across polls), recording its progress with [`ReadyQueue::set_cursor`] so
    /// that a tick resumed after a panic starts at the right bot. While it walks them, nothing
    /// changes or frees the running tick's vector: pushes go to the next tick's, and only
    /// [`ReadyQueue::begin_tick`], between ticks, writes this one.
    #[inline]
    pub(crate) fn rest_of_tick(&self) -> (*const u32, usize, usize) {
        self.with(|queue| {
            let cursor = queue.cursor.min(queue.now.len());
            let rest = &queue.now[cursor..];
            (rest.as_ptr(), rest.len(), cursor)
        })
    }

    /// Records that the executor has taken the running tick's bots before `cursor`. A plain
    /// store of a count the executor keeps in a register: an increment in memory here would
    /// chain every poll of a tick to the one before through the store.
    #[inline]
    pub(crate) fn set_cursor(&self, cursor: usize) {
        self.with(|queue| queue.cursor = cursor);
    }

    /// Takes the next bot of the running tick; its flag stays set until
    /// [`ReadyQueue::requeue`] or [`ReadyQueue::settle`].
    #[inline]
    #[cfg(test)]
    fn pop(&self) -> Option<u32> {
        self.with(|queue| {
            let bot = *queue.now.get(queue.cursor)?;
            queue.cursor += 1;
            Some(bot)
        })
    }

    /// Queues the bot just popped and polled for the next tick (its flag is still set).
    #[inline]
    pub(crate) fn requeue(&self, bot: u32) {
        self.with(|queue| queue.next.push(bot));
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

    /// Queues `bot` for the next tick unless it is queued already (or is not a bot of the
    /// loop).
    #[inline]
    pub(crate) fn push(&self, bot: u32) {
        self.with(|queue| {
            if let Some(flag) = queue.queued.get_mut(bot as usize)
                && !*flag
            {
                *flag = true;
                queue.next.push(bot);
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
        queue.begin_tick();
        assert_eq!(queue.pop(), Some(0));
        queue.push(0);
        queue.settle(0);
        queue.push(0);
        queue.push(0);
        assert_eq!(queue.len(), 3);
        assert_eq!(
            std::iter::from_fn(|| queue.pop()).collect::<Vec<_>>(),
            vec![1, 2],
            "a bot queued during the tick waits for the next"
        );
        queue.begin_tick();
        assert_eq!(queue.pop(), Some(0));
        assert_eq!(queue.pop(), None);
    }
}
