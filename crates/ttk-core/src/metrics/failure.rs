//! What counts as a failed transaction, and how failures are classified.

use std::any::Any;
use std::error::Error;
use std::fmt::{self, Display};
use std::io;

use crate::time::Elapsed;

/// The output of an operation timed with [`Cx::time`](crate::Cx::time): it says whether the
/// operation failed. A `Result` fails when it is an `Err`; `()` never fails.
///
/// # Examples
/// ```
/// use std::io;
/// use ttk_core::metrics::TransactionOutput;
///
/// let failed: io::Result<usize> = Err(io::ErrorKind::ConnectionReset.into());
/// assert_eq!(failed.failure().unwrap().kind(), "ConnectionReset");
/// assert!(Ok::<_, io::Error>(3).failure().is_none());
/// ```
pub trait TransactionOutput {
    /// The failure this output stands for, if it is one.
    ///
    /// # Examples
    /// ```
    /// use ttk_core::metrics::TransactionOutput;
    ///
    /// let refused: std::io::Result<()> = Err(std::io::ErrorKind::ConnectionRefused.into());
    /// assert_eq!(refused.failure().unwrap().kind(), "ConnectionRefused");
    /// assert!(Ok::<u8, std::io::Error>(1).failure().is_none());
    /// ```
    fn failure(&self) -> Option<Failure<'_>>;
}

/// An `Err` is a failure, classified by [`Failure::of`]; an `Ok` is not.
///
/// # Examples
/// ```
/// use ttk_core::metrics::TransactionOutput;
///
/// let too_big = "300".parse::<u8>();
/// let failure = too_big.failure().unwrap();
/// assert_eq!(failure.kind(), "ParseIntError");
/// assert_eq!(failure.message(), "number too large to fit in target type");
/// assert!("200".parse::<u8>().failure().is_none());
/// ```
impl<T, E: Display + 'static> TransactionOutput for Result<T, E> {
    fn failure(&self) -> Option<Failure<'_>> {
        self.as_ref().err().map(Failure::of)
    }
}

/// An operation with nothing to report (a sleep, a send that cannot fail) never fails.
///
/// # Examples
/// ```
/// use ttk_core::metrics::TransactionOutput;
///
/// assert!(().failure().is_none());
/// ```
impl TransactionOutput for () {
    fn failure(&self) -> Option<Failure<'_>> {
        None
    }
}

/// A failure: its kind (what the report counts it under) and its message (kept as a sample).
///
/// # Examples
/// ```
/// use std::{error::Error, io};
/// use ttk_core::metrics::Failure;
///
/// let boxed: Box<dyn Error + Send + Sync> = Box::new(io::Error::from(io::ErrorKind::BrokenPipe));
/// let failure = Failure::of(&boxed);
/// assert_eq!(failure.kind(), "BrokenPipe"); // a boxed error, by what it holds
/// assert_eq!(failure.message(), "broken pipe");
/// ```
#[derive(Clone, Copy)]
pub struct Failure<'a> {
    pub(crate) kind: FailureKind<'a>,
    message: Message<'a>,
}

/// A failure's message, formatted only when it is kept as a sample.
#[derive(Clone, Copy)]
enum Message<'a> {
    Error(&'a dyn Display),
    Text(&'a str),
}

/// What a failure is counted under.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum FailureKind<'a> {
    /// An I/O error, by its kind.
    Io(io::ErrorKind),
    /// Another error, by its type's name, or a reason a bot gave.
    Named(&'a str),
}

impl fmt::Debug for Failure<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Failure")
            .field("kind", &self.kind())
            .field("message", &self.message())
            .finish()
    }
}

impl<'a> Failure<'a> {
    /// Classifies `error`: an [`io::Error`] by its [`io::ErrorKind`] (so a timeout of
    /// [`ttk_core::timeout`](crate::timeout), a `TimedOut` I/O error, counts as `TimedOut`), a
    /// boxed error by what it holds, anything else by its type's name.
    ///
    /// # Examples
    /// ```
    /// use std::io;
    /// use ttk_core::metrics::Failure;
    ///
    /// let refused = io::Error::new(io::ErrorKind::ConnectionRefused, "nobody home");
    /// assert_eq!(Failure::of(&refused).kind(), "ConnectionRefused");
    /// let bad_number = "x".parse::<u8>().unwrap_err();
    /// assert_eq!(Failure::of(&bad_number).kind(), "ParseIntError");
    /// ```
    pub fn of<E: Display + 'static>(error: &'a E) -> Failure<'a> {
        Failure {
            kind: classify(error),
            message: Message::Error(error),
        }
    }

    /// A failure counted under `reason`, with `reason` as its message too.
    ///
    /// # Examples
    /// ```
    /// use ttk_core::metrics::Failure;
    ///
    /// let full = Failure::reason("room full");
    /// assert_eq!(full.kind(), "room full");
    /// assert_eq!(full.message(), "room full");
    /// ```
    pub fn reason(reason: &'a str) -> Failure<'a> {
        Failure {
            kind: FailureKind::Named(reason),
            message: Message::Text(reason),
        }
    }

    /// The name of the failure's kind.
    ///
    /// # Examples
    /// ```
    /// use std::io;
    /// use ttk_core::metrics::Failure;
    ///
    /// assert_eq!(Failure::of(&io::Error::from(io::ErrorKind::TimedOut)).kind(), "TimedOut");
    /// assert_eq!(Failure::of(&"no seat".to_owned()).kind(), "String"); // by its type's name
    /// ```
    pub fn kind(&self) -> String {
        self.kind.name()
    }

    /// Writes the failure's message into `out` (cleared first): no allocation once `out` has
    /// grown to the messages.
    pub(crate) fn write_message(&self, out: &mut String) {
        out.clear();
        match self.message {
            Message::Error(error) => {
                use std::fmt::Write;
                let _ = write!(out, "{error}");
            }
            Message::Text(text) => out.push_str(text),
        }
    }

    /// The failure's message.
    ///
    /// # Examples
    /// ```
    /// use std::io;
    /// use ttk_core::metrics::Failure;
    ///
    /// let error = io::Error::other("disk on fire");
    /// let failure = Failure::of(&error);
    /// assert_eq!(failure.message(), "disk on fire");
    /// assert_eq!(failure.kind(), "Other"); // the message is a sample, the kind what is counted
    /// ```
    pub fn message(&self) -> String {
        match self.message {
            Message::Error(error) => error.to_string(),
            Message::Text(text) => text.to_owned(),
        }
    }
}

impl FailureKind<'_> {
    pub(crate) fn name(&self) -> String {
        match self {
            FailureKind::Io(kind) => format!("{kind:?}"),
            FailureKind::Named(name) => (*name).to_owned(),
        }
    }
}

fn classify<E: Display + 'static>(error: &E) -> FailureKind<'static> {
    let any = error as &dyn Any;
    if let Some(kind) = known_kind(any) {
        return kind;
    }
    let boxed = any
        .downcast_ref::<Box<dyn Error + Send + Sync>>()
        .map(|inner| &**inner as &dyn Error)
        .or_else(|| any.downcast_ref::<Box<dyn Error>>().map(|inner| &**inner));
    if let Some(inner) = boxed {
        if let Some(io) = inner.downcast_ref::<io::Error>() {
            return io_kind(io);
        }
        if let Some(kinded) = inner.downcast_ref::<KindedError>() {
            return FailureKind::Named(kinded.kind);
        }
        if inner.is::<Elapsed>() {
            return FailureKind::Io(io::ErrorKind::TimedOut);
        }
        // The type inside a box has no name to give.
        return FailureKind::Named("Error");
    }
    FailureKind::Named(short_type_name::<E>())
}

fn known_kind(any: &dyn Any) -> Option<FailureKind<'static>> {
    if let Some(io) = any.downcast_ref::<io::Error>() {
        Some(io_kind(io))
    } else if any.is::<Elapsed>() {
        Some(FailureKind::Io(io::ErrorKind::TimedOut))
    } else {
        any.downcast_ref::<KindedError>()
            .map(|kinded| FailureKind::Named(kinded.kind))
    }
}

/// An I/O error's kind: the one a [`KindedError`] inside it names, else its [`io::ErrorKind`].
fn io_kind(io: &io::Error) -> FailureKind<'static> {
    match io
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<KindedError>())
    {
        Some(kinded) => FailureKind::Named(kinded.kind),
        None => FailureKind::Io(io.kind()),
    }
}

/// An error that names the failure kind it counts under, for errors that an
/// [`io::ErrorKind`] describes too coarsely: a TLS layer's "certificate from an unknown
/// issuer" and "certificate for another host" are both `InvalidData`, but a report should count
/// them apart. Wrapped in an [`io::Error`] ([`KindedError::into_io`]), it keeps the `io::Error`
/// kind for code that matches on it, while [`Failure::of`] counts it under its own name.
///
/// # Examples
/// ```
/// use std::io;
/// use ttk_core::metrics::{Failure, KindedError};
///
/// let error = KindedError::new("TlsUnknownIssuer", "127.0.0.1's certificate is from an unknown issuer")
///     .into_io(io::ErrorKind::InvalidData);
/// assert_eq!(error.kind(), io::ErrorKind::InvalidData);
/// assert_eq!(Failure::of(&error).kind(), "TlsUnknownIssuer");
/// assert_eq!(Failure::of(&error).message(), "127.0.0.1's certificate is from an unknown issuer");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KindedError {
    /// The failure kind's name.
    kind: &'static str,
    /// What went wrong and what to do about it.
    message: String,
}

impl KindedError {
    /// An error counted under `kind`, with `message` as its text.
    ///
    /// # Examples
    /// ```
    /// let error = ttk_core::metrics::KindedError::new("RoomFull", "room 7 is full");
    /// assert_eq!((error.kind(), error.to_string().as_str()), ("RoomFull", "room 7 is full"));
    /// ```
    pub fn new(kind: &'static str, message: impl Into<String>) -> KindedError {
        KindedError {
            kind,
            message: message.into(),
        }
    }

    /// The failure kind's name.
    ///
    /// # Examples
    /// ```
    /// use ttk_core::metrics::KindedError;
    ///
    /// assert_eq!(KindedError::new("QueueFull", "the queue is full").kind(), "QueueFull");
    /// ```
    pub fn kind(&self) -> &'static str {
        self.kind
    }

    /// This error inside an [`io::Error`] of `kind`.
    ///
    /// # Examples
    /// ```
    /// use std::io;
    /// use ttk_core::metrics::{Failure, KindedError};
    ///
    /// let error = KindedError::new("BadHandshake", "no hello");
    /// let error = error.into_io(io::ErrorKind::InvalidData);
    /// // Code that matches on io::ErrorKind still can; the report counts it by its own name.
    /// assert_eq!(error.kind(), io::ErrorKind::InvalidData);
    /// assert_eq!(Failure::of(&error).kind(), "BadHandshake");
    /// ```
    pub fn into_io(self, kind: io::ErrorKind) -> io::Error {
        io::Error::new(kind, self)
    }
}

impl Display for KindedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl Error for KindedError {}

/// `my_crate::proto::LoginError` → `LoginError` (generic arguments kept).
fn short_type_name<E>() -> &'static str {
    let full = std::any::type_name::<E>();
    let generic_start = full.find('<').unwrap_or(full.len());
    let start = full[..generic_start].rfind("::").map_or(0, |at| at + 2);
    &full[start..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct LoginRefused;

    impl Display for LoginRefused {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("login refused")
        }
    }

    impl Error for LoginRefused {}

    #[test]
    fn kinds_follow_the_error() {
        let io = io::Error::from(io::ErrorKind::ConnectionRefused);
        assert_eq!(Failure::of(&io).kind(), "ConnectionRefused");
        let elapsed = crate::time::Elapsed {
            limit: std::time::Duration::from_millis(5),
        };
        assert_eq!(Failure::of(&elapsed).kind(), "TimedOut");
        assert_eq!(Failure::of(&LoginRefused).kind(), "LoginRefused");
        assert_eq!(Failure::of(&LoginRefused).message(), "login refused");
        let boxed: Box<dyn Error + Send + Sync> = Box::new(io::Error::other("x"));
        assert_eq!(Failure::of(&boxed).kind(), "Other");
        let boxed: Box<dyn Error> = Box::new(LoginRefused);
        assert_eq!(Failure::of(&boxed).kind(), "Error");
        assert_eq!(Failure::of(&"bad".to_owned()).kind(), "String");
        assert_eq!(Failure::reason("full").kind(), "full");
    }
}
