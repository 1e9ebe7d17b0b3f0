//! The verifier behind `--cacert` when the file holds the server's own certificate: a
//! self-signed test certificate (`openssl req -x509 …`) is trusted as it is, as OpenSSL-based
//! clients trust a self-signed certificate found in their store, although webpki refuses it (it
//! is marked as a CA, and often names its host only in its subject).

use std::sync::Arc;

use rustls::DigitallySignedStruct;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};

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
            Err(_) if self.given.iter().any(|given| given == end_entity) => {
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
