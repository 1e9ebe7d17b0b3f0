//! Running the probe binaries (`target/release/<probe>`) and reading the JSON line each prints.

use std::path::PathBuf;
use std::process::Command;

use crate::cargo;
use crate::report::{Figure, Goal};

/// The path of the release build of `probe`.
pub(crate) fn path(probe: &str) -> PathBuf {
    cargo::target_dir().join("release").join(probe)
}

/// Runs `probe` with `args` and returns the JSON it printed; an error if it fails or prints
/// no JSON. The output is read from this very run, never from a file an earlier run left.
pub(crate) fn json(probe: &str, args: &[&str]) -> Result<serde_json::Value, String> {
    json_of(probe, Command::new(path(probe)).args(args), args)
}

/// [`json`], with the probe pinned to `core`.
pub(crate) fn json_pinned(
    probe: &str,
    args: &[&str],
    core: usize,
) -> Result<serde_json::Value, String> {
    let mut command = Command::new(path(probe));
    command.args(args);
    crate::peers::pin(&mut command, core);
    json_of(probe, &mut command, args)
}

/// Runs `command` (the probe `probe` with `args`) and returns the JSON it printed.
fn json_of(probe: &str, command: &mut Command, args: &[&str]) -> Result<serde_json::Value, String> {
    let binary = path(probe);
    let output = command
        .output()
        .map_err(|error| format!("cannot run {}: {error}", binary.display()))?;
    if !output.status.success() {
        return Err(format!("{probe} {} failed: {output:?}", args.join(" ")));
    }
    serde_json::from_slice(&output.stdout)
        .map_err(|error| format!("{probe} {} printed no JSON: {error}", args.join(" ")))
}

/// The number at `key` in a probe's JSON (`key` may be a path such as `/ttk/median`).
pub(crate) fn number(json: &serde_json::Value, key: &str) -> Result<f64, String> {
    let value = if key.starts_with('/') {
        json.pointer(key)
    } else {
        json.get(key)
    };
    value
        .and_then(serde_json::Value::as_f64)
        .ok_or_else(|| format!("probe output has no number at {key}: {json}"))
}

/// A figure from the `{median, min, max}` a probe printed at `key` (the statistics of its
/// rounds): the median, with the range.
pub(crate) fn median_figure(
    json: &serde_json::Value,
    key: &str,
    name: &str,
    unit: &'static str,
    goal: Goal,
) -> Result<Figure, String> {
    let at = |stat: &str| number(json, &format!("/{key}/{stat}"));
    Ok(Figure::new(name, at("median")?, unit, goal).with_range(at("min")?, at("max")?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_median_figure_keeps_the_rounds_range_and_a_missing_key_is_an_error() {
        let json = serde_json::json!({"ratio": {"median": 1.2, "min": 1.1, "max": 1.4}});
        let figure = median_figure(&json, "ratio", "a ratio", "x", Goal::AtMost(1.3)).unwrap();
        assert_eq!(figure.range, Some((1.1, 1.4)));
        assert_eq!(figure.meets_goal(), Some(true));
        assert!(median_figure(&json, "other", "a ratio", "x", Goal::None).is_err());
    }
}
