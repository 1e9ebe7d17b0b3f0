//! How a gauge's values from several loops (workers, processes, shards) make the run's one.

/// How the values several loops hold of one gauge combine into the run's value. Each loop keeps
/// its own gauge (the last value its bots set, and the lowest and highest); the report of a run
/// of several loops, processes or shards combines them by the gauge's rule.
///
/// # Examples
/// ```
/// # use ttk_macros::bot;
/// use ttk_core::metrics::GaugeMerge;
/// use ttk_core::{Cx, Runtime};
///
/// #[bot(crate = ttk_core)]
/// fn trader(cx: Cx, id: usize) {
///     // An id is not a share of a total: the run's value is the highest any loop saw.
///     cx.gauge_with("highest trader id", id as i64, GaugeMerge::Max);
/// }
///
/// let snapshots = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
/// let seen = snapshots.clone();
/// Runtime::new().metrics(move |snapshot| seen.borrow_mut().push(snapshot)).run(3, trader);
/// let gauge = &snapshots.borrow()[0].gauges[0];
/// assert_eq!((gauge.max, gauge.merge), (2, GaugeMerge::Max));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum GaugeMerge {
    /// Each loop holds a share of one total (players in a lobby, connections open): the run's
    /// value is the sum of the loops' values. [`Cx::gauge`](crate::Cx::gauge) sets this rule.
    #[default]
    Sum,
    /// The loops' values are readings of one quantity (a queue's depth, an id): the run's value
    /// is the highest of the loops' last values, its lowest the lowest any loop saw, its
    /// highest the highest any loop saw.
    Max,
    /// The loops' values are readings of one quantity, and the latest one counts (a setting,
    /// a version seen): the run's value is the one set last, by whichever loop; its lowest and
    /// highest are the lowest and highest any loop saw.
    Last,
}
