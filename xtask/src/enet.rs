//! `cargo xtask enet`: 10,000 ENet players on one loop (issue #18's target). The probe
//! (`enet_probe`) runs the bots, each with a host and socket of its own, against three ENet
//! hosts on the C library (Debian's `libenet`; ENet holds at most 4,095 peers per host), each in
//! a process of its own on the server core; every bot connects, then, once all are in, sends
//! one reliable packet a second for the hold (echoed by its host), then disconnects gracefully.
//! The hosts count the connections and clean disconnects themselves. Figures: connections
//! made and failed, connect times, the loop's CPU per bot-second while holding, memory per
//! connection.

use std::io::{BufRead as _, BufReader, Read as _};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use crate::cargo;
use crate::peers;
use crate::probe;
use crate::report::{Figure, Goal};

/// Players, and ENet hosts they are spread over.
const BOTS: usize = 10_000;
const HOSTS: usize = 3;
/// Seconds every player holds its connection, once all are in.
const HOLD_SECONDS: u64 = 10;

/// An ENet host on the C library, counting and echoing (`enet_echo.c`, the interop tests').
struct CHost {
    child: Child,
    port: u16,
}

impl CHost {
    /// Starts one for `peers` peers that ends once `disconnects` of them disconnected.
    fn start(binary: &PathBuf, peers: usize, disconnects: usize) -> Result<CHost, String> {
        let mut command = Command::new(binary);
        command
            .args([&peers.to_string(), &disconnects.to_string(), "300", "0"])
            .stdout(Stdio::piped());
        peers::pin(&mut command, peers::SERVER_CORE);
        let mut child = command
            .spawn()
            .map_err(|error| format!("cannot start {}: {error}", binary.display()))?;
        let mut first = String::new();
        BufReader::new(child.stdout.as_mut().expect("piped"))
            .read_line(&mut first)
            .map_err(|error| format!("the ENet host said nothing: {error}"))?;
        let port = first
            .strip_prefix("port ")
            .and_then(|port| port.trim().parse().ok())
            .ok_or(format!("the ENet host said {first:?}"))?;
        Ok(CHost { child, port })
    }

    /// Waits for it to end: its (connects, clean disconnects).
    fn finish(mut self) -> Result<(u64, u64), String> {
        let mut out = String::new();
        if let Some(mut stdout) = self.child.stdout.take() {
            let _ = stdout.read_to_string(&mut out);
        }
        let _ = self.child.wait();
        let count = |key: &str| {
            out.lines()
                .find_map(|line| line.strip_prefix(key))
                .and_then(|rest| rest.trim().parse().ok())
                .ok_or(format!("the ENet host did not count {key:?}: {out}"))
        };
        Ok((count("connects ")?, count("clean ")?))
    }
}

impl Drop for CHost {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The C host, compiled (installing Debian's `libenet-dev` first if it is missing and this is
/// root); why not, if it cannot be.
fn c_host() -> Result<PathBuf, String> {
    if !std::path::Path::new("/usr/include/enet/enet.h").exists() {
        // SAFETY: geteuid has no preconditions and cannot fail.
        if unsafe { libc::geteuid() } != 0 {
            return Err("libenet-dev is missing; not root, so not installed".into());
        }
        let installed = Command::new("apt-get")
            .args(["install", "-y", "-qq", "libenet-dev"])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .map_err(|error| format!("apt-get: {error}"))?;
        if !installed.success() {
            return Err("apt-get install libenet-dev failed".into());
        }
    }
    let dir = cargo::target_dir().join("ttk-bench").join("enet");
    std::fs::create_dir_all(&dir).map_err(|error| format!("{}: {error}", dir.display()))?;
    let binary = dir.join("enet_echo");
    let source = cargo::workspace_root().join("crates/ttk-net/tests/support/enet_echo.c");
    let compiled = Command::new("cc")
        .args(["-O2", "-o"])
        .arg(&binary)
        .arg(&source)
        .arg("-lenet")
        .status()
        .map_err(|error| format!("cc: {error}"))?;
    match compiled.success() {
        true => Ok(binary),
        false => Err(format!("{} did not compile", source.display())),
    }
}

/// `cargo xtask enet`: builds the probe, runs it, prints the table; an error if a target was
/// missed.
pub(crate) fn run() -> Result<(), String> {
    crate::report::print_and_judge(&figures()?)
}

/// The figures of one run of 10,000 players.
pub(crate) fn figures() -> Result<Vec<Figure>, String> {
    cargo::run(&[
        "build",
        "--release",
        "-p",
        "ttk-benches",
        "--bin",
        "enet_probe",
    ])?;
    let c_host = match c_host() {
        Ok(binary) => binary,
        Err(why) => {
            let name = "ENet players connected on one loop (C hosts' own count)";
            return Ok(vec![Figure::skipped(
                name,
                why,
                "",
                Goal::AtLeast(BOTS as f64),
            )]);
        }
    };
    let share = BOTS.div_ceil(HOSTS);
    let mut hosts = Vec::new();
    for k in 0..HOSTS {
        // Bot i goes to host i % HOSTS.
        let theirs = (0..BOTS).filter(|bot| bot % HOSTS == k).count();
        hosts.push(CHost::start(&c_host, share, theirs)?);
    }
    let addrs: Vec<String> = hosts
        .iter()
        .map(|host| format!("127.0.0.1:{}", host.port))
        .collect();
    let mut args = vec![BOTS.to_string(), HOLD_SECONDS.to_string()];
    args.extend(addrs);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let json = probe::json_pinned("enet_probe", &args, peers::CLIENT_CORE)?;
    let (mut connects, mut clean) = (0, 0);
    for host in hosts {
        let (c, d) = host.finish()?;
        connects += c;
        clean += d;
    }
    let number = |key: &str| probe::number(&json, key);
    println!("  enet: {json}");
    println!("  enet: the C hosts counted {connects} connections and {clean} clean disconnects");
    let bots = BOTS as f64;
    Ok(vec![
        Figure::new(
            "ENet players connected on one loop (C hosts' own count)",
            connects as f64,
            "",
            Goal::AtLeast(bots),
        ),
        Figure::new(
            "ENet connections failed",
            number("failed")?,
            "",
            Goal::AtMost(0.0),
        ),
        Figure::new(
            "ENet clean disconnects (C hosts' own count)",
            clean as f64,
            "",
            Goal::AtLeast(bots),
        ),
        Figure::new(
            "ENet connect time, p99, 10,000 at once",
            number("connect_p99_ms")?,
            "ms",
            Goal::None,
        ),
        Figure::new(
            "ENet echoes / packets sent while holding",
            number("echoes")? / number("sent")?.max(1.0),
            "x",
            Goal::AtLeast(1.0),
        ),
        Figure::new(
            "loop CPU per ENet player-second (a reliable packet a second, echoed)",
            number("cpu_us_per_bot_second")?,
            "µs",
            Goal::None,
        ),
        Figure::new(
            "memory per ENet connection (host, socket, bot)",
            number("rss_kib_per_connection")?,
            "KiB",
            Goal::None,
        ),
    ])
}
