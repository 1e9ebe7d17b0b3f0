//! Values a transport keeps for the loop it runs on — a queue shared by every socket of the
//! loop, say — made at the first use in a run and dropped when the run ends, so nothing of a
//! run outlives it on its thread and a later run starts afresh.

use std::cell::RefCell;
use std::rc::Rc;

use crate::context::try_with_loop;
use crate::feature::{Feature, Stage};

/// The running loop's value of type `T`: made with `T::default()` at the first call in a run,
/// the same value for every later call in that run, dropped (this handle aside) when the run
/// ends. `None` outside a running loop.
///
/// # Examples
/// ```
/// # use ttk_macros::bot;
/// # use ttk_core::Cx;
/// use std::cell::Cell;
///
/// /// How many sockets of this loop asked.
/// #[derive(Default)]
/// struct Asked(Cell<usize>);
///
/// #[bot(crate = ttk_core)]
/// fn ask(_cx: Cx, _id: usize) -> usize {
///     let asked = ttk_core::io::loop_local::<Asked>().unwrap();
///     asked.0.set(asked.0.get() + 1);
///     ttk_core::yield_!();
///     asked.0.get()
/// }
///
/// // Three bots on one loop share it; the next run starts afresh.
/// assert_eq!(ttk_core::run(3, ask), [3, 3, 3]);
/// assert_eq!(ttk_core::run(1, ask), [1]);
/// assert!(ttk_core::io::loop_local::<Asked>().is_none());
/// ```
pub fn loop_local<T: Default + 'static>() -> Option<Rc<T>> {
    try_with_loop(|state| {
        let holder = state
            .features()
            .get_or_insert(Stage::Streams, LoopLocal::<T>::default);
        if let Some(value) = holder.value.borrow().as_ref() {
            return Rc::clone(value);
        }
        // Made outside the borrow: `T::default` may ask for another loop-local value.
        let made = Rc::new(T::default());
        Rc::clone(holder.value.borrow_mut().get_or_insert(made))
    })
}

/// The loop's value of one type.
struct LoopLocal<T> {
    value: RefCell<Option<Rc<T>>>,
}

impl<T> Default for LoopLocal<T> {
    fn default() -> Self {
        LoopLocal {
            value: RefCell::new(None),
        }
    }
}

impl<T: 'static> Feature for LoopLocal<T> {
    fn release(&self) {
        // Taken out of the cell before it drops: its drop may look for this value again (and,
        // the run being over, finds none).
        let value = self.value.borrow_mut().take();
        drop(value);
    }
}
