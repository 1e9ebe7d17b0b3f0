//! A seeded random generator per bot: the same run seed gives the same numbers.

use std::ops::Range;

use crate::context::with_loop;

/// The random generator of one bot, from [`Cx::rng`](crate::Cx::rng).
///
/// Each bot's stream is derived from the run's seed
/// ([`Runtime::seed`](crate::Runtime::seed), default 0) and the bot's id, so a run with the same
/// seed makes the same choices, whatever else changes. SplitMix64: fast and well mixed; not for
/// cryptography.
///
/// # Examples
/// ```
/// # use ttk_macros::bot;
/// use ttk_core::{Cx, Runtime};
///
/// #[bot(crate = ttk_core)]
/// fn dice(cx: Cx, _id: usize) -> Vec<u64> {
///     (0..5).map(|_| cx.rng().range(1..7)).collect()
/// }
///
/// let first = Runtime::new().seed(7).run(3, dice);
/// let again = Runtime::new().seed(7).run(3, dice);
/// assert_eq!(first, again);
/// assert!(first.iter().flatten().all(|d| (1..7).contains(d)));
/// assert_ne!(first[0], first[1], "each bot has its own stream");
/// ```
#[derive(Clone, Copy, Debug)]
pub struct BotRng {
    /// The bot whose stream this is.
    pub(crate) index: u32,
}

/// The first state of bot `index`'s stream under `seed`.
pub(crate) fn initial_state(seed: u64, index: u32) -> u64 {
    let mut state = seed ^ (u64::from(index)).wrapping_mul(0xD1B5_4A32_D192_ED03);
    splitmix(&mut state)
}

/// One SplitMix64 step.
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl BotRng {
    /// The next 64 random bits.
    ///
    /// # Panics
    /// Outside the bot's running loop.
    pub fn next_u64(&self) -> u64 {
        with_loop(|state| state.with_rng_state(self.index, splitmix))
    }

    /// A number in `0..bound` (0 if `bound` is 0).
    pub fn below(&self, bound: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(bound)) >> 64) as u64
    }

    /// A number in `range` (its start if it is empty).
    pub fn range(&self, range: Range<u64>) -> u64 {
        range.start + self.below(range.end.saturating_sub(range.start))
    }

    /// A number in `[0, 1)`.
    pub fn f64(&self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with probability `p`.
    pub fn chance(&self, p: f64) -> bool {
        self.f64() < p
    }

    /// One element of `items`, or `None` if it is empty.
    pub fn pick<'a, T>(&self, items: &'a [T]) -> Option<&'a T> {
        items.get(self.below(items.len() as u64) as usize)
    }

    /// Shuffles `items` (Fisher–Yates).
    pub fn shuffle<T>(&self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }
}
