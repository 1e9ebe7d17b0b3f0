//! Running a process pinned to one core and measuring the CPU time it used, from the kernel's
//! own accounting: `wait4` hands back the rusage of exactly the child it reaps.

use std::os::unix::process::{CommandExt as _, ExitStatusExt as _};
use std::process::{Command, ExitStatus};
use std::time::{Duration, Instant};

/// How often a running child is checked on.
const POLL: Duration = Duration::from_millis(20);

/// A finished child: how it ended, and the CPU it used.
#[derive(Debug)]
pub(crate) struct Finished {
    /// Its exit status.
    pub(crate) status: ExitStatus,
    /// User plus system CPU time of the child (and of its reaped children), in seconds.
    pub(crate) cpu_s: f64,
    /// Whether it was killed for running past its deadline.
    pub(crate) killed: bool,
    /// The peak resident set of the child, in KiB (`ru_maxrss`: the largest of the child and
    /// of the descendants it reaped, each on its own, not their sum).
    pub(crate) max_rss_kib: u64,
}

/// Makes `command` run on `core` only (its threads and its children too).
pub(crate) fn pin(command: &mut Command, core: usize) -> &mut Command {
    // SAFETY: the closure runs in the child between fork and exec, where only
    // async-signal-safe calls are allowed: it builds a cpu_set_t on the stack and makes one
    // system call (sched_setaffinity), neither of which allocates or takes a lock.
    unsafe {
        command.pre_exec(move || {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            libc::CPU_SET(core, &mut set);
            if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        })
    }
}

/// Starts `command`, waits for it (killing it if it runs past `deadline`), and returns its
/// status and CPU time.
pub(crate) fn run(command: &mut Command, deadline: Duration) -> Result<Finished, String> {
    let child = command
        .spawn()
        .map_err(|error| format!("cannot start {command:?}: {error}"))?;
    let pid = child.id() as libc::pid_t;
    let started = Instant::now();
    let mut killed = false;
    loop {
        let mut status = 0;
        // SAFETY: rusage is plain old data, all zeroes is a valid value.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        let flags = if killed { 0 } else { libc::WNOHANG };
        // SAFETY: `status` and `usage` are valid for writes; `pid` is our own unreaped child
        // (`child` is never waited on through std, so the pid cannot have been reused).
        let reaped = unsafe { libc::wait4(pid, &mut status, flags, &mut usage) };
        if reaped == pid {
            return Ok(Finished {
                status: ExitStatus::from_raw(status),
                cpu_s: seconds(usage.ru_utime) + seconds(usage.ru_stime),
                killed,
                // Linux counts ru_maxrss in KiB; it is never negative.
                max_rss_kib: u64::try_from(usage.ru_maxrss).unwrap_or(0),
            });
        }
        if reaped < 0 {
            let error = std::io::Error::last_os_error();
            if error.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(format!("cannot wait for {command:?}: {error}"));
        }
        if started.elapsed() > deadline {
            // SAFETY: as above, `pid` is our unreaped child; kill only sends it a signal.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            killed = true;
        } else {
            std::thread::sleep(POLL);
        }
    }
}

/// A `timeval` in seconds.
fn seconds(time: libc::timeval) -> f64 {
    time.tv_sec as f64 + time.tv_usec as f64 / 1e6
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_busy_child_is_charged_its_cpu_and_stays_on_its_core() {
        let path = std::env::temp_dir().join(format!("xtask-pin-{}", std::process::id()));
        let file = std::fs::File::create(&path).unwrap();
        let mut command = Command::new("sh");
        command.args([
            "-c",
            "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; \
             grep Cpus_allowed_list /proc/self/status",
        ]);
        command.stdout(file);
        pin(&mut command, 0);
        let finished = run(&mut command, Duration::from_secs(60)).unwrap();
        let printed = std::fs::read_to_string(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert!(finished.status.success());
        assert!(!finished.killed);
        assert!(finished.cpu_s > 0.0);
        // A shell is a few hundred KiB to a few MiB resident, never nothing.
        assert!((100..100_000).contains(&finished.max_rss_kib));
        assert_eq!(printed.split_whitespace().last(), Some("0"));
    }

    #[test]
    fn the_peak_rss_counts_a_grandchild_the_child_reaped() {
        // sh runs python (and waits for it), which holds 64 MiB it has written to: the peak is
        // python's, not the shell's few MiB.
        let mut command = Command::new("sh");
        command.args(["-c", "python3 -c \"x = b'x' * (64 << 20)\"; true"]);
        let finished = run(&mut command, Duration::from_secs(60)).unwrap();
        assert!(finished.status.success());
        assert!(
            (64 * 1024..200 * 1024).contains(&finished.max_rss_kib),
            "{} KiB",
            finished.max_rss_kib
        );
    }

    #[test]
    fn a_child_past_its_deadline_is_killed() {
        let finished = run(Command::new("sleep").arg("30"), Duration::ZERO).unwrap();
        assert!(finished.killed);
        assert!(!finished.status.success());
    }
}
