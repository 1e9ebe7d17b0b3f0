//! The context a bot entry point receives.

use std::fmt;
use std::marker::PhantomData;
use std::rc::Rc;

use crate::context::{self, with_bot_loop};
use crate::loop_state::LoopState;
use crate::rng::BotRng;

/// A bot's handle on its run: who it is, its mailbox for messages of type `M`, its groups, the
/// shared world of type `W`, its random generator.
///
/// A bot entry point takes a `Cx` as its first argument; `Cx` alone (`Cx<(), ()>`) is the
/// context of a run without messages or world. Both types are part of the type, so sending the
/// wrong kind of message is a compile error, not a runtime downcast.
///
/// A `Cx` belongs to its bot: it cannot leave the run's thread (it is not `Send`), and used in
/// another run, or by another bot of its run, it panics with a message naming the mistake
/// instead of acting for a bot that is not its own.
///
/// # Examples
/// ```
/// # use ttk_macros::bot;
/// use ttk_core::Cx;
///
/// #[bot(crate = ttk_core)]
/// fn whoami(cx: Cx, _id: usize) -> usize {
///     cx.id()
/// }
///
/// assert_eq!(ttk_core::run(3, whoami), vec![0, 1, 2]);
/// ```
pub struct Cx<M = (), W = ()> {
    /// The bot's place in its loop.
    pub(crate) index: u32,
    /// The loop it belongs to.
    pub(crate) loop_id: u32,
    /// Ties the context to its message and world types, and to its thread.
    _types: PhantomData<(Invariant<(M, W)>, NotSend)>,
}

/// `fn(T) -> T` is invariant in `T` and is `Send`/`Sync` whatever `T` is.
type Invariant<T> = fn(T) -> T;

/// Makes a handle `!Send` and `!Sync`: it finds its loop through a thread-local.
pub(crate) type NotSend = PhantomData<*const ()>;

impl<M, W> Cx<M, W> {
    /// The context of the bot at `index` of loop `loop_id`.
    pub(crate) fn new(index: u32, loop_id: u32) -> Self {
        Cx {
            index,
            loop_id,
            _types: PhantomData,
        }
    }

    /// Calls `f` with this context's loop, checking that it is the running one.
    pub(crate) fn with_loop<R>(&self, f: impl FnOnce(&Rc<LoopState>) -> R) -> R {
        with_bot_loop(self.loop_id, self.index, "a Cx", f)
    }

    /// This bot's id: unique among the bots of the run (`0..n` for the first `n`, then one
    /// more for each bot started while the run goes on).
    ///
    /// # Panics
    /// Outside the bot's run.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// use ttk_core::Cx;
    ///
    /// #[bot(crate = ttk_core)]
    /// fn whoami(cx: Cx, id: usize) -> bool {
    ///     cx.id() == id
    /// }
    ///
    /// assert_eq!(ttk_core::run(3, whoami), [true, true, true]);
    /// ```
    pub fn id(&self) -> usize {
        self.with_loop(|state| state.id_of(self.index))
    }

    /// This bot's random generator, seeded from the run's seed and the bot's id.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// use ttk_core::{Cx, Runtime};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn draw(cx: Cx, _id: usize) -> u64 {
    ///     cx.rng().below(1000)
    /// }
    ///
    /// // The same seed draws the same numbers.
    /// let first = Runtime::new().seed(7).run(4, draw);
    /// assert_eq!(Runtime::new().seed(7).run(4, draw), first);
    /// ```
    pub fn rng(&self) -> BotRng {
        BotRng {
            index: self.index,
            loop_id: self.loop_id,
            _thread: PhantomData,
        }
    }

    /// Starts `count` more bots, made by the run's factory with the next ids, which it returns;
    /// they run from the next tick, and messages sent to them this tick reach them.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// #[bot(crate = ttk_core)]
    /// fn spawner(cx: Cx<&'static str>, id: usize) -> Option<&'static str> {
    ///     if id == 0 {
    ///         let children = cx.start_bots(1);
    ///         cx.send(children.start, "welcome");
    ///         return None;
    ///     }
    ///     Some(ttk_core::yield_!(cx.recv()).data)
    /// }
    ///
    /// assert_eq!(ttk_core::run(1, spawner), [None, Some("welcome")]);
    /// ```
    pub fn start_bots(&self, count: usize) -> std::ops::Range<usize> {
        self.with_loop(|state| state.start_bots(count))
    }
}

impl<M, W> fmt::Debug for Cx<M, W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let id = (context::current_loop_id() == self.loop_id)
            .then(|| context::try_with_loop(|state| state.id_of(self.index)))
            .flatten();
        match id {
            Some(id) => f.debug_struct("Cx").field("id", &id).finish(),
            None => f
                .debug_struct("Cx")
                .field("index", &self.index)
                .field("loop", &self.loop_id)
                .finish(),
        }
    }
}
