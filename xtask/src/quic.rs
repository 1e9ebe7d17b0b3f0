//! `cargo xtask quic`: QUIC handshakes per client-CPU-second (issue #18's figure) and the
//! memory of idle QUIC connections. The probe (`quic_probe`) runs on the client core against
//! aioquic's server (`crates/ttk-quic/tests/support/quic_echo.py`, the QUIC tests' peer, in a
//! venv the task makes if missing) on the server core: 10 bots connect, echo one short stream
//! and close, for 5 s with full handshakes, then 5 s resuming each bot's session; then 1,000
//! connections are held idle at once. The server counts the handshakes itself.

use std::io::{BufRead as _, BufReader, Read as _};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use crate::cargo;
use crate::peers::{self, client, pki::Pki};
use crate::probe;
use crate::report::{Figure, Goal};

/// Bots making handshakes, seconds per phase, and connections held idle.
const BOTS: usize = 10;
const SECONDS: u64 = 5;
const HOLD: usize = 1_000;
/// The aioquic of the QUIC tests.
const AIOQUIC: &str = "aioquic==1.7.2";

/// The Python with aioquic (`TTK_AIOQUIC_PYTHON`, else a venv in `~/.cache/ttk`, made if
/// missing); why not, if there is none.
fn python() -> Result<PathBuf, String> {
    if let Some(python) = std::env::var_os("TTK_AIOQUIC_PYTHON") {
        return Ok(python.into());
    }
    let home = std::env::var_os("HOME").ok_or("no HOME for the aioquic venv")?;
    let venv = PathBuf::from(home).join(".cache/ttk/aioquic-1.7.2");
    let python = venv.join("bin/python");
    let has_it = |python: &PathBuf| {
        Command::new(python)
            .args(["-c", "import aioquic"])
            .output()
            .is_ok_and(|output| output.status.success())
    };
    if has_it(&python) {
        return Ok(python);
    }
    let made = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .status()
        .map_err(|error| format!("python3 -m venv: {error}"))?;
    let installed = made.success()
        && Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", "--only-binary=:all:", AIOQUIC])
            .status()
            .is_ok_and(|status| status.success());
    match installed && has_it(&python) {
        true => Ok(python),
        false => Err(format!(
            "{AIOQUIC} could not be installed in {}",
            venv.display()
        )),
    }
}

/// aioquic's server, counting.
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(python: &PathBuf, pki: &Pki) -> Result<Server, String> {
        let script = cargo::workspace_root().join("crates/ttk-quic/tests/support/quic_echo.py");
        let mut command = Command::new(python);
        command
            .arg(script)
            .arg(&pki.cert)
            .arg(&pki.key)
            .args(["ttk-echo", "tickets"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped());
        peers::pin(&mut command, peers::SERVER_CORE);
        let mut child = command
            .spawn()
            .map_err(|error| format!("cannot start quic_echo.py: {error}"))?;
        let mut first = String::new();
        BufReader::new(child.stdout.as_mut().expect("piped"))
            .read_line(&mut first)
            .map_err(|error| format!("quic_echo.py said nothing: {error}"))?;
        let port = first
            .strip_prefix("ready ")
            .and_then(|port| port.trim().parse().ok())
            .ok_or(format!("quic_echo.py said {first:?}"))?;
        Ok(Server { child, port })
    }

    /// Stops it: its counts.
    fn finish(mut self) -> Result<serde_json::Value, String> {
        drop(self.child.stdin.take());
        let mut out = String::new();
        if let Some(mut stdout) = self.child.stdout.take() {
            let _ = stdout.read_to_string(&mut out);
        }
        let _ = self.child.wait();
        let last = out.lines().last().unwrap_or_default();
        serde_json::from_str(last).map_err(|_| format!("quic_echo.py ended with {out:?}"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `cargo xtask quic`: builds the probe, runs it, prints the table; an error if a target was
/// missed.
pub(crate) fn run() -> Result<(), String> {
    crate::report::print_and_judge(&figures()?)
}

/// The figures of one run.
pub(crate) fn figures() -> Result<Vec<Figure>, String> {
    let name = "QUIC full handshakes per client CPU-second (aioquic server)";
    let skip = |why: String| Ok(vec![Figure::skipped(name, why, "/s", Goal::None)]);
    let python = match python() {
        Ok(python) => python,
        Err(why) => return skip(why),
    };
    let Some(openssl) = client::on_path("openssl") else {
        return skip("openssl not found on PATH: it makes the certificates".to_owned());
    };
    let pki = Pki::make(
        &openssl,
        &cargo::target_dir().join("ttk-bench").join("quic-pki"),
    )?;
    cargo::run(&[
        "build",
        "--release",
        "-p",
        "ttk-benches",
        "--bin",
        "quic_probe",
    ])?;
    let server = Server::start(&python, &pki)?;
    let addr = format!("127.0.0.1:{}", server.port);
    let ca = pki.ca.to_string_lossy().into_owned();
    let (bots, seconds, hold) = (BOTS.to_string(), SECONDS.to_string(), HOLD.to_string());
    let json = probe::json_pinned(
        "quic_probe",
        &[&bots, &seconds, &hold, &addr, &ca],
        peers::CLIENT_CORE,
    )?;
    let counts = server.finish()?;
    println!("  quic: {json}");
    println!("  quic: the aioquic server counted {counts}");
    let number = |key: &str| probe::number(&json, key);
    let client_handshakes =
        number("/full/handshakes")? + number("/resumed/handshakes")? + number("/hold/connections")?;
    let server_handshakes = probe::number(&counts, "handshakes")?;
    Ok(vec![
        Figure::new(name, number("/full/per_cpu_second")?, "/s", Goal::None),
        Figure::new(
            "QUIC resumed handshakes per client CPU-second",
            number("/resumed/per_cpu_second")?,
            "/s",
            Goal::None,
        ),
        Figure::new(
            "QUIC handshake p99 (10 bots, full)",
            number("/full/p99_ms")?,
            "ms",
            Goal::None,
        ),
        Figure::new(
            "QUIC handshakes failed",
            number("/full/failed")? + number("/resumed/failed")? + number("/hold/failed")?,
            "",
            Goal::AtMost(0.0),
        ),
        Figure::new(
            "QUIC handshakes the server counted / the bots'",
            server_handshakes / client_handshakes.max(1.0),
            "x",
            Goal::AtLeast(1.0),
        ),
        Figure::new(
            "QUIC sessions the server resumed (of the resumed phase's handshakes)",
            probe::number(&counts, "resumed")? / number("/resumed/handshakes")?.max(1.0),
            "x",
            Goal::None,
        ),
        Figure::new(
            "idle QUIC connections held at once (1,000)",
            number("/hold/connections")?,
            "",
            Goal::AtLeast(HOLD as f64),
        ),
        Figure::new(
            "memory per idle QUIC connection (endpoint, socket, bot)",
            number("/hold/rss_kib_per_connection")?,
            "KiB",
            Goal::None,
        ),
    ])
}
