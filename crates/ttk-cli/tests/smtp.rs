//! `ttk tcp --greeting` against a real SMTP server, aiosmtpd (Debian's `python3-aiosmtpd`):
//! the server's `220` banner is waited for on each connection, timed as `greeting`, and is not
//! read as the first request's reply: every `NOOP` gets its own `250`.
//!
//! Skipped, with a message, where aiosmtpd is missing, unless `TTK_REQUIRE_SMTP=1` (as in CI).

mod support;

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Debian's Python, which sees Debian's `python3-aiosmtpd`.
const PYTHON: &str = "/usr/bin/python3";

/// aiosmtpd on a free loopback port, stopped when dropped.
struct Smtp {
    child: Child,
    addr: String,
}

impl Smtp {
    fn start() -> Option<Smtp> {
        let found = Command::new(PYTHON)
            .args(["-c", "import aiosmtpd"])
            .status()
            .is_ok_and(|status| status.success());
        if !found {
            let required = std::env::var("TTK_REQUIRE_SMTP").is_ok_and(|value| value == "1");
            assert!(!required, "TTK_REQUIRE_SMTP=1 but aiosmtpd is missing");
            eprintln!("skipped: aiosmtpd is missing (apt-get install python3-aiosmtpd)");
            return None;
        }
        let addr = format!("127.0.0.1:{}", support::free_port());
        let child = Command::new(PYTHON)
            .args(["-m", "aiosmtpd", "-n", "-l", &addr])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let smtp = Smtp { child, addr };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(&smtp.addr).is_err() {
            assert!(Instant::now() < deadline, "aiosmtpd did not listen in 10 s");
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(smtp)
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn each_connection_waits_for_the_banner_before_its_first_line() {
    let Some(smtp) = Smtp::start() else {
        return;
    };
    let args = [
        "tcp",
        &smtp.addr,
        "--greeting",
        "220",
        "--send",
        "NOOP",
        "--expect",
        "250",
        "--crlf",
        "-c",
        "4",
        "-d",
        "1s",
    ];
    let report = support::passed(&args, "smtp-greeting");
    let request = report.transaction("request").unwrap();
    assert!(request.ok >= 20, "{} requests", request.ok);
    let greeting = report.transaction("greeting").unwrap();
    assert_eq!(greeting.failed, 0, "{:?}", greeting.errors);
    assert_eq!(greeting.ok, report.transaction("connect").unwrap().ok);
    assert_eq!(greeting.ok, 4);
}
