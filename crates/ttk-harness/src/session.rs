//! What the harness tells each bot: [`Session`].

use std::rc::Rc;
use std::time::Instant;

/// What a bot of a [`LoadTest`](super::LoadTest) is given besides its context: its id, the
/// target, and how many iterations to run.
///
/// # Examples
/// ```
/// # use ttk::{bot, Cx};
/// use ttk::harness::{LoadTest, Session};
///
/// #[bot]
/// fn visitor(cx: Cx, session: Session) {
///     for _ in session.iterations() {
///         cx.count("visits", 1);
///         ttk::yield_!();
///     }
/// }
///
/// let test = LoadTest::try_from_args("demo", ["demo", "--bots", "3", "--iterations", "2", "--quiet"]).unwrap();
/// let outcome = test.run(|cx, session| visitor(cx, session));
/// assert_eq!(outcome.report.counters["visits"], 6);
/// ```
#[derive(Clone, Debug)]
pub struct Session {
    pub(crate) id: usize,
    pub(crate) target: Option<Rc<str>>,
    pub(crate) iterations: Option<u64>,
    pub(crate) until: Option<Instant>,
    pub(crate) intended_start: Option<Instant>,
    /// Stop tokens of the bot's loop, under live control: a bot that takes one ends at the
    /// end of its iteration.
    pub(crate) stops: Option<Rc<std::cell::Cell<usize>>>,
}

/// A bot's iterations (see [`Session::iterations`]): an iterator of their numbers that ends
/// after the last one, or once the run's `--duration` is over.
///
/// # Examples
/// ```
/// use ttk::Cx;
/// use ttk::harness::{LoadTest, Session};
/// use ttk::metrics::GaugeMerge;
///
/// #[ttk::bot]
/// fn worker(cx: Cx, session: Session) {
///     for number in session.iterations() {
///         cx.count("iterations", 1);
///         // Not a share of a total: the run's gauge is the highest any worker saw.
///         cx.gauge_with("iteration number", number as i64, GaugeMerge::Max);
///     }
/// }
///
/// let args = ["work", "--bots", "2", "--iterations", "3", "--quiet"];
/// let test = LoadTest::try_from_args("work", args);
/// let report = test.unwrap().run(worker).report;
/// assert_eq!(report.counters["iterations"], 6);
/// assert_eq!(report.gauges["iteration number"].max, 2); // numbered from 0
/// ```
#[derive(Clone, Debug)]
pub struct Iterations {
    next: u64,
    count: Option<u64>,
    until: Option<Instant>,
    stops: Option<Rc<std::cell::Cell<usize>>>,
}

impl Iterator for Iterations {
    type Item = u64;

    fn next(&mut self) -> Option<u64> {
        if self.count.is_some_and(|count| self.next >= count) {
            return None;
        }
        if self.until.is_some_and(|until| ttk_core::now() >= until) {
            return None;
        }
        // The bot count was lowered: this bot is one of those that go.
        if let Some(stops) = &self.stops
            && stops.get() > 0
        {
            stops.set(stops.get() - 1);
            self.count = Some(self.next);
            return None;
        }
        self.next += 1;
        Some(self.next - 1)
    }
}

impl Session {
    /// The bot's id: unique in the run, from 0 in start order.
    ///
    /// # Examples
    /// ```
    /// use ttk::Cx;
    /// use ttk::harness::{LoadTest, Session};
    /// use ttk::metrics::GaugeMerge;
    ///
    /// #[ttk::bot]
    /// fn numbered(cx: Cx, session: Session) {
    ///     // An id is no share of a total: over several workers, keep the extremes, not sums.
    ///     cx.gauge_with("id", session.id() as i64, GaugeMerge::Max);
    /// }
    ///
    /// let test = LoadTest::try_from_args("ids", ["ids", "--bots", "4", "--quiet"]).unwrap();
    /// let ids = test.run(numbered).report.gauges["id"];
    /// assert_eq!((ids.min, ids.max), (0, 3));
    /// ```
    pub fn id(&self) -> usize {
        self.id
    }

    /// The `--target` given, if any.
    ///
    /// # Examples
    /// ```
    /// use ttk::Cx;
    /// use ttk::harness::{LoadTest, Session};
    ///
    /// #[ttk::bot]
    /// fn aimer(cx: Cx, session: Session) {
    ///     if session.target() == Some("10.0.0.5:80") {
    ///         cx.count("aimed", 1);
    ///     }
    /// }
    ///
    /// let args = ["aim", "--bots", "2", "--target", "10.0.0.5:80", "--quiet"];
    /// let test = LoadTest::try_from_args("aim", args).unwrap();
    /// assert_eq!(test.run(aimer).report.counters["aimed"], 2);
    /// ```
    pub fn target(&self) -> Option<&str> {
        self.target.as_deref()
    }

    /// The iterations to run, numbered from 0: `--iterations` of them, or, without it, one per
    /// open-model session, and for closed-model bots as many as fit in `--duration` if one is
    /// given, else one. Once the run's `--duration` is over, no iteration starts.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// use ttk::harness::{LoadTest, Session};
    /// use ttk::{Cx, Runtime};
    ///
    /// #[ttk::bot]
    /// fn looper(cx: Cx, session: Session) {
    ///     for number in session.iterations() {
    ///         cx.gauge_with("iteration", number as i64, ttk::metrics::GaugeMerge::Max);
    ///         ttk::yield_!(ttk::sleep(Duration::from_secs(1)));
    ///     }
    /// }
    ///
    /// // No --iterations: as many as start within --duration, on a virtual clock here.
    /// let test = LoadTest::try_from_args("loop", ["loop", "--duration", "5s", "-q"]);
    /// let outcome = test.unwrap().run_with(Runtime::new().virtual_time(true), looper);
    /// assert_eq!(outcome.report.gauges["iteration"].max, 4); // at 0 s, 1 s… 4 s
    /// ```
    pub fn iterations(&self) -> Iterations {
        Iterations {
            next: 0,
            count: self.iterations,
            until: self.until,
            stops: self.stops.clone(),
        }
    }

    /// When this open-model session was meant to start (its first transaction is timed from
    /// then); `None` in the closed model.
    ///
    /// # Examples
    /// ```
    /// use ttk::harness::{LoadTest, Session};
    /// use ttk::{Cx, Runtime};
    ///
    /// #[ttk::bot]
    /// fn arrival(cx: Cx, session: Session) {
    ///     if session.intended_start().is_some_and(|at| at <= ttk::now()) {
    ///         cx.count("scheduled", 1);
    ///     }
    /// }
    ///
    /// let open = LoadTest::try_from_args("open", ["open", "--rate", "10/s:1s", "-q"]).unwrap();
    /// let report = open.run_with(Runtime::new().virtual_time(true), arrival).report;
    /// assert_eq!(report.counters["scheduled"], 10);
    /// let closed = LoadTest::try_from_args("closed", ["closed", "--bots", "3", "-q"]).unwrap();
    /// assert!(!closed.run(arrival).report.counters.contains_key("scheduled"));
    /// ```
    pub fn intended_start(&self) -> Option<Instant> {
        self.intended_start
    }
}
