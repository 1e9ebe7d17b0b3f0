//! The shared world and tick hooks, plugged into the loop as features.

use std::any::Any;
use std::cell::RefCell;
use std::panic::{self, AssertUnwindSafe};
use std::rc::Rc;
use std::time::Instant;

use crate::context::with_loop;
use crate::cx::Cx;
use crate::feature::{Feature, Stage};
use crate::loop_state::LoopState;
use crate::outcome::panic_message;
use crate::run_end::RunError;

/// A user's tick hook, bound to the world.
type TickHook = Box<dyn FnMut(&TickInfo)>;

/// A tick hook as the user gave it, given the world.
pub(crate) type WorldHook<W> = Box<dyn FnMut(&mut W, &TickInfo)>;

/// The run's world (`Rc<RefCell<W>>`), until the run ends.
struct SharedWorld {
    /// The world.
    world: RefCell<Option<Rc<dyn Any>>>,
}

impl Feature for SharedWorld {
    fn release(&self) {
        let world = self.world.borrow_mut().take();
        drop(world);
    }
}

/// The user's tick hooks, run at the end of every tick in the order added.
struct TickHooks {
    /// The hooks.
    hooks: RefCell<Vec<TickHook>>,
}

impl Feature for TickHooks {
    fn end_of_tick(&self, state: &LoopState) {
        let info = TickInfo {
            tick: state.tick(),
            now: state.clock.instant(state.clock.now()),
            live_bots: state.live_bots(),
        };
        let mut hooks = self.hooks.borrow_mut();
        for (index, hook) in hooks.iter_mut().enumerate() {
            if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(|| hook(&info))) {
                let message = panic_message(&*payload);
                let _ = panic::catch_unwind(AssertUnwindSafe(|| drop(payload)));
                state.fail(RunError::HookPanicked {
                    hook: index,
                    message,
                });
                return;
            }
        }
    }

    fn release(&self) {
        // Taken out first: a hook's drop is user code that may look at the loop again.
        let hooks = std::mem::take(&mut *self.hooks.borrow_mut());
        let _ = panic::catch_unwind(AssertUnwindSafe(|| drop(hooks)));
    }
}

/// Shares `world` with the bots of `state` and plugs in `hooks`, each given the world.
pub(crate) fn install<W: 'static>(
    state: &LoopState,
    world: &Rc<RefCell<W>>,
    hooks: Vec<WorldHook<W>>,
) {
    let shared = Rc::clone(world) as Rc<dyn Any>;
    state
        .features()
        .get_or_insert(Stage::Hooks, || SharedWorld {
            world: RefCell::new(Some(shared)),
        });
    if hooks.is_empty() {
        return;
    }
    let hooks = hooks
        .into_iter()
        .map(|mut hook| {
            let world = Rc::clone(world);
            Box::new(move |info: &TickInfo| hook(&mut world.borrow_mut(), info)) as TickHook
        })
        .collect();
    state.features().get_or_insert(Stage::Hooks, || TickHooks {
        hooks: RefCell::new(hooks),
    });
}

/// The world of the running loop.
///
/// # Panics
/// If `W` is not the run's world type (`Cx<M, W>` is made only by a run with world `W`).
fn world_of<W: 'static>(state: &LoopState) -> Rc<RefCell<W>> {
    let shared = state
        .features()
        .get::<SharedWorld>()
        .and_then(|shared| shared.world.borrow().clone())
        .expect("the world is shared while the run lasts");
    shared
        .downcast::<RefCell<W>>()
        .unwrap_or_else(|_| unreachable!("a Cx<M, W> is only made by a run with world W"))
}

/// What a tick hook learns about the tick that just ended.
///
/// # Examples
/// ```
/// # use ttk_macros::bot;
/// use ttk_core::{Cx, Runtime, TickInfo};
///
/// #[bot(crate = ttk_core)]
/// fn three_steps(_cx: Cx<(), Vec<(u64, usize)>>, _id: usize) {
///     ttk_core::yield_!();
///     ttk_core::yield_!();
/// }
///
/// let (_, seen) = Runtime::new()
///     .world(Vec::new())
///     .on_tick(|seen, info: &TickInfo| seen.push((info.tick, info.live_bots)))
///     .run_with_world(2, three_steps);
/// assert_eq!(seen, [(0, 2), (1, 2), (2, 0)]);
/// ```
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
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// use ttk_core::{Cx, Runtime};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn take_ticket(cx: Cx<(), u32>, _id: usize) -> u32 {
    ///     cx.world(|next| {
    ///         *next += 1;
    ///         *next
    ///     })
    /// }
    ///
    /// assert_eq!(Runtime::new().world(100).run(3, take_ticket), [101, 102, 103]);
    /// ```
    pub fn world<R>(&self, f: impl FnOnce(&mut W) -> R) -> R {
        let world = self.with_loop(|state| world_of::<W>(state));
        let mut world = world.try_borrow_mut().unwrap_or_else(|_| {
            panic!("cx.world was called inside a cx.world closure: the world is already borrowed")
        });
        f(&mut world)
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

/// Starts `count` more bots of the running loop, made by the run's factory with the next ids,
/// which it returns. Call it from a bot or a tick hook; the bots run from the next tick (and
/// messages sent to them this tick reach them). See also [`Cx::start_bots`].
///
/// # Panics
/// Outside a running loop.
///
/// # Examples
/// ```
/// # use ttk_macros::bot;
/// # use ttk_core::Cx;
/// #[bot(crate = ttk_core)]
/// fn family(_cx: Cx, id: usize) -> usize {
///     if id == 0 {
///         assert_eq!(ttk_core::start_bots(2), 1..3);
///     }
///     id * 10
/// }
///
/// assert_eq!(ttk_core::run(1, family), [0, 10, 20]);
/// ```
pub fn start_bots(count: usize) -> std::ops::Range<usize> {
    with_loop(|state| state.start_bots(count))
}
