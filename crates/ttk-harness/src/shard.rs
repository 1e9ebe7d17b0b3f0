//! A run cut in shards: `--shard I/N`, `--start-at TIME` and the run id that ties the shards'
//! reports together.

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Which shard of a run this process runs (`--shard 2/4`: the third of four, counted from 0).
///
/// Shard `i` of `n` runs its block of the run's bots (`--bots`: bots `bots * i / n` up to
/// `bots * (i + 1) / n`, each started when the whole run's ramp-up would start it), or, in the
/// open model, every `n`th session of the whole run's schedule from session `i` on. Bots keep
/// their ids, and so their random choices, however the run is cut.
///
/// # Examples
/// ```
/// use ttk::harness::ShardSpec;
///
/// let shard: ShardSpec = "2/4".parse().unwrap();
/// assert_eq!((shard.index, shard.count), (2, 4));
/// assert_eq!(shard.to_string(), "2/4");
/// assert!("4/4".parse::<ShardSpec>().unwrap_err().contains("0 to 3"));
/// assert!("two/4".parse::<ShardSpec>().is_err());
/// assert!("0/4294967295".parse::<ShardSpec>().unwrap_err().contains("at most 65536 shards"));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShardSpec {
    /// This shard, from 0.
    pub index: u32,
    /// How many shards the run is cut in.
    pub count: u32,
}

impl FromStr for ShardSpec {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let usage =
            || format!("{text:?} is not a shard: give I/N, shard I of N counted from 0 (`0/4`)");
        let (index, count) = text.split_once('/').ok_or_else(usage)?;
        let index: u32 = index.trim().parse().map_err(|_| usage())?;
        let count: u32 = count.trim().parse().map_err(|_| usage())?;
        if count == 0 {
            return Err("a run is cut in at least 1 shard".to_owned());
        }
        // A merge lists every shard: more than it reads would make reports no merge takes.
        if count > ttk_report::MAX_SHARDS {
            return Err(format!(
                "a run is cut in at most {} shards, not {count}",
                ttk_report::MAX_SHARDS
            ));
        }
        if index >= count {
            return Err(format!(
                "there is no shard {index} of {count}: shards are numbered 0 to {}",
                count - 1
            ));
        }
        Ok(ShardSpec { index, count })
    }
}

impl fmt::Display for ShardSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// A wall-clock time to start at (`--start-at`), so that shards started on several machines,
/// or at different moments, make load together.
///
/// Given as an RFC 3339 time in UTC (`2026-11-26T10:00:00Z`, fractions of a second allowed),
/// or as seconds since the Unix epoch (`@1795687200`).
///
/// # Examples
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use ttk::harness::StartAt;
///
/// let at: StartAt = "2026-11-26T10:00:00Z".parse().unwrap();
/// assert_eq!(at.time(), UNIX_EPOCH + Duration::from_secs(1_795_687_200));
/// let same: StartAt = "@1795687200".parse().unwrap();
/// assert_eq!(same.time(), at.time());
/// assert!("tomorrow".parse::<StartAt>().unwrap_err().contains("RFC 3339"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StartAt {
    time: SystemTime,
    text: String,
}

impl StartAt {
    /// The time.
    pub fn time(&self) -> SystemTime {
        self.time
    }

    /// The time as given.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// How long from now until the time (zero if it has passed).
    pub fn wait(&self) -> Duration {
        self.time
            .duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO)
    }
}

impl FromStr for StartAt {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let time = match text.strip_prefix('@') {
            Some(seconds) => seconds
                .parse()
                .ok()
                .and_then(|seconds: f64| Duration::try_from_secs_f64(seconds).ok())
                // A time the system clock cannot hold (`@1e300`) is refused, not a panic.
                .and_then(|since| UNIX_EPOCH.checked_add(since))
                .ok_or_else(|| format!("{text:?}: after @ comes seconds since the Unix epoch"))?,
            None => humantime::parse_rfc3339_weak(text).map_err(|error| {
                format!(
                    "{text:?} is not a time: give RFC 3339 in UTC (`2026-11-26T10:00:00Z`) or \
                     seconds since the Unix epoch (`@1795687200`) ({error})"
                )
            })?,
        };
        Ok(StartAt {
            time,
            text: text.to_owned(),
        })
    }
}

impl fmt::Display for StartAt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// The run id of shards not given one (`--run-id`): the same for every shard started with the
/// same test, parameters and start time (or Slurm job), so that they merge, and another for
/// another run. A hash that does not change between builds (FNV-1a), as shards may run
/// different builds.
pub(crate) fn derived_run_id(name: &str, parameters: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in name.bytes().chain([0]).chain(parameters.bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{}-{hash:016x}", id_prefix(name))
}

/// The test's name as a run id starts with: spaces and slashes made dashes, so that the id
/// is one word in a shell and a file name (`ttk http` → `ttk-http`).
fn id_prefix(name: &str) -> String {
    name.chars()
        .map(|c| match c.is_whitespace() || c == '/' {
            true => '-',
            false => c,
        })
        .collect()
}

/// The Slurm job this process is a task of, shared by the tasks of one job array (or of one job
/// of several tasks), if any.
pub(crate) fn cluster_job_id() -> Option<String> {
    ["SLURM_ARRAY_JOB_ID", "SLURM_JOB_ID"]
        .iter()
        .filter_map(|name| std::env::var(name).ok())
        .find(|id| !id.trim().is_empty())
}

/// A run id for a run started on its own, unique to it: when it started, its process, and how
/// many runs this process made before (a program may run several tests in one second).
pub(crate) fn fresh_run_id(name: &str) -> String {
    static RUNS: AtomicU64 = AtomicU64::new(0);
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let run = RUNS.fetch_add(1, Ordering::Relaxed);
    format!(
        "{}-{}-{}-{run}",
        id_prefix(name),
        since.as_secs(),
        std::process::id()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_run_ids_follow_the_parameters_and_only_them() {
        let one = derived_run_id("shop", "bots=10");
        assert_eq!(one, derived_run_id("shop", "bots=10"));
        assert_ne!(one, derived_run_id("shop", "bots=11"));
        assert_ne!(one, derived_run_id("shopb", "ots=10"));
        assert!(one.starts_with("shop-"));
        assert!(derived_run_id("ttk http", "").starts_with("ttk-http-"));
        assert!(fresh_run_id("a b/c").starts_with("a-b-c-"));
    }

    #[test]
    fn fresh_run_ids_do_not_repeat_in_one_process() {
        assert_ne!(fresh_run_id("shop"), fresh_run_id("shop"));
    }
}
