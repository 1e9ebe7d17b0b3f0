//! The shared world and tick hooks.

use std::time::Instant;

use crate::context::with_loop;
use crate::cx::Cx;
use crate::rng::BotRng;

/// What a tick hook learns about the tick that just ended.
#[derive(Clone, Copy, Debug)]
pub struct TickInfo {
    /// The tick's number (the first tick is 0).
    pub tick: u64,
    /// The loop's time at the end of the tick (virtual under a virtual clock).
    pub now: Instant,
    /// Bots not yet finished.
    pub live_bots: usize,
}

/// # The shared world
///
/// State that every bot of a loop reads and changes between yields, given to the run with
/// [`Runtime::world`](crate::Runtime::world). Access goes through a closure, which cannot yield
/// (`yield_!` in a closure does not compile), so no bot ever sees another's change half-made;
/// no lock and no `unsafe` is involved.
///
/// ```
/// # use ttk_macros::bot;
/// use ttk_core::{Cx, Runtime};
///
/// #[derive(Default)]
/// struct Scoreboard {
///     points: Vec<u32>,
/// }
///
/// #[bot(crate = ttk_core)]
/// fn scorer(cx: Cx<(), Scoreboard>, id: usize) {
///     ttk_core::yield_!();
///     cx.world(|board| board.points.push(id as u32 * 10));
/// }
///
/// let (_, board) = Runtime::new().world(Scoreboard::default()).run_with_world(3, scorer);
/// assert_eq!(board.points, [0, 10, 20]);
/// ```
impl<M, W: 'static> Cx<M, W> {
    /// Calls `f` with the world.
    ///
    /// # Panics
    /// If called from inside another `cx.world` closure (the world is already borrowed).
    pub fn world<R>(&self, f: impl FnOnce(&mut W) -> R) -> R {
        let world = with_loop(|state| state.world::<W>());
        let mut world = world.try_borrow_mut().unwrap_or_else(|_| {
            panic!("cx.world was called inside a cx.world closure: the world is already borrowed")
        });
        f(&mut world)
    }
}

impl<M, W> Cx<M, W> {
    /// This bot's random generator, seeded from the run's seed and the bot's id.
    pub fn rng(&self) -> BotRng {
        BotRng { index: self.index }
    }
}

/// The number of the running tick (the first tick is 0).
///
/// # Panics
/// Outside a running loop.
///
/// # Examples
/// ```
/// # use ttk_macros::bot;
/// # use ttk_core::Cx;
/// #[bot(crate = ttk_core)]
/// fn counter(_cx: Cx, _id: usize) -> (u64, u64) {
///     let before = ttk_core::tick();
///     ttk_core::yield_!();
///     (before, ttk_core::tick())
/// }
///
/// assert_eq!(ttk_core::run(1, counter), [(0, 1)]);
/// ```
pub fn tick() -> u64 {
    with_loop(|state| state.tick())
}
