//! A throwaway Slurm cluster on this machine: one `slurmctld` and a few `slurmd`, each daemon a
//! child process in the foreground and each `slurmd` a simulated node on 127.0.0.1 with a port
//! of its own; the configuration, state, spool directories and logs all under one directory.
//!
//! What it takes to run as root without systemd or munge (Slurm 22.05): `SlurmUser=root`,
//! `auth/none` and `cred/none`, no accounting, `proctrack/linuxproc` and `task/none` (no
//! cgroups), and `cons_tres` with `CR_CPU,CR_LLN` so that tasks spread over the nodes.

use std::fs::{self, File};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use super::install::Programs;

/// CPUs each simulated node offers (more than the machine may have: `config_overrides`).
const NODE_CPUS: u32 = 2;
/// How long the nodes may take to register with the controller.
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// How long jobs cancelled at teardown may take to end.
const CANCEL_TIMEOUT: Duration = Duration::from_secs(15);
/// How long a daemon may take to exit after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);
/// The pause between two looks at the cluster's state.
pub(crate) const POLL: Duration = Duration::from_millis(200);

/// A running cluster. Dropping it cancels the jobs still queued and stops the daemons, by pid.
#[derive(Debug)]
pub(crate) struct Cluster {
    /// Slurm's programs.
    programs: Programs,
    /// The configuration file (`SLURM_CONF` for every client command).
    conf: PathBuf,
    /// The daemons' logs.
    log_dir: PathBuf,
    /// The daemons, the controller first.
    daemons: Vec<Daemon>,
}

/// One daemon: its name (`slurmctld`, or the node's) and its process.
#[derive(Debug)]
struct Daemon {
    /// `slurmctld` or the node's name; its log is `<name>.log`.
    name: String,
    /// The process, a child of this one.
    child: Child,
}

impl Cluster {
    /// Writes the configuration of a cluster of `nodes` nodes under `dir`, starts its daemons
    /// and waits until every node is idle.
    pub(crate) fn start(programs: Programs, dir: &Path, nodes: usize) -> Result<Cluster, String> {
        let log_dir = dir.join("log");
        let spools = node_names(nodes)
            .into_iter()
            .map(|node| dir.join("spool").join(node));
        for sub in [log_dir.clone(), dir.join("state")]
            .into_iter()
            .chain(spools)
        {
            fs::create_dir_all(&sub)
                .map_err(|error| format!("cannot create {}: {error}", sub.display()))?;
        }
        let ports = free_ports(nodes + 1)?;
        let conf = dir.join("slurm.conf");
        let text = config(dir, &hostname()?, ports[0], &ports[1..]);
        fs::write(&conf, text)
            .map_err(|error| format!("cannot write {}: {error}", conf.display()))?;

        let mut cluster = Cluster {
            programs,
            conf,
            log_dir,
            daemons: Vec::new(),
        };
        let controller = cluster.programs.slurmctld.clone();
        cluster.spawn("slurmctld", &controller, &[])?;
        let node_daemon = cluster.programs.slurmd.clone();
        for node in node_names(nodes) {
            cluster.spawn(&node, &node_daemon, &["-N", &node])?;
        }
        cluster.wait_idle(nodes)?;
        Ok(cluster)
    }

    /// Slurm's programs.
    pub(crate) fn programs(&self) -> &Programs {
        &self.programs
    }

    /// The directory of the daemons' logs.
    pub(crate) fn log_dir(&self) -> &Path {
        &self.log_dir
    }

    /// The client command `program`, aimed at this cluster (`SLURM_CONF`).
    pub(crate) fn command(&self, program: &Path) -> Command {
        let mut command = Command::new(program);
        command.env("SLURM_CONF", &self.conf).stdin(Stdio::null());
        command
    }

    /// Runs the client command `program` with `args` against this cluster and returns what it
    /// printed (see [`output`]).
    pub(crate) fn query(&self, program: &Path, args: &[&str]) -> Result<String, String> {
        output(self.command(program).args(args))
    }

    /// Starts `program` with `args` in the foreground (`-D`), its output going to its log.
    fn spawn(&mut self, name: &str, program: &Path, args: &[&str]) -> Result<(), String> {
        let log_path = self.log_dir.join(format!("{name}.log"));
        let log = File::create(&log_path)
            .map_err(|error| format!("cannot create {}: {error}", log_path.display()))?;
        let stderr = log
            .try_clone()
            .map_err(|error| format!("cannot share {}: {error}", log_path.display()))?;
        let child = Command::new(program)
            .arg("-D")
            .arg("-f")
            .arg(&self.conf)
            .args(args)
            .env("SLURM_CONF", &self.conf)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(stderr)
            .spawn()
            .map_err(|error| format!("cannot start {}: {error}", program.display()))?;
        self.daemons.push(Daemon {
            name: name.to_owned(),
            child,
        });
        Ok(())
    }

    /// Waits until `sinfo` shows all `nodes` nodes idle; an error, with the logs of the
    /// daemons, if one exits or the nodes take too long.
    fn wait_idle(&mut self, nodes: usize) -> Result<(), String> {
        let started = Instant::now();
        loop {
            if let Some(exited) = self.exited_daemon() {
                return Err(format!("{exited}\n{}", self.logs()));
            }
            // `sinfo` fails while the controller is not listening yet: not an error here.
            let states = self
                .query(&self.programs.sinfo, &["-h", "-N", "-o", "%N %t"])
                .unwrap_or_default();
            let idle = states
                .lines()
                .filter(|line| line.ends_with(" idle"))
                .count();
            if idle == nodes {
                return Ok(());
            }
            if started.elapsed() > IDLE_TIMEOUT {
                return Err(format!(
                    "the nodes are not idle after {IDLE_TIMEOUT:?}; sinfo says:\n{states}\n{}",
                    self.logs()
                ));
            }
            thread::sleep(POLL);
        }
    }

    /// A description of the first daemon found to have exited, if any.
    fn exited_daemon(&mut self) -> Option<String> {
        self.daemons
            .iter_mut()
            .find_map(|daemon| match daemon.child.try_wait() {
                Ok(Some(status)) => Some(format!("{} exited early ({status})", daemon.name)),
                Ok(None) => None,
                Err(error) => Some(format!("cannot watch {}: {error}", daemon.name)),
            })
    }

    /// The end of every daemon's log, for an error message.
    pub(crate) fn logs(&self) -> String {
        self.daemons
            .iter()
            .map(|daemon| self.log(&daemon.name))
            .collect()
    }

    /// The end of the controller's log (which tells how each job ended), for an error message.
    pub(crate) fn controller_log(&self) -> String {
        self.log("slurmctld")
    }

    /// The end of the log of the daemon `name`, headed by its path.
    fn log(&self, name: &str) -> String {
        let path = self.log_dir.join(format!("{name}.log"));
        format!("--- {} (last lines)\n{}", path.display(), tail(&path, 15))
    }

    /// Cancels the jobs still queued or running and waits (a while) for them to end, so that
    /// no job step outlives the daemons.
    fn cancel_jobs(&mut self) {
        // Without a controller there is nothing to ask (and a client waits for it in vain).
        let controller_alive = self
            .daemons
            .first_mut()
            .is_some_and(|controller| matches!(controller.child.try_wait(), Ok(None)));
        if !controller_alive {
            return;
        }
        let queued = |cluster: &Cluster| {
            cluster
                .query(&cluster.programs.squeue, &["-h", "-o", "%i"])
                .map(|out| !out.trim().is_empty())
                .unwrap_or(false)
        };
        if !queued(self) {
            return;
        }
        eprintln!("slurm: cancelling the jobs still queued");
        if let Err(error) = self.query(&self.programs.scancel, &["--partition", PARTITION]) {
            eprintln!("slurm: {error}");
        }
        let started = Instant::now();
        while queued(self) && started.elapsed() < CANCEL_TIMEOUT {
            thread::sleep(POLL);
        }
    }

    /// Stops every daemon: SIGTERM to each by pid, then SIGKILL to any still running after
    /// [`STOP_TIMEOUT`] (a `slurmd` that cannot reach its controller ignores SIGTERM for a
    /// while); waits for each, so no zombie is left either.
    fn stop_daemons(&mut self) {
        for daemon in &mut self.daemons {
            terminate(&mut daemon.child);
        }
        let started = Instant::now();
        for daemon in &mut self.daemons {
            loop {
                match daemon.child.try_wait() {
                    Ok(Some(_)) => break,
                    Ok(None) if started.elapsed() < STOP_TIMEOUT => thread::sleep(POLL / 4),
                    _ => {
                        eprintln!("slurm: {} ignored SIGTERM; killing it", daemon.name);
                        let _ = daemon.child.kill();
                        let _ = daemon.child.wait();
                        break;
                    }
                }
            }
        }
        self.daemons.clear();
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.cancel_jobs();
        self.stop_daemons();
    }
}

/// The partition of every node.
pub(crate) const PARTITION: &str = "ttk";

/// The names of `nodes` nodes: `n1`, `n2`, ...
fn node_names(nodes: usize) -> Vec<String> {
    (1..=nodes).map(|node| format!("n{node}")).collect()
}

/// The configuration of a cluster whose controller runs on `host` at `controller_port`, with a
/// node at each of `node_ports`; every path under `dir`.
fn config(dir: &Path, host: &str, controller_port: u16, node_ports: &[u16]) -> String {
    let dir = dir.display();
    let mut text = format!(
        "\
# A throwaway cluster made by `cargo xtask slurm`: every daemon runs here, as root.
ClusterName=ttk
SlurmctldHost={host}(127.0.0.1)
SlurmctldPort={controller_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/none
CredType=cred/none
MpiDefault=none
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU,CR_LLN
SlurmdParameters=config_overrides
ReturnToService=2
KillWait=2
StateSaveLocation={dir}/state
SlurmctldPidFile={dir}/slurmctld.pid
SlurmdPidFile={dir}/slurmd-%n.pid
SlurmdSpoolDir={dir}/spool/%n
"
    );
    let names = node_names(node_ports.len());
    for (name, port) in names.iter().zip(node_ports) {
        text.push_str(&format!(
            "NodeName={name} NodeAddr=127.0.0.1 Port={port} CPUs={NODE_CPUS} State=UNKNOWN\n"
        ));
    }
    text.push_str(&format!(
        "PartitionName={PARTITION} Nodes={} Default=YES MaxTime=INFINITE State=UP\n",
        names.join(",")
    ));
    text
}

/// `count` distinct TCP ports free on 127.0.0.1 now (held together while they are chosen).
fn free_ports(count: usize) -> Result<Vec<u16>, String> {
    let listeners = (0..count)
        .map(|_| TcpListener::bind("127.0.0.1:0"))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| format!("cannot find a free port: {error}"))?;
    listeners
        .iter()
        .map(|listener| listener.local_addr().map(|address| address.port()))
        .collect::<Result<_, _>>()
        .map_err(|error| format!("cannot find a free port: {error}"))
}

/// This machine's short host name, which the controller must find in `SlurmctldHost`.
fn hostname() -> Result<String, String> {
    let path = "/proc/sys/kernel/hostname";
    let name = fs::read_to_string(path).map_err(|error| format!("cannot read {path}: {error}"))?;
    Ok(name.trim().split('.').next().unwrap_or_default().to_owned())
}

/// Sends SIGTERM to `child`, which lets a Slurm daemon save its state and end its helpers.
fn terminate(child: &mut Child) {
    let Ok(pid) = libc::pid_t::try_from(child.id()) else {
        return;
    };
    // SAFETY: kill(2) takes no pointer; the pid is our child's, not yet waited for, so it
    // cannot have been reused by another process.
    unsafe {
        libc::kill(pid, libc::SIGTERM);
    }
}

/// Runs `command` and returns what it printed; an error, with its standard error, if it fails.
pub(crate) fn output(command: &mut Command) -> Result<String, String> {
    let described = format!("{command:?}");
    let output = command
        .output()
        .map_err(|error| format!("cannot run {described}: {error}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    if output.status.success() {
        Ok(stdout)
    } else {
        Err(format!(
            "{described} failed ({}): {stdout}{}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim_end()
        ))
    }
}

/// The last `lines` lines of the file at `path` (or why it cannot be read).
pub(crate) fn tail(path: &Path, lines: usize) -> String {
    match fs::read_to_string(path) {
        Ok(text) => {
            let all: Vec<&str> = text.lines().collect();
            let mut end = all[all.len().saturating_sub(lines)..].join("\n");
            end.push('\n');
            end
        }
        Err(error) => format!("(cannot read it: {error})\n"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_names_every_node_once_with_its_port() {
        let text = config(Path::new("/tmp/c"), "vm", 7000, &[7001, 7002]);
        assert!(text.contains("SlurmctldHost=vm(127.0.0.1)\nSlurmctldPort=7000\n"));
        assert!(text.contains("NodeName=n1 NodeAddr=127.0.0.1 Port=7001 "));
        assert!(text.contains("NodeName=n2 NodeAddr=127.0.0.1 Port=7002 "));
        assert!(text.contains("PartitionName=ttk Nodes=n1,n2 "));
        assert!(text.contains("SlurmdSpoolDir=/tmp/c/spool/%n\n"));
    }

    #[test]
    fn free_ports_are_distinct() {
        let mut ports = free_ports(4).unwrap();
        ports.sort_unstable();
        ports.dedup();
        assert_eq!(ports.len(), 4);
    }
}
