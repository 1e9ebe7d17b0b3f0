//! TLS for ttk bots: [rustls](https://docs.rs/rustls) driven by the bot's own reads and writes,
//! over any [`ttk_net::ByteStream`].
//!
//! rustls is a state machine that never touches a socket. A [`TlsStream`] hands it the
//! ciphertext the bot reads from the stream below and writes out what it has to send, with the
//! bot's awaited `read` and `write_all` on its own loop: no second runtime, no thread per
//! connection. A `TlsStream` is itself a byte stream, so [`ttk_net::Framed`], HTTP and
//! WebSocket run over it unchanged.
//!
//! - The client side is [`TlsConnector`]: SNI, ALPN, TLS 1.2 and 1.3, the system's roots plus
//!   CAs given ([`TlsConnectorBuilder::ca_file`]), client certificates (mutual TLS), an
//!   explicit [`insecure`](TlsConnectorBuilder::insecure) mode for self-signed test servers, and
//!   session resumption per client ([`TlsConnector::for_one_client`]), on by default, with a
//!   switch to force full handshakes.
//! - The server side is [`TlsAcceptor`], for bots that host listeners.
//! - [`MaybeTls`] is a stream that is TLS or not as a URL decides.
//! - [`TestPki`] makes a CA and certificates on the spot, for tests and demos (the default
//!   feature `test-pki`, which brings rcgen).
//!
//! The crypto is *ring*'s, which builds with only a C compiler.
//!
//! # Errors
//! Errors are `io::Error`s: the stream's as they are, and TLS failures each with a kind of its
//! own in a report (an `io::Error` holding a [`ttk_core::metrics::KindedError`]) and a message
//! that names the server and says what to do:
//!
//! | kind | when | `io::ErrorKind` |
//! |---|---|---|
//! | `TlsUnknownIssuer` | the certificate chains to no trusted root (`--cacert`, `--insecure`) | `InvalidData` |
//! | `TlsExpired` | the certificate has expired or is not valid yet | `InvalidData` |
//! | `TlsWrongHost` | the certificate is for another name | `InvalidData` |
//! | `TlsBadCertificate` | the certificate is refused for another reason | `InvalidData` |
//! | `TlsVersion` | no protocol version or cipher suite in common | `InvalidData` |
//! | `TlsAlert` | the peer sent a fatal alert (e.g. it requires a client certificate) | `InvalidData` |
//! | `TlsHandshake` | garbage, a close or a stall during the handshake | `InvalidData`, `UnexpectedEof`, `TimedOut` |
//! | `TlsProtocol` | after the handshake: a record that does not decrypt, or a close inside one | `InvalidData`, `UnexpectedEof` |
//!
//! # Examples
//! ```
//! # use ttk_macros::bot;
//! # use ttk_core::Cx;
//! use ttk_net::TcpStream;
//! use ttk_tls::TlsConnector;
//!
//! #[bot(crate = ttk_core)]
//! fn refused(_cx: Cx, _id: usize, tls: TlsConnector) -> std::io::ErrorKind {
//!     // A TCP connection first, then TLS over it; nothing listens on port 1.
//!     match ttk_core::yield_!(TcpStream::connect("127.0.0.1:1")) {
//!         Ok(tcp) => ttk_core::yield_!(tls.connect("localhost", tcp)).unwrap_err().kind(),
//!         Err(error) => error.kind(),
//!     }
//! }
//!
//! # fn main() -> std::io::Result<()> {
//! let tls = TlsConnector::builder().insecure(true).build()?;
//! let kinds = ttk_core::run(1, |cx, id| refused(cx, id, tls.clone()));
//! assert_eq!(kinds[0], std::io::ErrorKind::ConnectionRefused);
//! # Ok(())
//! # }
//! ```

#![deny(missing_docs, missing_debug_implementations)]

mod acceptor;
mod connector;
mod errors;
mod insecure;
mod maybe_tls;
mod pem;
mod pinned;
mod records;
mod stream;
#[cfg(feature = "test-pki")]
mod test_pki;

pub use acceptor::TlsAcceptor;
pub use connector::{DEFAULT_HANDSHAKE_TIMEOUT, TlsConnector, TlsConnectorBuilder, TlsVersion};
pub use errors::{closed_by_peer, kinds};
pub use maybe_tls::MaybeTls;
pub use stream::TlsStream;
#[cfg(feature = "test-pki")]
pub use test_pki::{CertifiedPem, TestPki};
