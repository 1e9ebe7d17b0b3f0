//! The bots waiting on one QUIC connection: the one driving it wakes the others when it has
//! news for them, and hands the driving on when it stops.

use std::collections::BTreeMap;
use std::task::Waker;

/// One waiting bot.
#[derive(Debug, Default)]
struct Waiter {
    /// Its waker, as of its first look.
    waker: Option<Waker>,
    /// Whether something happened since it last looked.
    woken: bool,
}

/// The waiting bots of one connection, by key (their order of arrival). A connection has a
/// few at most (its bot, or the bots sharing it), so news wakes them all.
#[derive(Debug, Default)]
pub(crate) struct Waiters {
    next: u64,
    all: BTreeMap<u64, Waiter>,
}

impl Waiters {
    /// Enlists a waiter: its key.
    pub(crate) fn enlist(&mut self) -> u64 {
        let key = self.next;
        self.next += 1;
        self.all.insert(key, Waiter::default());
        key
    }

    /// Takes `key` off the list.
    pub(crate) fn leave(&mut self, key: u64) {
        self.all.remove(&key);
    }

    /// Whether `key` was woken since it last looked (and clears it); else keeps `waker` to be
    /// woken by (the first one it looked with: on ttk's loop each clone is an allocation).
    pub(crate) fn look(&mut self, key: u64, waker: &Waker) -> bool {
        let Some(waiter) = self.all.get_mut(&key) else {
            return true;
        };
        if std::mem::take(&mut waiter.woken) {
            return true;
        }
        if waiter.waker.is_none() {
            waiter.waker = Some(waker.clone());
        }
        false
    }

    /// Wakes every waiter but `key` (news of the connection).
    pub(crate) fn wake_all_besides(&mut self, key: Option<u64>) {
        for (_, waiter) in self.all.iter_mut().filter(|(k, _)| Some(**k) != key) {
            wake(waiter);
        }
    }

    /// Wakes `key` (the driving bot: its wait is to be timed again).
    pub(crate) fn poke(&mut self, key: u64) {
        if let Some(waiter) = self.all.get_mut(&key) {
            wake(waiter);
        }
    }

    /// Wakes the longest-waiting bot other than `key` (to drive in its place).
    pub(crate) fn wake_one_besides(&mut self, key: u64) {
        if let Some((_, waiter)) = self.all.iter_mut().find(|(k, _)| **k != key) {
            wake(waiter);
        }
    }
}

/// Wakes `waiter` (once until it looks).
fn wake(waiter: &mut Waiter) {
    if !waiter.woken {
        waiter.woken = true;
        if let Some(waker) = &waiter.waker {
            waker.wake_by_ref();
        }
    }
}
