//! A throwaway Slurm cluster on this machine: one `slurmctld` and a few `slurmd` (the nodes, see
//! [`config`]), each daemon a child process in the foreground, its output in its own log; the
//! state, spool directories and logs all under one directory.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use super::config;
use super::install::Programs;

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
        let spools = config::node_names(nodes)
            .into_iter()
            .map(|node| dir.join("spool").join(node));
        for sub in [log_dir.clone(), dir.join("state")]
            .into_iter()
            .chain(spools)
        {
            fs::create_dir_all(&sub)
                .map_err(|error| format!("cannot create {}: {error}", sub.display()))?;
        }
        let conf = config::write(dir, nodes)?;

        let mut cluster = Cluster {
            programs,
            conf,
            log_dir,
            daemons: Vec::new(),
        };
        let controller = cluster.programs.slurmctld.clone();
        cluster.spawn("slurmctld", &controller, &[])?;
        let node_daemon = cluster.programs.slurmd.clone();
        for node in config::node_names(nodes) {
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
        if let Err(error) = self.query(&self.programs.scancel, &["--partition", config::PARTITION])
        {
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
