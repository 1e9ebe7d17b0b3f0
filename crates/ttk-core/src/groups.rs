//! Groups of bots: join, leave, members — and the meetings of a group (its barrier).
//!
//! As in the seed, a change becomes visible to the other bots from the next tick; the bot that
//! made it sees it at once. A group with no members disappears (its barrier too, once nobody
//! holds or waits on it). A bot that finishes or fails leaves all its groups.
//!
//! Every operation costs O(log n) in the group's size or O(1) in the bot's own groups and
//! changes: memberships are indexed both by group and by bot, and a bot's own changes of the
//! tick are kept by bot, so nothing scans a whole group, every group, or the tick's changes.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::rc::Rc;

use crate::barrier::{Barrier, BarrierState};
use crate::cx::Cx;
use crate::feature::{Feature, Stage};
use crate::loop_state::LoopState;

/// A membership change waiting for the end of the tick.
#[derive(Debug)]
enum Change {
    /// The bot joins the group.
    Join(String),
    /// The bot leaves the group.
    Leave(String),
    /// The bot is done: it leaves every group.
    Exit,
}

/// One group.
#[derive(Debug, Default)]
struct Group {
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

/// Every group of a loop.
#[derive(Debug, Default)]
pub(crate) struct Groups {
    /// The state.
    inner: RefCell<GroupsInner>,
}

/// The contents of [`Groups`].
#[derive(Debug, Default)]
struct GroupsInner {
    /// Groups by name.
    groups: HashMap<String, Group>,
    /// The groups of each bot (committed), by bot index: a bot's exit costs its own groups.
    of_bot: HashMap<u32, Vec<String>>,
    /// Changes made this tick, in order: (bot, change).
    pending: Vec<(u32, Change)>,
    /// Each bot's own changes this tick, by group: what it sees of its memberships.
    intents: HashMap<u32, Vec<(String, bool)>>,
    /// Group barriers whose round may have completed this tick.
    to_check: Vec<Rc<RefCell<BarrierState>>>,
    /// Groups without members that were kept because their barrier was in use (or made before
    /// anyone joined): swept, once the list has doubled, of those nobody uses any more.
    candidates: Vec<String>,
    /// The length of `candidates` after the last sweep.
    swept_len: usize,
}

impl Groups {
    /// The loop's groups (registered at the first use).
    fn of(state: &LoopState) -> Rc<Groups> {
        state
            .features()
            .get_or_insert(Stage::Membership, Groups::default)
    }
}

impl GroupsInner {
    /// Whether `bot` is a member of `group` as it sees it: its own change of this tick if it
    /// made one, else the committed membership.
    fn is_member_seen_by(&self, bot: u32, group: &str) -> bool {
        if let Some(intents) = self.intents.get(&bot)
            && let Some((_, member)) = intents.iter().rev().find(|(name, _)| name == group)
        {
            return *member;
        }
        self.is_committed_member(group, bot)
    }

    /// Whether `bot` is a member of `group` this tick (as the other bots see it).
    fn is_committed_member(&self, group: &str, bot: u32) -> bool {
        self.groups
            .get(group)
            .is_some_and(|group| group.members.contains(&bot))
    }

    /// Records a change of `bot`'s.
    fn change(&mut self, bot: u32, group: &str, join: bool) {
        self.intents
            .entry(bot)
            .or_default()
            .push((group.to_owned(), join));
        let change = match join {
            true => Change::Join(group.to_owned()),
            false => Change::Leave(group.to_owned()),
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

    /// Applies this tick's changes; empty groups disappear.
    fn commit(&mut self) {
        // Taken out so the loop can borrow `self`; put back afterwards to keep its capacity.
        let mut pending = std::mem::take(&mut self.pending);
        for (bot, change) in pending.drain(..) {
            match change {
                Change::Join(name) => self.add(bot, name),
                Change::Leave(name) => {
                    self.remove(bot, &name);
                    if let Some(groups) = self.of_bot.get_mut(&bot) {
                        groups.retain(|group| *group != name);
                        if groups.is_empty() {
                            self.of_bot.remove(&bot);
                        }
                    }
                }
                Change::Exit => {
                    for name in self.of_bot.remove(&bot).unwrap_or_default() {
                        self.remove(bot, &name);
                    }
                }
            }
        }
        self.pending = pending;
        self.intents.clear();
    }

    /// Adds `bot` to group `name`.
    fn add(&mut self, bot: u32, name: String) {
        let group = self.groups.entry(name.clone()).or_default();
        if !group.members.insert(bot) {
            return;
        }
        if let Some(meeting) = &group.meeting {
            let mut meeting = meeting.state().borrow_mut();
            if meeting.is_waiting(bot) {
                meeting.count_member(true);
            }
        }
        Self::check_meeting(&mut self.to_check, group);
        self.of_bot.entry(bot).or_default().push(name);
    }

    /// Takes `bot` out of group `name` (not out of `of_bot`); a group left unused disappears.
    fn remove(&mut self, bot: u32, name: &str) {
        let Some(group) = self.groups.get_mut(name) else {
            return;
        };
        if !group.members.remove(&bot) {
            return;
        }
        if let Some(meeting) = &group.meeting {
            let mut meeting = meeting.state().borrow_mut();
            if meeting.is_waiting(bot) {
                meeting.count_member(false);
            }
        }
        Self::check_meeting(&mut self.to_check, group);
        if group.members.is_empty() {
            match group.meeting {
                None => {
                    self.groups.remove(name);
                }
                // Its barrier may still be held or waited on (it is in `to_check` right now).
                Some(_) => self.candidates.push(name.to_owned()),
            }
        }
    }

    /// Forgets the groups without members whose barrier nobody uses any more, once enough
    /// candidates have gathered (amortized O(1) per candidate; never a scan of every group).
    fn sweep(&mut self) {
        if self.candidates.len() < 2 * self.swept_len.max(16) {
            return;
        }
        let groups = &mut self.groups;
        self.candidates.retain(|name| match groups.get(name) {
            Some(group) if group.is_unused() => {
                groups.remove(name);
                false
            }
            Some(group) => group.members.is_empty(),
            None => false,
        });
        self.swept_len = self.candidates.len();
    }

    /// Completes the rounds of group barriers whose every member now waits: all are released
    /// together, to run in the next tick.
    fn complete_meetings(&mut self, state: &LoopState) {
        for meeting in std::mem::take(&mut self.to_check) {
            let mut meeting = meeting.borrow_mut();
            meeting.queued_for_check = false;
            let members = meeting
                .group()
                .and_then(|name| self.groups.get(name))
                .map_or(0, |group| group.members.len());
            if meeting.waiters() > 0 && meeting.members_waiting() == members {
                meeting.release_meeting(state);
            }
        }
    }
}

impl Feature for Groups {
    fn bot_exited(&self, _state: &LoopState, bot: u32) {
        let mut inner = self.inner.borrow_mut();
        // Only a member needs the record: a run of a million bots that never join a group must
        // not queue a million no-op changes.
        let member = inner.of_bot.contains_key(&bot)
            || inner
                .intents
                .get(&bot)
                .is_some_and(|intents| intents.iter().any(|(_, join)| *join));
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

/// The barrier of `group` in the running loop (made at the first call).
pub(crate) fn meeting_of(state: &LoopState, group: &str) -> Barrier {
    let groups = Groups::of(state);
    let mut inner = groups.inner.borrow_mut();
    if let Some(entry) = inner.groups.get_mut(group) {
        return entry
            .meeting
            .get_or_insert_with(|| Barrier::for_group(group))
            .clone();
    }
    let meeting = Barrier::for_group(group);
    let entry = Group {
        members: BTreeSet::new(),
        meeting: Some(meeting.clone()),
    };
    inner.groups.insert(group.to_owned(), entry);
    inner.candidates.push(group.to_owned());
    meeting
}

/// Bot `bot` arrived at `barrier`, the barrier of `group`: it counts if it is a member, and the
/// round is checked at the end of the tick.
pub(crate) fn meeting_arrival(
    state: &LoopState,
    group: &str,
    bot: u32,
    barrier: &Rc<RefCell<BarrierState>>,
) {
    let groups = Groups::of(state);
    let mut inner = groups.inner.borrow_mut();
    let member = inner.is_committed_member(group, bot);
    match inner.groups.get_mut(group) {
        Some(entry) => {
            if entry.meeting.is_none() {
                entry.meeting = Some(Barrier::from_state(Rc::clone(barrier)));
            }
        }
        None => {
            // A barrier kept from an earlier run of the same thread: it becomes this run's.
            let entry = Group {
                members: BTreeSet::new(),
                meeting: Some(Barrier::from_state(Rc::clone(barrier))),
            };
            inner.groups.insert(group.to_owned(), entry);
            inner.candidates.push(group.to_owned());
        }
    }
    let mut meeting = barrier.borrow_mut();
    if member {
        meeting.count_member(true);
    }
    if !meeting.queued_for_check {
        meeting.queued_for_check = true;
        inner.to_check.push(Rc::clone(barrier));
    }
}

/// Whether `bot` is a member of `group` this tick.
pub(crate) fn is_committed_member(state: &LoopState, group: &str, bot: u32) -> bool {
    state
        .features()
        .get::<Groups>()
        .is_some_and(|groups| groups.inner.borrow().is_committed_member(group, bot))
}

/// The number of members of `group` this tick.
pub(crate) fn member_count(state: &LoopState, group: &str) -> usize {
    state.features().get::<Groups>().map_or(0, |groups| {
        groups
            .inner
            .borrow()
            .groups
            .get(group)
            .map_or(0, |group| group.members.len())
    })
}

/// The error of leaving a group one is not in.
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
    pub fn join(&self, group: &str) {
        let bot = self.index;
        self.with_loop(|state| {
            let groups = Groups::of(state);
            let mut inner = groups.inner.borrow_mut();
            if !inner.is_member_seen_by(bot, group) {
                inner.change(bot, group, true);
            }
        });
    }

    /// Leaves `group`.
    ///
    /// # Errors
    /// If this bot is not a member of `group`.
    pub fn leave(&self, group: &str) -> Result<(), GroupError> {
        let bot = self.index;
        self.with_loop(|state| {
            let groups = Groups::of(state);
            let mut inner = groups.inner.borrow_mut();
            if !inner.is_member_seen_by(bot, group) {
                return Err(GroupError {
                    group: group.to_owned(),
                    bot: state.id_of(bot),
                });
            }
            inner.change(bot, group, false);
            Ok(())
        })
    }

    /// The ids of `group`'s members, in id order (empty if the group does not exist), as this
    /// bot sees them: this tick's members, with this bot's own changes of the tick applied.
    pub fn members(&self, group: &str) -> Vec<usize> {
        let bot = self.index;
        self.with_loop(|state| {
            let Some(groups) = state.features().get::<Groups>() else {
                return Vec::new();
            };
            let inner = groups.inner.borrow();
            let me = inner.is_member_seen_by(bot, group);
            let bots = state.bots.borrow();
            let mut members: Vec<usize> = inner
                .groups
                .get(group)
                .into_iter()
                .flat_map(|group| group.members.iter())
                .filter(|&&member| member != bot)
                .map(|&member| bots.id_of(member))
                .collect();
            if me {
                members.push(bots.id_of(bot));
            }
            // Indices are in id order unless places were reused; ids are what bots see.
            members.sort_unstable();
            members
        })
    }

    /// Whether this bot is a member of `group`.
    pub fn is_member(&self, group: &str) -> bool {
        let bot = self.index;
        self.with_loop(|state| {
            state
                .features()
                .get::<Groups>()
                .is_some_and(|groups| groups.inner.borrow().is_member_seen_by(bot, group))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_are_seen_by_their_author_at_once_and_by_others_after_commit() {
        let mut groups = GroupsInner::default();
        groups.change(1, "g", true);
        assert!(groups.is_member_seen_by(1, "g"));
        assert!(!groups.is_member_seen_by(2, "g"));
        groups.commit();
        assert!(groups.is_committed_member("g", 1));
        groups.pending.push((1, Change::Exit));
        groups.commit();
        assert!(groups.groups.is_empty(), "an empty group disappears");
        assert!(groups.of_bot.is_empty());
    }
}
