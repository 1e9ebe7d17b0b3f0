//! Starting a run: the [`Runtime`] builder and the [`run`] / [`try_run`] shortcuts.

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::rc::Rc;

use crate::context::EnterGuard;
use crate::cx::Cx;
use crate::executor;
use crate::loop_state::LoopState;
use crate::outcome::BotError;
use crate::world::TickInfo;

/// Options for a run; [`run`] and [`try_run`] use the defaults. `W` is the type of the shared
/// world (see [`Runtime::world`]).
///
/// # Examples
/// ```
/// # use ttk_macros::bot;
/// use std::time::Duration;
/// use ttk_core::{Cx, Runtime};
///
/// #[bot(crate = ttk_core)]
/// fn nap(_cx: Cx, id: usize) -> usize {
///     ttk_core::yield_!(ttk_core::sleep(Duration::from_secs(3600)));
///     id
/// }
///
/// // An hour of virtual time passes at once.
/// let ids = Runtime::new().virtual_time(true).run(2, nap);
/// assert_eq!(ids, vec![0, 1]);
/// ```
pub struct Runtime<W = ()> {
    /// Whether time is virtual (see [`Runtime::virtual_time`]).
    virtual_time: bool,
    /// The seed of the bots' random generators.
    seed: u64,
    /// The shared world.
    world: W,
    /// Hooks run after every tick, in order.
    hooks: Vec<WorldHook<W>>,
}

/// A tick hook as the user gave it.
type WorldHook<W> = Box<dyn FnMut(&mut W, &TickInfo)>;

impl Runtime {
    /// A runtime with the default options: real time, seed 0, no world.
    pub fn new() -> Self {
        Runtime {
            virtual_time: false,
            seed: 0,
            world: (),
            hooks: Vec::new(),
        }
    }
}

impl Default for Runtime {
    fn default() -> Self {
        Runtime::new()
    }
}

impl<W> fmt::Debug for Runtime<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("virtual_time", &self.virtual_time)
            .field("seed", &self.seed)
            .field("hooks", &self.hooks.len())
            .finish_non_exhaustive()
    }
}

impl<W: 'static> Runtime<W> {
    /// Uses a virtual clock: time stands still while bots run, and when every bot waits, it jumps
    /// to the next timer. Sleeping bots then finish in no wall time, in the same order every run.
    /// Sockets still wait in real time; a run mixing both polls them before each jump.
    pub fn virtual_time(mut self, enabled: bool) -> Self {
        self.virtual_time = enabled;
        self
    }

    /// Seeds the bots' random generators ([`Cx::rng`]): the same seed gives the same numbers.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Shares `world` among the bots, which reach it with [`Cx::world`] (their context is then a
    /// `Cx<M, W2>`). Hooks added before are dropped: they were written for the old world.
    pub fn world<W2: 'static>(self, world: W2) -> Runtime<W2> {
        Runtime {
            virtual_time: self.virtual_time,
            seed: self.seed,
            world,
            hooks: Vec::new(),
        }
    }

    /// Adds a hook run after every tick (after the tick's messages are delivered), with the
    /// world — a simulation step, a progress line. Hooks stack: they run in the order added.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// use ttk_core::{Cx, Runtime};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn walker(_cx: Cx<(), Vec<u64>>, _id: usize) {
    ///     for _ in 0..3 {
    ///         ttk_core::yield_!();
    ///     }
    /// }
    ///
    /// let (_, ticks) = Runtime::new()
    ///     .world(Vec::new())
    ///     .on_tick(|ticks: &mut Vec<u64>, info| ticks.push(info.tick))
    ///     .run_with_world(2, walker);
    /// assert_eq!(ticks, [0, 1, 2, 3]);
    /// ```
    pub fn on_tick(mut self, hook: impl FnMut(&mut W, &TickInfo) + 'static) -> Self {
        self.hooks.push(Box::new(hook));
        self
    }

    /// Builds bots `f(cx, id)` for `id` in `0..n`, runs them on this thread until all are done
    /// and returns their results in id order.
    ///
    /// # Panics
    /// After all bots are done, if one panicked (or stalled: it waited with nothing left that
    /// could wake it), with the first failure's bot id and message, as `std::thread::scope`
    /// does. Use [`Runtime::try_run`] to get every bot's outcome instead.
    pub fn run<M, F, B>(self, n: usize, f: F) -> Vec<B::Output>
    where
        M: 'static,
        F: FnMut(Cx<M, W>, usize) -> B,
        B: Future,
    {
        self.run_with_world(n, f).0
    }

    /// Like [`Runtime::run`], and gives the world back too.
    ///
    /// # Panics
    /// As [`Runtime::run`].
    pub fn run_with_world<M, F, B>(self, n: usize, f: F) -> (Vec<B::Output>, W)
    where
        M: 'static,
        F: FnMut(Cx<M, W>, usize) -> B,
        B: Future,
    {
        let (outcomes, world) = self.try_run_with_world(n, f);
        let mut results = Vec::with_capacity(outcomes.len());
        let mut first_failure = None;
        for outcome in outcomes {
            match outcome {
                Ok(value) => results.push(value),
                Err(error) => {
                    first_failure.get_or_insert(error);
                }
            }
        }
        if let Some(error) = first_failure {
            std::panic::resume_unwind(Box::new(error.to_string()));
        }
        (results, world)
    }

    /// Like [`Runtime::run`], but returns each bot's outcome: its result, or why it failed.
    ///
    /// # Panics
    /// If `n` exceeds `u32::MAX - 1`, if called from inside a bot (runs do not nest), or if the
    /// operating system refuses the loop its selector (e.g. the open-file limit is reached).
    pub fn try_run<M, F, B>(self, n: usize, f: F) -> Vec<Result<B::Output, BotError>>
    where
        M: 'static,
        F: FnMut(Cx<M, W>, usize) -> B,
        B: Future,
    {
        self.try_run_with_world(n, f).0
    }

    /// Like [`Runtime::try_run`], and gives the world back too.
    ///
    /// # Panics
    /// As [`Runtime::try_run`].
    pub fn try_run_with_world<M, F, B>(
        self,
        n: usize,
        mut f: F,
    ) -> (Vec<Result<B::Output, BotError>>, W)
    where
        M: 'static,
        F: FnMut(Cx<M, W>, usize) -> B,
        B: Future,
    {
        let count = u32::try_from(n)
            .ok()
            .filter(|&count| count < u32::MAX)
            .unwrap_or_else(|| panic!("a loop holds at most {} bots, not {n}", u32::MAX - 1));
        let world = Rc::new(RefCell::new(self.world));
        let state = LoopState::new(count, self.virtual_time, self.seed, world.clone())
            .unwrap_or_else(|error| panic!("ttk could not create its selector (epoll): {error}"));
        for mut hook in self.hooks {
            let world = Rc::clone(&world);
            state.add_hook(Box::new(move |info| hook(&mut world.borrow_mut(), info)));
        }
        let state = Rc::new(state);
        let outcomes = {
            let _entered = EnterGuard::enter(Rc::clone(&state));
            let bots = (0..count).map(|index| f(Cx::new(index), index as usize));
            executor::run_to_completion(&state, bots)
                .unwrap_or_else(|error| panic!("the ttk loop's selector failed: {error}"))
        };
        state.release_shared();
        drop(state);
        let world = Rc::try_unwrap(world)
            .unwrap_or_else(|_| unreachable!("the run released every handle on the world"));
        (outcomes, world.into_inner())
    }
}

/// Runs bots `f(cx, id)` for `id` in `0..n` on this thread and returns their results in id order.
///
/// A tick runs every ready bot once, the first tick in id order; a bot that yields goes to the
/// back; a bot that waits is parked until what it waits for happens. Bots need not be `Send`:
/// they never leave this thread.
///
/// # Panics
/// After all bots are done, if one panicked, with its id and message (see [`Runtime::run`]).
///
/// # Examples
/// ```
/// # use ttk_macros::bot;
/// use ttk_core::Cx;
///
/// #[bot(crate = ttk_core)]
/// fn count(_cx: Cx, id: usize) -> usize {
///     ttk_core::yield_!();
///     id + 1
/// }
///
/// let results = ttk_core::run(4, count);
/// assert_eq!(results.iter().sum::<usize>(), 10);
/// ```
pub fn run<M, F, B>(n: usize, f: F) -> Vec<B::Output>
where
    M: 'static,
    F: FnMut(Cx<M>, usize) -> B,
    B: Future,
{
    Runtime::new().run(n, f)
}

/// Like [`run`], but returns each bot's outcome instead of panicking on the first failure.
///
/// # Examples
/// ```
/// # use ttk_macros::bot;
/// # use ttk_core::Cx;
/// #[bot(crate = ttk_core)]
/// fn maybe(_cx: Cx, id: usize) -> usize {
///     if id == 2 {
///         panic!("no luck");
///     }
///     id
/// }
///
/// let outcomes = ttk_core::try_run(3, maybe);
/// assert!(outcomes[0].is_ok() && outcomes[1].is_ok());
/// assert_eq!(outcomes[2].as_ref().unwrap_err().bot(), 2);
/// ```
pub fn try_run<M, F, B>(n: usize, f: F) -> Vec<Result<B::Output, BotError>>
where
    M: 'static,
    F: FnMut(Cx<M>, usize) -> B,
    B: Future,
{
    Runtime::new().try_run(n, f)
}
