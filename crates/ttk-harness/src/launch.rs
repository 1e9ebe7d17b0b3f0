//! What a run of the harness is made of, whatever runs it (one loop or several workers): the
//! collector and the interrupts around the run, each loop's sources and sessions, and the end.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ttk_core::MetricsSnapshot;
use ttk_core::metrics::TransactionOutput;
use ttk_report::{BotTally, Report, SecondReport, Shard};

use super::codes::{INTERRUPTED, PASSED, RUN_FAILED, THRESHOLD_FAILED};
use super::collector::add_bot_error;
use super::control::{Control, ControlSource, Model};
use super::live::Live;
use super::live::server::Server;
use super::out::print_line;
use super::plan::Plan;
use super::progress::Progress;
use super::report_files::write_reports;
use super::seconds_shown::SecondsShown;
use super::session::Session;
use super::shape::{IntendedStarts, RampSource, RateSource, RunStart};
use super::shard::StartAt;
use super::signals::Interrupts;
use super::success::{explain, fails_for_nothing_succeeded};
use super::{LoadTest, RunOutcome};
use ttk_core::{BotErrorKind, Cx, RunEnd, Runtime, StopHandle};

/// How many seconds of snapshots (each a second of one loop's histograms) may wait for the
/// collector, per loop.
const SECONDS_QUEUED: usize = 2;

/// A run under way: its report's collector, its interrupts, when it started.
pub(crate) struct Launch {
    run_id: String,
    snapshots: mpsc::SyncSender<(usize, MetricsSnapshot)>,
    collector: JoinHandle<(Report, f64)>,
    interrupts: Option<Interrupts>,
    started_unix_s: f64,
    wall_start: Instant,
    /// Stopped while it waited for `--start-at`: no bot is to run.
    stopped_before_start: bool,
    /// The report in the making, shared with the servers.
    live: Arc<Live>,
    /// `--dashboard` and `--metrics`, serving `live`.
    servers: Vec<Server>,
    /// Live control, with a dashboard (and a duration).
    control: Option<Arc<Control>>,
    /// `--remote-write`, pushing `live`.
    pusher: Option<super::live::remote_write::Pusher>,
}

impl Launch {
    /// Starts the collector (combining `loops` loops' seconds) and the interrupts (stopping
    /// the run through `stop`), and waits for `--start-at`.
    pub(crate) fn start<A>(
        test: &LoadTest<A>,
        plan: &Plan,
        stop: StopHandle,
        loops: usize,
    ) -> Launch {
        let args = &test.args;
        let mut report = Report::new(&test.name);
        report.run.parameters = test.parameters();
        // Once: a run without a shard gets a fresh id each time it is asked for one.
        let run_id = test.run_id();
        report.run.run_id = run_id.clone();
        report.run.shard = args.shard.map(|shard| Shard {
            index: shard.index,
            count: shard.count,
        });
        // A run whose load has a length can be changed as it goes, from its dashboard (the
        // parent of --processes controls its children).
        let steered = (args.dashboard.is_some() && !args.progress_lines) || args.control_stdin;
        let control = (steered && plan.load_for.is_some()).then(|| {
            let model = match args.rate {
                Some(_) => Model::Open,
                None => Model::Closed,
            };
            Arc::new(
                Control::new(model, test.control_refused.clone())
                    .with_most_bots(test.most_control_bots.clone()),
            )
        });
        let live = Live::new(report, control.clone());
        if args.control_stdin
            && let Some(control) = &control
        {
            super::control::follow_stdin(Arc::clone(control));
        }
        let servers = super::live::serve(args, &live, control.as_ref());
        let pusher = super::live::push(args, &live);
        // Bounded: a loop that outruns the collector (a virtual clock, or a collector starved
        // of CPU) waits for it rather than queueing seconds of histograms without end.
        let (snapshots, received) = mpsc::sync_channel(SECONDS_QUEUED * loops.max(1));
        let progress = Progress::new(args.quiet, args.progress_lines, plan.load_for);
        let total = plan.load_for;
        let collecting = Arc::clone(&live);
        let collector = std::thread::Builder::new()
            .name("ttk-report".to_owned())
            .spawn(move || collect(&collecting, received, progress, total, loops))
            .expect("a thread for the report");
        let interrupts = match Interrupts::watch(stop) {
            Ok(interrupts) => Some(interrupts),
            Err(error) => {
                eprintln!("warning: Ctrl-C will not stop the run gracefully: {error}");
                None
            }
        };
        let stopped_before_start = args.start_at.as_ref().is_some_and(|start_at| {
            wait_for_start(start_at, interrupts.as_ref(), args.progress_lines) == Wait::Stopped
        });
        // A shard stopped before its start reports the start it was given, not the moment it
        // was stopped: its report then lines up with its siblings' in a merge, instead of
        // moving the run's start (and every other shard's seconds) to the kill.
        let started = match (&args.start_at, stopped_before_start) {
            (Some(start_at), true) => start_at.time(),
            _ => SystemTime::now(),
        };
        let started_unix_s = started
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |since| since.as_secs_f64());
        live.with_collector(|collector| collector.set_started(started_unix_s));
        if let Some(control) = &control {
            // Changes are timed from the load's start, not from before a --start-at wait.
            control.restart_clock();
        }
        Launch {
            live,
            servers,
            control,
            pusher,
            run_id,
            snapshots,
            collector,
            interrupts,
            started_unix_s,
            wall_start: Instant::now(),
            stopped_before_start,
        }
    }

    /// Whether a signal came while the run waited for `--start-at`: then no bot runs, and
    /// [`Launch::finish`] is called at once, with no bot started.
    pub(crate) fn stopped_before_start(&self) -> bool {
        self.stopped_before_start
    }

    /// Sets up loop `worker`'s runtime (whose [`ids`](Runtime::ids) are set): its source of
    /// bots and its metrics sink; returns it with what its sessions are made from.
    pub(crate) fn loop_runtime<W: 'static>(
        snapshots: mpsc::SyncSender<(usize, MetricsSnapshot)>,
        worker: usize,
        test: &LoadTestParts,
        runtime: Runtime<W>,
    ) -> (Runtime<W>, LoopSessions) {
        let slice = runtime.id_slice();
        let sessions = LoopSessions::new(test);
        let mut runtime = runtime;
        if let Some(rate) = &test.rate {
            let source = RateSource::new(
                rate.clone(),
                (slice.arrival_lane() as u64, slice.lanes() as u64),
                test.load_for,
                Rc::clone(&sessions.intended),
                Rc::clone(&sessions.run_start),
            );
            runtime = match &test.control {
                Some(control) => runtime.source(source.controlled_by(Arc::clone(control))),
                None => runtime.source(source),
            };
        } else {
            let ramp = test.ramp_up.as_ref().map(|ramp| {
                Box::new(RampSource::new(
                    ramp.clone(),
                    test.bots,
                    slice.first_ids(),
                    test.load_for,
                    Rc::clone(&sessions.run_start),
                )) as Box<dyn ttk_core::BotSource>
            });
            match (&test.control, test.load_for) {
                (Some(control), Some(load_for)) => {
                    runtime = runtime.source(ControlSource::new(
                        ramp,
                        Arc::clone(control),
                        (worker, test.loops),
                        Rc::clone(&sessions.stops),
                        Rc::clone(&sessions.run_start),
                        load_for,
                    ));
                }
                _ => {
                    if let Some(ramp) = ramp {
                        runtime = runtime.source(BoxedSource(ramp));
                    }
                }
            }
        }
        let mut runtime = runtime.metrics(move |snapshot| {
            // The collector only goes away if it panicked: the run goes on without it.
            let _ = snapshots.send((worker, snapshot));
        });
        // The run's own: another run in this process (a server it tests, a test beside it)
        // keeps its sockets as they are.
        if let Some(sources) = &test.sources {
            runtime = runtime.extension(Arc::clone(sources));
        }
        if let Some(net) = &test.net {
            runtime = runtime.extension(Arc::clone(net));
        }
        (runtime, sessions)
    }

    /// Live control, if the run has it.
    pub(crate) fn control(&self) -> Option<Arc<Control>> {
        self.control.clone()
    }

    /// A sender of snapshots, for one more loop.
    pub(crate) fn snapshots(&self) -> mpsc::SyncSender<(usize, MetricsSnapshot)> {
        self.snapshots.clone()
    }

    /// Ends the run: the report (figures, end, bots), the summary, the reports written, the
    /// exit code.
    pub(crate) fn finish<A>(
        self,
        test: &LoadTest<A>,
        plan: &Plan,
        end: &RunEnd,
        bots_started: usize,
        tally: BotTally,
    ) -> RunOutcome {
        let args = &test.args;
        let Launch {
            live,
            servers,
            control,
            pusher,
            run_id,
            snapshots,
            collector,
            interrupts,
            started_unix_s,
            wall_start,
            stopped_before_start,
        } = self;
        let wall = wall_start.elapsed();
        let interrupted = interrupts.as_ref().is_some_and(Interrupts::interrupted);
        // The loops' senders are gone with their runs: this last one ends the collector.
        drop(snapshots);
        let (mut report, loop_elapsed, collected) = match collector.join() {
            Ok((report, loop_elapsed)) => (report, loop_elapsed, true),
            Err(_) => (Report::new(&test.name), 0.0, false),
        };
        report.run.parameters = test.parameters();
        report.run.started_unix_s = started_unix_s;
        if let Some(control) = &control {
            report.run.changes = control.made();
        }
        // Gauges were timed on the loops' clock: from the start, onto the wall clock.
        let started_unix_ms = (started_unix_s * 1_000.0).round() as u64;
        for gauge in report.gauges.values_mut() {
            if gauge.last_set_unix_ms > 0 {
                gauge.last_set_unix_ms += started_unix_ms;
            }
        }
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
        let mut tally = tally;
        tally.started = bots_started as u64;
        let stopped = tally.stopped;
        report.bots = tally;
        let (end, detail) = match (end, interrupted) {
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
                        humantime::format_duration(args.grace)
                    )
                }),
            ),
            (RunEnd::Stalled, _) => (
                "stalled",
                Some("every bot left waited for something nothing could do".to_owned()),
            ),
            (_, false) => ("failed", Some(format!("{end:?}"))),
        };
        report.run.end = end.to_owned();
        report.run.end_detail = match collected {
            true => detail,
            false => Some("the report's collector failed: the figures are missing".to_owned()),
        };
        if stopped_before_start {
            report.run.duration_s = 0.0;
            report.run.end_detail =
                Some("stopped while it waited for --start-at: no bot ran".to_owned());
        }
        let passed = report.check_thresholds(&args.thresholds);
        report.run.success_optional = !test.require_success;

        // A child of --processes leaves the summary to its parent (its stdout is the parent's
        // progress stream).
        if !args.progress_lines {
            print_line(report.summary());
        }
        let written = write_reports(
            &report,
            args.json.as_deref(),
            args.html.as_deref(),
            !args.progress_lines,
        );
        let nothing_succeeded =
            fails_for_nothing_succeeded(&report, args.thresholds.len(), test.require_success);
        // A child of --processes leaves the verdict's reason to its parent, which judges the
        // merged report.
        if let Some(why) = nothing_succeeded.as_deref()
            && !args.progress_lines
        {
            explain(why);
        }
        // Kept until the reports are written: a first Ctrl-C meanwhile does not cut them, and
        // still makes the exit code say interrupted.
        let interrupted = interrupts.as_ref().is_some_and(Interrupts::interrupted);
        drop(interrupts);
        if !servers.is_empty() || pusher.is_some() {
            live.set_final(report.clone());
        }
        // The last push carries the final report.
        if let Some(pusher) = pusher {
            pusher.finish();
        }
        super::live::linger(&servers, args.dashboard_linger);
        drop(servers);
        let code = if end == "interrupted" || interrupted {
            INTERRUPTED
        } else if matches!(end, "failed" | "stalled") || !written || !collected {
            RUN_FAILED
        } else if !passed || nothing_succeeded.is_some() {
            THRESHOLD_FAILED
        } else {
            PASSED
        };
        RunOutcome::new(report, code)
    }
}

/// What each loop needs of the test, `Send` and `Sync` (for the workers' threads).
#[derive(Clone, Debug)]
pub(crate) struct LoadTestParts {
    pub(crate) bots: usize,
    pub(crate) ramp_up: Option<super::RampUp>,
    pub(crate) rate: Option<super::Rate>,
    pub(crate) load_for: Option<Duration>,
    pub(crate) iterations: Option<u64>,
    pub(crate) target: Option<String>,
    /// Live control, when the run has it (a dashboard served, a duration).
    pub(crate) control: Option<Arc<Control>>,
    /// How many loops the process runs (each takes its share of a bot count set).
    pub(crate) loops: usize,
    /// `--local-ips`: the run's sockets leave from these addresses in turn.
    pub(crate) sources: Option<Arc<ttk_net::SourcePool>>,
    /// `--net`: the network the run's sockets emulate.
    pub(crate) net: Option<Arc<ttk_net::NetMix>>,
}

/// A boxed source, as a source.
struct BoxedSource(Box<dyn ttk_core::BotSource>);

impl ttk_core::BotSource for BoxedSource {
    fn arrivals(&mut self, now: Instant, live: usize) -> ttk_core::Arrivals {
        self.0.arrivals(now, live)
    }
}

/// One loop's makings of sessions: when load stops, the open model's intended starts.
pub(crate) struct LoopSessions {
    intended: IntendedStarts,
    run_start: RunStart,
    /// When load stops, on the loop's clock: from the run's start (as the source saw it, or
    /// when the first bot is made, at the start of a run without a source).
    load_until: Cell<Option<Option<Instant>>>,
    load_for: Option<Duration>,
    iterations: Option<u64>,
    target: Option<Rc<str>>,
    /// Stop tokens under live control (see [`ControlSource`]).
    stops: Rc<Cell<usize>>,
    /// Whether the run is under live control (then sessions take stop tokens).
    controlled: bool,
}

impl LoopSessions {
    fn new(test: &LoadTestParts) -> LoopSessions {
        LoopSessions {
            stops: Rc::new(Cell::new(0)),
            controlled: test.control.is_some(),
            intended: IntendedStarts::default(),
            run_start: RunStart::default(),
            load_until: Cell::new(None),
            load_for: test.load_for,
            iterations: test.iterations,
            target: test.target.as_deref().map(Rc::from),
        }
    }

    /// The session of bot `id`, made now (an open-model session is timed from its intended
    /// start).
    pub(crate) fn session<M, W>(&self, cx: &Cx<M, W>, id: usize) -> Session {
        let until = match self.load_until.get() {
            Some(until) => until,
            None => {
                let start = self.run_start.get().unwrap_or_else(ttk_core::now);
                let until = self
                    .load_for
                    .and_then(|load_for| start.checked_add(load_for));
                self.load_until.set(Some(until));
                until
            }
        };
        let intended_start = self.intended.borrow_mut().pop_front();
        if let Some(at) = intended_start {
            cx.measure_from(at);
        }
        Session {
            id,
            target: self.target.clone(),
            iterations: self.iterations,
            // An open-model session that arrived in time runs its iterations, however late it
            // gets to them: it is one of the slowest, and must be counted.
            until: if intended_start.is_some() {
                None
            } else {
                until
            },
            intended_start,
            stops: self.controlled.then(|| Rc::clone(&self.stops)),
        }
    }
}

thread_local! {
    /// The sessions of the loop on this thread, in a run on several workers (the factory is
    /// shared by the workers; each finds its own loop's here).
    pub(crate) static WORKER_SESSIONS: RefCell<Option<LoopSessions>> = const { RefCell::new(None) };
}

/// How the wait for `--start-at` ended.
#[derive(Debug, PartialEq, Eq)]
enum Wait {
    /// The time came (or had passed).
    Reached,
    /// A signal came first.
    Stopped,
}

/// Waits until `start_at`, saying so (unless the parent of --processes reads the output); an
/// interrupt ends the wait.
fn wait_for_start(start_at: &StartAt, interrupts: Option<&Interrupts>, quiet: bool) -> Wait {
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
        return Wait::Reached;
    }
    if !quiet {
        eprintln!(
            "waiting {} to start at {start_at}",
            humantime::format_duration(Duration::from_millis(wait.as_millis() as u64))
        );
    }
    let deadline = Instant::now() + wait;
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        if interrupts.is_some_and(Interrupts::interrupted) {
            return Wait::Stopped;
        }
        if left.is_zero() {
            break;
        }
        std::thread::sleep(left.min(Duration::from_millis(50)));
    }
    Wait::Reached
}

/// The collector thread: adds up the snapshots of `loops` loops into `live`'s collector, shows
/// the progress of each second once every loop has sent it, returns the report and the run's
/// length on the loops' clocks.
fn collect(
    live: &Live,
    snapshots: mpsc::Receiver<(usize, MetricsSnapshot)>,
    progress: Progress,
    total: Option<Duration>,
    loops: usize,
) -> (Report, f64) {
    let mut errors = 0;
    let mut seconds = SecondsShown::new(loops);
    // The parent of `--processes` gets this process's totals so far with each second.
    let stream = progress.is_stream();
    for (from, snapshot) in snapshots {
        errors += snapshot.transactions.iter().map(|t| t.failed).sum::<u64>();
        let last = snapshot.last;
        // Shown after the lock is let go: a terminal that stalls must not stall the readers.
        let (ready, totals): (Vec<SecondReport>, _) = live
            .with_collector(|collector| {
                let t = collector.add(from, snapshot).t;
                let ready: Vec<SecondReport> = seconds
                    .heard(from, t, last)
                    .filter_map(|t| collector.second(t).cloned())
                    .collect();
                let totals = (stream && !ready.is_empty()).then(|| collector.totals());
                (ready, totals)
            })
            .unwrap_or_default();
        for second in &ready {
            progress.show(second, total, errors, totals.as_ref());
        }
    }
    if stream {
        let (rest, totals): (Vec<SecondReport>, _) = live
            .with_collector(|collector| {
                let rest = seconds
                    .unshown()
                    .filter_map(|t| collector.second(t).cloned())
                    .collect();
                (rest, Some(collector.totals()))
            })
            .unwrap_or_default();
        for second in &rest {
            progress.show(second, total, errors, totals.as_ref());
        }
    }
    progress.finish();
    match live.take_collector() {
        Some(collector) => collector.finish(),
        None => (Report::default(), 0.0),
    }
}

/// Counts how a bot ended.
pub(crate) fn tally_bot<T: TransactionOutput>(
    tally: &mut BotTally,
    outcome: &Result<T, ttk_core::BotError>,
) {
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
                // Where it panicked, as Rust prints it: ttk prints only the first bot panic.
                let sample = match error.location() {
                    Some(location) => format!("{message} (at {location})"),
                    None => message.clone(),
                };
                add_bot_error(&mut tally.errors, "panicked", sample);
            }
            _ => {
                tally.failed += 1;
                add_bot_error(&mut tally.errors, "failed", error.to_string());
            }
        },
    }
}
