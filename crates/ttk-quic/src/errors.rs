//! QUIC's ways to fail, as `io::Error`s a report counts by kind: a TLS failure under the same
//! kinds as over TCP (`TlsUnknownIssuer`, `TlsWrongHost`, …), QUIC's own under `Quic…`.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use quinn_proto::{ConnectionError, TransportErrorCode};
use ttk_core::metrics::KindedError;
use ttk_tls::kinds as tls_kinds;

/// The failure kinds this crate counts, by name.
///
/// # Examples
/// ```
/// # use ttk_macros::bot;
/// # use ttk_core::Cx;
/// # use ttk_quic::{QuicConnection, QuicConnector};
/// #[bot(crate = ttk_core)]
/// fn refused(_cx: Cx, _id: usize) -> String {
///     // Nothing listens on this UDP port (bound, then let go).
///     let port = std::net::UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
///     let connector = QuicConnector::new(&ttk_tls::TlsConnector::new().unwrap(), &["h3"]).unwrap();
///     let error = ttk_core::yield_!(QuicConnection::connect(port, "localhost", &connector)).unwrap_err();
///     ttk_core::metrics::Failure::of(&error).kind().to_owned()
/// }
///
/// assert_eq!(ttk_core::run(1, refused)[0], ttk_quic::kinds::REFUSED);
/// ```
pub mod kinds {
    /// The handshake did not finish within the connector's limit.
    pub const HANDSHAKE_TIMED_OUT: &str = "QuicHandshakeTimedOut";
    /// Nothing answered for the idle timeout.
    pub const TIMED_OUT: &str = "QuicTimedOut";
    /// The two sides share no QUIC version.
    pub const VERSION: &str = "QuicVersion";
    /// The peer's QUIC stack closed the connection with a transport error.
    pub const CLOSED: &str = "QuicClosed";
    /// The peer's application closed the connection (`code` and reason in the message).
    pub const APPLICATION_CLOSED: &str = "QuicApplicationClosed";
    /// The peer reset the connection (a stateless reset: it lost its state).
    pub const RESET: &str = "QuicReset";
    /// The peer broke the protocol, as this side found.
    pub const TRANSPORT: &str = "QuicTransport";
    /// The peer reset a stream (its code in the message).
    pub const STREAM_RESET: &str = "QuicStreamReset";
    /// The peer stopped a stream this side was sending on.
    pub const STREAM_STOPPED: &str = "QuicStreamStopped";
    /// The peer takes no datagrams.
    pub const NO_DATAGRAMS: &str = "QuicNoDatagrams";
    /// ICMP said nothing listens on the server's UDP port.
    pub const REFUSED: &str = "QuicRefused";
}

/// TLS alerts by number (RFC 8446 §6), the ones a handshake meets.
fn alert_name(alert: u8) -> &'static str {
    match alert {
        10 => "unexpected_message",
        20 => "bad_record_mac",
        40 => "handshake_failure",
        42 => "bad_certificate",
        43 => "unsupported_certificate",
        44 => "certificate_revoked",
        45 => "certificate_expired",
        46 => "certificate_unknown",
        47 => "illegal_parameter",
        48 => "unknown_ca",
        49 => "access_denied",
        50 => "decode_error",
        51 => "decrypt_error",
        70 => "protocol_version",
        71 => "insufficient_security",
        80 => "internal_error",
        109 => "missing_extension",
        110 => "unsupported_extension",
        112 => "unrecognized_name",
        116 => "certificate_required",
        120 => "no_application_protocol",
        _ => "an alert",
    }
}

/// The TLS alert a QUIC transport error code carries (0x100 + alert), if it is one.
fn tls_alert(code: TransportErrorCode) -> Option<u8> {
    let code = u64::from(code);
    (0x100..=0x1ff)
        .contains(&code)
        .then(|| (code - 0x100) as u8)
}

/// A connection's end as an `io::Error` counted under its kind; `peer` names the server.
pub(crate) fn connection_error(error: &ConnectionError, peer: SocketAddr) -> io::Error {
    let kinded = |kind: &'static str, io_kind: io::ErrorKind, message: String| {
        KindedError::new(kind, message).into_io(io_kind)
    };
    match error {
        ConnectionError::TransportError(transport) => match tls_alert(transport.code) {
            Some(alert) => local_tls_failure(alert, &transport.reason, peer),
            None => kinded(
                kinds::TRANSPORT,
                io::ErrorKind::InvalidData,
                format!("QUIC with {peer}: {transport}"),
            ),
        },
        ConnectionError::ConnectionClosed(close) => match tls_alert(close.error_code) {
            Some(alert) => kinded(
                match alert {
                    70 => tls_kinds::VERSION,
                    _ => tls_kinds::ALERT,
                },
                io::ErrorKind::ConnectionAborted,
                format!(
                    "{peer} sent the TLS alert {} ({alert}) in QUIC's handshake{}",
                    alert_name(alert),
                    match alert {
                        120 => ": it speaks none of the application protocols offered (ALPN)",
                        _ => "",
                    }
                ),
            ),
            None => kinded(
                kinds::CLOSED,
                io::ErrorKind::ConnectionAborted,
                format!("{peer} closed the QUIC connection: {close}"),
            ),
        },
        ConnectionError::ApplicationClosed(close) => kinded(
            kinds::APPLICATION_CLOSED,
            io::ErrorKind::ConnectionAborted,
            format!("{peer} closed the QUIC connection: {close}"),
        ),
        ConnectionError::Reset => kinded(
            kinds::RESET,
            io::ErrorKind::ConnectionReset,
            format!("{peer} reset the QUIC connection (it no longer knows it)"),
        ),
        ConnectionError::TimedOut => kinded(
            kinds::TIMED_OUT,
            io::ErrorKind::TimedOut,
            format!("{peer} did not answer for the QUIC idle timeout"),
        ),
        ConnectionError::VersionMismatch => kinded(
            kinds::VERSION,
            io::ErrorKind::Unsupported,
            format!("{peer} speaks none of the QUIC versions offered"),
        ),
        ConnectionError::LocallyClosed => io::Error::new(
            io::ErrorKind::NotConnected,
            format!("the QUIC connection to {peer} was closed by this side"),
        ),
        ConnectionError::CidsExhausted => io::Error::new(
            io::ErrorKind::QuotaExceeded,
            format!("no connection ID left for a QUIC connection to {peer}"),
        ),
    }
}

/// This side's TLS refused the handshake, sending `alert`; `reason` is rustls's words.
fn local_tls_failure(alert: u8, reason: &str, peer: SocketAddr) -> io::Error {
    // A certificate refused: rustls's words name why, as ttk-tls counts it over TCP.
    let certificate = reason.starts_with("invalid peer certificate");
    // rustls names a cause by its variant (`UnknownIssuer`) or in words ("certificate not
    // valid for name …"): compared without case and spaces.
    let words: String = reason
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect();
    let why = |cause: &str| certificate && words.contains(cause);
    let (kind, advice) = match alert {
        // A revocation list's trouble, whatever its words, is not the certificate's issuer or
        // age (ttk-tls counts it so over TCP too).
        _ if why("revocation") => (
            tls_kinds::BAD_CERTIFICATE,
            "its certificate's revocation could not be checked, or it is revoked",
        ),
        _ if why("unknownissuer") => (
            tls_kinds::UNKNOWN_ISSUER,
            "its certificate is from an unknown issuer (--cacert names the CA to trust)",
        ),
        // Before "expired": the name it was not valid for may hold any word.
        _ if why("notvalidforname") => (
            tls_kinds::WRONG_HOST,
            "its certificate is for another host name",
        ),
        _ if why("expired") || why("notvalidyet") => (
            tls_kinds::EXPIRED,
            "its certificate has expired or is not valid yet",
        ),
        _ if certificate => (
            tls_kinds::BAD_CERTIFICATE,
            "its certificate is not acceptable",
        ),
        48 => (
            tls_kinds::UNKNOWN_ISSUER,
            "its certificate is from an unknown issuer (--cacert names the CA to trust)",
        ),
        45 => (
            tls_kinds::EXPIRED,
            "its certificate has expired or is not valid yet",
        ),
        42 if reason.contains("NotValidForName") || reason.contains("not valid for name") => (
            tls_kinds::WRONG_HOST,
            "its certificate is for another host name",
        ),
        42 | 43 | 44 | 46 => (
            tls_kinds::BAD_CERTIFICATE,
            "its certificate is not acceptable",
        ),
        70 => (
            tls_kinds::VERSION,
            "the two sides share no TLS version (QUIC needs TLS 1.3)",
        ),
        120 => (
            tls_kinds::ALERT,
            "it chose no application protocol offered (ALPN)",
        ),
        _ => (tls_kinds::HANDSHAKE, "the TLS handshake failed"),
    };
    KindedError::new(
        kind,
        format!(
            "QUIC with {peer}: {advice} ({reason}; alert {})",
            alert_name(alert)
        ),
    )
    .into_io(io::ErrorKind::InvalidData)
}

/// The handshake did not finish within `limit`.
pub(crate) fn handshake_timed_out(peer: SocketAddr, limit: Duration) -> io::Error {
    KindedError::new(
        kinds::HANDSHAKE_TIMED_OUT,
        format!(
            "the QUIC handshake with {peer} did not finish within {limit:?} (is a QUIC server \
             listening on that UDP port?)"
        ),
    )
    .into_io(io::ErrorKind::TimedOut)
}

/// ICMP "port unreachable" came back: while connecting, or again and again once connected.
pub(crate) fn refused(peer: SocketAddr) -> io::Error {
    KindedError::new(
        kinds::REFUSED,
        format!("nothing listens on UDP {peer} (ICMP port unreachable)"),
    )
    .into_io(io::ErrorKind::ConnectionRefused)
}

/// The peer reset a stream this side reads, with `code`.
pub(crate) fn stream_reset(peer: SocketAddr, code: u64) -> io::Error {
    KindedError::new(
        kinds::STREAM_RESET,
        format!("{peer} reset the QUIC stream with code {code}"),
    )
    .into_io(io::ErrorKind::ConnectionReset)
}

/// The peer stopped a stream this side sends on, with `code`.
pub(crate) fn stream_stopped(peer: SocketAddr, code: u64) -> io::Error {
    KindedError::new(
        kinds::STREAM_STOPPED,
        format!("{peer} stopped the QUIC stream with code {code}"),
    )
    .into_io(io::ErrorKind::BrokenPipe)
}

/// A stream already finished, reset or stopped by this side.
pub(crate) fn closed_stream() -> io::Error {
    io::Error::new(
        io::ErrorKind::NotConnected,
        "the QUIC stream is closed on this side",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use quinn_proto::{TransportError, VarInt};
    use ttk_core::metrics::Failure;

    fn peer() -> SocketAddr {
        "127.0.0.1:4433".parse().unwrap()
    }

    #[test]
    fn a_local_tls_refusal_counts_as_over_tcp() {
        let cases = [
            (
                48,
                "invalid peer certificate: UnknownIssuer",
                "TlsUnknownIssuer",
            ),
            (
                42,
                "invalid peer certificate: NotValidForName",
                "TlsWrongHost",
            ),
            (
                42,
                "invalid peer certificate: certificate not valid for name \"expired.example\"",
                "TlsWrongHost",
            ),
            (
                42,
                "invalid peer certificate: BadEncoding",
                "TlsBadCertificate",
            ),
            (
                51,
                "invalid peer certificate: BadSignature",
                "TlsBadCertificate",
            ),
            (45, "invalid peer certificate: Expired", "TlsExpired"),
            (80, "something", "TlsHandshake"),
        ];
        for (alert, reason, kind) in cases {
            let error = ConnectionError::TransportError(TransportError {
                code: TransportErrorCode::crypto(alert),
                frame: None,
                reason: reason.to_owned(),
            });
            let error = connection_error(&error, peer());
            assert_eq!(Failure::of(&error).kind(), kind, "{error}");
            assert!(error.to_string().contains("127.0.0.1:4433"), "{error}");
        }
    }

    #[test]
    fn the_peers_alert_and_closes_are_named() {
        let error = ConnectionError::ConnectionClosed(quinn_proto::ConnectionClose {
            error_code: TransportErrorCode::crypto(120),
            frame_type: None,
            reason: Default::default(),
        });
        let error = connection_error(&error, peer());
        assert_eq!(Failure::of(&error).kind(), "TlsAlert");
        assert!(
            error.to_string().contains("no_application_protocol"),
            "{error}"
        );
        let error = ConnectionError::ApplicationClosed(quinn_proto::ApplicationClose {
            error_code: VarInt::from_u32(7),
            reason: Default::default(),
        });
        let error = connection_error(&error, peer());
        assert_eq!(Failure::of(&error).kind(), "QuicApplicationClosed");
        assert_eq!(error.kind(), io::ErrorKind::ConnectionAborted);
        let error = connection_error(&ConnectionError::VersionMismatch, peer());
        assert_eq!(Failure::of(&error).kind(), "QuicVersion");
        let error = connection_error(&ConnectionError::TimedOut, peer());
        assert_eq!(Failure::of(&error).kind(), "QuicTimedOut");
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
    }
}
