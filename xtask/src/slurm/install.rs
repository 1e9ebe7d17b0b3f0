//! Finding Slurm's programs, and installing Debian's packages of them when they are missing.

use std::path::PathBuf;
use std::process::{Command, Stdio};

/// The Debian packages that hold the controller, the node daemon and the client commands.
const PACKAGES: [&str; 3] = ["slurmctld", "slurmd", "slurm-client"];

/// Where Slurm's programs are on this machine.
#[derive(Debug)]
pub(crate) struct Programs {
    /// The controller daemon.
    pub(crate) slurmctld: PathBuf,
    /// The node daemon.
    pub(crate) slurmd: PathBuf,
    /// Submits a batch job.
    pub(crate) sbatch: PathBuf,
    /// Lists the jobs still pending or running.
    pub(crate) squeue: PathBuf,
    /// Lists the nodes and their states.
    pub(crate) sinfo: PathBuf,
    /// Shows a job's state and exit code.
    pub(crate) scontrol: PathBuf,
    /// Cancels jobs.
    pub(crate) scancel: PathBuf,
}

/// Finds Slurm's programs, installing the packages with apt-get first if any is missing.
pub(crate) fn ensure() -> Result<Programs, String> {
    if let Some(programs) = find() {
        return Ok(programs);
    }
    println!("== installing {} (apt-get)", PACKAGES.join(" "));
    let install: Vec<&str> = ["install", "-y", "-qq"]
        .into_iter()
        .chain(PACKAGES)
        .collect();
    // An install from a stale package list fails to download; then refresh it and try again.
    if apt_get(&install).is_err() {
        apt_get(&["update", "-qq"])?;
        apt_get(&install)?;
    }
    find().ok_or_else(|| {
        format!(
            "{} are installed but their programs are not in PATH, /usr/sbin or /usr/bin",
            PACKAGES.join(" ")
        )
    })
}

/// Slurm's programs, or `None` if any is missing.
fn find() -> Option<Programs> {
    Some(Programs {
        slurmctld: program("slurmctld")?,
        slurmd: program("slurmd")?,
        sbatch: program("sbatch")?,
        squeue: program("squeue")?,
        sinfo: program("sinfo")?,
        scontrol: program("scontrol")?,
        scancel: program("scancel")?,
    })
}

/// The program `name` in `PATH`, or in the system directories (a user's `PATH` may lack
/// `/usr/sbin`, where the daemons are).
fn program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/bin", "/sbin", "/bin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// Runs `apt-get <args>` without questions.
fn apt_get(args: &[&str]) -> Result<(), String> {
    // dpkg's progress goes to stdout even with -qq; apt-get's errors go to stderr.
    let status = Command::new("apt-get")
        .args(args)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .stdout(Stdio::null())
        .status()
        .map_err(|error| format!("cannot run apt-get (is this Debian?): {error}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "`apt-get {}` failed ({status}); installing Slurm needs root",
            args.join(" ")
        ))
    }
}
