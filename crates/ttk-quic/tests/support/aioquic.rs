//! aioquic's QUIC server (`quic_echo.py`), for the interop tests: a QUIC stack no one here
//! wrote, run as a subprocess with a certificate from a [`TestPki`]. The `ttk` command's tests
//! use it too (by path).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use ttk_tls::{CertifiedPem, TestPki};

/// The Python with aioquic: `TTK_AIOQUIC_PYTHON` (CI's venv), else the one of
/// `~/.cache/ttk/aioquic-1.7.2`, else the system's.
fn python() -> PathBuf {
    if let Some(python) = std::env::var_os("TTK_AIOQUIC_PYTHON") {
        return python.into();
    }
    let venv = std::env::var_os("HOME")
        .map(|home| PathBuf::from(home).join(".cache/ttk/aioquic-1.7.2/bin/python"));
    match venv {
        Some(venv) if venv.exists() => venv,
        _ => "python3".into(),
    }
}

/// The server, running.
pub(crate) struct Aioquic {
    /// Where it listens.
    pub(crate) addr: SocketAddr,
    /// The CA its certificate chains to.
    pub(crate) ca_pem: String,
    child: Child,
    _dir: Scratch,
}

/// A directory removed when dropped.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What the server counted.
pub(crate) type Counts = BTreeMap<String, u64>;

/// Which certificate the server shows.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Certificate {
    /// For `localhost`, valid.
    Good,
    /// For `localhost`, expired.
    Expired,
}

impl Aioquic {
    /// Starts a server offering `alpn`, in `modes` (see `quic_echo.py`). `None` (the test is
    /// skipped) if aioquic is missing, unless `TTK_REQUIRE_AIOQUIC` is set, as CI does.
    pub(crate) fn start(alpn: &str, modes: &str, certificate: Certificate) -> Option<Aioquic> {
        let python = python();
        let found = Command::new(&python)
            .args(["-c", "import aioquic"])
            .output()
            .is_ok_and(|output| output.status.success());
        if !found {
            let why = format!("no aioquic for {}", python.display());
            if std::env::var_os("TTK_REQUIRE_AIOQUIC").is_some() {
                panic!("TTK_REQUIRE_AIOQUIC is set, but: {why}");
            }
            eprintln!("skipped: {why}");
            return None;
        }
        let pki = TestPki::new().unwrap();
        let certified: CertifiedPem = match certificate {
            Certificate::Good => pki.server_certificate(&["localhost"]).unwrap(),
            Certificate::Expired => pki.expired_server_certificate(&["localhost"]).unwrap(),
        };
        let dir = std::env::temp_dir().join(format!(
            "ttk-aioquic-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
        std::fs::write(&cert, certified.chain_pem()).unwrap();
        std::fs::write(&key, certified.key_pem()).unwrap();
        // From ttk-quic's directory, as from another crate's that borrows this file.
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../ttk-quic/tests/support/quic_echo.py");
        let mut child = Command::new(&python)
            .arg(script)
            .arg(&cert)
            .arg(&key)
            .arg(alpn)
            .arg(modes)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let port: u16 = line
            .strip_prefix("ready ")
            .and_then(|port| port.trim().parse().ok())
            .unwrap_or_else(|| panic!("quic_echo.py said {line:?}"));
        child.stdout = Some(stdout.into_inner());
        Some(Aioquic {
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            ca_pem: pki.ca_pem().to_owned(),
            child,
            _dir: Scratch(dir),
        })
    }

    /// Stops the server: what it counted.
    pub(crate) fn finish(mut self) -> Counts {
        drop(self.child.stdin.take());
        let mut out = String::new();
        self.child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        let _ = self.child.wait();
        let last = out.lines().last().unwrap_or_default();
        serde_json::from_str(last).unwrap_or_else(|_| panic!("quic_echo.py ended with {out:?}"))
    }
}

impl Drop for Aioquic {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
