//! Finding Slurm's programs, and installing Debian's packages of them when they are missing.

use std::path::PathBuf;

use crate::debian::{self, program};

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
    debian::install(&PACKAGES, debian::Extras::Recommended)?;
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
