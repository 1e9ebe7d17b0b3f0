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
    pub(crate) until: Option<Instant>,
    pub(crate) intended_start: Option<Instant>,
}

/// A bot's iterations (see [`Session::iterations`]): an iterator of their numbers that ends
/// after the last one, or once the run's `--duration` is over.
#[derive(Clone, Debug)]
pub struct Iterations {
    next: u64,
    count: Option<u64>,
    until: Option<Instant>,
}

impl Iterator for Iterations {
    type Item = u64;

    fn next(&mut self) -> Option<u64> {
        if self.count.is_some_and(|count| self.next >= count) {
            return None;
        }
        if self.until.is_some_and(|until| crate::now() >= until) {
            return None;
        }
        self.next += 1;
        Some(self.next - 1)
    }
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

    /// The iterations to run, numbered from 0: `--iterations` of them, or, without it, one per
    /// open-model session, and for closed-model bots as many as fit in `--duration` if one is
    /// given, else one. Once the run's `--duration` is over, no iteration starts.
    pub fn iterations(&self) -> Iterations {
        Iterations {
            next: 0,
            count: self.iterations,
            until: self.until,
        }
    }

    /// When this open-model session was meant to start (its first transaction is timed from
    /// then); `None` in the closed model.
    pub fn intended_start(&self) -> Option<Instant> {
        self.intended_start
    }
}
