//! Reusable barriers: a set of bots meets, then all go on in the same tick.

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll};

use crate::context::{self, with_loop};
use crate::fast_hash::{FastMap, FastSet};
use crate::feature::{Feature, Stage};
use crate::loop_state::LoopState;

/// A barrier for `parties` bots, reusable round after round (every round of a game).
///
/// `yield_!(barrier.wait())` parks the bot until `parties` bots have arrived; then all of them
/// go on together in the next tick. A barrier that can never complete does not hang: when a bot
/// that has waited on it finishes or panics, or when every bot of the loop is finished or
/// parked, its waiters are released with a [`BarrierError`]. Clones share the barrier.
///
/// Every operation costs O(1) (amortized) whatever the number of parties: arrivals, departures
/// (a wait dropped under a `timeout`), a party's exit.
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

/// Who makes a round.
#[derive(Debug)]
enum Round {
    /// A fixed number of bots.
    Fixed(usize),
    /// The members of group `name`, as they are at the end of the tick, counted by its
    /// `meetings`.
    Group {
        name: Rc<str>,
        meetings: &'static dyn GroupMeetings,
    },
}

/// What the barrier of a group's meetings asks of the group: the members, who arrived as one.
/// The groups module, which owns group meetings, answers; barriers know no more of groups than
/// this, so the two modules do not import each other.
pub(crate) trait GroupMeetings: fmt::Debug {
    /// How many members group `id` of `state`'s loop has this tick.
    fn member_count(&self, state: &LoopState, id: u32) -> usize;

    /// Whether `bot` is a member of group `id` of `state`'s loop this tick.
    fn is_committed_member(&self, state: &LoopState, id: u32, bot: u32) -> bool;

    /// Bot `bot` arrived at `barrier`, the meeting of group `name`.
    fn arrival(&self, state: &LoopState, name: &str, bot: u32, barrier: &Rc<RefCell<BarrierState>>);
}

/// "No bot here": a waiter that left its place in `waiting`.
const LEFT: u32 = u32::MAX;

/// The state of a [`Barrier`].
#[derive(Debug)]
pub(crate) struct BarrierState {
    /// Who makes a round.
    round: Round,
    /// Bots waiting in the current round, in arrival order ([`LEFT`] where one left).
    waiting: Vec<u32>,
    /// Each waiting bot's place in `waiting`.
    place: FastMap<u32, usize>,
    /// For a group's barrier: how many waiting bots are members of the group.
    members_waiting: usize,
    /// For a fixed barrier: every bot that has waited here (its exit breaks the barrier).
    parties: FastSet<u32>,
    /// Completed rounds.
    generation: u64,
    /// The last to arrive in the last completed round.
    leader: u32,
    /// Why the barrier can no longer complete, once it cannot.
    broken: Option<BarrierError>,
    /// The loop it is registered with (for exits and stalls), by loop id.
    registered_with: Option<u32>,
    /// Whether a group's barrier is on its group's list of meetings to check this tick.
    pub(crate) queued_for_check: bool,
    /// For a group's barrier: (the loop, the group's number in it), so arrivals reach the group
    /// without looking its name up.
    group_id: Option<(u32, u32)>,
    /// For a group's barrier: how many members a round needs at least (1, or what
    /// [`Cx::group_barrier_of`](crate::Cx::group_barrier_of) asked).
    quorum: usize,
    /// The waiters of rounds of a group's barrier that ended without meeting (a member finished
    /// while they waited for it), by bot, with the round and why: each reads its own once
    /// (later rounds go on).
    failed_waiters: FastMap<u32, (u64, BarrierError)>,
}

impl Barrier {
    /// A barrier for `parties` bots (at least 1).
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// use ttk_core::{Barrier, Cx};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn start_line(_cx: Cx, id: usize, barrier: Barrier) -> u64 {
    ///     for _ in 0..id {
    ///         ttk_core::yield_!(); // arrive late
    ///     }
    ///     ttk_core::yield_!(barrier.wait()).unwrap();
    ///     ttk_core::tick()
    /// }
    ///
    /// let barrier = Barrier::new(2);
    /// let ticks = ttk_core::run(2, |cx, id| start_line(cx, id, barrier.clone()));
    /// assert_eq!(ticks[0], ticks[1]);
    /// ```
    pub fn new(parties: usize) -> Barrier {
        Barrier::with_round(Round::Fixed(parties.max(1)))
    }

    /// The barrier of the meetings of `group`, group number `id` of loop `loop_id`, whose
    /// members `meetings` counts.
    pub(crate) fn for_group(
        group: &Rc<str>,
        loop_id: u32,
        id: u32,
        meetings: &'static dyn GroupMeetings,
    ) -> Barrier {
        let barrier = Barrier::with_round(Round::Group {
            name: Rc::clone(group),
            meetings,
        });
        barrier.inner.borrow_mut().group_id = Some((loop_id, id));
        barrier
    }

    /// A barrier whose round is `round`.
    fn with_round(round: Round) -> Barrier {
        Barrier {
            inner: Rc::new(RefCell::new(BarrierState {
                round,
                waiting: Vec::new(),
                place: FastMap::default(),
                members_waiting: 0,
                parties: FastSet::default(),
                generation: 0,
                leader: LEFT,
                broken: None,
                registered_with: None,
                queued_for_check: false,
                group_id: None,
                quorum: 1,
                failed_waiters: FastMap::default(),
            })),
        }
    }

    /// The barrier whose state is `inner`.
    pub(crate) fn from_state(inner: Rc<RefCell<BarrierState>>) -> Barrier {
        Barrier { inner }
    }

    /// The shared state.
    pub(crate) fn state(&self) -> &Rc<RefCell<BarrierState>> {
        &self.inner
    }

    /// Counts `bot` among the parties of this group barrier with a quorum: its exit while
    /// others wait for it fails their round, even if it never waited itself.
    pub(crate) fn enlist(&self, state: &LoopState, bot: u32) {
        let mut inner = self.inner.borrow_mut();
        if inner.registered_with != Some(state.id()) {
            inner.reset_for(state.id());
            Barriers::of(state).watch(&self.inner);
        }
        if inner.parties.insert(bot) {
            Barriers::of(state).add_party(bot, &self.inner);
        }
    }

    /// How many bots make a round (for a group's barrier: the group's members now, at least its
    /// quorum — 1, or what [`Cx::group_barrier_of`](crate::Cx::group_barrier_of) asked).
    ///
    /// # Examples
    /// ```
    /// use ttk_core::Barrier;
    ///
    /// assert_eq!(Barrier::new(4).parties(), 4);
    /// ```
    pub fn parties(&self) -> usize {
        let state = self.inner.borrow();
        match state.round {
            Round::Fixed(parties) => parties,
            Round::Group { meetings, .. } => crate::context::try_with_loop(|loop_state| {
                state
                    .group_id(loop_state.id())
                    .map_or(0, |id| meetings.member_count(loop_state, id))
            })
            .unwrap_or(0)
            .max(state.quorum),
        }
    }

    /// Waits until `parties` bots have arrived: `yield_!(barrier.wait())`.
    ///
    /// # Errors
    /// [`BarrierError`] if the round can never complete.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// use ttk_core::{Barrier, Cx};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn twice(_cx: Cx, _id: usize, barrier: Barrier) -> usize {
    ///     let mut rounds = 0;
    ///     for _ in 0..2 {
    ///         ttk_core::yield_!(barrier.wait()).expect("everyone comes");
    ///         rounds += 1;
    ///     }
    ///     rounds
    /// }
    ///
    /// let barrier = Barrier::new(3);
    /// assert_eq!(ttk_core::run(3, |cx, id| twice(cx, id, barrier.clone())), [2, 2, 2]);
    /// ```
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
            .field("round", &state.round)
            .field("waiting", &state.place.len())
            .field("generation", &state.generation)
            .finish()
    }
}

/// Arrival at a [`Barrier`]; made by [`Barrier::wait`].
///
/// # Examples
/// ```
/// # use ttk_macros::bot;
/// use ttk_core::{Barrier, BarrierWait, Cx};
///
/// #[bot(crate = ttk_core)]
/// fn arrive(_cx: Cx, _id: usize, barrier: Barrier) -> bool {
///     let wait: BarrierWait = barrier.wait(); // nothing happens until it is waited on
///     ttk_core::yield_!(wait).is_ok()
/// }
///
/// let barrier = Barrier::new(2);
/// assert_eq!(ttk_core::run(2, |cx, id| arrive(cx, id, barrier.clone())), [true, true]);
/// ```
#[derive(Debug)]
#[must_use = "a barrier wait does nothing unless waited on with yield_!"]
pub struct BarrierWait {
    /// The barrier.
    inner: Rc<RefCell<BarrierState>>,
    /// Once arrived: (this bot, the round it arrived in).
    arrived: Option<(u32, u64)>,
}

/// What a bot learns when a round completes.
///
/// # Examples
/// ```
/// # use ttk_macros::bot;
/// use ttk_core::{Barrier, BarrierWaitResult, Cx};
///
/// #[bot(crate = ttk_core)]
/// fn gather(_cx: Cx, _id: usize, barrier: Barrier) -> BarrierWaitResult {
///     ttk_core::yield_!(barrier.wait()).unwrap()
/// }
///
/// let barrier = Barrier::new(3);
/// let results = ttk_core::run(3, |cx, id| gather(cx, id, barrier.clone()));
/// assert_eq!(results.iter().filter(|result| result.is_leader()).count(), 1);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BarrierWaitResult {
    /// Whether this bot was the last to arrive.
    leader: bool,
}

impl BarrierWaitResult {
    /// Whether this bot was the last to arrive (exactly one per round is).
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// use ttk_core::{Barrier, Cx};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn meet(_cx: Cx, id: usize, barrier: Barrier) -> bool {
    ///     if id == 2 {
    ///         ttk_core::yield_!(); // bot 2 comes last
    ///     }
    ///     ttk_core::yield_!(barrier.wait()).unwrap().is_leader()
    /// }
    ///
    /// let barrier = Barrier::new(3);
    /// assert_eq!(ttk_core::run(3, |cx, id| meet(cx, id, barrier.clone())), [false, false, true]);
    /// ```
    pub fn is_leader(&self) -> bool {
        self.leader
    }
}

impl Future for BarrierWait {
    type Output = Result<BarrierWaitResult, BarrierError>;

    fn poll(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Self::Output> {
        with_loop(|state| {
            let this = &mut *self;
            if let Some((me, round)) = this.arrived {
                let mut barrier = this.inner.borrow_mut();
                if barrier.generation > round {
                    if let Some((failed, error)) = barrier.failed_waiters.remove(&me)
                        && failed == round
                    {
                        return Poll::Ready(Err(error));
                    }
                    let leader = barrier.generation == round + 1 && barrier.leader == me;
                    return Poll::Ready(Ok(BarrierWaitResult { leader }));
                }
                if let Some(error) = &barrier.broken {
                    return Poll::Ready(Err(error.clone()));
                }
                return Poll::Pending;
            }
            let me = state.current();
            let mut barrier = this.inner.borrow_mut();
            if barrier.registered_with != Some(state.id()) {
                // First use in this run: what an earlier run left (its bots, its breakage)
                // does not apply to this one.
                barrier.reset_for(state.id());
                Barriers::of(state).watch(&this.inner);
            }
            if let Some(error) = &barrier.broken {
                return Poll::Ready(Err(error.clone()));
            }
            let round = barrier.generation;
            let added = barrier.add_waiter(me);
            this.arrived = Some((me, round));
            if !added {
                return Poll::Pending;
            }
            match barrier.round {
                Round::Fixed(parties) => {
                    if barrier.parties.insert(me) {
                        Barriers::of(state).add_party(me, &this.inner);
                    }
                    if barrier.place.len() >= parties {
                        barrier.release(state, me);
                    }
                }
                Round::Group { ref name, meetings } => {
                    // Whether the round is complete is decided at the end of the tick, when the
                    // tick's joins and leaves are known.
                    let name = Rc::clone(name);
                    // A room that waits to be full waits for its members: one that finishes
                    // ends the round it is awaited in.
                    if barrier.quorum > 1 && barrier.parties.insert(me) {
                        Barriers::of(state).add_party(me, &this.inner);
                    }
                    drop(barrier);
                    meetings.arrival(state, &name, me, &this.inner);
                }
            }
            Poll::Pending
        })
    }
}

impl Drop for BarrierWait {
    /// A bot that stops waiting (a timeout, say, or a stopped run) no longer counts as arrived,
    /// and a failure of its round it never read is forgotten.
    fn drop(&mut self) {
        if let Some((me, round)) = self.arrived
            && let Ok(mut barrier) = self.inner.try_borrow_mut()
            && barrier.registered_with == Some(context::current_loop_id())
        {
            if barrier.generation == round {
                barrier.remove_waiter(me);
            } else if barrier
                .failed_waiters
                .get(&me)
                .is_some_and(|(failed, _)| *failed == round)
            {
                barrier.failed_waiters.remove(&me);
            }
        }
    }
}

impl BarrierState {
    /// Forgets an earlier run and registers with loop `loop_id`.
    fn reset_for(&mut self, loop_id: u32) {
        self.registered_with = Some(loop_id);
        self.waiting.clear();
        self.place.clear();
        self.members_waiting = 0;
        self.parties.clear();
        self.broken = None;
        self.queued_for_check = false;
        self.failed_waiters.clear();
    }

    /// Records `bot` as waiting; false if it was already.
    fn add_waiter(&mut self, bot: u32) -> bool {
        match self.place.entry(bot) {
            std::collections::hash_map::Entry::Vacant(entry) => {
                entry.insert(self.waiting.len());
                self.waiting.push(bot);
                true
            }
            std::collections::hash_map::Entry::Occupied(_) => false,
        }
    }

    /// `bot` stops waiting.
    fn remove_waiter(&mut self, bot: u32) {
        if let Some(position) = self.place.remove(&bot) {
            self.waiting[position] = LEFT;
            if self.members_waiting > 0 && self.is_member_waiting_counted(bot) {
                self.members_waiting -= 1;
            }
            if self.place.is_empty() {
                self.waiting.clear();
            } else if self.place.len() * 2 < self.waiting.len() {
                // Bots that come and go in one round (a `timeout` around each wait) must not
                // grow the list: compact it once it is mostly holes (amortized O(1)).
                self.waiting.retain(|&bot| bot != LEFT);
                for (position, bot) in self.waiting.iter().enumerate() {
                    self.place.insert(*bot, position);
                }
            }
        }
    }

    /// Whether `bot`, which was waiting, counted among the members waiting.
    fn is_member_waiting_counted(&self, bot: u32) -> bool {
        let Round::Group { meetings, .. } = self.round else {
            return false;
        };
        crate::context::try_with_loop(|state| {
            self.group_id(state.id())
                .is_some_and(|id| meetings.is_committed_member(state, id, bot))
        })
        .unwrap_or(false)
    }

    /// The number of this group barrier's group in loop `loop_id`, if known there.
    pub(crate) fn group_id(&self, loop_id: u32) -> Option<u32> {
        match self.group_id {
            Some((known_in, id)) if known_in == loop_id => Some(id),
            _ => None,
        }
    }

    /// Records the number of this group barrier's group in loop `loop_id`.
    pub(crate) fn set_group_id(&mut self, loop_id: u32, id: u32) {
        self.group_id = Some((loop_id, id));
    }

    /// Whether `bot` waits in the current round.
    pub(crate) fn is_waiting(&self, bot: u32) -> bool {
        self.place.contains_key(&bot)
    }

    /// How many bots wait.
    pub(crate) fn waiters(&self) -> usize {
        self.place.len()
    }

    /// How many members a round of this group's barrier needs at least.
    pub(crate) fn quorum(&self) -> usize {
        self.quorum
    }

    /// Sets how many members a round of this group's barrier needs at least.
    pub(crate) fn set_quorum(&mut self, members: usize) {
        self.quorum = members.max(1);
    }

    /// Ends the current round of a group's barrier without a meeting: its waiters see `error`,
    /// and the next arrivals start a new round.
    fn fail_round(&mut self, error: BarrierError, state: &LoopState) {
        let round = self.generation;
        for &bot in self.waiting.iter().filter(|&&bot| bot != LEFT) {
            self.failed_waiters.insert(bot, (round, error.clone()));
        }
        self.generation += 1;
        self.wake_all(state);
    }

    /// How many waiting bots are members of the barrier's group.
    pub(crate) fn members_waiting(&self) -> usize {
        self.members_waiting
    }

    /// A member of the group started or stopped waiting, or a waiting bot joined or left it.
    pub(crate) fn count_member(&mut self, joined: bool) {
        if joined {
            self.members_waiting += 1;
        } else {
            self.members_waiting = self.members_waiting.saturating_sub(1);
        }
    }

    /// Completes the round: everyone waiting goes on in the next tick, together; `leader` was
    /// the last to arrive.
    pub(crate) fn release(&mut self, state: &LoopState, leader: u32) {
        self.generation += 1;
        self.leader = leader;
        self.wake_all(state);
    }

    /// Completes the round of a group's barrier; the leader is the last waiting arrival.
    pub(crate) fn release_meeting(&mut self, state: &LoopState) {
        let leader = self
            .waiting
            .iter()
            .rev()
            .copied()
            .find(|&bot| bot != LEFT)
            .unwrap_or(LEFT);
        self.release(state, leader);
    }

    /// Wakes every waiter and empties the round.
    fn wake_all(&mut self, state: &LoopState) {
        for bot in self.waiting.drain(..).filter(|&bot| bot != LEFT) {
            state.wake(bot);
        }
        self.place.clear();
        self.members_waiting = 0;
    }

    /// Breaks the barrier, waking its waiters so they see `error`.
    fn break_with(&mut self, error: BarrierError, state: &LoopState) {
        if self.broken.is_none() {
            self.broken = Some(error);
        }
        self.wake_all(state);
    }
}

/// The barriers a loop knows: for each bot, the fixed barriers it has waited on (its exit
/// breaks them); and every barrier (a stall releases their waiters).
#[derive(Default)]
struct Barriers {
    /// The state.
    inner: RefCell<BarriersInner>,
}

/// The contents of [`Barriers`].
#[derive(Default)]
struct BarriersInner {
    /// Fixed barriers by party.
    of_party: FastMap<u32, Vec<Weak<RefCell<BarrierState>>>>,
    /// Every barrier used in this loop.
    all: Vec<Weak<RefCell<BarrierState>>>,
    /// Length of `all` after its last clean-up (it is cleaned when it doubles).
    cleaned_len: usize,
}

impl Barriers {
    /// The loop's barriers (registered at the first use).
    fn of(state: &LoopState) -> Rc<Barriers> {
        state
            .features()
            .get_or_insert(Stage::Meetings, Barriers::default)
    }

    /// Starts watching `barrier` for stalls.
    fn watch(&self, barrier: &Rc<RefCell<BarrierState>>) {
        let mut inner = self.inner.borrow_mut();
        if inner.all.len() >= 2 * inner.cleaned_len.max(16) {
            inner.all.retain(|barrier| barrier.strong_count() > 0);
            inner.cleaned_len = inner.all.len();
        }
        inner.all.push(Rc::downgrade(barrier));
    }

    /// Records that `bot` is a party of the fixed `barrier`.
    fn add_party(&self, bot: u32, barrier: &Rc<RefCell<BarrierState>>) {
        self.inner
            .borrow_mut()
            .of_party
            .entry(bot)
            .or_default()
            .push(Rc::downgrade(barrier));
    }
}

impl Feature for Barriers {
    /// A fixed barrier one of whose parties is done can no longer complete. A group's barrier
    /// carries on with the members left (the bot leaves its groups); one that waits to be full
    /// ([`Cx::group_barrier_of`](crate::Cx::group_barrier_of)) ends the round others wait in
    /// for a member that finished, and meets again once the group is full.
    fn bot_exited(&self, state: &LoopState, bot: u32) {
        let barriers = self.inner.borrow_mut().of_party.remove(&bot);
        for barrier in barriers.into_iter().flatten() {
            if let Some(barrier) = barrier.upgrade()
                && let Ok(mut barrier) = barrier.try_borrow_mut()
                && barrier.parties.remove(&bot)
            {
                let error = BarrierError::PartyFinished {
                    bot: state.id_of(bot),
                };
                match barrier.round {
                    Round::Fixed(_) => barrier.break_with(error, state),
                    Round::Group { meetings, .. } => {
                        let awaited = barrier.place.keys().any(|&waiting| waiting != bot);
                        // Without it, the group is no longer full.
                        let short = barrier.group_id(state.id()).is_some_and(|id| {
                            meetings.is_committed_member(state, id, bot)
                                && meetings.member_count(state, id) <= barrier.quorum
                        });
                        if awaited && short {
                            barrier.fail_round(error, state);
                        }
                    }
                }
            }
        }
    }

    /// Nothing can wake any bot: barriers release their waiters with an error.
    fn stalled(&self, state: &LoopState) -> bool {
        let all: Vec<_> = self.inner.borrow().all.clone();
        let mut woke = false;
        for barrier in all.iter().filter_map(Weak::upgrade) {
            let mut barrier = barrier.borrow_mut();
            if barrier.place.is_empty() {
                continue;
            }
            let parties = match barrier.round {
                Round::Fixed(parties) => parties,
                Round::Group { meetings, .. } => barrier
                    .group_id(state.id())
                    .map_or(0, |id| meetings.member_count(state, id))
                    .max(barrier.place.len())
                    .max(barrier.quorum),
            };
            let error = BarrierError::Stalled {
                arrived: barrier.place.len(),
                parties,
            };
            barrier.break_with(error, state);
            woke = true;
        }
        woke
    }
}

/// Why a barrier released its waiters without completing a round.
///
/// # Examples
/// ```
/// # use ttk_macros::bot;
/// use ttk_core::{Barrier, BarrierError, Cx};
///
/// #[bot(crate = ttk_core)]
/// fn short_handed(_cx: Cx, _id: usize, barrier: Barrier) -> Result<(), BarrierError> {
///     ttk_core::yield_!(barrier.wait())?;
///     Ok(())
/// }
///
/// // Three parties, two bots: the round can never complete.
/// let barrier = Barrier::new(3);
/// let results = ttk_core::run(2, |cx, id| short_handed(cx, id, barrier.clone()));
/// assert_eq!(results[0], Err(BarrierError::Stalled { arrived: 2, parties: 3 }));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BarrierError {
    /// A bot that had waited on the barrier finished or panicked, so a round can never gather
    /// all parties again (a fixed barrier); or, for a room waiting to be full
    /// ([`Cx::group_barrier_of`](crate::Cx::group_barrier_of)), a member it waited for ended
    /// and left it short: that round is over, the next one fills again.
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
