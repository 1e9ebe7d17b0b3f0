//! Running a load test: the shape of the run, the collector thread, the end of the run (the
//! summary, thresholds, reports and exit code).

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::rc::Rc;
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ttk_core::MetricsSnapshot;
use ttk_core::metrics::TransactionOutput;
use ttk_report::{BotTally, Parameters, Report, Shard};

use super::codes::{BAD_COMMAND_LINE, INTERRUPTED, PASSED, RUN_FAILED, THRESHOLD_FAILED};
use super::collector::{Collector, add_bot_error};
use super::progress::Progress;
use super::report_files::write_reports;
use super::session::Session;
use super::shape::{IntendedStarts, RampSource, RateSource, RunStart};
use super::shard::{StartAt, derived_run_id, fresh_run_id};
use super::signals::Interrupts;
use super::{LoadTest, RunOutcome};
use crate::{BotErrorKind, Cx, IdSlice, RunEnd, Runtime};

/// How a run goes: bots at the start, how long load is made, when the run stops at the latest,
/// and each bot's iterations.
pub(crate) struct Plan {
    first_bots: usize,
    pub(crate) load_for: Option<Duration>,
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
        if let Some(merge) = &self.merge {
            return merge.run(&self.name);
        }
        if let Some(processes) = self.args.processes {
            return super::processes::run(&self, processes);
        }
        let args = &self.args;
        let run_id = self.run_id();
        let mut report = Report::new(&self.name);
        report.run.parameters = self.parameters();

        let plan = self.plan();
        let slice = self.id_slice();
        let intended = IntendedStarts::default();
        let run_start = RunStart::default();
        let mut runtime = runtime.seed(args.seed).ids(slice);
        if let Some(deadline) = plan.deadline {
            runtime = runtime.deadline(deadline);
        }
        if let Some(rate) = &args.rate {
            runtime = runtime.source(RateSource::new(
                rate.clone(),
                (slice.lane() as u64, slice.lanes() as u64),
                plan.load_for,
                Rc::clone(&intended),
                Rc::clone(&run_start),
            ));
        } else if let Some(ramp) = &args.ramp_up {
            runtime = runtime.source(RampSource::new(
                ramp.clone(),
                args.bots,
                slice.first_ids(),
                plan.load_for,
                Rc::clone(&run_start),
            ));
        }

        let (sender, receiver) = mpsc::channel();
        let runtime = runtime.metrics(move |snapshot| {
            // The collector only goes away if it panicked: the run goes on without it.
            let _ = sender.send(snapshot);
        });
        let progress = Progress::new(args.quiet, args.progress_lines, plan.load_for);
        let total = plan.load_for;
        let collector = std::thread::Builder::new()
            .name("ttk-report".to_owned())
            .spawn(move || collect(report, receiver, progress, total))
            .expect("a thread for the report");
        let interrupts = match Interrupts::watch(runtime.stop_handle()) {
            Ok(interrupts) => Some(interrupts),
            Err(error) => {
                eprintln!("warning: Ctrl-C will not stop the run gracefully: {error}");
                None
            }
        };

        if let Some(start_at) = &args.start_at {
            wait_for_start(start_at, interrupts.as_ref(), args.progress_lines);
        }
        let started_unix_s = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |since| since.as_secs_f64());

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
        report.run.started_unix_s = started_unix_s;
        report.run.run_id = run_id;
        report.run.shard = args.shard.map(|shard| Shard {
            index: shard.index,
            count: shard.count,
        });
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
        // A child of --processes leaves the summary to its parent (its stdout is the parent's
        // progress stream).
        if !args.progress_lines {
            println!("{}", report.summary());
        }
        let written = write_reports(
            &report,
            args.json.as_deref(),
            args.html.as_deref(),
            !args.progress_lines,
        );
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

    /// Which of the run's bot ids this process runs: a shard's, or all of them.
    pub(crate) fn id_slice(&self) -> IdSlice {
        let args = &self.args;
        let planned = match (&args.rate, &args.ramp_up) {
            (Some(_), _) => 0,
            (None, Some(ramp)) => ramp.bots(args.bots),
            (None, None) => args.bots,
        };
        let slice = match args.shard {
            None => IdSlice::whole(),
            Some(shard) => IdSlice::new(shard.index as usize, shard.count as usize)
                .expect("--shard was checked"),
        };
        slice.planned(planned)
    }

    /// The run id: as given, derived from the parameters for a shard (so its sibling shards
    /// derive the same), or fresh.
    pub(crate) fn run_id(&self) -> String {
        let args = &self.args;
        if let Some(id) = &args.run_id {
            return id.clone();
        }
        if args.shard.is_none() {
            return fresh_run_id(&self.name);
        }
        let mut parameters = self.parameters();
        parameters.command_line.clear();
        derived_run_id(
            &self.name,
            &serde_json::to_string(&parameters).expect("parameters serialize"),
        )
    }

    pub(crate) fn plan(&self) -> Plan {
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
            first_bots: match args.ramp_up {
                Some(_) => 0,
                None => self.id_slice().first_ids().len(),
            },
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
            start_at: args.start_at.as_ref().map(|at| at.as_str().to_owned()),
            command_line: self.command_line.clone(),
        }
    }
}

/// The collector thread: adds up the snapshots, shows the progress, returns the report and the
/// run's length on the loop's clock.
fn collect(
    report: Report,
    snapshots: mpsc::Receiver<MetricsSnapshot>,
    progress: Progress,
    total: Option<Duration>,
) -> (Report, f64) {
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

/// Waits until `start_at`, saying so (unless the parent of --processes reads the output); an
/// interrupt ends the wait (the run then stops at once).
fn wait_for_start(start_at: &StartAt, interrupts: Option<&Interrupts>, quiet: bool) {
    let wait = start_at.wait();
    if wait.is_zero() {
        let late = SystemTime::now()
            .duration_since(start_at.time())
            .unwrap_or_default();
        if late > Duration::from_secs(1) {
            eprintln!(
                "warning: --start-at {start_at} passed {} ago; starting now",
                humantime::format_duration(Duration::from_secs(late.as_secs()))
            );
        }
        return;
    }
    if !quiet {
        eprintln!(
            "waiting {} to start at {start_at}",
            humantime::format_duration(Duration::from_millis(wait.as_millis() as u64))
        );
    }
    let deadline = Instant::now() + wait;
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        if left.is_zero() || interrupts.is_some_and(Interrupts::interrupted) {
            return;
        }
        std::thread::sleep(left.min(Duration::from_millis(50)));
    }
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
