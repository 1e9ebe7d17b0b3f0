//! Reusable barriers: a set of bots meets, then all go on in the same tick.

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll};

use crate::context::with_loop;
use crate::loop_state::LoopState;

/// A barrier for `parties` bots, reusable round after round (every round of a game).
///
/// `yield_!(barrier.wait())` parks the bot until `parties` bots have arrived; then all of them
/// go on together in the next tick. A barrier that can never complete does not hang: when a bot
/// that has waited on it finishes or panics, or when every bot of the loop is finished or
/// parked, its waiters are released with a [`BarrierError`]. Clones share the barrier.
///
/// # Examples
/// ```
/// # use ttk_macros::bot;
/// use ttk_core::{Barrier, Cx};
///
/// #[bot(crate = ttk_core)]
/// fn rounds(_cx: Cx, id: usize, barrier: Barrier) -> Vec<u64> {
///     let mut ticks = Vec::new();
///     for _ in 0..3 {
///         // Bots arrive at different times...
///         for _ in 0..id {
///             ttk_core::yield_!();
///         }
///         ttk_core::yield_!(barrier.wait()).expect("nobody leaves early");
///         // ...and leave together.
///         ticks.push(ttk_core::tick());
///     }
///     ticks
/// }
///
/// let barrier = Barrier::new(3);
/// let ticks = ttk_core::run(3, |cx, id| rounds(cx, id, barrier.clone()));
/// assert!(ticks.iter().all(|t| *t == ticks[0]));
/// ```
#[derive(Clone)]
pub struct Barrier {
    /// The shared state.
    inner: Rc<RefCell<BarrierState>>,
}

/// The state of a [`Barrier`].
#[derive(Debug)]
pub(crate) struct BarrierState {
    /// How many bots make a round (for a group's barrier: its member count when last checked).
    parties: usize,
    /// For a group's barrier: the group, whose current members make a round.
    group: Option<String>,
    /// Bots waiting in the current round.
    waiting: Vec<u32>,
    /// Every bot that has ever waited here (its exit breaks the barrier).
    members: Vec<u32>,
    /// Completed rounds.
    generation: u64,
    /// Why the barrier can no longer complete, once it cannot.
    broken: Option<BarrierError>,
    /// The loop it is registered with (for exits and stalls), by loop id.
    registered_with: Option<u64>,
}

impl Barrier {
    /// A barrier for `parties` bots (at least 1).
    pub fn new(parties: usize) -> Barrier {
        Barrier::with_parties(parties, None)
    }

    /// A barrier whose round is `parties` bots, or the members of `group`.
    fn with_parties(parties: usize, group: Option<String>) -> Barrier {
        Barrier {
            inner: Rc::new(RefCell::new(BarrierState {
                parties: parties.max(1),
                group,
                waiting: Vec::new(),
                members: Vec::new(),
                generation: 0,
                broken: None,
                registered_with: None,
            })),
        }
    }

    /// How many bots make a round.
    pub fn parties(&self) -> usize {
        self.inner.borrow().parties
    }

    /// Waits until `parties` bots have arrived: `yield_!(barrier.wait())`.
    ///
    /// # Errors
    /// [`BarrierError`] if the round can never complete.
    pub fn wait(&self) -> BarrierWait {
        BarrierWait {
            inner: Rc::clone(&self.inner),
            arrived: None,
        }
    }
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.inner.borrow();
        f.debug_struct("Barrier")
            .field("parties", &state.parties)
            .field("waiting", &state.waiting.len())
            .field("generation", &state.generation)
            .finish()
    }
}

/// Arrival at a [`Barrier`]; made by [`Barrier::wait`].
#[derive(Debug)]
#[must_use = "a barrier wait does nothing unless waited on with yield_!"]
pub struct BarrierWait {
    /// The barrier.
    inner: Rc<RefCell<BarrierState>>,
    /// Once arrived: (this bot, the round it arrived in, whether it completed the round).
    arrived: Option<(u32, u64, bool)>,
}

/// What a bot learns when a round completes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BarrierWaitResult {
    /// Whether this bot was the last to arrive.
    leader: bool,
}

impl BarrierWaitResult {
    /// Whether this bot was the last to arrive (exactly one per round is).
    pub fn is_leader(&self) -> bool {
        self.leader
    }
}

impl Future for BarrierWait {
    type Output = Result<BarrierWaitResult, BarrierError>;

    fn poll(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Self::Output> {
        with_loop(|state| {
            let this = &mut *self;
            let mut barrier = this.inner.borrow_mut();
            if let Some((_, round, leader)) = this.arrived {
                if barrier.generation > round {
                    return Poll::Ready(Ok(BarrierWaitResult { leader }));
                }
                if let Some(error) = &barrier.broken {
                    return Poll::Ready(Err(error.clone()));
                }
                return Poll::Pending;
            }
            if barrier.registered_with != Some(state.id()) {
                // First use in this run: what an earlier run left (its bots, its breakage)
                // does not apply to this one.
                barrier.registered_with = Some(state.id());
                barrier.waiting.clear();
                barrier.members.clear();
                barrier.broken = None;
                state.watch_barrier(Rc::downgrade(&this.inner));
            }
            if let Some(error) = &barrier.broken {
                return Poll::Ready(Err(error.clone()));
            }
            let me = state.current();
            if !barrier.members.contains(&me) {
                barrier.members.push(me);
            }
            barrier.waiting.push(me);
            let round = barrier.generation;
            let complete = match &barrier.group {
                Some(group) => {
                    let members = state.groups.borrow().members_seen_by(me, group);
                    barrier.parties = members.len().max(1);
                    members
                        .iter()
                        .all(|member| barrier.waiting.contains(member))
                }
                None => barrier.waiting.len() >= barrier.parties,
            };
            if complete {
                barrier.release(state);
            }
            this.arrived = Some((me, round, complete));
            Poll::Pending
        })
    }
}

impl Drop for BarrierWait {
    /// A bot that stops waiting (a timeout, say) no longer counts as arrived.
    fn drop(&mut self) {
        if let Some((me, round, _)) = self.arrived
            && let Ok(mut barrier) = self.inner.try_borrow_mut()
            && barrier.generation == round
            && let Some(position) = barrier.waiting.iter().position(|&bot| bot == me)
        {
            barrier.waiting.remove(position);
        }
    }
}

impl BarrierState {
    /// Completes the round: everyone waiting (the last arriver included) goes on in the next
    /// tick, together.
    fn release(&mut self, state: &LoopState) {
        self.generation += 1;
        for bot in self.waiting.drain(..) {
            state.wake(bot);
        }
    }

    /// Breaks the barrier, waking its waiters so they see `error`.
    fn break_with(&mut self, error: BarrierError, state: &LoopState) {
        if self.broken.is_none() {
            self.broken = Some(error);
        }
        for bot in self.waiting.drain(..) {
            state.wake(bot);
        }
    }
}

/// Called when `bot` finishes or fails: a barrier of fixed parties it has waited on can no
/// longer complete. (A group's barrier carries on with the members left: see [`regroup`].)
pub(crate) fn bot_exited(barrier: &Weak<RefCell<BarrierState>>, bot: u32, state: &LoopState) {
    if let Some(barrier) = barrier.upgrade() {
        let mut barrier = barrier.borrow_mut();
        if barrier.group.is_none() && barrier.members.contains(&bot) {
            barrier.break_with(BarrierError::PartyFinished { bot: bot as usize }, state);
        }
    }
}

/// Called after the tick's group changes: a group's barrier whose waiters are now all of the
/// group's members (someone left or finished) completes its round.
pub(crate) fn regroup(barrier: &Weak<RefCell<BarrierState>>, state: &LoopState) {
    let Some(barrier) = barrier.upgrade() else {
        return;
    };
    let mut barrier = barrier.borrow_mut();
    let Some(group) = barrier.group.clone() else {
        return;
    };
    if barrier.waiting.is_empty() || barrier.broken.is_some() {
        return;
    }
    let members = state.groups.borrow().members(&group);
    barrier.parties = members.len().max(1);
    if members
        .iter()
        .all(|member| barrier.waiting.contains(member))
    {
        barrier.release(state);
    }
}

/// Called when nothing can wake any bot: releases the waiters; true if there were any.
pub(crate) fn loop_stalled(barrier: &Weak<RefCell<BarrierState>>, state: &LoopState) -> bool {
    let Some(barrier) = barrier.upgrade() else {
        return false;
    };
    let mut barrier = barrier.borrow_mut();
    if barrier.waiting.is_empty() {
        return false;
    }
    let error = BarrierError::Stalled {
        arrived: barrier.waiting.len(),
        parties: barrier.parties,
    };
    barrier.break_with(error, state);
    true
}

/// # Barriers
///
/// ```
/// # use ttk_macros::bot;
/// use ttk_core::Cx;
///
/// #[bot(crate = ttk_core)]
/// fn table(cx: Cx, id: usize) -> u64 {
///     cx.join("table");
///     ttk_core::yield_!();
///     for _ in 0..id {
///         ttk_core::yield_!(); // arrive at different times
///     }
///     let meeting = cx.group_barrier("table");
///     ttk_core::yield_!(meeting.wait()).expect("the table meets");
///     ttk_core::tick()
/// }
///
/// let ticks = ttk_core::run(3, table);
/// assert!(ticks.iter().all(|t| *t == ticks[0]), "{ticks:?}");
/// ```
impl<M, W> crate::Cx<M, W> {
    /// The barrier of `group`, shared by every bot of the loop that asks for it: a round
    /// completes when all of the group's current members wait on it. A member that leaves the
    /// group or finishes no longer counts, so the others go on without it.
    pub fn group_barrier(&self, group: &str) -> Barrier {
        with_loop(|state| {
            let mut barriers = state.group_barriers.borrow_mut();
            barriers
                .entry(group.to_owned())
                .or_insert_with(|| Barrier::with_parties(1, Some(group.to_owned())))
                .clone()
        })
    }
}

/// Why a barrier released its waiters without completing a round.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BarrierError {
    /// A bot that had waited on the barrier finished or panicked, so a round can never gather
    /// all parties again.
    PartyFinished {
        /// The bot.
        bot: usize,
    },
    /// Every bot of the loop was finished or parked with too few at the barrier.
    Stalled {
        /// Bots that had arrived.
        arrived: usize,
        /// Bots needed.
        parties: usize,
    },
}

impl fmt::Display for BarrierError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BarrierError::PartyFinished { bot } => write!(
                f,
                "barrier broken: bot {bot}, one of its parties, finished or panicked"
            ),
            BarrierError::Stalled { arrived, parties } => write!(
                f,
                "barrier can never complete: {arrived} of {parties} parties arrived and no other \
                 bot can come"
            ),
        }
    }
}

impl std::error::Error for BarrierError {}
