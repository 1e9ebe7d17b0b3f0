//! Which parts of a connection h2 woke: the connection itself, or which of its streams, so
//! the driver polls those and not every stream in flight.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Wake, Waker};

/// The wakers a connection hands h2, and what they recorded.
///
/// Every wake happens inside the driver's own poll of h2 (on the bot's thread, while it
/// runs): the wakers only note what to poll next, and the driver looks before it waits.
#[derive(Debug)]
pub(crate) struct Wakes {
    /// What the wakers record.
    shared: Arc<Shared>,
    /// The waker of the connection (and of opening new streams).
    connection: Waker,
    /// One waker per stream slot, made the first time the slot is used (with its state, to
    /// clear its mark).
    streams: Vec<(Waker, Arc<StreamWake>)>,
}

/// What the wakers record.
#[derive(Debug, Default)]
struct Shared {
    /// The slots woken since the driver last took them, each once.
    ready: Mutex<Vec<u32>>,
    /// Whether the connection was woken since the driver last looked.
    connection: AtomicBool,
}

/// The waker of one stream slot.
#[derive(Debug)]
struct StreamWake {
    /// Its slot.
    slot: u32,
    /// Whether the slot is in `ready` (so it is listed once however often it is woken).
    listed: AtomicBool,
    /// Where it is listed.
    shared: Arc<Shared>,
}

/// The connection's waker.
#[derive(Debug)]
struct ConnectionWake(Arc<Shared>);

impl Wake for StreamWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if !self.listed.swap(true, Ordering::AcqRel) {
            lock(&self.shared.ready).push(self.slot);
        }
    }
}

impl Wake for ConnectionWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.connection.store(true, Ordering::Release);
    }
}

impl Default for Wakes {
    fn default() -> Self {
        let shared = Arc::new(Shared::default());
        Wakes {
            connection: Waker::from(Arc::new(ConnectionWake(Arc::clone(&shared)))),
            shared,
            streams: Vec::new(),
        }
    }
}

impl Wakes {
    /// The connection's waker.
    pub(crate) fn connection(&self) -> &Waker {
        &self.connection
    }

    /// The waker of stream slot `slot`.
    pub(crate) fn stream(&mut self, slot: u32) -> &Waker {
        while self.streams.len() <= slot as usize {
            let wake = Arc::new(StreamWake {
                slot: self.streams.len() as u32,
                listed: AtomicBool::new(false),
                shared: Arc::clone(&self.shared),
            });
            self.streams.push((Waker::from(Arc::clone(&wake)), wake));
        }
        &self.streams[slot as usize].0
    }

    /// Takes (and clears) the connection's wake.
    pub(crate) fn take_connection(&self) -> bool {
        self.shared.connection.swap(false, Ordering::AcqRel)
    }

    /// Whether a stream was woken and not yet taken.
    pub(crate) fn any_stream(&self) -> bool {
        !lock(&self.shared.ready).is_empty()
    }

    /// Moves the woken slots into `into` (empty), in the order they were woken; each may be
    /// woken again from now on.
    pub(crate) fn take_streams(&self, into: &mut Vec<u32>) {
        debug_assert!(into.is_empty());
        std::mem::swap(&mut *lock(&self.shared.ready), into);
        for &slot in into.iter() {
            if let Some((_, wake)) = self.streams.get(slot as usize) {
                wake.listed.store(false, Ordering::Release);
            }
        }
    }
}

/// Locks `mutex`, whose data stays whole even if a holder panicked (a push of a number).
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slot_is_listed_once_until_taken() {
        let mut wakes = Wakes::default();
        let (two, five) = (wakes.stream(2).clone(), wakes.stream(5).clone());
        assert!(!wakes.any_stream());
        five.wake_by_ref();
        two.wake_by_ref();
        five.wake_by_ref();
        let mut taken = Vec::new();
        wakes.take_streams(&mut taken);
        assert_eq!(taken, [5, 2]);
        taken.clear();
        wakes.take_streams(&mut taken);
        assert!(taken.is_empty(), "nothing woke since");
        two.wake();
        wakes.take_streams(&mut taken);
        assert_eq!(taken, [2], "taken slots are listed again when woken again");
    }

    #[test]
    fn the_connection_wake_is_a_flag() {
        let wakes = Wakes::default();
        assert!(!wakes.take_connection());
        wakes.connection().wake_by_ref();
        wakes.connection().wake_by_ref();
        assert!(wakes.take_connection());
        assert!(!wakes.take_connection());
    }
}
