//! Reading certificates and keys from PEM, with errors that name the file and what it lacked.

use std::io;
use std::path::Path;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::errors::config_error;

/// The certificates in PEM text `pem`, read from `source` (a file name, for errors).
pub(crate) fn certificates(pem: &[u8], source: &str) -> io::Result<Vec<CertificateDer<'static>>> {
    let certificates = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| config_error(format!("{source}: not valid PEM certificates: {error}")))?;
    if certificates.is_empty() {
        return Err(config_error(format!(
            "{source} holds no certificate (a PEM block `-----BEGIN CERTIFICATE-----`)"
        )));
    }
    Ok(certificates)
}

/// The private key in PEM text `pem` (PKCS#8, PKCS#1 or SEC1), read from `source`.
pub(crate) fn private_key(pem: &[u8], source: &str) -> io::Result<PrivateKeyDer<'static>> {
    PrivateKeyDer::from_pem_slice(pem).map_err(|error| {
        config_error(format!(
            "{source} holds no usable private key (PEM `-----BEGIN PRIVATE KEY-----`, \
             RSA or EC): {error}"
        ))
    })
}

/// The contents of `path`, with its name in the error.
pub(crate) fn read_file(path: &Path, what: &str) -> io::Result<Vec<u8>> {
    std::fs::read(path).map_err(|error| {
        io::Error::new(
            error.kind(),
            format!("cannot read the {what} file {}: {error}", path.display()),
        )
    })
}
