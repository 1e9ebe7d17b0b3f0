//! [`Reconnect`]: a connection that a connection object made again on its own, for a caller
//! that times its connects.

use std::io;
use std::time::Instant;

use ttk_core::metrics::KindedError;

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
    /// first).
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

    /// The newest, to fill in as its connect goes on.
    pub(crate) fn last_mut(&mut self) -> Option<&mut Reconnect> {
        self.kept.back_mut()
    }
}

/// `error` again (an `io::Error` is not `Clone`): its kind, and its [`KindedError`] if it has
/// one (a TLS failure's name, `TlsUnknownIssuer`), else its message.
pub(crate) fn copy_of(error: &io::Error) -> io::Error {
    match error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<KindedError>())
    {
        Some(kinded) => io::Error::new(error.kind(), kinded.clone()),
        None => io::Error::new(error.kind(), error.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn made(at: Instant) -> Reconnect {
        Reconnect {
            started: at,
            connected: Ok(at),
            handshaken: None,
        }
    }

    #[test]
    fn the_last_ones_are_kept_and_taken_oldest_first() {
        let base = Instant::now();
        let mut reconnects = Reconnects::default();
        let count = Reconnect::KEPT + 10;
        for k in 0..count {
            reconnects.push(made(base + std::time::Duration::from_millis(k as u64)));
        }
        let taken: Vec<_> = reconnects.take().map(|r| r.started - base).collect();
        assert_eq!(taken.len(), Reconnect::KEPT);
        assert_eq!(taken[0], std::time::Duration::from_millis(10));
        assert!(taken.windows(2).all(|pair| pair[0] < pair[1]));
        assert_eq!(reconnects.take().count(), 0, "taken once");
    }

    #[test]
    fn a_copy_keeps_a_kinded_error_s_kind() {
        let kinded = KindedError::new("TlsUnknownIssuer", "unknown issuer");
        let error = io::Error::new(io::ErrorKind::InvalidData, kinded.clone());
        let copy = copy_of(&error);
        assert_eq!(copy.kind(), io::ErrorKind::InvalidData);
        let inner = copy.get_ref().and_then(|e| e.downcast_ref::<KindedError>());
        assert_eq!(inner, Some(&kinded));
        let plain = copy_of(&io::Error::new(io::ErrorKind::TimedOut, "slow"));
        assert_eq!(
            (plain.kind(), plain.to_string()),
            (io::ErrorKind::TimedOut, "slow".to_owned())
        );
    }
}
