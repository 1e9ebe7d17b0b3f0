//! One sample of the machine during a `cargo xtask hold` run: connections, TCP sockets and
//! buffers, kernel slab, free memory, CPU, and the resident memory of the client and target
//! process trees.

use std::time::Instant;

use crate::procfs::{self, ProcessTree, TICKS_PER_SECOND};

/// What the machine looked like at one moment.
#[derive(Clone, Debug, Default)]
pub(crate) struct Sample {
    /// Seconds since the client was started (negative before).
    pub(crate) t: f64,
    /// Connections the target's workers hold open, as they last reported (they report every
    /// second): the exact count of connections held.
    pub(crate) target_open: u64,
    /// TCP sockets established, machine-wide (both ends of a loopback connection).
    pub(crate) established: u64,
    /// TCP sockets in use (`/proc/net/sockstat`).
    pub(crate) tcp_inuse: u64,
    /// Pages of TCP buffer memory (`/proc/net/sockstat`, limited by `net.ipv4.tcp_mem`).
    pub(crate) tcp_mem_pages: u64,
    /// `Slab` of `/proc/meminfo`, KiB.
    pub(crate) slab_kib: u64,
    /// `SUnreclaim` of `/proc/meminfo`, KiB.
    pub(crate) sunreclaim_kib: u64,
    /// `MemAvailable` of `/proc/meminfo`, KiB.
    pub(crate) available_kib: u64,
    /// Entries in the connection-tracking table, if the module is loaded.
    pub(crate) conntrack: Option<u64>,
    /// The share of both CPUs busy since the previous sample (user, system and interrupts),
    /// machine-wide: other users' work included.
    pub(crate) cpu_busy: f64,
    /// The client's process tree.
    pub(crate) client: ProcessTree,
    /// The target's process tree.
    pub(crate) target: ProcessTree,
    /// CPUs the client's processes used since the previous sample (2.0: both cores).
    pub(crate) client_cpus: f64,
    /// CPUs the target's processes used since the previous sample.
    pub(crate) target_cpus: f64,
}

impl Sample {
    /// Connections on this machine above `before`: established sockets beyond those of
    /// `before`, halved (each loopback connection has both its ends here). Approximate: other
    /// users' connections that open or close meanwhile count too.
    pub(crate) fn connections_above(&self, before: &Sample) -> u64 {
        self.established.saturating_sub(before.established) / 2
    }

    /// The sample as JSON, for `hold.json`.
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "t_s": (self.t * 10.0).round() / 10.0,
            "target_open": self.target_open,
            "established": self.established,
            "tcp_inuse": self.tcp_inuse,
            "tcp_mem_pages": self.tcp_mem_pages,
            "slab_kib": self.slab_kib,
            "sunreclaim_kib": self.sunreclaim_kib,
            "mem_available_kib": self.available_kib,
            "conntrack": self.conntrack,
            "cpu_busy": (self.cpu_busy * 1000.0).round() / 1000.0,
            "client_cpus": (self.client_cpus * 1000.0).round() / 1000.0,
            "target_cpus": (self.target_cpus * 1000.0).round() / 1000.0,
            "client_rss_kib": self.client.kib,
            "client_processes": self.client.processes,
            "target_rss_kib": self.target.kib,
            "target_processes": self.target.processes,
        })
    }
}

/// Takes samples, keeping what it needs to tell CPU use between two of them.
#[derive(Debug)]
pub(crate) struct Sampler {
    /// When the client started (or will: times before are negative).
    origin: Instant,
    /// `/proc/stat`'s busy and total jiffies at the previous sample.
    cpu: (u64, u64),
    /// The previous sample's time and process trees (client, target).
    previous: Option<(Instant, ProcessTree, ProcessTree)>,
}

impl Sampler {
    /// A sampler timing samples from `origin`.
    pub(crate) fn new(origin: Instant) -> Sampler {
        Sampler {
            origin,
            cpu: cpu_jiffies().unwrap_or_default(),
            previous: None,
        }
    }

    /// Sets the time samples are counted from.
    pub(crate) fn set_origin(&mut self, origin: Instant) {
        self.origin = origin;
    }

    /// A sample now, of the client tree under `client` and the target tree under `target`.
    pub(crate) fn sample(
        &mut self,
        client: Option<u32>,
        target: Option<u32>,
    ) -> Result<Sample, String> {
        let now = Instant::now();
        let t = match now.checked_duration_since(self.origin) {
            Some(after) => after.as_secs_f64(),
            None => -(self.origin - now).as_secs_f64(),
        };
        let (tcp_inuse, tcp_mem_pages) = procfs::tcp_sockstat()?;
        let cpu = cpu_jiffies().unwrap_or_default();
        let (busy, total) = (
            cpu.0.saturating_sub(self.cpu.0),
            cpu.1.saturating_sub(self.cpu.1),
        );
        self.cpu = cpu;
        let client = client.map(procfs::tree).unwrap_or_default();
        let target = target.map(procfs::tree).unwrap_or_default();
        let (client_cpus, target_cpus) = match self.previous.replace((now, client, target)) {
            Some((then, client_then, target_then)) => {
                let seconds = (now - then).as_secs_f64().max(1e-3);
                let cpus = |now: &ProcessTree, then: ProcessTree| {
                    now.cpu_ticks.saturating_sub(then.cpu_ticks) as f64 / TICKS_PER_SECOND / seconds
                };
                (cpus(&client, client_then), cpus(&target, target_then))
            }
            None => (0.0, 0.0),
        };
        Ok(Sample {
            t,
            target_open: 0,
            established: procfs::established()?,
            tcp_inuse,
            tcp_mem_pages,
            slab_kib: procfs::meminfo_kib("Slab")?,
            sunreclaim_kib: procfs::meminfo_kib("SUnreclaim")?,
            available_kib: procfs::meminfo_kib("MemAvailable")?,
            conntrack: procfs::sys_number("net/netfilter/nf_conntrack_count"),
            cpu_busy: if total == 0 {
                0.0
            } else {
                busy as f64 / total as f64
            },
            client,
            target,
            client_cpus,
            target_cpus,
        })
    }
}

/// Busy and total jiffies of all CPUs, from the `cpu` line of `/proc/stat` (busy: all but idle
/// and iowait).
fn cpu_jiffies() -> Option<(u64, u64)> {
    let text = std::fs::read_to_string("/proc/stat").ok()?;
    let line = text.lines().find(|line| line.starts_with("cpu "))?;
    let values: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .take(8)
        .filter_map(|value| value.parse().ok())
        .collect();
    let total: u64 = values.iter().sum();
    let idle = values.get(3)? + values.get(4)?;
    Some((total - idle, total))
}
