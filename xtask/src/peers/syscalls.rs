//! System calls per request, counted the same way for every client: by the kernel's syscall
//! tracepoints under `perf stat` where this machine lets us read them, else by `strace -c -f`.
//!
//! `perf stat` counts in the kernel as each call enters (a counter bumped, no stop): the client
//! runs at its own speed, so the `epoll_wait` calls it shares among many events are shared as
//! in a timed run. `strace` stops the client twice per call (about 6x slower here), so each
//! `epoll_wait` finds more ready and the waits per request come out lower than they are: the
//! fallback is named beside its figures. Neither misses a call: both see the system calls
//! themselves, not the C library's wrappers (which an `LD_PRELOAD` counter would, and not the
//! raw `syscall()`s some runtimes make).

use std::ffi::OsString;
use std::path::Path;
use std::process::Command;

/// The system calls that read a socket.
const READS: [&str; 5] = ["read", "readv", "recvfrom", "recvmsg", "recvmmsg"];
/// The system calls that write to a socket.
const WRITES: [&str; 5] = ["write", "writev", "sendto", "sendmsg", "sendmmsg"];
/// The system calls that wait on an epoll set.
const WAITS: [&str; 3] = ["epoll_wait", "epoll_pwait", "epoll_pwait2"];
/// The system call that changes an epoll set.
const CONTROLS: [&str; 1] = ["epoll_ctl"];
/// perf's tracepoint of every system call's entry: the total.
const EVERY_CALL: &str = "raw_syscalls:sys_enter";

/// What counts the system calls.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Counter {
    /// `perf stat` on the kernel's syscall tracepoints.
    Perf,
    /// `strace -c -f`.
    Strace,
}

impl Counter {
    /// `perf stat` if it can count the syscall tracepoints here, else `strace` if it runs,
    /// else why neither can count.
    pub(crate) fn detect() -> Result<Counter, String> {
        let perf = Command::new("perf")
            .args(["stat", "-x", ",", "-e", &events(), "--", "true"])
            .output();
        let perf_failed = match perf {
            Ok(output) if output.status.success() => {
                match parse_perf(&String::from_utf8_lossy(&output.stderr)) {
                    Ok(counts) if counts.total > 0 => return Ok(Counter::Perf),
                    Ok(_) => "perf counted no system calls".to_owned(),
                    Err(error) => error,
                }
            }
            Ok(output) => format!(
                "perf stat failed: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            ),
            Err(error) => format!("no perf: {error}"),
        };
        match Command::new("strace").arg("-V").output() {
            Ok(output) if output.status.success() => Ok(Counter::Strace),
            Ok(output) => Err(format!(
                "{perf_failed}; strace -V failed: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            )),
            Err(error) => Err(format!("{perf_failed}; no strace: {error}")),
        }
    }

    /// How it counts, for the tables.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Counter::Perf => "perf stat on the syscall tracepoints",
            Counter::Strace => "strace -c -f (slows the client: fewer epoll_wait per request)",
        }
    }

    /// The command line before the client's, writing the counts to `out`.
    pub(crate) fn tool(&self, out: &Path) -> Vec<OsString> {
        let mut tool: Vec<OsString> = match self {
            Counter::Perf => ["perf", "stat", "-x", ",", "-e", &events(), "-o"]
                .map(OsString::from)
                .to_vec(),
            Counter::Strace => ["strace", "-c", "-f", "-o"].map(OsString::from).to_vec(),
        };
        tool.push(out.into());
        tool.push("--".into());
        tool
    }

    /// The counts in what it wrote.
    pub(crate) fn parse(&self, text: &str) -> Result<Syscalls, String> {
        match self {
            Counter::Perf => parse_perf(text),
            Counter::Strace => parse_strace(text),
        }
    }
}

/// A process's system calls: all of them, and those a request needs or may share.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct Syscalls {
    /// Every system call.
    pub(crate) total: u64,
    /// `read`, `readv`, `recvfrom`, `recvmsg`, `recvmmsg`.
    pub(crate) read: u64,
    /// `write`, `writev`, `sendto`, `sendmsg`, `sendmmsg`.
    pub(crate) write: u64,
    /// `epoll_wait`, `epoll_pwait`, `epoll_pwait2`.
    pub(crate) epoll_wait: u64,
    /// `epoll_ctl`.
    pub(crate) epoll_ctl: u64,
}

impl Syscalls {
    /// The calls that are none of the above (connects, timers, memory, start-up).
    pub(crate) fn other(&self) -> u64 {
        self.total
            .saturating_sub(self.read + self.write + self.epoll_wait + self.epoll_ctl)
    }

    /// Adds `count` calls of `name` to its kind (not to the total, counted on its own).
    fn add(&mut self, name: &str, count: u64) {
        let kinds = [
            (&READS[..], &mut self.read),
            (&WRITES[..], &mut self.write),
            (&WAITS[..], &mut self.epoll_wait),
            (&CONTROLS[..], &mut self.epoll_ctl),
        ];
        for (names, sum) in kinds {
            if names.contains(&name) {
                *sum += count;
            }
        }
    }

    /// Each kind and the total divided by `requests`.
    pub(crate) fn per_request(&self, requests: u64) -> [(&'static str, f64); 6] {
        let per = |count: u64| count as f64 / requests as f64;
        [
            ("total", per(self.total)),
            ("read", per(self.read)),
            ("write", per(self.write)),
            ("epoll_wait", per(self.epoll_wait)),
            ("epoll_ctl", per(self.epoll_ctl)),
            ("other", per(self.other())),
        ]
    }
}

/// `-e` for `perf stat`: every call's entry, then the entry of each call counted by kind.
fn events() -> String {
    let mut events = vec![EVERY_CALL.to_owned()];
    for name in READS.iter().chain(&WRITES).chain(&WAITS).chain(&CONTROLS) {
        events.push(format!("syscalls:sys_enter_{name}"));
    }
    events.join(",")
}

/// The counts in `perf stat -x ,`'s output: a line `count,unit,event,…` per event (`#` lines
/// are comments); a count perf could not take (`<not counted>`, `<not supported>`) is an error,
/// not a zero.
pub(crate) fn parse_perf(text: &str) -> Result<Syscalls, String> {
    let mut counts = Syscalls::default();
    let mut total = None;
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split(',').collect();
        let (Some(count), Some(event)) = (fields.first(), fields.get(2)) else {
            continue;
        };
        if *event != EVERY_CALL && !event.starts_with("syscalls:sys_enter_") {
            continue;
        }
        let count: u64 = count
            .parse()
            .map_err(|_| format!("perf could not count {event}: {count:?}"))?;
        match event.strip_prefix("syscalls:sys_enter_") {
            Some(name) => counts.add(name, count),
            None => total = Some(count),
        }
    }
    counts.total = total.ok_or(format!("perf stat printed no {EVERY_CALL} count"))?;
    Ok(counts)
}

/// The counts in `strace -c`'s table: `% time, seconds, usecs/call, calls, errors, syscall`
/// per line (the errors column is blank where there were none), the last line `total`.
pub(crate) fn parse_strace(text: &str) -> Result<Syscalls, String> {
    let mut counts = Syscalls::default();
    let mut total = None;
    for line in text.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        // Rows start with the share of time; the header and the rules do not.
        if fields.len() < 5 || fields[0].parse::<f64>().is_err() {
            continue;
        }
        let name = fields[fields.len() - 1];
        let calls: u64 = fields[3]
            .parse()
            .map_err(|_| format!("strace -c: no call count in {line:?}"))?;
        if name == "total" {
            total = Some(calls);
        } else {
            counts.add(name, calls);
        }
    }
    counts.total = total.ok_or("strace -c printed no total")?;
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Real output of `strace -c -f -o FILE wrk -t1 -c100 -d2s --latency URL` against this
    // task's nginx (wrk counted 23,129 requests).
    #[test]
    fn reads_strace_counts_by_kind() {
        let counts = parse_strace(include_str!("samples/strace-wrk-100.txt")).unwrap();
        assert_eq!(
            counts,
            Syscalls {
                total: 94_110,
                read: 23_136,
                write: 23_143,
                epoll_wait: 644,
                epoll_ctl: 46_571,
            }
        );
        assert_eq!(counts.other(), 616);
    }

    #[test]
    fn strace_without_a_total_is_refused() {
        let text = include_str!("samples/strace-wrk-100.txt");
        let cut: String = text.lines().filter(|l| !l.ends_with("total")).collect();
        assert!(parse_strace(&cut).is_err());
    }

    // Real output of `strace -c -f -o FILE ttk http URL -c 100 -d 2s --workers 1 -q
    // --json PATH` (ttk counted 61,527 responses): `recvfrom` with errors (the reads that found
    // nothing), `sendto` without.
    #[test]
    fn reads_strace_counts_with_and_without_errors() {
        let counts = parse_strace(include_str!("samples/strace-ttk-100.txt")).unwrap();
        assert_eq!(
            counts,
            Syscalls {
                total: 125_678,
                read: 61_577 + 7,
                write: 61_528 + 5,
                epoll_wait: 1_265,
                epoll_ctl: 201,
            }
        );
    }

    // Real output of `perf stat -x , -e EVENTS -o FILE` (the events of `events()`) around `ttk
    // http URL -c 100 -d 2s --workers 1 -q --json PATH` (106,680 responses) and `wrk -t1 -c100
    // -d2s --latency URL` (76,343 requests).
    #[test]
    fn reads_perf_counts_by_kind() {
        let ttk = parse_perf(include_str!("samples/perf-ttk-100.txt")).unwrap();
        assert_eq!(
            ttk,
            Syscalls {
                total: 218_965,
                read: 7 + 106_783,
                write: 5 + 106_681,
                epoll_wait: 4_183,
                epoll_ctl: 201,
            }
        );
        let wrk = parse_perf(include_str!("samples/perf-wrk-100.txt")).unwrap();
        assert_eq!(
            wrk,
            Syscalls {
                total: 312_171,
                read: 76_350,
                write: 76_396,
                epoll_wait: 5_771,
                epoll_ctl: 153_038,
            }
        );
        assert_eq!(wrk.other(), 616);
    }

    #[test]
    fn a_count_perf_could_not_take_is_an_error_not_a_zero() {
        let text = include_str!("samples/perf-wrk-100.txt");
        let not_counted = text.replace("5771,,", "<not counted>,,");
        assert!(parse_perf(&not_counted).is_err());
        let no_total: String = text
            .lines()
            .filter(|line| !line.contains("raw_syscalls"))
            .collect::<Vec<_>>()
            .join("\n");
        assert!(parse_perf(&no_total).is_err());
    }

    #[test]
    fn the_events_are_the_total_and_every_call_counted_by_kind() {
        let events = events();
        assert!(events.starts_with("raw_syscalls:sys_enter,syscalls:sys_enter_read,"));
        assert_eq!(events.split(',').count(), 1 + 5 + 5 + 3 + 1);
        // The samples were taken with these events.
        let sample = include_str!("samples/perf-ttk-100.txt");
        for event in events.split(',') {
            assert!(sample.contains(&format!(",{event},")), "{event}");
        }
    }

    #[test]
    fn per_request_divides_each_kind() {
        let counts = Syscalls {
            total: 410,
            read: 200,
            write: 100,
            epoll_wait: 50,
            epoll_ctl: 20,
        };
        let per = counts.per_request(100);
        assert_eq!(per[0], ("total", 4.1));
        assert_eq!(per[3], ("epoll_wait", 0.5));
        assert_eq!(per[5], ("other", 0.4));
    }
}
