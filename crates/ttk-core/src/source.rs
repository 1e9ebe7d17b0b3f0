//! Bots that arrive while a run goes on: [`BotSource`] and [`Arrivals`].

use std::time::Instant;

/// What a [`BotSource`] answers when the loop asks it for bots.
///
/// # Examples
/// ```
/// use std::time::{Duration, Instant};
/// use ttk_core::Arrivals;
///
/// let later = Instant::now() + Duration::from_secs(1);
/// let arrivals = Arrivals::start(10).then_at(later);
/// assert_eq!(arrivals.count(), 10);
/// assert_eq!(arrivals.next_time(), Some(later));
/// assert!(!arrivals.is_done());
/// assert!(Arrivals::done().is_done());
/// assert_eq!(Arrivals::start(1).next_time(), None, "asks again next tick");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Arrivals {
    /// Bots to start now.
    count: usize,
    /// When to ask again.
    next: Ask,
}

/// When a source wants to be asked again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ask {
    /// At the end of the next tick.
    NextTick,
    /// Once the loop's clock reaches this time.
    At(Instant),
    /// Never: the source is done.
    Never,
}

impl Arrivals {
    /// Start `count` bots now, and ask again at the end of the next tick.
    ///
    /// # Examples
    /// ```
    /// use ttk_core::Arrivals;
    ///
    /// let now = Arrivals::start(5);
    /// assert_eq!((now.count(), now.next_time(), now.is_done()), (5, None, false));
    /// ```
    pub fn start(count: usize) -> Arrivals {
        Arrivals {
            count,
            next: Ask::NextTick,
        }
    }

    /// Start no bot now; ask again at `at`.
    ///
    /// # Examples
    /// ```
    /// use std::time::{Duration, Instant};
    /// use ttk_core::Arrivals;
    ///
    /// let later = Instant::now() + Duration::from_secs(1);
    /// let arrivals = Arrivals::wait_until(later);
    /// assert_eq!((arrivals.count(), arrivals.next_time()), (0, Some(later)));
    /// ```
    pub fn wait_until(at: Instant) -> Arrivals {
        Arrivals {
            count: 0,
            next: Ask::At(at),
        }
    }

    /// Start no more bots, ever.
    ///
    /// # Examples
    /// ```
    /// use ttk_core::Arrivals;
    ///
    /// let done = Arrivals::done();
    /// assert!(done.is_done());
    /// assert_eq!(done.count(), 0);
    /// ```
    pub fn done() -> Arrivals {
        Arrivals {
            count: 0,
            next: Ask::Never,
        }
    }

    /// The same bots now, then ask again at `at` (a time already past: at the end of the next
    /// tick).
    ///
    /// # Examples
    /// ```
    /// use std::time::{Duration, Instant};
    /// use ttk_core::Arrivals;
    ///
    /// let next = Instant::now() + Duration::from_millis(100);
    /// let arrivals = Arrivals::start(2).then_at(next);
    /// assert_eq!((arrivals.count(), arrivals.next_time()), (2, Some(next)));
    /// ```
    pub fn then_at(self, at: Instant) -> Arrivals {
        Arrivals {
            next: Ask::At(at),
            ..self
        }
    }

    /// The same bots now, and no more after them.
    ///
    /// # Examples
    /// ```
    /// use ttk_core::Arrivals;
    ///
    /// let last = Arrivals::start(3).then_done();
    /// assert_eq!((last.count(), last.is_done()), (3, true));
    /// ```
    pub fn then_done(self) -> Arrivals {
        Arrivals {
            next: Ask::Never,
            ..self
        }
    }

    /// Bots to start now.
    ///
    /// # Examples
    /// ```
    /// use ttk_core::Arrivals;
    ///
    /// assert_eq!(Arrivals::start(4).count(), 4);
    /// assert_eq!(Arrivals::done().count(), 0);
    /// ```
    pub fn count(&self) -> usize {
        self.count
    }

    /// The time to ask again at, if the source named one (`None` for "the next tick" and for
    /// "never").
    ///
    /// # Examples
    /// ```
    /// use std::time::Instant;
    /// use ttk_core::Arrivals;
    ///
    /// let at = Instant::now();
    /// assert_eq!(Arrivals::wait_until(at).next_time(), Some(at));
    /// assert_eq!(Arrivals::start(1).next_time(), None);
    /// assert_eq!(Arrivals::done().next_time(), None);
    /// ```
    pub fn next_time(&self) -> Option<Instant> {
        match self.next {
            Ask::At(at) => Some(at),
            Ask::NextTick | Ask::Never => None,
        }
    }

    /// Whether the source is done.
    ///
    /// # Examples
    /// ```
    /// use ttk_core::Arrivals;
    ///
    /// assert!(Arrivals::done().is_done());
    /// assert!(!Arrivals::start(1).is_done());
    /// ```
    pub fn is_done(&self) -> bool {
        self.next == Ask::Never
    }

    /// When to ask again.
    pub(crate) fn ask(&self) -> Ask {
        self.next
    }
}

/// A source of bots that arrive while a run goes on: ramp-ups, sessions of an open model,
/// replacements for bots that finished.
///
/// Give it to [`Runtime::source`](crate::Runtime::source). The loop asks it once before the first
/// tick and then at the end of each tick once the time it asked for has come (on the loop's
/// clock, so a virtual clock jumps to it). Each bot it starts is made by the run's factory with
/// the next id; bots started at the end of tick `t` run from tick `t + 1`. A source keeps the run
/// going until it answers [`Arrivals::done`]. Closures `FnMut(Instant, usize) -> Arrivals` are
/// sources.
///
/// # Examples
/// A hundred short sessions, at most ten at a time:
/// ```
/// # use ttk_macros::bot;
/// use ttk_core::{Arrivals, Cx, Runtime};
///
/// #[bot(crate = ttk_core)]
/// fn session(_cx: Cx, id: usize) -> usize {
///     ttk_core::yield_!();
///     id
/// }
///
/// let mut left = 100;
/// let source = move |_now, live: usize| {
///     let count = (10 - live).min(left);
///     left -= count;
///     if left == 0 { Arrivals::start(count).then_done() } else { Arrivals::start(count) }
/// };
/// let mut seen = Vec::new();
/// let summary = Runtime::new().source(source).execute_each(0, session, |id, outcome| {
///     assert_eq!(outcome.unwrap(), id);
///     seen.push(id);
/// });
/// assert_eq!(summary.bots_started, 100);
/// seen.sort();
/// assert_eq!(seen, (0..100).collect::<Vec<_>>());
/// ```
pub trait BotSource {
    /// How many bots to start at `now`, with `live` bots running, and when to ask again.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// use std::time::Instant;
    /// use ttk_core::{Arrivals, BotSource, Cx, Runtime};
    ///
    /// /// Keeps `target` bots alive until `total` have started.
    /// struct KeepUp {
    ///     target: usize,
    ///     total: usize,
    /// }
    ///
    /// impl BotSource for KeepUp {
    ///     fn arrivals(&mut self, _now: Instant, live: usize) -> Arrivals {
    ///         let count = self.target.saturating_sub(live).min(self.total);
    ///         self.total -= count;
    ///         let arrivals = Arrivals::start(count);
    ///         if self.total == 0 { arrivals.then_done() } else { arrivals }
    ///     }
    /// }
    ///
    /// #[bot(crate = ttk_core)]
    /// fn visit(_cx: Cx, _id: usize) {
    ///     ttk_core::yield_!();
    /// }
    ///
    /// let summary = Runtime::new()
    ///     .source(KeepUp { target: 3, total: 10 })
    ///     .execute_each(0, visit, |_, outcome| outcome.unwrap());
    /// assert_eq!(summary.bots_started, 10);
    /// ```
    fn arrivals(&mut self, now: Instant, live: usize) -> Arrivals;
}

impl<F: FnMut(Instant, usize) -> Arrivals> BotSource for F {
    fn arrivals(&mut self, now: Instant, live: usize) -> Arrivals {
        self(now, live)
    }
}
