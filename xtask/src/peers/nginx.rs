//! The server every client is measured against: an nginx of our own (never the system's), one
//! process pinned to its own core, answering a 13-byte body on keep-alive connections, counting
//! the requests it serves (`stub_status`). Stopped, by its pid, when dropped — on an error or a
//! panic too.

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::measure;

/// The body of every response: 13 bytes.
pub(crate) const BODY: &str = "Hello, World!";

/// The config; `{dir}` and `{port}` are filled in. One process (`master_process off`: the
/// process we start is the worker, so pinning it pins the worker), room for 1,000 client
/// connections and more, connections kept open for the whole run, no access log (the count
/// comes from `stub_status`).
const CONFIG: &str = r#"
daemon off;
master_process off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events { worker_connections 4096; }
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
    }
}
"#;

/// How long nginx gets to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// A running nginx.
pub(crate) struct Nginx {
    /// The process.
    child: Child,
    /// `127.0.0.1:port`.
    pub(crate) addr: String,
    /// Its config, logs and temporary files.
    dir: PathBuf,
}

impl Nginx {
    /// Starts nginx (`binary`) on a free loopback port, its files under `dir`, pinned to `core`.
    pub(crate) fn start(binary: &Path, dir: PathBuf, core: usize) -> Result<Nginx, String> {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)
            .map_err(|error| format!("cannot create {}: {error}", dir.display()))?;
        // A free port: bind one, let it go, give it to nginx.
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .map_err(|error| format!("no free port: {error}"))?
            .port();
        let dir_text = dir.to_str().ok_or("the target directory is not UTF-8")?;
        let config = CONFIG
            .replace("{dir}", dir_text)
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
            dir,
        };
        let deadline = Instant::now() + START_TIMEOUT;
        while TcpStream::connect(&nginx.addr).is_err() {
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
}
