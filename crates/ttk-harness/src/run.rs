//! Running a load test: `run` and `run_parallel` (and their `_with` kin), on one loop or on
//! workers, around a [`Launch`]; or, when the command line asks for it, a merge or a run as
//! several processes instead. The plan comes from `plan`, the collector and the end of the run
//! from `launch`.

use std::cell::RefCell;
use std::future::Future;
use std::sync::Arc;
use std::sync::Mutex;

use ttk_core::metrics::TransactionOutput;
use ttk_report::{BotTally, Report};

use super::codes::BAD_COMMAND_LINE;
use super::launch::{Launch, LoadTestParts, WORKER_SESSIONS, tally_bot};
use super::plan::{Loops, Plan};
use super::session::Session;
use super::{LoadTest, RunOutcome};
use ttk_core::{BotError, Cx, RunEnd, Runtime};

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
    /// use ttk::harness::{LoadTest, Session};
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
    ///
    /// // `run` is one loop (its factory need not be Send): several are `run_parallel`'s.
    /// let test = LoadTest::try_from_args("visits", ["visits", "--workers", "2", "--quiet"]);
    /// assert_eq!(test.unwrap().run(visitor).code, 2);
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
    /// use ttk::harness::{LoadTest, Session};
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
    pub fn run_with<M, W, F, B>(self, runtime: Runtime<W>, factory: F) -> RunOutcome
    where
        M: 'static,
        W: 'static,
        F: FnMut(Cx<M, W>, Session) -> B,
        B: Future,
        B::Output: TransactionOutput,
    {
        self.run_one_loop(runtime, factory, |_, _| {}).0
    }

    /// [`LoadTest::run_with`], handing each bot's output, as it ends, to `keep`; returns the
    /// outcome, and the world if the bots ran here.
    pub(crate) fn run_one_loop<M, W, F, B>(
        self,
        runtime: Runtime<W>,
        mut factory: F,
        mut keep: impl FnMut(usize, Result<B::Output, BotError>),
    ) -> (RunOutcome, Option<W>)
    where
        M: 'static,
        W: 'static,
        F: FnMut(Cx<M, W>, Session) -> B,
        B: Future,
        B::Output: TransactionOutput,
    {
        if let Some(outcome) = self.instead_of_running(Loops::One) {
            return (outcome, None);
        }
        let plan = self.plan();
        let mut runtime = runtime.seed(self.args.seed).ids(self.id_slice());
        if let Some(deadline) = plan.deadline {
            runtime = runtime.deadline(deadline);
        }
        let launch = Launch::start(&self, &plan, runtime.stop_handle(), 1);
        if launch.stopped_before_start() {
            let outcome = launch.finish(&self, &plan, &RunEnd::Stopped, 0, BotTally::default());
            return (outcome, None);
        }
        let (runtime, sessions) = Launch::loop_runtime(
            launch.snapshots(),
            0,
            &self.parts(&plan, &launch, 1),
            runtime,
        );
        let tally = RefCell::new(BotTally::default());
        let summary = runtime.execute_each(
            plan.first_bots,
            |cx: Cx<M, W>, id| {
                let session = sessions.session(&cx, id);
                factory(cx, session)
            },
            |id, outcome| {
                tally_bot(&mut tally.borrow_mut(), &outcome);
                keep(id, outcome);
            },
        );
        let outcome = launch.finish(
            &self,
            &plan,
            &summary.end,
            summary.bots_started,
            tally.into_inner(),
        );
        (outcome, Some(summary.world))
    }

    /// Runs the test on several workers — `--workers N` loops on as many threads, one per
    /// core by default — with the bots `factory(cx, session)`, shaped by the command line, as
    /// [`LoadTest::run`] does on one. The factory is shared by the workers, so it is
    /// `Send + Sync` (a function, or a closure holding plain data such as the target's
    /// address); the bots it makes need not be `Send`. Messages cross threads, so they are
    /// `Send`; see [`Workers`](ttk_core::Workers) for what changes on several loops (groups live
    /// on one loop; each loop has its own world and clock).
    ///
    /// # Examples
    /// ```
    /// use ttk::harness::{LoadTest, Session};
    /// use ttk::Cx;
    ///
    /// #[ttk::bot]
    /// fn visitor(cx: Cx, session: Session) {
    ///     for _ in session.iterations() {
    ///         cx.transaction("visit").ok();
    ///         ttk::yield_!();
    ///     }
    /// }
    ///
    /// let args = ["visits", "--bots", "100", "--iterations", "3", "--workers", "2", "--quiet"];
    /// let outcome = LoadTest::try_from_args("visits", args).unwrap().run_parallel(visitor);
    /// assert_eq!(outcome.report.transaction("visit").unwrap().ok, 300);
    /// assert_eq!(outcome.report.bots.started, 100);
    /// assert_eq!(outcome.code, 0);
    /// ```
    pub fn run_parallel<M, F, B>(self, factory: F) -> RunOutcome
    where
        M: Send + 'static,
        F: Fn(Cx<M>, Session) -> B + Send + Sync,
        B: Future,
        B::Output: TransactionOutput,
    {
        self.run_parallel_with(Runtime::new(), factory)
    }

    /// Like [`LoadTest::run_parallel`], on a runtime set up by the test: its clock (a virtual
    /// clock runs on each loop) and its world, copied to each worker. The harness sets the
    /// seed, deadline, sources and metrics sinks.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// use ttk::harness::{LoadTest, Session};
    /// use ttk::{Cx, Runtime};
    ///
    /// #[ttk::bot]
    /// fn sleeper(cx: Cx, session: Session) {
    ///     for _ in session.iterations() {
    ///         let _: () = ttk::yield_!(cx.time("nap", ttk::sleep(Duration::from_secs(10))));
    ///     }
    /// }
    ///
    /// // An hour of virtual time on each of 2 workers, at once: 6 bots × 360 naps.
    /// let args = ["naps", "--bots", "6", "--duration", "1h", "--workers", "2", "--quiet"];
    /// let test = LoadTest::try_from_args("naps", args).unwrap();
    /// let outcome = test.run_parallel_with(Runtime::new().virtual_time(true), sleeper);
    /// assert_eq!(outcome.report.transaction("nap").unwrap().ok, 6 * 360);
    /// ```
    pub fn run_parallel_with<M, W, F, B>(self, runtime: Runtime<W>, factory: F) -> RunOutcome
    where
        M: Send + 'static,
        W: Clone + Send + 'static,
        F: Fn(Cx<M, W>, Session) -> B + Send + Sync,
        B: Future,
        B::Output: TransactionOutput,
    {
        self.run_workers(runtime, factory, |_, _| {}).0
    }

    /// [`LoadTest::run_parallel_with`], handing each bot's output, as it ends on its worker's
    /// thread, to `keep`; returns the outcome, and each worker's world if the bots ran here.
    pub(crate) fn run_workers<M, W, F, B>(
        self,
        runtime: Runtime<W>,
        factory: F,
        keep: impl Fn(usize, Result<B::Output, BotError>) + Send + Sync,
    ) -> (RunOutcome, Option<Vec<W>>)
    where
        M: Send + 'static,
        W: Clone + Send + 'static,
        F: Fn(Cx<M, W>, Session) -> B + Send + Sync,
        B: Future,
        B::Output: TransactionOutput,
    {
        if let Some(outcome) = self.instead_of_running(Loops::Parallel) {
            return (outcome, None);
        }
        let plan = self.plan();
        let mut runtime = runtime.seed(self.args.seed).ids(self.id_slice());
        if let Some(deadline) = plan.deadline {
            runtime = runtime.deadline(deadline);
        }
        let workers = runtime.workers(self.args.workers.unwrap_or(0));
        let launch = Launch::start(&self, &plan, workers.stop_handle(), workers.count());
        if launch.stopped_before_start() {
            let outcome = launch.finish(&self, &plan, &RunEnd::Stopped, 0, BotTally::default());
            return (outcome, None);
        }
        let snapshots = Mutex::new(launch.snapshots());
        let parts = self.parts(&plan, &launch, workers.count());
        let workers = workers.each_loop(move |worker, runtime| {
            let snapshots = snapshots
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .clone();
            let (runtime, sessions) = Launch::loop_runtime(snapshots, worker, &parts, runtime);
            WORKER_SESSIONS.with(|slot| *slot.borrow_mut() = Some(sessions));
            runtime
        });
        let tally = Mutex::new(BotTally::default());
        let summary = workers.execute_each(
            plan.first_bots_of_all,
            |cx: Cx<M, W>, id| {
                let session = WORKER_SESSIONS.with(|slot| {
                    slot.borrow()
                        .as_ref()
                        .expect("each worker's loop has its sessions")
                        .session(&cx, id)
                });
                factory(cx, session)
            },
            |id, outcome| {
                tally_bot(
                    &mut tally
                        .lock()
                        .unwrap_or_else(|poisoned| poisoned.into_inner()),
                    &outcome,
                );
                keep(id, outcome);
            },
        );
        let tally = tally
            .into_inner()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let outcome = launch.finish(&self, &plan, &summary.end, summary.bots_started, tally);
        (outcome, Some(summary.world))
    }

    /// What the command line asks for instead of a run here, by a test that runs on `loops`:
    /// a merge, a run as several processes, or nothing (a bad command line) — with its outcome.
    fn instead_of_running(&self, loops: Loops) -> Option<RunOutcome> {
        if let Some(merge) = &self.merge {
            return Some(merge.run(&self.name, self.require_success));
        }
        if loops == Loops::One && self.args.workers.is_some_and(|workers| workers != 1) {
            eprintln!(
                "{}: --workers: this test runs on one loop (LoadTest::run); a test whose bot \
                 factory is Send + Sync runs on several with LoadTest::run_parallel",
                self.name
            );
            return Some(self.failed(BAD_COMMAND_LINE));
        }
        if let Err(problem) = self.check() {
            eprintln!("{}: {problem}", self.name);
            return Some(self.failed(BAD_COMMAND_LINE));
        }
        if let Some(processes) = self.args.processes {
            return Some(super::processes::run(self, processes, loops));
        }
        None
    }

    /// The outcome of a run that could not be made.
    fn failed(&self, code: u8) -> RunOutcome {
        RunOutcome::new(Report::new(&self.name), code)
    }

    /// What each loop needs of the test.
    fn parts(&self, plan: &Plan, launch: &Launch, loops: usize) -> LoadTestParts {
        LoadTestParts {
            control: launch.control(),
            loops,
            bots: self.args.bots,
            ramp_up: self.args.ramp_up.clone(),
            rate: self.args.rate.clone(),
            load_for: plan.load_for,
            iterations: plan.iterations,
            target: self.args.target.clone(),
            // Both were checked when the flags were read.
            sources: self
                .args
                .local_ips
                .as_ref()
                .and_then(|pool| pool.parse().ok())
                .map(Arc::new),
            net: self
                .args
                .net
                .as_ref()
                .and_then(|mix| mix.parse().ok())
                .map(Arc::new),
        }
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
}
