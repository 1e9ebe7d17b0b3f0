//! [`Reconnect`]: a connection that a connection object made again on its own, for a caller
//! that times its connects.

use std::io;
use std::time::Instant;

/// A connection that an [`HttpConnection`](crate::HttpConnection) or an
/// [`Http2Connection`](crate::http2::Http2Connection) made again on its own, inside a request:
/// the server ended the one before with requests still to send (an HTTP/2 GOAWAY, a close met
/// by a request written on a connection kept idle). When it started, and when its TCP connect
/// and its TLS handshake ended, or how they failed — so that a load test times it as it times
/// the connects it makes itself (`ttk http` records them as its `connect` and `tls`
/// transactions). Taken with `take_reconnects`; a connection keeps the last
/// [`Reconnect::KEPT`] not taken.
///
/// # Examples
/// ```
/// use std::time::Instant;
/// use ttk_http::Reconnect;
///
/// /// How long a reconnect's TCP connect took, if it was made.
/// fn connect_time(reconnect: &Reconnect) -> Option<std::time::Duration> {
///     let connected = reconnect.connected.as_ref().ok()?;
///     Some(*connected - reconnect.started)
/// }
///
/// let now = Instant::now();
/// let made = Reconnect { started: now, connected: Ok(now), handshaken: None };
/// assert_eq!(connect_time(&made), Some(std::time::Duration::ZERO));
/// ```
#[derive(Debug)]
pub struct Reconnect {
    /// When the connect started.
    pub started: Instant,
    /// When the TCP connection was made, or why it was not (`TimedOut` if the first waiting
    /// request's time ran out first).
    pub connected: Result<Instant, io::Error>,
    /// Over TLS, when the handshake ended or why it failed; `None` in cleartext, or when the
    /// TCP connect failed.
    pub handshaken: Option<Result<Instant, io::Error>>,
}

impl Reconnect {
    /// The most reconnects a connection keeps until they are taken (older ones are dropped
    /// first, still counted by `connections_opened`).
    ///
    /// # Examples
    /// ```
    /// assert!(ttk_http::Reconnect::KEPT >= 64);
    /// ```
    pub const KEPT: usize = 256;
}

/// The reconnects a connection made and its caller has not taken yet: the last
/// [`Reconnect::KEPT`].
#[derive(Debug, Default)]
pub(crate) struct Reconnects {
    kept: std::collections::VecDeque<Reconnect>,
}

impl Reconnects {
    /// Keeps `reconnect`, dropping the oldest past [`Reconnect::KEPT`].
    pub(crate) fn push(&mut self, reconnect: Reconnect) {
        if self.kept.len() == Reconnect::KEPT {
            self.kept.pop_front();
        }
        self.kept.push_back(reconnect);
    }

    /// Takes them, oldest first.
    pub(crate) fn take(&mut self) -> impl Iterator<Item = Reconnect> + '_ {
        self.kept.drain(..)
    }
}
