//! A seeded random generator per bot: the same run seed gives the same numbers.

use std::cell::RefCell;
use std::ops::Range;

use crate::context::with_bot_loop;
use crate::cx::NotSend;
use crate::feature::{Feature, Stage};
use crate::loop_state::LoopState;

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
    /// The place of the bot whose stream this is.
    pub(crate) index: u32,
    /// Its loop.
    pub(crate) loop_id: u32,
    /// It finds its loop through a thread-local: it stays on its thread.
    pub(crate) _thread: NotSend,
}

/// Every bot's random state, by place: made at the first use of a generator in a run, and
/// re-seeded for each bot that takes a place.
struct Streams {
    /// States by bot index.
    states: RefCell<Vec<u64>>,
}

impl Feature for Streams {
    fn bot_started(&self, state: &LoopState, index: u32, id: usize) {
        let mut states = self.states.borrow_mut();
        if states.len() <= index as usize {
            states.resize(index as usize + 1, 0);
        }
        states[index as usize] = initial_state(state.seed(), id);
    }
}

/// Calls `f` with bot `index`'s random state.
fn with_state<R>(state: &LoopState, index: u32, f: impl FnOnce(&mut u64) -> R) -> R {
    let streams = state.features().get_or_insert(Stage::Streams, || {
        let capacity = state.bots.borrow().capacity();
        Streams {
            states: RefCell::new(
                (0..capacity)
                    .map(|index| initial_state(state.seed(), state.id_of(index)))
                    .collect(),
            ),
        }
    });
    let mut states = streams.states.borrow_mut();
    f(&mut states[index as usize])
}

/// The first state of bot `index`'s stream under `seed`.
fn initial_state(seed: u64, id: usize) -> u64 {
    let mut state = seed ^ (id as u64).wrapping_mul(0xD1B5_4A32_D192_ED03);
    splitmix(&mut state)
}

/// One SplitMix64 step, for other modules' seeds.
pub(crate) fn splitmix_step(state: &mut u64) -> u64 {
    splitmix(state)
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
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// use ttk_core::Cx;
    ///
    /// #[bot(crate = ttk_core)]
    /// fn bits(cx: Cx, _id: usize) -> bool {
    ///     let rng = cx.rng();
    ///     rng.next_u64() != rng.next_u64()
    /// }
    ///
    /// assert!(ttk_core::run(1, bits)[0]);
    /// ```
    pub fn next_u64(&self) -> u64 {
        with_bot_loop(self.loop_id, self.index, "a BotRng", |state| {
            with_state(state, self.index, splitmix)
        })
    }

    /// A number in `0..bound` (0 if `bound` is 0).
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// use ttk_core::Cx;
    ///
    /// #[bot(crate = ttk_core)]
    /// fn dice(cx: Cx, _id: usize) -> bool {
    ///     let rng = cx.rng();
    ///     (0..100).all(|_| rng.below(6) < 6) && rng.below(0) == 0
    /// }
    ///
    /// assert!(ttk_core::run(1, dice)[0]);
    /// ```
    pub fn below(&self, bound: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(bound)) >> 64) as u64
    }

    /// A number in `range` (its start if it is empty).
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// use ttk_core::Cx;
    ///
    /// #[bot(crate = ttk_core)]
    /// fn ports(cx: Cx, _id: usize) -> bool {
    ///     let rng = cx.rng();
    ///     (0..100).all(|_| (8000..8010).contains(&rng.range(8000..8010)))
    /// }
    ///
    /// assert!(ttk_core::run(1, ports)[0]);
    /// ```
    pub fn range(&self, range: Range<u64>) -> u64 {
        range.start + self.below(range.end.saturating_sub(range.start))
    }

    /// A number in `[0, 1)`.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// use ttk_core::Cx;
    ///
    /// #[bot(crate = ttk_core)]
    /// fn fraction(cx: Cx, _id: usize) -> f64 {
    ///     cx.rng().f64()
    /// }
    ///
    /// assert!((0.0..1.0).contains(&ttk_core::run(1, fraction)[0]));
    /// ```
    pub fn f64(&self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with probability `p`.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// use ttk_core::Cx;
    ///
    /// #[bot(crate = ttk_core)]
    /// fn coin(cx: Cx, _id: usize) -> (bool, bool) {
    ///     let rng = cx.rng();
    ///     (rng.chance(1.0), rng.chance(0.0))
    /// }
    ///
    /// assert_eq!(ttk_core::run(1, coin)[0], (true, false));
    /// ```
    pub fn chance(&self, p: f64) -> bool {
        self.f64() < p
    }

    /// One element of `items`, or `None` if it is empty.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// use ttk_core::Cx;
    ///
    /// #[bot(crate = ttk_core)]
    /// fn choose(cx: Cx, _id: usize) -> (bool, bool) {
    ///     let rooms = ["lobby", "arena", "shop"];
    ///     let rng = cx.rng();
    ///     let room = rng.pick(&rooms).unwrap();
    ///     (rooms.contains(room), rng.pick::<u8>(&[]).is_none())
    /// }
    ///
    /// assert_eq!(ttk_core::run(1, choose)[0], (true, true));
    /// ```
    pub fn pick<'a, T>(&self, items: &'a [T]) -> Option<&'a T> {
        items.get(self.below(items.len() as u64) as usize)
    }

    /// Shuffles `items` (Fisher–Yates).
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// use ttk_core::Cx;
    ///
    /// #[bot(crate = ttk_core)]
    /// fn deal(cx: Cx, _id: usize) -> Vec<u8> {
    ///     let mut cards: Vec<u8> = (1..=10).collect();
    ///     cx.rng().shuffle(&mut cards);
    ///     cards.sort();
    ///     cards
    /// }
    ///
    /// assert_eq!(ttk_core::run(1, deal)[0], (1..=10).collect::<Vec<u8>>());
    /// ```
    pub fn shuffle<T>(&self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }
}
