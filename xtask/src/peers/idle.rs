//! Memory per idle connected TLS bot, as the plain figure "memory per connected idle bot" is
//! measured (`net_probe idle`): `net_probe idle-tls N` holds N bots, each with a TLS connection
//! to nginx that has carried one request, and reports its peak and current RSS and the kernel's
//! TCP buffer memory with all of them held; `net_probe idle-tls 0` is the baseline (a process
//! with the same TLS settings and no bot).

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use super::client::run_pinned;
use super::summary::{Spread, goal_text, grouped, met};
use crate::probe::number;
use crate::report::{Figure, Goal};

/// Client peak RSS per idle TLS bot, in KiB (issue 15).
pub(crate) const TARGET_KIB: Goal = Goal::AtMost(32.0);

/// How long a probe may take: 10,000 handshakes on one client core, one server core.
const PROBE_SECONDS: u64 = 120;

/// One measurement: the baseline and the crowd.
#[derive(Clone, Debug)]
pub(crate) struct Run {
    /// Bots held.
    pub(crate) bots: u64,
    /// The baseline's `VmHWM` and the crowd's, in bytes.
    pub(crate) peak: (f64, f64),
    /// The baseline's `VmRSS` and the crowd's (while held), in bytes.
    pub(crate) rss: (f64, f64),
    /// `/proc/net/sockstat`'s TCP `mem` before the crowd connected and while it was held, in
    /// pages; machine-wide (both ends of each connection, and anything else running).
    pub(crate) tcp_pages: (f64, f64),
    /// Seconds the crowd took to connect.
    pub(crate) connect_s: f64,
    /// Handshakes that resumed (none should).
    pub(crate) resumed: f64,
}

impl Run {
    /// Peak RSS per bot above the baseline, in KiB.
    pub(crate) fn peak_kib(&self) -> f64 {
        (self.peak.1 - self.peak.0) / self.bots as f64 / 1024.0
    }

    /// RSS per bot above the baseline while held, in KiB.
    pub(crate) fn rss_kib(&self) -> f64 {
        (self.rss.1 - self.rss.0) / self.bots as f64 / 1024.0
    }

    /// TCP buffer memory per connection (both its ends) while held, above before, in KiB.
    pub(crate) fn kernel_kib(&self) -> f64 {
        (self.tcp_pages.1 - self.tcp_pages.0) * page_size() / self.bots as f64 / 1024.0
    }
}

/// The kernel's page size, in bytes.
fn page_size() -> f64 {
    // SAFETY: sysconf reads a constant of the system; it has no preconditions.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if size > 0 { size as f64 } else { 4096.0 }
}

/// Runs the baseline, then `bots` bots, against `addr` (nginx's HTTPS) trusting `ca`.
pub(crate) fn run(
    probe: &Path,
    addr: &str,
    ca: &Path,
    bots: u64,
    core: usize,
    dir: &Path,
) -> Result<Run, String> {
    let base = one(probe, addr, ca, 0, core, dir)?;
    let crowd = one(probe, addr, ca, bots, core, dir)?;
    let field = |json: &serde_json::Value, key: &str| number(json, key);
    if field(&crowd, "connected")? < bots as f64 || crowd["sampled"] != true {
        return Err(format!(
            "net_probe idle-tls {bots}: not every bot connected: {crowd}"
        ));
    }
    Ok(Run {
        bots,
        peak: (
            field(&base, "peak_rss_bytes")?,
            field(&crowd, "peak_rss_bytes")?,
        ),
        rss: (field(&base, "rss_bytes")?, field(&crowd, "rss_bytes")?),
        tcp_pages: (
            field(&crowd, "tcp_mem_pages_before")?,
            field(&crowd, "tcp_mem_pages")?,
        ),
        connect_s: field(&crowd, "seconds")?,
        resumed: field(&crowd, "resumed")?,
    })
}

/// One run of the probe with `bots`, pinned to `core`: its JSON.
fn one(
    probe: &Path,
    addr: &str,
    ca: &Path,
    bots: u64,
    core: usize,
    dir: &Path,
) -> Result<serde_json::Value, String> {
    let mut command = Command::new(probe);
    command.args(["idle-tls", &bots.to_string(), addr]).arg(ca);
    let label = format!("net_probe idle-tls {bots}");
    let files = format!("net_probe-idle-tls-{bots}");
    let ran = run_pinned(&mut command, PROBE_SECONDS, core, dir, &files)?.check(&label)?;
    serde_json::from_str(ran.stdout.trim())
        .map_err(|error| ran.failure(&label, &format!("printed no JSON: {error}")))
}

/// The rounds' figures together.
#[derive(Debug)]
pub(crate) struct Summary {
    /// Bots held.
    pub(crate) bots: u64,
    /// Peak RSS per bot, KiB.
    pub(crate) peak_kib: Spread,
    /// RSS per bot while held, KiB.
    pub(crate) rss_kib: Spread,
    /// Kernel TCP buffer memory per connection, KiB.
    pub(crate) kernel_kib: Spread,
    /// Seconds the crowd took to connect.
    pub(crate) connect_s: Spread,
}

impl Summary {
    /// Brings the runs that succeeded together; `None` if none did.
    pub(crate) fn new(runs: &[&Run]) -> Option<Summary> {
        let of =
            |f: fn(&Run) -> f64| Spread::of(&runs.iter().map(|run| f(run)).collect::<Vec<_>>());
        Some(Summary {
            bots: runs.first()?.bots,
            peak_kib: of(Run::peak_kib)?,
            rss_kib: of(Run::rss_kib)?,
            kernel_kib: of(Run::kernel_kib)?,
            connect_s: of(|run| run.connect_s)?,
        })
    }

    /// The table printed to the terminal.
    pub(crate) fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "idle TLS bots ({} held at once, each after one request; ttk's TLS on net_probe):",
            grouped(self.bots as f64, 0)
        );
        let _ = writeln!(
            out,
            "  client peak RSS per bot (VmHWM above the baseline): {} KiB (target {}: {})",
            self.peak_kib.text(2),
            goal_text(TARGET_KIB).unwrap_or_default(),
            match met(self.peak_kib.median, TARGET_KIB) {
                Some(false) => "MISSED",
                _ => "met",
            }
        );
        let _ = writeln!(
            out,
            "  client RSS per bot while held (VmRSS above the baseline): {} KiB",
            self.rss_kib.text(2)
        );
        let _ = writeln!(
            out,
            "  kernel TCP buffer memory per connection, both ends (/proc/net/sockstat mem, \
             machine-wide, socket structs not included): {} KiB",
            self.kernel_kib.text(2)
        );
        let _ = writeln!(
            out,
            "  time for all to connect: {} s",
            self.connect_s.text(1)
        );
        out
    }

    /// The figures for `cargo xtask bench`'s summary.
    pub(crate) fn figures(&self) -> Vec<Figure> {
        let name = |what: &str| format!("peers tls idle bot ({} held): {what}", self.bots);
        let figure = |what: &str, s: Spread, goal: Goal| {
            Figure::new(name(what), s.median, "KiB", goal).with_range(s.min, s.max)
        };
        vec![
            figure("client peak RSS per bot", self.peak_kib, TARGET_KIB),
            figure("client RSS per bot while held", self.rss_kib, Goal::None),
            figure(
                "kernel TCP buffer memory per connection (sockstat)",
                self.kernel_kib,
                Goal::None,
            ),
        ]
    }

    /// Whether the peak missed its target.
    pub(crate) fn missed(&self) -> Option<String> {
        (met(self.peak_kib.median, TARGET_KIB) == Some(false))
            .then(|| "client peak RSS per idle TLS bot".to_owned())
    }

    /// As JSON.
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "bots": self.bots,
            "client_peak_rss_kib_per_bot": self.peak_kib.json(),
            "client_rss_kib_per_bot": self.rss_kib.json(),
            "kernel_tcp_mem_kib_per_connection": self.kernel_kib.json(),
            "connect_seconds": self.connect_s.json(),
            "target_kib": goal_text(TARGET_KIB),
            "met": met(self.peak_kib.median, TARGET_KIB),
        })
    }
}

/// One run as JSON.
pub(crate) fn run_json(round: usize, run: &Result<Run, String>) -> serde_json::Value {
    match run {
        Ok(run) => serde_json::json!({
            "round": round,
            "bots": run.bots,
            "baseline_peak_rss_bytes": run.peak.0,
            "peak_rss_bytes": run.peak.1,
            "baseline_rss_bytes": run.rss.0,
            "rss_bytes": run.rss.1,
            "tcp_mem_pages_before": run.tcp_pages.0,
            "tcp_mem_pages_held": run.tcp_pages.1,
            "connect_seconds": run.connect_s,
            "resumed": run.resumed,
            "peak_kib_per_bot": run.peak_kib(),
            "rss_kib_per_bot": run.rss_kib(),
            "kernel_kib_per_connection": run.kernel_kib(),
        }),
        Err(error) => serde_json::json!({ "round": round, "error": error }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_bot_figures_are_above_the_baseline() {
        // The peaks net_probe idle-tls printed for 0 and 10,000 bots against this task's nginx;
        // the kernel's pages made up.
        let run = Run {
            bots: 10_000,
            peak: (3_907_584.0, 258_543_616.0),
            rss: (3_907_584.0, 258_543_616.0),
            tcp_pages: (95.0, 95.0 + 2_500.0),
            connect_s: 22.8,
            resumed: 0.0,
        };
        assert!((run.peak_kib() - 24.867).abs() < 0.001);
        assert_eq!(run.kernel_kib(), 2_500.0 * page_size() / 10_000.0 / 1024.0);
        let summary = Summary::new(&[&run]).unwrap();
        assert!(summary.missed().is_none());
        assert!(summary.table().contains("24.87"));
        assert!(Summary::new(&[]).is_none());
    }
}
