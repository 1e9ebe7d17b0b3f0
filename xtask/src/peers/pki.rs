//! The certificates the TLS rows use, made on the spot with the `openssl` command: a CA, and a
//! server certificate it signs for `localhost` and `127.0.0.1`. ECDSA P-256 keys, as
//! `ttk_tls::TestPki` makes (what most test servers and many real ones present).

use std::path::{Path, PathBuf};
use std::process::Command;

/// The openssl config: a distinguished name, and the extensions of each certificate (rustls
/// refuses a server certificate marked as a CA, so neither comes from the system's config).
const CONFIG: &str = "\
[req]
distinguished_name = dn
prompt = no
[dn]
CN = ttk bench
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
";

/// What the keys are, for the report.
pub(crate) const KEYS: &str = "ECDSA P-256 (CA and server), made with openssl req";

/// The files made.
#[derive(Clone, Debug)]
pub(crate) struct Pki {
    /// The CA's certificate (PEM): what clients trust.
    pub(crate) ca: PathBuf,
    /// The server's certificate (PEM).
    pub(crate) cert: PathBuf,
    /// The server's private key (PEM).
    pub(crate) key: PathBuf,
}

impl Pki {
    /// Makes a CA and a server certificate under `dir` with `openssl`.
    pub(crate) fn make(openssl: &Path, dir: &Path) -> Result<Pki, String> {
        std::fs::create_dir_all(dir)
            .map_err(|error| format!("cannot create {}: {error}", dir.display()))?;
        let config = dir.join("openssl.cnf");
        std::fs::write(&config, CONFIG)
            .map_err(|error| format!("cannot write {}: {error}", config.display()))?;
        let file = |name: &str| dir.join(name);
        let pki = Pki {
            ca: file("ca.pem"),
            cert: file("server.pem"),
            key: file("server.key"),
        };
        let ca_key = file("ca.key");
        let new_key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];
        let mut ca = Command::new(openssl);
        ca.args(["req", "-config"])
            .arg(&config)
            .args([
                "-x509",
                "-noenc",
                "-days",
                "30",
                "-subj",
                "/CN=ttk bench CA",
            ])
            .args(["-extensions", "ca"])
            .args(new_key)
            .arg("-keyout")
            .arg(&ca_key)
            .arg("-out")
            .arg(&pki.ca);
        run(&mut ca)?;
        let mut server = Command::new(openssl);
        server
            .args(["req", "-config"])
            .arg(&config)
            .args(["-x509", "-noenc", "-days", "30", "-subj", "/CN=localhost"])
            .args(["-extensions", "server"])
            .arg("-CA")
            .arg(&pki.ca)
            .arg("-CAkey")
            .arg(&ca_key)
            .args(new_key)
            .arg("-keyout")
            .arg(&pki.key)
            .arg("-out")
            .arg(&pki.cert);
        run(&mut server)?;
        Ok(pki)
    }
}

/// Runs an openssl command; an error with what it printed if it fails.
fn run(command: &mut Command) -> Result<(), String> {
    let output = command
        .output()
        .map_err(|error| format!("cannot run {command:?}: {error}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{command:?} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openssl_makes_a_server_certificate_the_ca_verifies() {
        let Some(openssl) = super::super::client::on_path("openssl") else {
            eprintln!("skipped: no openssl on PATH");
            return;
        };
        let dir = std::env::temp_dir().join(format!("xtask-pki-{}", std::process::id()));
        let pki = Pki::make(&openssl, &dir).unwrap();
        let verified = Command::new(&openssl)
            .args(["verify", "-purpose", "sslserver", "-CAfile"])
            .arg(&pki.ca)
            .arg(&pki.cert)
            .output()
            .unwrap();
        let text = Command::new(&openssl)
            .args([
                "x509",
                "-noout",
                "-ext",
                "subjectAltName,basicConstraints",
                "-in",
            ])
            .arg(&pki.cert)
            .output()
            .unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(verified.status.success(), "{verified:?}");
        let text = String::from_utf8_lossy(&text.stdout);
        assert!(
            text.contains("DNS:localhost, IP Address:127.0.0.1"),
            "{text}"
        );
        assert!(text.contains("CA:FALSE"), "{text}");
    }
}
