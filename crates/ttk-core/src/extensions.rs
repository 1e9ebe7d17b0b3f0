//! Values a run hands to the transports its bots use: the harness gives its runs' sockets their
//! source addresses and network conditions this way, so that two runs in one process (a test
//! and the server it tests, tests in parallel) each keep their own.

use std::any::{Any, TypeId};
use std::cell::RefCell;
use std::sync::Arc;

use crate::context::try_with_loop;
use crate::feature::{Feature, Stage};
use crate::runtime::Runtime;

/// A loop's extensions, by type.
#[derive(Default)]
struct Extensions {
    values: RefCell<Vec<(TypeId, Arc<dyn Any + Send + Sync>)>>,
}

impl Feature for Extensions {}

impl<W> Runtime<W> {
    /// Hands `value` to this run: code running on its loops — a transport, a bot — finds it with
    /// [`io::extension`](crate::io::extension), by its type (a second value of one type
    /// replaces the first). Runs that were not given it do not see it.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// use std::sync::Arc;
    /// use ttk_core::{Cx, Runtime};
    ///
    /// /// What this run's sockets should do.
    /// struct Tag(&'static str);
    ///
    /// #[bot(crate = ttk_core)]
    /// fn tagged(_cx: Cx, _id: usize) -> Option<&'static str> {
    ///     ttk_core::io::extension::<Tag>().map(|tag| tag.0)
    /// }
    ///
    /// let runtime = Runtime::new().extension(Arc::new(Tag("slow network")));
    /// assert_eq!(runtime.run(1, tagged), [Some("slow network")]);
    /// assert_eq!(ttk_core::run(1, tagged), [None]);
    /// ```
    pub fn extension<T: Any + Send + Sync>(mut self, value: Arc<T>) -> Self {
        self.installers.push(Box::new(move |state| {
            let extensions = state
                .features()
                .get_or_insert(Stage::Streams, Extensions::default);
            let mut values = extensions.values.borrow_mut();
            values.retain(|(kind, _)| *kind != TypeId::of::<T>());
            values.push((TypeId::of::<T>(), value));
            Ok(())
        }));
        self
    }
}

/// The value of type `T` the running loop's run was given ([`Runtime::extension`]), if any;
/// `None` outside a running loop.
///
/// # Examples
/// ```
/// // Outside a run: nothing.
/// assert!(ttk_core::io::extension::<String>().is_none());
/// ```
pub fn extension<T: Any + Send + Sync>() -> Option<Arc<T>> {
    try_with_loop(|state| {
        let extensions = state.features().get::<Extensions>()?;
        let values = extensions.values.borrow();
        let (_, value) = values.iter().find(|(kind, _)| *kind == TypeId::of::<T>())?;
        Arc::clone(value).downcast::<T>().ok()
    })
    .flatten()
}
