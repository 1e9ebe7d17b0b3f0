//! The loops of a run on several workers, linked: each knows when it may wait for the others,
//! and the run knows when every loop waits for the others (the whole run has stalled).
//!
//! A loop whose bots all wait for messages has not stalled while another loop could still send
//! one; it parks until a peer wakes it. The run has stalled when every loop still running is
//! parked so and no message is on its way between loops: the last loop to park sees it and
//! wakes the others, and each ends as stalled. Messages on their way are counted before they
//! are handed over and uncounted once taken in, so a parked loop with mail coming is never
//! taken for stalled.
//!
//! The link also knows which loop each group lives on: a group's members must share a loop
//! (see [`Linked::claim_group`]).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};

use crate::feature::Feature;
use crate::loop_state::LoopState;

/// What the loops of one run share.
#[derive(Debug)]
pub(crate) struct Link {
    /// Each loop's wake-up: interrupts its wait.
    doors: Box<[OnceLock<Weak<mio::Waker>>]>,
    /// Loops parked waiting for peers.
    parked: AtomicUsize,
    /// Loops whose run is over.
    finished: AtomicUsize,
    /// Messages handed to a loop and not yet taken in by it.
    in_flight: AtomicUsize,
    /// Set once every loop still running waits for the others, with nothing on its way.
    stalled: AtomicBool,
    /// Which loop each group lives on, by name.
    group_homes: Mutex<HashMap<String, usize>>,
}

impl Link {
    /// A link for `loops` loops.
    pub(crate) fn new(loops: usize) -> Arc<Link> {
        Arc::new(Link {
            doors: (0..loops).map(|_| OnceLock::new()).collect(),
            parked: AtomicUsize::new(0),
            finished: AtomicUsize::new(0),
            in_flight: AtomicUsize::new(0),
            stalled: AtomicBool::new(false),
            group_homes: Mutex::new(HashMap::new()),
        })
    }

    /// How many loops the run has.
    pub(crate) fn loops(&self) -> usize {
        self.doors.len()
    }

    /// Interrupts loop `lane`'s wait (it takes in what was handed to it).
    pub(crate) fn knock(&self, lane: usize) {
        if let Some(waker) = self.doors[lane].get().and_then(Weak::upgrade) {
            // A failed wake means the loop is gone: nobody is left to read the mail.
            let _ = waker.wake();
        }
    }

    /// Counts `count` messages as on their way (before they are handed over).
    pub(crate) fn sending(&self, count: usize) {
        self.in_flight.fetch_add(count, Ordering::AcqRel);
    }

    /// Uncounts `count` messages taken in.
    pub(crate) fn received(&self, count: usize) {
        self.in_flight.fetch_sub(count, Ordering::AcqRel);
    }

    /// Whether every loop still running waits for the others with nothing on its way; if so,
    /// marks the run stalled and wakes every loop to end it.
    fn check_stalled(&self) -> bool {
        if self.stalled.load(Ordering::Acquire) {
            return true;
        }
        let waiting = self.parked.load(Ordering::Acquire) + self.finished.load(Ordering::Acquire);
        if waiting < self.loops() || self.in_flight.load(Ordering::Acquire) != 0 {
            return false;
        }
        self.stalled.store(true, Ordering::Release);
        for lane in 0..self.loops() {
            self.knock(lane);
        }
        true
    }
}

/// A loop's end of the link, as a feature of the loop.
#[derive(Debug)]
pub(crate) struct Linked {
    /// The run's link.
    link: Arc<Link>,
    /// This loop's place in it.
    lane: usize,
    /// Whether this loop counts as parked now.
    parked: std::cell::Cell<bool>,
}

impl Linked {
    /// Joins loop `state`, lane `lane`, to `link`.
    pub(crate) fn install(state: &LoopState, link: Arc<Link>, lane: usize) -> std::io::Result<()> {
        let remote = state.remote()?;
        let _ = link.doors[lane].set(Arc::downgrade(&remote.waker()));
        state
            .features()
            .get_or_insert(crate::feature::Stage::Exchange, || Linked {
                link,
                lane,
                parked: std::cell::Cell::new(false),
            });
        Ok(())
    }

    /// This loop's lane.
    pub(crate) fn lane(&self) -> usize {
        self.lane
    }

    /// Claims group `name` for this loop, or says which loop it lives on: a group's members
    /// must share a loop, since what a group promises (members seen at a tick's end, group
    /// barriers that complete in the tick the last member arrives) needs one clock of ticks,
    /// and loops on different threads share none.
    pub(crate) fn claim_group(&self, name: &str) -> Result<(), usize> {
        let mut homes = self
            .link
            .group_homes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let home = *homes.entry(name.to_owned()).or_insert(self.lane);
        match home == self.lane {
            true => Ok(()),
            false => Err(home),
        }
    }
}

impl Feature for Linked {
    fn hold_for_peers(&self, _state: &LoopState) -> bool {
        if !self.parked.replace(true) {
            self.link.parked.fetch_add(1, Ordering::AcqRel);
        }
        !self.link.check_stalled()
    }

    fn peers_woke(&self, _state: &LoopState) {
        if self.parked.replace(false) {
            self.link.parked.fetch_sub(1, Ordering::AcqRel);
        }
    }

    fn run_ended(&self, state: &LoopState) {
        self.peers_woke(state);
        self.link.finished.fetch_add(1, Ordering::AcqRel);
        // This loop's end may leave the others all waiting for one another.
        self.link.check_stalled();
    }
}
