//! Reading criterion's results, only those this run wrote.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::cargo;

/// Criterion's results as written since a given moment: anything older is from an earlier run
/// (say, one whose filter or a failed bench skipped the function) and is refused, not read.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Results {
    /// When this run started its benches.
    since: SystemTime,
}

impl Results {
    /// Results written at or after `since`.
    pub(crate) fn since(since: SystemTime) -> Results {
        Results { since }
    }

    /// The median time of one iteration of `group/function`, in nanoseconds, from criterion's
    /// `estimates.json`; an error if it is missing or was written before this run.
    pub(crate) fn median_ns(&self, group: &str, function: &str) -> Result<f64, String> {
        let path: PathBuf = cargo::target_dir()
            .join("criterion")
            .join(group)
            .join(function)
            .join("new")
            .join("estimates.json");
        self.median_ns_at(&path)
            .map_err(|error| format!("{group}/{function}: {error}"))
    }

    /// The median in the `estimates.json` at `path`; an error if it is missing or was written
    /// before this run (did the criterion arguments filter its function out?).
    fn median_ns_at(&self, path: &Path) -> Result<f64, String> {
        let written = std::fs::metadata(path)
            .and_then(|metadata| metadata.modified())
            .map_err(|error| format!("no criterion result at {}: {error}", path.display()))?;
        if written < self.since {
            return Err(format!(
                "{} was written by an earlier run, not this one (did the criterion arguments \
                 filter it out?)",
                path.display()
            ));
        }
        let text = std::fs::read_to_string(path)
            .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
        let json: serde_json::Value = serde_json::from_str(&text)
            .map_err(|error| format!("{} is not JSON: {error}", path.display()))?;
        json["median"]["point_estimate"]
            .as_f64()
            .ok_or_else(|| format!("{} has no median.point_estimate", path.display()))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn an_estimate_older_than_the_run_is_refused() {
        let path =
            std::env::temp_dir().join(format!("xtask-estimates-{}.json", std::process::id()));
        std::fs::write(&path, r#"{"median": {"point_estimate": 42.0}}"#).unwrap();
        let written = std::fs::metadata(&path).unwrap().modified().unwrap();
        let before = Results::since(written - Duration::from_secs(1));
        let after = Results::since(written + Duration::from_secs(1));
        assert_eq!(before.median_ns_at(&path), Ok(42.0));
        let refused = after.median_ns_at(&path).unwrap_err();
        assert!(refused.contains("earlier run"), "{refused}");
        std::fs::remove_file(&path).unwrap();
        assert!(before.median_ns_at(&path).is_err());
    }
}
