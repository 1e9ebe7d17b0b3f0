//! Counts beside the timed rounds, which a busy neighbour does not move: system calls and
//! user-space instructions per request, for each client at each connection count. Each comes
//! from runs of its own after the rounds (a watched client is slower, and its CPU time is not
//! the timed one), divided by the client's own count of responses in that run. A count that
//! cannot be taken (no perf or strace, no valgrind, a client that failed under it) is reported
//! as not counted with the reason, never as a number.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use super::client::{Client, Kind, Target};
use super::instructions::{self, Point, Slope};
use super::summary::grouped;
use super::syscalls::{Counter, Syscalls};
use crate::report::{Figure, Goal};

/// Seconds of each run under the syscall counter: long enough that start-up's calls (a few
/// per connection) are a few hundredths of a call per request at 1,000 connections.
pub(crate) const SYSCALL_SECONDS: u64 = 2;

/// What a request needs at least, for the tables.
pub(crate) const FLOOR: &str = "floor: 1 read + 1 write per request; epoll_wait shared by \
     the many events each returns (-> 0); epoll_ctl 0 on connections kept alive";

/// The syscalls of one run and the responses the client counted in it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct SyscallRun {
    /// The client's own count of successful responses.
    pub(crate) requests: u64,
    /// The system calls of the whole run, start-up included.
    pub(crate) calls: Syscalls,
}

/// One client at one connection count.
#[derive(Clone, Debug)]
pub(crate) struct Row {
    /// The client.
    pub(crate) kind: Kind,
    /// Connections.
    pub(crate) connections: u64,
    /// Its system calls, or why they were not counted.
    pub(crate) syscalls: Result<SyscallRun, String>,
    /// Its instructions per request, or why they were not counted; `None` for a client never
    /// run under callgrind (see [`instructions::counted`]).
    pub(crate) instructions: Option<Result<Slope, String>>,
}

/// Every client's counts.
#[derive(Clone, Debug)]
pub(crate) struct Counted {
    /// What counted the system calls, or why nothing could.
    pub(crate) counter: Result<Counter, String>,
    /// Where the callgrind profiles are, or why none were made.
    pub(crate) profiles: Result<String, String>,
    /// Per client and connection count.
    pub(crate) rows: Vec<Row>,
}

/// Runs each client at each of `connections` under the syscall counter and under callgrind,
/// with their files under `dir`, a `pause` between runs; prints a line per run.
pub(crate) fn measure(
    clients: &[Client],
    target: &Target,
    connections: &[u64],
    core: usize,
    dir: &Path,
    pause: Duration,
) -> Counted {
    let started = std::time::Instant::now();
    let counter = Counter::detect();
    let syscall_dir = dir.join("peers-syscalls");
    let profile_dir = dir.join("peers-callgrind");
    let valgrind = instructions::available();
    for made in [&syscall_dir, &profile_dir] {
        let _ = std::fs::remove_dir_all(made);
        if let Err(error) = std::fs::create_dir_all(made) {
            return Counted {
                counter: Err(format!("cannot create {}: {error}", made.display())),
                profiles: Err(format!("cannot create {}: {error}", made.display())),
                rows: Vec::new(),
            };
        }
    }
    let mut rows = Vec::new();
    for &n in connections {
        for client in clients {
            let name = client.kind.name();
            let syscalls = counter.clone().and_then(|counter| {
                let files = format!("{name}-{n}");
                let out = syscall_dir.join(format!("{files}.syscalls"));
                let run = client.run_under(
                    &counter.tool(&out),
                    target,
                    n,
                    SYSCALL_SECONDS,
                    core,
                    &syscall_dir,
                    &files,
                );
                std::thread::sleep(pause);
                let requests = run?.ok;
                let text = std::fs::read_to_string(&out)
                    .map_err(|error| format!("no counts in {}: {error}", out.display()))?;
                let calls = counter.parse(&text)?;
                if requests == 0 {
                    return Err(format!("{name} counted no responses under the counter"));
                }
                Ok(SyscallRun { requests, calls })
            });
            match &syscalls {
                Ok(run) => println!(
                    "  counted, {n} connections, {name}: {:.2} syscalls/request",
                    run.calls.total as f64 / run.requests as f64
                ),
                Err(error) => println!("  counted, {n} connections, {name}: no syscalls: {error}"),
            }
            let instructions = instructions::counted(client.kind).then(|| {
                let slope = valgrind.clone().and_then(|()| {
                    let mut points = Vec::new();
                    for seconds in instructions::SECONDS {
                        let files = format!("{name}-{n}-{seconds}s");
                        let out = profile_dir.join(format!("{files}.callgrind"));
                        let log = profile_dir.join(format!("{files}.valgrind.log"));
                        let tool = instructions::tool(seconds, &out, &log);
                        let run =
                            client.run_under(&tool, target, n, seconds, core, &profile_dir, &files);
                        std::thread::sleep(pause);
                        let text = std::fs::read_to_string(&log)
                            .map_err(|error| format!("no {}: {error}", log.display()))?;
                        points.push(Point {
                            seconds,
                            requests: run?.ok,
                            instructions: instructions::collected(&text)?,
                        });
                    }
                    Slope::between(points[0], points[1])
                });
                match &slope {
                    Ok(slope) => println!(
                        "  counted, {n} connections, {name}: {:.0} user instructions/request",
                        slope.per_request
                    ),
                    Err(error) => {
                        println!("  counted, {n} connections, {name}: no instructions: {error}")
                    }
                }
                slope
            });
            rows.push(Row {
                kind: client.kind,
                connections: n,
                syscalls,
                instructions,
            });
        }
    }
    println!("  counted in {:.0} s", started.elapsed().as_secs_f64());
    Counted {
        counter,
        profiles: valgrind.map(|()| profile_dir.display().to_string()),
        rows,
    }
}

impl Counted {
    /// The row of `kind` at `connections`.
    fn row(&self, kind: Kind, connections: u64) -> Option<&Row> {
        self.rows
            .iter()
            .find(|row| row.kind == kind && row.connections == connections)
    }

    /// The table's cells for `kind` at `connections`: syscalls per request and user
    /// instructions per request, `-` where not counted.
    pub(crate) fn cells(&self, kind: Kind, connections: u64) -> (String, String) {
        let Some(row) = self.row(kind, connections) else {
            return ("-".to_owned(), "-".to_owned());
        };
        let syscalls = match &row.syscalls {
            Ok(run) => format!("{:.2}", run.calls.total as f64 / run.requests as f64),
            Err(_) => "-".to_owned(),
        };
        let instructions = match &row.instructions {
            Some(Ok(slope)) => grouped(slope.per_request, 0),
            _ => "-".to_owned(),
        };
        (syscalls, instructions)
    }

    /// The lines under the table: how each count was taken, the split of the system calls,
    /// the runs under callgrind, and what was not counted and why.
    pub(crate) fn footer(&self) -> String {
        let mut out = String::new();
        match &self.counter {
            Ok(counter) => {
                let _ = writeln!(
                    out,
                    "syscalls/request: {}, one {SYSCALL_SECONDS} s run per client after the \
                     rounds, start-up included, over the client's own count of responses; {FLOOR}",
                    counter.name()
                );
            }
            Err(reason) => {
                let _ = writeln!(out, "syscalls/request: not counted ({reason})");
            }
        }
        for row in &self.rows {
            let Ok(run) = &row.syscalls else { continue };
            let split: Vec<String> = run
                .calls
                .per_request(run.requests)
                .iter()
                .map(|(kind, value)| format!("{kind} {value:.3}"))
                .collect();
            let _ = writeln!(
                out,
                "  {:<4} {:>5}: {} ({} responses)",
                row.kind.name(),
                row.connections,
                split.join(", "),
                grouped(run.requests as f64, 0)
            );
        }
        let [short, long] = instructions::SECONDS;
        match &self.profiles {
            Ok(dir) => {
                let _ = writeln!(
                    out,
                    "user instructions/request: callgrind, (Ir of a {long} s run - Ir of a \
                     {short} s run) / (responses - responses); profiles in {dir}"
                );
            }
            Err(reason) => {
                let _ = writeln!(out, "user instructions/request: not counted ({reason})");
            }
        }
        for row in &self.rows {
            let Some(Ok(slope)) = &row.instructions else {
                continue;
            };
            let runs: Vec<String> = slope
                .runs
                .iter()
                .map(|run| {
                    format!(
                        "{} s: {} responses, {} Ir",
                        run.seconds,
                        grouped(run.requests as f64, 0),
                        grouped(run.instructions as f64, 0)
                    )
                })
                .collect();
            let _ = writeln!(
                out,
                "  {:<4} {:>5}: {} per request, {} fixed ({})",
                row.kind.name(),
                row.connections,
                grouped(slope.per_request, 0),
                grouped(slope.fixed, 0),
                runs.join("; ")
            );
        }
        for row in &self.rows {
            let reasons = [
                ("syscalls", row.syscalls.as_ref().err()),
                (
                    "instructions",
                    row.instructions
                        .as_ref()
                        .and_then(|slope| slope.as_ref().err()),
                ),
            ];
            for (what, reason) in reasons {
                // A tool missing everywhere is said once, above.
                let tool_missing = match what {
                    "syscalls" => self.counter.is_err(),
                    _ => self.profiles.is_err(),
                };
                if let (Some(reason), false) = (reason, tool_missing) {
                    let _ = writeln!(
                        out,
                        "  {} {}: {what} not counted: {reason}",
                        row.kind.name(),
                        row.connections
                    );
                }
            }
        }
        out
    }

    /// The figures for `cargo xtask bench`'s summary, for information (no target): syscalls
    /// and user instructions per request of each client counted, skipped with the reason
    /// where they could not be counted.
    pub(crate) fn figures(&self) -> Vec<Figure> {
        let mut figures = Vec::new();
        for row in &self.rows {
            let name = |what: &str| {
                format!(
                    "peers {} conns: {what} ({})",
                    row.connections,
                    row.kind.name()
                )
            };
            let syscalls = name("syscalls per request");
            figures.push(match &row.syscalls {
                Ok(run) => Figure::new(
                    syscalls,
                    run.calls.total as f64 / run.requests as f64,
                    "calls",
                    Goal::None,
                ),
                Err(reason) => Figure::skipped(syscalls, reason, "calls", Goal::None),
            });
            let instructions = name("user instructions per request");
            match &row.instructions {
                Some(Ok(slope)) => figures.push(Figure::new(
                    instructions,
                    slope.per_request,
                    "instructions",
                    Goal::None,
                )),
                Some(Err(reason)) => figures.push(Figure::skipped(
                    instructions,
                    reason,
                    "instructions",
                    Goal::None,
                )),
                None => {}
            }
        }
        figures
    }

    /// Every count as JSON, with how it was taken.
    pub(crate) fn json(&self) -> serde_json::Value {
        let rows: Vec<serde_json::Value> = self
            .rows
            .iter()
            .map(|row| {
                let syscalls = match &row.syscalls {
                    Ok(run) => {
                        let per: serde_json::Map<String, serde_json::Value> = run
                            .calls
                            .per_request(run.requests)
                            .iter()
                            .map(|(kind, value)| (kind.to_string(), (*value).into()))
                            .collect();
                        serde_json::json!({
                            "responses": run.requests,
                            "calls": {
                                "total": run.calls.total,
                                "read": run.calls.read,
                                "write": run.calls.write,
                                "epoll_wait": run.calls.epoll_wait,
                                "epoll_ctl": run.calls.epoll_ctl,
                                "other": run.calls.other(),
                            },
                            "per_request": per,
                        })
                    }
                    Err(reason) => serde_json::json!({ "skipped": reason }),
                };
                let instructions = match &row.instructions {
                    Some(Ok(slope)) => serde_json::json!({
                        "per_request": slope.per_request,
                        "fixed": slope.fixed,
                        "runs": slope.runs.iter().map(|run| serde_json::json!({
                            "seconds": run.seconds,
                            "responses": run.requests,
                            "instructions": run.instructions,
                        })).collect::<Vec<_>>(),
                    }),
                    Some(Err(reason)) => serde_json::json!({ "skipped": reason }),
                    None => serde_json::json!({ "skipped": "not run under callgrind (only ttk and wrk are)" }),
                };
                serde_json::json!({
                    "client": row.kind.name(),
                    "connections": row.connections,
                    "syscalls": syscalls,
                    "user_instructions": instructions,
                })
            })
            .collect();
        serde_json::json!({
            "syscall_counter": match &self.counter {
                Ok(counter) => serde_json::json!(counter.name()),
                Err(reason) => serde_json::json!({ "skipped": reason }),
            },
            "syscall_seconds": SYSCALL_SECONDS,
            "floor": FLOOR,
            "instruction_counter": match &self.profiles {
                Ok(dir) => serde_json::json!({
                    "tool": "valgrind --tool=callgrind --fair-sched=yes --dump-instr=no",
                    "seconds": instructions::SECONDS,
                    "method": "slope: (Ir long - Ir short) / (responses long - responses short)",
                    "profiles": dir,
                }),
                Err(reason) => serde_json::json!({ "skipped": reason }),
            },
            "rows": rows,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use super::*;

    fn counted() -> Counted {
        let point = |seconds, requests, instructions| Point {
            seconds,
            requests,
            instructions,
        };
        let slope = Slope::between(point(1, 1_000, 9_000_000), point(3, 4_000, 21_000_000));
        Counted {
            counter: Ok(Counter::Perf),
            profiles: Ok("target/ttk-bench/peers-callgrind".to_owned()),
            rows: vec![
                Row {
                    kind: Kind::Ttk,
                    connections: 100,
                    syscalls: Ok(SyscallRun {
                        requests: 1_000,
                        calls: Syscalls {
                            total: 2_100,
                            read: 1_000,
                            write: 1_000,
                            epoll_wait: 50,
                            epoll_ctl: 0,
                        },
                    }),
                    instructions: Some(slope),
                },
                Row {
                    kind: Kind::Hey,
                    connections: 100,
                    syscalls: Err("hey -c 100 under perf: exited with 1".to_owned()),
                    instructions: None,
                },
            ],
        }
    }

    #[test]
    fn cells_figures_and_footer_say_what_was_counted_and_what_was_not() {
        let counted = counted();
        assert_eq!(
            counted.cells(Kind::Ttk, 100),
            ("2.10".to_owned(), "4,000".to_owned())
        );
        assert_eq!(
            counted.cells(Kind::Hey, 100),
            ("-".to_owned(), "-".to_owned())
        );
        assert_eq!(
            counted.cells(Kind::Wrk, 100),
            ("-".to_owned(), "-".to_owned())
        );
        let figures = counted.figures();
        let names: Vec<&str> = figures.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "peers 100 conns: syscalls per request (ttk)",
                "peers 100 conns: user instructions per request (ttk)",
                "peers 100 conns: syscalls per request (hey)",
            ]
        );
        assert!(matches!(figures[2].value, crate::report::Value::Skipped(_)));
        let footer = counted.footer();
        assert!(footer.contains("read 1.000, write 1.000, epoll_wait 0.050"));
        assert!(footer.contains("other 0.050"));
        assert!(footer.contains("hey 100: syscalls not counted: hey -c 100 under perf"));
        assert!(footer.contains("4,000 per request, 5,000,000 fixed"));
        let json = counted.json();
        assert_eq!(json["rows"][0]["syscalls"]["per_request"]["total"], 2.1);
        assert_eq!(json["rows"][0]["user_instructions"]["per_request"], 4_000.0);
        assert!(json["rows"][1]["syscalls"]["skipped"].is_string());
    }

    #[test]
    fn wrk_under_each_counter_reads_and_writes_once_per_request() {
        // The whole path on real things: our nginx, wrk 1 s at 10 connections under each
        // counter this machine has (strace too where perf is the one chosen), its own count of
        // responses. Without them there is nothing to run.
        let mut counters: Vec<Counter> = Counter::detect().into_iter().collect();
        let strace = Command::new("strace").arg("-V").output();
        if counters == [Counter::Perf] && strace.is_ok_and(|output| output.status.success()) {
            counters.push(Counter::Strace);
        }
        let (Some(nginx), Some(wrk), false) = (
            super::super::nginx::find(),
            super::super::client::on_path("wrk"),
            counters.is_empty(),
        ) else {
            eprintln!("skipped: needs nginx, wrk and perf or strace");
            return;
        };
        let dir = std::env::temp_dir().join(format!("xtask-counts-{}", std::process::id()));
        let server = super::super::nginx::Nginx::start(&nginx, dir.join("nginx"), 1).unwrap();
        let url = server.url();
        let target = Target {
            url: &url,
            cacert: None,
        };
        let client = Client {
            kind: Kind::Wrk,
            binary: wrk,
        };
        for counter in counters {
            let out = dir.join("wrk.syscalls");
            let output = client
                .run_under(&counter.tool(&out), &target, 10, 1, 0, &dir, "wrk")
                .unwrap();
            let calls = counter
                .parse(&std::fs::read_to_string(&out).unwrap())
                .unwrap();
            assert!(output.ok > 1_000, "{counter:?}: {output:?}");
            let per = |count: u64| count as f64 / output.ok as f64;
            // wrk writes the requests still in flight at the end (10) without counting them.
            assert!(
                (1.0..1.01).contains(&per(calls.read)),
                "{counter:?}: {calls:?}"
            );
            assert!(
                (1.0..1.01).contains(&per(calls.write)),
                "{counter:?}: {calls:?}"
            );
            // And re-arms each socket twice per request (epoll_ctl), as it does at 100.
            assert!(
                (1.9..2.1).contains(&per(calls.epoll_ctl)),
                "{counter:?}: {calls:?}"
            );
            assert!(calls.total > calls.read + calls.write + calls.epoll_ctl);
            std::thread::sleep(Duration::from_millis(200));
        }
        drop(server);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_missing_tool_is_a_reason_not_a_number() {
        let mut counted = counted();
        counted.counter = Err("no perf; no strace".to_owned());
        counted.profiles = Err("no valgrind".to_owned());
        for row in &mut counted.rows {
            row.syscalls = Err("no perf; no strace".to_owned());
            if row.instructions.is_some() {
                row.instructions = Some(Err("no valgrind".to_owned()));
            }
        }
        assert_eq!(
            counted.cells(Kind::Ttk, 100),
            ("-".to_owned(), "-".to_owned())
        );
        let footer = counted.footer();
        assert!(footer.contains("syscalls/request: not counted (no perf; no strace)"));
        assert!(footer.contains("user instructions/request: not counted (no valgrind)"));
        assert!(
            counted
                .figures()
                .iter()
                .all(|f| matches!(f.value, crate::report::Value::Skipped(_)))
        );
    }
}
