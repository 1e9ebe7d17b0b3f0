//! Groups of bots: join, leave, members — and the meetings of a group (its barrier), all of
//! them here: [`Barrier`] knows a group only through [`GroupMeetings`].
//!
//! As in the seed, a change becomes visible to the other bots from the next tick; the bot that
//! made it sees it at once. A group with no members disappears (its barrier too, once nobody
//! holds or waits on it). A bot that finishes or fails leaves all its groups.
//!
//! Every operation costs O(log n) in the group's size or O(1) in the bot's own groups and
//! changes: a group's name is looked up once per call and the group is then reached by its
//! number; memberships are indexed both by group and by bot, and a bot's own changes of the tick
//! by (bot, group), so nothing scans a whole group, every group, or the tick's changes. Names
//! are stored once per group, so a join allocates nothing but the group's first entry.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::fmt;
use std::rc::Rc;

use crate::barrier::{Barrier, BarrierState, GroupMeetings};
use crate::cx::Cx;
use crate::fast_hash::{FastMap, FastSet};
use crate::feature::{Feature, Stage};
use crate::link::Linked;
use crate::loop_state::LoopState;

/// A group's number in its loop (its place in the table of groups, reused once it is gone).
pub(crate) type GroupId = u32;

/// A membership change waiting for the end of the tick.
#[derive(Debug, Clone, Copy)]
enum Change {
    /// The bot joins the group.
    Join(GroupId),
    /// The bot leaves the group.
    Leave(GroupId),
    /// The bot is done: it leaves every group.
    Exit,
}

/// One group.
#[derive(Debug)]
struct Group {
    /// Its name.
    name: Rc<str>,
    /// Members (bot indices) as every bot sees them this tick.
    members: BTreeSet<u32>,
    /// The group's barrier, once a bot asked for it.
    meeting: Option<Barrier>,
}

impl Group {
    /// Whether the group can be forgotten: no members, and its barrier (if any) is held by
    /// nobody else and has nobody waiting.
    fn is_unused(&self) -> bool {
        self.members.is_empty()
            && self.meeting.as_ref().is_none_or(|meeting| {
                Rc::strong_count(meeting.state()) == 1 && meeting.state().borrow().waiters() == 0
            })
    }
}

/// The groups a bot is in (almost always one or two).
#[derive(Debug, Default)]
struct BotGroups {
    /// The groups.
    groups: Vec<GroupId>,
}

/// Every group of a loop.
#[derive(Debug, Default)]
pub(crate) struct Groups {
    /// The state.
    inner: RefCell<GroupsInner>,
}

/// The contents of [`Groups`].
#[derive(Debug, Default)]
struct GroupsInner {
    /// Group numbers by name.
    ids: FastMap<Rc<str>, GroupId>,
    /// Groups by number (`None`: a free number).
    groups: Vec<Option<Group>>,
    /// Free group numbers.
    free: Vec<GroupId>,
    /// The groups of each bot (committed), by bot index: a bot's exit costs its own groups.
    /// A vector, not a map: bots join and exit in about the order of their indices, so with
    /// 100,000 members this is walked in order instead of hashed all over the heap. It grows
    /// only to the highest index of a bot that joined a group (empty entries allocate
    /// nothing).
    of_bot: Vec<BotGroups>,
    /// Changes made this tick, in order: (bot, change).
    pending: Vec<(u32, Change)>,
    /// Each bot's own changes this tick: (bot, group) → member afterwards.
    intents: FastMap<(u32, GroupId), bool>,
    /// The bots that joined a group this tick.
    joiners: FastSet<u32>,
    /// Group barriers whose round may have completed this tick.
    to_check: Vec<Rc<RefCell<BarrierState>>>,
    /// Groups left without members (or made and never joined): swept, once the list has
    /// doubled, of those nobody uses any more.
    candidates: Vec<GroupId>,
    /// The length of `candidates` after the last sweep.
    swept_len: usize,
    /// The group each bot (by index) named last, or [`NO_GROUP`]. Bots name the same group
    /// again and again (their room), and bots of a room run side by side, so this vector is
    /// read in order where a lookup of the name would probe the map at random: at 100k bots,
    /// that is a cache miss or two per call spared.
    last_named: Vec<GroupId>,
}

/// "No group" in [`GroupsInner::last_named`].
const NO_GROUP: GroupId = GroupId::MAX;

impl Groups {
    /// The loop's groups (registered at the first use).
    fn of(state: &LoopState) -> Rc<Groups> {
        state
            .features()
            .get_or_insert(Stage::Membership, Groups::default)
    }
}

impl GroupsInner {
    /// The number of the group called `name`, if it exists.
    fn id(&self, name: &str) -> Option<GroupId> {
        self.ids.get(name).copied()
    }

    /// The number of the group called `name`, if it exists, looked up for `bot` (its last
    /// group first).
    fn id_for(&self, bot: u32, name: &str) -> Option<GroupId> {
        let last = self.last_named.get(bot as usize).copied();
        match last.and_then(|id| self.group(id)) {
            // The name decides: the number may have been freed and given to another group.
            Some(group) if &*group.name == name => last,
            _ => self.id(name),
        }
    }

    /// [`GroupsInner::id_or_make`] for `bot`, which it remembers as `bot`'s last group.
    fn id_or_make_for(&mut self, bot: u32, name: &str) -> GroupId {
        let id = match self.id_for(bot, name) {
            Some(id) => id,
            None => self.id_or_make(name),
        };
        if self.last_named.len() <= bot as usize {
            self.last_named.resize(bot as usize + 1, NO_GROUP);
        }
        self.last_named[bot as usize] = id;
        id
    }

    /// The number of the group called `name`, made (without members) if it does not exist.
    fn id_or_make(&mut self, name: &str) -> GroupId {
        if let Some(id) = self.id(name) {
            return id;
        }
        let name: Rc<str> = Rc::from(name);
        let group = Group {
            name: Rc::clone(&name),
            members: BTreeSet::new(),
            meeting: None,
        };
        let id = match self.free.pop() {
            Some(id) => {
                self.groups[id as usize] = Some(group);
                id
            }
            None => {
                self.groups.push(Some(group));
                (self.groups.len() - 1) as GroupId
            }
        };
        self.ids.insert(name, id);
        // Nobody may ever join it.
        self.candidates.push(id);
        id
    }

    /// The group numbered `id`.
    fn group(&self, id: GroupId) -> Option<&Group> {
        self.groups.get(id as usize)?.as_ref()
    }

    /// Whether `bot` is a member of group `id` as it sees it: its own change of this tick if it
    /// made one, else the committed membership.
    fn is_member_seen_by(&self, bot: u32, id: GroupId) -> bool {
        match self.intents.get(&(bot, id)) {
            Some(&member) => member,
            None => self.is_committed_member(id, bot),
        }
    }

    /// Whether `bot` is a member of group `id` this tick (as the other bots see it).
    fn is_committed_member(&self, id: GroupId, bot: u32) -> bool {
        self.group(id)
            .is_some_and(|group| group.members.contains(&bot))
    }

    /// Records a change of `bot`'s.
    fn change(&mut self, bot: u32, id: GroupId, join: bool) {
        self.intents.insert((bot, id), join);
        if join {
            self.joiners.insert(bot);
        }
        let change = match join {
            true => Change::Join(id),
            false => Change::Leave(id),
        };
        self.pending.push((bot, change));
    }

    /// Queues `group`'s barrier (if any) for a completion check at the end of the tick.
    fn check_meeting(to_check: &mut Vec<Rc<RefCell<BarrierState>>>, group: &Group) {
        if let Some(meeting) = &group.meeting {
            let mut state = meeting.state().borrow_mut();
            if !state.queued_for_check {
                state.queued_for_check = true;
                to_check.push(Rc::clone(meeting.state()));
            }
        }
    }

    /// `bot` joined or left `group`: if it waits at the group's barrier, the count of members
    /// waiting follows, and the barrier's round is checked at the end of the tick.
    fn membership_changed(
        to_check: &mut Vec<Rc<RefCell<BarrierState>>>,
        group: &Group,
        bot: u32,
        joined: bool,
    ) {
        if let Some(meeting) = &group.meeting {
            let mut meeting = meeting.state().borrow_mut();
            if meeting.is_waiting(bot) {
                meeting.count_member(joined);
            }
        }
        Self::check_meeting(to_check, group);
    }

    /// Applies this tick's changes.
    fn commit(&mut self) {
        // Taken out so the loop can borrow `self`; put back afterwards to keep its capacity.
        let mut pending = std::mem::take(&mut self.pending);
        for (bot, change) in pending.drain(..) {
            match change {
                Change::Join(id) => self.add(bot, id),
                Change::Leave(id) => {
                    self.remove(bot, id);
                    if let Some(groups) = self.of_bot.get_mut(bot as usize) {
                        groups.groups.retain(|&group| group != id);
                        if groups.groups.is_empty() {
                            // Its memory too: a bot that left all its groups holds none.
                            groups.groups = Vec::new();
                        }
                    }
                }
                Change::Exit => {
                    let groups = self
                        .of_bot
                        .get_mut(bot as usize)
                        .map(std::mem::take)
                        .unwrap_or_default();
                    for id in groups.groups {
                        self.remove(bot, id);
                    }
                }
            }
        }
        self.pending = pending;
        self.intents.clear();
        self.joiners.clear();
    }

    /// Adds `bot` to group `id`.
    fn add(&mut self, bot: u32, id: GroupId) {
        let Some(Some(group)) = self.groups.get_mut(id as usize) else {
            return;
        };
        if !group.members.insert(bot) {
            return;
        }
        Self::membership_changed(&mut self.to_check, group, bot, true);
        let index = bot as usize;
        if self.of_bot.len() <= index {
            self.of_bot.resize_with(index + 1, BotGroups::default);
        }
        self.of_bot[index].groups.push(id);
    }

    /// Takes `bot` out of group `id` (not out of `of_bot`).
    fn remove(&mut self, bot: u32, id: GroupId) {
        let Some(Some(group)) = self.groups.get_mut(id as usize) else {
            return;
        };
        if !group.members.remove(&bot) {
            return;
        }
        Self::membership_changed(&mut self.to_check, group, bot, false);
        if group.members.is_empty() {
            self.candidates.push(id);
        }
    }

    /// Completes the rounds of group barriers whose every member now waits: all are released
    /// together, to run in the next tick.
    fn complete_meetings(&mut self, state: &LoopState) {
        for meeting in std::mem::take(&mut self.to_check) {
            let mut meeting = meeting.borrow_mut();
            meeting.queued_for_check = false;
            let members = meeting
                .group_id(state.id())
                .and_then(|id| self.group(id))
                .map_or(0, |group| group.members.len());
            if meeting.waiters() > 0
                && meeting.members_waiting() == members
                && members >= meeting.quorum()
            {
                meeting.release_meeting(state);
            }
        }
    }

    /// Forgets the groups without members whose barrier nobody uses any more, once enough
    /// candidates have gathered (amortized O(1) per candidate; never a scan of every group).
    /// Runs after the tick's changes are applied, so no pending change names a group it frees.
    fn sweep(&mut self) {
        if self.candidates.len() < 2 * self.swept_len.max(16) {
            return;
        }
        let mut candidates = std::mem::take(&mut self.candidates);
        candidates.sort_unstable();
        candidates.dedup();
        candidates.retain(|&id| {
            let Some(group) = self.group(id) else {
                return false;
            };
            if group.is_unused() {
                let group = self.groups[id as usize].take().expect("checked above");
                self.ids.remove(&group.name);
                self.free.push(id);
                return false;
            }
            group.members.is_empty()
        });
        self.swept_len = candidates.len();
        self.candidates = candidates;
    }
}

impl Feature for Groups {
    fn bot_exited(&self, _state: &LoopState, bot: u32) {
        let mut inner = self.inner.borrow_mut();
        // Only a member needs the record: a run of a million bots that never join a group must
        // not queue a million no-op changes. (A bot that joined this tick has an intent.)
        let member = inner
            .of_bot
            .get(bot as usize)
            .is_some_and(|groups| !groups.groups.is_empty())
            || inner.joiners.contains(&bot);
        if member {
            inner.pending.push((bot, Change::Exit));
        }
    }

    fn end_of_tick(&self, state: &LoopState) {
        let mut inner = self.inner.borrow_mut();
        if !inner.pending.is_empty() {
            inner.commit();
        }
        if !inner.to_check.is_empty() {
            inner.complete_meetings(state);
        }
        inner.sweep();
    }

    fn release(&self) {
        let groups = std::mem::take(&mut *self.inner.borrow_mut());
        drop(groups);
    }
}

/// The groups' side of their meetings: what a group's barrier asks of its group.
#[derive(Debug)]
struct Meetings;

impl GroupMeetings for Meetings {
    fn member_count(&self, state: &LoopState, id: GroupId) -> usize {
        member_count(state, id)
    }

    fn is_committed_member(&self, state: &LoopState, id: GroupId, bot: u32) -> bool {
        is_committed_member(state, id, bot)
    }

    fn arrival(
        &self,
        state: &LoopState,
        name: &str,
        bot: u32,
        barrier: &Rc<RefCell<BarrierState>>,
    ) {
        meeting_arrival(state, name, bot, barrier);
    }
}

/// The barrier of group `name` in the running loop (made at the first call).
fn meeting_of(state: &LoopState, bot: u32, name: &str) -> Barrier {
    let groups = Groups::of(state);
    let mut inner = groups.inner.borrow_mut();
    let id = inner.id_or_make_for(bot, name);
    let group = inner.groups[id as usize]
        .as_mut()
        .expect("the group was just found or made");
    group
        .meeting
        .get_or_insert_with(|| Barrier::for_group(&group.name, state.id(), id, &Meetings))
        .clone()
}

/// Bot `bot` arrived at `barrier`, a group's barrier: it counts if it is a member, and the round
/// is checked at the end of the tick. A barrier kept from an earlier run on this thread is
/// adopted by this run's group of the same name.
fn meeting_arrival(state: &LoopState, name: &str, bot: u32, barrier: &Rc<RefCell<BarrierState>>) {
    let groups = Groups::of(state);
    let mut inner = groups.inner.borrow_mut();
    // The number cached on the barrier holds only while the barrier is its group's: a barrier
    // kept from an earlier run may have lost that place to another.
    let known = barrier.borrow().group_id(state.id()).filter(|&id| {
        inner
            .group(id)
            .and_then(|group| group.meeting.as_ref())
            .is_some_and(|meeting| Rc::ptr_eq(meeting.state(), barrier))
    });
    let id = match known {
        Some(id) => id,
        None => {
            let id = inner.id_or_make(name);
            let group = inner.groups[id as usize].as_mut().expect("just made");
            let meeting = group
                .meeting
                .get_or_insert_with(|| Barrier::from_state(Rc::clone(barrier)));
            if Rc::ptr_eq(meeting.state(), barrier) {
                barrier.borrow_mut().set_group_id(state.id(), id);
            }
            id
        }
    };
    let member = inner.is_committed_member(id, bot);
    let mut meeting = barrier.borrow_mut();
    if member {
        meeting.count_member(true);
    }
    if !meeting.queued_for_check {
        meeting.queued_for_check = true;
        inner.to_check.push(Rc::clone(barrier));
    }
}

/// Calls `f` with the id of each member of group `name` as `bot` sees it (this tick's members,
/// with `bot`'s own changes of the tick applied), in place order.
fn for_each_member_seen_by(state: &LoopState, bot: u32, name: &str, mut f: impl FnMut(usize)) {
    let Some(groups) = state.features().get::<Groups>() else {
        return;
    };
    let inner = groups.inner.borrow();
    let Some(id) = inner.id_for(bot, name) else {
        return;
    };
    let bots = state.bots.borrow();
    if let Some(group) = inner.group(id) {
        for &member in group.members.iter().filter(|&&member| member != bot) {
            f(bots.id_of(member));
        }
    }
    if inner.is_member_seen_by(bot, id) {
        f(bots.id_of(bot));
    }
}

/// In a run on several workers, makes sure group `name` lives on `bot`'s loop (claiming it if
/// `claim` and no loop has yet), or panics in the bot with the reason: a group's members must
/// share a loop.
fn check_home(state: &LoopState, bot: u32, name: &str, claim: bool) {
    let elsewhere = state.features().with(|linked: &Linked| {
        // A group this loop knows was claimed by it (its first member joined here): no need
        // to ask the run, under its lock.
        let known_here = state
            .features()
            .with(|groups: &Groups| groups.inner.borrow().id_for(bot, name).is_some());
        if known_here == Some(true) {
            return None;
        }
        let home = match claim {
            true => linked.claim_group(name).err(),
            false => linked
                .group_home(name)
                .filter(|&home| home != linked.lane()),
        };
        home.map(|home| (home, linked.lane()))
    });
    if let Some(Some((home, here))) = elsewhere {
        panic!(
            "group {name:?} lives on worker {home}, and bot {} runs on worker {here}: a group's \
             members must share a worker (a group's changes and barriers follow one loop's \
             ticks); keep each group's ids on one worker with `LoadTest::keep_together(n)` \
             (a load test) or `Workers::keep_together(n)`, n the group's size, its ids in a \
             block of n (a room of 4: ids 0-3, 4-7, …)",
            state.id_of(bot)
        );
    }
}

/// Whether `bot` is a member of group `id` this tick.
fn is_committed_member(state: &LoopState, id: GroupId, bot: u32) -> bool {
    state
        .features()
        .get::<Groups>()
        .is_some_and(|groups| groups.inner.borrow().is_committed_member(id, bot))
}

/// The number of members of group `id` this tick.
fn member_count(state: &LoopState, id: GroupId) -> usize {
    state.features().get::<Groups>().map_or(0, |groups| {
        groups
            .inner
            .borrow()
            .group(id)
            .map_or(0, |group| group.members.len())
    })
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
impl<M, W> Cx<M, W> {
    /// The barrier of `group`, shared by every bot of the loop that asks for it.
    ///
    /// A group barrier is a meeting of the whole group: a round completes when every member of
    /// the group — counting the joins and leaves made in the tick the last of them arrives —
    /// waits on it, and all go on in the same tick. Completion is decided at the end of the tick,
    /// where the tick's group changes are applied, so bots that join and arrive in the same tick
    /// wait for each other. A member that leaves the group or finishes no longer counts, so the
    /// others go on without it.
    ///
    /// # Panics
    /// In a run on several workers, if the group lives on another worker's loop.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// use ttk_core::Cx;
    ///
    /// #[bot(crate = ttk_core)]
    /// fn squad(cx: Cx, id: usize) -> u64 {
    ///     cx.join(if id < 2 { "red" } else { "blue" });
    ///     for _ in 0..id {
    ///         ttk_core::yield_!();
    ///     }
    ///     // Each squad meets on its own: a round is the group's members.
    ///     let squad = cx.group_barrier(if id < 2 { "red" } else { "blue" });
    ///     ttk_core::yield_!(squad.wait()).unwrap();
    ///     ttk_core::tick()
    /// }
    ///
    /// let ticks = ttk_core::run(4, squad);
    /// assert!(ticks[0] == ticks[1] && ticks[2] == ticks[3] && ticks[1] < ticks[3]);
    /// ```
    pub fn group_barrier(&self, group: &str) -> Barrier {
        self.with_loop(|state| {
            // A meeting makes the group on this loop: it claims it, as a join does.
            check_home(state, self.index, group, true);
            meeting_of(state, self.index, group)
        })
    }

    /// The barrier of `group` ([`Cx::group_barrier`]), whose rounds wait until the group has at
    /// least `members` members, every one of them waiting: a room that fills over time — its
    /// bots started by a ramp-up or by arrivals — meets only once it is full, however early its
    /// first bot arrives.
    ///
    /// The group has one barrier: this sets how many members its rounds need (the last call's
    /// `members` stands), and [`Cx::group_barrier`] returns it as set. A member that leaves the
    /// group is waited for no longer, and the room waits to be full again. A member that asked
    /// for the barrier (here) and finishes or panics while others wait for it, leaving the room
    /// short, ends their round with
    /// [`BarrierError::PartyFinished`](crate::BarrierError::PartyFinished); the next round waits
    /// for the room to fill again. A room that can never fill releases its waiters with
    /// [`BarrierError::Stalled`](crate::BarrierError::Stalled) once no bot of the loop can come.
    ///
    /// # Panics
    /// In a run on several workers, if the group lives on another worker's loop.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// use ttk_core::Cx;
    ///
    /// #[bot(crate = ttk_core)]
    /// fn player(cx: Cx, id: usize) -> u64 {
    ///     // Players come one tick apart, as a ramp-up starts them: the first one is alone in
    ///     // the room for three ticks, yet the room meets only when all four are in.
    ///     for _ in 0..id {
    ///         ttk_core::yield_!();
    ///     }
    ///     cx.join("room");
    ///     let full = cx.group_barrier_of("room", 4);
    ///     ttk_core::yield_!(full.wait()).expect("the room fills");
    ///     cx.members("room").len() as u64 * 100 + ttk_core::tick()
    /// }
    ///
    /// let met = ttk_core::run(4, player);
    /// assert!(met.iter().all(|m| *m == met[0]), "{met:?}");
    /// assert_eq!(met[0] / 100, 4);
    /// ```
    pub fn group_barrier_of(&self, group: &str, members: usize) -> Barrier {
        let barrier = self.group_barrier(group);
        barrier.state().borrow_mut().set_quorum(members);
        if members > 1 {
            // Whoever asks for the room's meeting is one of its parties from now on.
            self.with_loop(|state| barrier.enlist(state, self.index));
        }
        barrier
    }
}

/// The error of leaving a group one is not in.
///
/// # Examples
/// ```
/// # use ttk_macros::bot;
/// use ttk_core::{Cx, GroupError};
///
/// #[bot(crate = ttk_core)]
/// fn stranger(cx: Cx, _id: usize) -> Result<(), GroupError> {
///     cx.leave("lobby")
/// }
///
/// let error = ttk_core::run(1, stranger).pop().unwrap().unwrap_err();
/// assert_eq!(error.to_string(), "bot 0 cannot leave group \"lobby\": it is not a member");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupError {
    /// The group.
    group: String,
    /// The bot that tried to leave it.
    bot: usize,
}

impl fmt::Display for GroupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "bot {} cannot leave group \"{}\": it is not a member",
            self.bot, self.group
        )
    }
}

impl std::error::Error for GroupError {}

/// # Groups
///
/// ```
/// # use ttk_macros::bot;
/// use ttk_core::Cx;
///
/// #[bot(crate = ttk_core)]
/// fn teams(cx: Cx, id: usize) -> Vec<usize> {
///     cx.join(if id % 2 == 0 { "even" } else { "odd" });
///     ttk_core::yield_!(); // joins are visible to the others from the next tick
///     cx.members("even")
/// }
///
/// assert_eq!(ttk_core::run(4, teams)[3], [0, 2]);
/// ```
impl<M, W> Cx<M, W> {
    /// Joins `group` (no effect if already a member).
    ///
    /// # Panics
    /// In a run on several workers, if the group already lives on another worker's loop (its
    /// first member joined there): a group's members must share a loop. The panic ends this
    /// bot only, with a message that says so.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// use ttk_core::Cx;
    ///
    /// #[bot(crate = ttk_core)]
    /// fn enter(cx: Cx, _id: usize) -> Vec<usize> {
    ///     cx.join("lobby");
    ///     cx.join("lobby"); // no effect
    ///     ttk_core::yield_!();
    ///     cx.members("lobby")
    /// }
    ///
    /// assert_eq!(ttk_core::run(2, enter), [[0, 1], [0, 1]]);
    /// ```
    pub fn join(&self, group: &str) {
        let bot = self.index;
        self.with_loop(|state| {
            check_home(state, bot, group, true);
            let groups = Groups::of(state);
            let mut inner = groups.inner.borrow_mut();
            let id = inner.id_or_make_for(bot, group);
            if !inner.is_member_seen_by(bot, id) {
                inner.change(bot, id, true);
            }
        });
    }

    /// Leaves `group`.
    ///
    /// # Errors
    /// If this bot is not a member of `group`.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// use ttk_core::Cx;
    ///
    /// #[bot(crate = ttk_core)]
    /// fn visit(cx: Cx, _id: usize) -> (bool, bool) {
    ///     cx.join("shop");
    ///     let left = cx.leave("shop").is_ok();
    ///     (left, cx.leave("shop").is_ok())
    /// }
    ///
    /// assert_eq!(ttk_core::run(1, visit), [(true, false)]);
    /// ```
    pub fn leave(&self, group: &str) -> Result<(), GroupError> {
        let bot = self.index;
        self.with_loop(|state| {
            let groups = Groups::of(state);
            let mut inner = groups.inner.borrow_mut();
            match inner.id_for(bot, group) {
                Some(id) if inner.is_member_seen_by(bot, id) => {
                    inner.change(bot, id, false);
                    Ok(())
                }
                _ => Err(GroupError {
                    group: group.to_owned(),
                    bot: state.id_of(bot),
                }),
            }
        })
    }

    /// The ids of `group`'s members, in id order (empty if the group does not exist), as this
    /// bot sees them: this tick's members, with this bot's own changes of the tick applied.
    ///
    /// # Panics
    /// In a run on several workers, if the group lives on another worker's loop.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// use ttk_core::Cx;
    ///
    /// #[bot(crate = ttk_core)]
    /// fn roll_call(cx: Cx, id: usize) -> Vec<usize> {
    ///     if id != 1 {
    ///         cx.join("class");
    ///     }
    ///     ttk_core::yield_!();
    ///     cx.members("class")
    /// }
    ///
    /// assert_eq!(ttk_core::run(3, roll_call)[1], [0, 2]);
    /// ```
    pub fn members(&self, group: &str) -> Vec<usize> {
        let bot = self.index;
        self.with_loop(|state| {
            check_home(state, bot, group, false);
            let mut members = Vec::new();
            for_each_member_seen_by(state, bot, group, |id| members.push(id));
            // Indices are in id order unless places were reused; ids are what bots see.
            members.sort_unstable();
            members
        })
    }

    /// Whether this bot is a member of `group`.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// use ttk_core::Cx;
    ///
    /// #[bot(crate = ttk_core)]
    /// fn check(cx: Cx, _id: usize) -> (bool, bool) {
    ///     let before = cx.is_member("club");
    ///     cx.join("club");
    ///     (before, cx.is_member("club"))
    /// }
    ///
    /// assert_eq!(ttk_core::run(1, check), [(false, true)]);
    /// ```
    pub fn is_member(&self, group: &str) -> bool {
        let bot = self.index;
        self.with_loop(|state| {
            state.features().get::<Groups>().is_some_and(|groups| {
                let inner = groups.inner.borrow();
                inner
                    .id_for(bot, group)
                    .is_some_and(|id| inner.is_member_seen_by(bot, id))
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_are_seen_by_their_author_at_once_and_by_others_after_commit() {
        let mut groups = GroupsInner::default();
        let g = groups.id_or_make("g");
        groups.change(1, g, true);
        assert!(groups.is_member_seen_by(1, g));
        assert!(!groups.is_member_seen_by(2, g));
        groups.commit();
        assert!(groups.is_committed_member(g, 1));
        groups.pending.push((1, Change::Exit));
        groups.commit();
        assert!(groups.of_bot.iter().all(|bot| bot.groups.is_empty()));
        // Empty groups are swept once enough have gathered.
        for room in 0..100 {
            let id = groups.id_or_make(&format!("room{room}"));
            groups.change(7, id, true);
            groups.commit();
            groups.change(7, id, false);
            groups.commit();
            groups.sweep();
        }
        assert!(groups.ids.len() < 50, "{} groups kept", groups.ids.len());
    }
}
