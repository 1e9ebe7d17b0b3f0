//! Debian's programs and packages: finding a program where Debian puts it, and installing the
//! packages that hold what a task needs when they are missing (as root).

use std::path::PathBuf;
use std::process::{Command, Stdio};

/// The program `name` in `PATH`, or in the system directories (a user's `PATH` may lack
/// `/usr/sbin`, where daemons and iproute2 are).
pub(crate) fn program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/bin", "/sbin", "/bin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// What [`install`] installs beside the packages named.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Extras {
    /// What they recommend too, as apt-get does by default.
    Recommended,
    /// Only what they depend on (qemu's recommended packages would bring a desktop's worth).
    DependenciesOnly,
}

/// Installs `packages` with apt-get; from a fresh package list if the first try fails (an
/// install from a stale or missing list cannot download).
pub(crate) fn install(packages: &[&str], extras: Extras) -> Result<(), String> {
    println!("== installing {} (apt-get)", packages.join(" "));
    let only = (extras == Extras::DependenciesOnly).then_some("--no-install-recommends");
    let install: Vec<&str> = ["install", "-y", "-qq"]
        .into_iter()
        .chain(only)
        .chain(packages.iter().copied())
        .collect();
    if apt_get(&install).is_err() {
        apt_get(&["update", "-qq"])?;
        apt_get(&install)?;
    }
    Ok(())
}

/// Runs `apt-get <args>` without questions.
pub(crate) fn apt_get(args: &[&str]) -> Result<(), String> {
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
            "`apt-get {}` failed ({status}); installing packages needs root",
            args.join(" ")
        ))
    }
}
