//! The bots waiting on one ENet host, and what each waits for, so that the bot servicing the
//! host wakes just the ones its events concern — and hands the service on when it stops.

use std::collections::BTreeMap;
use std::task::Waker;

/// What a bot waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Interest {
    /// Something of the connection in this peer slot: a packet, connected, disconnected.
    Peer(usize),
    /// A new connection to accept.
    Accept,
    /// Only time (a sleep that services the host).
    Time,
}

/// One waiting bot.
#[derive(Debug)]
struct Waiter {
    interest: Interest,
    /// Its waker, as of its last poll.
    waker: Option<Waker>,
    /// Whether something it waits for happened since it last looked.
    woken: bool,
}

/// The waiting bots of one host, by key (their order of arrival).
#[derive(Debug, Default)]
pub(crate) struct Waiters {
    next: u64,
    all: BTreeMap<u64, Waiter>,
    /// The keys waiting for each interest (a few at most: one bot per connection, as a rule).
    by_peer: BTreeMap<usize, Vec<u64>>,
    accepting: Vec<u64>,
}

impl Waiters {
    /// Enlists a waiter for `interest`: its key.
    pub(crate) fn enlist(&mut self, interest: Interest) -> u64 {
        let key = self.next;
        self.next += 1;
        self.all.insert(
            key,
            Waiter {
                interest,
                waker: None,
                woken: false,
            },
        );
        match interest {
            Interest::Peer(slot) => self.by_peer.entry(slot).or_default().push(key),
            Interest::Accept => self.accepting.push(key),
            Interest::Time => {}
        }
        key
    }

    /// Takes `key` off the list.
    pub(crate) fn leave(&mut self, key: u64) {
        let Some(waiter) = self.all.remove(&key) else {
            return;
        };
        match waiter.interest {
            Interest::Peer(slot) => {
                if let Some(keys) = self.by_peer.get_mut(&slot) {
                    keys.retain(|k| *k != key);
                    if keys.is_empty() {
                        self.by_peer.remove(&slot);
                    }
                }
            }
            Interest::Accept => self.accepting.retain(|k| *k != key),
            Interest::Time => {}
        }
    }

    /// Whether `key` was woken since it last looked (and clears it); else keeps `waker` to be
    /// woken by (the first one it looked with).
    pub(crate) fn look(&mut self, key: u64, waker: &Waker) -> bool {
        let Some(waiter) = self.all.get_mut(&key) else {
            return true;
        };
        if std::mem::take(&mut waiter.woken) {
            return true;
        }
        // Kept from the first look: a future is polled by its own bot, and on ttk's loop each
        // clone of the waker is an allocation (an owned waker for the running bot).
        if waiter.waker.is_none() {
            waiter.waker = Some(waker.clone());
        }
        false
    }

    /// Wakes the waiters of the connection in `slot`.
    pub(crate) fn wake_peer(&mut self, slot: usize) {
        let Some(keys) = self.by_peer.get(&slot) else {
            return;
        };
        for key in keys {
            if let Some(waiter) = self.all.get_mut(key) {
                wake(waiter);
            }
        }
    }

    /// Wakes a waiter for a new connection: the longest-waiting one not woken yet (one per
    /// connection, not all of them).
    pub(crate) fn wake_accepting(&mut self) {
        for key in &self.accepting {
            if let Some(waiter) = self.all.get_mut(key)
                && !waiter.woken
            {
                wake(waiter);
                return;
            }
        }
    }

    /// Wakes `key` (the bot servicing the host: its wait is to be timed again).
    pub(crate) fn poke(&mut self, key: u64) {
        if let Some(waiter) = self.all.get_mut(&key) {
            wake(waiter);
        }
    }

    /// Wakes the longest-waiting bot other than `key` (to service the host in its place).
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
