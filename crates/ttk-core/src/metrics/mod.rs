//! Measurements bots record: named transactions (timed operations), counters and gauges.
//!
//! A bot records through its [`Cx`](crate::Cx): [`Cx::time`](crate::Cx::time) times an
//! operation, [`Cx::transaction`](crate::Cx::transaction) starts one finished by hand,
//! [`Cx::count`](crate::Cx::count) and [`Cx::gauge`](crate::Cx::gauge) keep figures by name.
//! Each loop keeps its own measurements: latencies in HDR histograms (1 µs to 1 h, 3
//! significant digits), one per transaction, so memory does not grow with the samples.
//! Every interval (a second by default), and when the run ends, the loop hands what happened in
//! the interval to the sink given to [`Runtime::metrics`](crate::Runtime::metrics) as a
//! [`MetricsSnapshot`]; adding the snapshots up gives the run's totals exactly.
//!
//! Recording takes a hash of the name and a histogram increment, and allocates nothing after a
//! name's first use (see the `metrics` bench).
//!
//! # Examples
//! ```
//! # use ttk_macros::bot;
//! use std::cell::RefCell;
//! use std::rc::Rc;
//! use std::time::Duration;
//! use ttk_core::{Cx, Runtime};
//!
//! #[bot(crate = ttk_core)]
//! fn shopper(cx: Cx, _id: usize) {
//!     for _ in 0..3 {
//!         ttk_core::yield_!(cx.time("browse", ttk_core::sleep(Duration::from_millis(10))));
//!         cx.count("items", 2);
//!     }
//! }
//!
//! let snapshots = Rc::new(RefCell::new(Vec::new()));
//! let sink = Rc::clone(&snapshots);
//! Runtime::new()
//!     .virtual_time(true)
//!     .metrics(move |snapshot| sink.borrow_mut().push(snapshot))
//!     .run(4, shopper);
//! // Adding the snapshots up gives the run's totals.
//! let snapshots = snapshots.borrow();
//! let browsed: u64 = snapshots.iter().flat_map(|s| &s.transactions).map(|t| t.ok).sum();
//! let items: u64 = snapshots.iter().flat_map(|s| &s.counters).map(|(_, n)| n).sum();
//! assert_eq!((browsed, items), (12, 24));
//! ```

mod counts;
mod cx_metrics;
mod failure;
mod gauge_merge;
mod names;
mod registry;
mod snapshot;
mod transaction;

use std::cell::{Cell, RefCell};
use std::panic::{self, AssertUnwindSafe};
use std::rc::Rc;
use std::time::Duration;

pub use failure::{Failure, KindedError, TransactionOutput};
pub use gauge_merge::GaugeMerge;
pub use snapshot::{
    ErrorDelta, GaugeValue, HIGHEST_MICROS, LOWEST_MICROS, MetricsSnapshot, SIGNIFICANT_DIGITS,
    TransactionDelta, latency_histogram,
};
pub use transaction::Transaction;

pub(crate) use registry::Registry;

use crate::context::{with_loop, with_own_loop};
use crate::fast_hash::FastMap;
use crate::feature::{Feature, Stage};
use crate::loop_state::LoopState;
use crate::outcome::panic_message;
use crate::run_end::RunError;
use crate::timers::{Nanos, nanos};

/// Where a loop's snapshots go.
pub(crate) type Sink = Box<dyn FnMut(MetricsSnapshot)>;

/// One loop's metrics, plugged into it as a feature.
pub(crate) struct Metrics {
    registry: RefCell<Registry>,
    /// Where each bot's next transaction is timed from, for bots given one
    /// ([`Cx::measure_from`](crate::Cx::measure_from)); usually empty.
    origins: RefCell<FastMap<u32, Nanos>>,
    sink: RefCell<Option<Sink>>,
    interval: Nanos,
    next_close: Cell<Nanos>,
    /// When the last interval was closed, on the loop's clock (the run's start at first): the
    /// next interval covers the samples from then on.
    last_close: Cell<Nanos>,
}

impl Metrics {
    fn new(sink: Option<Sink>, interval: Duration) -> Self {
        let interval = nanos(interval).max(1);
        Metrics {
            registry: RefCell::default(),
            origins: RefCell::default(),
            sink: RefCell::new(sink),
            interval,
            next_close: Cell::new(interval),
            last_close: Cell::new(0),
        }
    }

    /// When a transaction starting now in the current bot is timed from.
    #[inline]
    fn start_time(&self, state: &LoopState) -> Nanos {
        let mut origins = self.origins.borrow_mut();
        if !origins.is_empty()
            && let Some(origin) = origins.remove(&state.current())
        {
            return origin;
        }
        state.clock.now()
    }

    /// Closes the interval at `now` and hands its snapshot to the sink, naming it `end` (its
    /// end on the grid, or `now` for the last one): it covers the samples since the previous
    /// close.
    fn close_interval(&self, state: &LoopState, end: Nanos, now: Nanos, last: bool) {
        let mut sink = self.sink.borrow_mut();
        let Some(deliver) = sink.as_mut() else {
            return;
        };
        let start = self.last_close.replace(now);
        let snapshot = self.registry.borrow_mut().snapshot(
            end,
            now.saturating_sub(start),
            state.live_bots(),
            last,
        );
        if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(|| deliver(snapshot))) {
            let message = panic_message(&*payload);
            let _ = panic::catch_unwind(AssertUnwindSafe(|| drop(payload)));
            // A sink that failed once gets nothing more: what it holds may be half-updated.
            *sink = None;
            state.fail(RunError::MetricsSinkPanicked { message });
        }
    }
}

impl Feature for Metrics {
    fn bot_exited(&self, _state: &LoopState, index: u32) {
        let mut origins = self.origins.borrow_mut();
        if !origins.is_empty() {
            origins.remove(&index);
        }
    }

    fn time_passed(&self, state: &LoopState, now: Nanos) {
        let mut next = self.next_close.get();
        if now >= next {
            // Named by the last end on the grid it reached: the loop looks a little after it,
            // or, if it was blocked, after several; then this interval covers them all.
            let end = now - now % self.interval;
            self.close_interval(state, end, now, false);
            next = end + self.interval;
            self.next_close.set(next);
        }
        if self.sink.borrow().is_some() {
            state.wake_features_at(next);
        }
    }

    fn run_ended(&self, state: &LoopState) {
        let now = state.clock.now();
        self.close_interval(state, now, now, true);
    }

    fn release(&self) {
        let cached =
            RUNNING.with(|running| running.try_borrow_mut().ok().and_then(|mut r| r.take()));
        drop(cached);
        let sink = self.sink.borrow_mut().take();
        let _ = panic::catch_unwind(AssertUnwindSafe(|| drop(sink)));
    }
}

thread_local! {
    /// The metrics of the loop running on this thread, with its id, once something has
    /// recorded in it: one look finds them, instead of the loop's list of features. Set at the
    /// first use in a run and cleared when the run releases its features, so an entry is only
    /// ever that of the loop running here (loop ids are never reused).
    static RUNNING: RefCell<Option<(u32, Rc<Metrics>)>> = const { RefCell::new(None) };
}

/// Calls `f` with the metrics of loop `loop_id`: the fast way for recordings that need
/// nothing else of the loop.
///
/// # Panics
/// Outside that loop.
#[inline]
pub(crate) fn with_registry<R>(loop_id: u32, what: &str, f: impl FnOnce(&mut Registry) -> R) -> R {
    let mut f = Some(f);
    let cached = RUNNING.with(|running| match &*running.borrow() {
        Some((id, metrics)) if *id == loop_id => {
            let f = f.take().expect("not called yet");
            Some(f(&mut metrics.registry.borrow_mut()))
        }
        _ => None,
    });
    match cached {
        Some(result) => result,
        None => {
            let f = f.take().expect("not called yet");
            with_metrics(loop_id, what, |_, metrics| {
                f(&mut metrics.registry.borrow_mut())
            })
        }
    }
}

/// Adds `amount` to the counter `name` of `state`'s metrics, if the loop has any (a run given a
/// sink, or in which something recorded: every load test), else nothing: for what the loop
/// itself counts from its features' hooks, which have no bot's `Cx` to count with.
pub(crate) fn count_in_loop(state: &LoopState, name: &str, amount: u64) {
    let counted = RUNNING.with(|running| match &*running.borrow() {
        Some((id, metrics)) if *id == state.id() => {
            metrics.registry.borrow_mut().count(name, amount);
            true
        }
        _ => false,
    });
    if !counted && let Some(metrics) = state.features().get::<Metrics>() {
        metrics.registry.borrow_mut().count(name, amount);
    }
}

/// Installs the loop's metrics with a sink that gets a snapshot every `interval`.
pub(crate) fn install(state: &LoopState, sink: Sink, interval: Duration) {
    let metrics = state
        .features()
        .get_or_insert(Stage::Measures, || Metrics::new(Some(sink), interval));
    state.wake_features_at(metrics.next_close.get());
}

/// Calls `f` with the metrics of loop `loop_id` (made at first use, without a sink, if the run
/// was given none).
///
/// # Panics
/// Outside that loop.
#[inline]
pub(crate) fn with_metrics<R>(
    loop_id: u32,
    what: &str,
    f: impl FnOnce(&LoopState, &Metrics) -> R,
) -> R {
    let mut f = Some(f);
    let cached = RUNNING.with(|running| match &*running.borrow() {
        // The cached metrics are those of the loop running here (see `RUNNING`).
        Some((id, metrics)) if *id == loop_id => Some(with_loop(|state| {
            (f.take().expect("not called yet"))(state, metrics)
        })),
        _ => None,
    });
    if let Some(result) = cached {
        return result;
    }
    let f = f.take().expect("not called yet");
    with_own_loop(loop_id, what, |state| {
        let metrics = match state.features().get::<Metrics>() {
            Some(metrics) => metrics,
            None => state.features().get_or_insert(Stage::Measures, || {
                Metrics::new(None, Duration::from_secs(1))
            }),
        };
        RUNNING.with(|running| {
            if let Ok(mut running) = running.try_borrow_mut() {
                *running = Some((loop_id, Rc::clone(&metrics)));
            }
        });
        f(state, &metrics)
    })
}
