//! `ttk demo --tls` and `ttk tcp --tls` (against `openssl s_server`, a TLS server no one here
//! wrote), run as a user runs them.

use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ttk::tls::TestPki;
use ttk_report::Report;

/// A directory under the target dir for one test's files.
fn dir(name: &str) -> std::path::PathBuf {
    let dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("tls-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn the_demo_serves_and_loads_https() {
    let dir = dir("demo");
    let output = Command::new(env!("CARGO_BIN_EXE_ttk"))
        .args(["demo", "--tls", "-c", "4", "-d", "500ms", "--html"])
        .arg(dir.join("demo.html"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("an HTTPS target"), "{stdout}");
    assert!(stdout.contains("--cacert"), "{stdout}");
    assert!(
        stdout.contains("\ntls "),
        "the handshakes are a transaction: {stdout}"
    );
}

/// `openssl s_server` (`-rev`: each line answered reversed; `-www`: HTTP/1.0 answers), killed
/// on drop.
struct Reverser(Child, u16);

impl Drop for Reverser {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn reverser(dir: &Path, pki: &TestPki) -> Reverser {
    s_server(dir, pki, "-rev")
}

/// `openssl s_server` in `mode` (`-rev`, `-www`), with no ALPN of its own.
fn s_server(dir: &Path, pki: &TestPki, mode: &str) -> Reverser {
    let server = pki.server_certificate(&["localhost"]).unwrap();
    std::fs::write(dir.join("server.pem"), server.chain_pem()).unwrap();
    std::fs::write(dir.join("server.key"), server.key_pem()).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("openssl")
        .args(["s_server", "-quiet", mode, "-naccept", "100000"])
        .args(["-accept", &format!("127.0.0.1:{port}")])
        .arg("-cert")
        .arg(dir.join("server.pem"))
        .arg("-key")
        .arg(dir.join("server.key"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("openssl (Debian's openssl package) must be installed");
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "openssl s_server did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    Reverser(child, port)
}

#[test]
fn tcp_lines_over_tls_to_openssl() {
    let dir = dir("tcp");
    let pki = TestPki::new().unwrap();
    let server = reverser(&dir, &pki);
    std::fs::write(dir.join("ca.pem"), pki.ca_pem()).unwrap();
    let addr = format!("localhost:{}", server.1);
    let json = dir.join("tcp.json");
    let status = Command::new(env!("CARGO_BIN_EXE_ttk"))
        .args(["tcp", &addr, "--tls", "--send", "PING", "--expect", "GNIP"])
        .args(["-c", "1", "-d", "500ms", "--quiet", "--cacert"])
        .arg(dir.join("ca.pem"))
        .arg("--json")
        .arg(&json)
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(0));
    let report = Report::read_json(&json).unwrap();
    let request = report.transaction("request").unwrap();
    assert!(request.ok > 10, "{} requests", request.ok);
    assert_eq!(request.failed, 0);
    assert_eq!(report.transaction("tls").unwrap().ok, 1);

    // Without the CA: the handshake fails with a named certificate error; exit 1.
    let output = Command::new(env!("CARGO_BIN_EXE_ttk"))
        .args([
            "tcp", &addr, "--tls", "--send", "PING", "-c", "1", "-d", "300ms",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("TlsUnknownIssuer"), "{stdout}");
}

/// `--http 2` against a TLS server that picks no protocol in ALPN (it ignores the client's
/// offer of h2, as `openssl s_server -www` does): each request fails, named, with what to do;
/// it used to make connections one after another without a word (no request, no error).
#[test]
fn http2_against_a_server_that_agrees_to_no_h2_fails_named() {
    let dir = dir("no-alpn");
    let pki = TestPki::new().unwrap();
    let server = s_server(&dir, &pki, "-www");
    std::fs::write(dir.join("ca.pem"), pki.ca_pem()).unwrap();
    let json = dir.join("h2.json");
    let url = format!("https://localhost:{}/", server.1);
    let status = Command::new(env!("CARGO_BIN_EXE_ttk"))
        .args([
            "http", &url, "--http", "2", "-c", "1", "-d", "500ms", "--quiet",
        ])
        .arg("--cacert")
        .arg(dir.join("ca.pem"))
        .arg("--json")
        .arg(&json)
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(1), "nothing succeeded");
    let report = Report::read_json(&json).unwrap();
    let request = report.transaction("request").unwrap();
    assert_eq!(request.ok, 0);
    assert!(request.failed >= 1);
    assert_eq!(request.failed, report.transaction("tls").unwrap().ok);
    let sample = &request.errors[0].samples[0];
    assert!(
        sample.contains("did not agree to h2") && sample.contains("--http auto"),
        "{sample}"
    );
}
