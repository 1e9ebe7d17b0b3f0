//! `cargo xtask slurm`: runs a sharded ttk load test on a real Slurm cluster made on this
//! machine, and checks that the merged report holds the same totals as one process.
//!
//! The flow: install Slurm if it is missing; build the workload (`shard_ledger`, deterministic
//! on a virtual clock, so its counts and histograms do not depend on how the run is cut) and run
//! it once as one process; start a cluster of [`NODES`] nodes; submit
//! `deploy/slurm/ttk-shards.sbatch` as an array of [`SHARDS`] tasks and
//! `deploy/slurm/ttk-merge.sbatch` as a job that depends on it; wait for both; compare the
//! merged report with the single one. Then the same scripts run the `ttk` command: a `ttk http`
//! array of [`SHARDS`] against an nginx on this machine, merged with `ttk merge`, whose
//! successes must equal nginx's access log. Then the cluster is stopped. Everything lives in one
//! temporary directory, removed on success and kept (and named) on failure.

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
/// The `ttk http` array's load, for the whole run (each shard its quarter): 200 requests a
/// second for 2 s, so 400 in all.
const HTTP_LOAD: &[&str] = &["-c", "8", "--rate", "200", "-d", "2s"];
/// The requests [`HTTP_LOAD`] makes.
const HTTP_REQUESTS: u64 = 400;
/// How long the shards and the merge may take, from submission to leaving the queue.
const JOBS_TIMEOUT: Duration = Duration::from_secs(120);

/// Runs the whole check; an error says what failed (and where the kept files are).
pub(crate) fn run() -> Result<(), String> {
    let started = Instant::now();
    let programs = install::ensure()?;
    println!("== building the workload ({WORKLOAD}) and the ttk command");
    cargo::run(&["build", "-p", "ttk-examples", "--example", WORKLOAD])?;
    cargo::run(&["build", "-p", "ttk-cli", "--bin", "ttk"])?;
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
                "slurm: the merged report of {SHARDS} shards matches the single run, and the \
                 ttk http array's matches nginx's log \
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
    run_jobs(&cluster, binary, &reports, &job_logs, WORKLOAD_ARGS)?;
    let http = check_ttk_http(&cluster, dir);
    drop(cluster);
    http?;

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
fn run_jobs(
    cluster: &Cluster,
    binary: &Path,
    reports: &Path,
    logs: &Path,
    args: &[&str],
) -> Result<(), String> {
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
            args,
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

/// Runs `ttk http` as a job array of [`SHARDS`] against an nginx under `dir`, merged by the merge
/// job with `ttk merge`; checks the merged successes against nginx's access log.
fn check_ttk_http(cluster: &Cluster, dir: &Path) -> Result<(), String> {
    let ttk = cargo::target_dir().join("debug").join("ttk");
    let (reports, logs, nginx_dir) = (
        dir.join("http-reports"),
        dir.join("http-jobs"),
        dir.join("nginx"),
    );
    for sub in [&reports, &logs, &nginx_dir] {
        fs::create_dir_all(sub)
            .map_err(|error| format!("cannot create {}: {error}", sub.display()))?;
    }
    let nginx = crate::hold_http::Nginx::start(&nginx_dir, 1)?;
    let url = format!("http://127.0.0.1:{}/", nginx.port);
    let mut args = vec!["http", url.as_str()];
    args.extend_from_slice(HTTP_LOAD);
    println!(
        "== ttk {} as a job array of {SHARDS}, then ttk merge",
        args.join(" ")
    );
    let jobs = run_jobs(cluster, &ttk, &reports, &logs, &args);
    let log = nginx.stop()?;
    jobs?;
    let logged = log
        .lines()
        .filter(|line| line.contains("\"GET / HTTP/1.1\" 200 "))
        .count() as u64;
    let merged = read(&reports.join("merged.json"))?;
    let request = merged
        .transaction("request")
        .ok_or("the merged ttk http report has no request transaction")?;
    let shards = merged.run.shards.as_ref().map_or(0, |set| set.merged.len());
    println!(
        "   merged {shards} of {SHARDS} shards: {} requests ok, {} failed; nginx logged {logged}",
        request.ok, request.failed
    );
    if shards != SHARDS as usize
        || request.failed > 0
        || request.ok != logged
        || request.ok != HTTP_REQUESTS
    {
        return Err(format!(
            "the ttk http array: {} ok, {} failed, {shards} shards merged; nginx logged \
             {logged}; expected {HTTP_REQUESTS} ok from {SHARDS} shards, as many as nginx logged",
            request.ok, request.failed
        ));
    }
    Ok(())
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
