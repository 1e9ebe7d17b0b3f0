//! Buffers for datagrams held back, reused on each thread: a datagram held each way would
//! otherwise cost an allocation and a free, a good part of what a delay costs per datagram.

use std::cell::RefCell;

/// Buffers kept for reuse, at most.
const KEPT: usize = 4_096;
/// The largest buffer kept (a datagram of a game, a ping): larger ones are allocated each time.
const KEPT_CAPACITY: usize = 2_048;

thread_local! {
    static FREE: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
}

/// A buffer holding a copy of `data`.
pub(crate) fn copy_of(data: &[u8]) -> Vec<u8> {
    if data.len() <= KEPT_CAPACITY
        && let Some(mut buffer) = FREE.with(|free| free.borrow_mut().pop())
    {
        buffer.clear();
        buffer.extend_from_slice(data);
        return buffer;
    }
    let mut buffer = Vec::with_capacity(data.len().clamp(256, KEPT_CAPACITY).max(data.len()));
    buffer.extend_from_slice(data);
    buffer
}

/// Gives `buffer` back for reuse.
pub(crate) fn give_back(buffer: Vec<u8>) {
    if buffer.capacity() <= KEPT_CAPACITY && buffer.capacity() >= 256 {
        // `try_with`: a buffer dropped while the thread exits is simply freed.
        let _ = FREE.try_with(|free| {
            let mut free = free.borrow_mut();
            if free.len() < KEPT {
                free.push(buffer);
            }
        });
    }
}
