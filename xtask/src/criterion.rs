//! Reading criterion's results.

use std::path::PathBuf;

use crate::cargo;

/// The median time of one iteration of `group/function`, in nanoseconds, from criterion's
/// `estimates.json` of the latest run.
pub(crate) fn median_ns(group: &str, function: &str) -> Result<f64, String> {
    let path: PathBuf = cargo::target_dir()
        .join("criterion")
        .join(group)
        .join(function)
        .join("new")
        .join("estimates.json");
    let text = std::fs::read_to_string(&path)
        .map_err(|error| format!("no criterion result at {}: {error}", path.display()))?;
    let json: serde_json::Value = serde_json::from_str(&text)
        .map_err(|error| format!("{} is not JSON: {error}", path.display()))?;
    json["median"]["point_estimate"]
        .as_f64()
        .ok_or_else(|| format!("{} has no median.point_estimate", path.display()))
}
