//! Network figures: echo CPU per request, memory per idle connected bot, bots per process.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use crate::probe::{self, number};
use crate::report::{Figure, Goal};

/// Seconds each echo probe runs.
const ECHO_SECONDS: &str = "5";
/// Bots in the idle-memory probe.
const IDLE_BOTS: u64 = 10_000;

/// An echo target in its own process; it exits when its stdin closes (on drop).
struct ExternalTarget {
    /// The process.
    child: Child,
    /// Its address.
    addr: String,
}

impl ExternalTarget {
    /// Starts `target/release/echo_target`.
    fn start() -> Result<ExternalTarget, String> {
        let binary = probe::path("echo_target");
        let mut child = Command::new(&binary)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|error| format!("cannot start {}: {error}", binary.display()))?;
        let stdout = child.stdout.take().expect("piped");
        let mut addr = String::new();
        BufReader::new(stdout)
            .read_line(&mut addr)
            .map_err(|error| format!("echo_target printed no address: {error}"))?;
        Ok(ExternalTarget {
            child,
            addr: addr.trim().to_owned(),
        })
    }
}

impl Drop for ExternalTarget {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

/// Runs `net_probe` with `args` and returns its JSON line.
fn probe(args: &[&str]) -> Result<serde_json::Value, String> {
    probe::json("net_probe", args)
}

/// Every network figure.
pub(crate) fn figures() -> Result<Vec<Figure>, String> {
    let target = ExternalTarget::start()?;
    let mut figures = Vec::new();
    for (bots, goal) in [("100", Goal::AtMost(15.0)), ("1000", Goal::None)] {
        let json = probe(&["echo", bots, ECHO_SECONDS, &target.addr])?;
        let requests = number(&json, "requests")?;
        let errors = number(&json, "errors")?;
        if errors > 0.0 {
            return Err(format!("echo probe with {bots} bots saw errors: {json}"));
        }
        figures.push(Figure::new(
            format!("echo {bots} bots: requests/s"),
            requests / number(&json, "seconds")?,
            "req/s",
            Goal::None,
        ));
        figures.push(Figure::new(
            format!("echo {bots} bots: client CPU per request"),
            number(&json, "cpu_seconds")? * 1e6 / requests,
            "us",
            goal,
        ));
    }

    let empty = number(&probe(&["idle", "0", &target.addr])?, "peak_rss_bytes")?;
    let idle = probe(&["idle", &IDLE_BOTS.to_string(), &target.addr])?;
    figures.push(Figure::new(
        "memory per connected idle bot (10k)",
        (number(&idle, "peak_rss_bytes")? - empty) / IDLE_BOTS as f64,
        "B/bot",
        Goal::AtMost(1024.0),
    ));

    let crowd = probe(&["idle", "19900", &target.addr])?;
    figures.push(Figure::new(
        "connected bots, target in another process",
        number(&crowd, "connected")?,
        "bots",
        Goal::AtLeast(19_900.0),
    ));
    drop(target);
    let crowd = probe(&["idle", "9900"])?;
    figures.push(Figure::new(
        "connected bots, target in this process",
        number(&crowd, "connected")?,
        "bots",
        Goal::AtLeast(9_900.0),
    ));
    Ok(figures)
}
