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
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};

use crate::feature::Feature;
use crate::loop_state::LoopState;

/// What the loops of one run share.
#[derive(Debug)]
pub(crate) struct Link {
    /// Each loop's wake-up: interrupts its wait.
    doors: Box<[OnceLock<Weak<mio::Waker>>]>,
    /// Loops parked waiting for peers, loops finished and messages in flight, in one word (see
    /// [`Counts`]) so that every change sees them all at one instant.
    counts: AtomicU64,
    /// Which loops have finished (each is counted once).
    finished: Box<[AtomicBool]>,
    /// Set once every loop still running waits for the others, with nothing on its way.
    stalled: AtomicBool,
    /// Set once a loop ended at the run's deadline: the others end so too, whatever their
    /// clocks say.
    deadline_reached: AtomicBool,
    /// Which loop each group lives on, by name.
    group_homes: Mutex<HashMap<String, usize>>,
}

/// The fields of [`Link::counts`]: messages in flight in the low 40 bits, then loops parked
/// and loops finished, 12 bits each (loops are at most [`MAX_LOOPS`](crate::stop::MAX_LOOPS)).
struct Counts;

impl Counts {
    const MESSAGE: u64 = 1;
    const PARKED: u64 = 1 << 40;
    const FINISHED: u64 = 1 << 52;
    const LOOP_BITS: u64 = (1 << 12) - 1;

    fn in_flight(word: u64) -> u64 {
        word & (Counts::PARKED - 1)
    }

    fn parked(word: u64) -> u64 {
        (word >> 40) & Counts::LOOP_BITS
    }

    fn finished(word: u64) -> u64 {
        (word >> 52) & Counts::LOOP_BITS
    }
}

impl Link {
    /// A link for `loops` loops.
    pub(crate) fn new(loops: usize) -> Arc<Link> {
        Arc::new(Link {
            doors: (0..loops).map(|_| OnceLock::new()).collect(),
            counts: AtomicU64::new(0),
            finished: (0..loops).map(|_| AtomicBool::new(false)).collect(),
            stalled: AtomicBool::new(false),
            deadline_reached: AtomicBool::new(false),
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
        self.counts
            .fetch_add(count as u64 * Counts::MESSAGE, Ordering::AcqRel);
    }

    /// Uncounts `count` messages taken in (or dropped by a loop that finished).
    pub(crate) fn received(&self, count: usize) {
        if count == 0 {
            return;
        }
        let delta = count as u64 * Counts::MESSAGE;
        let word = self.counts.fetch_sub(delta, Ordering::AcqRel) - delta;
        self.check_stalled(word);
    }

    /// Counts loop `lane` as finished (once; it is no longer parked). Its end may leave the
    /// others all waiting for one another.
    pub(crate) fn finish(&self, lane: usize, was_parked: bool) {
        if self.finished[lane].swap(true, Ordering::AcqRel) {
            return;
        }
        let delta = match was_parked {
            true => Counts::FINISHED - Counts::PARKED,
            false => Counts::FINISHED,
        };
        let word = self
            .counts
            .fetch_add(delta, Ordering::AcqRel)
            .wrapping_add(delta);
        self.check_stalled(word);
    }

    /// Counts a loop as parked; returns whether the run has stalled.
    fn park(&self) -> bool {
        let word = self.counts.fetch_add(Counts::PARKED, Ordering::AcqRel) + Counts::PARKED;
        self.check_stalled(word)
    }

    /// Uncounts a parked loop.
    fn unpark(&self) {
        self.counts.fetch_sub(Counts::PARKED, Ordering::AcqRel);
    }

    /// Whether the run has stalled: now, if `word` (the counts just after a change) says that
    /// every loop still running waits for the others with nothing on its way — then every loop
    /// is woken to end — or before.
    fn check_stalled(&self, word: u64) -> bool {
        if self.stalled.load(Ordering::Acquire) {
            return true;
        }
        let waiting = Counts::parked(word) + Counts::finished(word);
        if waiting < self.loops() as u64 || Counts::in_flight(word) != 0 {
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
        let home = match homes.get(name) {
            Some(&home) => home,
            None => {
                homes.insert(name.to_owned(), self.lane);
                self.lane
            }
        };
        match home == self.lane {
            true => Ok(()),
            false => Err(home),
        }
    }

    /// The loop group `name` lives on, if any loop has claimed it.
    pub(crate) fn group_home(&self, name: &str) -> Option<usize> {
        self.link
            .group_homes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(name)
            .copied()
    }
}

impl Feature for Linked {
    fn hold_for_peers(&self, state: &LoopState) -> bool {
        if self.link.deadline_reached.load(Ordering::Acquire) {
            // A peer ended at the deadline: so does this loop (the wait returns at once).
            state.force_deadline();
            return true;
        }
        if self.parked.replace(true) {
            return !self.link.stalled.load(Ordering::Acquire);
        }
        !self.link.park()
    }

    fn peers_woke(&self, _state: &LoopState) {
        if self.parked.replace(false) {
            self.link.unpark();
        }
    }

    fn run_ended(&self, state: &LoopState) {
        if state.deadline_passed() && !state.stop_requested() {
            // Before this loop counts as finished: a peer parked waiting for it must end at the
            // deadline, not as stalled.
            self.link.deadline_reached.store(true, Ordering::Release);
            for lane in 0..self.link.loops() {
                self.link.knock(lane);
            }
        }
        let was_parked = self.parked.replace(false);
        self.link.finish(self.lane, was_parked);
    }
}
