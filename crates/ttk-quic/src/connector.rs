//! [`QuicConnector`]: what a QUIC client's connections are made with — ttk-tls's TLS settings
//! (roots, `--cacert`, `--insecure`, client certificates, a session cache per bot), the
//! application protocols offered, and QUIC's timeouts.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use quinn_proto::crypto::rustls::QuicClientConfig;
use quinn_proto::{ClientConfig, IdleTimeout, TransportConfig, VarInt};
use rustls::pki_types::ServerName;
use rustls::quic::Version;
use ttk_tls::TlsConnector;

/// The most bytes of datagrams received and not yet read, per connection: what ttk tells the
/// server it takes (QUIC's `max_datagram_frame_size` follows from it being set); and the most
/// queued to send (past it the oldest go).
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
    settings: Settings,
    /// quinn-proto's configuration, made from the above.
    pub(crate) client: ClientConfig,
}

/// A connector's limits, sized for many connections per process: quinn's own defaults (a
/// 1.25 MB window per stream, no limit per connection, a 10 MB send window) suit one client
/// with a few connections, not ten thousand bots.
#[derive(Clone, Copy, Debug)]
struct Settings {
    handshake_timeout: Duration,
    idle_timeout: Option<Duration>,
    keep_alive: Option<Duration>,
    /// Bytes a server may send ahead on one stream, and on the whole connection.
    stream_window: u32,
    connection_window: u32,
    /// Bytes written and not yet acknowledged, per connection, before a write waits.
    send_window: u64,
    /// Streams the server may have open to this side at once, bidirectional and not.
    incoming_bidi: u32,
    incoming_uni: u32,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            handshake_timeout: ttk_tls::DEFAULT_HANDSHAKE_TIMEOUT,
            idle_timeout: Some(Duration::from_secs(30)),
            keep_alive: None,
            stream_window: 256 * 1024,
            connection_window: 1024 * 1024,
            send_window: 1024 * 1024,
            incoming_bidi: 16,
            incoming_uni: 16,
        }
    }
}

impl QuicConnector {
    /// A connector with `tls`'s settings offering the application protocols `alpn` (in order
    /// of preference), a 10 s handshake limit ([`ttk_tls::DEFAULT_HANDSHAKE_TIMEOUT`]), QUIC's
    /// 30 s idle timeout, no keep-alive, and limits sized for many connections (see
    /// [`QuicConnector::with_receive_windows`]).
    ///
    /// # Errors
    /// `InvalidInput` if `tls` does not offer TLS 1.3 (QUIC's only TLS) or `alpn` is empty.
    ///
    /// # Examples
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// use ttk_quic::QuicConnector;
    /// let tls = ttk_tls::TlsConnector::new()?;
    /// let connector = QuicConnector::new(&tls, &["h3", "game"])?;
    /// assert_eq!(connector.alpn_protocols(), [b"h3".to_vec(), b"game".to_vec()]);
    /// assert_eq!(QuicConnector::new(&tls, &[]).unwrap_err().kind(), std::io::ErrorKind::InvalidInput);
    /// # Ok(())
    /// # }
    /// ```
    pub fn new(tls: &TlsConnector, alpn: &[&str]) -> io::Result<QuicConnector> {
        if alpn.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "QUIC needs an application protocol to offer (ALPN): none was given",
            ));
        }
        let alpn = alpn.iter().map(|protocol| protocol.as_bytes().to_vec());
        QuicConnector::build(tls.clone(), alpn.collect(), Settings::default())
    }

    fn build(
        tls: TlsConnector,
        alpn: Vec<Vec<u8>>,
        settings: Settings,
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
        let idle_timeout = match settings.idle_timeout {
            None => None,
            Some(timeout) => Some(IdleTimeout::try_from(timeout).map_err(|_| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("a QUIC idle timeout of {timeout:?} is too long"),
                )
            })?),
        };
        let mut transport = TransportConfig::default();
        transport
            // ttk's sockets set no "don't fragment": QUIC's path MTU probes would mean nothing.
            .mtu_discovery_config(None)
            .datagram_receive_buffer_size(Some(DATAGRAM_BUFFER))
            .datagram_send_buffer_size(DATAGRAM_BUFFER)
            .keep_alive_interval(settings.keep_alive)
            .max_idle_timeout(idle_timeout)
            .stream_receive_window(VarInt::from_u32(settings.stream_window))
            .receive_window(VarInt::from_u32(settings.connection_window))
            .send_window(settings.send_window)
            .max_concurrent_bidi_streams(VarInt::from_u32(settings.incoming_bidi))
            .max_concurrent_uni_streams(VarInt::from_u32(settings.incoming_uni));
        let mut client = ClientConfig::new(Arc::new(crypto));
        client.transport_config(Arc::new(transport));
        Ok(QuicConnector {
            tls,
            alpn,
            settings,
            client,
        })
    }

    /// This connector with `settings` (what the setters change), made again.
    fn with(self, settings: Settings) -> io::Result<QuicConnector> {
        QuicConnector::build(self.tls, self.alpn, settings)
    }

    /// This connector with a handshake limit of `limit`: a connection not made by then fails
    /// (`QuicHandshakeTimedOut`).
    ///
    /// # Examples
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// use std::time::Duration;
    /// let connector = ttk_quic::QuicConnector::new(&ttk_tls::TlsConnector::new()?, &["h3"])?
    ///     .with_handshake_timeout(Duration::from_secs(2));
    /// assert_eq!(connector.handshake_timeout(), Duration::from_secs(2));
    /// # Ok(())
    /// # }
    /// ```
    pub fn with_handshake_timeout(mut self, limit: Duration) -> QuicConnector {
        self.settings.handshake_timeout = limit;
        self
    }

    /// This connector with an idle timeout of `timeout` (`None`: none — the server's, if it
    /// has one): a connection that hears nothing that long ends (`QuicTimedOut`). A timeout
    /// shorter than the handshake limit ends a silent handshake first, as `QuicTimedOut`.
    ///
    /// # Errors
    /// `InvalidInput` for a timeout past QUIC's limit (2⁶² ms).
    ///
    /// # Examples
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// use std::time::Duration;
    /// let connector = ttk_quic::QuicConnector::new(&ttk_tls::TlsConnector::new()?, &["h3"])?;
    /// let patient = connector.clone().with_idle_timeout(Some(Duration::from_secs(120)))?;
    /// # drop(patient);
    /// let error = connector.with_idle_timeout(Some(Duration::MAX)).unwrap_err();
    /// assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
    /// # Ok(())
    /// # }
    /// ```
    pub fn with_idle_timeout(self, timeout: Option<Duration>) -> io::Result<QuicConnector> {
        let settings = Settings {
            idle_timeout: timeout,
            ..self.settings
        };
        self.with(settings)
    }

    /// This connector with a keep-alive every `interval` (`None`: none): a connection idle
    /// that long sends a PING, so that the idle timeout does not end it (while its bots sleep
    /// too: an undriven connection's timers are the loop's).
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
        let settings = Settings {
            keep_alive: interval,
            ..self.settings
        };
        let fallback = self.clone();
        // Only the idle timeout can fail, and it was accepted already.
        self.with(settings).unwrap_or(fallback)
    }

    /// This connector with receive windows of `stream` bytes per stream and `connection`
    /// bytes per connection: how far the server may send ahead of what the bot read. By
    /// default 256 KiB and 1 MiB, so a bot that does not read holds at most that much (quinn's
    /// own defaults allow 1.25 MB per stream and no limit per connection); larger windows let
    /// one connection go faster over a long round trip.
    ///
    /// # Errors
    /// `InvalidInput` for a window of 0.
    ///
    /// # Examples
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let tls = ttk_tls::TlsConnector::new()?;
    /// let bulk = ttk_quic::QuicConnector::new(&tls, &["h3"])?
    ///     .with_receive_windows(4 << 20, 16 << 20)?
    ///     .with_send_window(16 << 20)?
    ///     .with_incoming_streams(100, 100)?;
    /// assert!(ttk_quic::QuicConnector::new(&tls, &["h3"])?.with_receive_windows(0, 1).is_err());
    /// # Ok(())
    /// # }
    /// ```
    pub fn with_receive_windows(self, stream: u32, connection: u32) -> io::Result<QuicConnector> {
        if stream == 0 || connection == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a QUIC receive window of 0 would stop every stream",
            ));
        }
        let settings = Settings {
            stream_window: stream,
            connection_window: connection,
            ..self.settings
        };
        self.with(settings)
    }

    /// This connector with a send window of `bytes` per connection: what is written and not
    /// yet acknowledged before a write waits (1 MiB by default).
    ///
    /// # Errors
    /// `InvalidInput` for 0.
    ///
    /// # Examples
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let connector = ttk_quic::QuicConnector::new(&ttk_tls::TlsConnector::new()?, &["h3"])?;
    /// let uploader = connector.clone().with_send_window(8 << 20)?;
    /// # drop(uploader);
    /// assert!(connector.with_send_window(0).is_err());
    /// # Ok(())
    /// # }
    /// ```
    pub fn with_send_window(self, bytes: u64) -> io::Result<QuicConnector> {
        if bytes == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a QUIC send window of 0 would stop every write",
            ));
        }
        let settings = Settings {
            send_window: bytes,
            ..self.settings
        };
        self.with(settings)
    }

    /// This connector letting the server have `bidi` bidirectional and `uni` unidirectional
    /// streams open to this side at once (16 each by default).
    ///
    /// # Errors
    /// Never, as of now: `io::Result` for limits checked later.
    ///
    /// # Examples
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let connector = ttk_quic::QuicConnector::new(&ttk_tls::TlsConnector::new()?, &["h3"])?
    ///     .with_incoming_streams(100, 3)?;
    /// # drop(connector);
    /// # Ok(())
    /// # }
    /// ```
    pub fn with_incoming_streams(self, bidi: u32, uni: u32) -> io::Result<QuicConnector> {
        let settings = Settings {
            incoming_bidi: bidi,
            incoming_uni: uni,
            ..self.settings
        };
        self.with(settings)
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
        QuicConnector::build(self.tls.for_one_client(), self.alpn.clone(), self.settings)
            // Made from settings that were accepted once already.
            .unwrap_or_else(|_| self.clone())
    }

    /// The handshake limit.
    ///
    /// # Examples
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let connector = ttk_quic::QuicConnector::new(&ttk_tls::TlsConnector::new()?, &["h3"])?;
    /// assert_eq!(connector.handshake_timeout(), ttk_tls::DEFAULT_HANDSHAKE_TIMEOUT);
    /// # Ok(())
    /// # }
    /// ```
    pub fn handshake_timeout(&self) -> Duration {
        self.settings.handshake_timeout
    }

    /// The keep-alive interval, if any.
    ///
    /// # Examples
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// use std::time::Duration;
    /// let connector = ttk_quic::QuicConnector::new(&ttk_tls::TlsConnector::new()?, &["h3"])?;
    /// assert_eq!(connector.keep_alive(), None);
    /// let chatty = connector.with_keep_alive(Some(Duration::from_secs(5)));
    /// assert_eq!(chatty.keep_alive(), Some(Duration::from_secs(5)));
    /// # Ok(())
    /// # }
    /// ```
    pub fn keep_alive(&self) -> Option<Duration> {
        self.settings.keep_alive
    }

    /// The application protocols offered, in order.
    ///
    /// # Examples
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let connector = ttk_quic::QuicConnector::new(&ttk_tls::TlsConnector::new()?, &["h3", "hq-interop"])?;
    /// assert_eq!(connector.alpn_protocols(), [b"h3".to_vec(), b"hq-interop".to_vec()]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn alpn_protocols(&self) -> &[Vec<u8>] {
        &self.alpn
    }
}

impl std::fmt::Debug for QuicConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QuicConnector")
            .field("alpn", &self.alpn)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}
