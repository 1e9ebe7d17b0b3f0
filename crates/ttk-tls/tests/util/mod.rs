//! What the TLS tests share: certificate files in a temporary directory, `openssl s_server`
//! started on a free port and stopped on drop, and a bot that connects and talks.

#![allow(dead_code, unreachable_pub)]

use std::io;
use std::net::TcpStream as StdTcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ttk_core::Cx;
use ttk_macros::bot;
use ttk_net::{ByteStream, TcpStream};
use ttk_tls::{CertifiedPem, TlsConnector};

/// A directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("ttk-tls-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    /// Writes `text` to `name` in the directory; its path.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Writes a certificate and its key; their paths.
    pub fn write_pair(&self, stem: &str, pair: &CertifiedPem) -> (PathBuf, PathBuf) {
        (
            self.write(&format!("{stem}.pem"), pair.chain_pem()),
            self.write(&format!("{stem}.key"), pair.key_pem()),
        )
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A free port on 127.0.0.1 (bound, then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `openssl s_server`, a TLS server no one here wrote, killed on drop.
pub struct OpenSslServer {
    child: Child,
    pub port: u16,
}

impl OpenSslServer {
    /// Starts `openssl s_server -rev` (it answers each line reversed) with `cert` and `key` and
    /// the `extra` arguments; waits until it accepts connections.
    pub fn start(cert: &Path, key: &Path, extra: &[&str]) -> OpenSslServer {
        let port = free_port();
        let child = Command::new("openssl")
            .args(["s_server", "-quiet", "-rev", "-naccept", "1000"])
            .args(["-accept", &format!("127.0.0.1:{port}")])
            .arg("-cert")
            .arg(cert)
            .arg("-key")
            .arg(key)
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("openssl s_server (Debian's openssl package) must be installed");
        let server = OpenSslServer { child, port };
        let deadline = Instant::now() + Duration::from_secs(10);
        while StdTcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "openssl s_server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        server
    }
}

impl Drop for OpenSslServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What a [`talk`] bot saw: the reversed line, and whether each connection resumed.
#[derive(Debug)]
pub struct Talk {
    pub replies: Vec<String>,
    pub resumed: Vec<bool>,
}

/// Connects `times` times in a row to `127.0.0.1:port` as `name`, sends `line` on each and
/// reads the answer.
#[bot(crate = ttk_core)]
pub fn talk(
    _cx: Cx,
    _id: usize,
    port: u16,
    name: String,
    connector: TlsConnector,
    times: usize,
) -> io::Result<Talk> {
    let mut talk = Talk {
        replies: Vec::new(),
        resumed: Vec::new(),
    };
    for _ in 0..times {
        let tcp = ttk_core::yield_!(TcpStream::connect(("127.0.0.1", port)))?;
        let tls = ttk_core::yield_!(connector.connect(&name, tcp))?;
        talk.resumed.push(tls.is_resumed());
        ttk_core::yield_!(tls.write_all(b"hello tls\n"))?;
        let mut got = Vec::new();
        let mut buf = [0; 64];
        while !got.ends_with(b"\n") {
            let n = ttk_core::yield_!(tls.read(&mut buf))?;
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
        talk.replies
            .push(String::from_utf8_lossy(&got).trim().to_owned());
        ttk_core::yield_!(tls.close_notify())?;
    }
    Ok(talk)
}

/// Runs one [`talk`] bot.
pub fn run_talk(port: u16, name: &str, connector: &TlsConnector, times: usize) -> io::Result<Talk> {
    ttk_core::run(1, |cx, id| {
        talk(cx, id, port, name.to_owned(), connector.clone(), times)
    })
    .pop()
    .unwrap()
}

/// The failure kind a report counts `error` under.
pub fn kind(error: &io::Error) -> String {
    ttk_core::metrics::Failure::of(error).kind()
}
