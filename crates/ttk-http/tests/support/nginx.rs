//! A real nginx on loopback for tests: started from a config the test gives (a single
//! process, `daemon off; master_process off;`, its files under the target directory, a free
//! port) and stopped when dropped. Shared by ttk-http's and ttk-cli's tests (ttk-cli includes
//! this file by path).
//!
//! Needs nginx (Debian: `apt-get install -y nginx`; `.ci/run` installs it). Without it a test
//! says it is skipped and passes, unless `TTK_REQUIRE_NGINX` is set.

#![allow(dead_code, unreachable_pub)]

use std::fs;
use std::io::Write as _;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A whole config for [`Nginx::start`]: one process in the foreground, its files under
/// `{dir}`, `connections` worker connections, and `http` (directives and server blocks, with
/// `{dir}` and `{port}` left to fill in) inside the `http` block, after the temporary paths.
pub fn config(connections: u32, http: &str) -> String {
    format!(
        "daemon off;\nmaster_process off;\nworker_processes 1;\npid {{dir}}/nginx.pid;\n\
         error_log {{dir}}/error.log warn;\nevents {{ worker_connections {connections}; }}\n\
         http {{\n    client_body_temp_path {{dir}}/client_body;\n    \
         proxy_temp_path {{dir}}/proxy;\n    fastcgi_temp_path {{dir}}/fastcgi;\n    \
         uwsgi_temp_path {{dir}}/uwsgi;\n    scgi_temp_path {{dir}}/scgi;\n{http}\n}}\n"
    )
}

/// A running nginx, stopped when dropped.
pub struct Nginx {
    /// The process.
    child: Child,
    /// `127.0.0.1:port`.
    pub addr: String,
    /// Its files: the config, the logs, `www/` (the root the config may serve).
    pub dir: PathBuf,
}

impl Nginx {
    /// Starts nginx with `config`, in which `{dir}` and `{port}` are filled in, after
    /// `prepare` put files in `{dir}`; or says the test is skipped and returns `None`.
    pub fn start(config: &str, prepare: impl FnOnce(&Path)) -> Option<Nginx> {
        let Some(binary) = find_nginx() else {
            if std::env::var_os("TTK_REQUIRE_NGINX").is_some() {
                panic!(
                    "TTK_REQUIRE_NGINX is set but nginx is not installed: \
                     install it with `apt-get install -y nginx`"
                );
            }
            // Straight to stderr, not through eprintln!, which the harness captures: a skip
            // must be seen.
            let _ = writeln!(
                std::io::stderr(),
                "skipped: nginx not installed (set TTK_REQUIRE_NGINX=1 to require it)"
            );
            return None;
        };
        // A directory per nginx: tests of one file run in parallel, each with its own.
        static STARTED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let number = STARTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("nginx-{}-{number}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("www")).unwrap();
        prepare(&dir);
        // A free port: bind one, let it go, give it to nginx. Tests of one file run at once,
        // and two may be given the same port: the second nginx then fails to bind (and tries
        // again for 2 s), while a probe of the port reaches the first, which may go away
        // mid-test. So nginx counts as up only once its pid file is written (nginx writes it
        // after it bound its port), and one that gave up on its port starts again on another.
        let pid_file = dir.join("nginx.pid");
        let mut tries = 0;
        let nginx = loop {
            tries += 1;
            let port = TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let filled = config
                .replace("{dir}", dir.to_str().unwrap())
                .replace("{port}", &port.to_string());
            fs::write(dir.join("nginx.conf"), &filled).unwrap();
            let _ = fs::remove_file(&pid_file);
            let child = Command::new(&binary)
                .arg("-p")
                .arg(&dir)
                .arg("-c")
                .arg(dir.join("nginx.conf"))
                .arg("-e")
                .arg(dir.join("error.log"))
                .stdin(Stdio::null())
                .spawn()
                .expect("nginx starts");
            let mut nginx = Nginx {
                child,
                addr: format!("127.0.0.1:{port}"),
                dir: dir.clone(),
            };
            let has_pid_file = filled.contains("nginx.pid");
            let deadline = Instant::now() + Duration::from_secs(10);
            let up = loop {
                if let Ok(Some(_)) = nginx.child.try_wait() {
                    break false; // it ended: its port was taken, or its config is wrong
                }
                if (!has_pid_file || pid_file.exists()) && TcpStream::connect(&nginx.addr).is_ok() {
                    break true;
                }
                assert!(
                    Instant::now() < deadline,
                    "nginx did not listen on {} within 10 s; its log: {}",
                    nginx.addr,
                    fs::read_to_string(dir.join("error.log")).unwrap_or_default()
                );
                std::thread::sleep(Duration::from_millis(20));
            };
            if up {
                break nginx;
            }
            let log = fs::read_to_string(dir.join("error.log")).unwrap_or_default();
            assert!(
                tries < 5 && log.contains("Address already in use"),
                "nginx ended at its start; its log: {log}"
            );
            // Its files stay for the next try: only the process is gone.
            nginx.dir = PathBuf::new();
        };
        Some(nginx)
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// nginx on PATH or where Debian puts it (`/usr/sbin`, not on a user's PATH).
fn find_nginx() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin")])
        .map(|dir| dir.join("nginx"))
        .find(|candidate| candidate.is_file())
}
