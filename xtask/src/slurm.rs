//! `cargo xtask slurm`: runs a sharded ttk load test on a real Slurm cluster made on this
//! machine, and checks that the merged report holds the same totals as one process.
//!
//! The flow: install Slurm if it is missing; build the workload (`shard_ledger`, deterministic
//! on a virtual clock, so its counts and histograms do not depend on how the run is cut) and run
//! it once as one process; start a cluster of [`NODES`] nodes; submit
//! `deploy/slurm/ttk-shards.sbatch` as an array of [`SHARDS`] tasks and
//! `deploy/slurm/ttk-merge.sbatch` as a job that depends on it; wait for both; compare the
//! merged report with the single one; stop the cluster. Everything lives in one temporary
//! directory, removed on success and kept (and named) on failure.

mod cluster;
mod compare;
mod config;
mod install;
mod jobs;

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use ttk_report::Report;

use crate::cargo;
use cluster::Cluster;
use jobs::Job;

/// Shards of the run: the job array's size.
const SHARDS: u32 = 4;
/// Simulated nodes of the cluster.
const NODES: usize = 3;
/// The workload: an example of the `ttk-examples` package.
const WORKLOAD: &str = "shard_ledger";
/// The workload's flags, the same for the single run and for every shard.
const WORKLOAD_ARGS: &[&str] = &["--bots", "200"];
/// How long the shards and the merge may take, from submission to leaving the queue.
const JOBS_TIMEOUT: Duration = Duration::from_secs(120);

/// Runs the whole check; an error says what failed (and where the kept files are).
pub(crate) fn run() -> Result<(), String> {
    let started = Instant::now();
    let programs = install::ensure()?;
    println!("== building the workload ({WORKLOAD})");
    cargo::run(&["build", "-p", "ttk-examples", "--example", WORKLOAD])?;
    let binary = cargo::target_dir()
        .join("debug")
        .join("examples")
        .join(WORKLOAD);
    let dir = work_dir()?;
    let checked = Instant::now();
    match check(programs, &binary, &dir) {
        Ok(()) => {
            fs::remove_dir_all(&dir)
                .map_err(|error| format!("cannot remove {}: {error}", dir.display()))?;
            println!(
                "slurm: the merged report of {SHARDS} shards matches the single run \
                 ({:.1}s on the cluster, {:.1}s in all)",
                checked.elapsed().as_secs_f64(),
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Err(error) => Err(format!(
            "{error}\n(kept {} for a look: slurm.conf, log/, jobs/, reports/)",
            dir.display()
        )),
    }
}

/// Runs the workload as one process, then sharded on a fresh cluster under `dir`, and compares.
/// The cluster is stopped before this returns, whatever happened.
fn check(programs: install::Programs, binary: &Path, dir: &Path) -> Result<(), String> {
    let reports = dir.join("reports");
    let job_logs = dir.join("jobs");
    for sub in [&reports, &job_logs] {
        fs::create_dir_all(sub)
            .map_err(|error| format!("cannot create {}: {error}", sub.display()))?;
    }
    let single = dir.join("single.json");
    println!("== one process: {WORKLOAD} --json {}", single.display());
    run_single(binary, &single)?;

    println!(
        "== starting a Slurm cluster of {NODES} nodes in {}",
        dir.display()
    );
    let cluster = Cluster::start(programs, dir, NODES)?;
    println!("== {SHARDS} shards as a job array, then the merge");
    run_jobs(&cluster, binary, &reports, &job_logs)?;
    drop(cluster);

    let single = read(&single)?;
    let merged = read(&reports.join("merged.json"))?;
    let rows = compare::compare(&single, &merged, SHARDS);
    print!("{}", compare::table(&rows));
    if compare::all_agree(&rows) {
        Ok(())
    } else {
        Err("the merged report differs from the single run (the rows marked DIFFERS)".into())
    }
}

/// Runs the workload as one process, writing its report to `json`.
fn run_single(binary: &Path, json: &Path) -> Result<(), String> {
    let status = Command::new(binary)
        .args(WORKLOAD_ARGS)
        .arg("--json")
        .arg(json)
        .arg("--quiet")
        .status()
        .map_err(|error| format!("cannot run {}: {error}", binary.display()))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("the single run of {WORKLOAD} failed: {status}"))
    }
}

/// Submits the shards and the merge, waits for both and checks that they succeeded; an error
/// carries the jobs' output.
fn run_jobs(cluster: &Cluster, binary: &Path, reports: &Path, logs: &Path) -> Result<(), String> {
    let scripts = cargo::workspace_root().join("deploy").join("slurm");
    let env = [("TTK_BIN", binary), ("TTK_REPORTS", reports)];
    let option = |name: &str, value: &Path| {
        let mut option = OsString::from(name);
        option.push(value);
        option
    };
    let shards = jobs::submit(
        cluster,
        &Job {
            script: &scripts.join("ttk-shards.sbatch"),
            args: WORKLOAD_ARGS,
            options: vec![
                format!("--array=0-{}", SHARDS - 1).into(),
                option("--output=", &logs.join("shard-%a.out")),
                option("--chdir=", reports),
            ],
            env: &env,
        },
    )?;
    let merge = jobs::submit(
        cluster,
        &Job {
            script: &scripts.join("ttk-merge.sbatch"),
            args: &[],
            options: vec![
                format!("--dependency=afterany:{shards}").into(),
                option("--output=", &logs.join("merge.out")),
                option("--chdir=", reports),
            ],
            env: &env,
        },
    )?;
    println!("   array job {shards}, merge job {merge}; waiting for both to leave the queue");
    let outcome = jobs::wait_gone(cluster, &[&shards, &merge], JOBS_TIMEOUT).and_then(|()| {
        // Both verdicts: a failed shard explains a failed merge.
        match (
            jobs::check_completed(cluster, &shards),
            jobs::check_completed(cluster, &merge),
        ) {
            (Ok(()), Ok(())) => Ok(()),
            (Err(error), Ok(())) | (Ok(()), Err(error)) => Err(error),
            (Err(shards), Err(merge)) => Err(format!("{shards}\n{merge}")),
        }
    });
    outcome.map_err(|error| {
        format!(
            "{error}\nthe jobs' output:\n{}{}(every daemon's log is in {})",
            jobs::logs(logs),
            cluster.controller_log(),
            cluster.log_dir().display()
        )
    })
}

/// Reads the report at `path`.
fn read(path: &Path) -> Result<Report, String> {
    Report::read_json(path).map_err(|error| format!("cannot read {}: {error}", path.display()))
}

/// A fresh directory for this run under the system's temporary directory.
fn work_dir() -> Result<PathBuf, String> {
    let dir = std::env::temp_dir().join(format!("ttk-slurm-{}", std::process::id()));
    if dir.exists() {
        fs::remove_dir_all(&dir)
            .map_err(|error| format!("cannot clear {}: {error}", dir.display()))?;
    }
    fs::create_dir_all(&dir)
        .map_err(|error| format!("cannot create {}: {error}", dir.display()))?;
    Ok(dir)
}
