//! Messages between the loops of a run on several workers.
//!
//! Each loop has an inbox per message type, shared with the other loops: a message to a bot of
//! another loop is put in that loop's inbox, and the loop is knocked on (once per batch: only
//! the message that finds the inbox empty knocks). The loop takes its inbox in at the end of
//! its tick, before delivery, so the message is received on its next tick — or at once, if
//! the loop was waiting. A loop whose run is over closes its inboxes: what comes later is
//! dropped, as a message to a bot that has ended is.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::feature::{Feature, Stage};
use crate::ids::IdSlice;
use crate::link::Link;
use crate::loop_state::LoopState;
use crate::messages;

/// Whom a message from another loop is for.
pub(crate) enum Addressee<M> {
    /// One bot, by id.
    Bot(usize),
    /// Every bot of the loop (a broadcast), each given a copy made with this.
    Everyone(fn(&M) -> M),
}

/// A message from another loop: whom it is for, its sender's id, and the message.
type Letter<M> = (Addressee<M>, usize, M);

/// One loop's inbox of messages from other loops.
struct Inbox<M> {
    /// The messages, and whether the inbox is closed (the loop's run is over).
    queue: Mutex<(bool, Vec<Letter<M>>)>,
    /// Whether messages wait in the queue (read without the lock).
    pending: AtomicBool,
}

/// The inboxes of every loop of a run, for messages of type `M`.
pub(crate) struct Exchange<M> {
    inboxes: Box<[Inbox<M>]>,
}

impl<M> Exchange<M> {
    /// Closes worker `worker`'s inbox (its run is over): what is in it and what comes later is
    /// dropped, and uncounted.
    pub(crate) fn close(&self, worker: usize, link: &Link) {
        let inbox = &self.inboxes[worker];
        let left = {
            let mut queue = inbox.queue.lock().unwrap_or_else(|e| e.into_inner());
            queue.0 = true;
            std::mem::take(&mut queue.1)
        };
        let count = left.len();
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(left)));
        link.received(count);
    }

    /// Inboxes for `loops` loops.
    pub(crate) fn new(loops: usize) -> Arc<Exchange<M>> {
        Arc::new(Exchange {
            inboxes: (0..loops)
                .map(|_| Inbox {
                    queue: Mutex::new((false, Vec::new())),
                    pending: AtomicBool::new(false),
                })
                .collect(),
        })
    }
}

/// A loop's side of the exchange for `M`, as a feature of the loop.
pub(crate) struct CrossMail<M> {
    exchange: Arc<Exchange<M>>,
    link: Arc<Link>,
    /// The ids this loop holds (its lane of the whole run, shards and workers).
    ids: IdSlice,
    /// The lane of this process's first worker: its workers are lanes `first_lane ..
    /// first_lane + workers` (lanes of other processes are out of reach).
    first_lane: usize,
}

impl<M: 'static> CrossMail<M> {
    /// Plugs loop `state`, worker `worker` of this process, into `exchange`.
    pub(crate) fn install(
        state: &LoopState,
        exchange: Arc<Exchange<M>>,
        link: Arc<Link>,
        worker: usize,
    ) {
        let ids = state.bots.borrow().ids();
        let first_lane = ids.lane() - worker;
        state
            .features()
            .get_or_insert(Stage::Exchange, || CrossMail {
                exchange,
                link,
                ids,
                first_lane,
            });
    }

    /// This process's worker that holds lane `lane`, if one does.
    fn worker_of(&self, lane: usize) -> Option<usize> {
        lane.checked_sub(self.first_lane)
            .filter(|&worker| worker < self.exchange.inboxes.len())
    }

    /// Whether bot `id` lives on another loop.
    #[inline]
    pub(crate) fn is_away(&self, id: usize) -> bool {
        !self.ids.holds(id)
    }

    /// Hands `data`, from bot `from`, to the loop that holds bot `to`; gives it back if none
    /// takes it: that loop is another process's (messages do not cross processes), or it has
    /// ended.
    pub(crate) fn post(&self, to: usize, from: usize, data: M) -> Option<M> {
        match self.worker_of(self.ids.owner(to)) {
            Some(worker) => self.put(worker, Addressee::Bot(to), from, data),
            None => Some(data),
        }
    }

    /// Hands a copy of `data`, from bot `from`, to every other loop of the process, for all
    /// its bots.
    pub(crate) fn post_everywhere(&self, from: usize, data: &M)
    where
        M: Clone,
    {
        let me = self.ids.lane() - self.first_lane;
        for worker in (0..self.exchange.inboxes.len()).filter(|&worker| worker != me) {
            // A loop that ended has no bot to miss it.
            drop(self.put(worker, Addressee::Everyone(M::clone), from, data.clone()));
        }
    }

    /// Queues `data` for `worker`'s loop; gives it back if that loop has ended.
    fn put(&self, worker: usize, to: Addressee<M>, from: usize, data: M) -> Option<M> {
        let inbox = &self.exchange.inboxes[worker];
        let refused = {
            let mut queue = inbox.queue.lock().unwrap_or_else(|e| e.into_inner());
            if queue.0 {
                Some(data)
            } else {
                self.link.sending(1);
                queue.1.push((to, from, data));
                None
            }
        };
        // Given back to be dropped outside the lock: its destructor is user code.
        if refused.is_none() && !inbox.pending.swap(true, Ordering::AcqRel) {
            self.link.knock(worker);
        }
        refused
    }

    /// Takes this loop's inbox in: its messages join those sent this tick.
    fn take_in(&self, state: &LoopState) -> bool {
        let inbox = &self.exchange.inboxes[self.ids.lane() - self.first_lane];
        if !inbox.pending.swap(false, Ordering::AcqRel) {
            return false;
        }
        let taken = {
            let mut queue = inbox.queue.lock().unwrap_or_else(|e| e.into_inner());
            std::mem::take(&mut queue.1)
        };
        self.link.received(taken.len());
        for (to, from, data) in taken {
            messages::enqueue_from_afar(state, to, from, data);
        }
        true
    }
}

impl<M: 'static> Feature for CrossMail<M> {
    fn mail_waiting(&self) -> bool {
        self.exchange.inboxes[self.ids.lane() - self.first_lane]
            .pending
            .load(Ordering::Acquire)
    }

    fn end_of_tick(&self, state: &LoopState) {
        self.take_in(state);
    }

    fn peers_woke(&self, state: &LoopState) {
        // No tick runs while the loop waits: deliver now, as the end of a tick would.
        if self.take_in(state) {
            messages::deliver_now::<M>(state);
        }
    }

    fn run_ended(&self, _state: &LoopState) {
        self.exchange
            .close(self.ids.lane() - self.first_lane, &self.link);
    }
}
