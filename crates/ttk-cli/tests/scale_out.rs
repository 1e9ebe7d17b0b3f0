//! `ttk http` past one process, against a real nginx: `--processes N` merges its children's
//! reports to nginx's own count (with nginx ending connections every few requests), names a
//! child killed mid-run and merges the others; `--shard I/N` runs merge with `ttk merge`, the
//! rate split between them; `--local-ips` spreads connections over source addresses.

#[path = "../../ttk-http/tests/support/nginx.rs"]
mod nginx;
mod support;

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nginx::Nginx;
use support::{stderr, stdout, ttk};
use ttk_report::Report;

/// nginx ending each connection after 50 requests (ttk reconnects), logging each request
/// with the client's address first (the `combined` format).
const HTTP: &str = r#"
    default_type text/plain;
    access_log {dir}/access.log;
    keepalive_requests 50;
    server {
        listen 127.0.0.1:{port};
        location = / { return 200 "Hello, World!"; }
    }
"#;

fn start_nginx() -> Option<Nginx> {
    Nginx::start(&nginx::config(1024, HTTP), |_| {})
}

/// The lines of nginx's access log for `GET /` answered 200.
fn served(nginx: &Nginx) -> Vec<String> {
    fs::read_to_string(nginx.dir.join("access.log"))
        .unwrap()
        .lines()
        .filter(|line| line.contains("\"GET / HTTP/1.1\" 200 "))
        .map(str::to_owned)
        .collect()
}

/// The `request` transaction's successes and failures in `report`.
fn requests(report: &Report) -> (u64, u64) {
    let request = report.transaction("request").unwrap();
    (request.ok, request.failed)
}

#[test]
fn processes_merge_to_the_count_nginx_logged() {
    let Some(nginx) = start_nginx() else {
        return;
    };
    let url = format!("http://{}/", nginx.addr);
    let json = nginx.dir.join("processes.json");
    let output = ttk(&[
        "http",
        &url,
        "-c",
        "30",
        "-d",
        "2s",
        "--processes",
        "3",
        "--json",
        json.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let report = Report::read_json(&json).unwrap();
    let (ok, failed) = requests(&report);
    assert_eq!(failed, 0, "{:?}", report.transaction("request"));
    assert!(ok > 300, "only {ok} requests");
    assert_eq!(
        ok as usize,
        served(&nginx).len(),
        "ttk's successes against nginx's log"
    );
    let shards = report.run.shards.as_ref().unwrap();
    assert_eq!((shards.count, shards.merged.len()), (3, 3));
    assert_eq!(report.run.processes, 3);
    assert_eq!(report.bots.started, 30);
    // Each 50th request ends its connection: the connects follow.
    let connects = report.transaction("connect").unwrap();
    assert_eq!(connects.failed, 0);
    assert!(connects.ok >= ok / 50, "{} connects", connects.ok);
    // One progress, one summary: the parent's.
    let summary = stdout(&output);
    assert_eq!(summary.matches("transaction").count(), 1, "{summary}");
    assert!(summary.contains("(3 processes)"), "{summary}");
    assert!(summary.contains("shards: 3 of 3 merged"), "{summary}");
    // The report records the command line as typed, not the harness's.
    assert_eq!(report.run.parameters.command_line[1], "http");
    assert_eq!(report.run.parameters.bots, Some(30));
}

/// The pids of `parent`'s children, read from `/proc`.
fn children_of(parent: u32) -> Vec<u32> {
    let mut children = Vec::new();
    for entry in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // `pid (name) state ppid …`: the name may hold spaces, never `)` last.
        let after_name = &stat[stat.rfind(')').unwrap() + 1..];
        let ppid: u32 = after_name
            .split_whitespace()
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        if ppid == parent {
            children.push(pid);
        }
    }
    children.sort_unstable();
    children
}

#[test]
fn a_child_killed_mid_run_is_named_and_the_others_merge() {
    let Some(nginx) = start_nginx() else {
        return;
    };
    let url = format!("http://{}/", nginx.addr);
    let json = nginx.dir.join("killed.json");
    let parent = Command::new(env!("CARGO_BIN_EXE_ttk"))
        .args([
            "http",
            &url,
            "-c",
            "30",
            "-d",
            "4s",
            "--processes",
            "3",
            "-q",
        ])
        .arg("--json")
        .arg(&json)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let children = loop {
        let children = children_of(parent.id());
        if children.len() == 3 {
            break children;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "3 children never ran: {children:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    // Under way, each with its connections open.
    std::thread::sleep(Duration::from_millis(1500));
    let victim = children[1];
    let killed = Command::new("kill")
        .args(["-KILL", &victim.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let output = parent.wait_with_output().unwrap();
    let errors = stderr(&output);
    assert_eq!(output.status.code(), Some(3), "{errors}");
    assert!(
        errors.contains(&format!("(pid {victim}) was killed by signal 9 (SIGKILL)")),
        "{errors}"
    );
    let report = Report::read_json(&json).unwrap();
    let shards = report.run.shards.as_ref().unwrap();
    assert_eq!(
        (shards.count, shards.merged.len(), shards.missing.len()),
        (3, 2, 1)
    );
    assert_eq!(report.bots.started, 20, "the two others' bots");
    let (ok, failed) = requests(&report);
    assert_eq!(failed, 0);
    assert!(ok > 0 && (ok as usize) < served(&nginx).len());
    assert!(
        stdout(&output).contains("INCOMPLETE: shard"),
        "{}",
        stdout(&output)
    );
}

/// Runs four shards of one run at the same time, each `-c 8 --rate 400 -d 2s`, into `dir`.
fn run_shards(url: &str, dir: &Path) {
    let shards: Vec<_> = (0..4)
        .map(|shard| {
            Command::new(env!("CARGO_BIN_EXE_ttk"))
                .args(["http", url, "-c", "8", "--rate", "400", "-d", "2s", "-q"])
                .args([
                    "--shard",
                    &format!("{shard}/4"),
                    "--run-id",
                    "scale-out-test",
                ])
                .arg("--json")
                .arg(dir.join(format!("shard-{shard}.json")))
                .stdout(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut shard in shards {
        assert!(shard.wait().unwrap().success());
    }
}

#[test]
fn shards_merge_to_nginx_count_with_the_rate_split_between_them() {
    let Some(nginx) = start_nginx() else {
        return;
    };
    let url = format!("http://{}/", nginx.addr);
    run_shards(&url, &nginx.dir);
    // 400 requests/s for 2 s over the whole run: 800, each shard its quarter of the schedule.
    for shard in 0..4 {
        let report = Report::read_json(nginx.dir.join(format!("shard-{shard}.json"))).unwrap();
        assert_eq!(requests(&report), (200, 0), "shard {shard}");
        assert_eq!(report.bots.started, 2, "shard {shard}");
        assert_eq!(report.run.run_id, "scale-out-test");
    }
    let merged = nginx.dir.join("merged.json");
    let mut args = vec!["merge".to_owned()];
    args.extend((0..4).map(|shard| {
        let path = nginx.dir.join(format!("shard-{shard}.json"));
        path.to_string_lossy().into_owned()
    }));
    args.extend(["--json".to_owned(), merged.to_string_lossy().into_owned()]);
    let output = ttk(&args);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(
        stdout(&output).contains("shards: 4 of 4 merged"),
        "{}",
        stdout(&output)
    );
    let report = Report::read_json(&merged).unwrap();
    assert_eq!(requests(&report), (800, 0));
    assert_eq!(served(&nginx).len(), 800, "nginx's count");
    // The shards started together: the whole run made the rate asked for.
    let rate = 800.0 / report.run.duration_s;
    assert!((rate - 400.0).abs() < 40.0, "{rate} requests/s");
}

#[test]
fn local_ips_spread_the_connections_over_source_addresses() {
    let Some(nginx) = start_nginx() else {
        return;
    };
    let url = format!("http://{}/", nginx.addr);
    let json = nginx.dir.join("local-ips.json");
    let output = ttk(&[
        "http",
        &url,
        "-c",
        "6",
        "-d",
        "500ms",
        "-q",
        "--local-ips",
        "127.0.0.2-127.0.0.4",
        "--json",
        json.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    // Recorded with the run's other parameters.
    let report = Report::read_json(&json).unwrap();
    assert_eq!(
        report.run.parameters.local_ips.as_deref(),
        Some("127.0.0.2-127.0.0.4")
    );
    // Reconnects (every 50 requests) leave from the same sources.
    let sources: BTreeSet<String> = served(&nginx)
        .iter()
        .map(|line| line.split(' ').next().unwrap().to_owned())
        .collect();
    let expected: BTreeSet<String> = ["127.0.0.2", "127.0.0.3", "127.0.0.4"]
        .map(String::from)
        .into();
    assert_eq!(sources, expected);

    let output = ttk(&["http", &url, "-c", "2", "--local-ips", "192.0.2.1"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("192.0.2.1 is not an address of this machine"),
        "{}",
        stderr(&output)
    );
}

/// The hard limit on open files of this process, from `/proc/self/limits`.
fn hard_file_limit() -> u64 {
    fs::read_to_string("/proc/self/limits")
        .unwrap()
        .lines()
        .find(|line| line.starts_with("Max open files"))
        .and_then(|line| line.split_whitespace().nth(4))
        .and_then(|hard| hard.parse().ok())
        .unwrap_or(u64::MAX)
}

#[test]
fn past_10000_connections_to_loopback_the_sources_are_spread_by_themselves() {
    if hard_file_limit() < 10_100 {
        eprintln!("skipped: the hard open-file limit is under 10,100");
        return;
    }
    let config = nginx::config(11_000, HTTP)
        .replace(
            "worker_processes 1;",
            "worker_processes 1;\nworker_rlimit_nofile 11500;",
        )
        .replace(
            "listen 127.0.0.1:{port};",
            "listen 127.0.0.1:{port} backlog=16384;",
        );
    let Some(nginx) = Nginx::start(&config, |_| {}) else {
        return;
    };
    let url = format!("http://{}/", nginx.addr);
    let json = nginx.dir.join("spread.json");
    // Each connection opens when its first request is due: 10,000 a second.
    let output = ttk(&[
        "http",
        &url,
        "-c",
        "10001",
        "--rate",
        "10000",
        "-d",
        "2s",
        "--json",
        json.to_str().unwrap(),
    ]);
    let errors = stderr(&output);
    assert_eq!(output.status.code(), Some(0), "{errors}");
    assert!(errors.contains("sent from 127.0.0.1-127.0.0.2"), "{errors}");
    let report = Report::read_json(&json).unwrap();
    // Requests still unsent when the duration ends are not sent: on a busy machine a few of
    // the 20,000 of the schedule may be left.
    let (ok, failed) = requests(&report);
    assert_eq!(failed, 0);
    assert!(ok > 15_000, "{ok} of 20,000");
    let served = served(&nginx);
    assert_eq!(served.len() as u64, ok, "nginx's count");
    let sources: BTreeSet<&str> = served
        .iter()
        .map(|line| line.split(' ').next().unwrap())
        .collect();
    assert_eq!(sources, BTreeSet::from(["127.0.0.1", "127.0.0.2"]));
}

#[test]
fn past_the_open_file_limit_the_error_says_how_many_processes() {
    // Under a limit of 4,096 files (4,032 for sockets): 10,000 connections need 3 processes.
    let output = Command::new("prlimit")
        .arg("--nofile=4096:4096")
        .arg(env!("CARGO_BIN_EXE_ttk"))
        .args(["http", "http://127.0.0.1:9/", "-c", "10000", "-d", "1s"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let errors = stderr(&output);
    assert!(errors.contains("--processes 3"), "{errors}");
    let output = ttk(&["http", "http://127.0.0.1:9/", "-c", "2", "--processes", "3"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("each needs one at least"));
}

#[test]
fn the_help_shows_the_scale_out_flags() {
    for command in ["http", "tcp", "udp", "grpc"] {
        let help = stdout(&ttk(&[command, "--help"]));
        for flag in [
            "--processes",
            "--shard",
            "--run-id",
            "--start-at",
            "--local-ips",
        ] {
            assert!(help.contains(flag), "ttk {command} --help lacks {flag}");
        }
        assert!(!help.contains("--progress-lines"), "ttk {command}");
    }
}
