//! [`QuicConnector`]: what a QUIC client's connections are made with — ttk-tls's TLS settings
//! (roots, `--cacert`, `--insecure`, client certificates, a session cache per bot), the
//! application protocols offered, and QUIC's timeouts.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use quinn_proto::crypto::rustls::QuicClientConfig;
use quinn_proto::{ClientConfig, IdleTimeout, TransportConfig};
use rustls::pki_types::ServerName;
use rustls::quic::Version;
use ttk_tls::TlsConnector;

/// The most bytes of datagrams received and not yet read, per connection: what ttk tells the
/// server it takes (QUIC's `max_datagram_frame_size` follows from it being set).
const DATAGRAM_BUFFER: usize = 64 * 1024;

/// How a QUIC client connects: TLS (from a [`TlsConnector`]: its roots, certificate checks,
/// client certificate and session cache), the application protocols it offers (ALPN, which
/// QUIC requires), and how long a handshake and a silence may last.
///
/// Cheap to clone (its configuration is shared). Give each bot its own
/// ([`QuicConnector::for_one_client`]) to resume that bot's own sessions, as a browser does.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use ttk_quic::QuicConnector;
///
/// # fn main() -> std::io::Result<()> {
/// let tls = ttk_tls::TlsConnector::new()?;
/// let connector = QuicConnector::new(&tls, &["h3"])?
///     .with_handshake_timeout(Duration::from_secs(3))
///     .with_idle_timeout(Some(Duration::from_secs(10)))?;
/// assert_eq!(connector.handshake_timeout(), Duration::from_secs(3));
/// // QUIC needs TLS 1.3 and an application protocol.
/// let tls12 = ttk_tls::TlsConnector::builder().versions(&[ttk_tls::TlsVersion::Tls12]).build()?;
/// assert!(QuicConnector::new(&tls12, &["h3"]).is_err());
/// assert!(QuicConnector::new(&tls, &[]).is_err());
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct QuicConnector {
    tls: TlsConnector,
    alpn: Vec<Vec<u8>>,
    handshake_timeout: Duration,
    idle_timeout: Option<Duration>,
    keep_alive: Option<Duration>,
    /// quinn-proto's configuration, made from the above.
    pub(crate) client: ClientConfig,
}

impl QuicConnector {
    /// A connector with `tls`'s settings offering the application protocols `alpn` (in order
    /// of preference), a 10 s handshake limit ([`ttk_tls::DEFAULT_HANDSHAKE_TIMEOUT`]), QUIC's
    /// 30 s idle timeout, and no keep-alive.
    ///
    /// # Errors
    /// `InvalidInput` if `tls` does not offer TLS 1.3 (QUIC's only TLS) or `alpn` is empty.
    ///
    /// # Examples
    /// See [`QuicConnector`].
    pub fn new(tls: &TlsConnector, alpn: &[&str]) -> io::Result<QuicConnector> {
        if alpn.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "QUIC needs an application protocol to offer (ALPN): none was given",
            ));
        }
        QuicConnector::with_parts(
            tls.clone(),
            alpn.iter()
                .map(|protocol| protocol.as_bytes().to_vec())
                .collect(),
            ttk_tls::DEFAULT_HANDSHAKE_TIMEOUT,
            Some(Duration::from_secs(30)),
            None,
        )
    }

    fn with_parts(
        tls: TlsConnector,
        alpn: Vec<Vec<u8>>,
        handshake_timeout: Duration,
        idle_timeout: Option<Duration>,
        keep_alive: Option<Duration>,
    ) -> io::Result<QuicConnector> {
        let mut rustls = rustls::ClientConfig::clone(&tls.rustls_config());
        rustls.alpn_protocols = alpn.clone();
        rustls.enable_early_data = false;
        let rustls = Arc::new(rustls);
        // quinn-proto's session would panic on a configuration without TLS 1.3: a QUIC
        // session of rustls's own is tried first (for a name no session is cached under).
        let name = ServerName::try_from("tls13-check.invalid").expect("a valid DNS name");
        if let Err(error) =
            rustls::quic::ClientConnection::new(Arc::clone(&rustls), Version::V1, name, Vec::new())
        {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "QUIC runs over TLS 1.3, which this TLS connector does not offer \
                     (--tls-version): {error}"
                ),
            ));
        }
        let crypto = QuicClientConfig::try_from(rustls)
            .map_err(|error| io::Error::new(io::ErrorKind::InvalidInput, error.to_string()))?;
        let mut transport = TransportConfig::default();
        transport
            // ttk's sockets set no "don't fragment": QUIC's path MTU probes would mean nothing.
            .mtu_discovery_config(None)
            .datagram_receive_buffer_size(Some(DATAGRAM_BUFFER))
            .keep_alive_interval(keep_alive)
            .max_idle_timeout(match idle_timeout {
                None => None,
                Some(timeout) => Some(IdleTimeout::try_from(timeout).map_err(|_| {
                    io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!("a QUIC idle timeout of {timeout:?} is too long"),
                    )
                })?),
            });
        let mut client = ClientConfig::new(Arc::new(crypto));
        client.transport_config(Arc::new(transport));
        Ok(QuicConnector {
            tls,
            alpn,
            handshake_timeout,
            idle_timeout,
            keep_alive,
            client,
        })
    }

    /// This connector with a handshake limit of `limit`: a connection not made by then fails
    /// (`QuicHandshakeTimedOut`).
    ///
    /// # Examples
    /// See [`QuicConnector`].
    pub fn with_handshake_timeout(mut self, limit: Duration) -> QuicConnector {
        self.handshake_timeout = limit;
        self
    }

    /// This connector with an idle timeout of `timeout` (`None`: none — the server's, if it
    /// has one): a connection that hears nothing that long ends (`QuicTimedOut`).
    ///
    /// # Errors
    /// `InvalidInput` for a timeout past QUIC's limit (2⁶² ms).
    ///
    /// # Examples
    /// See [`QuicConnector`].
    pub fn with_idle_timeout(self, timeout: Option<Duration>) -> io::Result<QuicConnector> {
        QuicConnector::with_parts(
            self.tls,
            self.alpn,
            self.handshake_timeout,
            timeout,
            self.keep_alive,
        )
    }

    /// This connector with a keep-alive every `interval` (`None`: none): a connection idle
    /// that long sends a PING, so that the idle timeout does not end it.
    ///
    /// # Examples
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let tls = ttk_tls::TlsConnector::new()?;
    /// let connector = ttk_quic::QuicConnector::new(&tls, &["h3"])?
    ///     .with_keep_alive(Some(std::time::Duration::from_secs(5)));
    /// assert_eq!(connector.keep_alive(), Some(std::time::Duration::from_secs(5)));
    /// # Ok(())
    /// # }
    /// ```
    pub fn with_keep_alive(self, interval: Option<Duration>) -> QuicConnector {
        let (tls, alpn, limit, idle) = (
            self.tls.clone(),
            self.alpn.clone(),
            self.handshake_timeout,
            self.idle_timeout,
        );
        // The idle timeout was accepted already: only it can fail.
        QuicConnector::with_parts(tls, alpn, limit, idle, interval).unwrap_or(self)
    }

    /// A connector like this one with a TLS session cache of its own
    /// ([`TlsConnector::for_one_client`]).
    ///
    /// # Examples
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let shared = ttk_quic::QuicConnector::new(&ttk_tls::TlsConnector::new()?, &["h3"])?;
    /// let mine = shared.for_one_client();
    /// assert_eq!(mine.alpn_protocols(), shared.alpn_protocols());
    /// # Ok(())
    /// # }
    /// ```
    pub fn for_one_client(&self) -> QuicConnector {
        QuicConnector::with_parts(
            self.tls.for_one_client(),
            self.alpn.clone(),
            self.handshake_timeout,
            self.idle_timeout,
            self.keep_alive,
        )
        // Made from settings that were accepted once already.
        .unwrap_or_else(|_| self.clone())
    }

    /// The handshake limit.
    ///
    /// # Examples
    /// See [`QuicConnector`].
    pub fn handshake_timeout(&self) -> Duration {
        self.handshake_timeout
    }

    /// The keep-alive interval, if any.
    ///
    /// # Examples
    /// See [`QuicConnector::with_keep_alive`].
    pub fn keep_alive(&self) -> Option<Duration> {
        self.keep_alive
    }

    /// The application protocols offered, in order.
    ///
    /// # Examples
    /// See [`QuicConnector::for_one_client`].
    pub fn alpn_protocols(&self) -> &[Vec<u8>] {
        &self.alpn
    }
}

impl std::fmt::Debug for QuicConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QuicConnector")
            .field("alpn", &self.alpn)
            .field("handshake_timeout", &self.handshake_timeout)
            .field("idle_timeout", &self.idle_timeout)
            .field("keep_alive", &self.keep_alive)
            .finish_non_exhaustive()
    }
}
