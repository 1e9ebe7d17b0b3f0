//! The server side: [`TlsAcceptor`].

use std::fmt;
use std::io;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::server::WebPkiClientVerifier;
use rustls::{Connection, RootCertStore, ServerConfig, ServerConnection};
use ttk_net::ByteStream;

use crate::connector::{DEFAULT_HANDSHAKE_TIMEOUT, provider};
use crate::errors::config_error;
use crate::pem;
use crate::stream::TlsStream;

/// The server side of TLS, for bots that host listeners and for the project's own targets
/// (`ttk demo --tls`): a certificate and key, shared by every connection it accepts (cheap to
/// clone), and [`accept`](TlsAcceptor::accept), which runs the handshake over a bot's stream.
/// Sessions are resumable (tickets for TLS 1.3, a session cache for TLS 1.2).
///
/// # Examples
/// ```
/// use ttk_tls::{TestPki, TlsAcceptor};
///
/// # fn main() -> std::io::Result<()> {
/// let pki = TestPki::new()?;
/// let server = pki.server_certificate(&["localhost", "127.0.0.1"])?;
/// let acceptor = TlsAcceptor::from_pem(server.chain_pem(), server.key_pem())?
///     .with_alpn(&["http/1.1"]);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct TlsAcceptor {
    /// rustls's configuration, shared.
    config: Arc<ServerConfig>,
    /// How long a handshake may take.
    handshake_timeout: Option<Duration>,
}

impl TlsAcceptor {
    /// An acceptor presenting the certificate chain in `chain_pem` (the server's certificate
    /// first) with the private key in `key_pem` (PEM text).
    ///
    /// # Errors
    /// `InvalidInput` if the text holds no certificate or key, or the key does not fit.
    ///
    /// # Examples
    /// See [`TlsAcceptor`].
    pub fn from_pem(
        chain_pem: impl AsRef<[u8]>,
        key_pem: impl AsRef<[u8]>,
    ) -> io::Result<TlsAcceptor> {
        TlsAcceptor::build(
            chain_pem.as_ref(),
            key_pem.as_ref(),
            ("the certificate PEM text", "the key PEM text"),
            None,
        )
    }

    /// An acceptor presenting the certificate chain in the PEM file `cert` with the key in
    /// `key`.
    ///
    /// # Errors
    /// The files' read errors, naming them; those of [`TlsAcceptor::from_pem`].
    ///
    /// # Examples
    /// ```
    /// let error = ttk_tls::TlsAcceptor::from_files("/no/cert.pem", "/no/key.pem").unwrap_err();
    /// assert!(error.to_string().contains("/no/cert.pem"));
    /// ```
    pub fn from_files(cert: impl AsRef<Path>, key: impl AsRef<Path>) -> io::Result<TlsAcceptor> {
        let (cert, key) = (cert.as_ref(), key.as_ref());
        TlsAcceptor::build(
            &pem::read_file(cert, "certificate")?,
            &pem::read_file(key, "key")?,
            (&cert.display().to_string(), &key.display().to_string()),
            None,
        )
    }

    /// Like [`TlsAcceptor::from_pem`], and requires every client to present a certificate
    /// signed by a CA in `client_ca_pem` (mutual TLS).
    ///
    /// # Errors
    /// Those of [`TlsAcceptor::from_pem`]; `InvalidInput` if `client_ca_pem` holds no usable
    /// CA certificate.
    ///
    /// # Examples
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let pki = ttk_tls::TestPki::new()?;
    /// let server = pki.server_certificate(&["localhost"])?;
    /// let acceptor = ttk_tls::TlsAcceptor::requiring_client_certificates(
    ///     server.chain_pem(),
    ///     server.key_pem(),
    ///     pki.ca_pem(),
    /// )?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn requiring_client_certificates(
        chain_pem: impl AsRef<[u8]>,
        key_pem: impl AsRef<[u8]>,
        client_ca_pem: impl AsRef<[u8]>,
    ) -> io::Result<TlsAcceptor> {
        TlsAcceptor::build(
            chain_pem.as_ref(),
            key_pem.as_ref(),
            ("the certificate PEM text", "the key PEM text"),
            Some(client_ca_pem.as_ref()),
        )
    }

    /// The acceptor for a chain and key (with the names of their sources, for errors), and the
    /// CAs client certificates must chain to, if any are required.
    fn build(
        chain: &[u8],
        key: &[u8],
        (chain_source, key_source): (&str, &str),
        client_cas: Option<&[u8]>,
    ) -> io::Result<TlsAcceptor> {
        let chain = pem::certificates(chain, chain_source)?;
        let key = pem::private_key(key, key_source)?;
        let provider = provider();
        let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(|error| config_error(format!("TLS versions: {error}")))?;
        let builder = match client_cas {
            None => builder.with_no_client_auth(),
            Some(cas) => {
                let mut roots = RootCertStore::empty();
                let (_, refused) = roots
                    .add_parsable_certificates(pem::certificates(cas, "the client CA PEM text")?);
                if refused > 0 || roots.is_empty() {
                    return Err(config_error("the client CA certificates cannot be used"));
                }
                let verifier =
                    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                        .build()
                        .map_err(|error| config_error(format!("client verification: {error}")))?;
                builder.with_client_cert_verifier(verifier)
            }
        };
        let mut config = builder
            .with_single_cert(chain, key)
            .map_err(|error| config_error(format!("the server certificate: {error}")))?;
        // TLS 1.3 resumption by tickets, so a server of bots serves resumed handshakes too.
        config.ticketer = rustls::crypto::ring::Ticketer::new()
            .map_err(|error| config_error(format!("session tickets: {error}")))?;
        Ok(TlsAcceptor {
            config: Arc::new(config),
            handshake_timeout: Some(DEFAULT_HANDSHAKE_TIMEOUT),
        })
    }

    /// The application protocols this server agrees to by ALPN, most preferred first.
    ///
    /// # Examples
    /// See [`TlsAcceptor`].
    pub fn with_alpn(mut self, protocols: &[&str]) -> TlsAcceptor {
        let mut config = ServerConfig::clone(&self.config);
        config.alpn_protocols = protocols.iter().map(|p| p.as_bytes().to_vec()).collect();
        self.config = Arc::new(config);
        self
    }

    /// How long a handshake may take ([`DEFAULT_HANDSHAKE_TIMEOUT`] by default; `None`: no
    /// limit).
    ///
    /// # Examples
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// # let pki = ttk_tls::TestPki::new()?;
    /// # let server = pki.server_certificate(&["localhost"])?;
    /// let acceptor = ttk_tls::TlsAcceptor::from_pem(server.chain_pem(), server.key_pem())?
    ///     .with_handshake_timeout(Some(std::time::Duration::from_secs(2)));
    /// # Ok(())
    /// # }
    /// ```
    pub fn with_handshake_timeout(mut self, limit: Option<Duration>) -> TlsAcceptor {
        self.handshake_timeout = limit;
        self
    }

    /// The rustls configuration, for a server outside ttk's loop (a thread with rustls's
    /// blocking `StreamOwned`, as `ttk demo --tls` serves).
    ///
    /// # Examples
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// # let pki = ttk_tls::TestPki::new()?;
    /// # let server = pki.server_certificate(&["localhost"])?;
    /// let acceptor = ttk_tls::TlsAcceptor::from_pem(server.chain_pem(), server.key_pem())?;
    /// let config = acceptor.rustls_config();
    /// let connection = rustls::ServerConnection::new(config).unwrap();
    /// # Ok(())
    /// # }
    /// ```
    pub fn rustls_config(&self) -> Arc<ServerConfig> {
        Arc::clone(&self.config)
    }

    /// Runs the server handshake over `stream`, accepted from a listener, within the handshake
    /// timeout.
    ///
    /// # Errors
    /// The stream's errors; TLS failures with kinds of their own (`TlsHandshake` for a client
    /// that sends no valid handshake, closes during it or does not finish it in time;
    /// `TlsBadCertificate`, `TlsUnknownIssuer`, `TlsExpired` for a refused client certificate).
    ///
    /// # Examples
    /// See [`TlsStream`].
    pub async fn accept<S: ByteStream>(&self, stream: S) -> io::Result<TlsStream<S>> {
        let conn = ServerConnection::new(Arc::clone(&self.config))
            .map_err(|error| config_error(format!("TLS server: {error}")))?;
        let tls = TlsStream::new(stream, Connection::Server(conn), "the client");
        tls.handshake(self.handshake_timeout).await?;
        Ok(tls)
    }
}

impl fmt::Debug for TlsAcceptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsAcceptor")
            .field("alpn", &self.config.alpn_protocols)
            .field("handshake_timeout", &self.handshake_timeout)
            .finish()
    }
}
