//! Reading the figures `cargo xtask hold` samples from `/proc`: kernel memory, TCP sockets and
//! connections, and the resident memory of a tree of processes.

use std::collections::HashMap;

/// A field of `/proc/meminfo` in KiB (`Slab`, `SUnreclaim`, `MemAvailable`).
pub(crate) fn meminfo_kib(field: &str) -> Result<u64, String> {
    let text = read("/proc/meminfo")?;
    text.lines()
        .find_map(|line| {
            let rest = line.strip_prefix(field)?.strip_prefix(':')?;
            rest.split_whitespace().next()?.parse().ok()
        })
        .ok_or_else(|| format!("/proc/meminfo has no {field}"))
}

/// The `TCP:` line of `/proc/net/sockstat`: sockets in use (not counting `TIME_WAIT`) and the
/// pages of buffer memory TCP holds (what `net.ipv4.tcp_mem` limits).
pub(crate) fn tcp_sockstat() -> Result<(u64, u64), String> {
    let text = read("/proc/net/sockstat")?;
    let line = text
        .lines()
        .find(|line| line.starts_with("TCP:"))
        .ok_or("/proc/net/sockstat has no TCP line")?;
    let words: Vec<&str> = line.split_whitespace().collect();
    let field = |name: &str| -> Result<u64, String> {
        words
            .iter()
            .position(|word| *word == name)
            .and_then(|at| words.get(at + 1)?.parse().ok())
            .ok_or_else(|| format!("/proc/net/sockstat: no {name} in {line:?}"))
    };
    Ok((field("inuse")?, field("mem")?))
}

/// TCP sockets in `ESTABLISHED` or `CLOSE_WAIT`, machine-wide (`CurrEstab` in
/// `/proc/net/snmp`, what `ss -s` reports as estab): both ends of a loopback connection count.
pub(crate) fn established() -> Result<u64, String> {
    let text = read("/proc/net/snmp")?;
    let mut tcp = text.lines().filter(|line| line.starts_with("Tcp:"));
    let (Some(names), Some(values)) = (tcp.next(), tcp.next()) else {
        return Err("/proc/net/snmp has no Tcp lines".to_owned());
    };
    names
        .split_whitespace()
        .zip(values.split_whitespace())
        .find(|(name, _)| *name == "CurrEstab")
        .and_then(|(_, value)| value.parse().ok())
        .ok_or_else(|| "/proc/net/snmp has no CurrEstab".to_owned())
}

/// The number in `/proc/sys/<path>` (a sysctl such as `net/netfilter/nf_conntrack_count`), if
/// the file exists.
pub(crate) fn sys_number(path: &str) -> Option<u64> {
    read(&format!("/proc/sys/{path}")).ok()?.trim().parse().ok()
}

/// A process and all its descendants: their resident memory, CPU time, and how many they are.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct ProcessTree {
    /// Summed `VmRSS`, in KiB.
    pub(crate) kib: u64,
    /// Summed user and system CPU time, in clock ticks (`USER_HZ`, 100 a second on Linux).
    pub(crate) cpu_ticks: u64,
    /// Processes counted (the root included, if it still runs).
    pub(crate) processes: u64,
}

/// Clock ticks a second in `/proc/<pid>/stat` (`USER_HZ`: 100 on every Linux architecture
/// this runs on).
pub(crate) const TICKS_PER_SECOND: f64 = 100.0;

/// Sums `VmRSS` and CPU time over `root` and its descendants (found through each process's
/// parent in `/proc/<pid>/stat`). Processes that end while being read are skipped.
pub(crate) fn tree(root: u32) -> ProcessTree {
    let stats = stats();
    let parents: HashMap<u32, u32> = stats.iter().map(|(pid, stat)| (*pid, stat.0)).collect();
    let mut tree = vec![root];
    let mut at = 0;
    while at < tree.len() {
        let parent = tree[at];
        tree.extend(
            parents
                .iter()
                .filter(|(_, of)| **of == parent)
                .map(|(pid, _)| *pid),
        );
        at += 1;
    }
    let mut total = ProcessTree::default();
    for pid in tree {
        if let Some(kib) = rss_kib(pid) {
            total.kib += kib;
            total.cpu_ticks += stats.get(&pid).map_or(0, |stat| stat.1);
            total.processes += 1;
        }
    }
    total
}

/// Every process's parent and CPU time (user + system ticks), by pid.
fn stats() -> HashMap<u32, (u32, u64)> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return HashMap::new();
    };
    entries
        .filter_map(|entry| {
            let pid: u32 = entry.ok()?.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // `pid (comm) state ppid …`: comm may hold spaces and parentheses, so split after
            // the last `)`. After it, field 1 is the parent, 11 and 12 utime and stime.
            let after: Vec<&str> = stat[stat.rfind(')')? + 1..].split_whitespace().collect();
            let ppid = after.get(1)?.parse().ok()?;
            let utime: u64 = after.get(11)?.parse().ok()?;
            let stime: u64 = after.get(12)?.parse().ok()?;
            Some((pid, (ppid, utime + stime)))
        })
        .collect()
}

/// `VmRSS` of process `pid`, in KiB.
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The text of a `/proc` file.
fn read(path: &str) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|error| format!("cannot read {path}: {error}"))
}
