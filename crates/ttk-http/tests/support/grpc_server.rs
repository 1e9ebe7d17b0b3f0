//! A real gRPC server for tests: Python's grpcio (Debian's `python3-grpcio`) running
//! `grpc_echo_server.py` (service `ttk.test.Echo` of `echo.proto`), started by the test and
//! stopped when dropped. Shared by ttk-http's and ttk-cli's tests (ttk-cli includes this file
//! by path).
//!
//! Without grpcio a test says it is skipped and passes, unless `TTK_REQUIRE_GRPCIO` is set.

#![allow(dead_code, unreachable_pub)]

use std::io::{BufRead, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The running server, stopped when dropped.
pub struct GrpcServer {
    /// The process.
    child: Child,
    /// `127.0.0.1:port`.
    pub addr: String,
}

/// The directory of this file (the server script and `echo.proto` are beside it).
pub fn support_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../ttk-http/tests/support")
}

/// A Python that can import grpc: Debian's (`/usr/bin/python3`, where `python3-grpcio` goes)
/// or the one on PATH.
pub fn python_with_grpc() -> Option<PathBuf> {
    ["/usr/bin/python3", "python3"]
        .into_iter()
        .map(PathBuf::from)
        .find(|python| {
            Command::new(python)
                .args(["-c", "import grpc"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|status| status.success())
        })
}

/// The server's own count of calls of `method`, from its `Stats` method (asked with
/// Python's grpcio client).
pub fn served(addr: &str, method: &str) -> u64 {
    served_over(addr, None, method)
}

/// [`served`], over TLS trusting the CA in the PEM file `ca` if given.
pub fn served_over(addr: &str, ca: Option<&Path>, method: &str) -> u64 {
    let python = python_with_grpc().expect("a Python with grpcio (the server runs on it)");
    let channel = match ca {
        Some(ca) => format!(
            "grpc.secure_channel('{addr}', grpc.ssl_channel_credentials(open('{}', 'rb').read()))",
            ca.display()
        ),
        None => format!("grpc.insecure_channel('{addr}')"),
    };
    // Stats answers a Reply whose field 1 is `Say=3,Slow=1` (its 2-byte header skipped).
    let script = format!(
        "import grpc\nch = {channel}\n\
         stats = ch.unary_unary('/ttk.test.Echo/Stats')\n\
         print(stats(b'')[2:].decode())"
    );
    let output = Command::new(python)
        .args(["-c", &script])
        .output()
        .expect("Python runs");
    assert!(
        output.status.success(),
        "asking the gRPC server for its counts failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8_lossy(&output.stdout);
    text.trim()
        .split(',')
        .filter_map(|entry| entry.split_once('='))
        .find(|(name, _)| *name == method)
        .map_or(0, |(_, count)| count.parse().expect("a count"))
}

impl GrpcServer {
    /// Starts the server on a free loopback port, or says the test is skipped.
    pub fn start() -> Option<GrpcServer> {
        GrpcServer::start_with(&[])
    }

    /// Starts the server serving TLS with the certificate chain and key in the PEM files
    /// `cert` and `key`, or says the test is skipped.
    pub fn start_tls(cert: &Path, key: &Path) -> Option<GrpcServer> {
        GrpcServer::start_with(&[cert, key])
    }

    /// Starts the server with `tls_files` (none, or the certificate and key).
    fn start_with(tls_files: &[&Path]) -> Option<GrpcServer> {
        let Some(python) = python_with_grpc() else {
            if std::env::var_os("TTK_REQUIRE_GRPCIO").is_some() {
                panic!(
                    "TTK_REQUIRE_GRPCIO is set but no Python imports grpc: install it with \
                     `apt-get install -y python3-grpcio`"
                );
            }
            let _ = writeln!(
                std::io::stderr(),
                "skipped: no Python with grpcio (set TTK_REQUIRE_GRPCIO=1 to require it)"
            );
            return None;
        };
        let mut child = Command::new(python)
            .arg(support_dir().join("grpc_echo_server.py"))
            .arg("0")
            .args(tls_files)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("the gRPC server starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped"))
            .read_line(&mut line)
            .expect("the gRPC server prints its port");
        let port = line
            .trim()
            .strip_prefix("PORT ")
            .unwrap_or_else(|| panic!("the gRPC server printed {line:?}, not its port"));
        Some(GrpcServer {
            child,
            addr: format!("127.0.0.1:{port}"),
        })
    }
}

impl Drop for GrpcServer {
    fn drop(&mut self) {
        // Closing its stdin stops it; kill it in case it does not.
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
