//! Names to numbers, found without hashing when the caller passes the same string again.
//!
//! Bots name their measurements with string literals, so the same name arrives at the same
//! address every time: a small table keyed by the address remembers each name's number. The
//! name stored under that number is compared with the one given before the number is
//! trusted, so a different string at a reused address (a freed `String`) is still found by
//! its text.

use crate::fast_hash::FastMap;

/// Entries of the table keyed by address.
const RECENT: usize = 64;
/// An empty entry.
const NONE: u32 = u32::MAX;

pub(crate) struct NameIndex {
    by_text: FastMap<Box<str>, u32>,
    names: Vec<Box<str>>,
    recent: [(usize, u32); RECENT],
}

impl Default for NameIndex {
    fn default() -> Self {
        NameIndex {
            by_text: FastMap::default(),
            names: Vec::new(),
            recent: [(0, NONE); RECENT],
        }
    }
}

impl NameIndex {
    /// The number of `name`, if it has one.
    #[inline]
    pub(crate) fn find(&mut self, name: &str) -> Option<u32> {
        let address = name.as_ptr() as usize;
        let slot = (address >> 3 ^ name.len()) % RECENT;
        let (seen_at, number) = self.recent[slot];
        if seen_at == address
            && number != NONE
            && self
                .names
                .get(number as usize)
                .is_some_and(|known| same_text(known.as_bytes(), name.as_bytes()))
        {
            return Some(number);
        }
        let number = *self.by_text.get(name)?;
        self.recent[slot] = (address, number);
        Some(number)
    }

    /// Gives `name` the next number.
    pub(crate) fn add(&mut self, name: &str) -> u32 {
        let number = u32::try_from(self.names.len()).expect("fewer than 2^32 names");
        self.names.push(name.into());
        self.by_text.insert(name.into(), number);
        number
    }
}

/// `a == b`, without a call to `memcmp` for the short names measurements have: up to 16 bytes
/// are compared as two overlapping words.
#[inline]
fn same_text(a: &[u8], b: &[u8]) -> bool {
    let len = a.len();
    if len != b.len() {
        return false;
    }
    let word = |bytes: &[u8], at: usize| -> u64 {
        u64::from_le_bytes(bytes[at..at + 8].try_into().expect("eight bytes"))
    };
    let half = |bytes: &[u8], at: usize| -> u32 {
        u32::from_le_bytes(bytes[at..at + 4].try_into().expect("four bytes"))
    };
    match len {
        0 => true,
        1..=3 => a[0] == b[0] && a[len / 2] == b[len / 2] && a[len - 1] == b[len - 1],
        4..=7 => half(a, 0) == half(b, 0) && half(a, len - 4) == half(b, len - 4),
        8..=16 => word(a, 0) == word(b, 0) && word(a, len - 8) == word(b, len - 8),
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reused_address_is_checked_against_the_text() {
        let mut index = NameIndex::default();
        let login = index.add("login");
        let chat = index.add("chat");
        let mut text = String::from("login");
        assert_eq!(index.find(&text), Some(login));
        // The same buffer, another name: the address matches, the text does not.
        text.replace_range(.., "chat!");
        text.pop();
        assert_eq!(index.find(&text), Some(chat));
        text.replace_range(.., "nope");
        assert_eq!(index.find(&text), None);
        assert_eq!(index.find("login"), Some(login));
    }

    #[test]
    fn short_texts_compare_like_slices() {
        let texts: Vec<Vec<u8>> = (0..=20)
            .flat_map(|len| {
                let base: Vec<u8> = (0..len as u8).map(|n| b'a' + n).collect();
                let mut variants = vec![base.clone()];
                for at in 0..len {
                    let mut changed = base.clone();
                    changed[at] = b'Z';
                    variants.push(changed);
                }
                variants
            })
            .collect();
        for a in &texts {
            for b in &texts {
                assert_eq!(same_text(a, b), a == b, "{a:?} {b:?}");
            }
        }
    }
}
