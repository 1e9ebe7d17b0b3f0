//! Debian's own kernel for the VM: the image of the package `linux-image-amd64` points to, and
//! the two modules the netem test needs from it (`sch_netem`, `veth`), downloaded once into
//! the task's directory with apt-get and unpacked there.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::debian;

/// The modules the netem test loads, as their paths under `lib/modules/<version>/kernel/`.
pub(crate) const MODULES: [&str; 2] = ["net/sched/sch_netem.ko", "drivers/net/veth.ko"];

/// A kernel to boot and its modules, unpacked.
pub(crate) struct Kernel {
    /// The package it came from (`linux-image-6.1.0-…-amd64`).
    pub(crate) package: String,
    /// The kernel image.
    pub(crate) image: PathBuf,
    /// [`MODULES`], in that order, uncompressed.
    pub(crate) modules: Vec<PathBuf>,
}

/// The kernel of Debian's `linux-image-amd64` in `dir`, downloaded and unpacked if it is not
/// there yet.
pub(crate) fn fetch(dir: &Path) -> Result<Kernel, String> {
    // Package lists never fetched know no kernel; old ones may name a kernel the mirror has
    // since replaced. Either way the download fails, and fresh lists fix it.
    let package = match current_package().and_then(|package| download(dir, &package)) {
        Ok(kernel) => return Ok(kernel),
        Err(first) => {
            println!("== {first}; fetching apt's package lists and trying again");
            debian::apt_get(&["update", "-qq"])?;
            current_package()?
        }
    };
    download(dir, &package)
}

/// The kernel `package` unpacked in `dir`, downloaded first if it is not there.
fn download(dir: &Path, package: &str) -> Result<Kernel, String> {
    let unpacked = dir.join(package);
    if let Some(kernel) = found(&unpacked, package) {
        return Ok(kernel);
    }
    std::fs::create_dir_all(dir)
        .map_err(|error| format!("cannot make {}: {error}", dir.display()))?;
    let prefix = format!("{package}_");
    let debs = || -> Result<Vec<PathBuf>, String> {
        Ok(std::fs::read_dir(dir)
            .map_err(|error| format!("cannot list {}: {error}", dir.display()))?
            .filter_map(|entry| entry.ok().map(|entry| entry.path()))
            .filter(|path| {
                path.file_name()
                    .and_then(|name| name.to_str())
                    .is_some_and(|name| name.starts_with(&prefix) && name.ends_with(".deb"))
            })
            .collect())
    };
    // A package a run before left half unpacked is not taken for this one's.
    for old in debs()? {
        let _ = std::fs::remove_file(old);
    }
    println!("== downloading {package} (apt-get download)");
    let status = Command::new("apt-get")
        .args(["download", "-qq", package])
        .current_dir(dir)
        .stdout(Stdio::null())
        .status()
        .map_err(|error| format!("cannot run apt-get: {error}"))?;
    if !status.success() {
        return Err(format!("`apt-get download {package}` failed ({status})"));
    }
    let deb = debs()?.pop().ok_or_else(|| {
        format!(
            "apt-get download left no {prefix}….deb in {}",
            dir.display()
        )
    })?;
    unpack(&deb, &unpacked)?;
    let _ = std::fs::remove_file(&deb);
    found(&unpacked, package).ok_or_else(|| {
        format!(
            "{package} has no kernel image or lacks one of {MODULES:?} (unpacked in {})",
            unpacked.display()
        )
    })
}

/// The kernel package `linux-image-amd64` depends on here (`apt-cache depends`).
fn current_package() -> Result<String, String> {
    let output = Command::new("apt-cache")
        .args(["depends", "linux-image-amd64"])
        .output()
        .map_err(|error| format!("cannot run apt-cache: {error}"))?;
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.trim().strip_prefix("Depends: "))
        .find(|package| package.starts_with("linux-image-"))
        .map(str::to_owned)
        .ok_or_else(|| "apt-cache knows no kernel package behind linux-image-amd64".to_owned())
}

/// Unpacks the kernel image and [`MODULES`] (compressed or not) of `deb` into `into`, and
/// uncompresses the modules busybox's `insmod` is given.
fn unpack(deb: &Path, into: &Path) -> Result<(), String> {
    std::fs::create_dir_all(into)
        .map_err(|error| format!("cannot make {}: {error}", into.display()))?;
    let mut contents = Command::new("dpkg-deb")
        .arg("--fsys-tarfile")
        .arg(deb)
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|error| format!("cannot run dpkg-deb: {error}"))?;
    // `*` matches across `/` here: the modules are under lib/ or usr/lib/, as the release has it.
    let mut patterns = vec!["./boot/vmlinuz-*".to_owned()];
    patterns.extend(MODULES.map(|module| format!("*/kernel/{module}*")));
    let tar = Command::new("tar")
        .args(["-x", "--wildcards", "-C"])
        .arg(into)
        .args(&patterns)
        .stdin(contents.stdout.take().expect("piped"))
        .status()
        .map_err(|error| format!("cannot run tar: {error}"))?;
    let listed = contents
        .wait()
        .map_err(|error| format!("dpkg-deb: {error}"))?;
    if !listed.success() {
        return Err(format!(
            "`dpkg-deb --fsys-tarfile {}` failed ({listed})",
            deb.display()
        ));
    }
    if !tar.success() {
        return Err(format!(
            "tar found no {patterns:?} in {} ({tar})",
            deb.display()
        ));
    }
    for module in modules_dir(into)
        .iter()
        .flat_map(|dir| MODULES.map(|m| dir.join(m)))
    {
        for (suffix, tool, package) in [("xz", "xz", "xz-utils"), ("zst", "zstd", "zstd")] {
            let compressed = module.with_extension(format!("ko.{suffix}"));
            if compressed.is_file() {
                uncompress(&compressed, tool, package)?;
            }
        }
    }
    Ok(())
}

/// Uncompresses `file` in place with `tool` (installed from `package` if missing).
fn uncompress(file: &Path, tool: &str, package: &str) -> Result<(), String> {
    if debian::program(tool).is_none() {
        debian::install(&[package], debian::Extras::DependenciesOnly)?;
    }
    let status = Command::new(tool)
        .args(["-d", "-q", "-f"])
        .arg(file)
        .status()
        .map_err(|error| format!("cannot run {tool} for {}: {error}", file.display()))?;
    match status.success() {
        true => Ok(()),
        false => Err(format!("{tool} could not uncompress {}", file.display())),
    }
}

/// `lib/modules/<version>/kernel` (or under `usr/`) in an unpacked package.
fn modules_dir(unpacked: &Path) -> Option<PathBuf> {
    ["lib/modules", "usr/lib/modules"].iter().find_map(|base| {
        let versions = std::fs::read_dir(unpacked.join(base)).ok()?;
        versions
            .filter_map(|entry| entry.ok())
            .map(|entry| entry.path().join("kernel"))
            .find(|kernel| kernel.is_dir())
    })
}

/// The kernel unpacked in `unpacked`, if all of it is there.
fn found(unpacked: &Path, package: &str) -> Option<Kernel> {
    let image = std::fs::read_dir(unpacked.join("boot"))
        .ok()?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .find(|path| {
            path.file_name()
                .and_then(|name| name.to_str())
                .is_some_and(|name| name.starts_with("vmlinuz-"))
        })?;
    let kernel = modules_dir(unpacked)?;
    let modules: Vec<PathBuf> = MODULES.iter().map(|module| kernel.join(module)).collect();
    modules
        .iter()
        .all(|module| module.is_file())
        .then(|| Kernel {
            package: package.to_owned(),
            image,
            modules,
        })
}
