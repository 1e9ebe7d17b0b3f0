//! `cargo xtask hold-http [--connections N] [--processes P] [--rate R] [--duration S]`: the
//! `ttk` command holding N keep-alive HTTP connections to one nginx on this machine —
//! `ttk http -c N --processes P --rate R -d S`, past one process's open-file limit and one
//! source address's ports — watched through nginx's own `stub_status` each second. Prints the
//! figures, writes `target/ttk-bench/hold-http.json`, and fails unless nginx saw all N
//! connections open at once, no request failed, and ttk's successes equal nginx's access log.

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::cargo;
use crate::sysctl::Sysctls;

/// The usage line of `cargo xtask hold-http`.
pub(crate) const USAGE: &str = "cargo xtask hold-http [--connections N] [--processes P] \
     [--rate R] [--duration SECONDS]";

/// Connections an nginx worker is planned for: the kernel spreads them over the workers
/// sharing the port (`reuseport`) by a hash, so each gets room under its 20,000 files.
const PER_WORKER: u64 = 12_000;

/// The listen backlog and SYN queue asked for during the run.
const BACKLOG: u64 = 65_535;

/// nginx: `{workers}` processes sharing the port, each with room for its share; an access log
/// (buffered: it is read after nginx stops) and `stub_status` on a port of its own.
const CONFIG: &str = r#"
daemon off;
worker_processes {workers};
worker_rlimit_nofile 19500;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events { worker_connections 19000; }
http {
    access_log {dir}/access.log combined buffer=256k flush=1s;
    client_body_temp_path {dir}/client_body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    default_type text/plain;
    keepalive_requests 1000000;
    keepalive_timeout 300s;
    server {
        listen 127.0.0.1:{port} reuseport backlog=65535;
        location = / { return 200 "Hello, World!"; }
    }
    server {
        listen 127.0.0.1:{status_port};
        access_log off;
        location = /status { stub_status; }
    }
}
"#;

/// What to run, from the command line.
#[derive(Clone, Debug)]
pub(crate) struct Plan {
    connections: u64,
    processes: u64,
    rate: u64,
    duration_s: u64,
}

impl Plan {
    /// Reads the flags after `hold-http`.
    pub(crate) fn parse(args: &[String]) -> Result<Plan, String> {
        let mut plan = Plan {
            connections: 50_000,
            processes: 4,
            rate: 5_000,
            duration_s: 30,
        };
        let mut words = args.iter();
        while let Some(flag) = words.next() {
            let value = words.next().ok_or(format!("{flag} needs a value"))?;
            let number: u64 = value
                .replace('_', "")
                .parse()
                .ok()
                .filter(|&number| number > 0)
                .ok_or(format!("{flag}: not a whole number above 0: {value:?}"))?;
            match flag.as_str() {
                "--connections" => plan.connections = number,
                "--processes" => plan.processes = number,
                "--rate" => plan.rate = number,
                "--duration" => plan.duration_s = number,
                _ => return Err(format!("unknown flag {flag}")),
            }
        }
        let ramp_s = plan.connections / plan.rate;
        if ramp_s * 2 > plan.duration_s {
            return Err(format!(
                "connections open as their first request comes: {} at {}/s take {ramp_s} s, \
                 so --duration {} holds them all too briefly; give at least {}",
                plan.connections,
                plan.rate,
                plan.duration_s,
                ramp_s * 2
            ));
        }
        Ok(plan)
    }
}

/// The figures of a run.
#[derive(Debug)]
struct Figures {
    connections: u64,
    processes: u64,
    rate: u64,
    duration_s: u64,
    /// The most connections nginx had open at once (its `stub_status`, minus the one asking).
    peak_open_at_nginx: u64,
    /// Seconds from the start until nginx had them all.
    all_open_after_s: Option<f64>,
    requests_ok: u64,
    requests_failed: u64,
    connects_ok: u64,
    connects_failed: u64,
    /// `GET /` answered 200 in nginx's access log.
    nginx_logged: u64,
    /// Source addresses the connections left from, as nginx logged them.
    sources: usize,
    exit_code: Option<i32>,
    /// The most resident memory of ttk's processes at once, in KiB.
    peak_client_rss_kib: u64,
    /// The most pages of buffer memory the kernel's TCP held at once (`/proc/net/sockstat`),
    /// above what it held before the run.
    peak_tcp_pages: u64,
}

/// Runs `plan`; an error unless every connection was held and counted.
pub(crate) fn run(plan: &Plan) -> Result<(), String> {
    cargo::run(&["build", "--release", "-p", "ttk-cli", "--bin", "ttk"])?;
    let ttk = cargo::target_dir().join("release").join("ttk");
    let out = cargo::target_dir().join("ttk-bench");
    let dir = out.join("hold-http-nginx");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let report_path = out.join("hold-http-report.json");
    let _ = std::fs::remove_file(&report_path);

    let mut sysctls = Sysctls::default();
    sysctls.raise("net.core.somaxconn", BACKLOG);
    sysctls.raise("net.ipv4.tcp_max_syn_backlog", BACKLOG);
    sysctls.read("net.ipv4.ip_local_port_range");
    println!("kernel settings:\n{}", sysctls.describe());

    let workers = plan.connections.div_ceil(PER_WORKER) + 1;
    let nginx = Nginx::start(&dir, workers)?;
    let url = format!("http://127.0.0.1:{}/", nginx.port);
    let args = [
        "http".to_owned(),
        url,
        "-c".to_owned(),
        plan.connections.to_string(),
        "--processes".to_owned(),
        plan.processes.to_string(),
        "--rate".to_owned(),
        plan.rate.to_string(),
        "-d".to_owned(),
        format!("{}s", plan.duration_s),
        "--json".to_owned(),
        report_path.to_string_lossy().into_owned(),
    ];
    println!("nginx: {workers} workers; client: ttk {}", args.join(" "));
    let started = Instant::now();
    let mut client = Command::new(&ttk)
        .args(&args)
        .stdin(Stdio::null())
        .spawn()
        .map_err(|error| format!("cannot start {}: {error}", ttk.display()))?;
    let limit = Duration::from_secs(plan.duration_s + 60);
    let mut peak = 0;
    let mut all_open_after_s = None;
    let (mut peak_client_rss_kib, mut peak_tcp_pages) = (0, 0);
    let tcp_pages_before = crate::procfs::tcp_sockstat().map_or(0, |(_, pages)| pages);
    let status = loop {
        if let Some(status) = client.try_wait().map_err(|e| e.to_string())? {
            break status;
        }
        if started.elapsed() > limit {
            let _ = client.kill();
        }
        peak_client_rss_kib = peak_client_rss_kib.max(crate::procfs::tree(client.id()).kib);
        if let Ok((_, pages)) = crate::procfs::tcp_sockstat() {
            peak_tcp_pages = peak_tcp_pages.max(pages.saturating_sub(tcp_pages_before));
        }
        if let Ok(open) = nginx.open_connections() {
            peak = peak.max(open);
            if open >= plan.connections && all_open_after_s.is_none() {
                all_open_after_s = Some(started.elapsed().as_secs_f64());
            }
        }
        std::thread::sleep(Duration::from_secs(1));
    };
    let log = nginx.stop()?;
    drop(sysctls);

    let report = ttk_report::Report::read_json(&report_path)
        .map_err(|error| format!("ttk left no report: {error}"))?;
    let count = |name: &str| {
        report
            .transaction(name)
            .map_or((0, 0), |transaction| (transaction.ok, transaction.failed))
    };
    let served: Vec<&str> = log
        .lines()
        .filter(|line| line.contains("\"GET / HTTP/1.1\" 200 "))
        .collect();
    let sources: std::collections::BTreeSet<&str> = served
        .iter()
        .filter_map(|line| line.split(' ').next())
        .collect();
    let figures = Figures {
        connections: plan.connections,
        processes: plan.processes,
        rate: plan.rate,
        duration_s: plan.duration_s,
        peak_open_at_nginx: peak,
        all_open_after_s,
        requests_ok: count("request").0,
        requests_failed: count("request").1,
        connects_ok: count("connect").0,
        connects_failed: count("connect").1,
        nginx_logged: served.len() as u64,
        sources: sources.len(),
        exit_code: status.code(),
        peak_client_rss_kib,
        peak_tcp_pages,
    };
    println!("{figures:#?}");
    let json = serde_json::to_string_pretty(&serde_json::json!({
        "connections": figures.connections,
        "processes": figures.processes,
        "rate": figures.rate,
        "duration_s": figures.duration_s,
        "peak_open_at_nginx": figures.peak_open_at_nginx,
        "all_open_after_s": figures.all_open_after_s,
        "requests_ok": figures.requests_ok,
        "requests_failed": figures.requests_failed,
        "connects_ok": figures.connects_ok,
        "connects_failed": figures.connects_failed,
        "nginx_logged": figures.nginx_logged,
        "sources": figures.sources,
        "exit_code": figures.exit_code,
        "peak_client_rss_kib": figures.peak_client_rss_kib,
        "client_rss_bytes_per_connection":
            figures.peak_client_rss_kib as f64 * 1024.0 / figures.connections as f64,
        "peak_tcp_buffer_pages": figures.peak_tcp_pages,
    }))
    .map_err(|e| e.to_string())?;
    let path = out.join("hold-http.json");
    std::fs::write(&path, json).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    println!("written: {}", path.display());

    let mut missed = Vec::new();
    if figures.exit_code != Some(0) {
        missed.push(format!("ttk exited with {:?}", figures.exit_code));
    }
    if figures.peak_open_at_nginx < plan.connections {
        missed.push(format!(
            "nginx saw at most {} connections open, not {}",
            figures.peak_open_at_nginx, plan.connections
        ));
    }
    if figures.requests_failed + figures.connects_failed > 0 {
        missed.push(format!(
            "{} requests and {} connects failed",
            figures.requests_failed, figures.connects_failed
        ));
    }
    if figures.requests_ok != figures.nginx_logged {
        missed.push(format!(
            "ttk counted {} successes, nginx logged {}",
            figures.requests_ok, figures.nginx_logged
        ));
    }
    match missed.is_empty() {
        true => {
            println!(
                "held: {} connections at once, {} requests, as many as nginx logged; client \
                 memory at its peak {} KiB ({:.0} B a connection, {} processes), kernel TCP \
                 buffers {} pages",
                plan.connections,
                figures.requests_ok,
                figures.peak_client_rss_kib,
                figures.peak_client_rss_kib as f64 * 1024.0 / plan.connections as f64,
                plan.processes,
                figures.peak_tcp_pages
            );
            Ok(())
        }
        false => Err(missed.join("; ")),
    }
}

/// nginx with an access log, stopped when dropped (also for `cargo xtask slurm`'s `ttk http`
/// array).
pub(crate) struct Nginx {
    child: Child,
    /// The port it serves `/` on.
    pub(crate) port: u16,
    status_port: u16,
    dir: PathBuf,
}

impl Nginx {
    /// Starts nginx with `workers` workers, its files under `dir`.
    pub(crate) fn start(dir: &Path, workers: u64) -> Result<Nginx, String> {
        let binary = crate::peers::nginx::find()
            .ok_or("nginx is not installed (apt-get install nginx-light): it is the server held")?;
        let free = || -> Result<u16, String> {
            let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
            Ok(listener.local_addr().map_err(|e| e.to_string())?.port())
        };
        let (port, status_port) = (free()?, free()?);
        let config = CONFIG
            .replace("{workers}", &workers.to_string())
            .replace("{dir}", &dir.to_string_lossy())
            .replace("{port}", &port.to_string())
            .replace("{status_port}", &status_port.to_string());
        let config_path = dir.join("nginx.conf");
        std::fs::write(&config_path, config).map_err(|e| e.to_string())?;
        let child = Command::new(&binary)
            .arg("-p")
            .arg(dir)
            .arg("-c")
            .arg(&config_path)
            .arg("-e")
            .arg(dir.join("error.log"))
            .stdin(Stdio::null())
            .spawn()
            .map_err(|error| format!("cannot start {}: {error}", binary.display()))?;
        let nginx = Nginx {
            child,
            port,
            status_port,
            dir: dir.to_owned(),
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while nginx.open_connections().is_err() {
            if Instant::now() > deadline {
                return Err(format!(
                    "nginx did not start; its log: {}",
                    std::fs::read_to_string(dir.join("error.log")).unwrap_or_default()
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(nginx)
    }

    /// Client connections nginx has open (`stub_status`'s active connections, less the one
    /// asking).
    fn open_connections(&self) -> Result<u64, String> {
        let mut stream =
            TcpStream::connect(("127.0.0.1", self.status_port)).map_err(|e| e.to_string())?;
        stream
            .write_all(b"GET /status HTTP/1.0\r\nHost: localhost\r\n\r\n")
            .map_err(|e| e.to_string())?;
        let mut response = String::new();
        stream
            .read_to_string(&mut response)
            .map_err(|e| e.to_string())?;
        response
            .split("Active connections:")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|count| count.parse::<u64>().ok())
            .map(|count| count.saturating_sub(1))
            .ok_or_else(|| format!("no count in nginx's status: {response:?}"))
    }

    /// Stops nginx gracefully (its access log flushed); the log.
    pub(crate) fn stop(mut self) -> Result<String, String> {
        let _ = Command::new("kill")
            .args(["-QUIT", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        let path = self.dir.join("access.log");
        std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
