//! TLS errors a user can act on: each is an `io::Error` holding a
//! [`KindedError`](ttk_core::metrics::KindedError), so a report counts it under its own kind
//! (`TlsUnknownIssuer`, `TlsExpired`, …) and its message names the server and what to do.

use std::io;

use rustls::{AlertDescription, CertificateError, Error};
use ttk_core::metrics::KindedError;

/// The failure kinds this crate reports, by name (QUIC's TLS failures count under them too).
///
/// # Examples
/// ```
/// assert_eq!(ttk_tls::kinds::UNKNOWN_ISSUER, "TlsUnknownIssuer");
/// ```
pub mod kinds {
    /// The server's certificate chains to no trusted root.
    pub const UNKNOWN_ISSUER: &str = "TlsUnknownIssuer";
    /// The server's certificate has expired or is not valid yet.
    pub const EXPIRED: &str = "TlsExpired";
    /// The server's certificate is for another host name.
    pub const WRONG_HOST: &str = "TlsWrongHost";
    /// The server's certificate is otherwise unacceptable.
    pub const BAD_CERTIFICATE: &str = "TlsBadCertificate";
    /// The two sides share no protocol version.
    pub const VERSION: &str = "TlsVersion";
    /// The peer sent a fatal alert.
    pub const ALERT: &str = "TlsAlert";
    /// The handshake failed: the peer sent something that is not a valid handshake, closed
    /// during it, or did not finish it in time.
    pub const HANDSHAKE: &str = "TlsHandshake";
    /// After the handshake: a record that does not decrypt, is malformed or cut short.
    pub const PROTOCOL: &str = "TlsProtocol";
}

/// Turns a rustls error on the connection with `peer` into an `io::Error` with a kind of its
/// own and a message that says what to do. `handshaking` says whether the handshake was still
/// under way; `client` whether this side is the client.
pub(crate) fn tls_error(error: &Error, peer: &str, handshaking: bool, client: bool) -> io::Error {
    let (kind, message) = match error {
        Error::InvalidCertificate(certificate) => certificate_error(certificate, peer, client),
        Error::AlertReceived(AlertDescription::ProtocolVersion) => (
            kinds::VERSION,
            format!(
                "{peer} sent the TLS alert ProtocolVersion: the two sides share no protocol \
                 version{}",
                if client {
                    " (--tls-version picks what ttk offers)"
                } else {
                    ""
                }
            ),
        ),
        Error::AlertReceived(alert) => (kinds::ALERT, alert_message(*alert, peer, client)),
        Error::PeerIncompatible(incompatible) if is_about_versions(incompatible) => (
            kinds::VERSION,
            format!(
                "TLS with {peer}: the two sides share no protocol version ({incompatible:?}){}",
                if client {
                    "; --tls-version picks what ttk offers"
                } else {
                    ""
                }
            ),
        ),
        Error::PeerIncompatible(incompatible) => (
            kinds::HANDSHAKE,
            format!(
                "the TLS handshake with {peer} failed: the two sides have nothing in common \
                 for it ({incompatible:?})"
            ),
        ),
        Error::NoCertificatesPresented if !client => (
            kinds::HANDSHAKE,
            format!("TLS with {peer}: the client presented no certificate, and one is required"),
        ),
        Error::InvalidMessage(_) | Error::InappropriateMessage { .. } if handshaking && client => (
            kinds::HANDSHAKE,
            format!(
                "the TLS handshake with {peer} failed: {error} (is it a plain, non-TLS port? \
                 then write http:// or leave out --tls)"
            ),
        ),
        _ if handshaking => (
            kinds::HANDSHAKE,
            format!("the TLS handshake with {peer} failed: {error}"),
        ),
        _ => (kinds::PROTOCOL, format!("TLS with {peer}: {error}")),
    };
    KindedError::new(kind, message).into_io(io::ErrorKind::InvalidData)
}

/// Whether the peer and ttk disagree on protocol versions (rather than on suites, groups or
/// signature schemes).
fn is_about_versions(incompatible: &rustls::PeerIncompatible) -> bool {
    use rustls::PeerIncompatible as P;
    matches!(
        incompatible,
        P::ServerDoesNotSupportTls12Or13
            | P::ServerTlsVersionIsDisabledByOurConfig
            | P::Tls12NotOffered
            | P::Tls12NotOfferedOrEnabled
            | P::Tls13RequiredForQuic
    )
}

/// The kind and message of a certificate the client (or server, for client certificates)
/// refused.
fn certificate_error(error: &CertificateError, peer: &str, client: bool) -> (&'static str, String) {
    let whose = if client {
        format!("{peer}'s certificate")
    } else {
        format!("the client certificate of {peer}")
    };
    let fix_roots = if client {
        "give the CA that signed it with --cacert FILE (TlsConnector's ca_file), or use \
         --insecure for a test server"
    } else {
        "the acceptor trusts only the CA it was given for client certificates"
    };
    match error {
        CertificateError::UnknownIssuer => (
            kinds::UNKNOWN_ISSUER,
            format!("{whose} is signed by an issuer that is not trusted: {fix_roots}"),
        ),
        // A self-signed certificate made as a CA (`openssl req -x509` marks it so by default):
        // webpki refuses a CA's certificate as a server's own before it looks for an issuer,
        // but trusted as it is (`--cacert` with that very file), it is accepted. So, untrusted,
        // it is an unknown issuer, and said so plainly rather than in webpki's words.
        CertificateError::Other(other)
            if matches!(
                other.0.downcast_ref::<webpki::Error>(),
                Some(webpki::Error::CaUsedAsEndEntity)
            ) =>
        {
            (
                kinds::UNKNOWN_ISSUER,
                format!(
                    "{whose} is a CA's certificate used as its own (a self-signed certificate \
                     made as a CA, as `openssl req -x509` makes one by default), and not \
                     trusted: {fix_roots} (the certificate itself will do)"
                ),
            )
        }
        CertificateError::Expired
        | CertificateError::ExpiredContext { .. }
        | CertificateError::NotValidYet
        | CertificateError::NotValidYetContext { .. } => (
            kinds::EXPIRED,
            format!(
                "{whose} is outside its validity period ({error}): renew it, check the clocks, \
                 or use --insecure for a test server"
            ),
        ),
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => (
            kinds::WRONG_HOST,
            format!(
                "{whose} is not valid for the name {peer} ({error}): connect by a name the \
                 certificate lists, or use --insecure for a test server"
            ),
        ),
        _ => (
            kinds::BAD_CERTIFICATE,
            format!("{whose} was refused ({error}): {fix_roots}"),
        ),
    }
}

/// The message for a fatal alert received from the peer.
fn alert_message(alert: AlertDescription, peer: &str, client: bool) -> String {
    let hint = match alert {
        AlertDescription::CertificateRequired | AlertDescription::HandshakeFailure if client => {
            ": the server may require a client certificate (--cert FILE --key FILE), or share \
             no cipher suite with ttk"
        }
        AlertDescription::BadCertificate
        | AlertDescription::UnknownCA
        | AlertDescription::CertificateUnknown
        | AlertDescription::UnsupportedCertificate
            if client =>
        {
            ": the server refused the client certificate"
        }
        AlertDescription::ProtocolVersion => ": the two sides share no protocol version",
        AlertDescription::NoApplicationProtocol if client => {
            ": the server speaks none of the protocols offered in ALPN (h2 for HTTP/2): ask for \
             the one it speaks (--http auto or 1.1 for an HTTP/1.1 server, --alpn for QUIC)"
        }
        _ => "",
    };
    format!("{peer} sent the TLS alert {alert:?}{hint}")
}

/// The error for a peer that closed the connection during the handshake.
pub(crate) fn closed_in_handshake(peer: &str) -> io::Error {
    KindedError::new(
        kinds::HANDSHAKE,
        format!("{peer} closed the connection during the TLS handshake"),
    )
    .into_io(io::ErrorKind::UnexpectedEof)
}

/// The error for a peer that closed the connection in the middle of a record.
pub(crate) fn truncated_record(peer: &str) -> io::Error {
    KindedError::new(
        kinds::PROTOCOL,
        format!("{peer} closed the connection in the middle of a TLS record"),
    )
    .into_io(io::ErrorKind::UnexpectedEof)
}

/// The error for a handshake that did not finish within `limit`.
pub(crate) fn handshake_timed_out(peer: &str, limit: std::time::Duration) -> io::Error {
    KindedError::new(
        kinds::HANDSHAKE,
        format!("the TLS handshake with {peer} did not finish within {limit:?}"),
    )
    .into_io(io::ErrorKind::TimedOut)
}

/// An `InvalidInput` error about the configuration (a bad file, a bad name).
pub(crate) fn config_error(message: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message.into())
}

/// Whether `error` is the peer's close of the connection — its end of stream, a reset or an
/// abort, or a write into a connection it had closed — rather than a TLS failure (a record cut
/// short, a close inside the handshake), which carries a kind of its own. A client that wrote
/// a request on a reused connection and meets such a close before a byte of answer may have
/// written into the server's close, and may send the request again.
///
/// # Examples
/// ```
/// use std::io;
///
/// let reset = io::Error::from(io::ErrorKind::ConnectionReset);
/// assert!(ttk_tls::closed_by_peer(&reset));
/// assert!(!ttk_tls::closed_by_peer(&io::Error::from(io::ErrorKind::TimedOut)));
/// ```
pub fn closed_by_peer(error: &io::Error) -> bool {
    let closed = matches!(
        error.kind(),
        io::ErrorKind::UnexpectedEof
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
    );
    let tls_failure = error
        .get_ref()
        .is_some_and(|inner| inner.is::<KindedError>());
    closed && !tls_failure
}
