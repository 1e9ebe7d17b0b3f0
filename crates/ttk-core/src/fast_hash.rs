//! A fast hasher for the loop's internal maps (bot indices, ids, group names).
//!
//! std's default SipHash resists collision attacks from untrusted input; these maps are keyed by
//! what the run's own bots use (their indices, ids and group names), and are hashed on every
//! group or barrier operation, so a multiply-and-rotate hash (the one rustc uses for its own
//! tables) is the right trade.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

/// A `HashMap` with [`FastHasher`].
pub(crate) type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;

/// A `HashSet` with [`FastHasher`].
pub(crate) type FastSet<T> = HashSet<T, BuildHasherDefault<FastHasher>>;

/// Multiply-and-rotate hashing, a word at a time.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct FastHasher {
    /// The hash so far.
    hash: u64,
}

/// An odd constant with well-mixed bits (from the golden ratio).
const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FastHasher {
    /// Mixes one word in.
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FastHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            self.add(u64::from_le_bytes(chunk.try_into().expect("8 bytes")));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut last = [0; 8];
            last[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(last));
        }
    }

    #[inline]
    fn write_u8(&mut self, value: u8) {
        self.add(u64::from(value));
    }

    #[inline]
    fn write_u32(&mut self, value: u32) {
        self.add(u64::from(value));
    }

    #[inline]
    fn write_u64(&mut self, value: u64) {
        self.add(value);
    }

    #[inline]
    fn write_usize(&mut self, value: usize) {
        self.add(value as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_work_and_similar_keys_spread() {
        let mut map: FastMap<String, usize> = FastMap::default();
        for room in 0..10_000 {
            map.insert(format!("room{room}"), room);
        }
        assert_eq!(map["room1234"], 1234);
        // hashbrown picks a bucket from the low bits and a tag from the top 7.
        let hashes: Vec<u64> = (0..1024u32)
            .map(|key| {
                let mut hasher = FastHasher::default();
                hasher.write_u32(key);
                hasher.finish()
            })
            .collect();
        let buckets: FastSet<u64> = hashes.iter().map(|hash| hash & 1023).collect();
        let tags: FastSet<u64> = hashes.iter().map(|hash| hash >> 57).collect();
        assert!(
            buckets.len() > 600,
            "poor spread: {} buckets",
            buckets.len()
        );
        assert!(tags.len() > 100, "poor spread: {} tags", tags.len());
    }
}
