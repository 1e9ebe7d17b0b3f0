//! The ready queue: which bots run in the coming tick, and in what order.

use std::collections::VecDeque;

/// Bot indices waiting to run, plus one flag per bot so a bot is never queued twice.
///
/// A tick pops exactly the entries that were queued when it began
/// ([`ReadyQueue::len`] read at the start); anything pushed during the tick runs in the next one.
#[derive(Debug, Default)]
pub(crate) struct ReadyQueue {
    /// Bot indices in run order.
    order: VecDeque<u32>,
    /// `queued[i]` is true while bot `i` is in `order`.
    queued: Vec<bool>,
}

impl ReadyQueue {
    /// A queue for `bots` bots, holding every one of them in index order (the first tick).
    pub(crate) fn all_ready(bots: u32) -> Self {
        ReadyQueue {
            order: (0..bots).collect(),
            queued: vec![true; bots as usize],
        }
    }

    /// How many bots are queued.
    pub(crate) fn len(&self) -> usize {
        self.order.len()
    }

    /// Takes the next bot to run.
    pub(crate) fn pop(&mut self) -> Option<u32> {
        let bot = self.order.pop_front()?;
        self.queued[bot as usize] = false;
        Some(bot)
    }

    /// Queues `bot` at the back unless it is queued already.
    pub(crate) fn push(&mut self, bot: u32) {
        let flag = &mut self.queued[bot as usize];
        if !*flag {
            *flag = true;
            self.order.push_back(bot);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_tick_is_in_index_order_and_nothing_is_queued_twice() {
        let mut queue = ReadyQueue::all_ready(3);
        queue.push(1);
        assert_eq!(queue.len(), 3);
        assert_eq!(queue.pop(), Some(0));
        queue.push(0);
        queue.push(0);
        assert_eq!(
            std::iter::from_fn(|| queue.pop()).collect::<Vec<_>>(),
            vec![1, 2, 0]
        );
    }
}
