//! What the harness tells each bot: [`Session`].

use std::rc::Rc;
use std::time::Instant;

/// What a bot of a [`LoadTest`](super::LoadTest) is given besides its context: its id, the
/// target, and how many iterations to run.
///
/// # Examples
/// ```
/// # use ttk::{bot, Cx};
/// use ttk::cli::{LoadTest, Session};
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
    pub(crate) intended_start: Option<Instant>,
}

impl Session {
    /// The bot's id: unique in the run, from 0 in start order.
    pub fn id(&self) -> usize {
        self.id
    }

    /// The `--target` given, if any.
    pub fn target(&self) -> Option<&str> {
        self.target.as_deref()
    }

    /// The iterations to run: `--iterations` of them, or, without it, one per open-model
    /// session and endless ones for closed-model bots when the run has a `--duration` (the
    /// run's end stops them), else one.
    pub fn iterations(&self) -> std::ops::Range<u64> {
        0..self.iterations.unwrap_or(u64::MAX)
    }

    /// When this open-model session was meant to start (its first transaction is timed from
    /// then); `None` in the closed model.
    pub fn intended_start(&self) -> Option<Instant> {
        self.intended_start
    }
}
