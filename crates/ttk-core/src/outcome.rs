//! What became of a bot that did not finish.

use std::any::Any;
use std::fmt;

/// Why a bot did not produce a result.
///
/// [`try_run`](crate::try_run) returns one per bot that failed; [`run`](crate::run) turns the
/// first into a panic.
///
/// # Examples
/// ```
/// # use ttk_macros::bot;
/// # use ttk_core::Cx;
/// #[bot(crate = ttk_core)]
/// fn fragile(_cx: Cx, id: usize) -> usize {
///     assert!(id != 1, "bot 1 always fails");
///     id
/// }
///
/// let outcomes = ttk_core::try_run(3, fragile);
/// let error = outcomes[1].as_ref().unwrap_err();
/// assert_eq!(error.bot(), 1);
/// assert!(error.to_string().contains("bot 1 always fails"));
/// assert_eq!(outcomes[2].as_ref().ok(), Some(&2));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BotError(Box<Failure>);

/// The contents of a [`BotError`], boxed so that a run's outcomes (`Result<T, BotError>` per
/// bot) stay one pointer wide: failures are rare, a million outcomes are not.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Failure {
    /// The failed bot's id.
    bot: usize,
    /// What happened.
    kind: BotErrorKind,
    /// For a panic: where it happened (`file:line:column`), if known.
    location: Option<String>,
}

/// What happened to a bot that did not finish.
///
/// # Examples
/// ```
/// # use ttk_macros::bot;
/// use ttk_core::{BotErrorKind, Cx};
///
/// #[bot(crate = ttk_core)]
/// fn fragile(cx: Cx<u8>, id: usize) {
///     match id {
///         0 => panic!("bot 0 breaks"),
///         _ => {
///             ttk_core::yield_!(cx.recv()); // nobody sends: stalled
///         }
///     }
/// }
///
/// let outcomes = ttk_core::try_run(2, fragile);
/// let kinds: Vec<_> = outcomes.iter().map(|o| o.as_ref().unwrap_err().kind().clone()).collect();
/// assert_eq!(kinds, [BotErrorKind::Panicked("bot 0 breaks".into()), BotErrorKind::Stalled]);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BotErrorKind {
    /// The bot panicked; the panic's message.
    Panicked(String),
    /// The bot was parked with nothing left that could wake it: every other bot had finished or
    /// was parked too, and no timer or socket was pending.
    Stalled,
    /// The run was stopped (a deadline, a [`StopHandle`](crate::StopHandle), a failure outside
    /// the bots) while the bot still ran; it was dropped in place.
    Stopped,
}

impl BotError {
    /// A failure of bot `bot`.
    pub(crate) fn new(bot: usize, kind: BotErrorKind) -> Self {
        BotError(Box::new(Failure {
            bot,
            kind,
            location: None,
        }))
    }

    /// A panic of bot `bot`, with the panic's payload and where it happened.
    pub(crate) fn panicked(
        bot: usize,
        payload: &(dyn Any + Send),
        location: Option<String>,
    ) -> Self {
        BotError(Box::new(Failure {
            bot,
            kind: BotErrorKind::Panicked(panic_message(payload)),
            location,
        }))
    }

    /// The failed bot's id.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// use ttk_core::Cx;
    ///
    /// #[bot(crate = ttk_core)]
    /// fn third_fails(_cx: Cx, id: usize) {
    ///     assert_ne!(id, 2, "no bot 2 today");
    /// }
    ///
    /// let outcomes = ttk_core::try_run(3, third_fails);
    /// assert_eq!(outcomes[2].as_ref().unwrap_err().bot(), 2);
    /// ```
    pub fn bot(&self) -> usize {
        self.0.bot
    }

    /// What happened.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// use ttk_core::{BotErrorKind, Cx};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn waits(cx: Cx<u8>, _id: usize) {
    ///     ttk_core::yield_!(cx.recv());
    /// }
    ///
    /// let error = ttk_core::try_run(1, waits).pop().unwrap().unwrap_err();
    /// assert_eq!(error.kind(), &BotErrorKind::Stalled);
    /// ```
    pub fn kind(&self) -> &BotErrorKind {
        &self.0.kind
    }

    /// For a bot that panicked: where, as `file:line:column` (as Rust prints it), if the panic
    /// went through ttk's panic hook (a hook the program installed after the run started
    /// replaces it).
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// #[bot(crate = ttk_core)]
    /// fn fragile(_cx: Cx, _id: usize) {
    ///     panic!("out of luck");
    /// }
    ///
    /// let outcomes = ttk_core::try_run(1, fragile);
    /// let location = outcomes[0].as_ref().unwrap_err().location().unwrap();
    /// assert!(location.contains(".rs:"), "{location}"); // file:line:column
    /// ```
    pub fn location(&self) -> Option<&str> {
        self.0.location.as_deref()
    }
}

impl fmt::Display for BotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bot = self.bot();
        match self.kind() {
            BotErrorKind::Panicked(message) => write!(f, "bot {bot} panicked: {message}"),
            BotErrorKind::Stalled => write!(
                f,
                "bot {bot} stalled: it waited with nothing left that could wake it \
                 (no ready bot, timer or socket)"
            ),
            BotErrorKind::Stopped => write!(f, "bot {bot} was stopped: the run ended first"),
        }
    }
}

impl std::error::Error for BotError {}

/// The text of a panic payload (`&str` or `String`, as `panic!` makes them).
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "a panic with a non-text payload".to_owned()
    }
}
