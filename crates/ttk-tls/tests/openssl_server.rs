//! The client against `openssl s_server`, a TLS server no one here wrote: trusted and untrusted
//! certificates, expired and wrong-host ones, client certificates, versions and resumption.

mod util;

use ttk_tls::{TestPki, TlsConnector, TlsVersion};
use util::{OpenSslServer, TempDir, kind, run_talk};

/// A CA, and `openssl s_server` presenting a certificate it signed for "localhost" and
/// 127.0.0.1, with `extra` arguments.
fn server(dir: &TempDir, pki: &TestPki, extra: &[&str]) -> OpenSslServer {
    let pair = pki.server_certificate(&["localhost", "127.0.0.1"]).unwrap();
    let (cert, key) = dir.write_pair("server", &pair);
    OpenSslServer::start(&cert, &key, extra)
}

/// A connector trusting the certificates in the PEM file `path`.
fn trusting_file(path: &std::path::Path) -> TlsConnector {
    TlsConnector::builder()
        .ca_file(path)
        .unwrap()
        .build()
        .unwrap()
}

fn trusting(pki: &TestPki) -> TlsConnector {
    TlsConnector::builder()
        .ca_pem(pki.ca_pem())
        .unwrap()
        .build()
        .unwrap()
}

#[test]
fn talks_to_openssl_with_a_trusted_ca_by_name_and_by_address() {
    let dir = TempDir::new("trusted");
    let pki = TestPki::new().unwrap();
    let server = server(&dir, &pki, &[]);
    let connector = trusting(&pki);
    for name in ["localhost", "127.0.0.1"] {
        let talk = run_talk(server.port, name, &connector, 1).unwrap();
        assert_eq!(talk.replies, ["slt olleh"], "as {name}");
    }
}

#[test]
fn the_ca_file_is_trusted_too() {
    let dir = TempDir::new("ca-file");
    let pki = TestPki::new().unwrap();
    let server = server(&dir, &pki, &[]);
    let ca = dir.write("ca.pem", pki.ca_pem());
    let connector = trusting_file(&ca);
    assert_eq!(
        run_talk(server.port, "localhost", &connector, 1)
            .unwrap()
            .replies,
        ["slt olleh"]
    );
}

#[test]
fn an_unknown_issuer_fails_with_a_kind_and_says_what_to_do() {
    let dir = TempDir::new("unknown");
    let pki = TestPki::new().unwrap();
    let server = server(&dir, &pki, &[]);
    let connector = TlsConnector::new().unwrap(); // the system's roots only
    let error = run_talk(server.port, "localhost", &connector, 1).unwrap_err();
    assert_eq!(kind(&error), "TlsUnknownIssuer", "{error}");
    let message = error.to_string();
    assert!(message.contains("localhost"), "{message}");
    assert!(message.contains("--cacert"), "{message}");
    assert!(message.contains("--insecure"), "{message}");
}

#[test]
fn insecure_accepts_a_certificate_no_one_trusts() {
    let dir = TempDir::new("insecure");
    let pki = TestPki::new().unwrap();
    let expired = pki.expired_server_certificate(&["other.test"]).unwrap();
    let (cert, key) = dir.write_pair("expired", &expired);
    let server = OpenSslServer::start(&cert, &key, &[]);
    let connector = TlsConnector::builder().insecure(true).build().unwrap();
    assert!(connector.is_insecure());
    let talk = run_talk(server.port, "localhost", &connector, 1).unwrap();
    assert_eq!(talk.replies, ["slt olleh"]);
}

/// What connecting as "localhost", trusting `pki`'s CA, to `openssl s_server` presenting
/// `certificate` fails with.
fn refusal(name: &str, pki: &TestPki, certificate: &ttk_tls::CertifiedPem) -> std::io::Error {
    let dir = TempDir::new(name);
    let (cert, key) = dir.write_pair("server", certificate);
    let server = OpenSslServer::start(&cert, &key, &[]);
    run_talk(server.port, "localhost", &trusting(pki), 1).unwrap_err()
}

#[test]
fn an_expired_certificate_fails_as_expired() {
    let pki = TestPki::new().unwrap();
    let expired = pki.expired_server_certificate(&["localhost"]).unwrap();
    let error = refusal("expired", &pki, &expired);
    assert_eq!(kind(&error), "TlsExpired", "{error}");
    assert!(error.to_string().contains("validity"), "{error}");
}

#[test]
fn a_certificate_for_another_host_fails_as_wrong_host() {
    let pki = TestPki::new().unwrap();
    let other = pki.server_certificate(&["other.test"]).unwrap();
    let error = refusal("wrong-host", &pki, &other);
    assert_eq!(kind(&error), "TlsWrongHost", "{error}");
    assert!(error.to_string().contains("localhost"), "{error}");
}

#[test]
fn a_server_that_requires_a_client_certificate() {
    let dir = TempDir::new("mtls");
    let pki = TestPki::new().unwrap();
    let ca = dir.write("ca.pem", pki.ca_pem());
    let ca = ca.to_str().unwrap();
    let server = server(&dir, &pki, &["-Verify", "1", "-CAfile", ca]);

    // Without one: the server refuses, and the message says a client certificate may be needed.
    let error = run_talk(server.port, "localhost", &trusting(&pki), 1).unwrap_err();
    assert_eq!(kind(&error), "TlsAlert", "{error}");
    assert!(error.to_string().contains("client certificate"), "{error}");

    // With one signed by the CA it trusts: it talks.
    let me = pki.client_certificate("bot-1").unwrap();
    let (cert, key) = dir.write_pair("client", &me);
    let connector = TlsConnector::builder()
        .ca_pem(pki.ca_pem())
        .unwrap()
        .client_certificate_files(&cert, &key)
        .unwrap()
        .build()
        .unwrap();
    let talk = run_talk(server.port, "localhost", &connector, 1).unwrap();
    assert_eq!(talk.replies, ["slt olleh"]);
}

#[test]
fn no_common_version_fails_as_version() {
    let dir = TempDir::new("version");
    let pki = TestPki::new().unwrap();
    let server = server(&dir, &pki, &["-tls1_2"]);
    let tls13_only = TlsConnector::builder()
        .ca_pem(pki.ca_pem())
        .unwrap()
        .versions(&[TlsVersion::Tls13])
        .build()
        .unwrap();
    let error = run_talk(server.port, "localhost", &tls13_only, 1).unwrap_err();
    assert_eq!(kind(&error), "TlsVersion", "{error}");
    assert!(error.to_string().contains("--tls-version"), "{error}");
    // TLS 1.2 itself works.
    let tls12 = TlsConnector::builder()
        .ca_pem(pki.ca_pem())
        .unwrap()
        .versions(&[TlsVersion::Tls12])
        .build()
        .unwrap();
    assert_eq!(
        run_talk(server.port, "localhost", &tls12, 1)
            .unwrap()
            .replies,
        ["slt olleh"]
    );
}

#[test]
fn sessions_resume_unless_told_not_to() {
    let dir = TempDir::new("resume");
    let pki = TestPki::new().unwrap();
    for version in [TlsVersion::Tls13, TlsVersion::Tls12] {
        let server = server(&dir, &pki, &[]);
        let base = TlsConnector::builder()
            .ca_pem(pki.ca_pem())
            .unwrap()
            .versions(&[version]);
        let resuming = base.build().unwrap().for_one_client();
        let talk = run_talk(server.port, "localhost", &resuming, 3).unwrap();
        assert_eq!(talk.resumed, [false, true, true], "{version:?}");

        let full = TlsConnector::builder()
            .ca_pem(pki.ca_pem())
            .unwrap()
            .versions(&[version])
            .resumption(false)
            .build()
            .unwrap();
        let talk = run_talk(server.port, "localhost", &full, 3).unwrap();
        assert_eq!(talk.resumed, [false, false, false], "{version:?}");
    }
}

/// A self-signed certificate made as most quick tests make one: `openssl req -x509`, marked as
/// a CA, its host only in its subject; `extra` arguments to openssl.
fn openssl_self_signed(
    dir: &TempDir,
    stem: &str,
    extra: &[&str],
) -> (std::path::PathBuf, std::path::PathBuf) {
    let (cert, key) = (
        dir.0.join(format!("{stem}.pem")),
        dir.0.join(format!("{stem}.key")),
    );
    let status = std::process::Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args(extra)
        .args(["-subj", "/CN=localhost", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    (cert, key)
}

#[test]
fn a_self_signed_certificate_given_with_cacert_is_trusted_as_it_is() {
    let dir = TempDir::new("self-signed");
    let (cert, key) = openssl_self_signed(&dir, "server", &[]);
    let server = OpenSslServer::start(&cert, &key, &[]);
    let pinned = trusting_file(&cert);
    let talk = run_talk(server.port, "localhost", &pinned, 1).unwrap();
    assert_eq!(talk.replies, ["slt olleh"]);
    // Its host is still checked: by its common name, as it has no alternative names.
    let error = run_talk(server.port, "127.0.0.1", &pinned, 1).unwrap_err();
    assert_eq!(kind(&error), "TlsWrongHost", "{error}");
    // Another self-signed certificate is not this one: refused.
    let (other, _) = openssl_self_signed(&dir, "other", &[]);
    let wrong = trusting_file(&other);
    let error = run_talk(server.port, "localhost", &wrong, 1).unwrap_err();
    assert_eq!(kind(&error), "TlsUnknownIssuer", "{error}");
    // Trusted by nothing (the system's roots only), it is an unknown issuer too, said plainly
    // (webpki's own word for a CA's certificate used as a server's, in rustls' debug text,
    // told a new user nothing) with what to do.
    let error = run_talk(server.port, "localhost", &TlsConnector::new().unwrap(), 1).unwrap_err();
    assert_eq!(kind(&error), "TlsUnknownIssuer", "{error}");
    let message = error.to_string();
    assert!(message.contains("self-signed"), "{message}");
    assert!(message.contains("--cacert"), "{message}");
    assert!(!message.contains("OtherError"), "{message}");
}

#[test]
fn a_pinned_certificate_is_checked_by_its_alternative_names_and_its_dates() {
    let dir = TempDir::new("pinned-checks");
    // Alternative names: 127.0.0.1 is among them, localhost is not.
    let (cert, key) = openssl_self_signed(&dir, "ip", &["-addext", "subjectAltName=IP:127.0.0.1"]);
    let server = OpenSslServer::start(&cert, &key, &[]);
    let pinned = trusting_file(&cert);
    let talk = run_talk(server.port, "127.0.0.1", &pinned, 1).unwrap();
    assert_eq!(talk.replies, ["slt olleh"]);
    let error = run_talk(server.port, "localhost", &pinned, 1).unwrap_err();
    assert_eq!(kind(&error), "TlsWrongHost", "{error}");
    drop(server);

    // Expired: refused as outside its validity period, pinned or not.
    let pki = TestPki::new().unwrap();
    let expired = pki.expired_server_certificate(&["localhost"]).unwrap();
    let (cert, key) = dir.write_pair("expired", &expired);
    let server = OpenSslServer::start(&cert, &key, &[]);
    let pinned = trusting_file(&cert);
    let error = run_talk(server.port, "localhost", &pinned, 1).unwrap_err();
    assert_eq!(kind(&error), "TlsExpired", "{error}");
}

/// Runs `openssl` with `args` in `dir`, quietly; panics if it fails.
fn openssl(dir: &TempDir, args: &[&str]) {
    let status = std::process::Command::new("openssl")
        .args(args)
        .current_dir(&dir.0)
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "openssl {args:?}");
}

#[test]
fn a_client_certificate_of_x509_version_1_is_presented() {
    // `openssl x509 -req` without extensions makes version 1 certificates, which webpki cannot
    // read: the client presents it anyway, and the server (which reads it) decides.
    let dir = TempDir::new("v1-client");
    openssl(
        &dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=client CA",
            "-keyout",
            "ca.key",
            "-out",
            "client-ca.pem",
        ],
    );
    openssl(
        &dir,
        &[
            "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=bot", "-keyout", "bot.key",
            "-out", "bot.csr",
        ],
    );
    openssl(
        &dir,
        &[
            "x509",
            "-req",
            "-in",
            "bot.csr",
            "-CA",
            "client-ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "1",
            "-out",
            "bot.pem",
        ],
    );
    let pki = TestPki::new().unwrap();
    let client_ca = dir.0.join("client-ca.pem");
    let server = server(
        &dir,
        &pki,
        &["-Verify", "1", "-CAfile", client_ca.to_str().unwrap()],
    );
    let connector = TlsConnector::builder()
        .ca_pem(pki.ca_pem())
        .unwrap()
        .client_certificate_files(dir.0.join("bot.pem"), dir.0.join("bot.key"))
        .unwrap()
        .build()
        .unwrap();
    let talk = run_talk(server.port, "localhost", &connector, 1).unwrap();
    assert_eq!(talk.replies, ["slt olleh"]);

    // A key that is not the certificate's is refused when the connector is built (where the
    // certificate can be read: version 3).
    let (one, other) = (
        pki.client_certificate("one").unwrap(),
        pki.client_certificate("other").unwrap(),
    );
    let error = TlsConnector::builder()
        .client_certificate_pem(one.chain_pem(), other.key_pem())
        .and_then(|builder| builder.build())
        .unwrap_err();
    assert!(
        error.to_string().contains("not the client certificate's"),
        "{error}"
    );
}
