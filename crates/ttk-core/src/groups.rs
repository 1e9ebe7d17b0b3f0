//! Groups of bots: join, leave, members.
//!
//! As in the seed, a change becomes visible to the other bots from the next tick; the bot that
//! made it sees it at once. A group with no members disappears. A bot that finishes or fails
//! leaves all its groups.

use std::collections::{BTreeSet, HashMap};
use std::fmt;

use crate::context::with_loop;
use crate::cx::Cx;

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

/// Every group of a loop.
#[derive(Debug, Default)]
pub(crate) struct Groups {
    /// Members by group name, as every bot sees them this tick.
    committed: HashMap<String, BTreeSet<u32>>,
    /// The same memberships by bot, so that a bot's exit costs its own groups, not all groups.
    groups_of: HashMap<u32, BTreeSet<String>>,
    /// Changes made this tick, in order: (bot, change).
    pending: Vec<(u32, Change)>,
}

impl Groups {
    /// The members of `group` this tick.
    pub(crate) fn members(&self, group: &str) -> Vec<u32> {
        self.committed
            .get(group)
            .map(|members| members.iter().copied().collect())
            .unwrap_or_default()
    }

    /// The members of `group` as `bot` sees them: this tick's members plus `bot`'s own changes.
    pub(crate) fn members_seen_by(&self, bot: u32, group: &str) -> BTreeSet<u32> {
        let mut members = self.committed.get(group).cloned().unwrap_or_default();
        for (changer, change) in &self.pending {
            if *changer != bot {
                continue;
            }
            match change {
                Change::Join(name) if name == group => {
                    members.insert(bot);
                }
                Change::Leave(name) if name == group => {
                    members.remove(&bot);
                }
                _ => {}
            }
        }
        members
    }

    /// Applies this tick's changes; empty groups disappear. Returns whether anything changed.
    pub(crate) fn commit(&mut self) -> bool {
        if self.pending.is_empty() {
            return false;
        }
        // Taken out so `remove` can borrow `self`; put back afterwards to keep its capacity.
        let mut pending = std::mem::take(&mut self.pending);
        for (bot, change) in pending.drain(..) {
            match change {
                Change::Join(group) => {
                    self.groups_of.entry(bot).or_default().insert(group.clone());
                    self.committed.entry(group).or_default().insert(bot);
                }
                Change::Leave(group) => self.remove(bot, &group),
                Change::Exit => {
                    for group in self.groups_of.remove(&bot).unwrap_or_default() {
                        self.remove(bot, &group);
                    }
                }
            }
        }
        self.pending = pending;
        true
    }

    /// Takes `bot` out of `group`; a group left empty disappears.
    fn remove(&mut self, bot: u32, group: &str) {
        if let Some(groups) = self.groups_of.get_mut(&bot) {
            groups.remove(group);
            if groups.is_empty() {
                self.groups_of.remove(&bot);
            }
        }
        if let Some(members) = self.committed.get_mut(group) {
            members.remove(&bot);
            if members.is_empty() {
                self.committed.remove(group);
            }
        }
    }

    /// Records that `bot` is done. Only a member of some group needs the record: a run of a
    /// million bots that never join a group must not queue a million no-op changes.
    pub(crate) fn exit(&mut self, bot: u32) {
        let member = self.groups_of.contains_key(&bot)
            || self
                .pending
                .iter()
                .any(|(changer, change)| *changer == bot && matches!(change, Change::Join(_)));
        if member {
            self.pending.push((bot, Change::Exit));
        }
    }
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
        with_loop(|state| {
            let mut groups = state.groups.borrow_mut();
            if !groups.members_seen_by(bot, group).contains(&bot) {
                groups.pending.push((bot, Change::Join(group.to_owned())));
            }
        });
    }

    /// Leaves `group`.
    ///
    /// # Errors
    /// If this bot is not a member of `group`.
    pub fn leave(&self, group: &str) -> Result<(), GroupError> {
        let bot = self.index;
        with_loop(|state| {
            let mut groups = state.groups.borrow_mut();
            if !groups.members_seen_by(bot, group).contains(&bot) {
                return Err(GroupError {
                    group: group.to_owned(),
                    bot: bot as usize,
                });
            }
            groups.pending.push((bot, Change::Leave(group.to_owned())));
            Ok(())
        })
    }

    /// The ids of `group`'s members, in id order (empty if the group does not exist).
    pub fn members(&self, group: &str) -> Vec<usize> {
        let bot = self.index;
        with_loop(|state| {
            let groups = state.groups.borrow();
            groups
                .members_seen_by(bot, group)
                .into_iter()
                .map(|member| member as usize)
                .collect()
        })
    }

    /// Whether this bot is a member of `group`.
    pub fn is_member(&self, group: &str) -> bool {
        let bot = self.index;
        with_loop(|state| {
            state
                .groups
                .borrow()
                .members_seen_by(bot, group)
                .contains(&bot)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_are_seen_by_their_author_at_once_and_by_others_after_commit() {
        let mut groups = Groups::default();
        groups.pending.push((1, Change::Join("g".into())));
        assert!(groups.members_seen_by(1, "g").contains(&1));
        assert!(groups.members_seen_by(2, "g").is_empty());
        groups.commit();
        assert_eq!(
            groups
                .members_seen_by(2, "g")
                .into_iter()
                .collect::<Vec<_>>(),
            [1]
        );
        groups.exit(1);
        groups.commit();
        assert!(groups.committed.is_empty(), "an empty group disappears");
    }
}
