//! tungstenite's errors as `io::Error`s of the kinds std uses, each with a message that says what
//! went wrong and the original error kept inside.

use std::fmt;
use std::io;

use tungstenite::error::{CapacityError, ProtocolError};

/// What a failed WebSocket operation's `io::Error` carries when the failure came from the
/// WebSocket protocol rather than the socket: a message saying what went wrong, and
/// tungstenite's own error, for a caller that wants to match on it. The socket's own errors
/// (refused, reset, timed out) are returned as they are, without this wrapper.
///
/// # Examples
/// ```
/// use std::io;
/// use ttk_http::ws;
///
/// /// The HTTP status a server refused the handshake with, if that is what `error` is.
/// fn refused_with(error: &io::Error) -> Option<u16> {
///     let ws_error = error.get_ref()?.downcast_ref::<ws::Error>()?;
///     match ws_error.tungstenite() {
///         ws::TungsteniteError::Http(response) => Some(response.status().as_u16()),
///         _ => None,
///     }
/// }
///
/// let error = io::Error::new(io::ErrorKind::Other, "refused");
/// assert_eq!(refused_with(&error), None);
/// ```
#[derive(Debug)]
pub struct Error {
    /// What went wrong, in words.
    message: String,
    /// tungstenite's error.
    source: tungstenite::Error,
}

impl Error {
    /// tungstenite's error.
    ///
    /// # Examples
    /// See [`Error`].
    pub fn tungstenite(&self) -> &tungstenite::Error {
        &self.source
    }

    /// tungstenite's error, taken out.
    ///
    /// # Examples
    /// ```
    /// use std::io;
    /// use ttk_http::ws;
    ///
    /// fn tungstenite_error(error: io::Error) -> Option<ws::TungsteniteError> {
    ///     Some(error.into_inner()?.downcast::<ws::Error>().ok()?.into_tungstenite())
    /// }
    ///
    /// assert!(tungstenite_error(io::Error::other("not a WebSocket error")).is_none());
    /// ```
    pub fn into_tungstenite(self) -> tungstenite::Error {
        self.source
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// Whether `error` says the connection is closed after a complete close handshake (or was
/// already closed): what [`WebSocket::close`](super::WebSocket::close) waits for.
pub(crate) fn is_closed(error: &tungstenite::Error) -> bool {
    matches!(
        error,
        tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed
    )
}

/// `error` as an `io::Error`: the socket's own errors as they are; the others with a kind and
/// a message of their own, wrapping tungstenite's error in an [`Error`].
pub(crate) fn to_io(error: tungstenite::Error) -> io::Error {
    use io::ErrorKind::*;
    use tungstenite::Error as E;
    let (kind, message) = match &error {
        E::Io(_) => match error {
            E::Io(io) => return io,
            _ => unreachable!(),
        },
        E::ConnectionClosed => (
            ConnectionAborted,
            "the WebSocket connection is closed (its close handshake is complete)".to_string(),
        ),
        E::AlreadyClosed => (
            NotConnected,
            "the WebSocket connection was already closed".to_string(),
        ),
        E::Protocol(ProtocolError::ResetWithoutClosingHandshake) => (
            UnexpectedEof,
            "the peer closed the connection without a WebSocket close handshake".to_string(),
        ),
        E::Protocol(ProtocolError::HandshakeIncomplete) => (
            UnexpectedEof,
            "the peer closed the connection during the WebSocket handshake".to_string(),
        ),
        E::Protocol(ProtocolError::SendAfterClosing) => (
            NotConnected,
            "cannot send on a WebSocket whose close handshake has started".to_string(),
        ),
        E::Protocol(problem) => (InvalidData, format!("WebSocket protocol error: {problem}")),
        E::Capacity(CapacityError::MessageTooLong { size, max_size }) => (
            InvalidData,
            format!(
                "a WebSocket message or frame of {size} bytes is over the limit of {max_size} \
                 bytes (see WebSocket::set_max_message_len and set_max_frame_len)"
            ),
        ),
        E::Capacity(CapacityError::TooManyHeaders) => (
            InvalidData,
            "the WebSocket handshake has too many headers".to_string(),
        ),
        E::Http(response) => (
            InvalidData,
            format!(
                "the server refused the WebSocket handshake: it answered HTTP {} where 101 \
                 Switching Protocols was expected",
                response.status()
            ),
        ),
        E::HttpFormat(problem) => (
            InvalidInput,
            format!("invalid WebSocket handshake request: {problem}"),
        ),
        E::Url(problem) => (InvalidInput, format!("invalid WebSocket URL: {problem}")),
        E::Utf8(problem) => (
            InvalidData,
            format!("a WebSocket text message is not UTF-8: {problem}"),
        ),
        E::AttackAttempt => (
            InvalidData,
            "the peer's WebSocket handshake came in too many tiny pieces (an attack?)".to_string(),
        ),
        E::Tls(_) => (Unsupported, "TLS (wss://) is not supported".to_string()),
        other => (Other, format!("WebSocket error: {other}")),
    };
    io::Error::new(
        kind,
        Error {
            message,
            source: error,
        },
    )
}
