//! The verifier behind `--cacert` when the file holds the server's own certificate: a
//! self-signed test certificate (`openssl req -x509 …`) is trusted, as OpenSSL-based clients
//! trust a self-signed certificate found in their store, although webpki refuses it (it is
//! marked as a CA, and often names its host only in its subject). Its validity period and host
//! name are still checked: the name by its subject alternative names when it has any, else a
//! host name (not an IP address) by its common name, compared whole (no wildcard), as curl
//! compares it.

mod der;

use std::sync::Arc;

use rustls::DigitallySignedStruct;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, OtherError};

/// Verifies with webpki; a server certificate webpki refuses is still accepted if it is,
/// byte for byte, one of the certificates the user gave as trusted.
#[derive(Debug)]
pub(crate) struct PinnedOrWebPki {
    /// The usual verification.
    webpki: Arc<WebPkiServerVerifier>,
    /// The certificates given as trusted (`--cacert`).
    given: Vec<CertificateDer<'static>>,
}

impl PinnedOrWebPki {
    /// A verifier with `webpki`'s checks, falling back to the certificates `given`.
    pub(crate) fn new(
        webpki: Arc<WebPkiServerVerifier>,
        given: Vec<CertificateDer<'static>>,
    ) -> PinnedOrWebPki {
        PinnedOrWebPki { webpki, given }
    }
}

impl ServerCertVerifier for PinnedOrWebPki {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verified = self.webpki.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        );
        match verified {
            Err(error)
                if refused_as_untrusted(&error)
                    && self.given.iter().any(|given| given == end_entity) =>
            {
                check_pinned(end_entity, server_name, now)?;
                Ok(ServerCertVerified::assertion())
            }
            verified => verified,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

/// Whether webpki refused a certificate only for not chaining to a trusted root as it wants
/// one to: an unknown issuer, or a CA certificate presented by a server.
fn refused_as_untrusted(error: &rustls::Error) -> bool {
    match error {
        rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer) => true,
        rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(other))) => matches!(
            other.downcast_ref::<webpki::Error>(),
            Some(webpki::Error::CaUsedAsEndEntity)
        ),
        _ => false,
    }
}

/// The checks curl makes of a certificate found in its store: within its validity period, and
/// for `server_name` (by its subject alternative names, or a host name by its common name if it
/// has none).
fn check_pinned(
    certificate: &CertificateDer<'_>,
    server_name: &ServerName<'_>,
    now: UnixTime,
) -> Result<(), rustls::Error> {
    let refused = |error| Err(rustls::Error::InvalidCertificate(error));
    let Some(fields) = der::fields(certificate) else {
        return refused(CertificateError::BadEncoding);
    };
    let now = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
    if now < fields.not_before {
        return refused(CertificateError::NotValidYet);
    }
    if now > fields.not_after {
        return refused(CertificateError::Expired);
    }
    let name_ok = if fields.has_alt_names {
        webpki::EndEntityCert::try_from(certificate)
            .is_ok_and(|parsed| parsed.verify_is_valid_for_subject_name(server_name).is_ok())
    } else {
        // Only a host name is compared with the common name; an IP address must be among the
        // alternative names.
        match server_name {
            ServerName::DnsName(name) => fields
                .common_name
                .is_some_and(|common| common.eq_ignore_ascii_case(name.as_ref().as_bytes())),
            _ => false,
        }
    };
    if name_ok {
        Ok(())
    } else {
        refused(CertificateError::NotValidForName)
    }
}
