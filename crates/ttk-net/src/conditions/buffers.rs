//! Copies of datagrams held back ([`HeldBytes`]): a small datagram (a game's update, a ping)
//! is kept inline, in the queue's entry itself; a larger one in a buffer reused on each thread.
//!
//! A buffer per datagram cost an allocation and a free, a good part of what a delay costs per
//! datagram; reused from a pool, it still cost two visits to the pool and, when the datagram
//! was sent a delay later, a read of a buffer gone cold meanwhile. Inline, the bytes travel
//! with the entry, which the queue reads in order.

use std::cell::RefCell;

/// The longest datagram kept inline: with its length, 64 bytes, which keeps a held send's
/// entry in the queue within three cache lines.
const INLINE: usize = 63;
/// Buffers kept for reuse, at most.
const KEPT: usize = 4_096;
/// The largest buffer kept (a datagram of a game, a ping): larger ones are allocated each time.
const KEPT_CAPACITY: usize = 2_048;

thread_local! {
    static FREE: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
}

/// A copy of a datagram held back: inline if it is short, else in a buffer given back for
/// reuse as this drops.
pub(crate) enum HeldBytes {
    /// Up to [`INLINE`] bytes, the first `len` of `bytes`.
    Inline { len: u8, bytes: [u8; INLINE] },
    /// A longer datagram.
    Pooled(Vec<u8>),
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
        HeldBytes::Pooled(pooled_copy_of(data))
    }

    /// The bytes held.
    pub(crate) fn as_slice(&self) -> &[u8] {
        match self {
            HeldBytes::Inline { len, bytes } => &bytes[..usize::from(*len)],
            HeldBytes::Pooled(buffer) => buffer,
        }
    }
}

impl Drop for HeldBytes {
    fn drop(&mut self) {
        if let HeldBytes::Pooled(buffer) = self {
            give_back(std::mem::take(buffer));
        }
    }
}

/// A buffer holding a copy of `data`, from the pool if one is kept.
fn pooled_copy_of(data: &[u8]) -> Vec<u8> {
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
    fn a_copy_holds_the_bytes_whether_inline_or_pooled() {
        for len in [0, 1, INLINE - 1, INLINE, INLINE + 1, 300, KEPT_CAPACITY + 1] {
            let data: Vec<u8> = (0..len).map(|k| k as u8).collect();
            let held = HeldBytes::copy_of(&data);
            assert_eq!(held.as_slice(), &data[..], "{len} bytes");
            assert_eq!(matches!(held, HeldBytes::Inline { .. }), len <= INLINE);
        }
    }

    #[test]
    fn a_pooled_buffer_is_reused_after_its_copy_drops() {
        let first = HeldBytes::copy_of(&[7; 300]);
        let HeldBytes::Pooled(buffer) = &first else {
            panic!("300 bytes are pooled")
        };
        let address = buffer.as_ptr();
        drop(first);
        let second = HeldBytes::copy_of(&[9; 200]);
        let HeldBytes::Pooled(buffer) = &second else {
            panic!("200 bytes are pooled")
        };
        assert_eq!(
            buffer.as_ptr(),
            address,
            "the buffer given back is taken again"
        );
        assert_eq!(second.as_slice(), &[9; 200][..]);
    }
}
