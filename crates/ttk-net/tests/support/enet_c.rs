//! An ENet host on the C library (Debian's `libenet`), for the interop tests: `enet_echo.c`,
//! compiled once per test binary with the system's C compiler, run as a subprocess.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

/// The compiled host, or why there is none.
fn binary() -> Result<PathBuf, String> {
    static BINARY: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    BINARY
        .get_or_init(|| {
            let source = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/enet_echo.c");
            let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("enet_echo");
            let compiled = Command::new("cc")
                .args(["-O1", "-Wall", "-o"])
                .arg(&out)
                .arg(source)
                .arg("-lenet")
                .output()
                .map_err(|error| format!("no C compiler (cc): {error}"))?;
            match compiled.status.success() {
                true => Ok(out),
                false => Err(format!(
                    "enet_echo.c did not compile (is Debian's libenet-dev installed?): {}",
                    String::from_utf8_lossy(&compiled.stderr)
                )),
            }
        })
        .clone()
}

/// The C host, running.
pub(crate) struct CHost {
    /// Where it listens.
    pub(crate) addr: SocketAddr,
    child: Child,
}

/// What the C host counted.
#[derive(Debug, Default)]
pub(crate) struct Counts {
    pub(crate) connects: u64,
    pub(crate) clean: u64,
    pub(crate) unclean: u64,
    pub(crate) kicked: u64,
    pub(crate) reliable_bytes: u64,
    /// Per channel: (reliable, unreliable) packets received.
    pub(crate) channels: BTreeMap<u8, (u64, u64)>,
}

impl CHost {
    /// Starts a host for `peers` peers that ends after `disconnects` of them disconnected (or
    /// after `seconds`), disconnecting each peer after its `kick_after`th reliable packet if
    /// not 0. `None` (the test is skipped) if the library is missing, unless
    /// `TTK_REQUIRE_ENET` is set, as CI does.
    pub(crate) fn start(
        peers: usize,
        disconnects: usize,
        seconds: u32,
        kick_after: u32,
    ) -> Option<CHost> {
        let binary = match binary() {
            Ok(binary) => binary,
            Err(why) if std::env::var_os("TTK_REQUIRE_ENET").is_some() => {
                panic!("TTK_REQUIRE_ENET is set, but: {why}")
            }
            Err(why) => {
                eprintln!("skipped: {why}");
                return None;
            }
        };
        let mut child = Command::new(binary)
            .args([
                peers.to_string(),
                disconnects.to_string(),
                seconds.to_string(),
                kick_after.to_string(),
            ])
            .stdout(Stdio::piped())
            .spawn()
            .expect("the C host starts");
        let mut first = String::new();
        BufReader::new(child.stdout.as_mut().unwrap())
            .read_line(&mut first)
            .unwrap();
        let port: u16 = first
            .strip_prefix("port ")
            .and_then(|port| port.trim().parse().ok())
            .unwrap_or_else(|| panic!("the C host said {first:?}"));
        Some(CHost {
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            child,
        })
    }

    /// Kills the host at once (SIGKILL): a server that died, with no disconnect sent.
    pub(crate) fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// Waits for the host to end, and reads its counts.
    pub(crate) fn finish(mut self) -> Counts {
        let mut out = String::new();
        self.child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        assert!(self.child.wait().unwrap().success(), "the C host failed");
        let mut counts = Counts::default();
        for line in out.lines() {
            let words: Vec<&str> = line.split_whitespace().collect();
            let number = |k: usize| words[k].parse::<u64>().unwrap();
            match words.first() {
                Some(&"connects") => counts.connects = number(1),
                Some(&"clean") => counts.clean = number(1),
                Some(&"unclean") => counts.unclean = number(1),
                Some(&"kicked") => counts.kicked = number(1),
                Some(&"reliable_bytes") => counts.reliable_bytes = number(1),
                Some(&"channel") => {
                    counts
                        .channels
                        .insert(number(1) as u8, (number(3), number(5)));
                }
                _ => panic!("the C host said {line:?}"),
            }
        }
        counts
    }
}

impl Drop for CHost {
    fn drop(&mut self) {
        // A test that failed before `finish` leaves no host running.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
