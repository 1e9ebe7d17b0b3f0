//! [`TestPki`]: a certificate authority made on the spot, and certificates it signs, for tests,
//! demos and benches that need TLS servers without files.

use std::fmt;
use std::io;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

/// A certificate authority made on the spot (an ECDSA P-256 key, valid for decades), which
/// signs server and client certificates: for tests, demos and benches that need TLS without
/// certificate files. Trust it with [`TlsConnectorBuilder::ca_pem`](crate::TlsConnectorBuilder::ca_pem)
/// ([`ca_pem`](TestPki::ca_pem)), or write it to a file for other programs (nginx,
/// `openssl s_server`, `curl --cacert`).
///
/// # Examples
/// ```
/// use ttk_tls::TestPki;
///
/// # fn main() -> std::io::Result<()> {
/// let pki = TestPki::new()?;
/// let server = pki.server_certificate(&["localhost", "127.0.0.1"])?;
/// assert!(pki.ca_pem().starts_with("-----BEGIN CERTIFICATE-----"));
/// assert!(server.key_pem().contains("PRIVATE KEY"));
/// # Ok(())
/// # }
/// ```
pub struct TestPki {
    /// The CA's name, usages and key.
    issuer: Issuer<'static, KeyPair>,
    /// The CA's certificate.
    ca_pem: String,
}

/// A certificate signed by a [`TestPki`], with its private key, both PEM text.
///
/// # Examples
/// See [`TestPki`].
#[derive(Clone)]
pub struct CertifiedPem {
    /// The certificate.
    chain_pem: String,
    /// The private key.
    key_pem: String,
}

impl CertifiedPem {
    /// The certificate (PEM), to present; the CA's own is not included.
    ///
    /// # Examples
    /// See [`TlsAcceptor`](crate::TlsAcceptor).
    pub fn chain_pem(&self) -> &str {
        &self.chain_pem
    }

    /// The private key (PEM, PKCS#8).
    ///
    /// # Examples
    /// See [`TestPki`].
    pub fn key_pem(&self) -> &str {
        &self.key_pem
    }
}

impl fmt::Debug for CertifiedPem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The key stays out of logs.
        f.debug_struct("CertifiedPem").finish_non_exhaustive()
    }
}

/// An `io::Error` for a certificate rcgen could not make.
fn made_error(error: rcgen::Error) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("cannot make the certificate: {error}"),
    )
}

impl TestPki {
    /// A new CA.
    ///
    /// # Errors
    /// `InvalidInput` if the key cannot be made (the system's random source failed).
    ///
    /// # Examples
    /// See [`TestPki`].
    pub fn new() -> io::Result<TestPki> {
        let key = KeyPair::generate().map_err(made_error)?;
        let mut params = CertificateParams::new(Vec::<String>::new()).map_err(made_error)?;
        params
            .distinguished_name
            .push(DnType::CommonName, "ttk test CA");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_pem = pem(
            "CERTIFICATE",
            params.self_signed(&key).map_err(made_error)?.der(),
        );
        Ok(TestPki {
            issuer: Issuer::new(params, key),
            ca_pem,
        })
    }

    /// The CA's certificate (PEM), for clients to trust.
    ///
    /// # Examples
    /// See [`TestPki`].
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// A server certificate for `names` (host names and IP addresses), signed by this CA.
    ///
    /// # Errors
    /// `InvalidInput` for a name that is neither a DNS name nor an IP address.
    ///
    /// # Examples
    /// See [`TestPki`].
    pub fn server_certificate(&self, names: &[&str]) -> io::Result<CertifiedPem> {
        self.sign(names, ExtendedKeyUsagePurpose::ServerAuth, false)
    }

    /// A server certificate for `names` whose validity ended in 2001: for tests of what a
    /// client does with an expired certificate.
    ///
    /// # Errors
    /// Those of [`TestPki::server_certificate`].
    ///
    /// # Examples
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// let expired = ttk_tls::TestPki::new()?.expired_server_certificate(&["localhost"])?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn expired_server_certificate(&self, names: &[&str]) -> io::Result<CertifiedPem> {
        self.sign(names, ExtendedKeyUsagePurpose::ServerAuth, true)
    }

    /// A client certificate with the common name `name`, for mutual TLS.
    ///
    /// # Errors
    /// `InvalidInput` if the key cannot be made.
    ///
    /// # Examples
    /// See [`TlsConnectorBuilder`](crate::TlsConnectorBuilder).
    pub fn client_certificate(&self, name: &str) -> io::Result<CertifiedPem> {
        self.sign(&[name], ExtendedKeyUsagePurpose::ClientAuth, false)
    }

    /// A certificate for `names`, for `usage`, valid for decades, or only in 2000 if
    /// `expired`.
    fn sign(
        &self,
        names: &[&str],
        usage: ExtendedKeyUsagePurpose,
        expired: bool,
    ) -> io::Result<CertifiedPem> {
        let key = KeyPair::generate().map_err(made_error)?;
        let names: Vec<String> = names.iter().map(|name| (*name).to_owned()).collect();
        let mut params = CertificateParams::new(names.clone()).map_err(made_error)?;
        if let Some(name) = names.first() {
            params
                .distinguished_name
                .push(DnType::CommonName, name.as_str());
        }
        params.extended_key_usages = vec![usage];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        if expired {
            params.not_before = rcgen::date_time_ymd(2000, 1, 1);
            params.not_after = rcgen::date_time_ymd(2001, 1, 1);
        }
        let certificate = params.signed_by(&key, &self.issuer).map_err(made_error)?;
        Ok(CertifiedPem {
            chain_pem: pem("CERTIFICATE", certificate.der()),
            key_pem: pem("PRIVATE KEY", &key.serialize_der()),
        })
    }
}

/// `der` as PEM text with `label` (`CERTIFICATE`, `PRIVATE KEY`): base64 in lines of 64.
fn pem(label: &str, der: &[u8]) -> String {
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(der);
    let mut text = format!("-----BEGIN {label}-----\n");
    for line in encoded.as_bytes().chunks(64) {
        text.push_str(std::str::from_utf8(line).unwrap_or_default());
        text.push('\n');
    }
    text.push_str(&format!("-----END {label}-----\n"));
    text
}

impl fmt::Debug for TestPki {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestPki").finish_non_exhaustive()
    }
}
