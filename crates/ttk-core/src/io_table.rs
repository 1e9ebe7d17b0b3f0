//! Readiness bookkeeping for every I/O source registered with a loop.

use mio::Token;

/// "No bot waits here."
const NO_BOT: u32 = u32::MAX;

/// Which half of a source a bot waits on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    /// Waiting until the source can be read (or accepts, or has an error to report).
    Read,
    /// Waiting until the source can be written (or a connect finished).
    Write,
}

/// One registered source.
///
/// Sources are registered edge-triggered, so the bits remember readiness between events: a bit is
/// set by an event and cleared only when an operation returns `WouldBlock`.
#[derive(Debug)]
struct Slot {
    /// The last event said readable and no read has hit `WouldBlock` since.
    readable: bool,
    /// The last event said writable and no write has hit `WouldBlock` since.
    writable: bool,
    /// An event said the peer closed its side or the source failed. It stays set: such an
    /// event comes once, so the read half must never again wait for one (see
    /// [`IoTable::clear_read`]).
    closed: bool,
    /// Bots parked until readable.
    readers: Waiters,
    /// Bots parked until writable.
    writers: Waiters,
}

/// One parked operation: (bot, operation id). The id tells apart two operations of one bot on
/// the same half (a read, and a readiness wait under a timeout): dropping one must not un-park
/// the other.
type Waiter = (u32, u32);

/// "No operation waits here."
const NO_WAITER: Waiter = (NO_BOT, 0);

/// The operations parked on one half of a source: almost always one, so it is kept inline; bots
/// sharing a socket (a listener, a UDP socket) spill into `more`.
#[derive(Debug)]
struct Waiters {
    /// The first waiter, or [`NO_WAITER`].
    first: Waiter,
    /// Further waiters; boxed so that a socket nobody shares pays one pointer for it instead of
    /// a `Vec`'s three (this is memory per connected bot).
    #[allow(clippy::box_collection)]
    more: Option<Box<Vec<Waiter>>>,
}

impl Default for Waiters {
    fn default() -> Self {
        Waiters {
            first: NO_WAITER,
            more: None,
        }
    }
}

impl Waiters {
    /// Adds `waiter`; true if it was not waiting already.
    fn add(&mut self, waiter: Waiter) -> bool {
        if self.first == waiter
            || self
                .more
                .as_ref()
                .is_some_and(|more| more.contains(&waiter))
        {
            false
        } else if self.first == NO_WAITER {
            self.first = waiter;
            true
        } else {
            self.more.get_or_insert_default().push(waiter);
            true
        }
    }

    /// Removes `waiter`; true if it was waiting.
    fn remove(&mut self, waiter: Waiter) -> bool {
        let more = self.more.as_deref_mut();
        if self.first == waiter {
            self.first = more.and_then(Vec::pop).unwrap_or(NO_WAITER);
            true
        } else if let Some(more) = more
            && let Some(position) = more.iter().position(|&w| w == waiter)
        {
            more.swap_remove(position);
            true
        } else {
            false
        }
    }

    /// How many operations wait.
    fn len(&self) -> usize {
        usize::from(self.first != NO_WAITER) + self.more.as_ref().map_or(0, |more| more.len())
    }

    /// Hands every waiting bot to `wake` and forgets the waiters; returns how many there were.
    fn wake_all(&mut self, wake: &mut impl FnMut(u32)) -> usize {
        let count = self.len();
        if self.first != NO_WAITER {
            wake(std::mem::replace(&mut self.first, NO_WAITER).0);
        }
        if let Some(more) = &mut self.more {
            for (bot, _) in more.drain(..) {
                wake(bot);
            }
        }
        count
    }
}

/// A slab of [`Slot`]s; a slot's index is its mio [`Token`].
#[derive(Debug, Default)]
pub(crate) struct IoTable {
    /// Slots by token; `None` is free.
    slots: Vec<Option<Slot>>,
    /// Free slot indices, reused before the slab grows.
    free: Vec<usize>,
    /// Number of slots in use.
    live: usize,
    /// Number of parked waiters (a stalled run with none is a deadlock, not a wait for I/O).
    waiters: usize,
}

impl IoTable {
    /// Reserves a slot for a new source. A new source is assumed ready: the first operation
    /// tries the syscall and learns the truth from it.
    pub(crate) fn insert(&mut self) -> Token {
        let slot = Slot {
            readable: true,
            writable: true,
            closed: false,
            readers: Waiters::default(),
            writers: Waiters::default(),
        };
        self.live += 1;
        if let Some(index) = self.free.pop() {
            self.slots[index] = Some(slot);
            Token(index)
        } else {
            self.slots.push(Some(slot));
            Token(self.slots.len() - 1)
        }
    }

    /// Frees a slot.
    pub(crate) fn remove(&mut self, token: Token) {
        if let Some(slot) = self.slots.get_mut(token.0)
            && let Some(slot) = slot.take()
        {
            self.waiters -= slot.readers.len() + slot.writers.len();
            self.live -= 1;
            self.free.push(token.0);
        }
    }

    /// Whether any source is registered (if none, the loop never needs to ask the selector).
    pub(crate) fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Whether a bot is parked on some source.
    pub(crate) fn has_waiters(&self) -> bool {
        self.waiters > 0
    }

    /// Whether the last known state of `direction` is ready.
    pub(crate) fn is_ready(&self, token: Token, direction: Direction) -> bool {
        match self.slots.get(token.0) {
            Some(Some(slot)) => match direction {
                Direction::Read => slot.readable,
                Direction::Write => slot.writable,
            },
            _ => true,
        }
    }

    /// Records that `direction` returned `WouldBlock` and parks operation `op` of `bot` until an
    /// event says ready.
    pub(crate) fn park(&mut self, token: Token, direction: Direction, bot: u32, op: u32) {
        if let Some(Some(slot)) = self.slots.get_mut(token.0) {
            let added = match direction {
                Direction::Read => {
                    slot.readable = false;
                    slot.readers.add((bot, op))
                }
                Direction::Write => {
                    slot.writable = false;
                    slot.writers.add((bot, op))
                }
            };
            self.waiters += usize::from(added);
        }
    }

    /// Forgets operation `op` of `bot` as a waiter (it completed or was dropped).
    pub(crate) fn unpark(&mut self, token: Token, direction: Direction, bot: u32, op: u32) {
        if let Some(Some(slot)) = self.slots.get_mut(token.0) {
            let removed = match direction {
                Direction::Read => slot.readers.remove((bot, op)),
                Direction::Write => slot.writers.remove((bot, op)),
            };
            self.waiters -= usize::from(removed);
        }
    }

    /// Marks the read half of `token` not ready until its next event, unless an event already
    /// said the peer closed (or the source failed): that event will not come again, and the
    /// read that reports it must not wait for it.
    pub(crate) fn clear_read(&mut self, token: Token) {
        if let Some(Some(slot)) = self.slots.get_mut(token.0)
            && !slot.closed
        {
            slot.readable = false;
        }
    }

    /// Applies an event, handing the bots it wakes to `wake` (readers first). `closed`: the
    /// event says the peer closed its side, or an error.
    pub(crate) fn on_event(
        &mut self,
        token: Token,
        readable: bool,
        writable: bool,
        closed: bool,
        mut wake: impl FnMut(u32),
    ) {
        let Some(Some(slot)) = self.slots.get_mut(token.0) else {
            return;
        };
        slot.closed |= closed;
        if readable {
            slot.readable = true;
            self.waiters -= slot.readers.wake_all(&mut wake);
        }
        if writable {
            slot.writable = true;
            self.waiters -= slot.writers.wake_all(&mut wake);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn woken(table: &mut IoTable, token: Token, readable: bool, writable: bool) -> Vec<u32> {
        let mut bots = Vec::new();
        table.on_event(token, readable, writable, false, |bot| bots.push(bot));
        bots
    }

    #[test]
    fn an_event_wakes_the_parked_bot_once_and_sets_the_bit() {
        let mut table = IoTable::default();
        let token = table.insert();
        assert!(table.is_ready(token, Direction::Read));
        table.park(token, Direction::Read, 7, 0);
        assert!(!table.is_ready(token, Direction::Read));
        assert!(table.has_waiters());
        assert_eq!(woken(&mut table, token, true, false), [7]);
        assert!(table.is_ready(token, Direction::Read));
        assert!(!table.has_waiters());
        assert!(woken(&mut table, token, true, true).is_empty());
    }

    #[test]
    fn a_drained_read_half_waits_for_an_event_unless_the_peer_closed() {
        let mut table = IoTable::default();
        let token = table.insert();
        table.clear_read(token);
        assert!(!table.is_ready(token, Direction::Read));
        assert!(
            table.is_ready(token, Direction::Write),
            "only the read half"
        );
        assert!(woken(&mut table, token, true, false).is_empty());
        assert!(table.is_ready(token, Direction::Read));
        // The peer's close comes in one event: after it, nothing waits for another.
        let mut bots = Vec::new();
        table.on_event(token, true, true, true, |bot| bots.push(bot));
        table.clear_read(token);
        assert!(table.is_ready(token, Direction::Read));
    }

    #[test]
    fn every_bot_sharing_a_source_is_woken_and_a_bot_that_left_is_not() {
        let mut table = IoTable::default();
        let token = table.insert();
        for bot in [1, 2, 3, 2] {
            table.park(token, Direction::Read, bot, 0);
        }
        table.unpark(token, Direction::Read, 1, 0);
        table.park(token, Direction::Write, 4, 0);
        assert_eq!(woken(&mut table, token, true, true), [3, 2, 4]);
        assert!(!table.has_waiters());
    }

    #[test]
    fn dropping_one_operation_of_a_bot_leaves_its_other_operation_parked() {
        let mut table = IoTable::default();
        let token = table.insert();
        table.park(token, Direction::Read, 5, 1);
        table.park(token, Direction::Read, 5, 2);
        table.unpark(token, Direction::Read, 5, 2);
        assert!(table.has_waiters());
        assert_eq!(woken(&mut table, token, true, false), [5]);
    }

    #[test]
    fn freed_slots_are_reused_and_ignore_stale_events() {
        let mut table = IoTable::default();
        let first = table.insert();
        table.park(first, Direction::Read, 1, 0);
        table.remove(first);
        assert!(table.is_empty());
        assert!(!table.has_waiters());
        assert!(woken(&mut table, first, true, true).is_empty());
        assert_eq!(table.insert(), first);
    }
}
