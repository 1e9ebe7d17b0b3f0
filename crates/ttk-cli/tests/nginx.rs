//! `ttk http` against a real nginx on loopback: every request ttk counts as a success is one
//! nginx logged as served, and nothing nginx served is missing from ttk's count — also when
//! nginx closes idle connections, and for what wrk reads (bodies of any size, a head of 100
//! `Set-Cookie` lines, a relative redirect).

#[path = "../../ttk-http/tests/support/nginx.rs"]
mod nginx;

use std::fs;
use std::process::Command;

use nginx::Nginx;
use ttk_report::Report;

/// The counter of requests sent again on a new connection.
const RESENT: &str = "requests sent again (server closed an idle connection)";

/// nginx as the peers benchmark runs it, with an access log to count from. The default
/// `keepalive_requests` (1,000) makes nginx close each connection now and then, so the count
/// also covers ttk reconnecting.
const HTTP: &str = r#"
    default_type text/plain;
    access_log {dir}/access.log;
    server {
        listen 127.0.0.1:{port};
        location = / { return 200 "Hello, World!"; }
        location = /missing { return 404; }
        location = /moved { return 302 /; }
    }
"#;

/// The whole config: [`HTTP`] in the common frame.
fn config() -> String {
    nginx::config(1024, HTTP)
}

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
    let Some(nginx) = Nginx::start(&config(), |_| {}) else {
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

/// nginx closing idle connections after 1 s, serving a 20 MiB file, a head with 100
/// `Set-Cookie` lines and a relative redirect (`Location: next`, as `absolute_redirect off`
/// sends it); `{cookies}` is filled in.
const WHAT_WRK_READS: &str = r#"
    access_log {dir}/access.log;
    log_format connection '$connection';
    access_log {dir}/connections.log connection;
    default_type application/octet-stream;
    keepalive_timeout 1s;
    absolute_redirect off;
    server {
        listen 127.0.0.1:{port};
        root {dir}/www;
        location = / { return 200 "Hello, World!"; }
        location = /cookies {
{cookies}
            return 200 "cookies";
        }
        location = /dir/page { return 302 next; }
        location = /dir/next { return 200 "next"; }
    }
"#;

/// Requests nginx logged for `path` with `status`.
fn served_at(nginx: &Nginx, path: &str, status: u16) -> usize {
    fs::read_to_string(nginx.dir.join("access.log"))
        .unwrap()
        .lines()
        .filter(|line| line.contains(&format!("\"GET {path} HTTP/1.1\" {status} ")))
        .count()
}

/// Runs `ttk http` on `path` with `flags`; asserts it passed with no failed request and as
/// many successes as nginx logged 200s at `logged_path`; the successes.
fn all_served(nginx: &Nginx, path: &str, flags: &[&str], logged_path: &str) -> u64 {
    let url = format!("http://{}{path}", nginx.addr);
    let mut args = vec!["http", &url];
    args.extend_from_slice(flags);
    let (code, report) = ttk(&args, nginx, &path.replace('/', "_"));
    assert_eq!(code, 0, "{path}");
    let request = report.transaction("request").unwrap();
    assert_eq!(request.failed, 0, "{path}: {:?}", request.errors);
    assert!(request.ok > 0, "{path}");
    assert_eq!(
        request.ok as usize,
        served_at(nginx, logged_path, 200),
        "{path}: ttk's successes against nginx's log"
    );
    request.ok
}

#[test]
fn idle_closes_big_bodies_many_headers_and_relative_redirects_are_no_failures() {
    let cookies: String = (0..100)
        .map(|i| format!("            add_header Set-Cookie \"c{i}=v{i}; Path=/\";\n"))
        .collect();
    let config = nginx::config(1024, WHAT_WRK_READS).replace("{cookies}", &cookies);
    let Some(nginx) = Nginx::start(&config, |dir| {
        let big: Vec<u8> = (0..20 << 20).map(|i: u32| (i % 251) as u8).collect();
        fs::write(dir.join("www/big.bin"), big).unwrap();
    }) else {
        return;
    };
    // Each connection sends every 1.25 s: nginx has closed it (idle for 1 s) every time.
    let paced = ["-c", "5", "--rate", "4", "-d", "4s"];
    let ok = all_served(&nginx, "/", &paced, "/");
    assert!(ok >= 10, "{ok} requests");
    // ttk saw each close before its next request: every connection is a timed connect, and no
    // request was sent on a closed one (and again, inside its own time).
    let report = Report::read_json(nginx.dir.join("_.json")).unwrap();
    let connections: std::collections::HashSet<String> =
        fs::read_to_string(nginx.dir.join("connections.log"))
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect();
    assert_eq!(
        report.transaction("connect").unwrap().ok as usize,
        connections.len(),
        "ttk's connects against nginx's connections"
    );
    assert_eq!(report.counters.get(RESENT), None, "{:?}", report.counters);
    // 20 MiB bodies: over the 16 MiB a kept body may have, counted and dropped.
    all_served(&nginx, "/big.bin", &["-c", "2", "-d", "1s"], "/big.bin");
    all_served(&nginx, "/cookies", &["-c", "2", "-d", "300ms"], "/cookies");
    let redirected = all_served(
        &nginx,
        "/dir/page",
        &["-c", "2", "-d", "300ms", "--redirects", "1"],
        "/dir/next",
    );
    assert_eq!(redirected as usize, served_at(&nginx, "/dir/page", 302));
}
