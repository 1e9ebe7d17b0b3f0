//! Copies of datagrams held back ([`HeldBytes`]), on their way out or in: a short datagram (a
//! game's update, a ping) is kept inline, in the queue's entry itself; a longer one in a buffer,
//! reused on each thread up to a size.
//!
//! A buffer per datagram cost an allocation and a free, a good part of what a delay costs per
//! datagram; reused from a pool, it still cost two visits to the pool and, when the datagram
//! was sent a delay later, a read of a buffer gone cold meanwhile. Inline, the bytes travel
//! with the entry, which the queue reads in order.

use std::cell::RefCell;

/// The longest datagram kept inline: with its length and the tag, [`HeldBytes`] is 64 bytes,
/// which keeps a held send's entry in the queue within three cache lines.
const INLINE: usize = 62;
const _: () = assert!(std::mem::size_of::<HeldBytes>() == 64);
const _: () = assert!(INLINE <= u8::MAX as usize, "the inline length is a u8");
/// Buffers kept for reuse, at most.
const KEPT: usize = 4_096;
/// The largest buffer kept (a datagram of a game's state, a chat line): larger ones are
/// allocated each time.
const KEPT_CAPACITY: usize = 2_048;

thread_local! {
    static FREE: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
}

/// A copy of a datagram held back: inline if it is short, else in a buffer (kept for reuse as
/// this drops, if it is not too large).
pub(crate) enum HeldBytes {
    /// Up to [`INLINE`] bytes, the first `len` of `bytes`.
    Inline { len: u8, bytes: [u8; INLINE] },
    /// A longer datagram.
    Buffer(Vec<u8>),
}

impl HeldBytes {
    /// A copy of `data`.
    pub(crate) fn copy_of(data: &[u8]) -> HeldBytes {
        if data.len() <= INLINE {
            let mut bytes = [0; INLINE];
            bytes[..data.len()].copy_from_slice(data);
            return HeldBytes::Inline {
                len: data.len() as u8,
                bytes,
            };
        }
        HeldBytes::Buffer(buffer_of(data))
    }

    /// The bytes held.
    pub(crate) fn as_slice(&self) -> &[u8] {
        match self {
            HeldBytes::Inline { len, bytes } => &bytes[..usize::from(*len)],
            HeldBytes::Buffer(buffer) => buffer,
        }
    }
}

impl Drop for HeldBytes {
    fn drop(&mut self) {
        if let HeldBytes::Buffer(buffer) = self {
            give_back(std::mem::take(buffer));
        }
    }
}

/// A buffer holding a copy of `data`, one kept for reuse if there is one.
fn buffer_of(data: &[u8]) -> Vec<u8> {
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
fn give_back(buffer: Vec<u8>) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copy_holds_the_bytes_whether_inline_or_in_a_buffer() {
        for len in [0, 1, INLINE - 1, INLINE, INLINE + 1, 300, KEPT_CAPACITY + 1] {
            let data: Vec<u8> = (0..len).map(|k| k as u8).collect();
            let held = HeldBytes::copy_of(&data);
            assert_eq!(held.as_slice(), &data[..], "{len} bytes");
            assert_eq!(matches!(held, HeldBytes::Inline { .. }), len <= INLINE);
        }
    }

    /// Buffers kept for reuse on this thread.
    fn kept() -> usize {
        FREE.with(|free| free.borrow().len())
    }

    #[test]
    fn a_longer_datagram_s_buffer_is_kept_as_its_copy_drops_and_taken_again() {
        let before = kept();
        let first = HeldBytes::copy_of(&[7; 300]);
        drop(first);
        assert_eq!(kept(), before + 1, "its buffer kept");
        let second = HeldBytes::copy_of(&[9; 200]);
        assert_eq!(kept(), before, "and taken again");
        assert_eq!(second.as_slice(), &[9; 200][..]);
        drop(second);
        let large = HeldBytes::copy_of(&vec![1; KEPT_CAPACITY + 1]);
        drop(large);
        assert_eq!(kept(), before + 1, "one too large is not kept");
        drop(HeldBytes::copy_of(&[3; INLINE]));
        assert_eq!(kept(), before + 1, "an inline copy has no buffer");
    }
}
