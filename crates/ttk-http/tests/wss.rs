//! `wss://` against a real WebSocket server over TLS that no one here wrote: Python's
//! `websockets` library with the standard library's ssl (`support/wss_echo.py`). Every message
//! ttk counts as echoed is one the server counts as echoed.
//!
//! Needs python3 with `websockets` (`pip install websockets`, or Debian's `python3-websockets`;
//! `.ci/run` installs it); `TTK_PYTHON` names the interpreter if it is not `python3`. Without
//! it the test says it is skipped and passes, unless `TTK_REQUIRE_WEBSOCKETS` is set.

use std::io::{BufRead, BufReader, Write as _};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};

use ttk_core::Cx;
use ttk_http::ws::{self, Message, WebSocket};
use ttk_macros::bot;
use ttk_tls::{TestPki, TlsConnector};

/// The Python server, killed on drop.
struct EchoServer {
    child: Child,
    lines: std::io::Lines<BufReader<ChildStdout>>,
    port: u16,
}

impl Drop for EchoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The Python interpreter: `TTK_PYTHON`, else `python3`.
fn python() -> std::ffi::OsString {
    std::env::var_os("TTK_PYTHON").unwrap_or_else(|| "python3".into())
}

/// Starts the server with a certificate for "localhost" signed by `pki`; `None` if python3 or
/// `websockets` is missing (and not required).
fn start(dir: &Path, pki: &TestPki) -> Option<EchoServer> {
    let has_websockets = Command::new(python())
        .args(["-c", "import websockets"])
        .status()
        .is_ok_and(|status| status.success());
    if !has_websockets {
        assert!(
            std::env::var_os("TTK_REQUIRE_WEBSOCKETS").is_none(),
            "TTK_REQUIRE_WEBSOCKETS is set but python3 with `websockets` is missing: \
             pip install websockets"
        );
        let _ = writeln!(
            std::io::stderr(),
            "skipped: python3 with `websockets` is missing (pip install websockets)"
        );
        return None;
    }
    let server = pki.server_certificate(&["localhost"]).unwrap();
    std::fs::write(dir.join("server.pem"), server.chain_pem()).unwrap();
    std::fs::write(dir.join("server.key"), server.key_pem()).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/wss_echo.py");
    let mut child = Command::new(python())
        .arg(script)
        .arg(dir.join("server.pem"))
        .arg(dir.join("server.key"))
        .arg(port.to_string())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "ready");
    Some(EchoServer { child, lines, port })
}

/// Connects to `url` over TLS, sends `count` text messages (one at a time, each echoed) and
/// closes; the echoes that matched.
#[bot(crate = ttk_core)]
fn chatter(
    _cx: Cx,
    id: usize,
    url: String,
    tls: TlsConnector,
    count: usize,
) -> std::io::Result<usize> {
    let request = ws::request(&url)?;
    let mut ws = ttk_core::yield_!(WebSocket::connect_tls(&request, &tls))?;
    assert!(ws.get_ref().is_tls());
    let mut echoed = 0;
    for k in 0..count {
        let text = format!("bot {id} message {k}");
        ttk_core::yield_!(ws.send_text(&text))?;
        if ttk_core::yield_!(ws.receive())? == Message::text(text) {
            echoed += 1;
        }
    }
    ttk_core::yield_!(ws.close(None))?;
    Ok(echoed)
}

#[test]
fn a_hundred_bots_echo_over_wss_and_the_server_counts_the_same() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("wss-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pki = TestPki::new().unwrap();
    let Some(mut server) = start(&dir, &pki) else {
        return;
    };
    let url = format!("wss://localhost:{}/chat", server.port);
    let tls = TlsConnector::builder()
        .ca_pem(pki.ca_pem())
        .unwrap()
        .build()
        .unwrap();
    let results = ttk_core::run(100, |cx, id| chatter(cx, id, url.clone(), tls.clone(), 10));
    let echoed: usize = results.into_iter().map(|result| result.unwrap()).sum();
    assert_eq!(echoed, 1_000);
    // The server's own count, once it has seen all 100 connections close.
    let mut last = String::new();
    for line in server.lines.by_ref() {
        last = line.unwrap();
        if last.starts_with("closed 100 ") {
            break;
        }
    }
    assert_eq!(last, "closed 100 1000");
}

/// Connects to `url` with `WebSocket::connect`, which checks against the system's roots.
#[bot(crate = ttk_core)]
fn with_system_roots(_cx: Cx, _id: usize, url: String) -> std::io::Result<()> {
    ttk_core::yield_!(WebSocket::connect(&url)).map(|_| ())
}

#[test]
fn wss_with_the_system_roots_refuses_the_test_ca() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("wss-ca-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pki = TestPki::new().unwrap();
    let Some(server) = start(&dir, &pki) else {
        return;
    };
    let url = format!("wss://localhost:{}/chat", server.port);
    let error = ttk_core::run(1, |cx, id| with_system_roots(cx, id, url.clone()))
        .pop()
        .unwrap()
        .unwrap_err();
    assert_eq!(
        ttk_core::metrics::Failure::of(&error).kind(),
        "TlsUnknownIssuer",
        "{error}"
    );
    assert!(error.to_string().contains("--cacert"), "{error}");
}
