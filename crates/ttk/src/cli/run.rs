//! Running a load test: the shape of the run, the collector thread, the end of the run (the
//! summary, thresholds, reports and exit code).

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::path::Path;
use std::rc::Rc;
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ttk_core::MetricsSnapshot;
use ttk_core::metrics::TransactionOutput;
use ttk_report::{BotTally, Parameters, Report};

use super::collector::{Collector, add_bot_error};
use super::progress::Progress;
use super::session::Session;
use super::shape::{IntendedStarts, RampSource, RateSource, RunStart};
use super::signals::Interrupts;
use super::{LoadTest, RunOutcome};
use crate::{BotErrorKind, Cx, RunEnd, Runtime};

/// Exit codes (see the module docs).
const PASSED: u8 = 0;
const THRESHOLD_FAILED: u8 = 1;
const BAD_COMMAND_LINE: u8 = 2;
const RUN_FAILED: u8 = 3;
const INTERRUPTED: u8 = 130;

/// How a run goes: bots at the start, how long load is made, when the run stops at the latest,
/// and each bot's iterations.
struct Plan {
    first_bots: usize,
    load_for: Option<Duration>,
    deadline: Option<Duration>,
    iterations: Option<u64>,
}

impl<A> LoadTest<A> {
    /// Runs the test: bots `factory(cx, session)`, shaped by the command line; prints the live
    /// progress and the summary, writes the reports, checks the thresholds. A bot's `Err`
    /// output counts as a failed bot, classified like a failed transaction.
    ///
    /// With `--duration`, load is made for that long: sessions stop arriving, and
    /// [`Session::iterations`] ends, so each bot finishes the iteration it is in; bots still
    /// running after a further `--grace` are stopped (their transactions in flight count as
    /// stopped).
    ///
    /// # Examples
    /// ```
    /// use ttk::cli::{LoadTest, Session};
    /// use ttk::Cx;
    ///
    /// #[ttk::bot]
    /// fn visitor(cx: Cx, session: Session) {
    ///     for _ in session.iterations() {
    ///         cx.transaction("visit").ok();
    ///     }
    /// }
    ///
    /// let test = LoadTest::try_from_args("visits", ["visits", "--bots", "2", "--quiet"]).unwrap();
    /// let outcome = test.run(visitor);
    /// assert_eq!(outcome.report.transaction("visit").unwrap().ok, 2); // one iteration each
    /// assert_eq!(outcome.code, 0);
    /// ```
    pub fn run<M, F, B>(self, factory: F) -> RunOutcome
    where
        M: 'static,
        F: FnMut(Cx<M>, Session) -> B,
        B: Future,
        B::Output: TransactionOutput,
    {
        self.run_with(Runtime::new(), factory)
    }

    /// Like [`LoadTest::run`], on a runtime set up by the test (a world, tick hooks, a virtual
    /// clock). The harness sets its seed, deadline, source of bots and metrics sink.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// use ttk::cli::{LoadTest, Session};
    /// use ttk::{Cx, Runtime};
    ///
    /// #[ttk::bot]
    /// fn sleeper(cx: Cx, session: Session) {
    ///     for _ in session.iterations() {
    ///         let _: () = ttk::yield_!(cx.time("nap", ttk::sleep(Duration::from_secs(10))));
    ///     }
    /// }
    ///
    /// // An hour of virtual time, at once: 6 bots × 360 naps.
    /// let test = LoadTest::try_from_args("naps", ["naps", "--bots", "6", "--duration", "1h", "--quiet"]);
    /// let outcome = test.unwrap().run_with(Runtime::new().virtual_time(true), sleeper);
    /// assert_eq!(outcome.report.transaction("nap").unwrap().ok, 6 * 360);
    /// assert_eq!(outcome.report.run.duration_s, 3600.0);
    /// ```
    pub fn run_with<M, W, F, B>(self, runtime: Runtime<W>, mut factory: F) -> RunOutcome
    where
        M: 'static,
        W: 'static,
        F: FnMut(Cx<M, W>, Session) -> B,
        B: Future,
        B::Output: TransactionOutput,
    {
        if let Err(problem) = self.check() {
            eprintln!("{}: {problem}", self.name);
            return RunOutcome {
                report: Report::new(&self.name),
                code: BAD_COMMAND_LINE,
            };
        }
        let args = &self.args;
        let mut report = Report::new(&self.name);
        report.run.parameters = self.parameters();
        report.run.started_unix_s = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |since| since.as_secs_f64());

        let plan = self.plan();
        let intended = IntendedStarts::default();
        let run_start = RunStart::default();
        let mut runtime = runtime.seed(args.seed);
        if let Some(deadline) = plan.deadline {
            runtime = runtime.deadline(deadline);
        }
        if let Some(rate) = &args.rate {
            runtime = runtime.source(RateSource::new(
                rate.clone(),
                plan.load_for,
                Rc::clone(&intended),
                Rc::clone(&run_start),
            ));
        } else if let Some(ramp) = &args.ramp_up {
            runtime = runtime.source(RampSource::new(
                ramp.clone(),
                args.bots,
                plan.load_for,
                Rc::clone(&run_start),
            ));
        }

        let (sender, receiver) = mpsc::channel();
        let runtime = runtime.metrics(move |snapshot| {
            // The collector only goes away if it panicked: the run goes on without it.
            let _ = sender.send(snapshot);
        });
        let (quiet, total) = (args.quiet, plan.load_for);
        let collector = std::thread::Builder::new()
            .name("ttk-report".to_owned())
            .spawn(move || collect(report, receiver, quiet, total))
            .expect("a thread for the report");
        let interrupts = match Interrupts::watch(runtime.stop_handle()) {
            Ok(interrupts) => Some(interrupts),
            Err(error) => {
                eprintln!("warning: Ctrl-C will not stop the run gracefully: {error}");
                None
            }
        };

        let target: Option<Rc<str>> = args.target.as_deref().map(Rc::from);
        let tally = RefCell::new(BotTally::default());
        // When load stops, on the loop's clock: from the run's start (as the source saw it, or
        // when the first bot is made, at the start of a run without a source).
        let load_until: Cell<Option<Option<Instant>>> = Cell::new(None);
        let wall_start = Instant::now();
        let summary = runtime.execute_each(
            plan.first_bots,
            |cx: Cx<M, W>, id| {
                let until = match load_until.get() {
                    Some(until) => until,
                    None => {
                        let start = run_start.get().unwrap_or_else(crate::now);
                        let until = plan
                            .load_for
                            .and_then(|load_for| start.checked_add(load_for));
                        load_until.set(Some(until));
                        until
                    }
                };
                let intended_start = intended.borrow_mut().pop_front();
                if let Some(at) = intended_start {
                    cx.measure_from(at);
                }
                let session = Session {
                    id,
                    target: target.clone(),
                    iterations: plan.iterations,
                    // An open-model session that arrived in time runs its iterations, however
                    // late it gets to them: it is one of the slowest, and must be counted.
                    until: if intended_start.is_some() {
                        None
                    } else {
                        until
                    },
                    intended_start,
                };
                factory(cx, session)
            },
            |_, outcome| tally_bot(&mut tally.borrow_mut(), outcome),
        );
        let wall = wall_start.elapsed();
        let interrupted = interrupts.as_ref().is_some_and(Interrupts::interrupted);

        let (mut report, loop_elapsed, collected) = match collector.join() {
            Ok((report, loop_elapsed)) => (report, loop_elapsed, true),
            Err(_) => (Report::new(&self.name), 0.0, false),
        };
        report.run.parameters = self.parameters();
        // Rates are per second of the loop's clock (virtual under a virtual clock).
        report.run.duration_s = match loop_elapsed > 0.0 {
            true => loop_elapsed,
            false => wall.as_secs_f64(),
        };
        let mut tally = tally.into_inner();
        tally.started = summary.bots_started as u64;
        let stopped = tally.stopped;
        report.bots = tally;
        let (end, detail) = match (&summary.end, interrupted) {
            (RunEnd::Failed(error), _) => ("failed", Some(error.to_string())),
            (_, true) | (RunEnd::Stopped, _) => ("interrupted", None),
            // Every bot done once load stopped: the run made load for its whole duration. (Open
            // model sessions arrive until the end of it, the last one up to a gap before.)
            (RunEnd::Completed, _)
                if plan.load_for.is_some_and(|load_for| {
                    args.rate.is_some() || loop_elapsed + 0.001 >= load_for.as_secs_f64()
                }) =>
            {
                ("duration", None)
            }
            (RunEnd::Completed, _) => ("completed", None),
            (RunEnd::DeadlineReached, _) => (
                "duration",
                (stopped > 0).then(|| {
                    format!(
                        "{stopped} bots still running after the {} grace period were stopped",
                        humantime::format_duration(self.args.grace)
                    )
                }),
            ),
            (RunEnd::Stalled, _) => (
                "stalled",
                Some("every bot left waited for something nothing could do".to_owned()),
            ),
            (_, false) => ("failed", Some(format!("{:?}", summary.end))),
        };
        report.run.end = end.to_owned();
        report.run.end_detail = match collected {
            true => detail,
            false => Some("the report's collector failed: the figures are missing".to_owned()),
        };
        let passed = report.check_thresholds(&self.args.thresholds);
        println!("{}", report.summary());
        let written = self.write_reports(&report);
        // Kept until the reports are written: a first Ctrl-C meanwhile does not cut them, and
        // still makes the exit code say interrupted.
        let interrupted = interrupts.as_ref().is_some_and(Interrupts::interrupted);
        drop(interrupts);
        let code = if end == "interrupted" || interrupted {
            INTERRUPTED
        } else if matches!(end, "failed" | "stalled") || !written || !collected {
            RUN_FAILED
        } else if !passed {
            THRESHOLD_FAILED
        } else {
            PASSED
        };
        RunOutcome { report, code }
    }

    /// What must hold before a run starts: a length for the open model, and places for the
    /// reports (their directories are made if missing).
    fn check(&self) -> Result<(), String> {
        let args = &self.args;
        if let Some(rate) = &args.rate
            && rate.total_duration().is_none()
            && args.duration.is_none()
        {
            return Err(format!(
                "--rate {rate} runs until told to stop: give --duration, or a length to its last stage"
            ));
        }
        for path in [&args.json, &args.html].into_iter().flatten() {
            if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|error| {
                    format!(
                        "cannot make {} for {}: {error}",
                        dir.display(),
                        path.display()
                    )
                })?;
            }
        }
        Ok(())
    }

    fn plan(&self) -> Plan {
        let args = &self.args;
        if let Some(rate) = &args.rate {
            let load_for = args.duration.or(rate.total_duration());
            return Plan {
                first_bots: 0,
                load_for,
                deadline: load_for.map(|load_for| load_for.saturating_add(args.grace)),
                iterations: Some(args.iterations.unwrap_or(1)),
            };
        }
        let iterations = match (args.iterations, args.duration) {
            (Some(iterations), _) => Some(iterations),
            (None, Some(_)) => None,
            (None, None) => Some(1),
        };
        Plan {
            first_bots: if args.ramp_up.is_some() { 0 } else { args.bots },
            load_for: args.duration,
            deadline: args
                .duration
                .map(|duration| duration.saturating_add(args.grace)),
            iterations,
        }
    }

    fn parameters(&self) -> Parameters {
        let args = &self.args;
        let bots = match (&args.rate, &args.ramp_up) {
            (Some(_), _) => None,
            (None, Some(ramp)) => Some(ramp.bots(args.bots) as u64),
            (None, None) => Some(args.bots as u64),
        };
        Parameters {
            bots,
            ramp_up: args.ramp_up.as_ref().map(|ramp| ramp.to_string()),
            duration: args
                .duration
                .map(|duration| humantime::format_duration(duration).to_string()),
            rate: args.rate.as_ref().map(|rate| rate.to_string()),
            iterations: args.iterations,
            seed: args.seed,
            target: args.target.clone(),
            command_line: self.command_line.clone(),
        }
    }

    /// Writes the reports asked for; says where, or why not.
    fn write_reports(&self, report: &Report) -> bool {
        let mut written = true;
        let mut write = |what: &str, path: &Path, result: Result<(), String>| match result {
            Ok(()) => println!("{what} report: {}", path.display()),
            Err(error) => {
                eprintln!("error: the {what} report was not written: {error}");
                written = false;
            }
        };
        if let Some(path) = &self.args.json {
            write(
                "JSON",
                path,
                report.write_json(path).map_err(|e| e.to_string()),
            );
        }
        if let Some(path) = &self.args.html {
            write(
                "HTML",
                path,
                report.write_html(path).map_err(|e| e.to_string()),
            );
        }
        written
    }
}

/// The collector thread: adds up the snapshots, shows the progress, returns the report and the
/// run's length on the loop's clock.
fn collect(
    report: Report,
    snapshots: mpsc::Receiver<MetricsSnapshot>,
    quiet: bool,
    total: Option<Duration>,
) -> (Report, f64) {
    let progress = Progress::new(quiet, total);
    let mut collector = Collector::new(report);
    let mut errors = 0;
    for snapshot in snapshots {
        errors += snapshot.transactions.iter().map(|t| t.failed).sum::<u64>();
        let last = snapshot.last;
        let second = collector.add(snapshot);
        if !last {
            progress.show(second, total, errors);
        }
    }
    progress.finish();
    collector.finish()
}

/// Counts how a bot ended.
fn tally_bot<T: TransactionOutput>(tally: &mut BotTally, outcome: Result<T, crate::BotError>) {
    match outcome {
        Ok(output) => match output.failure() {
            None => tally.finished += 1,
            Some(failure) => {
                tally.failed += 1;
                add_bot_error(&mut tally.errors, &failure.kind(), failure.message());
            }
        },
        Err(error) => match error.kind() {
            BotErrorKind::Stopped => tally.stopped += 1,
            BotErrorKind::Stalled => {
                tally.failed += 1;
                add_bot_error(&mut tally.errors, "stalled", error.to_string());
            }
            BotErrorKind::Panicked(message) => {
                tally.failed += 1;
                add_bot_error(&mut tally.errors, "panicked", message.clone());
            }
            _ => {
                tally.failed += 1;
                add_bot_error(&mut tally.errors, "failed", error.to_string());
            }
        },
    }
}
