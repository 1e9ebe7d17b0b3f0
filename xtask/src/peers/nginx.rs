//! The server every client is measured against: an nginx of our own (never the system's), one
//! process pinned to its own core, answering a 13-byte body on keep-alive connections, counting
//! the requests it serves (`stub_status`). Stopped, by its pid, when dropped — on an error or a
//! panic too.
//!
//! For the TLS rows it serves the same body over HTTPS too ([`Nginx::start_tls`]), with session
//! resumption enabled both ways a client may ask for it (a shared session cache for session
//! IDs, tickets), and logs whether each request on [`HANDSHAKE_PATH`] came on a resumed session.

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::measure;
use super::pki::Pki;

/// The body of every response: 13 bytes.
pub(crate) const BODY: &str = "Hello, World!";

/// The config; `{dir}`, `{port}`, `{files}`, `{connections}` and `{tls}` are filled in. One
/// process (`master_process off`: the process we start is the worker, so pinning it pins the
/// worker), room for 1,000 client connections and more (10,000 for the TLS rows' idle bots),
/// connections kept open for the whole run, no access log (the count comes from `stub_status`).
const CONFIG: &str = r#"
daemon off;
master_process off;
worker_processes 1;{files}
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events { worker_connections {connections}; }
http {
    access_log off;
    client_body_temp_path {dir}/client_body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    default_type text/plain;
    keepalive_requests 1000000;
    keepalive_timeout 60s;
    server {
        listen 127.0.0.1:{port} backlog=4096;
        location = / { return 200 "{body}"; }
        location = /nginx_status { stub_status; }
    }{tls}
}
"#;

/// The HTTPS server of [`Nginx::start_tls`]; `{tls_port}`, `{cert}`, `{key}`, `{dir}` and
/// `{body}` are filled in. TLS 1.2 and 1.3 (nginx 1.22 leaves 1.3 out by default), resumption
/// by session ID (the shared cache) and by ticket, and a log of [`HANDSHAKE_PATH`]'s requests:
/// `r` or `.` for resumed or not, then the protocol, cipher and key exchange group.
const TLS_SERVER: &str = r#"
    log_format handshake '$ssl_session_reused $ssl_protocol $ssl_cipher $ssl_curve';
    server {
        listen 127.0.0.1:{tls_port} ssl{http2} backlog=4096;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_session_cache shared:TLS:10m;
        ssl_session_timeout 10m;
        ssl_session_tickets on;
        location = / { return 200 "{body}"; }
        location = /close {
            access_log {dir}/handshakes.log handshake;
            return 200 "{body}";
        }
    }"#;

/// The h2c server of [`Nginx::start_h2`] (HTTP/2 in cleartext, prior knowledge); `{h2c_port}`
/// and `{body}` are filled in. As many streams per connection as the rows open.
const H2C_SERVER: &str = r#"
    http2_max_concurrent_streams 128;
    server {
        listen 127.0.0.1:{h2c_port} http2 backlog=4096;
        location = / { return 200 "{body}"; }
    }"#;

/// The path whose requests the TLS server logs (see [`TLS_SERVER`]): the handshake rows load
/// it, one request per connection.
pub(crate) const HANDSHAKE_PATH: &str = "/close";

/// Connections the TLS server holds at most: the idle bots, with room to spare.
pub(crate) const TLS_CONNECTIONS: u64 = 12_000;

/// Descriptors the TLS server may open (`worker_rlimit_nofile`): its connections and a few
/// files, under this machine's open-file limit of 20,000.
const TLS_FILES: u64 = 16_000;

/// How long nginx gets to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// A running nginx.
pub(crate) struct Nginx {
    /// The process.
    child: Child,
    /// `127.0.0.1:port`, plain HTTP (where `stub_status` is read).
    pub(crate) addr: String,
    /// `127.0.0.1:port` of the HTTPS server, if it serves one.
    pub(crate) tls_addr: Option<String>,
    /// `127.0.0.1:port` of the h2c server, if it serves one (its HTTPS server speaks h2 too).
    pub(crate) h2c_addr: Option<String>,
    /// Its config, logs and temporary files.
    dir: PathBuf,
}

/// The requests the TLS server logged on [`HANDSHAKE_PATH`] over some time.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Logged {
    /// Requests.
    pub(crate) requests: u64,
    /// Of which on a resumed session.
    pub(crate) resumed: u64,
    /// How many requests came over each protocol, cipher and group (`TLSv1.3
    /// TLS_AES_256_GCM_SHA384 X25519`).
    pub(crate) suites: std::collections::BTreeMap<String, u64>,
}

impl Nginx {
    /// Starts nginx (`binary`) on a free loopback port, its files under `dir`, pinned to `core`.
    pub(crate) fn start(binary: &Path, dir: PathBuf, core: usize) -> Result<Nginx, String> {
        Nginx::start_with(binary, dir, core, None, false)
    }

    /// Starts nginx as [`Nginx::start_tls`] does, its HTTPS server offering h2 in ALPN, and an
    /// h2c server on a third port.
    pub(crate) fn start_h2(
        binary: &Path,
        dir: PathBuf,
        core: usize,
        pki: &Pki,
    ) -> Result<Nginx, String> {
        Nginx::start_with(binary, dir, core, Some(pki), true)
    }

    /// Starts nginx as [`Nginx::start`] does, serving HTTPS too on another port with `pki`'s
    /// certificate, with room for [`TLS_CONNECTIONS`].
    pub(crate) fn start_tls(
        binary: &Path,
        dir: PathBuf,
        core: usize,
        pki: &Pki,
    ) -> Result<Nginx, String> {
        Nginx::start_with(binary, dir, core, Some(pki), false)
    }

    /// Starts nginx, serving HTTPS with `tls`'s certificate if given, and HTTP/2 if `h2`.
    fn start_with(
        binary: &Path,
        dir: PathBuf,
        core: usize,
        tls: Option<&Pki>,
        h2: bool,
    ) -> Result<Nginx, String> {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)
            .map_err(|error| format!("cannot create {}: {error}", dir.display()))?;
        // Free ports: bind them (both at once, so they differ), let them go, give them to nginx.
        let listeners = [
            TcpListener::bind("127.0.0.1:0"),
            TcpListener::bind("127.0.0.1:0"),
            TcpListener::bind("127.0.0.1:0"),
        ];
        let mut ports = Vec::new();
        for listener in listeners {
            let port = listener
                .and_then(|listener| listener.local_addr())
                .map_err(|error| format!("no free port: {error}"))?
                .port();
            ports.push(port);
        }
        let (port, tls_port, h2c_port) = (ports[0], ports[1], ports[2]);
        let text = |path: &Path| -> Result<String, String> {
            path.to_str()
                .map(str::to_owned)
                .ok_or_else(|| format!("{} is not UTF-8", path.display()))
        };
        let dir_text = text(&dir)?;
        let (files, connections, tls_server) = match tls {
            None => (String::new(), "4096".to_owned(), String::new()),
            Some(pki) => (
                format!("\nworker_rlimit_nofile {TLS_FILES};"),
                TLS_CONNECTIONS.to_string(),
                TLS_SERVER
                    .replace("{http2}", if h2 { " http2" } else { "" })
                    .replace("{tls_port}", &tls_port.to_string())
                    .replace("{cert}", &text(&pki.cert)?)
                    .replace("{key}", &text(&pki.key)?),
            ),
        };
        let h2c_server = if h2 {
            H2C_SERVER.replace("{h2c_port}", &h2c_port.to_string())
        } else {
            String::new()
        };
        let config = CONFIG
            .replace("{files}", &files)
            .replace("{connections}", &connections)
            .replace("{tls}", &(tls_server + &h2c_server))
            .replace("{dir}", &dir_text)
            .replace("{port}", &port.to_string())
            .replace("{body}", BODY);
        let config_path = dir.join("nginx.conf");
        std::fs::write(&config_path, config)
            .map_err(|error| format!("cannot write {}: {error}", config_path.display()))?;
        let mut command = Command::new(binary);
        command
            .arg("-p")
            .arg(&dir)
            .arg("-c")
            .arg(&config_path)
            .arg("-e")
            .arg(dir.join("error.log"))
            .stdin(Stdio::null());
        measure::pin(&mut command, core);
        let child = command
            .spawn()
            .map_err(|error| format!("cannot start {}: {error}", binary.display()))?;
        let mut nginx = Nginx {
            child,
            addr: format!("127.0.0.1:{port}"),
            tls_addr: tls.map(|_| format!("127.0.0.1:{tls_port}")),
            h2c_addr: h2.then(|| format!("127.0.0.1:{h2c_port}")),
            dir,
        };
        let deadline = Instant::now() + START_TIMEOUT;
        let listening = |nginx: &Nginx| {
            TcpStream::connect(&nginx.addr).is_ok()
                && [&nginx.tls_addr, &nginx.h2c_addr]
                    .into_iter()
                    .flatten()
                    .all(|addr| TcpStream::connect(addr).is_ok())
        };
        while !listening(&nginx) {
            if Instant::now() > deadline || nginx.child.try_wait().ok().flatten().is_some() {
                return Err(format!(
                    "nginx did not listen on {} within {START_TIMEOUT:?}; its log: {}",
                    nginx.addr,
                    std::fs::read_to_string(nginx.dir.join("error.log")).unwrap_or_default()
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(nginx)
    }

    /// The URL clients load.
    pub(crate) fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// The URL of the HTTPS server's `path`, if it serves HTTPS.
    pub(crate) fn tls_url(&self, path: &str) -> Option<String> {
        Some(format!("https://{}{path}", self.tls_addr.as_ref()?))
    }

    /// The size of the TLS server's log of [`HANDSHAKE_PATH`] so far: where the lines of the
    /// next run will start (see [`Nginx::logged_since`]).
    pub(crate) fn log_position(&self) -> u64 {
        std::fs::metadata(self.handshake_log()).map_or(0, |meta| meta.len())
    }

    /// The requests logged on [`HANDSHAKE_PATH`] since `position` (from
    /// [`Nginx::log_position`]). nginx writes each line as the request ends, unbuffered.
    pub(crate) fn logged_since(&self, position: u64) -> Result<Logged, String> {
        let path = self.handshake_log();
        let bytes = std::fs::read(&path)
            .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
        let start = usize::try_from(position)
            .unwrap_or(usize::MAX)
            .min(bytes.len());
        logged(&String::from_utf8_lossy(&bytes[start..]))
    }

    /// The log of [`HANDSHAKE_PATH`].
    fn handshake_log(&self) -> PathBuf {
        self.dir.join("handshakes.log")
    }

    /// Requests nginx has served so far, this one (the `stub_status` request) included.
    pub(crate) fn requests(&self) -> Result<u64, String> {
        let mut stream = TcpStream::connect(&self.addr)
            .map_err(|error| format!("cannot connect to nginx for its status: {error}"))?;
        stream
            .write_all(b"GET /nginx_status HTTP/1.0\r\nHost: localhost\r\n\r\n")
            .map_err(|error| format!("cannot ask nginx for its status: {error}"))?;
        let mut response = String::new();
        stream
            .read_to_string(&mut response)
            .map_err(|error| format!("cannot read nginx's status: {error}"))?;
        let body = response
            .split_once("\r\n\r\n")
            .map_or("", |(_head, body)| body);
        served(body)
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// nginx on `PATH` or where Debian puts it (`/usr/sbin`, not on a user's `PATH`).
pub(crate) fn find() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin")])
        .map(|dir| dir.join("nginx"))
        .find(|candidate| candidate.is_file())
}

/// The lines of the TLS server's log of [`HANDSHAKE_PATH`]: `r` (resumed) or `.`, the
/// protocol, the cipher, the group.
fn logged(text: &str) -> Result<Logged, String> {
    let mut logged = Logged::default();
    for line in text.lines().filter(|line| !line.trim().is_empty()) {
        let (reused, suite) = line
            .split_once(' ')
            .ok_or_else(|| format!("nginx's handshake log: unexpected line {line:?}"))?;
        match reused {
            "r" => logged.resumed += 1,
            "." => {}
            _ => return Err(format!("nginx's handshake log: unexpected line {line:?}")),
        }
        logged.requests += 1;
        *logged.suites.entry(suite.to_owned()).or_default() += 1;
    }
    Ok(logged)
}

/// The `requests` count of a `stub_status` page: the third number of its third line.
fn served(status: &str) -> Result<u64, String> {
    status
        .lines()
        .nth(2)
        .and_then(|line| line.split_whitespace().nth(2))
        .and_then(|count| count.parse().ok())
        .ok_or_else(|| format!("nginx's stub_status has no request count: {status:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_request_count() {
        // Real stub_status of nginx 1.22.1 after a wrk run.
        let status = "Active connections: 1 \nserver accepts handled requests\n \
                      104 104 191055 \nReading: 0 Writing: 1 Waiting: 0 \n";
        assert_eq!(served(status), Ok(191_055));
        assert!(served("Active connections: 1 \n").is_err());
    }

    #[test]
    fn reads_the_handshake_log() {
        // Real lines of nginx 1.22.1 with OpenSSL 3.0: s_time -reuse (its first connection is
        // a full handshake), then ttk http with 2 connections resuming their own sessions (its
        // ring provider offers P-384 first).
        let logged = logged(include_str!("samples/nginx-handshakes.log")).unwrap();
        assert_eq!((logged.requests, logged.resumed), (9, 6));
        assert_eq!(
            logged.suites.get("TLSv1.3 TLS_AES_256_GCM_SHA384 X25519"),
            Some(&4)
        );
        assert!(super::logged("maybe TLSv1.3\n").is_err());
        assert_eq!(super::logged("").unwrap(), Logged::default());
    }
}
