//! `ttk http` against a real nginx on loopback: every request ttk counts as a success is one
//! nginx logged as served, and nothing nginx served is missing from ttk's count.

#[path = "../../ttk-http/tests/support/nginx.rs"]
mod nginx;

use std::fs;
use std::process::Command;

use nginx::Nginx;
use ttk_report::Report;

/// nginx as the peers benchmark runs it, with an access log to count from. The default
/// `keepalive_requests` (1,000) makes nginx close each connection now and then, so the count
/// also covers ttk reconnecting.
const CONFIG: &str = r#"
daemon off;
master_process off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events { worker_connections 1024; }
http {
    access_log {dir}/access.log;
    client_body_temp_path {dir}/client_body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    default_type text/plain;
    server {
        listen 127.0.0.1:{port};
        location = / { return 200 "Hello, World!"; }
        location = /missing { return 404; }
        location = /moved { return 302 /; }
    }
}
"#;

/// Runs `ttk` with `args`; its exit code and JSON report.
fn ttk(args: &[&str], nginx: &Nginx, name: &str) -> (i32, Report) {
    let json = nginx.dir.join(format!("{name}.json"));
    let status = Command::new(env!("CARGO_BIN_EXE_ttk"))
        .args(args)
        .arg("--json")
        .arg(&json)
        .arg("--quiet")
        .status()
        .unwrap();
    (status.code().unwrap(), Report::read_json(&json).unwrap())
}

/// Requests nginx logged with `status`.
fn served(nginx: &Nginx, status: u16) -> usize {
    fs::read_to_string(nginx.dir.join("access.log"))
        .unwrap()
        .lines()
        .filter(|line| line.contains(&format!("HTTP/1.1\" {status} ")))
        .count()
}

#[test]
fn successes_are_the_requests_nginx_served() {
    let Some(nginx) = Nginx::start(CONFIG, |_| {}) else {
        return;
    };
    let url = format!("http://{}/", nginx.addr);
    let (code, report) = ttk(
        &["http", &url, "-c", "100", "-d", "2s", "--workers", "2"],
        &nginx,
        "ok",
    );
    assert_eq!(code, 0);
    let request = report.transaction("request").unwrap();
    assert_eq!(request.failed, 0);
    assert!(request.ok > 1_000, "only {} requests", request.ok);
    // nginx closes a connection after 1,000 requests: each reopening is a `connect`.
    let connect = report.transaction("connect").unwrap();
    assert_eq!(connect.failed, 0);
    assert!(
        connect.ok >= 100 + request.ok / 1_000 - 100,
        "{} connects",
        connect.ok
    );
    assert!(
        connect.ok <= 100 + request.ok / 1_000 + 100,
        "{} connects",
        connect.ok
    );
    assert_eq!(
        request.ok as usize,
        served(&nginx, 200),
        "ttk's successes against nginx's log"
    );

    // A 404 is a failed request, named by its status; nginx still served it.
    let missing = format!("http://{}/missing", nginx.addr);
    let args = [
        "http",
        &missing,
        "-c",
        "3",
        "-d",
        "300ms",
        "--threshold",
        "failures < 1%",
    ];
    let (code, report) = ttk(&args, &nginx, "missing");
    assert_eq!(code, 1, "the threshold failed");
    let request = report.transaction("request").unwrap();
    assert_eq!(request.ok, 0);
    assert!(request.failed > 0);
    assert_eq!(request.errors[0].kind, "HTTP 404");
    assert_eq!(request.failed as usize, served(&nginx, 404));

    // With --redirects, each request is the redirect and the page it leads to.
    let moved = format!("http://{}/moved", nginx.addr);
    let before = served(&nginx, 200);
    let args = ["http", &moved, "-c", "2", "-d", "300ms", "--redirects", "1"];
    let (code, report) = ttk(&args, &nginx, "moved");
    assert_eq!(code, 0);
    let request = report.transaction("request").unwrap();
    assert_eq!(request.failed, 0);
    assert_eq!(request.ok as usize, served(&nginx, 302));
    assert_eq!(request.ok as usize, served(&nginx, 200) - before);
}
