//! `--processes N`: a run as N shard processes of the same binary, with one combined live
//! progress and one merged summary and report — the way past the per-process limit of open
//! files.
//!
//! The parent starts each child with `--shard i/N`, one run id, one start time and a report
//! file of its own, and reads each second's figures the children write to their standard
//! output (`--progress-lines`); it shows a second once every child still running has sent
//! it. A child that dies is named with its exit status or signal, and the others' reports are
//! merged all the same (the merge names the missing shard). A first Ctrl-C or SIGTERM is
//! passed on to every child as one SIGTERM, so each stops gracefully and writes its report.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ttk_report::{Report, SecondReport};

use super::codes::{INTERRUPTED, PASSED, RUN_FAILED, THRESHOLD_FAILED};
use super::control::{Control, Model};
use super::live::Live;
use super::out::print_line;
use super::plan::Loops;
use super::progress::Progress;
use super::report_files::write_reports;
use super::seconds_shown::SecondsShown;
use super::shard::fresh_run_id;
use super::shard_totals::{ShardTotals, StreamedSecond};
use super::signals::Interrupts;
use super::success::{explain, fails_for_nothing_succeeded};
use super::{LoadTest, RunOutcome};

/// Flags of the parent that its children are not given (they get their own values, or the
/// parent does the work), with whether each takes a value.
const NOT_PASSED_ON: &[(&str, bool)] = &[
    ("--processes", true),
    ("--shard", true),
    ("--run-id", true),
    ("--start-at", true),
    ("--json", true),
    ("--html", true),
    ("--threshold", true),
    ("--target", true),
    ("--quiet", false),
    ("-q", false),
    ("--progress-lines", false),
    ("--workers", true),
    // The parent serves the live view of every child.
    ("--dashboard", false),
    ("--dashboard-linger", true),
    ("--metrics", true),
    ("--dashboard-token", true),
    ("--remote-write", true),
    ("--control-stdin", false),
];

/// How long children get from being started to their common start time: enough to start a
/// process and parse its command line.
const START_MARGIN: Duration = Duration::from_millis(500);

/// What the children's threads tell the parent.
enum Event {
    /// A second of child `shard`'s run, with its totals so far.
    Second(usize, SecondReport, ShardTotals),
    /// Child `shard` ended.
    Exited(usize, std::io::Result<ExitStatus>),
}

/// Runs `test` as `processes` shard processes, each on `loops`, and merges their reports.
pub(crate) fn run<A>(test: &LoadTest<A>, processes: u32, loops: Loops) -> RunOutcome {
    let args = test.args();
    let run_id = args
        .run_id
        .clone()
        .unwrap_or_else(|| fresh_run_id(&test.name));
    let dir = std::env::temp_dir().join(format!("ttk-{run_id}"));
    if let Err(error) = std::fs::create_dir_all(&dir) {
        eprintln!(
            "error: cannot make {} for the shards' reports: {error}",
            dir.display()
        );
        return failed(test, RUN_FAILED);
    }
    let start_at = match &args.start_at {
        Some(at) => at.as_str().to_owned(),
        None => {
            let at = SystemTime::now() + START_MARGIN;
            let since = at.duration_since(UNIX_EPOCH).unwrap_or_default();
            format!("@{}.{:03}", since.as_secs(), since.subsec_millis())
        }
    };
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(error) => {
            eprintln!("error: cannot find this program to start its shards: {error}");
            return failed(test, RUN_FAILED);
        }
    };
    let passed_on = passed_on(&test.command_line);
    let report_path = |shard: usize| dir.join(format!("shard-{shard}.json"));
    // Children share the cores: unless told, each gets its share of them. A test that runs on
    // one loop (`LoadTest::run`) runs on one in each child too: it refuses any other count.
    let workers = match loops {
        Loops::One => 1,
        Loops::Parallel => args.workers.unwrap_or_else(|| {
            let cores = std::thread::available_parallelism().map_or(1, usize::from);
            (cores / processes as usize).max(1)
        }),
    };

    // Watched before any child starts: a Ctrl-C from now on reaches each child once.
    let pids: Arc<Mutex<Vec<Option<u32>>>> = Arc::new(Mutex::new(vec![None; processes as usize]));
    let children = Arc::clone(&pids);
    let interrupts = match Interrupts::watch_with(move || {
        let children = children
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for &pid in children.iter().flatten() {
            terminate(pid);
        }
    }) {
        Ok(interrupts) => Some(interrupts),
        Err(error) => {
            eprintln!("warning: Ctrl-C will not stop the shards gracefully: {error}");
            None
        }
    };

    let (events, received) = mpsc::channel();
    // Each second, merged over the children that sent it; shown once every child still
    // running has sent it.
    let mut seconds: BTreeMap<u64, SecondReport> = BTreeMap::new();
    let mut shown = SecondsShown::new(processes as usize);
    let interrupted = || interrupts.as_ref().is_some_and(Interrupts::interrupted);
    let mut started_pids = vec![None; processes as usize];
    // The parent's dashboard may change the load: the children follow what it writes them.
    let control = (args.dashboard.is_some() && test.plan().load_for.is_some()).then(|| {
        let model = match args.rate {
            Some(_) => Model::Open,
            None => Model::Closed,
        };
        Arc::new(
            Control::new(model, test.control_refused.clone())
                .with_most_bots(test.most_control_bots.clone()),
        )
    });
    let mut child_inputs = Vec::with_capacity(processes as usize);
    for (shard, started_pid) in started_pids.iter_mut().enumerate() {
        if interrupted() {
            // Interrupted while starting: the shards not yet started are not started.
            shown.heard(shard, 0, true);
            continue;
        }
        // A report left by an earlier run of the same run id must not pass for this one's.
        let _ = std::fs::remove_file(report_path(shard));
        let mut command = Command::new(&exe);
        command
            .args(&passed_on)
            .arg("--shard")
            .arg(format!("{shard}/{processes}"))
            .arg("--run-id")
            .arg(&run_id)
            .arg("--start-at")
            .arg(&start_at)
            .arg("--json")
            .arg(report_path(shard))
            .arg("--progress-lines")
            .arg("--workers")
            .arg(workers.to_string());
        if let Some(target) = &args.target {
            command.arg("--target").arg(target);
        }
        if control.is_some() {
            command.arg("--control-stdin");
        }
        command
            .stdin(match control {
                Some(_) => Stdio::piped(),
                None => Stdio::null(),
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            // A group of its own: the terminal's Ctrl-C reaches the parent only, which passes
            // on exactly one SIGTERM (a second signal would stop a child at once, reportless).
            .process_group(0);
        die_with_parent(&mut command);
        match command.spawn() {
            Ok(mut child) => {
                child_inputs.push(child.stdin.take());
                *started_pid = Some(child.id());
                pids.lock().unwrap_or_else(|poisoned| poisoned.into_inner())[shard] =
                    Some(child.id());
                // A Ctrl-C that came while it started did not reach it.
                if interrupted() {
                    terminate(child.id());
                }
                watch_child(shard, child, events.clone(), Arc::clone(&pids));
            }
            Err(error) => {
                eprintln!("error: shard {shard} could not be started: {error}");
                child_inputs.push(None);
                shown.heard(shard, 0, true);
            }
        }
    }
    drop(events);

    let total = test.plan().load_for;
    let progress = Progress::new(args.quiet, false, total);
    // The live view of every child: their seconds, summed, as they come.
    let mut report = Report::new(&test.name);
    report.run.parameters = test.parameters();
    report.run.run_id = run_id.clone();
    let live = Live::new(report, control.clone());
    let servers = super::live::serve(args, &live, control.as_ref());
    let fanned_out = Arc::new(std::sync::atomic::AtomicBool::new(false));
    if let Some(control) = &control {
        control.restart_clock();
        super::control::fan_out(Arc::clone(control), child_inputs, Arc::clone(&fanned_out));
    }
    let pusher = super::live::push(args, &live);
    let mut errors = 0;
    // Each child's failures by kind, counters and gauges so far, for the live view.
    let mut children_totals = vec![ShardTotals::default(); processes as usize];
    let mut totals_changed = false;
    let mut died = Vec::new();
    let mut interrupted_children = 0;
    for event in received {
        let ready = match event {
            Event::Second(shard, second, totals) => {
                errors += second.errors;
                children_totals[shard] = totals;
                totals_changed = true;
                let t = second.t;
                match seconds.get_mut(&t) {
                    Some(mine) => mine.add(second),
                    None => {
                        seconds.insert(t, second);
                    }
                }
                shown.heard(shard, t, false)
            }
            Event::Exited(shard, status) => {
                match status {
                    Ok(status) if status.code() == Some(i32::from(INTERRUPTED)) => {
                        interrupted_children += 1;
                    }
                    Ok(status) if matches!(status.code(), Some(0 | 1 | 3)) => {}
                    Ok(status) => died.push(format!(
                        "shard {shard} (pid {}) {}",
                        started_pids[shard].unwrap_or_default(),
                        describe(status)
                    )),
                    Err(error) => died.push(format!("shard {shard}: cannot wait for it: {error}")),
                }
                shown.heard(shard, 0, true)
            }
        };
        let watched = !servers.is_empty() || pusher.is_some();
        for t in ready {
            if let Some(second) = seconds.remove(&t) {
                progress.show(&second, total, errors, None);
                if watched {
                    live.with_collector(|collector| collector.add_second(second));
                }
            }
        }
        if watched && std::mem::take(&mut totals_changed) {
            let sum = ShardTotals::sum(&children_totals);
            live.with_collector(|collector| collector.set_children_totals(sum));
        }
    }
    progress.finish();
    for death in &died {
        eprintln!("error: {death}");
    }

    let mut reports = Vec::new();
    for shard in 0..processes as usize {
        let path = report_path(shard);
        match Report::read_json(&path) {
            Ok(report) => reports.push(report),
            Err(error) => eprintln!("error: shard {shard} left no report ({error})"),
        }
    }
    let merged = match reports.is_empty() {
        true => Err("no shard left a report".to_owned()),
        false => Report::merge(reports).map_err(|error| error.to_string()),
    };
    let mut report = match merged {
        Ok(report) => report,
        Err(error) => {
            eprintln!("error: the shards' reports were not merged: {error}");
            eprintln!("their reports are in {}", dir.display());
            return failed(test, RUN_FAILED);
        }
    };
    if let Some(set) = report.run.shards.as_mut() {
        // Shards that never started left no report: the merge counts them missing too.
        set.count = processes;
    }
    if !died.is_empty() {
        let detail = died.join("; ");
        report.run.end_detail = Some(match report.run.end_detail.take() {
            Some(before) => format!("{detail}; {before}"),
            None => detail,
        });
    }
    // As recorded: a program's own command line, its secrets redacted.
    report.run.parameters.command_line = test.parameters().command_line;
    fanned_out.store(true, std::sync::atomic::Ordering::SeqCst);
    if let Some(control) = &control {
        // The whole run's changes, as made on this dashboard (the children's shares are not
        // recorded).
        report.run.changes = control.made();
    }
    let passed = report.check_thresholds(&args.thresholds);
    report.run.success_optional = !test.require_success;
    print_line(report.summary());
    let written = write_reports(&report, args.json.as_deref(), args.html.as_deref(), true);
    if !servers.is_empty() || pusher.is_some() {
        // Once the reports are on disk: a reader told the run is over may read them.
        live.take_collector();
        live.set_final(report.clone());
    }
    if let Some(pusher) = pusher {
        pusher.finish();
    }
    let nothing_succeeded =
        fails_for_nothing_succeeded(&report, args.thresholds.len(), test.require_success);
    if let Some(why) = nothing_succeeded.as_deref() {
        explain(why);
    }
    let complete = report
        .run
        .shards
        .as_ref()
        .is_none_or(|set| set.is_complete());
    let interrupted = interrupts.as_ref().is_some_and(Interrupts::interrupted)
        || interrupted_children > 0
        || report.run.end == "interrupted";
    drop(interrupts);
    super::live::linger(&servers, args.dashboard_linger);
    drop(servers);
    let code = if interrupted {
        INTERRUPTED
    } else if !died.is_empty()
        || !complete
        || !written
        || matches!(report.run.end.as_str(), "failed" | "stalled")
    {
        RUN_FAILED
    } else if !passed || nothing_succeeded.is_some() {
        THRESHOLD_FAILED
    } else {
        PASSED
    };
    if complete {
        remove_reports(&dir, processes);
    } else {
        eprintln!("the shards' reports are in {}", dir.display());
    }
    RunOutcome::new(report, code)
}

/// The parent's command line, without the program and the flags the children get their own
/// values of.
fn passed_on(command_line: &[String]) -> Vec<String> {
    let mut kept = Vec::new();
    let mut words = command_line.iter().skip(1);
    while let Some(word) = words.next() {
        let flag = word.split_once('=').map_or(word.as_str(), |(flag, _)| flag);
        match NOT_PASSED_ON.iter().find(|(name, _)| *name == flag) {
            Some((_, takes_value)) => {
                if *takes_value && !word.contains('=') {
                    words.next();
                }
            }
            None => kept.push(word.clone()),
        }
    }
    kept
}

/// Reads child `shard`'s output on a thread of its own: its seconds go to the parent, any
/// other line to standard error; then waits for it.
fn watch_child(
    shard: usize,
    mut child: Child,
    events: mpsc::Sender<Event>,
    pids: Arc<Mutex<Vec<Option<u32>>>>,
) {
    let stdout = child.stdout.take();
    let spawned = std::thread::Builder::new()
        .name(format!("ttk-shard-{shard}"))
        .spawn(move || {
            if let Some(stdout) = stdout {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    match serde_json::from_str::<StreamedSecond>(&line) {
                        Ok(line) => {
                            let _ = events.send(Event::Second(shard, line.second, line.totals));
                        }
                        Err(_) => eprintln!("[shard {shard}] {line}"),
                    }
                }
            }
            let status = child.wait();
            // Reaped: its pid may be reused, so a Ctrl-C must no longer signal it.
            pids.lock().unwrap_or_else(|poisoned| poisoned.into_inner())[shard] = None;
            let _ = events.send(Event::Exited(shard, status));
        });
    if let Err(error) = spawned {
        eprintln!("error: no thread to watch shard {shard}: {error}");
    }
}

/// How a child ended, in words.
fn describe(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with status {code}"),
        (None, Some(signal)) => format!("was killed by signal {signal}{}", signal_name(signal)),
        (None, None) => format!("ended: {status}"),
    }
}

fn signal_name(signal: i32) -> &'static str {
    match signal {
        libc::SIGKILL => " (SIGKILL)",
        libc::SIGTERM => " (SIGTERM)",
        libc::SIGINT => " (SIGINT)",
        libc::SIGSEGV => " (SIGSEGV)",
        libc::SIGABRT => " (SIGABRT)",
        libc::SIGBUS => " (SIGBUS)",
        _ => "",
    }
}

/// Asks process `pid` to stop gracefully.
fn terminate(pid: u32) {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return;
    };
    // SAFETY: kill(2) only sends a signal; any pid and signal number are valid arguments, and
    // a process that has already gone makes it fail with ESRCH, which is ignored.
    unsafe {
        libc::kill(pid, libc::SIGTERM);
    }
}

/// Makes the child get SIGTERM if the parent dies (a second Ctrl-C exits the parent at once:
/// its children must not run on unwatched).
#[cfg(target_os = "linux")]
fn die_with_parent(command: &mut Command) {
    // SAFETY: the closure runs in the child between fork and exec, where only
    // async-signal-safe calls are allowed: prctl(2) is a plain system call.
    unsafe {
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn die_with_parent(_command: &mut Command) {}

/// Removes the shards' reports once merged, and their directory if nothing else is in it.
fn remove_reports(dir: &Path, processes: u32) {
    for shard in 0..processes {
        let _ = std::fs::remove_file(dir.join(format!("shard-{shard}.json")));
    }
    let _ = std::fs::remove_dir(dir);
}

/// The outcome of a run that could not be made or merged.
fn failed<A>(test: &LoadTest<A>, code: u8) -> RunOutcome {
    RunOutcome::new(Report::new(&test.name), code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn children_get_the_load_flags_but_not_the_parents_own() {
        let words: Vec<String> = [
            "shop",
            "--bots",
            "100",
            "--processes",
            "4",
            "--json=out.json",
            "--html",
            "out.html",
            "-q",
            "--threshold",
            "p99 < 1s",
            "--room-size",
            "8",
        ]
        .iter()
        .map(|word| word.to_string())
        .collect();
        assert_eq!(passed_on(&words), ["--bots", "100", "--room-size", "8"]);
    }

    #[test]
    fn deaths_are_described_with_their_signal() {
        assert_eq!(
            describe(ExitStatus::from_raw(9)),
            "was killed by signal 9 (SIGKILL)"
        );
        assert_eq!(
            describe(ExitStatus::from_raw(3 << 8)),
            "exited with status 3"
        );
    }
}
