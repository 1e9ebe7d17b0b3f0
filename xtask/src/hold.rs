//! `cargo xtask hold [--connections N] [--processes P] …`: holds N concurrent TCP connections on
//! this machine — the `hold` example as P client processes against `hold_target`, K processes
//! sharing one port — and measures it from `/proc` while it runs: connections held, resident
//! memory per connected bot, kernel memory per connection, the ramp rate. Prints a table,
//! writes `target/ttk-bench/hold.json`, and fails unless every connection was held.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::cargo;
use crate::hold_figures::{self, Outcome};
use crate::sampler::{Sample, Sampler};
use crate::sysctl::Sysctls;

/// The usage line of `cargo xtask hold`.
pub(crate) const USAGE: &str = "cargo xtask hold [--connections N] [--processes P] \
     [--targets K] [--ramp-up SECONDS] [--hold SECONDS] [--every SECONDS]";

/// Connections a client process is planned for, under the open-file limit of 20,000.
const BOTS_PER_PROCESS: u64 = 17_000;
/// Connections a target process is planned for: the kernel spreads them over the processes
/// sharing the port by a hash, evenly but not exactly, so each gets room.
const CONNECTIONS_PER_TARGET: u64 = 15_000;
/// The listen backlog and SYN queue asked for during the run.
const BACKLOG: u64 = 65_535;
/// Descriptors the system needs besides two per connection.
const SPARE_FILES: u64 = 200_000;
/// How long the client may run beyond its duration and grace before it is killed.
const OVERTIME: Duration = Duration::from_secs(60);

/// What to run, from the command line.
#[derive(Clone, Debug)]
pub(crate) struct Plan {
    /// Connections to hold.
    pub(crate) connections: u64,
    /// Client processes (`hold --processes`).
    pub(crate) processes: u64,
    /// Target processes (`hold_target --processes`).
    pub(crate) targets: u64,
    /// Seconds over which the bots connect.
    pub(crate) ramp_up_s: u64,
    /// Seconds every connection is held after the ramp-up.
    pub(crate) hold_s: u64,
    /// Seconds between a bot's requests.
    pub(crate) every_s: u64,
}

impl Plan {
    /// Reads the flags after `hold`; defaults follow from `--connections`.
    pub(crate) fn parse(args: &[String]) -> Result<Plan, String> {
        let mut given = std::collections::HashMap::new();
        let mut words = args.iter();
        while let Some(flag) = words.next() {
            let name = flag
                .strip_prefix("--")
                .ok_or(format!("unexpected {flag:?}"))?;
            if ![
                "connections",
                "processes",
                "targets",
                "ramp-up",
                "hold",
                "every",
            ]
            .contains(&name)
            {
                return Err(format!("unknown flag {flag}"));
            }
            let value = words.next().ok_or(format!("{flag} needs a value"))?;
            let number: u64 = value
                .replace('_', "")
                .parse()
                .map_err(|_| format!("{flag}: not a whole number: {value:?}"))?;
            if number == 0 {
                return Err(format!("{flag} must be at least 1"));
            }
            given.insert(name.to_owned(), number);
        }
        let connections = given.get("connections").copied().unwrap_or(100_000);
        let default = |name: &str, value: u64| given.get(name).copied().unwrap_or(value);
        Ok(Plan {
            connections,
            processes: default("processes", connections.div_ceil(BOTS_PER_PROCESS)),
            targets: default("targets", connections.div_ceil(CONNECTIONS_PER_TARGET)),
            ramp_up_s: default("ramp-up", (connections / 2_500).max(10)),
            hold_s: default("hold", 20),
            every_s: default("every", 5),
        })
    }

    /// How long load is made: the ramp-up, then the hold.
    fn duration_s(&self) -> u64 {
        self.ramp_up_s + self.hold_s
    }

    /// How long bots get to close after the duration: a period of requests and a margin.
    fn grace_s(&self) -> u64 {
        self.every_s + 10
    }
}

/// Runs `plan` and reports; an error if it could not run or did not hold every connection.
pub(crate) fn run(plan: &Plan) -> Result<(), String> {
    cargo::run(&[
        "build",
        "--release",
        "-p",
        "ttk-examples",
        "--example",
        "hold",
        "--bin",
        "hold_target",
    ])?;
    let release = cargo::target_dir().join("release");
    let dir = cargo::target_dir().join("ttk-bench");
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let report_path = dir.join("hold-report.json");
    remove(&report_path)?;
    remove(&dir.join("hold.json"))?;

    let sysctls = tune(plan);
    println!("kernel settings:\n{}", sysctls.describe());

    let mut sampler = Sampler::new(Instant::now());
    let before = sampler.sample(None, None)?;
    let target = Target::start(&release.join("hold_target"), plan)?;
    println!(
        "target: {} processes on {} (pid {})",
        plan.targets, target.addr, target.pid
    );
    let client = Client::start(
        &release.join("examples").join("hold"),
        plan,
        &target.addr,
        &report_path,
    )?;
    sampler.set_origin(client.started);
    let (status, samples) = watch(client, &target, plan, &mut sampler, &before)?;
    drop(target);
    let after = sampler.sample(None, None)?;
    drop(sysctls_restored(sysctls));

    let outcome = Outcome {
        plan,
        before: &before,
        samples: &samples,
        after: &after,
        status,
        report: read_report(&report_path),
    };
    hold_figures::report(&outcome, &dir.join("hold.json"))
}

/// Raises the settings a run of this size needs, and reads the others that could stop it.
fn tune(plan: &Plan) -> Sysctls {
    let mut sysctls = Sysctls::default();
    sysctls.raise("net.core.somaxconn", BACKLOG);
    sysctls.raise("net.ipv4.tcp_max_syn_backlog", BACKLOG);
    sysctls.raise("fs.file-max", 2 * plan.connections + SPARE_FILES);
    for name in [
        "fs.nr_open",
        "net.ipv4.ip_local_port_range",
        "net.ipv4.tcp_mem",
        "net.netfilter.nf_conntrack_max",
        "net.ipv4.tcp_max_orphans",
    ] {
        sysctls.read(name);
    }
    sysctls
}

/// Restores the settings (on drop) and says so.
fn sysctls_restored(sysctls: Sysctls) -> Sysctls {
    if sysctls
        .settings
        .iter()
        .any(|setting| setting.set_to.is_some())
    {
        println!("kernel settings restored");
    }
    sysctls
}

/// `hold_target`, running; it stops when its standard input closes (on drop).
struct Target {
    /// The process (its workers are its children).
    child: Child,
    /// Its pid.
    pid: u32,
    /// The address it listens on.
    addr: String,
    /// The connections its workers hold, as it last reported (every second).
    open: Arc<AtomicU64>,
}

impl Target {
    /// Starts `binary` with the plan's processes, for longer than the client can run.
    fn start(binary: &Path, plan: &Plan) -> Result<Target, String> {
        let run_for = plan.duration_s() + plan.grace_s() + OVERTIME.as_secs() + 30;
        let mut child = Command::new(binary)
            .args(["--processes", &plan.targets.to_string()])
            .args(["--for", &format!("{run_for}s")])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|error| format!("cannot start {}: {error}", binary.display()))?;
        let stdout = child.stdout.take().ok_or("no pipe from hold_target")?;
        let mut stdout = BufReader::new(stdout);
        let mut addr = String::new();
        stdout
            .read_line(&mut addr)
            .map_err(|error| format!("hold_target printed no address: {error}"))?;
        let pid = child.id();
        let addr = addr.trim().to_owned();
        if addr.is_empty() {
            let _ = child.wait();
            return Err("hold_target exited without listening".to_owned());
        }
        let open = Arc::new(AtomicU64::new(0));
        let latest = open.clone();
        std::thread::spawn(move || {
            for line in stdout.lines() {
                let Ok(line) = line else { break };
                if let Some(Ok(count)) = line.strip_prefix("connections ").map(str::parse) {
                    latest.store(count, Ordering::Relaxed);
                }
            }
        });
        Ok(Target {
            child,
            pid,
            addr,
            open,
        })
    }

    /// The connections its workers hold, as it last reported.
    fn open(&self) -> u64 {
        self.open.load(Ordering::Relaxed)
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

/// The `hold` example, running.
struct Client {
    /// The parent of the shard processes.
    child: Child,
    /// When it was started.
    started: Instant,
}

impl Client {
    /// Starts `binary` as the plan says, its output on this terminal.
    fn start(binary: &Path, plan: &Plan, target: &str, report: &Path) -> Result<Client, String> {
        let mut command = Command::new(binary);
        command
            .args(["--processes", &plan.processes.to_string()])
            .args(["--bots", &plan.connections.to_string()])
            .args(["--ramp-up", &format!("{}s", plan.ramp_up_s)])
            .args(["--duration", &format!("{}s", plan.duration_s())])
            .args(["--grace", &format!("{}s", plan.grace_s())])
            .args(["--every", &format!("{}s", plan.every_s)])
            .args(["--target", target])
            .arg("--json")
            .arg(report)
            .arg("--quiet")
            .stdin(Stdio::null());
        let printed: Vec<String> = command
            .get_args()
            .map(|arg| arg.to_string_lossy().into_owned())
            .collect();
        println!("client: hold {}", printed.join(" "));
        let started = Instant::now();
        let child = command
            .spawn()
            .map_err(|error| format!("cannot start {}: {error}", binary.display()))?;
        Ok(Client { child, started })
    }
}

/// Samples the machine every second until the client ends (killing it if it overruns), with a
/// line every five seconds; returns its exit status and the samples.
fn watch(
    mut client: Client,
    target: &Target,
    plan: &Plan,
    sampler: &mut Sampler,
    before: &Sample,
) -> Result<(ExitStatus, Vec<Sample>), String> {
    let limit = Duration::from_secs(plan.duration_s() + plan.grace_s()) + OVERTIME;
    let mut samples = Vec::new();
    let mut tick = 0u64;
    let mut killed = false;
    loop {
        if let Some(status) = client.child.try_wait().map_err(|e| e.to_string())? {
            return Ok((status, samples));
        }
        if !killed && client.started.elapsed() > limit {
            eprintln!("xtask: the client overran {limit:?}: killing it");
            let _ = client.child.kill();
            killed = true;
        }
        let mut sample = sampler.sample(Some(client.child.id()), Some(target.pid))?;
        sample.target_open = target.open();
        if tick.is_multiple_of(5) {
            println!(
                "  t {:>4.0}s  connections {:>9} (established / 2: {:>9})  client RSS {:>7} MiB ({} processes)  \
                 target RSS {:>6} MiB  slab +{:>6} MiB  TCP mem {:>6} pages  \
                 CPUs used: client {:.2} target {:.2} (machine {:>3.0}% busy)",
                sample.t,
                sample.target_open,
                sample.connections_above(before),
                sample.client.kib / 1024,
                sample.client.processes,
                sample.target.kib / 1024,
                sample.slab_kib.saturating_sub(before.slab_kib) / 1024,
                sample.tcp_mem_pages,
                sample.client_cpus,
                sample.target_cpus,
                sample.cpu_busy * 100.0,
            );
        }
        samples.push(sample);
        tick += 1;
        let next = client.started + Duration::from_secs(tick);
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
    }
}

/// The merged report the client wrote, if it wrote one.
fn read_report(path: &PathBuf) -> Result<serde_json::Value, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| format!("the client wrote no report at {}: {error}", path.display()))?;
    serde_json::from_str(&text).map_err(|error| format!("{}: {error}", path.display()))
}

/// Removes a file an earlier run left, so that it cannot pass for this run's.
fn remove(path: &Path) -> Result<(), String> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(format!("cannot remove {}: {error}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn defaults_follow_from_the_connections() {
        let plan = Plan::parse(&words("--connections 1_000_000")).unwrap();
        assert_eq!((plan.processes, plan.targets), (59, 67));
        assert_eq!((plan.ramp_up_s, plan.hold_s, plan.every_s), (400, 20, 5));
        let plan = Plan::parse(&words("--processes 6")).unwrap();
        assert_eq!(
            (plan.connections, plan.processes, plan.targets),
            (100_000, 6, 7)
        );
        assert_eq!(plan.ramp_up_s, 40);
    }

    #[test]
    fn bad_flags_are_refused() {
        assert!(Plan::parse(&words("--connections")).is_err());
        assert!(Plan::parse(&words("--connections many")).is_err());
        assert!(Plan::parse(&words("--processes 0")).is_err());
        assert!(
            Plan::parse(&words("--bots 10"))
                .unwrap_err()
                .contains("unknown flag")
        );
    }
}
