//! Watching a run while it goes, against a real nginx: the dashboard's status changes from one
//! moment to the next, its page loads its script, and after the run `/metrics` says what the
//! JSON report and nginx's access log say; a real Prometheus scraping the run stores the same
//! counters.

#[path = "../../ttk-http/tests/support/nginx.rs"]
mod nginx;
mod support;

use std::fs;
use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nginx::Nginx;
use support::{HELLO_NGINX, free_port, scratch};
use ttk_report::Report;

/// `GET path` from `127.0.0.1:port`: the status code and the body (`None` if nothing listens).
fn get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    let code = head.split(' ').nth(1)?.parse().ok()?;
    Some((code, body.to_owned()))
}

/// `POST path` with the JSON `body` to `127.0.0.1:port`, with `token` as a bearer token: the
/// status code and the body.
fn post(port: u16, path: &str, body: &str, token: Option<&str>) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let authorization = token.map_or(String::new(), |token| {
        format!("Authorization: Bearer {token}\r\n")
    });
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
         {authorization}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    (
        head.split(' ').nth(1).unwrap().parse().unwrap(),
        body.to_owned(),
    )
}

/// `/status`'s count of bots alive.
fn bots_active(port: u16) -> u64 {
    let (_, status) = get(port, "/status").unwrap();
    let status: serde_json::Value = serde_json::from_str(&status).unwrap();
    status["bots_active"].as_u64().unwrap()
}

/// Waits until `/status` counts `bots` bots alive.
fn wait_for_bots(port: u16, bots: u64) {
    let started = Instant::now();
    while bots_active(port) != bots {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "never {bots} bots, {} instead",
            bots_active(port)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The value of the sample of `metric` whose labels contain every one of `labels`.
fn sample(text: &str, metric: &str, labels: &[&str]) -> Option<f64> {
    text.lines()
        .filter(|line| line.starts_with(&format!("{metric}{{")))
        .find(|line| labels.iter().all(|label| line.contains(label)))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
}

/// `/status`'s count of `request` successes.
fn requests_ok(status: &str) -> u64 {
    let status: serde_json::Value = serde_json::from_str(status).unwrap();
    status["transactions"]["request"]["ok"]
        .as_u64()
        .unwrap_or(0)
}

/// Requests nginx logged as served (`GET /`, 200).
fn served(nginx: &Nginx) -> u64 {
    support::served_hello(&nginx.dir)
}

/// Starts `ttk args…`, its output kept.
fn start_ttk(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_ttk"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits until `/status` on `port` says `state`; its text.
fn wait_for_state(port: u16, state: &str) -> String {
    let started = Instant::now();
    loop {
        if let Some((200, status)) = get(port, "/status")
            && status.contains(&format!("\"state\":\"{state}\""))
        {
            return status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the run never said {state}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Asks `child` to stop (as Ctrl-C does) and waits for it.
fn interrupt(child: Child) -> std::process::Output {
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    child.wait_with_output().unwrap()
}

#[test]
fn the_dashboard_shows_the_run_as_it_goes_and_its_metrics_equal_the_report() {
    let Some(nginx) = Nginx::start(&nginx::config(1024, HELLO_NGINX), |_| {}) else {
        return;
    };
    let url = format!("http://{}/", nginx.addr);
    let port = free_port();
    let json = nginx.dir.join("live.json");
    let dashboard = format!("--dashboard=127.0.0.1:{port}");
    let ttk = start_ttk(&[
        "http",
        &url,
        "-c",
        "5",
        "--rate",
        "500",
        "-d",
        "3s",
        &dashboard,
        "--dashboard-linger",
        "60s",
        "--json",
        json.to_str().unwrap(),
        "-q",
    ]);
    // Two moments of the run: the count moved on.
    let first = requests_ok(&wait_for_state(port, "running"));
    std::thread::sleep(Duration::from_millis(1200));
    let second = requests_ok(&wait_for_state(port, "running"));
    assert!(second > first, "{first} then {second}");

    let (code, page) = get(port, "/").unwrap();
    assert_eq!(code, 200);
    assert!(page.contains("<title>ttk http — ttk report</title>"));
    assert!(page.contains("<script src=\"/dashboard.js\"></script>"));
    assert!(page.contains("script-src 'self'"));
    let (code, script) = get(port, "/dashboard.js").unwrap();
    assert_eq!(code, 200);
    assert!(script.contains("fetch(\"/live\""));
    let (code, main) = get(port, "/live").unwrap();
    assert_eq!(code, 200);
    assert!(main.contains("<h1>ttk http</h1>") && !main.contains("<html"));
    assert_eq!(get(port, "/nothing").unwrap().0, 404);

    // After the run the final report is served: its counts are the JSON report's and nginx's.
    let status = wait_for_state(port, "finished");
    let report = Report::read_json(&json).unwrap();
    let request = report.transaction("request").unwrap();
    assert_eq!(requests_ok(&status), request.ok);
    let (code, metrics) = get(port, "/metrics").unwrap();
    assert_eq!(code, 200);
    let labels = ["transaction=\"request\"", "outcome=\"ok\""];
    assert_eq!(
        sample(&metrics, "ttk_transactions_total", &labels),
        Some(request.ok as f64)
    );
    assert_eq!(
        sample(
            &metrics,
            "ttk_transaction_duration_seconds_count",
            &["transaction=\"request\""]
        ),
        Some(request.ok as f64)
    );
    assert_eq!(request.ok, served(&nginx), "nginx's count");
    assert_eq!(request.failed, 0);

    // Ctrl-C ends the linger; the run's verdict stands.
    let started = Instant::now();
    let output = interrupt(ttk);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(get(port, "/status").is_none(), "still serving");
}

#[test]
fn bots_changed_from_the_dashboard_come_and_go_and_the_report_says_when() {
    let Some(nginx) = Nginx::start(&nginx::config(1024, HELLO_NGINX), |_| {}) else {
        return;
    };
    let url = format!("http://{}/", nginx.addr);
    let port = free_port();
    let json = nginx.dir.join("controlled.json");
    let dashboard = format!("--dashboard=127.0.0.1:{port}");
    // Under an open-file limit of 1,024 (whatever this machine's), to ask past it below.
    let ttk = Command::new("sh")
        .args(["-c", "ulimit -n 1024 && exec \"$0\" \"$@\""])
        .arg(env!("CARGO_BIN_EXE_ttk"))
        .args([
            "http",
            &url,
            "-c",
            "2",
            "-d",
            "5s",
            &dashboard,
            "--json",
            json.to_str().unwrap(),
            "-q",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_state(port, "running");
    wait_for_bots(port, 2);
    assert_eq!(post(port, "/control", r#"{"bots": 6}"#, None).0, 200);
    wait_for_bots(port, 6);
    std::thread::sleep(Duration::from_millis(1500));
    let (code, body) = post(port, "/control", r#"{"bots": 1}"#, None);
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("bots 6 → 1"), "{body}");
    wait_for_bots(port, 1);
    // What is not a change is refused, and changes nothing.
    assert_eq!(post(port, "/control", r#"{"bots": "many"}"#, None).0, 409);
    // More connections than the open-file limit lets a process hold: refused, as -c is.
    let (code, body) = post(port, "/control", r#"{"bots": 2000}"#, None);
    assert_eq!(code, 409, "{body}");
    assert!(body.contains("more than this run can hold"), "{body}");
    assert_eq!(post(port, "/control", "bots=3", None).0, 400);
    assert_eq!(post(port, "/control", r#"{"rate": 50}"#, None).0, 409);
    assert_eq!(get(port, "/control").unwrap().0, 405, "a change is a POST");

    let output = ttk.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    let report = Report::read_json(&json).unwrap();
    let changes: Vec<&str> = report.run.changes.iter().map(|c| c.what.as_str()).collect();
    assert_eq!(changes, ["bots 2 → 6", "bots 6 → 1"]);
    assert!(report.run.changes[0].t_s < report.run.changes[1].t_s);
    let peak = report.series.iter().map(|s| s.active_bots).max().unwrap();
    assert_eq!(peak, 6, "the peak of bots");
    assert_eq!(report.bots.started, 6, "2, then 4 more; none when lowered");
    let request = report.transaction("request").unwrap();
    assert_eq!((request.failed, request.ok), (0, served(&nginx)));
    let summary = String::from_utf8_lossy(&output.stdout);
    assert!(summary.contains("load changed: at "), "{summary}");
    assert!(summary.contains("bots 2 → 6; at "), "{summary}");
    let html = report.to_html();
    assert!(html.contains("Load changed") && html.contains("bots 2 → 6"));
}

#[test]
fn the_parent_of_processes_shows_the_sum_of_its_children() {
    let Some(nginx) = Nginx::start(&nginx::config(1024, HELLO_NGINX), |_| {}) else {
        return;
    };
    let url = format!("http://{}/", nginx.addr);
    let port = free_port();
    let json = nginx.dir.join("processes.json");
    let dashboard = format!("--dashboard=127.0.0.1:{port}");
    let ttk = start_ttk(&[
        "http",
        &url,
        "-c",
        "6",
        "-d",
        "6s",
        "--processes",
        "2",
        &dashboard,
        "--dashboard-linger",
        "60s",
        "--json",
        json.to_str().unwrap(),
        "-q",
    ]);
    // Both children's bots, 3 each, in one view; their requests summed as they go.
    wait_for_state(port, "running");
    wait_for_bots(port, 6);
    let first = requests_ok(&wait_for_state(port, "running"));
    std::thread::sleep(Duration::from_millis(1500));
    let second = requests_ok(&wait_for_state(port, "running"));
    assert!(second > first, "{first} then {second}");
    // A change made on the parent reaches both children: 5 bots each.
    let (code, body) = post(port, "/control", r#"{"bots": 10}"#, None);
    assert_eq!(code, 200, "{body}");
    wait_for_bots(port, 10);
    // After the run, the merged report.
    let status = wait_for_state(port, "finished");
    let report = Report::read_json(&json).unwrap();
    assert_eq!(report.run.processes, 2);
    let changes: Vec<&str> = report.run.changes.iter().map(|c| c.what.as_str()).collect();
    assert_eq!(changes, ["bots 6 → 10"], "recorded once, for the whole run");
    assert_eq!(report.bots.started, 10);
    assert_eq!(report.series.iter().map(|s| s.active_bots).max(), Some(10));
    let request = report.transaction("request").unwrap();
    assert_eq!(requests_ok(&status), request.ok);
    assert_eq!(request.ok, served(&nginx));
    let (_, metrics) = get(port, "/metrics").unwrap();
    assert_eq!(
        sample(
            &metrics,
            "ttk_transactions_total",
            &["transaction=\"request\"", "outcome=\"ok\""]
        ),
        Some(request.ok as f64)
    );
    assert_eq!(interrupt(ttk).status.code(), Some(0));
}

/// The failures of `transaction` by kind in a report's JSON: `(kind, count)`.
fn failures_by_kind(report: &str, transaction: &str) -> Vec<(String, u64)> {
    let report: serde_json::Value = serde_json::from_str(report).unwrap();
    let transactions = report["transactions"].as_array().unwrap();
    let Some(found) = transactions.iter().find(|t| t["name"] == transaction) else {
        return Vec::new();
    };
    found["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|tally| {
            let kind = tally["kind"].as_str().unwrap().to_owned();
            (kind, tally["count"].as_u64().unwrap())
        })
        .collect()
}

#[test]
fn the_parent_of_processes_shows_its_childrens_failures_by_kind_as_they_come() {
    let Some(nginx) = Nginx::start(&nginx::config(1024, HELLO_NGINX), |_| {}) else {
        return;
    };
    // Nothing is served there: every request fails with nginx's 404.
    let url = format!("http://{}/missing", nginx.addr);
    let port = free_port();
    let json = nginx.dir.join("failures.json");
    let dashboard = format!("--dashboard=127.0.0.1:{port}");
    let ttk = start_ttk(&[
        "http",
        &url,
        "-c",
        "4",
        "-d",
        "5s",
        "--rate",
        "200",
        "--processes",
        "2",
        &dashboard,
        "--dashboard-linger",
        "60s",
        "--json",
        json.to_str().unwrap(),
        "-q",
    ]);
    // While the run goes on, not only in the merged report at its end: the kind, its count
    // growing, and the same in /metrics.
    wait_for_state(port, "running");
    let started = Instant::now();
    let first = loop {
        let (_, live) = get(port, "/report.json").unwrap();
        let kinds = failures_by_kind(&live, "request");
        if let [(kind, count)] = &kinds[..]
            && *count > 0
        {
            break (kind.clone(), *count);
        }
        assert!(kinds.len() <= 1, "one kind of failure: {kinds:?}");
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "no failure by kind in the live view: {live}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(first.0.contains("404"), "{first:?}");
    std::thread::sleep(Duration::from_millis(1500));
    let (_, live) = get(port, "/report.json").unwrap();
    let state: serde_json::Value = serde_json::from_str(&live).unwrap();
    assert_eq!(state["run"]["end"], "running", "still going");
    let later = failures_by_kind(&live, "request");
    assert_eq!(later.len(), 1, "{later:?}");
    assert!(later[0].1 > first.1, "{first:?} then {later:?}");
    let (_, metrics) = get(port, "/metrics").unwrap();
    let kind_label = format!("kind=\"{}\"", first.0);
    let live_failures = sample(
        &metrics,
        "ttk_transaction_failures_total",
        &["transaction=\"request\"", &kind_label],
    );
    assert!(live_failures.is_some_and(|n| n > 0.0), "{metrics}");
    // After the run, the merged report: every failure of that one kind, as nginx logged.
    wait_for_state(port, "finished");
    let report = Report::read_json(&json).unwrap();
    let request = report.transaction("request").unwrap();
    assert_eq!(request.ok, 0);
    assert_eq!(request.errors.len(), 1);
    assert_eq!(request.errors[0].kind, first.0);
    assert_eq!(request.errors[0].count, request.failed);
    let logged = fs::read_to_string(nginx.dir.join("access.log")).unwrap();
    let not_found = logged
        .lines()
        .filter(|line| line.contains("\"GET /missing HTTP/1.1\" 404 "))
        .count() as u64;
    assert_eq!(request.failed, not_found);
    assert_eq!(interrupt(ttk).status.code(), Some(1), "nothing succeeded");
}

/// A network namespace joined to this one by a veth pair: `10.213.N.1` here, `10.213.N.2`
/// there. Removed when dropped.
struct Namespace {
    name: String,
    here: String,
    there: String,
}

impl Namespace {
    /// Makes one, or `None` where this process may not (not root, no `ip`).
    fn make() -> Option<Namespace> {
        let id = std::process::id() % 100_000;
        let subnet = std::process::id() % 250 + 1;
        let namespace = Namespace {
            name: format!("ttk-test-{id}"),
            here: format!("ttkh{id}"),
            there: format!("ttkn{id}"),
        };
        let ip = |args: &[&str]| {
            Command::new("ip")
                .args(args)
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|status| status.success())
        };
        if !ip(&["netns", "add", &namespace.name]) {
            return None;
        }
        let (name, here, there) = (&namespace.name, &namespace.here, &namespace.there);
        let (near, far) = (
            format!("10.213.{subnet}.1/30"),
            format!("10.213.{subnet}.2/30"),
        );
        let made = ip(&["link", "add", here, "type", "veth", "peer", "name", there])
            && ip(&["link", "set", there, "netns", name])
            && ip(&["addr", "add", &near, "dev", here])
            && ip(&["link", "set", here, "up"])
            && ip(&[
                "netns", "exec", name, "ip", "addr", "add", &far, "dev", there,
            ])
            && ip(&["netns", "exec", name, "ip", "link", "set", there, "up"]);
        assert!(made, "a namespace was made but not its link");
        Some(namespace)
    }

    /// This side's address.
    fn near(&self) -> String {
        format!("10.213.{}.1", std::process::id() % 250 + 1)
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["link", "del", &self.here])
            .status();
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// Posts `{"bots": 3}` to `url` from inside `namespace`, without a token, with a wrong one,
/// with `token`: the three status codes.
fn post_from(namespace: &Namespace, url: &str, token: &str) -> String {
    let script = format!(
        "import urllib.request, urllib.error\n\
         def post(token):\n    \
             headers = {{'Content-Type': 'application/json'}}\n    \
             if token: headers['Authorization'] = 'bearer ' + token\n    \
             request = urllib.request.Request('{url}', data=b'{{\"bots\": 3}}', method='POST', headers=headers)\n    \
             try: return urllib.request.urlopen(request, timeout=5).status\n    \
             except urllib.error.HTTPError as error: return error.code\n    \
             except urllib.error.URLError: return 'down'\n\
         print(post(None), post('wrong'), post('{token}'))\n"
    );
    let output = Command::new("ip")
        .args(["netns", "exec", &namespace.name, "python3", "-c", &script])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

#[test]
fn a_change_from_another_machine_needs_the_token() {
    let Some(nginx) = Nginx::start(&nginx::config(1024, HELLO_NGINX), |_| {}) else {
        return;
    };
    let Some(namespace) = Namespace::make() else {
        eprintln!("skipped: no network namespace may be made here (the peer check is unit-tested)");
        return;
    };
    let url = format!("http://{}/", nginx.addr);
    let port = free_port();
    let dashboard = format!("--dashboard={}:{port}", namespace.near());
    let json = nginx.dir.join("token.json");
    let ttk = start_ttk(&[
        "http",
        &url,
        "-c",
        "2",
        "-d",
        "4s",
        &dashboard,
        "--dashboard-token",
        "s3cret",
        "--json",
        json.to_str().unwrap(),
        "-q",
    ]);
    let control = format!("http://{}:{port}/control", namespace.near());
    // Refused without the token and with a wrong one; taken with it.
    let started = Instant::now();
    let codes = loop {
        let codes = post_from(&namespace, &control, "s3cret");
        if !codes.contains("down") {
            break codes;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "{codes}");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(codes, "403 403 200");
    let output = ttk.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    let report = Report::read_json(&json).unwrap();
    assert_eq!(report.run.changes.len(), 1, "the one change with the token");
    // The token never reaches the report.
    assert!(!report.to_json().contains("s3cret"));
    assert!(
        report
            .run
            .parameters
            .command_line
            .contains(&"[redacted]".to_owned())
    );
}

#[test]
fn connections_on_a_rate_schedule_cannot_come_and_go() {
    let Some(nginx) = Nginx::start(&nginx::config(1024, HELLO_NGINX), |_| {}) else {
        return;
    };
    let url = format!("http://{}/", nginx.addr);
    let port = free_port();
    let dashboard = format!("--dashboard=127.0.0.1:{port}");
    let ttk = start_ttk(&[
        "http", &url, "-c", "2", "--rate", "100", "-d", "2s", &dashboard, "-q",
    ]);
    wait_for_state(port, "running");
    let (code, body) = post(port, "/control", r#"{"bots": 6}"#, None);
    assert_eq!(code, 409);
    assert!(body.contains("owns its turns"), "{body}");
    assert_eq!(ttk.wait_with_output().unwrap().status.code(), Some(0));
}

/// Prometheus (Debian's `prometheus`), or `None` with the skip said, unless
/// `TTK_REQUIRE_PROMETHEUS` is set.
fn prometheus_binary() -> Option<&'static str> {
    let binary = "/usr/bin/prometheus";
    if Path::new(binary).is_file() {
        return Some(binary);
    }
    if std::env::var_os("TTK_REQUIRE_PROMETHEUS").is_some() {
        panic!("TTK_REQUIRE_PROMETHEUS is set but prometheus is not installed");
    }
    let _ = writeln!(
        std::io::stderr(),
        "skipped: prometheus not installed (apt-get install -y prometheus)"
    );
    None
}

/// A Prometheus scraping `127.0.0.1:target` every second, stopped when dropped.
struct Prometheus {
    child: Child,
    port: u16,
}

impl Prometheus {
    fn start(binary: &str, dir: &Path, target: u16) -> Prometheus {
        let config = dir.join("prometheus.yml");
        fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\nscrape_configs:\n  \
                 - job_name: ttk\n    static_configs:\n      - targets: ['127.0.0.1:{target}']\n"
            ),
        )
        .unwrap();
        let port = free_port();
        let child = Command::new(binary)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--web.enable-remote-write-receiver")
            .stdout(Stdio::null())
            .stderr(fs::File::create(dir.join("prometheus.log")).unwrap())
            .spawn()
            .unwrap();
        let prometheus = Prometheus { child, port };
        let started = Instant::now();
        while get(port, "/-/ready").is_none_or(|(code, _)| code != 200) {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "prometheus did not start: {}",
                fs::read_to_string(dir.join("prometheus.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        prometheus
    }

    /// The results of the instant query `query` (which must be valid PromQL).
    fn results(&self, query: &str) -> Vec<serde_json::Value> {
        let encoded: String = query
            .bytes()
            .map(|byte| match byte {
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'.' => (byte as char).to_string(),
                _ => format!("%{byte:02X}"),
            })
            .collect();
        let (code, body) = get(self.port, &format!("/api/v1/query?query={encoded}")).unwrap();
        assert_eq!(code, 200, "{query}: {body}");
        let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
        answer["data"]["result"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// The value of the instant query `query`, if it has one result.
    fn query(&self, query: &str) -> Option<f64> {
        match self.results(query).as_slice() {
            [one] => one["value"][1].as_str()?.parse().ok(),
            _ => None,
        }
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn prometheus_scraping_the_run_stores_the_reports_counts() {
    let Some(binary) = prometheus_binary() else {
        return;
    };
    let Some(nginx) = Nginx::start(&nginx::config(1024, HELLO_NGINX), |_| {}) else {
        return;
    };
    let port = free_port();
    let prometheus = Prometheus::start(binary, &nginx.dir, port);
    let url = format!("http://{}/", nginx.addr);
    let json = nginx.dir.join("scraped.json");
    let metrics = format!("--metrics=127.0.0.1:{port}");
    // Served for 3 s after the run: the last scrapes read the final report.
    let output = Command::new(env!("CARGO_BIN_EXE_ttk"))
        .args(["http", &url, "-c", "4", "--rate", "300", "-d", "3s", "-q"])
        .args([metrics.as_str(), "--dashboard-linger", "3s", "--json"])
        .arg(&json)
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report = Report::read_json(&json).unwrap();
    let request = report.transaction("request").unwrap();
    let run_id = &report.run.run_id;
    let selector = format!("transaction=\"request\",run_id=\"{run_id}\"");
    let ok = prometheus
        .query(&format!(
            "ttk_transactions_total{{{selector},outcome=\"ok\"}}"
        ))
        .expect("the run's counter in Prometheus");
    assert_eq!(ok, request.ok as f64, "Prometheus against the JSON report");
    assert_eq!(request.ok, served(&nginx));
    let connects = prometheus
        .query(&format!(
            "ttk_transactions_total{{transaction=\"connect\",run_id=\"{run_id}\",outcome=\"ok\"}}"
        ))
        .unwrap();
    assert_eq!(connects, report.transaction("connect").unwrap().ok as f64);
    // p99 from the buckets lies in the bucket that holds the report's exact p99.
    let p99 = prometheus
        .query(&format!(
            "histogram_quantile(0.99, ttk_transaction_duration_seconds_bucket{{{selector}}})"
        ))
        .unwrap();
    let exact = request.histogram.inner().value_at_quantile(0.99) as f64 / 1e6;
    let bounds = ttk_report::LATENCY_BUCKETS_S;
    let upper = bounds.iter().position(|&bound| exact <= bound).unwrap();
    let lower = if upper == 0 { 0.0 } else { bounds[upper - 1] };
    assert!(
        (lower..=bounds[upper]).contains(&p99),
        "Prometheus' p99 {p99} s, the report's {exact} s (bucket {lower}..{})",
        bounds[upper]
    );
}

#[test]
fn prometheus_receiving_the_runs_pushes_stores_the_reports_counts() {
    let Some(binary) = prometheus_binary() else {
        return;
    };
    let Some(nginx) = Nginx::start(&nginx::config(1024, HELLO_NGINX), |_| {}) else {
        return;
    };
    // Nothing listens where it scrapes: what it holds of the run came by remote write.
    let prometheus = Prometheus::start(binary, &nginx.dir, free_port());
    let url = format!("http://{}/", nginx.addr);
    let json = nginx.dir.join("pushed.json");
    let write = format!("http://127.0.0.1:{}/api/v1/write", prometheus.port);
    let output = Command::new(env!("CARGO_BIN_EXE_ttk"))
        .args(["http", &url, "-c", "4", "--rate", "300", "-d", "6s", "-q"])
        .args(["--remote-write", &write, "--json"])
        .arg(&json)
        .output()
        .unwrap();
    let errors = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{errors}");
    assert!(!errors.contains("remote write"), "{errors}");
    let report = Report::read_json(&json).unwrap();
    let request = report.transaction("request").unwrap();
    let run_id = &report.run.run_id;
    let ok = prometheus
        .query(&format!(
            "ttk_transactions_total{{transaction=\"request\",run_id=\"{run_id}\",outcome=\"ok\"}}"
        ))
        .expect("the pushed counter in Prometheus");
    assert_eq!(ok, request.ok as f64, "Prometheus against the JSON report");
    assert_eq!(request.ok, served(&nginx));
    let count = prometheus
        .query(&format!(
            "ttk_transaction_duration_seconds_count{{transaction=\"request\",run_id=\"{run_id}\"}}"
        ))
        .unwrap();
    assert_eq!(count, request.ok as f64);

    // Every query of the Grafana dashboard is valid, and those of a run without failures
    // find it (pushed at 5 s and at the end: two samples, enough for a rate).
    let dashboard =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/grafana/ttk-dashboard.json");
    let dashboard: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(dashboard).unwrap()).unwrap();
    let mut queries = 0;
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().unwrap() {
            let expr = target["expr"]
                .as_str()
                .unwrap()
                .replace("$run_id", run_id)
                .replace("$__rate_interval", "1m");
            let found = prometheus.results(&expr);
            if !expr.contains("failures") {
                assert!(!found.is_empty(), "{expr} finds nothing");
            }
            queries += 1;
        }
    }
    assert_eq!(queries, 7);

    // A receiver that is not there is said once, and the run goes on.
    let nowhere = format!("http://127.0.0.1:{}/api/v1/write", free_port());
    let output = Command::new(env!("CARGO_BIN_EXE_ttk"))
        .args([
            "http",
            &url,
            "-c",
            "1",
            "-d",
            "1s",
            "-q",
            "--remote-write",
            &nowhere,
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let errors = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        errors.matches("warning: remote write").count(),
        1,
        "{errors}"
    );
}

/// The hello-world server, and a TLS server that takes remote writes for Prometheus (at
/// `{prometheus}`) from the user `pusher` with the password `s3cret` alone, or with the bearer
/// token `t0ken` on `/bearer/…`: how a receiver is put on a network (nginx terminating TLS and
/// checking the credentials, Prometheus behind).
const TLS_RECEIVER_NGINX: &str = r#"
    default_type text/plain;
    access_log {dir}/access.log;
    server {
        listen 127.0.0.1:{port};
        location = / { return 200 "Hello, World!"; }
    }
    server {
        listen 127.0.0.1:{tls_port} ssl;
        ssl_certificate {dir}/server.pem;
        ssl_certificate_key {dir}/server.key;
        location = /api/v1/write {
            auth_basic "ttk";
            auth_basic_user_file {dir}/users;
            proxy_pass http://127.0.0.1:{prometheus};
        }
        location = /bearer/api/v1/write {
            if ($http_authorization != "Bearer t0ken") { return 401; }
            proxy_pass http://127.0.0.1:{prometheus}/api/v1/write;
        }
    }
"#;

#[test]
fn a_receiver_behind_https_and_a_password_stores_the_pushes() {
    let Some(binary) = prometheus_binary() else {
        return;
    };
    let prometheus = Prometheus::start(binary, &scratch("remote-write-tls"), free_port());
    let tls_port = free_port();
    let config = nginx::config(1024, TLS_RECEIVER_NGINX)
        .replace("{tls_port}", &tls_port.to_string())
        .replace("{prometheus}", &prometheus.port.to_string());
    let pki = ttk::tls::TestPki::new().unwrap();
    let certificate = pki.server_certificate(&["localhost"]).unwrap();
    let Some(nginx) = Nginx::start(&config, |dir| {
        fs::write(dir.join("server.pem"), certificate.chain_pem()).unwrap();
        fs::write(dir.join("server.key"), certificate.key_pem()).unwrap();
        fs::write(dir.join("ca.pem"), pki.ca_pem()).unwrap();
        fs::write(dir.join("users"), "pusher:{PLAIN}s3cret\n").unwrap();
    }) else {
        return;
    };
    let url = format!("http://{}/", nginx.addr);
    let ca = nginx.dir.join("ca.pem");
    let push = |password: &str, trust: bool, seconds: &str, json: &Path| {
        let write = format!("https://pusher:{password}@localhost:{tls_port}/api/v1/write");
        let mut command = Command::new(env!("CARGO_BIN_EXE_ttk"));
        command
            .args([
                "http", &url, "-c", "2", "--rate", "200", "-d", seconds, "-q",
            ])
            .args(["--remote-write", &write, "--json"])
            .arg(json)
            .env_remove("TTK_REMOTE_WRITE_TOKEN");
        match trust {
            true => command.env("SSL_CERT_FILE", &ca),
            false => command.env_remove("SSL_CERT_FILE"),
        };
        let output = command.output().unwrap();
        assert_eq!(output.status.code(), Some(0), "{output:?}");
        String::from_utf8_lossy(&output.stderr).into_owned()
    };

    let json = nginx.dir.join("pushed-tls.json");
    let errors = push("s3cret", true, "6s", &json);
    assert!(!errors.contains("remote write"), "{errors}");
    let report = Report::read_json(&json).unwrap();
    let request = report.transaction("request").unwrap();
    let ok = prometheus
        .query(&format!(
            "ttk_transactions_total{{transaction=\"request\",run_id=\"{}\",outcome=\"ok\"}}",
            report.run.run_id
        ))
        .expect("the counter pushed over TLS, in Prometheus");
    assert_eq!(ok, request.ok as f64, "Prometheus against the JSON report");
    assert_eq!(request.ok, served(&nginx));
    let recorded = report.run.parameters.command_line.join(" ");
    assert!(!recorded.contains("s3cret"), "{recorded}");
    assert!(
        recorded.contains("pusher:[redacted]@localhost"),
        "{recorded}"
    );

    // A bearer token from the environment.
    let output = Command::new(env!("CARGO_BIN_EXE_ttk"))
        .args(["http", &url, "-c", "1", "-d", "1s", "-q", "--remote-write"])
        .arg(format!("https://localhost:{tls_port}/bearer/api/v1/write"))
        .env("SSL_CERT_FILE", &ca)
        .env("TTK_REMOTE_WRITE_TOKEN", "t0ken")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let errors = String::from_utf8_lossy(&output.stderr);
    assert!(!errors.contains("remote write"), "{errors}");
    let bearer_pushes = fs::read_to_string(nginx.dir.join("access.log"))
        .unwrap()
        .lines()
        .filter(|line| line.contains("POST /bearer/api/v1/write HTTP/1.1\" 204 "))
        .count();
    assert!(bearer_pushes >= 1, "no push with the token was taken");

    // A wrong password is refused by the receiver, said once; the run goes on.
    let errors = push("wrong", true, "1s", &nginx.dir.join("wrong.json"));
    assert_eq!(
        errors.matches("warning: remote write").count(),
        1,
        "{errors}"
    );
    assert!(errors.contains("401"), "{errors}");
    assert!(!errors.contains("wrong@"), "{errors}");
    // A certificate from an issuer the machine does not trust is refused too.
    let errors = push("s3cret", false, "1s", &nginx.dir.join("untrusted.json"));
    assert_eq!(
        errors.matches("warning: remote write").count(),
        1,
        "{errors}"
    );
    assert!(errors.to_lowercase().contains("certificate"), "{errors}");
}
