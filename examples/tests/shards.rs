//! A run cut in shards adds up to the run in one process: shard processes, `merge`,
//! `--processes`, a child killed mid-run, and merges that must be refused.

mod util;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use ttk::cli::ttk_report::Report;
use util::{example_path, run_example, run_example_raw};

/// The deterministic workload, the same in every test.
const LOAD: [&str; 4] = ["--bots", "400", "--iterations", "10"];

fn report_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ttk-shards-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn text(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 path")
}

/// The workload in one process.
fn whole_run(dir: &Path) -> Report {
    let json = dir.join("whole.json");
    run_example(
        "shard_ledger",
        &[&LOAD[..], &["--quiet", "--json", text(&json)]].concat(),
    );
    Report::read_json(&json).unwrap()
}

/// Everything a merge must get exactly right: every count and histogram, counters, bots.
fn assert_same_figures(merged: &Report, whole: &Report) {
    assert_eq!(merged.transactions.len(), whole.transactions.len());
    for (mine, theirs) in merged.transactions.iter().zip(&whole.transactions) {
        assert_eq!(mine.name, theirs.name);
        assert_eq!(
            (mine.ok, mine.failed, mine.abandoned, mine.stopped),
            (theirs.ok, theirs.failed, theirs.abandoned, theirs.stopped),
            "{}",
            mine.name
        );
        assert_eq!(mine.histogram, theirs.histogram, "{}", mine.name);
        assert_eq!(
            mine.failed_histogram, theirs.failed_histogram,
            "{}",
            mine.name
        );
        assert_eq!(mine.errors, theirs.errors, "{}", mine.name);
    }
    assert_eq!(merged.counters, whole.counters);
    let bots = |report: &Report| {
        let b = &report.bots;
        (b.started, b.finished, b.failed, b.stopped)
    };
    assert_eq!(bots(merged), bots(whole));
    assert!(whole.transactions[0].ok >= 4_000, "the workload ran");
}

#[test]
fn four_shard_processes_merge_to_exactly_the_one_process_run() {
    let dir = report_dir("four");
    let whole = whole_run(&dir);
    // The four shards run at once, as on four machines.
    let shards: Vec<_> = (0..4)
        .map(|shard| {
            let json = dir.join(format!("shard-{shard}.json"));
            Command::new(example_path("shard_ledger"))
                .args(LOAD)
                .args([
                    "--quiet",
                    "--run-id",
                    "four",
                    "--shard",
                    &format!("{shard}/4"),
                ])
                .arg("--json")
                .arg(&json)
                .stdout(Stdio::null())
                .spawn()
                .expect("a shard starts")
        })
        .collect();
    for mut shard in shards {
        assert!(shard.wait().unwrap().success());
    }
    let merged_json = dir.join("merged.json");
    let merged_html = dir.join("merged.html");
    let mut args = vec![
        "merge",
        "--json",
        text(&merged_json),
        "--html",
        text(&merged_html),
    ];
    let paths: Vec<PathBuf> = (0..4)
        .map(|shard| dir.join(format!("shard-{shard}.json")))
        .collect();
    args.extend(paths.iter().map(|path| text(path)));
    let summary = run_example("shard_ledger", &args);
    assert!(summary.contains("(4 processes)"), "{summary}");

    let merged = Report::read_json(&merged_json).unwrap();
    assert_same_figures(&merged, &whole);
    let shards = merged.run.shards.clone().unwrap();
    assert_eq!((shards.count, shards.missing.len()), (4, 0));
    assert_eq!(merged.run.run_id, "four");
    assert_eq!(merged.run.processes, 4);

    let page = std::fs::read_to_string(&merged_html).unwrap();
    assert_eq!(
        page.matches("<figure class=\"plot\"").count(),
        5,
        "five plots"
    );
    assert!(page.contains("Shards merged"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn processes_flag_runs_and_merges_the_shards_itself() {
    let dir = report_dir("processes");
    let whole = whole_run(&dir);
    let json = dir.join("merged.json");
    let output = run_example_raw(
        "shard_ledger",
        &[&LOAD[..], &["--processes", "4", "--json", text(&json)]].concat(),
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert!(stdout.contains("(4 processes)"), "{stdout}");
    let merged = Report::read_json(&json).unwrap();
    assert_same_figures(&merged, &whole);
    assert!(merged.run.shards.unwrap().is_complete());
    let _ = std::fs::remove_dir_all(&dir);
}

/// The children of `parent`, by pid, with their command lines.
fn children_of(parent: u32) -> Vec<(u32, String)> {
    let mut children = Vec::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{parent}/task")) else {
        return children;
    };
    for task in tasks.flatten() {
        let listed = std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
        for pid in listed.split_whitespace().filter_map(|pid| pid.parse().ok()) {
            let command_line = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let command_line = String::from_utf8_lossy(&command_line).replace('\0', " ");
            children.push((pid, command_line));
        }
    }
    children
}

/// `echo_storm` with `bots` bots for `duration` as `processes` shard processes, merged into
/// `json`; its output piped.
fn echo_storm_in_processes(
    bots: &str,
    duration: &str,
    processes: &str,
    json: &Path,
) -> std::process::Child {
    Command::new(example_path("echo_storm"))
        .args([
            "--bots",
            bots,
            "--duration",
            duration,
            "--processes",
            processes,
        ])
        .arg("--json")
        .arg(json)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("echo_storm starts")
}

#[test]
fn a_child_killed_mid_run_is_named_and_the_others_still_merge() {
    let dir = report_dir("killed");
    let json = dir.join("merged.json");
    let parent = echo_storm_in_processes("6", "4s", "3", &json);
    // Shard 1, once it runs.
    let deadline = Instant::now() + Duration::from_secs(10);
    let victim = loop {
        let found = children_of(parent.id())
            .into_iter()
            .find(|(_, command_line)| command_line.contains("--shard 1/3"));
        if let Some((pid, _)) = found {
            break pid;
        }
        assert!(Instant::now() < deadline, "shard 1 never started");
        std::thread::sleep(Duration::from_millis(50));
    };
    std::thread::sleep(Duration::from_millis(1_500));
    let pid = libc::pid_t::try_from(victim).unwrap();
    // SAFETY: kill has no memory-safety preconditions; the pid is our grandchild's.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGKILL) }, 0);
    let output: Output = parent.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{stdout}\n{stderr}");
    let death = format!("shard 1 (pid {victim}) was killed by signal 9 (SIGKILL)");
    assert!(stderr.contains(&death), "{stderr}");
    assert!(
        stdout.contains("INCOMPLETE: shard 1 of 3 is missing"),
        "{stdout}"
    );

    let merged = Report::read_json(&json).unwrap();
    let shards = merged.run.shards.clone().unwrap();
    assert_eq!((shards.merged, shards.missing), (vec![0, 2], vec![1]));
    assert_eq!(merged.run.processes, 2);
    assert_eq!(merged.bots.started, 4, "the other shards' 2 + 2 bots");
    assert!(merged.transaction("request").unwrap().ok > 0);
    assert!(merged.run.end_detail.unwrap().contains(&death));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn merge_names_what_it_could_not_read_and_refuses_other_runs() {
    let dir = report_dir("refuse");
    let shard = |shard: &str, run_id: &str, bots: &str| {
        let json = dir.join(format!("{run_id}-{}.json", shard.replace('/', "of")));
        let args = [
            "--bots",
            bots,
            "--iterations",
            "2",
            "--quiet",
            "--shard",
            shard,
        ];
        run_example(
            "shard_ledger",
            &[&args[..], &["--run-id", run_id, "--json", text(&json)]].concat(),
        );
        json
    };
    let first = shard("0/2", "a", "10");

    // The second shard's report is missing: the merge of the first is written, incomplete.
    let missing = dir.join("a-1of2.json");
    let merged = dir.join("merged.json");
    let output = run_example_raw(
        "shard_ledger",
        &[
            "merge",
            "--json",
            text(&merged),
            text(&first),
            text(&missing),
        ],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(3), "{output:?}");
    assert!(stderr.contains("a-1of2.json is left out"), "{stderr}");
    let report = Report::read_json(&merged).unwrap();
    assert_eq!(report.run.shards.unwrap().missing, [1]);

    // Another run, other parameters: refused, nothing written.
    let other_run = shard("1/2", "b", "10");
    let other_bots = shard("1/2", "a", "12");
    let _ = std::fs::remove_file(&merged);
    for (other, expected) in [
        (
            &other_run,
            "report 2 is of run id \"b\", report 1 of run id \"a\"",
        ),
        (&other_bots, "bots: 10 vs 12"),
    ] {
        let output = run_example_raw(
            "shard_ledger",
            &["merge", "--json", text(&merged), text(&first), text(other)],
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(expected), "{stderr}");
        assert!(!merged.exists(), "a refused merge wrote a report");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn ctrl_c_stops_every_child_and_still_merges() {
    let dir = report_dir("interrupt");
    let json = dir.join("merged.json");
    let parent = echo_storm_in_processes("4", "60s", "2", &json);
    std::thread::sleep(Duration::from_millis(2_500));
    let pid = libc::pid_t::try_from(parent.id()).unwrap();
    let sent = Instant::now();
    // SAFETY: kill has no memory-safety preconditions; the pid is our child's.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    let output = parent.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(sent.elapsed() < Duration::from_secs(15), "slow to stop");
    assert_eq!(output.status.code(), Some(130), "{stdout}\n{stderr}");
    assert!(stdout.contains("interrupted"), "{stdout}");
    let merged = Report::read_json(&json).unwrap();
    assert_eq!(merged.run.end, "interrupted");
    assert!(
        merged.run.shards.as_ref().unwrap().is_complete(),
        "both wrote their reports"
    );
    assert_eq!(merged.bots.started, 4);
    assert!(merged.transaction("request").unwrap().ok > 0);
    let _ = std::fs::remove_dir_all(&dir);
}

/// `shard_ledger` with `shape` in one process and in `processes` shard processes, merged.
fn whole_and_merged(test: &str, shape: &[&str], processes: &str) -> (Report, Report) {
    let dir = report_dir(test);
    let (whole, merged) = (dir.join("whole.json"), dir.join("merged.json"));
    let common = ["--iterations", "5", "--quiet"];
    run_example(
        "shard_ledger",
        &[shape, &common, &["--json", text(&whole)]].concat(),
    );
    run_example(
        "shard_ledger",
        &[
            shape,
            &common,
            &["--processes", processes, "--json", text(&merged)],
        ]
        .concat(),
    );
    let reports = (
        Report::read_json(&whole).unwrap(),
        Report::read_json(&merged).unwrap(),
    );
    let _ = std::fs::remove_dir_all(&dir);
    reports
}

#[test]
fn ramped_and_open_model_runs_cut_in_shards_add_up_too() {
    for (test, shape) in [
        ("ramp", &["--bots", "300", "--ramp-up", "2s"][..]),
        ("rate", &["--rate", "300/s:2s"][..]),
    ] {
        let (whole, merged) = whole_and_merged(test, shape, "3");
        assert!(
            whole.transactions[0].ok >= 1_000,
            "{test}: the workload ran"
        );
        assert_eq!(merged.transactions.len(), whole.transactions.len());
        for (mine, theirs) in merged.transactions.iter().zip(&whole.transactions) {
            assert_eq!((mine.ok, mine.failed), (theirs.ok, theirs.failed), "{test}");
            assert_eq!(mine.histogram, theirs.histogram, "{test}: {}", mine.name);
        }
        assert_eq!(merged.counters, whole.counters, "{test}");
        assert_eq!(merged.bots.started, whole.bots.started, "{test}");
    }
}
