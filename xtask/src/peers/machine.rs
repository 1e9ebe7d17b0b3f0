//! What the figures were measured on: the machine and the tools' versions.

use std::path::Path;
use std::process::Command;

/// Cores and kernel, as JSON.
pub(crate) fn json() -> serde_json::Value {
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let kernel = first_line(Command::new("uname").arg("-srvm"));
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|line| line.strip_prefix("model name"))
                .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_owned())
        });
    serde_json::json!({ "cores": cores, "kernel": kernel, "cpu": cpu })
}

/// The 1-, 5- and 15-minute load averages (`/proc/loadavg`): on a machine shared with other
/// work, they tell how far to trust the figures.
pub(crate) fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|_| "unknown".to_owned())
}

/// The version `binary` prints with `flag` (the first line of its stdout, or of its stderr,
/// where nginx prints it), or `unknown`.
pub(crate) fn version(binary: &Path, flag: Option<&str>) -> String {
    let Some(flag) = flag else {
        return "unknown (no version flag)".to_owned();
    };
    first_line(Command::new(binary).arg(flag)).unwrap_or_else(|| "unknown".to_owned())
}

/// The first non-empty line `command` prints on stdout or else stderr (whatever its status:
/// `wrk -v` exits with 1).
fn first_line(command: &mut Command) -> Option<String> {
    let output = command.output().ok()?;
    [output.stdout, output.stderr]
        .into_iter()
        .find_map(|bytes| {
            let text = String::from_utf8_lossy(&bytes).into_owned();
            text.lines()
                .map(str::trim)
                .find(|line| !line.is_empty())
                .map(str::to_owned)
        })
}
