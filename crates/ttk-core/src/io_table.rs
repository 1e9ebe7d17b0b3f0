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
    /// The bot parked until readable, or [`NO_BOT`].
    read_waiter: u32,
    /// The bot parked until writable, or [`NO_BOT`].
    write_waiter: u32,
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
            read_waiter: NO_BOT,
            write_waiter: NO_BOT,
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
            self.waiters -= usize::from(slot.read_waiter != NO_BOT);
            self.waiters -= usize::from(slot.write_waiter != NO_BOT);
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

    /// Records that `direction` returned `WouldBlock` and parks `bot` until an event says ready.
    pub(crate) fn park(&mut self, token: Token, direction: Direction, bot: u32) {
        if let Some(Some(slot)) = self.slots.get_mut(token.0) {
            match direction {
                Direction::Read => {
                    slot.readable = false;
                    self.waiters += usize::from(slot.read_waiter == NO_BOT);
                    slot.read_waiter = bot;
                }
                Direction::Write => {
                    slot.writable = false;
                    self.waiters += usize::from(slot.write_waiter == NO_BOT);
                    slot.write_waiter = bot;
                }
            }
        }
    }

    /// Applies an event and returns the bots it wakes (read waiter first).
    pub(crate) fn on_event(
        &mut self,
        token: Token,
        readable: bool,
        writable: bool,
    ) -> [Option<u32>; 2] {
        let Some(Some(slot)) = self.slots.get_mut(token.0) else {
            return [None, None];
        };
        let mut woken = [None, None];
        if readable {
            slot.readable = true;
            woken[0] = take_waiter(&mut slot.read_waiter);
        }
        if writable {
            slot.writable = true;
            woken[1] = take_waiter(&mut slot.write_waiter);
        }
        self.waiters -= woken.iter().flatten().count();
        woken
    }
}

/// Takes the bot out of a waiter field.
fn take_waiter(waiter: &mut u32) -> Option<u32> {
    let bot = std::mem::replace(waiter, NO_BOT);
    (bot != NO_BOT).then_some(bot)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_wakes_the_parked_bot_once_and_sets_the_bit() {
        let mut table = IoTable::default();
        let token = table.insert();
        assert!(table.is_ready(token, Direction::Read));
        table.park(token, Direction::Read, 7);
        assert!(!table.is_ready(token, Direction::Read));
        assert_eq!(table.on_event(token, true, false), [Some(7), None]);
        assert!(table.is_ready(token, Direction::Read));
        assert_eq!(table.on_event(token, true, true), [None, None]);
    }

    #[test]
    fn freed_slots_are_reused_and_ignore_stale_events() {
        let mut table = IoTable::default();
        let first = table.insert();
        table.remove(first);
        assert!(table.is_empty());
        assert_eq!(table.on_event(first, true, true), [None, None]);
        assert_eq!(table.insert(), first);
    }
}
