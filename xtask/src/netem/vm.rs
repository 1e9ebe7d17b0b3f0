//! The VM the netem test runs in: its programs (installed when missing), its initramfs, and
//! the boot, watched on its serial console until its `/init` says how the test ended.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::initramfs::Initramfs;
use super::kernel;
use crate::cargo;
use crate::debian::{self, Extras};

/// How long the VM may take to boot and run the test (about a minute here: boot 10 s, eight
/// rounds of pings at 41 ms each).
const BOOT_AND_TEST: Duration = Duration::from_secs(600);

/// The line `/init` prints when the test has ended, before its exit status.
const EXIT_LINE: &str = "ttk-netem-exit ";

/// The test the VM runs (`crates/ttk-net/tests/netem.rs`).
const TEST: &str = "emulated_delay_matches_netem_within_a_millisecond";

/// The programs the VM is made of and run with: each from `PATH` or the system directories,
/// else installed from the Debian package beside it.
const PROGRAMS: [(&str, &str); 4] = [
    ("qemu-system-x86_64", "qemu-system-x86"),
    ("busybox", "busybox-static"),
    ("ip", "iproute2"),
    ("tc", "iproute2"),
];

/// The kernel's command line: its console on the serial port qemu prints, no reboot on a
/// panic, and the TSC trusted as the clock. Without `tsc=reliable` the kernel finds the
/// emulated CPUs' TSCs out of step and falls back to the HPET, whose every reading is an
/// emulated device access and whose readings ttk's loop takes per datagram: three runs so
/// gave p99s 2.5 to 4.5 ms apart (now one half's, now the other's the higher); with the TSC,
/// within 0.5 ms.
const KERNEL_LINE: &str = "console=ttyS0 panic=-1 quiet tsc=reliable";

/// The busybox applets `/init` calls by name.
const APPLETS: [&str; 6] = ["sh", "mount", "insmod", "poweroff", "dmesg", "grep"];

/// How the test ended in the VM: its exit status and what the VM printed before.
pub(super) struct TestRun {
    pub(super) status: String,
    pub(super) lines: Vec<String>,
}

/// Why the VM cannot run on this machine, if it cannot: it copies this machine's programs into
/// an x86-64 Linux guest, and installs those missing as root.
pub(super) fn unsupported() -> Option<String> {
    if !cfg!(all(target_os = "linux", target_arch = "x86_64")) {
        return Some("the VM is x86-64 Linux, made of this machine's programs".to_owned());
    }
    let missing = missing_packages();
    if missing.is_empty() {
        return None;
    }
    // SAFETY: geteuid has no preconditions and cannot fail.
    let root = unsafe { libc::geteuid() } == 0;
    match (root, debian::program("apt-get")) {
        (true, Some(_)) => None,
        _ => Some(format!(
            "{} missing, and no root with apt-get to install them",
            missing.join(" ")
        )),
    }
}

/// Builds the VM, boots it and waits for the test to end in it.
pub(super) fn run_test() -> Result<TestRun, String> {
    let dir = cargo::target_dir().join("netem-vm");
    let [qemu, busybox, ip, tc] = programs()?;
    let kernel = kernel::fetch(&dir)?;
    let test = build_test()?;
    let mut image = Initramfs::default();
    for at in ["/proc", "/sys", "/dev", "/run", "/tmp"] {
        image.dir(at);
    }
    image.file("/init", init_script().as_bytes(), 0o755);
    image.program(&busybox, "/bin/busybox")?;
    for applet in APPLETS {
        image.symlink(&format!("/bin/{applet}"), "busybox");
    }
    image.program(&ip, "/sbin/ip")?;
    image.program(&tc, "/sbin/tc")?;
    for module in &kernel.modules {
        let name = module.file_name().expect("a module's file name");
        image.copy(module, &format!("/modules/{}", name.to_string_lossy()))?;
    }
    image.program(&test, "/netem")?;
    let initramfs = dir.join("initramfs.cpio");
    std::fs::write(&initramfs, image.finish())
        .map_err(|error| format!("cannot write {}: {error}", initramfs.display()))?;
    println!(
        "== booting {} in qemu (software emulation) with the netem test",
        kernel.package
    );
    boot(&qemu, &kernel.image, &initramfs)
}

/// The VM's `/init`: the filesystems the test needs (`ip netns` keeps its names in `/run`),
/// the modules, loopback, then the test; the clock the kernel chose (see [`KERNEL_LINE`]) and
/// the test's status on a line of its own, then power off.
fn init_script() -> String {
    let modules: String = kernel::MODULES
        .iter()
        .map(|module| {
            let name = Path::new(module).file_name().expect("a file name");
            format!("insmod /modules/{}\n", name.to_string_lossy())
        })
        .collect();
    format!(
        "#!/bin/sh\n\
         export PATH=/sbin:/bin\n\
         mount -t proc proc /proc\n\
         mount -t sysfs sys /sys\n\
         mount -t devtmpfs dev /dev\n\
         mount -t tmpfs run /run\n\
         mount -t tmpfs tmp /tmp\n\
         {modules}\
         /sbin/ip link set lo up\n\
         cd /tmp\n\
         TTK_REQUIRE_NETEM=1 /netem --exact {TEST} --nocapture --test-threads 1\n\
         status=$?\n\
         dmesg | grep 'Switched to clocksource'\n\
         echo \"{EXIT_LINE}$status\"\n\
         poweroff -f\n"
    )
}

/// The packages of [`PROGRAMS`] not on this machine, each once.
fn missing_packages() -> Vec<&'static str> {
    let mut missing: Vec<&str> = PROGRAMS
        .iter()
        .filter(|(program, _)| debian::program(program).is_none())
        .map(|(_, package)| *package)
        .collect();
    missing.sort_unstable();
    missing.dedup();
    missing
}

/// [`PROGRAMS`]' paths, in that order, installing the packages of those missing.
fn programs() -> Result<[PathBuf; PROGRAMS.len()], String> {
    let missing = missing_packages();
    if !missing.is_empty() {
        debian::install(&missing, Extras::DependenciesOnly)?;
    }
    let found = PROGRAMS.map(|(program, package)| {
        debian::program(program)
            .ok_or_else(|| format!("{program} is not on this machine after installing {package}"))
    });
    let [qemu, busybox, ip, tc] = found;
    Ok([qemu?, busybox?, ip?, tc?])
}

/// Builds the netem test, optimized: the path of its binary. (Unoptimized, each datagram ttk
/// holds costs the emulated machine tens of times more: in two runs so, ttk's p99 came out 1.4
/// and 1.9 ms above netem's.)
fn build_test() -> Result<PathBuf, String> {
    let output = cargo::command()
        .args([
            "test",
            "--release",
            "-p",
            "ttk-net",
            "--test",
            "netem",
            "--no-run",
        ])
        .arg("--message-format=json-render-diagnostics")
        .current_dir(cargo::workspace_root())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|error| format!("cannot start cargo: {error}"))?;
    if !output.status.success() {
        return Err(format!("building the netem test failed: {}", output.status));
    }
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|message| message["target"]["name"] == "netem")
        .find_map(|message| message["executable"].as_str().map(PathBuf::from))
        .ok_or_else(|| "cargo built no netem test binary".to_owned())
}

/// Boots `kernel` with `initramfs` (no network card: the test's link is a veth pair inside)
/// and waits for `/init`'s exit line; an error if the VM ends or runs out of time before it.
fn boot(qemu: &Path, kernel: &Path, initramfs: &Path) -> Result<TestRun, String> {
    let mut child = Command::new(qemu)
        .args(["-accel", "tcg", "-m", "1024", "-smp", "2", "-nic", "none"])
        .args(["-nographic", "-no-reboot", "-kernel"])
        .arg(kernel)
        .arg("-initrd")
        .arg(initramfs)
        .args(["-append", KERNEL_LINE])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|error| format!("cannot start {}: {error}", qemu.display()))?;
    let (sender, lines) = mpsc::channel();
    let stdout = child.stdout.take().expect("piped");
    std::thread::spawn(move || {
        // Bytes, not text: a console's stray byte that is not UTF-8 ends no line.
        let mut reader = BufReader::new(stdout);
        let mut line = Vec::new();
        while matches!(reader.read_until(b'\n', &mut line), Ok(1..)) {
            if sender
                .send(String::from_utf8_lossy(&line).into_owned())
                .is_err()
            {
                break;
            }
            line.clear();
        }
    });
    let deadline = Instant::now() + BOOT_AND_TEST;
    let mut printed = Vec::new();
    let status = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) => {
                let line = without_screen_codes(&line);
                if line.is_empty() {
                    continue;
                }
                println!("vm | {line}");
                if let Some(status) = line.strip_prefix(EXIT_LINE) {
                    break Some(status.to_owned());
                }
                printed.push(line);
            }
            // Out of time, or qemu ended (the VM powered off or failed) without the exit line.
            Err(_) => break None,
        }
    };
    let _ = child.kill();
    let ended = child.wait();
    match status {
        Some(status) => Ok(TestRun {
            status,
            lines: printed,
        }),
        None if Instant::now() >= deadline => Err(format!(
            "the VM did not finish the test within {BOOT_AND_TEST:?}"
        )),
        None => Err(format!(
            "the VM ended before the test did (qemu: {})",
            ended.map_or_else(|error| error.to_string(), |status| status.to_string())
        )),
    }
}

/// `line` without the terminal codes the VM's firmware clears its screen with (`ESC c`,
/// `ESC [ … letter`) and other control characters: they are no part of what the test says.
fn without_screen_codes(line: &str) -> String {
    let mut text = String::new();
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\x1b' => {
                if chars.next() == Some('[') {
                    // Up to and with the letter that ends the sequence.
                    for c in chars.by_ref() {
                        if c.is_ascii_alphabetic() {
                            break;
                        }
                    }
                }
            }
            c if c.is_control() => {}
            c => text.push(c),
        }
    }
    text.trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn screen_codes_and_control_characters_are_dropped() {
        let line = "\x1bc\x1b[?7l\x1b[2J\x1b[0mSeaBIOS (version 1.16)\r\n";
        assert_eq!(without_screen_codes(line), "SeaBIOS (version 1.16)");
        assert_eq!(
            without_screen_codes("ttk-netem-exit 0\r"),
            "ttk-netem-exit 0"
        );
    }

    #[test]
    fn init_runs_the_test_with_netem_required_and_says_how_it_ended() {
        let script = init_script();
        assert!(
            script.contains("insmod /modules/sch_netem.ko\n"),
            "{script}"
        );
        assert!(script.contains(&format!("TTK_REQUIRE_NETEM=1 /netem --exact {TEST} ")));
        assert!(script.contains(&format!("echo \"{EXIT_LINE}$status\"")));
    }
}
