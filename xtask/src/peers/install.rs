//! The peers' tools, installed by `cargo xtask peers` itself when this machine lacks them:
//! wrk and hey from Debian (as root), oha from crates.io and Locust from PyPI under
//! `<target>/peers-tools/`, and the Goose client built from `benches/goose-peer`. What is
//! already there is used as it is, so a second run installs nothing. A tool that cannot be
//! installed is skipped with the reason, never faked.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::SystemTime;

use super::client::{Kind, on_path};
use crate::cargo;

/// The Debian packages of the system tools, installed together.
const DEBIAN_PACKAGES: [&str; 3] = ["wrk", "hey", "nghttp2-client"];

/// Where the tools this bench installs live: `<target>/peers-tools`.
pub(crate) fn tools_dir() -> PathBuf {
    cargo::target_dir().join("peers-tools")
}

/// The executable of `kind` (not ttk, which is built from the workspace), installed first if
/// it is missing; else why it is skipped.
pub(crate) fn find(kind: Kind) -> Result<PathBuf, String> {
    match kind {
        Kind::Ttk => Err("ttk is built from the workspace, not installed".to_owned()),
        Kind::Wrk | Kind::Hey => debian(kind.name()),
        Kind::Oha => oha(&tools_dir()),
        Kind::Locust => locust(&tools_dir()),
        Kind::Goose => goose(&tools_dir()),
    }
}

/// h2load (the HTTP/2 rows' peer), from `PATH` or Debian's `nghttp2-client`.
pub(crate) fn h2load() -> Result<PathBuf, String> {
    debian("h2load")
}

/// `program` from `PATH`, else from Debian's packages (`apt-get install -y wrk hey`, once per
/// run, as root only).
fn debian(program: &str) -> Result<PathBuf, String> {
    if let Some(binary) = on_path(program) {
        return Ok(binary);
    }
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return Err(format!(
            "{program} not found on PATH; not root, so not installed (apt-get install -y {})",
            DEBIAN_PACKAGES.join(" ")
        ));
    }
    static INSTALLED: OnceLock<Result<(), String>> = OnceLock::new();
    INSTALLED
        .get_or_init(|| {
            let install = || {
                let mut command = Command::new("apt-get");
                command
                    .args(["install", "-y"])
                    .args(DEBIAN_PACKAGES)
                    .env("DEBIAN_FRONTEND", "noninteractive");
                run(&mut command)
            };
            // An image with no package lists (apt-get update never ran) cannot find them.
            install().or_else(|_| {
                run(Command::new("apt-get")
                    .arg("update")
                    .env("DEBIAN_FRONTEND", "noninteractive"))?;
                install()
            })
        })
        .clone()
        .map_err(|error| format!("{program} not found on PATH and not installed: {error}"))?;
    on_path(program).ok_or_else(|| {
        format!("{program} still not on PATH after apt-get installed {DEBIAN_PACKAGES:?}")
    })
}

/// oha from `PATH`, else from `tools/bin`, else `cargo install oha --locked --root tools`.
fn oha(tools: &Path) -> Result<PathBuf, String> {
    let installed = tools.join("bin").join("oha");
    if let Some(binary) = on_path("oha").or_else(|| installed.is_file().then(|| installed.clone()))
    {
        return Ok(binary);
    }
    let mut command = cargo::command();
    command
        .args(["install", "oha", "--locked", "--root"])
        .arg(tools);
    run(&mut command).map_err(|error| format!("oha could not be installed: {error}"))?;
    exists(installed, "oha")
}

/// Locust from its virtual environment `tools/locust-venv`, made with `python3 -m venv` and
/// filled with `pip install locust` if it lacks Locust.
fn locust(tools: &Path) -> Result<PathBuf, String> {
    let venv = tools.join("locust-venv");
    let binary = venv.join("bin").join("locust");
    if binary.is_file() {
        return Ok(binary);
    }
    let failed = |error: String| format!("Locust could not be installed: {error}");
    let pip = venv.join("bin").join("pip");
    if !pip.is_file() {
        let python = on_path("python3").ok_or_else(|| failed("python3 not on PATH".into()))?;
        run(Command::new(python).args(["-m", "venv"]).arg(&venv)).map_err(failed)?;
    }
    run(Command::new(pip).args(["install", "--quiet", "locust"])).map_err(failed)?;
    exists(binary, "locust")
}

/// The Goose client `benches/goose-peer`, built with its own lock file into `tools/goose` when
/// its binary is missing or older than its sources.
fn goose(tools: &Path) -> Result<PathBuf, String> {
    let source = cargo::workspace_root().join("benches").join("goose-peer");
    let target = tools.join("goose");
    let binary = target.join("release").join("goose-peer");
    let failed = |error: String| format!("the Goose client could not be built: {error}");
    let sources = newest(&source).map_err(failed)?;
    let built = std::fs::metadata(&binary)
        .and_then(|meta| meta.modified())
        .ok();
    if built.is_some_and(|built| built >= sources) {
        return Ok(binary);
    }
    let mut command = cargo::command();
    command
        .args(["build", "--release", "--locked", "--manifest-path"])
        .arg(source.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target);
    run(&mut command).map_err(failed)?;
    exists(binary, "goose-peer")
}

/// The latest modification time of the files under `dir`, but for a `target` directory a
/// build inside it may have left.
fn newest(dir: &Path) -> Result<SystemTime, String> {
    let mut latest = SystemTime::UNIX_EPOCH;
    let entries = std::fs::read_dir(dir)
        .map_err(|error| format!("cannot read {}: {error}", dir.display()))?;
    for entry in entries {
        let entry = entry.map_err(|error| format!("cannot read {}: {error}", dir.display()))?;
        let meta = entry
            .metadata()
            .map_err(|error| format!("cannot read {}: {error}", entry.path().display()))?;
        let time = if meta.is_dir() {
            if entry.file_name() == "target" {
                continue;
            }
            newest(&entry.path())?
        } else {
            meta.modified()
                .map_err(|error| format!("{}: {error}", entry.path().display()))?
        };
        latest = latest.max(time);
    }
    Ok(latest)
}

/// `binary` if it is there after an install that said it succeeded.
fn exists(binary: PathBuf, name: &str) -> Result<PathBuf, String> {
    if binary.is_file() {
        Ok(binary)
    } else {
        Err(format!(
            "{name} installed, but {} is missing",
            binary.display()
        ))
    }
}

/// Runs an installing `command`, its output shown as it goes (an install can take minutes);
/// an error if it cannot start or fails.
fn run(command: &mut Command) -> Result<(), String> {
    println!("peers: installing: {command:?}");
    let status = command
        .stdin(Stdio::null())
        .status()
        .map_err(|error| format!("cannot start {command:?}: {error}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{command:?} failed: {status}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_newest_source_is_found_below_the_top_but_not_in_target() {
        let dir = std::env::temp_dir().join(format!("xtask-newest-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("src")).unwrap();
        std::fs::create_dir_all(dir.join("target")).unwrap();
        let at = |secs: u64| SystemTime::UNIX_EPOCH + Duration::from_secs(secs);
        let touch = |path: &str, time: SystemTime| {
            let file = std::fs::File::create(dir.join(path)).unwrap();
            file.set_modified(time).unwrap();
        };
        touch("Cargo.toml", at(1_000));
        touch("src/main.rs", at(2_000));
        touch("target/goose-peer", at(3_000));
        let found = newest(&dir);
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(found.unwrap(), at(2_000));
    }

    /// The tools installed under `peers-tools` (by an earlier `cargo xtask peers`; a test
    /// installs nothing) run with the bench's command lines against a real nginx, and what
    /// they write is read: the count is nginx's. A tool not installed is left out, said so.
    #[test]
    fn installed_tools_run_and_are_read() {
        use super::super::client::{Client, Target};
        use super::super::nginx::{self, Nginx};
        let Some(nginx_binary) = nginx::find() else {
            eprintln!("nginx not installed: nothing to run against");
            return;
        };
        if std::thread::available_parallelism().map_or(1, usize::from) < 2 {
            eprintln!("one core: nginx and the client cannot be pinned apart");
            return;
        }
        let tools = tools_dir();
        let installed = [
            (Kind::Oha, tools.join("bin/oha")),
            (Kind::Locust, tools.join("locust-venv/bin/locust")),
            (Kind::Goose, tools.join("goose/release/goose-peer")),
        ];
        let dir = std::env::temp_dir().join(format!("xtask-installed-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let server = Nginx::start(&nginx_binary, dir.join("nginx"), 1).unwrap();
        let url = server.url();
        let target = Target {
            url: &url,
            cacert: None,
        };
        for (kind, binary) in installed {
            if !binary.is_file() {
                eprintln!(
                    "{} not installed under {}: not run",
                    kind.name(),
                    tools.display()
                );
                continue;
            }
            let client = Client { kind, binary };
            let run = client
                .run(&target, 4, 1, 0, &dir, || server.requests())
                .unwrap();
            let output = &run.output;
            assert!(output.ok > 100, "{}: {output:?}", kind.name());
            assert_eq!(output.errors, 0, "{}: {output:?}", kind.name());
            // oha does not count the requests its deadline cut short; nginx served them.
            assert!(
                (output.ok..output.ok + 10).contains(&run.served),
                "{}: {} served, {output:?}",
                kind.name(),
                run.served
            );
            assert!(output.p50_us.is_some() && run.peak_rss_kib > 1_000);
        }
        drop(server);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_tool_on_path_is_used_as_it_is() {
        // sh is on every PATH: found without installing anything (and as non-root too).
        assert_eq!(debian("sh").unwrap(), on_path("sh").unwrap());
    }
}
