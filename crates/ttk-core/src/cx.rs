//! The context a bot entry point receives.

use std::fmt;
use std::marker::PhantomData;

/// A bot's handle on its run: who it is, its mailbox for messages of type `M`, its groups, the
/// shared world of type `W`, its random generator.
///
/// A bot entry point takes a `Cx` as its first argument; `Cx` alone (`Cx<(), ()>`) is the
/// context of a run without messages or world. Both types are part of the type, so sending the
/// wrong kind of message is a compile error, not a runtime downcast.
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
    /// The bot's index in its loop (equal to its id while a run has one loop).
    pub(crate) index: u32,
    /// Ties the context to its message and world types.
    _types: PhantomData<Invariant<(M, W)>>,
}

/// `fn(T) -> T` is invariant in `T` and is `Send`/`Sync` whatever `T` is.
type Invariant<T> = fn(T) -> T;

impl<M, W> Cx<M, W> {
    /// The context of bot `index`.
    pub(crate) fn new(index: u32) -> Self {
        Cx {
            index,
            _types: PhantomData,
        }
    }

    /// This bot's id: its number in `0..n` among the bots of the run.
    pub fn id(&self) -> usize {
        self.index as usize
    }
}

impl<M, W> fmt::Debug for Cx<M, W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cx").field("id", &self.id()).finish()
    }
}
