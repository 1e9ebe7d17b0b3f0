//! How a run ended: [`RunEnd`], [`RunError`], and what [`Runtime::execute`](crate::Runtime::execute)
//! returns.

use std::fmt;
use std::io;

use crate::outcome::BotError;

/// Why a run ended.
///
/// # Examples
/// ```
/// # use ttk_macros::bot;
/// use ttk_core::{Cx, RunEnd, Runtime};
///
/// #[bot(crate = ttk_core)]
/// fn quick(_cx: Cx, id: usize) -> usize {
///     id
/// }
///
/// assert_eq!(Runtime::new().execute(2, quick).end, RunEnd::Completed);
/// ```
#[derive(Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RunEnd {
    /// Every bot finished (or failed on its own), and no more could come.
    Completed,
    /// The bots still running waited with nothing left that could wake them; each is
    /// [`BotErrorKind::Stalled`](crate::BotErrorKind::Stalled).
    Stalled,
    /// The run's deadline ([`Runtime::deadline`](crate::Runtime::deadline)) passed; the bots
    /// still running were stopped.
    DeadlineReached,
    /// A [`StopHandle`](crate::StopHandle) stopped the run; the bots still running were stopped.
    Stopped,
    /// Code of the run outside the bots failed; the bots still running were stopped.
    Failed(RunError),
}

impl fmt::Display for RunEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunEnd::Completed => write!(f, "every bot finished"),
            RunEnd::Stalled => write!(f, "stalled: no bot could ever be woken"),
            RunEnd::DeadlineReached => write!(f, "the deadline passed"),
            RunEnd::Stopped => write!(f, "stopped by its stop handle"),
            RunEnd::Failed(error) => write!(f, "failed: {error}"),
        }
    }
}

/// A failure of the code that drives a run (not of a bot): the run was ended cleanly, every
/// bot still running stopped, every descriptor released.
///
/// # Examples
/// ```
/// # use ttk_macros::bot;
/// use ttk_core::{Cx, RunEnd, RunError, Runtime};
///
/// #[bot(crate = ttk_core)]
/// fn quick(_cx: Cx, _id: usize) {}
///
/// let report = Runtime::new()
///     .on_tick(|_world, _tick| panic!("the hook fails"))
///     .execute(1, quick);
/// let RunEnd::Failed(RunError::HookPanicked { hook, message }) = report.end else {
///     panic!("the run did not fail");
/// };
/// assert_eq!((hook, message.as_str()), (0, "the hook fails"));
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum RunError {
    /// A tick hook panicked.
    HookPanicked {
        /// Which hook, in the order they were added (0 is the first).
        hook: usize,
        /// The panic's message.
        message: String,
    },
    /// The bot factory panicked while making a bot.
    FactoryPanicked {
        /// The id of the bot it was making.
        bot: usize,
        /// The panic's message.
        message: String,
    },
    /// The callback of [`Runtime::execute_each`](crate::Runtime::execute_each) panicked.
    CallbackPanicked {
        /// The id of the bot whose outcome it was given.
        bot: usize,
        /// The panic's message.
        message: String,
    },
    /// The run's [`BotSource`](crate::BotSource) panicked.
    SourcePanicked {
        /// The panic's message.
        message: String,
    },
    /// The selector (epoll) failed.
    Selector(io::Error),
    /// The metrics sink ([`Runtime::metrics`](crate::Runtime::metrics)) panicked.
    MetricsSinkPanicked {
        /// The panic's message.
        message: String,
    },
}

impl PartialEq for RunError {
    fn eq(&self, other: &Self) -> bool {
        self.to_string() == other.to_string()
    }
}

impl Eq for RunError {}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::HookPanicked { hook, message } => {
                write!(
                    f,
                    "tick hook {hook} (0 = the first added) panicked: {message}"
                )
            }
            RunError::FactoryPanicked { bot, message } => {
                write!(f, "the bot factory panicked making bot {bot}: {message}")
            }
            RunError::CallbackPanicked { bot, message } => {
                write!(f, "the outcome callback panicked on bot {bot}: {message}")
            }
            RunError::SourcePanicked { message } => {
                write!(f, "the run's bot source panicked: {message}")
            }
            RunError::Selector(error) => write!(f, "the loop's selector failed: {error}"),
            RunError::MetricsSinkPanicked { message } => {
                write!(f, "the metrics sink panicked: {message}")
            }
        }
    }
}

impl std::error::Error for RunError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RunError::Selector(error) => Some(error),
            _ => None,
        }
    }
}

/// What [`Runtime::execute`](crate::Runtime::execute) returns: every bot's outcome in id order,
/// the world, and why the run ended.
///
/// # Examples
/// ```
/// # use ttk_macros::bot;
/// use ttk_core::{Cx, RunEnd, Runtime};
///
/// #[bot(crate = ttk_core)]
/// fn score(cx: Cx<(), u32>, id: usize) -> usize {
///     cx.world(|total| *total += id as u32);
///     id * 10
/// }
///
/// let report = Runtime::new().world(0u32).execute(3, score);
/// assert_eq!(report.end, RunEnd::Completed);
/// assert_eq!(report.world, 3);
/// let outputs: Vec<_> = report.outcomes.into_iter().map(Result::unwrap).collect();
/// assert_eq!(outputs, [0, 10, 20]);
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub struct RunReport<T, W = ()> {
    /// Each bot's result, or why it did not finish, by id.
    pub outcomes: Vec<Result<T, BotError>>,
    /// The shared world, as the bots left it.
    pub world: W,
    /// Why the run ended.
    pub end: RunEnd,
}

/// What [`Runtime::execute_each`](crate::Runtime::execute_each) returns: outcomes went to its
/// callback as bots ended, so nothing here grows with the number of bots.
///
/// # Examples
/// ```
/// # use ttk_macros::bot;
/// use ttk_core::{Cx, RunEnd, Runtime};
///
/// #[bot(crate = ttk_core)]
/// fn short(_cx: Cx, id: usize) -> usize {
///     id
/// }
///
/// let mut sum = 0;
/// let summary = Runtime::new().execute_each(5, short, |_id, outcome| sum += outcome.unwrap());
/// assert_eq!((summary.end, summary.bots_started, sum), (RunEnd::Completed, 5, 10));
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub struct RunSummary<W = ()> {
    /// The shared world, as the bots left it.
    pub world: W,
    /// Why the run ended.
    pub end: RunEnd,
    /// How many bots the run started (ids `0..bots_started`).
    pub bots_started: usize,
}
