//! The load-test harness: a load-test binary gets the standard command line, load shapes, live
//! progress, the end-of-run summary, JSON and HTML reports, thresholds and Ctrl-C handling
//! with one call in `main`.
//!
//! ```no_run
//! use std::process::ExitCode;
//! use ttk::cli::{LoadTest, Session};
//! use ttk::{Cx, net::TcpStream};
//!
//! #[ttk::bot]
//! fn shopper(cx: Cx, session: Session) -> std::io::Result<()> {
//!     let target = session.target().unwrap_or("127.0.0.1:8080").to_owned();
//!     for _ in session.iterations() {
//!         let stream = ttk::yield_!(cx.time("connect", TcpStream::connect(target.as_str())))?;
//!         ttk::yield_!(cx.time("hello", stream.write_all(b"hello\n")))?;
//!         ttk::yield_!(cx.think(ttk::ThinkTime::uniform(ms(100), ms(500))));
//!     }
//!     Ok(())
//! }
//!
//! fn ms(n: u64) -> std::time::Duration { std::time::Duration::from_millis(n) }
//!
//! fn main() -> ExitCode {
//!     LoadTest::from_env("shop").run(shopper).exit_code()
//! }
//! ```
//!
//! `shop --bots 100 --ramp-up 10s --duration 1m --html report.html --threshold 'p99(connect) < 50ms'`
//! then runs 100 bots, started over 10 s, for a minute.
//!
//! # Closed and open models
//! With `--bots`, a fixed set of bots each runs its iterations: the **closed model**. Each bot
//! waits for a reply before it sends again, so when the server stalls, the bots stall with it
//! and send nothing meanwhile: the stall shows in one sample per bot, however long it lasted,
//! and hides in the percentiles (*coordinated omission*).
//!
//! With `--rate`, sessions arrive on a schedule whatever the server does, each a new bot: the
//! **open model**. Each session's first transaction is timed from when the session was *meant*
//! to start, so a stalled server (or a load generator that fell behind) shows in the
//! percentiles as every user would have felt it. See the README for the stall demo.
//!
//! # Exit codes
//! 0: the run ended and every threshold held. 1: a threshold failed. 2: bad command line.
//! 3: the run failed (the loop could not start, a report could not be written).
//! 130: interrupted (Ctrl-C or SIGTERM); the reports are still written.

mod args;
mod collector;
mod progress;
mod session;
mod shape;
mod signals;

use std::cell::RefCell;
use std::ffi::OsString;
use std::future::Future;
use std::path::Path;
use std::process::ExitCode;
use std::rc::Rc;
use std::sync::mpsc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::{Args, Command, FromArgMatches};
use ttk_core::metrics::TransactionOutput;
use ttk_report::{BotTally, Parameters, Report};

pub use args::LoadArgs;
pub use session::Session;
pub use shape::{RampUp, Rate};
pub use ttk_report;

/// clap, for load tests that add flags of their own (derive `clap::Args` on a struct).
pub use clap;

use collector::{Collector, add_bot_error};
use progress::Progress;
use shape::{IntendedStarts, RampSource, RateSource};
use signals::Interrupts;

use crate::{BotErrorKind, Cx, RunEnd, Runtime};

/// No flags besides the standard ones.
#[derive(Args, Clone, Copy, Debug, Default)]
pub struct NoFlags {}

/// A load test: its name and command line, ready to run.
///
/// # Examples
/// ```
/// use ttk::{bot, Cx};
/// use ttk::cli::{LoadTest, Session};
///
/// #[bot]
/// fn pinger(cx: Cx, session: Session) {
///     for _ in session.iterations() {
///         let _: () = ttk::yield_!(cx.time("ping", ttk::sleep(std::time::Duration::from_millis(5))));
///     }
/// }
///
/// let test = LoadTest::try_from_args(
///     "pings",
///     ["pings", "--bots", "4", "--iterations", "10", "--threshold", "count(ping) == 40", "--quiet"],
/// )
/// .unwrap();
/// let outcome = test.run(|cx, session| pinger(cx, session));
/// assert_eq!(outcome.report.transaction("ping").unwrap().ok, 40);
/// assert!(outcome.report.thresholds[0].passed);
/// assert_eq!(outcome.code, 0);
/// ```
#[derive(Debug)]
pub struct LoadTest<A = NoFlags> {
    name: String,
    args: LoadArgs,
    flags: A,
    command_line: Vec<String>,
}

/// How a run ended: its report and the process's exit code.
#[derive(Debug)]
#[non_exhaustive]
pub struct RunOutcome {
    /// The report (also written where `--json` and `--html` said).
    pub report: Report,
    /// The exit code (see the [module docs](self)).
    pub code: u8,
}

impl RunOutcome {
    /// The exit code, for `main` to return.
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(self.code)
    }
}

impl LoadTest<NoFlags> {
    /// Reads the process's command line; prints the error and exits with code 2 if it is bad
    /// (or the help, with 0, for `--help`).
    pub fn from_env(name: &str) -> LoadTest {
        LoadTest::from_env_with(name)
    }

    /// Reads `args` (the first is the program's name).
    ///
    /// # Errors
    /// A bad command line; `error.exit()` prints it and exits with code 2.
    pub fn try_from_args<I, T>(name: &str, args: I) -> Result<LoadTest, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        LoadTest::try_from_args_with(name, args)
    }
}

impl<A: Args + FromArgMatches> LoadTest<A> {
    /// Like [`LoadTest::from_env`], with flags of the test's own, `A` (a struct deriving
    /// [`clap::Args`]), beside the standard ones.
    pub fn from_env_with(name: &str) -> LoadTest<A> {
        LoadTest::try_from_args_with(name, std::env::args_os()).unwrap_or_else(|error| error.exit())
    }

    /// Like [`LoadTest::try_from_args`], with flags of the test's own.
    ///
    /// # Errors
    /// A bad command line.
    ///
    /// # Examples
    /// ```
    /// use ttk::cli::{LoadTest, clap};
    ///
    /// #[derive(clap::Args, Debug)]
    /// struct Lobby {
    ///     /// Players per room.
    ///     #[arg(long, default_value_t = 4)]
    ///     room_size: usize,
    /// }
    ///
    /// let test: LoadTest<Lobby> =
    ///     LoadTest::try_from_args_with("lobby", ["lobby", "--room-size", "8"]).unwrap();
    /// assert_eq!(test.flags().room_size, 8);
    /// let error = LoadTest::<Lobby>::try_from_args_with("lobby", ["lobby", "--room-size", "x"]);
    /// assert_eq!(error.unwrap_err().exit_code(), 2);
    /// ```
    pub fn try_from_args_with<I, T>(name: &str, args: I) -> Result<LoadTest<A>, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
        let command = Command::new(name.to_owned())
            .about(format!("{name}: a ttk load test"))
            .after_help(
                "Exit codes: 0 passed, 1 a threshold failed, 2 bad command line, \
                 3 the run failed, 130 interrupted.",
            );
        let mut command = A::augment_args(LoadArgs::augment_args(command));
        let matches = command.try_get_matches_from_mut(args.iter().cloned())?;
        let load = LoadArgs::from_arg_matches(&matches)?;
        let flags = A::from_arg_matches(&matches)?;
        if let Some(rate) = &load.rate
            && rate.total_duration().is_none()
            && load.duration.is_none()
        {
            return Err(command.error(
                clap::error::ErrorKind::MissingRequiredArgument,
                format!(
                    "--rate {rate} runs until told to stop: give --duration, or a length to its last stage"
                ),
            ));
        }
        Ok(LoadTest {
            name: name.to_owned(),
            args: load,
            flags,
            command_line: args
                .iter()
                .map(|arg| arg.to_string_lossy().into_owned())
                .collect(),
        })
    }
}

impl<A> LoadTest<A> {
    /// The standard flags as given.
    pub fn args(&self) -> &LoadArgs {
        &self.args
    }

    /// The standard flags, to change before the run (a default of the test's own, say).
    pub fn args_mut(&mut self) -> &mut LoadArgs {
        &mut self.args
    }

    /// The test's own flags.
    pub fn flags(&self) -> &A {
        &self.flags
    }

    /// Sets the target if the command line gave none (e.g. to a server the test starts).
    pub fn default_target(&mut self, target: impl FnOnce() -> String) -> &mut Self {
        if self.args.target.is_none() {
            self.args.target = Some(target());
        }
        self
    }

    /// Sets where the HTML report goes if the command line did not say.
    pub fn default_html(&mut self, path: impl Into<std::path::PathBuf>) -> &mut Self {
        if self.args.html.is_none() {
            self.args.html = Some(path.into());
        }
        self
    }

    /// Runs the test: bots `factory(cx, session)`, shaped by the command line; prints the live
    /// progress and the summary, writes the reports, checks the thresholds. A bot's `Err`
    /// output counts as a failed bot, classified like a failed transaction.
    pub fn run<M, F, B>(self, factory: F) -> RunOutcome
    where
        M: 'static,
        F: FnMut(Cx<M>, Session) -> B,
        B: Future,
        B::Output: TransactionOutput,
    {
        self.run_with(Runtime::new(), factory)
    }

    /// Like [`LoadTest::run`], on a runtime set up by the test (a world, tick hooks). The
    /// harness sets its seed, deadline, source of bots and metrics sink.
    pub fn run_with<M, W, F, B>(self, runtime: Runtime<W>, mut factory: F) -> RunOutcome
    where
        M: 'static,
        W: 'static,
        F: FnMut(Cx<M, W>, Session) -> B,
        B: Future,
        B::Output: TransactionOutput,
    {
        let args = &self.args;
        let mut report = Report::new(&self.name);
        report.run.parameters = self.parameters();
        let started_wall = SystemTime::now();
        report.run.started_unix_s = started_wall
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |since| since.as_secs_f64());

        let intended = IntendedStarts::default();
        let (first_bots, deadline, iterations) = self.shape();
        let mut runtime = runtime.seed(args.seed);
        if let Some(deadline) = deadline {
            runtime = runtime.deadline(deadline);
        }
        if let Some(rate) = &args.rate {
            runtime = runtime.source(RateSource::new(
                rate.clone(),
                args.duration,
                Rc::clone(&intended),
            ));
        } else if let Some(ramp) = &args.ramp_up {
            runtime = runtime.source(RampSource::new(ramp.clone(), args.bots));
        }

        let (sender, receiver) = mpsc::channel();
        let runtime = runtime.metrics(move |snapshot| {
            // The collector only goes away if it panicked: the run goes on without it.
            let _ = sender.send(snapshot);
        });
        let quiet = args.quiet;
        let collector = std::thread::Builder::new()
            .name("ttk-report".to_owned())
            .spawn(move || collect(report, receiver, quiet, deadline))
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
        let wall_start = Instant::now();
        let summary = runtime.execute_each(
            first_bots,
            |cx: Cx<M, W>, id| {
                let intended_start = intended.borrow_mut().pop_front();
                if let Some(at) = intended_start {
                    cx.measure_from(at);
                }
                let session = Session {
                    id,
                    target: target.clone(),
                    iterations,
                    intended_start,
                };
                factory(cx, session)
            },
            |_, outcome| tally_bot(&mut tally.borrow_mut(), outcome),
        );
        let duration = wall_start.elapsed();
        let interrupted = interrupts.as_ref().is_some_and(Interrupts::interrupted);
        drop(interrupts);

        let mut report = collector.join().unwrap_or_else(|_| Report::new(&self.name));
        report.run.duration_s = duration.as_secs_f64();
        let mut tally = tally.into_inner();
        tally.started = summary.bots_started as u64;
        report.bots = tally;
        let (end, detail) = match (&summary.end, interrupted) {
            (RunEnd::Failed(error), _) => ("failed", Some(error.to_string())),
            (_, true) => ("interrupted", None),
            (RunEnd::Completed, _) => ("completed", None),
            (RunEnd::DeadlineReached, _) => ("duration", None),
            (RunEnd::Stalled, _) => (
                "stalled",
                Some("every bot left waited for something nothing could do".to_owned()),
            ),
            (RunEnd::Stopped, _) => ("interrupted", None),
            (_, false) => ("failed", Some(format!("{:?}", summary.end))),
        };
        report.run.end = end.to_owned();
        report.run.end_detail = detail;
        let passed = report.check_thresholds(&self.args.thresholds);
        println!("{}", report.summary());
        let written = self.write_reports(&report);
        let code = if end == "interrupted" {
            130
        } else if end == "failed" || !written {
            3
        } else if !passed {
            1
        } else {
            0
        };
        RunOutcome { report, code }
    }

    /// How many bots start at once, when the run stops, and each bot's iterations.
    fn shape(&self) -> (usize, Option<Duration>, Option<u64>) {
        let args = &self.args;
        if let Some(rate) = &args.rate {
            let deadline = args.duration.or(rate.total_duration());
            return (0, deadline, Some(args.iterations.unwrap_or(1)));
        }
        let iterations = match (args.iterations, args.duration) {
            (Some(iterations), _) => Some(iterations),
            (None, Some(_)) => None,
            (None, None) => Some(1),
        };
        let first = if args.ramp_up.is_some() { 0 } else { args.bots };
        (first, args.duration, iterations)
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

/// The collector thread: adds up the snapshots, shows the progress, returns the report.
fn collect(
    report: Report,
    snapshots: mpsc::Receiver<ttk_core::MetricsSnapshot>,
    quiet: bool,
    total: Option<Duration>,
) -> Report {
    let progress = Progress::new(quiet, total);
    let mut collector = Collector::new(report);
    for snapshot in snapshots {
        let second = collector.add(&snapshot).clone();
        if !snapshot.last {
            let errors = collector
                .report()
                .transactions
                .iter()
                .map(|transaction| transaction.failed)
                .sum();
            progress.show(&second, total, errors);
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
