//! The live dashboard in a real browser: headless Chromium (a subprocess) opens the page of a
//! `ttk http` run against a real nginx, driven through the DevTools protocol. The figures change
//! from one moment to the next; the bots are changed from 10 to 50 through the page's form, and
//! the live view, the final report's peak and its annotation say so; the page logs no error.
//! A screenshot is left in the target directory (`dashboard.png`), the README's.
//!
//! Needs `chromium` (Debian: `apt-get install -y chromium`) and nginx; without them the test
//! says it is skipped and passes, unless `TTK_REQUIRE_CHROMIUM` (or `TTK_REQUIRE_NGINX`) is set.

#[path = "../../ttk-http/tests/support/nginx.rs"]
mod nginx;
mod support;

use std::fs;
use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use nginx::Nginx;
use serde_json::{Value, json};
use support::{HELLO_NGINX, free_port};
use ttk_report::Report;

/// `method path` on `127.0.0.1:port`: the body, if it answered 200.
fn http(port: u16, method: &str, path: &str) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\n\
         Connection: close\r\n\r\n"
    )
    .ok()?;
    // Read to the end of the body its length says: DevTools keeps the connection open.
    let mut response = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let read = stream.read(&mut buf).ok()?;
        response.extend_from_slice(&buf[..read]);
        let text = String::from_utf8_lossy(&response).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|line| {
                    let (name, value) = line.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse::<usize>().ok())?
                })
                .unwrap_or(usize::MAX);
            if read == 0 || body.len() >= length {
                return head.starts_with("HTTP/1.1 200").then(|| body.to_owned());
            }
        } else if read == 0 {
            return None;
        }
    }
}

/// Chromium's binary, or `None` with the skip said.
fn chromium() -> Option<&'static str> {
    for binary in ["/usr/bin/chromium", "/usr/bin/chromium-browser"] {
        if std::path::Path::new(binary).is_file() {
            return Some(binary);
        }
    }
    if std::env::var_os("TTK_REQUIRE_CHROMIUM").is_some() {
        panic!("TTK_REQUIRE_CHROMIUM is set but chromium is not installed");
    }
    let _ = writeln!(
        std::io::stderr(),
        "skipped: chromium not installed (apt-get install -y chromium)"
    );
    None
}

/// Headless Chromium with its DevTools endpoint on a free port; killed when dropped.
struct Browser {
    child: Child,
    port: u16,
}

impl Browser {
    fn start(binary: &str, profile: &std::path::Path) -> Browser {
        let port = free_port();
        let child = Command::new(binary)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--window-size=1280,1600",
            ])
            .arg(format!("--remote-debugging-port={port}"))
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("about:blank")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let browser = Browser { child, port };
        let started = Instant::now();
        while http(port, "GET", "/json/version").is_none() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "chromium never listened"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        browser
    }

    /// A new tab on `url`, driven through its DevTools socket.
    fn open(&self, url: &str) -> Page {
        let target = http(self.port, "PUT", &format!("/json/new?{url}")).expect("a new tab");
        let target: Value = serde_json::from_str(&target).unwrap();
        let socket_url = target["webSocketDebuggerUrl"].as_str().unwrap();
        let (socket, _) = tungstenite::connect(socket_url).unwrap();
        if let tungstenite::stream::MaybeTlsStream::Plain(stream) = socket.get_ref() {
            stream
                .set_read_timeout(Some(Duration::from_secs(30)))
                .unwrap();
        }
        let mut page = Page {
            socket,
            next_id: 0,
            errors: Vec::new(),
        };
        page.call("Runtime.enable", json!({}));
        page.call("Log.enable", json!({}));
        page
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A tab under the DevTools protocol, with the errors it reported.
struct Page {
    socket: tungstenite::WebSocket<tungstenite::stream::MaybeTlsStream<TcpStream>>,
    next_id: u64,
    /// Uncaught exceptions, `console.error`s and error log entries, as text.
    errors: Vec<String>,
}

impl Page {
    /// Calls `method`; its result (events that come meanwhile are looked through for errors).
    fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let message = json!({ "id": id, "method": method, "params": params }).to_string();
        self.socket
            .send(tungstenite::Message::text(message))
            .unwrap();
        loop {
            let message = self.socket.read().unwrap();
            let tungstenite::Message::Text(text) = message else {
                continue;
            };
            let message: Value = serde_json::from_str(text.as_str()).unwrap();
            if message["id"].as_u64() == Some(id) {
                assert!(message.get("error").is_none(), "{method}: {message}");
                return message["result"].clone();
            }
            self.note(&message);
        }
    }

    /// Keeps an event that reports an error.
    fn note(&mut self, event: &Value) {
        let params = &event["params"];
        match event["method"].as_str() {
            Some("Runtime.exceptionThrown") => self.errors.push(params.to_string()),
            Some("Runtime.consoleAPICalled") if params["type"] == "error" => {
                self.errors.push(params.to_string());
            }
            Some("Log.entryAdded") if params["entry"]["level"] == "error" => {
                self.errors.push(params["entry"].to_string());
            }
            _ => {}
        }
    }

    /// The value of `expression` evaluated in the page (awaited if a promise).
    fn eval(&mut self, expression: &str) -> Value {
        let result = self.call(
            "Runtime.evaluate",
            json!({ "expression": expression, "returnByValue": true, "awaitPromise": true }),
        );
        assert!(
            result.get("exceptionDetails").is_none(),
            "{expression}: {result}"
        );
        result["result"]["value"].clone()
    }

    /// Evaluates `expression` until it is true.
    fn wait_for(&mut self, expression: &str, what: &str) {
        let started = Instant::now();
        while self.eval(expression) != Value::Bool(true) {
            if started.elapsed() > Duration::from_secs(20) {
                let shown = self.eval("document.body.innerText.slice(0, 600)");
                panic!("never: {what}; the page shows {shown}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// The successes the live page shows in its summary tile.
const SUCCESSES: &str = "(() => { const tiles = [...document.querySelectorAll('main dl.tiles > div')]; \
    const tile = tiles.find(t => t.textContent.startsWith('Successes')); \
    return tile ? tile.textContent : ''; })()";

#[test]
fn the_live_page_changes_as_the_run_goes_and_changes_its_bots_from_10_to_50() {
    let Some(binary) = chromium() else {
        return;
    };
    let Some(nginx) = Nginx::start(&nginx::config(1024, HELLO_NGINX), |_| {}) else {
        return;
    };
    let url = format!("http://{}/", nginx.addr);
    let port = free_port();
    let json_path = nginx.dir.join("browser.json");
    let ttk = Command::new(env!("CARGO_BIN_EXE_ttk"))
        .args(["http", &url, "-c", "10"])
        .arg("-d")
        .arg("9s")
        .arg(format!("--dashboard=127.0.0.1:{port}"))
        .args(["--dashboard-linger", "60s"])
        .arg("--json")
        .arg(&json_path)
        .arg("-q")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while http(port, "GET", "/status").is_none() {
        assert!(started.elapsed() < Duration::from_secs(20), "no dashboard");
        std::thread::sleep(Duration::from_millis(50));
    }

    let browser = Browser::start(binary, &nginx.dir.join("chromium-profile"));
    let mut page = browser.open(&format!("http://127.0.0.1:{port}/"));
    page.wait_for(
        "document.getElementById('ttk-control-value') !== null",
        "a control form",
    );
    page.wait_for(&format!("{SUCCESSES}.length > 0"), "a successes tile");
    let first = page.eval(SUCCESSES);
    std::thread::sleep(Duration::from_millis(2200));
    let second = page.eval(SUCCESSES);
    assert_ne!(first, second, "the live page did not change");

    // 10 bots to 50, through the form.
    page.eval(
        "(() => { document.getElementById('ttk-control-value').value = '50'; \
         document.querySelector('#ttk-control button').click(); return true; })()",
    );
    page.wait_for(
        "document.getElementById('ttk-control-said').textContent.startsWith('Changed')",
        "the change accepted",
    );
    page.wait_for(
        "[...document.querySelectorAll('main dl.tiles > div')].some(t => t.textContent.startsWith('Peak bots') && t.textContent.includes('50'))",
        "50 peak bots in the live view",
    );
    page.wait_for(
        "document.querySelector('main').innerText.includes('bots 10 → 50')",
        "the change in the live view",
    );
    let shot = page.call("Page.captureScreenshot", json!({ "format": "png" }));
    let png = base64::engine::general_purpose::STANDARD
        .decode(shot["data"].as_str().unwrap())
        .unwrap();
    let screenshot = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("dashboard.png");
    fs::write(&screenshot, &png).unwrap();
    assert!(png.starts_with(b"\x89PNG"));

    page.wait_for(
        "document.getElementById('ttk-live').textContent.startsWith('The run is over')",
        "the final report",
    );
    // Events read so far and since: none is an error.
    page.eval("1");
    assert!(
        page.errors.is_empty(),
        "the page logged errors: {:?}",
        page.errors
    );
    drop(browser);

    // Ctrl-C ends the linger.
    let interrupted = Command::new("kill")
        .args(["-INT", &ttk.id().to_string()])
        .status()
        .unwrap();
    assert!(interrupted.success());
    let output = ttk.wait_with_output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report = Report::read_json(&json_path).unwrap();
    let peak = report.series.iter().map(|s| s.active_bots).max().unwrap();
    assert_eq!(peak, 50);
    assert_eq!(report.run.changes.len(), 1);
    assert_eq!(report.run.changes[0].what, "bots 10 → 50");
}
