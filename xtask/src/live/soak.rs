//! `cargo xtask live-soak [--duration 60m|1h] [--rate 1000]`: a long `ttk http` run against the
//! peers' nginx with its dashboard open and scraped every second (see `watcher.rs`), whose
//! resident memory is sampled every ten seconds. Memory is flat when the second half of the run
//! never holds more than the first half's peak plus [`SLACK`] (the series widens its entries
//! as the run grows, so nothing should keep growing). Prints the samples each minute, writes
//! `target/ttk-bench/live-soak.json`; exits with status 1 if memory grew, a request failed, or
//! the watcher missed seconds.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::watcher::{self, Watcher};
use crate::cargo;
use crate::peers::{self, nginx};
use crate::procfs;

/// The usage line of `cargo xtask live-soak`.
pub(crate) const USAGE: &str = "cargo xtask live-soak [--duration 60m|1h] [--rate 1000]";
/// Connections of the run.
const CONNECTIONS: u64 = 100;
/// How often memory is sampled.
const EVERY: Duration = Duration::from_secs(10);
/// What the second half may hold above the first half's peak: the allocator's own give.
const SLACK: f64 = 0.05;

/// What to run, from the command line.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Plan {
    /// The run's length.
    pub(crate) duration: Duration,
    /// Requests per second (the open model: a steady load for an hour).
    pub(crate) rate: u64,
}

impl Plan {
    /// Reads the flags after `live-soak`.
    pub(crate) fn parse(args: &[String]) -> Result<Plan, String> {
        let mut plan = Plan {
            duration: Duration::from_secs(3600),
            rate: 1000,
        };
        let mut words = args.iter();
        while let Some(flag) = words.next() {
            let value = words.next().ok_or(format!("{flag} needs a value"))?;
            match flag.as_str() {
                "--duration" => plan.duration = minutes_or_hours(value)
                    .filter(|duration| duration.as_secs() >= 60)
                    .ok_or(format!(
                        "--duration: minutes (90m) or hours (1h), a minute or more, not {value:?}"
                    ))?,
                "--rate" => {
                    plan.rate = value.parse().ok().filter(|&rate| rate > 0).ok_or(format!(
                        "--rate: requests per second above 0, not {value:?}"
                    ))?
                }
                _ => return Err(format!("unknown flag {flag}")),
            }
        }
        Ok(plan)
    }
}

/// `90m` or `1h` as a duration.
fn minutes_or_hours(text: &str) -> Option<Duration> {
    let (number, unit) = text.split_at(text.len().checked_sub(1)?);
    let number: u64 = number.parse().ok()?;
    let seconds = match unit {
        "m" => number.checked_mul(60)?,
        "h" => number.checked_mul(3600)?,
        _ => return None,
    };
    Some(Duration::from_secs(seconds))
}

/// Runs the soak and judges it.
pub(crate) fn run(plan: &Plan) -> Result<(), String> {
    let ttk = super::ttk_binary()?;
    let nginx_binary = nginx::find().ok_or("nginx not found (Debian: apt-get install nginx)")?;
    let bench = cargo::target_dir().join("ttk-bench");
    let dir = bench.join("live-soak");
    std::fs::create_dir_all(&dir)
        .map_err(|error| format!("cannot create {}: {error}", dir.display()))?;
    let server = nginx::Nginx::start(&nginx_binary, dir.join("nginx"), peers::SERVER_CORE)?;
    let report = dir.join("report.json");
    let _ = std::fs::remove_file(&report);
    let addr = watcher::free_addr()?;
    let seconds = plan.duration.as_secs();
    let mut child = Command::new(&ttk)
        .args(["http", &server.url(), "-c", &CONNECTIONS.to_string()])
        .args([
            "--rate",
            &plan.rate.to_string(),
            "-d",
            &format!("{seconds}s"),
        ])
        .args([
            "--workers",
            "1",
            "-q",
            &format!("--dashboard={addr}"),
            "--json",
        ])
        .arg(&report)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|error| format!("cannot start {}: {error}", ttk.display()))?;
    let watcher = Watcher::start(addr);
    println!(
        "live-soak: ttk http -c {CONNECTIONS} --rate {} for {seconds} s, dashboard scraped each second; RSS every {} s",
        plan.rate,
        EVERY.as_secs()
    );
    let started = Instant::now();
    let mut samples: Vec<(f64, u64)> = Vec::new();
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|error| error.to_string())? {
            break status;
        }
        let at = started.elapsed();
        if samples.len() as u64 <= at.as_secs() / EVERY.as_secs() {
            let kib = procfs::tree(child.id()).kib;
            if kib > 0 {
                samples.push((at.as_secs_f64(), kib));
                if samples.len() % 6 == 1 {
                    println!("  {:>5.0} s: {} KiB", at.as_secs_f64(), kib);
                }
            }
        }
        if at > plan.duration + Duration::from_secs(120) {
            let _ = child.kill();
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let watched = watcher.stop();
    drop(server);
    let text = std::fs::read_to_string(&report)
        .map_err(|error| format!("ttk wrote no report ({status}): {error}"))?;
    let output = peers::parse_ttk(&text)?;

    let half = seconds as f64 / 2.0;
    let peak = |keep: &dyn Fn(f64) -> bool| {
        samples
            .iter()
            .filter(|(at, _)| keep(*at))
            .map(|&(_, kib)| kib)
            .max()
            .unwrap_or(0)
    };
    let first_half = peak(&|at| at < half);
    let second_half = peak(&|at| at >= half);
    let last = samples.last().map_or(0, |&(_, kib)| kib);
    let growth = second_half as f64 / first_half.max(1) as f64;
    let expected_scrapes = seconds.saturating_sub(2);
    let json = serde_json::json!({
        "duration_s": seconds,
        "rate": plan.rate,
        "connections": CONNECTIONS,
        "ok": output.ok,
        "failed": output.errors,
        "scrapes": watched.scrapes(),
        "watcher_failures": watched.failed,
        "largest_live_page_bytes": watched.largest_live_bytes,
        "rss_kib": samples.iter().map(|&(at, kib)| serde_json::json!([at, kib])).collect::<Vec<_>>(),
        "first_half_peak_kib": first_half,
        "second_half_peak_kib": second_half,
        "last_kib": last,
        "growth": growth,
    });
    let path = bench.join("live-soak.json");
    std::fs::write(
        &path,
        serde_json::to_string_pretty(&json).expect("JSON of numbers"),
    )
    .map_err(|error| format!("cannot write {}: {error}", path.display()))?;
    println!(
        "live-soak: {} ok, {} failed; {} scrapes ({} fetches failed); largest /live {} KiB\n\
         RSS: first half's peak {first_half} KiB, second half's {second_half} KiB ({growth:.3}x), last {last} KiB\n\
         wrote {}",
        output.ok,
        output.errors,
        watched.scrapes(),
        watched.failed,
        watched.largest_live_bytes / 1024,
        path.display()
    );
    let mut wrong = Vec::new();
    if !status.success() {
        wrong.push(format!("ttk exited with {status}"));
    }
    if output.errors > 0 {
        wrong.push(format!("{} requests failed", output.errors));
    }
    if watched.scrapes() < expected_scrapes {
        wrong.push(format!(
            "{} scrapes in {seconds} s (first failure: {})",
            watched.scrapes(),
            watched.first_failure.as_deref().unwrap_or("none")
        ));
    }
    if growth > 1.0 + SLACK {
        wrong.push(format!(
            "memory grew: the second half's peak is {growth:.3}x the first half's"
        ));
    }
    match wrong.is_empty() {
        true => Ok(()),
        false => Err(wrong.join("; ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(text: &str) -> Vec<String> {
        text.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn flags_override_the_defaults() {
        let plan = Plan::parse(&[]).unwrap();
        assert_eq!((plan.duration.as_secs(), plan.rate), (3600, 1000));
        let plan = Plan::parse(&args("--duration 2m --rate 50")).unwrap();
        assert_eq!((plan.duration.as_secs(), plan.rate), (120, 50));
        assert_eq!(
            Plan::parse(&args("--duration 1h"))
                .unwrap()
                .duration
                .as_secs(),
            3600
        );
        assert!(Plan::parse(&args("--duration 10s")).is_err());
        assert!(Plan::parse(&args("--duration 0m")).is_err());
        assert!(Plan::parse(&args("--rate 0")).is_err());
        assert!(Plan::parse(&args("--verbose 1")).is_err());
    }
}
