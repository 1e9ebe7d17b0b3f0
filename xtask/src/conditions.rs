//! What emulating a network costs a bot (`cargo xtask bench`, after the network figures):
//! `udp_storm` (1,000 bots, each a datagram and its echo at a time, against an echo target in a
//! process of its own on the other core) plain and with `--net delay=1ms`, in interleaved pairs;
//! client CPU per echoed datagram from the kernel (`wait4`). Both runs keep the loop busy, so
//! the ratio is the conditions' own cost per datagram: held back and sent by the loop's timed
//! actions, held on arrival until due. The target is the issue's: at most 10 % more.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};

use crate::cargo;
use crate::peers;
use crate::probe;
use crate::report::{Figure, Goal};

/// Bots of each run.
const BOTS: &str = "1000";
/// Seconds of each run.
const SECONDS: u64 = 3;
/// Pairs of runs: a pair's ratio moves by ±10 % and more from one to the next on this VM (the
/// kernel's work on loopback varies with how the two sides' bursts meet, and the host's other
/// guests come and go), so a median of five moved with it: 0.97× to 1.21× over ten runs of one
/// build in one afternoon; of ten, 1.07× to 1.11× over ten (nine within 1.10×).
const PAIRS: usize = 10;
/// The profile measured: a delay alone.
const PROFILE: &str = "delay=1ms";
/// The budget: conditioned CPU per datagram over plain.
const BUDGET: f64 = 1.10;

/// A UDP echo target in its own process, pinned to the server core; it exits when its stdin
/// closes (on drop).
struct UdpTarget {
    child: Child,
    addr: String,
}

impl UdpTarget {
    fn start() -> Result<UdpTarget, String> {
        let binary = probe::path("echo_target");
        let mut command = Command::new(&binary);
        command
            .args(["127.0.0.1:0", "udp"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped());
        peers::pin(&mut command, peers::SERVER_CORE);
        let mut child = command
            .spawn()
            .map_err(|error| format!("cannot start {}: {error}", binary.display()))?;
        let mut addr = String::new();
        BufReader::new(child.stdout.take().expect("piped"))
            .read_line(&mut addr)
            .map_err(|error| format!("echo_target printed no address: {error}"))?;
        Ok(UdpTarget {
            child,
            addr: addr.trim().to_owned(),
        })
    }
}

impl Drop for UdpTarget {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

/// CPU per echoed datagram (µs) of one `udp_storm` run, with `net` if given.
fn measure(target: &UdpTarget, net: Option<&str>) -> Result<f64, String> {
    let dir = cargo::target_dir().join("ttk-bench").join("conditions");
    std::fs::create_dir_all(&dir)
        .map_err(|error| format!("cannot create {}: {error}", dir.display()))?;
    let report = dir.join("udp_storm.json");
    let _ = std::fs::remove_file(&report);
    let binary = cargo::target_dir()
        .join("release")
        .join("examples")
        .join("udp_storm");
    let mut command = Command::new(&binary);
    command
        .args(["--bots", BOTS, "--duration", &format!("{SECONDS}s")])
        .args(["--target", &target.addr, "--workers", "1", "-q", "--json"])
        .arg(&report);
    if let Some(net) = net {
        command.args(["--net", net]);
    }
    let label = format!(
        "udp_storm{}",
        net.map(|net| format!(" --net {net}")).unwrap_or_default()
    );
    let dropped_before = receive_buffer_errors();
    let ran = peers::run_pinned(&mut command, SECONDS, peers::CLIENT_CORE, &dir, "udp_storm")?
        .check(&label)?;
    if let (Some(before), Some(after)) = (dropped_before, receive_buffer_errors())
        && after > before
    {
        // A drop leaves its bot waiting out a second's timeout: the run idled, and its CPU per
        // datagram is not the busy loop's this figure means to measure.
        println!(
            "  warning: {label}: {} datagrams dropped by a full receive buffer \
             (net.core.rmem_max may cap the echo target's): this pair measured idle loops",
            after - before
        );
    }
    let text = std::fs::read_to_string(&report)
        .map_err(|error| format!("{label} wrote no report: {error}"))?;
    let report = ttk_report::Report::from_json(&text)
        .map_err(|error| format!("{label}: its report: {error}"))?;
    let echoed = report
        .transaction("echo")
        .map(|echo| echo.ok)
        .filter(|&ok| ok > 0)
        .ok_or(format!("{label} echoed nothing"))?;
    Ok(ran.cpu_s * 1e6 / echoed as f64)
}

/// Datagrams the kernel dropped for a full receive buffer, machine-wide (`RcvbufErrors` of
/// `/proc/net/snmp`); `None` where it cannot be read.
fn receive_buffer_errors() -> Option<u64> {
    let snmp = std::fs::read_to_string("/proc/net/snmp").ok()?;
    let mut udp = snmp.lines().filter(|line| line.starts_with("Udp:"));
    let (names, values) = (udp.next()?, udp.next()?);
    let at = names
        .split_whitespace()
        .position(|name| name == "RcvbufErrors")?;
    values.split_whitespace().nth(at)?.parse().ok()
}

/// `cargo xtask conditions`: builds what it runs, the pairs, their table; an error if the
/// target was missed.
pub(crate) fn run() -> Result<(), String> {
    cargo::run(&[
        "build",
        "--release",
        "-p",
        "ttk-examples",
        "--bin",
        "echo_target",
        "--example",
        "udp_storm",
    ])?;
    crate::report::print_and_judge(&figures()?)
}

/// The pairs' figures.
pub(crate) fn figures() -> Result<Vec<Figure>, String> {
    let target = UdpTarget::start()?;
    let (mut plain, mut conditioned, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for pair in 0..PAIRS {
        let mut order = [None, Some(PROFILE)];
        if pair % 2 == 1 {
            order.reverse();
        }
        let mut cpu = [0.0; 2];
        for net in order {
            cpu[usize::from(net.is_some())] = measure(&target, net)?;
        }
        println!(
            "  conditions pair {}/{PAIRS}: {:.3} µs plain, {:.3} µs --net {PROFILE}",
            pair + 1,
            cpu[0],
            cpu[1]
        );
        plain.push(cpu[0]);
        conditioned.push(cpu[1]);
        ratios.push(cpu[1] / cpu[0]);
    }
    Ok(vec![
        Figure::median_of(
            "udp_storm CPU per datagram, plain",
            &plain,
            "µs",
            Goal::None,
        ),
        Figure::median_of(
            format!("udp_storm CPU per datagram, --net {PROFILE}"),
            &conditioned,
            "µs",
            Goal::None,
        ),
        Figure::median_of(
            format!("--net {PROFILE} / plain CPU per datagram (udp_storm, 1,000 bots)"),
            &ratios,
            "x",
            Goal::AtMost(BUDGET),
        ),
    ])
}
