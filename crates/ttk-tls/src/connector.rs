//! The client side: [`TlsConnector`] and its [`TlsConnectorBuilder`].

use std::fmt;
use std::io;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rustls::client::{Resumption, WebPkiServerVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::sign::{CertifiedKey, SingleCertAndKey};
use rustls::{ClientConfig, ClientConnection, Connection, RootCertStore};
use ttk_net::ByteStream;

use crate::errors::config_error;
use crate::insecure::AcceptAnyCertificate;
use crate::pem;
use crate::pinned::PinnedOrWebPki;
use crate::stream::TlsStream;

/// How long a handshake may take by default before it fails as `TlsHandshake` (`TimedOut`).
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// How many servers a connector keeps sessions of, for resumption (a bot talks to few).
const SESSIONS_KEPT: usize = 4;

/// A TLS protocol version, to restrict what a connector or acceptor offers.
///
/// # Examples
/// ```
/// use ttk_tls::{TlsConnector, TlsVersion};
///
/// # fn main() -> std::io::Result<()> {
/// let tls12_only = TlsConnector::builder().versions(&[TlsVersion::Tls12]).insecure(true).build()?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TlsVersion {
    /// TLS 1.2.
    Tls12,
    /// TLS 1.3.
    Tls13,
}

impl TlsVersion {
    /// rustls's description of the version.
    pub(crate) fn rustls(self) -> &'static rustls::SupportedProtocolVersion {
        match self {
            TlsVersion::Tls12 => &rustls::version::TLS12,
            TlsVersion::Tls13 => &rustls::version::TLS13,
        }
    }
}

/// The crypto provider every configuration uses: *ring*, which builds with only a C compiler
/// (aws-lc-rs, rustls's default, needs more on some machines and builds far slower).
///
/// rustls deprecated this provider for lacking post-quantum key exchange: handshakes use
/// X25519 (or P-256/P-384), which every server still accepts.
///
/// Key exchange groups and cipher suites are offered in the order browsers offer them:
/// X25519 first (*ring*'s list puts P-384 first, which it computes several times slower: a full
/// handshake cost about 1.2 ms of client CPU against nginx), and AES-128-GCM before AES-256-GCM
/// (*ring*'s list puts AES-256 with SHA-384 first, whose key schedule costs more per handshake).
/// A server that prefers its own order still chooses.
#[allow(deprecated)]
pub(crate) fn provider() -> Arc<CryptoProvider> {
    use rustls::crypto::ring::cipher_suite as suite;
    use rustls::crypto::ring::kx_group::{SECP256R1, SECP384R1, X25519};
    let mut provider = rustls::crypto::ring::default_provider();
    provider.kx_groups = vec![X25519, SECP256R1, SECP384R1];
    provider.cipher_suites = vec![
        suite::TLS13_AES_128_GCM_SHA256,
        suite::TLS13_AES_256_GCM_SHA384,
        suite::TLS13_CHACHA20_POLY1305_SHA256,
        suite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        suite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        suite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        suite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        suite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        suite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    ];
    Arc::new(provider)
}

/// The client side of TLS: a configuration shared by many connections (cheap to clone), and
/// [`connect`](TlsConnector::connect), which runs the handshake over a bot's stream.
///
/// Server certificates are checked against the system's roots (`/etc/ssl/certs`), plus the CAs
/// given with [`ca_file`](TlsConnectorBuilder::ca_file) — or not at all with
/// [`insecure`](TlsConnectorBuilder::insecure), for self-signed test servers. Sessions are
/// resumed as browsers resume them: each connector keeps the sessions of the servers it
/// connected to, so a bot that holds its own connector ([`TlsConnector::for_one_client`])
/// reconnects with an abbreviated handshake; [`resumption`](TlsConnectorBuilder::resumption)
/// `(false)` forces a full handshake every time.
///
/// # Examples
/// ```
/// use ttk_tls::TlsConnector;
///
/// # fn main() -> std::io::Result<()> {
/// let connector = TlsConnector::builder().alpn(&["http/1.1"]).build()?;
/// assert!(!connector.is_insecure());
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct TlsConnector {
    /// rustls's configuration, shared.
    config: Arc<ClientConfig>,
    /// Certificates are not checked.
    insecure: bool,
    /// Sessions are resumed.
    resume: bool,
    /// How long a handshake may take.
    handshake_timeout: Option<Duration>,
    /// Handshakes this connector (and its clones; not [`TlsConnector::for_one_client`]'s
    /// copies) completed.
    handshakes: Arc<AtomicU64>,
}

impl TlsConnector {
    /// A connector with the defaults: the system's roots, TLS 1.2 and 1.3, resumption on, no
    /// ALPN, no client certificate.
    ///
    /// # Errors
    /// Those of [`TlsConnectorBuilder::build`].
    ///
    /// # Examples
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let connector = ttk_tls::TlsConnector::new()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn new() -> io::Result<TlsConnector> {
        TlsConnector::builder().build()
    }

    /// The process's shared connector with the defaults ([`TlsConnector::new`]), made once:
    /// the system's roots are read on the first call only. What `wss://` URLs connect with
    /// unless given a connector.
    ///
    /// # Errors
    /// Those of [`TlsConnector::new`] (every call, if the first failed).
    ///
    /// # Examples
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let tls = ttk_tls::TlsConnector::system_default()?;
    /// assert!(!tls.is_insecure());
    /// # Ok(())
    /// # }
    /// ```
    pub fn system_default() -> io::Result<TlsConnector> {
        static SHARED: std::sync::OnceLock<Result<TlsConnector, String>> =
            std::sync::OnceLock::new();
        SHARED
            .get_or_init(|| TlsConnector::new().map_err(|error| error.to_string()))
            .clone()
            .map_err(config_error)
    }

    /// A builder, to set roots, client certificates, ALPN, versions and resumption.
    ///
    /// # Examples
    /// See [`TlsConnector`].
    pub fn builder() -> TlsConnectorBuilder {
        TlsConnectorBuilder::default()
    }

    /// A connector like this one with a session cache of its own: give one to each bot, so
    /// that a bot resumes its own sessions, as a browser does, and not another bot's.
    ///
    /// # Examples
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let shared = ttk_tls::TlsConnector::builder().insecure(true).build()?;
    /// let mine = shared.for_one_client();
    /// assert!(mine.is_insecure());
    /// # Ok(())
    /// # }
    /// ```
    pub fn for_one_client(&self) -> TlsConnector {
        if !self.resume {
            return self.clone();
        }
        let mut config = ClientConfig::clone(&self.config);
        config.resumption = Resumption::in_memory_sessions(SESSIONS_KEPT);
        TlsConnector {
            config: Arc::new(config),
            handshakes: Arc::default(),
            ..self.clone()
        }
    }

    /// Runs the client handshake over `stream` for the server `server_name` (a host name, sent
    /// as SNI and checked against the certificate, or an IP address, checked against the
    /// certificate's IP entries), within the handshake timeout.
    ///
    /// # Errors
    /// `InvalidInput` for a name that is neither a DNS name nor an IP address; the stream's
    /// errors; and TLS failures with kinds of their own (see the crate's docs):
    /// `TlsUnknownIssuer`, `TlsExpired`, `TlsWrongHost`, `TlsBadCertificate`, `TlsVersion`,
    /// `TlsAlert`, `TlsHandshake` (also for a handshake not done within the timeout, with
    /// `io::ErrorKind::TimedOut`).
    ///
    /// # Examples
    /// See [`TlsStream`].
    pub async fn connect<S: ByteStream>(
        &self,
        server_name: &str,
        stream: S,
    ) -> io::Result<TlsStream<S>> {
        let bare = server_name.trim_start_matches('[').trim_end_matches(']');
        let name = ServerName::try_from(bare.to_owned()).map_err(|_| {
            config_error(format!(
                "`{server_name}` is neither a host name nor an IP address: no TLS server name"
            ))
        })?;
        let conn = ClientConnection::new(Arc::clone(&self.config), name)
            .map_err(|error| config_error(format!("TLS with {server_name}: {error}")))?;
        let tls = TlsStream::new(stream, Connection::Client(conn), server_name);
        tls.handshake(self.handshake_timeout).await?;
        self.handshakes.fetch_add(1, Ordering::Relaxed);
        Ok(tls)
    }

    /// How many handshakes this connector completed (its clones' too; a
    /// [`for_one_client`](Self::for_one_client) copy counts its own): after the first with a
    /// server, a handshake can resume a session.
    ///
    /// # Examples
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let connector = ttk_tls::TlsConnector::builder().build()?;
    /// assert_eq!(connector.for_one_client().handshakes_made(), 0);
    /// # Ok(())
    /// # }
    /// ```
    pub fn handshakes_made(&self) -> u64 {
        self.handshakes.load(Ordering::Relaxed)
    }

    /// Whether certificates go unchecked ([`TlsConnectorBuilder::insecure`]).
    ///
    /// # Examples
    /// See [`TlsConnector`].
    pub fn is_insecure(&self) -> bool {
        self.insecure
    }

    /// Whether sessions are resumed ([`TlsConnectorBuilder::resumption`]).
    ///
    /// # Examples
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let full = ttk_tls::TlsConnector::builder().resumption(false).build()?;
    /// assert!(!full.resumes_sessions());
    /// # Ok(())
    /// # }
    /// ```
    pub fn resumes_sessions(&self) -> bool {
        self.resume
    }

    /// The ALPN protocols offered, most preferred first.
    ///
    /// # Examples
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let connector = ttk_tls::TlsConnector::builder().alpn(&["h2", "http/1.1"]).build()?;
    /// assert_eq!(connector.alpn_protocols(), [b"h2".to_vec(), b"http/1.1".to_vec()]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn alpn_protocols(&self) -> &[Vec<u8>] {
        &self.config.alpn_protocols
    }

    /// rustls's configuration inside: the same roots, versions and client certificate, for a
    /// connection made outside ttk's loop (a blocking `rustls::StreamOwned` on a thread of its
    /// own, as the harness pushes its metrics with).
    ///
    /// # Examples
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let connector = ttk_tls::TlsConnector::builder().alpn(&["http/1.1"]).build()?;
    /// let config = connector.rustls_config();
    /// assert_eq!(config.alpn_protocols, [b"http/1.1".to_vec()]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn rustls_config(&self) -> Arc<ClientConfig> {
        Arc::clone(&self.config)
    }
}

impl fmt::Debug for TlsConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConnector")
            .field("insecure", &self.insecure)
            .field("resume", &self.resume)
            .field("alpn", &self.config.alpn_protocols)
            .field("handshake_timeout", &self.handshake_timeout)
            .finish()
    }
}

/// Builds a [`TlsConnector`]; every setting has a default ([`TlsConnector::new`]'s).
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use ttk_tls::{TestPki, TlsConnector, TlsVersion};
///
/// # fn main() -> std::io::Result<()> {
/// let pki = TestPki::new()?;
/// let me = pki.client_certificate("bot-1")?;
/// let connector = TlsConnector::builder()
///     .ca_pem(pki.ca_pem())?                  // trust the test CA (beside the system's roots)
///     .client_certificate_pem(me.chain_pem(), me.key_pem())? // mutual TLS
///     .alpn(&["http/1.1"])
///     .versions(&[TlsVersion::Tls13])
///     .resumption(false)                      // a full handshake on every connect
///     .handshake_timeout(Some(Duration::from_secs(5)))
///     .build()?;
/// # Ok(())
/// # }
/// ```
#[derive(Default)]
pub struct TlsConnectorBuilder {
    /// Extra trusted roots.
    roots: Vec<CertificateDer<'static>>,
    /// Leave out the system's roots.
    no_system_roots: bool,
    /// The client certificate chain and key.
    identity: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
    /// Accept any server certificate.
    insecure: bool,
    /// ALPN protocols.
    alpn: Vec<Vec<u8>>,
    /// Versions offered (empty: 1.2 and 1.3).
    versions: Vec<TlsVersion>,
    /// Resumption off.
    no_resumption: bool,
    /// The handshake timeout, if set.
    handshake_timeout: Option<Option<Duration>>,
}

impl TlsConnectorBuilder {
    /// Trusts the CA certificates in the PEM file at `path`, beside the system's roots. A
    /// server certificate found in the file is trusted as it is (a self-signed test
    /// certificate, as OpenSSL-based clients trust one in their store), even where the usual
    /// checks would refuse it (marked as a CA, or naming its host only in its subject).
    ///
    /// # Errors
    /// `NotFound` and the like, naming the file, if it cannot be read; `InvalidInput` if it
    /// holds no PEM certificate.
    ///
    /// # Examples
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let error = ttk_tls::TlsConnector::builder().ca_file("/no/such/ca.pem").unwrap_err();
    /// assert!(error.to_string().contains("/no/such/ca.pem"));
    /// # Ok(())
    /// # }
    /// ```
    pub fn ca_file(self, path: impl AsRef<Path>) -> io::Result<TlsConnectorBuilder> {
        let path = path.as_ref();
        let pem = pem::read_file(path, "CA certificate")?;
        self.ca_pem_from(&pem, &path.display().to_string())
    }

    /// Trusts the CA certificates in `pem` (PEM text), beside the system's roots.
    ///
    /// # Errors
    /// `InvalidInput` if it holds no PEM certificate.
    ///
    /// # Examples
    /// See [`TlsConnectorBuilder`].
    pub fn ca_pem(self, pem: impl AsRef<[u8]>) -> io::Result<TlsConnectorBuilder> {
        self.ca_pem_from(pem.as_ref(), "the CA PEM text")
    }

    /// Trusts the certificates in `pem`, read from `source`.
    fn ca_pem_from(mut self, pem: &[u8], source: &str) -> io::Result<TlsConnectorBuilder> {
        self.roots.extend(pem::certificates(pem, source)?);
        Ok(self)
    }

    /// Whether to trust the system's roots too (the default), or only the CAs given.
    ///
    /// # Examples
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let pki = ttk_tls::TestPki::new()?;
    /// let only_mine = ttk_tls::TlsConnector::builder()
    ///     .system_roots(false)
    ///     .ca_pem(pki.ca_pem())?
    ///     .build()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn system_roots(mut self, trust: bool) -> TlsConnectorBuilder {
        self.no_system_roots = !trust;
        self
    }

    /// Presents the client certificate chain in the PEM file `cert` with the private key in
    /// `key`, to servers that ask for one (mutual TLS).
    ///
    /// # Errors
    /// The files' read errors, naming them; `InvalidInput` if they hold no certificate or key.
    ///
    /// # Examples
    /// ```
    /// let error = ttk_tls::TlsConnector::builder()
    ///     .client_certificate_files("/no/cert.pem", "/no/key.pem")
    ///     .unwrap_err();
    /// assert!(error.to_string().contains("/no/cert.pem"));
    /// ```
    pub fn client_certificate_files(
        self,
        cert: impl AsRef<Path>,
        key: impl AsRef<Path>,
    ) -> io::Result<TlsConnectorBuilder> {
        let (cert, key) = (cert.as_ref(), key.as_ref());
        let chain = pem::certificates(
            &pem::read_file(cert, "client certificate")?,
            &cert.display().to_string(),
        )?;
        let key = pem::private_key(
            &pem::read_file(key, "client key")?,
            &key.display().to_string(),
        )?;
        Ok(self.identity(chain, key))
    }

    /// Presents the client certificate chain `cert` with the private key `key` (both PEM text).
    ///
    /// # Errors
    /// `InvalidInput` if they hold no certificate or key.
    ///
    /// # Examples
    /// See [`TlsConnectorBuilder`].
    pub fn client_certificate_pem(
        self,
        cert: impl AsRef<[u8]>,
        key: impl AsRef<[u8]>,
    ) -> io::Result<TlsConnectorBuilder> {
        let chain = pem::certificates(cert.as_ref(), "the client certificate PEM text")?;
        let key = pem::private_key(key.as_ref(), "the client key PEM text")?;
        Ok(self.identity(chain, key))
    }

    /// Sets the client identity.
    fn identity(
        mut self,
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> TlsConnectorBuilder {
        self.identity = Some((chain, key));
        self
    }

    /// Accepts any server certificate — expired, self-signed, for another name — while still
    /// checking the handshake's signatures: for test servers only. A run that uses it should
    /// say so (the `ttk` command prints it in the summary and records it in the report).
    ///
    /// # Examples
    /// See [`TlsConnector::for_one_client`].
    pub fn insecure(mut self, insecure: bool) -> TlsConnectorBuilder {
        self.insecure = insecure;
        self
    }

    /// The application protocols offered by ALPN, most preferred first (e.g. `["h2",
    /// "http/1.1"]`); none by default.
    ///
    /// # Examples
    /// See [`TlsConnector::alpn_protocols`].
    pub fn alpn(mut self, protocols: &[&str]) -> TlsConnectorBuilder {
        self.alpn = protocols.iter().map(|p| p.as_bytes().to_vec()).collect();
        self
    }

    /// The protocol versions offered; TLS 1.2 and 1.3 by default.
    ///
    /// # Examples
    /// See [`TlsVersion`].
    pub fn versions(mut self, versions: &[TlsVersion]) -> TlsConnectorBuilder {
        self.versions = versions.to_vec();
        self
    }

    /// Whether to resume sessions (on by default, as in browsers); off, every connect makes a
    /// full handshake — what a test of handshake cost wants.
    ///
    /// # Examples
    /// See [`TlsConnector::resumes_sessions`].
    pub fn resumption(mut self, resume: bool) -> TlsConnectorBuilder {
        self.no_resumption = !resume;
        self
    }

    /// How long a handshake may take ([`DEFAULT_HANDSHAKE_TIMEOUT`] by default; `None`: no
    /// limit).
    ///
    /// # Examples
    /// See [`TlsConnectorBuilder`].
    pub fn handshake_timeout(mut self, limit: Option<Duration>) -> TlsConnectorBuilder {
        self.handshake_timeout = Some(limit);
        self
    }

    /// The connector.
    ///
    /// # Errors
    /// `InvalidInput` if no root is trusted at all (no system roots found and no CA given, and
    /// not insecure), or if rustls refuses the settings (a client key that does not match its
    /// certificate, no version).
    ///
    /// # Examples
    /// See [`TlsConnectorBuilder`].
    pub fn build(self) -> io::Result<TlsConnector> {
        let provider = provider();
        let versions: Vec<_> = match self.versions.as_slice() {
            [] => vec![&rustls::version::TLS13, &rustls::version::TLS12],
            chosen => chosen.iter().map(|v| v.rustls()).collect(),
        };
        let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_protocol_versions(&versions)
            .map_err(|error| config_error(format!("TLS versions: {error}")))?;
        let builder = if self.insecure {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate::new(Arc::clone(
                    &provider,
                ))))
        } else if self.roots.is_empty() {
            builder.with_root_certificates(self.root_store()?)
        } else {
            // A certificate given as trusted is trusted as it is, even where webpki refuses it
            // (a self-signed test certificate marked as a CA).
            let webpki = WebPkiServerVerifier::builder_with_provider(
                Arc::new(self.root_store()?),
                Arc::clone(&provider),
            )
            .build()
            .map_err(|error| config_error(format!("certificate verification: {error}")))?;
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(PinnedOrWebPki::new(
                    webpki,
                    self.roots.clone(),
                )))
        };
        let mut config = match self.identity {
            Some((chain, key)) => {
                builder.with_client_cert_resolver(Arc::new(client_identity(&provider, chain, key)?))
            }
            None => builder.with_no_client_auth(),
        };
        config.alpn_protocols = self.alpn;
        config.resumption = if self.no_resumption {
            Resumption::disabled()
        } else {
            Resumption::in_memory_sessions(SESSIONS_KEPT)
        };
        Ok(TlsConnector {
            config: Arc::new(config),
            insecure: self.insecure,
            resume: !self.no_resumption,
            handshake_timeout: self
                .handshake_timeout
                .unwrap_or(Some(DEFAULT_HANDSHAKE_TIMEOUT)),
            handshakes: Arc::default(),
        })
    }

    /// The trusted roots: the system's (unless left out) and those given.
    fn root_store(&self) -> io::Result<RootCertStore> {
        let mut store = RootCertStore::empty();
        if !self.no_system_roots {
            // Certificates the store cannot parse are skipped, as every client does.
            let found = rustls_native_certs::load_native_certs();
            store.add_parsable_certificates(found.certs);
        }
        let (_, refused) = store.add_parsable_certificates(self.roots.iter().cloned());
        if refused > 0 {
            return Err(config_error(format!(
                "{refused} of the CA certificates given could not be used as roots"
            )));
        }
        if store.is_empty() {
            return Err(config_error(
                "no trusted root: the system has no CA certificates (/etc/ssl/certs) and none \
                 was given; pass the server's CA with --cacert FILE, or --insecure for a test \
                 server",
            ));
        }
        Ok(store)
    }
}

/// The client certificate `chain` with its private `key`, presented to servers that ask. The
/// key must be the certificate's; a certificate webpki cannot read (an X.509 v1 certificate, as
/// `openssl x509 -req` makes without extensions) is still presented: the server judges it.
fn client_identity(
    provider: &CryptoProvider,
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> io::Result<SingleCertAndKey> {
    let signing_key = provider
        .key_provider
        .load_private_key(key)
        .map_err(|error| config_error(format!("the client key: {error}")))?;
    let identity = CertifiedKey::new(chain, signing_key);
    match identity.keys_match() {
        Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch)) => Err(
            config_error("the client key is not the client certificate's key"),
        ),
        _ => Ok(SingleCertAndKey::from(identity)),
    }
}

impl fmt::Debug for TlsConnectorBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConnectorBuilder")
            .field("extra_roots", &self.roots.len())
            .field("system_roots", &!self.no_system_roots)
            .field("client_certificate", &self.identity.is_some())
            .field("insecure", &self.insecure)
            .field("alpn", &self.alpn)
            .field("versions", &self.versions)
            .field("resumption", &!self.no_resumption)
            .finish()
    }
}
