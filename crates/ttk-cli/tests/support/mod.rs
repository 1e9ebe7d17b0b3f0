//! What the command's test files share: running `ttk`, a scratch directory, its output as text.

// Each test file uses its own part of this module.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs `ttk args…` and waits for it.
pub(crate) fn ttk<S: AsRef<OsStr>>(args: &[S]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ttk"))
        .args(args)
        .output()
        .unwrap()
}

/// A fresh scratch directory for one test, named after its test file and `name` (test files
/// run at the same time).
pub(crate) fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("ttk-cli-{}-{name}", env!("CARGO_CRATE_NAME")));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// What the command printed on standard output.
pub(crate) fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// What the command printed on standard error.
pub(crate) fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// nginx (in `nginx::config`'s frame) answering `GET /` with a 13-byte body and logging each
/// request, for tests that count what it served.
pub(crate) const HELLO_NGINX: &str = r#"
    default_type text/plain;
    access_log {dir}/access.log;
    server {
        listen 127.0.0.1:{port};
        location = / { return 200 "Hello, World!"; }
    }
"#;

/// Runs `ttk args…` quietly with a JSON report (in the scratch directory `name`), checks that
/// it passed and that no request failed; the report.
pub(crate) fn passed(args: &[&str], name: &str) -> ttk_report::Report {
    let json = scratch(name).join("report.json");
    let mut args = args.to_vec();
    args.extend(["--quiet", "--json", json.to_str().unwrap()]);
    let output = ttk(&args);
    assert!(output.status.success(), "{output:?}");
    let report = ttk_report::Report::read_json(&json).unwrap();
    let request = report.transaction("request").unwrap();
    assert_eq!(request.failed, 0, "{:?}", request.errors);
    report
}

/// A free loopback port (bound, then let go).
pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Requests `GET /` the nginx whose files are in `dir` logged as answered 200 (its
/// `access.log`, as [`HELLO_NGINX`] writes it).
pub(crate) fn served_hello(dir: &Path) -> u64 {
    std::fs::read_to_string(dir.join("access.log"))
        .unwrap()
        .lines()
        .filter(|line| line.contains("\"GET / HTTP/1.1\" 200 "))
        .count() as u64
}
