//! Batch jobs on the cluster: submitting them, waiting until they leave the queue, and reading
//! how each ended.
//!
//! `sbatch --wait` returns tens of seconds after its job ends (it polls with a growing pause),
//! so the queue is polled with `squeue` instead.

use std::ffi::OsString;
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use super::cluster::{Cluster, POLL};

/// A batch job to submit.
#[derive(Debug)]
pub(crate) struct Job<'a> {
    /// The batch script.
    pub(crate) script: &'a Path,
    /// Arguments of the script.
    pub(crate) args: &'a [&'a str],
    /// sbatch options (`--array`, `--dependency`, `--output`, ...).
    pub(crate) options: Vec<OsString>,
    /// Variables set for the job (sbatch exports its whole environment to the job).
    pub(crate) env: &'a [(&'a str, &'a Path)],
}

/// Submits `job` and returns its id.
pub(crate) fn submit(cluster: &Cluster, job: &Job<'_>) -> Result<String, String> {
    let mut command = cluster.command(&cluster.programs().sbatch);
    command
        .arg("--parsable")
        .args(&job.options)
        .arg(job.script)
        .args(job.args);
    for (name, value) in job.env {
        command.env(name, value);
    }
    let out = super::cluster::output(&mut command)?;
    // `--parsable` prints `id` or `id;cluster`.
    let id = out.trim().split(';').next().unwrap_or_default();
    if id.is_empty() || !id.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(format!("sbatch printed no job id: {out:?}"));
    }
    Ok(id.to_owned())
}

/// Waits until none of the jobs `ids` (or of their array tasks) is queued or running; an error
/// after `timeout`, with what `squeue` still shows.
pub(crate) fn wait_gone(cluster: &Cluster, ids: &[&str], timeout: Duration) -> Result<(), String> {
    let started = Instant::now();
    loop {
        let queue = cluster.query(&cluster.programs().squeue, &["-h", "-o", "%i %T %R"])?;
        let ours: Vec<&str> = queue
            .lines()
            .filter(|line| {
                let job = line.split([' ', '_']).next().unwrap_or_default();
                ids.contains(&job)
            })
            .collect();
        if ours.is_empty() {
            return Ok(());
        }
        if started.elapsed() > timeout {
            return Err(format!(
                "the jobs are still queued after {timeout:?}:\n{}",
                ours.join("\n")
            ));
        }
        thread::sleep(POLL);
    }
}

/// Checks that the job `id` (every task of it, for an array) completed with exit code 0; the
/// error says how each of the others ended.
pub(crate) fn check_completed(cluster: &Cluster, id: &str) -> Result<(), String> {
    let records = cluster.query(&cluster.programs().scontrol, &["-o", "show", "job", id])?;
    let mut failed = Vec::new();
    for record in records.lines().filter(|line| !line.trim().is_empty()) {
        let field = |name: &str| {
            record
                .split(' ')
                .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
                .unwrap_or("?")
        };
        let (state, exit) = (field("JobState"), field("ExitCode"));
        if state != "COMPLETED" || exit != "0:0" {
            let task = match field("ArrayTaskId") {
                "?" => String::new(),
                task => format!(" (array task {task})"),
            };
            failed.push(format!(
                "job {}{task}: {state}, exit code {exit}",
                field("JobId")
            ));
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(failed.join("\n"))
    }
}

/// The end of every file in `dir` (the jobs' output), for an error message.
pub(crate) fn logs(dir: &Path) -> String {
    let mut paths: Vec<_> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(|entry| Some(entry.ok()?.path()))
            .collect(),
        Err(error) => return format!("(cannot list {}: {error})\n", dir.display()),
    };
    paths.sort();
    let mut text = String::new();
    for path in paths {
        text.push_str(&format!(
            "--- {} (last lines)\n{}",
            path.display(),
            super::cluster::tail(&path, 20)
        ));
    }
    text
}
