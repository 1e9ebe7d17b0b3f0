//! A new user's first day with the harness (issue #19): what a load-test binary does when run
//! as its user would run it — its help, a dead target, a pipe closed early, `--processes` for a
//! test on one loop, a merge with setup code in `main`, shards stopped early, run ids.

mod util;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use ttk::cli::ttk_report::Report;
use util::{example_path, run_example, run_example_raw};

fn report_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ttk-first-day-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    dir
}

fn text(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 path")
}

/// A shard's report of the deterministic workload, at `json`.
fn ledger_shard(json: &Path, shard: &str, extra: &[&str]) -> Report {
    let args = [
        "--bots",
        "8",
        "--iterations",
        "2",
        "--quiet",
        "--shard",
        shard,
    ];
    run_example(
        "shard_ledger",
        &[&args[..], extra, &["--json", text(json)]].concat(),
    );
    Report::read_json(json).unwrap()
}

/// Item 2: `--help` is written for the person running the test, not the library's rustdoc
/// (doc comments of the flag structs, `# Examples` and code included), and `merge`'s help says
/// whole sentences.
#[test]
fn help_is_written_for_the_user() {
    for (example, args) in [
        ("shard_ledger", &["--help"][..]),
        ("shard_ledger", &["-h"]),
        ("echo_storm", &["--help"]),
        ("greeter", &["--help"]),
        ("greeter", &["merge", "--help"]),
        ("greeter", &["merge", "-h"]),
        ("greeter", &["help", "merge"]),
    ] {
        let output = run_example_raw(example, args);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{example} {args:?}: {output:?}"
        );
        let help = String::from_utf8_lossy(&output.stdout);
        for rustdoc in [
            "# Examples",
            "```",
            "assert",
            "LoadTest",
            "unwrap()",
            "flags besides",
        ] {
            assert!(
                !help.contains(rustdoc),
                "{example} {args:?}: the help shows {rustdoc:?}:\n{help}"
            );
        }
        assert!(help.contains("Usage:"), "{example} {args:?}:\n{help}");
    }
    let help = run_example("greeter", &["--help"]);
    assert!(help.starts_with("greeter: a load test"), "{help}");
    let merge = run_example("greeter", &["merge", "--help"]);
    let about = merge.lines().next().unwrap();
    assert!(about.starts_with("Merge the JSON reports"), "{merge}");
    assert!(about.ends_with('.'), "a whole sentence: {about:?}");
    // The short help lists `merge` with a phrase that is not cut off after a possessive.
    let short = run_example("greeter", &["-h"]);
    let listed = short
        .lines()
        .find(|line| line.trim_start().starts_with("merge"))
        .unwrap();
    assert!(!listed.trim_end().ends_with("'s"), "{listed:?}");
}

/// Item 3: the summary piped into a reader that went away (`mytest merge … | head -1`) is not a
/// panic: the merge still writes its reports and exits with its own code.
#[test]
fn a_closed_pipe_does_not_panic() {
    let dir = report_dir("pipe");
    let (a, b) = (dir.join("a.json"), dir.join("b.json"));
    ledger_shard(&a, "0/2", &["--run-id", "pipe"]);
    ledger_shard(&b, "1/2", &["--run-id", "pipe"]);
    let merged = dir.join("merged.json");
    for args in [
        vec!["merge", text(&a), text(&b), "--json", text(&merged)],
        vec!["--bots", "2", "--iterations", "1"],
    ] {
        // The pipe's reading end is closed before the program writes a byte: every write
        // fails with EPIPE, whatever the timing.
        let (reader, writer) = std::io::pipe().expect("a pipe");
        drop(reader);
        let output = Command::new(example_path("shard_ledger"))
            .args(&args)
            .stdout(writer)
            .stderr(Stdio::piped())
            .output()
            .expect("shard_ledger runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
    assert_eq!(Report::read_json(&merged).unwrap().bots.started, 8);
}

/// Item 4: `--processes N` runs a test written with `LoadTest::run` (one loop per process):
/// each child runs on one loop, as the test can.
#[test]
fn processes_run_a_test_on_one_loop() {
    let dir = report_dir("processes");
    let json = dir.join("all.json");
    // One process: the parent would otherwise hand it every core as --workers.
    for processes in ["1", "2"] {
        let output = run_example_raw(
            "greeter",
            &[
                "--bots",
                "4",
                "--iterations",
                "3",
                "--processes",
                processes,
                "-q",
                "--json",
                text(&json),
            ],
        );
        assert_eq!(
            output.status.code(),
            Some(0),
            "--processes {processes}: {output:?}"
        );
        let report = Report::read_json(&json).unwrap();
        assert_eq!(report.transaction("hello").unwrap().ok, 12);
        assert_eq!(report.run.processes, processes.parse::<u32>().unwrap());
    }
}

/// Item 8: `mytest merge …` merges without running the setup code `main` has before
/// `test.run` (here: starting an echo target, which says so).
#[test]
fn merge_runs_without_the_tests_setup() {
    let dir = report_dir("merge-setup");
    let json = dir.join("run.json");
    let run = run_example_raw("greeter", &["--bots", "2", "-q", "--json", text(&json)]);
    assert_eq!(run.status.code(), Some(0), "{run:?}");
    assert!(String::from_utf8_lossy(&run.stderr).contains("started an echo target"));
    let merged = dir.join("merged.json");
    let merge = run_example_raw("greeter", &["merge", text(&json), "--json", text(&merged)]);
    let stderr = String::from_utf8_lossy(&merge.stderr);
    assert_eq!(merge.status.code(), Some(0), "{merge:?}");
    assert!(
        !stderr.contains("echo target"),
        "the setup ran for merge: {stderr}"
    );
    assert_eq!(Report::read_json(&merged).unwrap().bots.started, 2);
}

/// Item 1: a run given no `--threshold` in which nothing succeeded — every bot failed, or no
/// transaction succeeded — exits 1 and says why, in one process or several; a `--threshold`
/// given judges the run instead (the opt-out of the command line; `require_success(false)`,
/// the one in code, is the doctest of `LoadTest::require_success`).
#[test]
fn a_run_in_which_nothing_succeeded_fails() {
    let dead = [
        "--target",
        "127.0.0.1:1",
        "--bots",
        "3",
        "--iterations",
        "2",
        "-q",
    ];
    // Every greeter fails at its first connect.
    for extra in [&[][..], &["--processes", "2"]] {
        let output = run_example_raw("greeter", &[&dead[..], extra].concat());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{extra:?}: {stderr}");
        assert!(
            stderr.contains("every bot failed (3 of 3)"),
            "{extra:?}: {stderr}"
        );
    }
    // echo_storm's bots finish (a failed connect uses up an iteration), but no connect succeeded.
    let output = run_example_raw("echo_storm", &dead);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("no transaction succeeded (0 of 6)"),
        "{stderr}"
    );
    // A threshold judges the run instead.
    let judged = [&dead[..], &["--threshold", "failures <= 100%"]].concat();
    let output = run_example_raw("greeter", &judged);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    // A run in which something succeeded passes as before.
    let output = run_example_raw("greeter", &["--bots", "3", "-q"]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
}

/// Item 6: two runs of shards with the same parameters get different run ids (so their
/// reports cannot merge by mistake), while the shards of one run agree on theirs: through
/// `--start-at`, the Slurm job that started them, or `--run-id`.
#[test]
fn run_ids_tie_the_shards_of_one_run_and_no_other() {
    let dir = report_dir("run-ids");
    let id = |name: &str, shard: &str, extra: &[&str], job: Option<&str>| {
        let json = dir.join(format!("{name}.json"));
        let args = [
            "--bots",
            "8",
            "--iterations",
            "2",
            "--quiet",
            "--shard",
            shard,
        ];
        let mut command = Command::new(example_path("shard_ledger"));
        command
            .args(args)
            .args(extra)
            .arg("--json")
            .arg(&json)
            .env_remove("SLURM_ARRAY_JOB_ID")
            .env_remove("SLURM_JOB_ID");
        if let Some(job) = job {
            command.env("SLURM_ARRAY_JOB_ID", job);
        }
        let output = command.output().expect("shard_ledger runs");
        assert!(output.status.success(), "{output:?}");
        let warned = String::from_utf8_lossy(&output.stderr).contains("--shard without --run-id");
        (Report::read_json(&json).unwrap().run.run_id, warned)
    };
    // Nothing ties them: each run is its own, and says its report will merge with no other.
    let (first, warned) = id("alone-1", "0/2", &[], None);
    let (second, _) = id("alone-2", "0/2", &[], None);
    assert_ne!(first, second, "two runs, one id");
    assert!(warned);
    // One --start-at: the shards of that run agree; a run with another start differs.
    let start = ["--start-at", "@1000000000"];
    let (a, warned) = id("start-0", "0/2", &start, None);
    let (b, _) = id("start-1", "1/2", &start, None);
    assert_eq!(a, b);
    assert!(!warned);
    let (later, _) = id("start-later", "0/2", &["--start-at", "@1000000060"], None);
    assert_ne!(a, later);
    // The tasks of one Slurm job array agree; another job's differ.
    let (a, warned) = id("job-0", "0/2", &[], Some("4242"));
    let (b, _) = id("job-1", "1/2", &[], Some("4242"));
    let (other, _) = id("job-other", "0/2", &[], Some("4243"));
    assert_eq!(a, b);
    assert_ne!(a, other);
    assert!(!warned);
    // So the shards of one job merge.
    let merged = run_example_raw(
        "shard_ledger",
        &[
            "merge",
            text(&dir.join("job-0.json")),
            text(&dir.join("job-1.json")),
        ],
    );
    assert_eq!(merged.status.code(), Some(0), "{merged:?}");
    let refused = run_example_raw(
        "shard_ledger",
        &[
            "merge",
            text(&dir.join("alone-1.json")),
            text(&dir.join("alone-2.json")),
        ],
    );
    assert_eq!(refused.status.code(), Some(2), "{refused:?}");
}

/// Item 5: a shard stopped (SIGTERM, as `scancel` sends) while it waits for `--start-at`
/// reports that no bot ran, with the start it was given rather than the moment it was stopped,
/// so the merge keeps its siblings' seconds where they were and the run's length true.
#[test]
fn a_shard_stopped_before_its_start_leaves_the_merge_undistorted() {
    let dir = report_dir("stopped-before-start");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    let start = now.as_secs_f64() + 3.0;
    let start_at = format!("@{start:.3}");
    // One target for both shards: shards of one run are given the same parameters.
    let target = ttk_examples::echo_target::spawn_tcp("127.0.0.1:0")
        .unwrap()
        .to_string();
    let shard = |index: usize| {
        Command::new(example_path("echo_storm"))
            .args([
                "--bots",
                "2",
                "--duration",
                "3s",
                "--quiet",
                "--run-id",
                "early-stop",
            ])
            .args(["--target", &target])
            .args(["--shard", &format!("{index}/2"), "--start-at", &start_at])
            .arg("--json")
            .arg(dir.join(format!("shard-{index}.json")))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("a shard starts")
    };
    let (running, stopped) = (shard(0), shard(1));
    std::thread::sleep(std::time::Duration::from_millis(800));
    let pid = libc::pid_t::try_from(stopped.id()).expect("a pid");
    // SAFETY: kill has no memory-safety preconditions; the pid is our own child's.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
    let stopped = stopped.wait_with_output().expect("the stopped shard ends");
    assert_eq!(stopped.status.code(), Some(130), "{stopped:?}");
    let running = running.wait_with_output().expect("the other shard ends");
    assert_eq!(running.status.code(), Some(0), "{running:?}");

    let report = Report::read_json(dir.join("shard-1.json")).unwrap();
    assert_eq!(report.bots.started, 0, "no bot ran: {:?}", report.bots);
    assert_eq!(report.run.end, "interrupted");
    assert!(
        report
            .run
            .end_detail
            .as_deref()
            .is_some_and(|detail| detail.contains("--start-at")),
        "{:?}",
        report.run.end_detail
    );
    assert!(
        (report.run.started_unix_s - start).abs() < 0.01,
        "the start given, {start}, not the kill: {}",
        report.run.started_unix_s
    );
    assert_eq!(report.run.duration_s, 0.0);

    let merged = dir.join("merged.json");
    let shards = [dir.join("shard-0.json"), dir.join("shard-1.json")];
    let output = run_example_raw(
        "echo_storm",
        &[
            "merge",
            text(&shards[0]),
            text(&shards[1]),
            "--json",
            text(&merged),
        ],
    );
    assert!(matches!(output.status.code(), Some(0 | 1)), "{output:?}");
    let merged = Report::read_json(&merged).unwrap();
    let alone = Report::read_json(&shards[0]).unwrap();
    assert!(
        merged.run.duration_s < alone.run.duration_s + 0.5,
        "the merge lasts {} s, the shard that ran {} s",
        merged.run.duration_s,
        alone.run.duration_s
    );
    let seconds = |report: &Report| {
        report
            .series
            .iter()
            .map(|second| second.t)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        seconds(&merged),
        seconds(&alone),
        "the seconds were shifted"
    );
    assert_eq!(merged.bots.started, alone.bots.started);
}

/// Item 12: the harness reads durations with the one parser thresholds use too: a fraction of
/// a second (which humantime refused), long unit names, parts with spaces.
#[test]
fn durations_read_as_thresholds_read_them() {
    let dir = report_dir("durations");
    for (duration, read) in [("1.5s", "1s 500ms"), ("1m 30s", "1m 30s"), ("2min", "2m")] {
        let json = dir.join("run.json");
        // The ledger runs on a virtual clock: minutes of it take no time.
        let args = [
            "--bots",
            "2",
            "--duration",
            duration,
            "--grace",
            "0.5s",
            "-q",
        ];
        run_example(
            "shard_ledger",
            &[&args[..], &["--json", text(&json)]].concat(),
        );
        let report = Report::read_json(&json).unwrap();
        assert_eq!(
            report.run.parameters.duration.as_deref(),
            Some(read),
            "--duration {duration}"
        );
    }
    let output = run_example_raw("shard_ledger", &["--duration", "soon"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("`soon` is not a duration"), "{stderr}");
}
