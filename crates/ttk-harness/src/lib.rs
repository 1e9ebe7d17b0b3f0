//! The load-test harness: a load-test binary gets the standard command line, load shapes, live
//! progress, the end-of-run summary, JSON and HTML reports, thresholds and Ctrl-C handling
//! with one call in `main`.
//!
//! Load tests reach it through the `ttk` facade, as `ttk::harness` (feature `harness`, on by
//! default); `ttk::cli`, its name when it was a module of the facade, is kept as an alias.
//!
//! ```no_run
//! use std::process::ExitCode;
//! use ttk::harness::{LoadTest, Session};
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
//! # Setup code and `merge`
//! `mytest merge shard-*.json --json all.json` merges the reports of a run's shards. A test
//! made with [`LoadTest::from_env`] (or [`from_env_with`](LoadTest::from_env_with)) handles
//! it there: it merges, and exits with the merge's code, before `from_env` returns. So what
//! `main` does between `from_env` and [`LoadTest::run`] — starting a target, building a world,
//! reading files — is the setup of a run only, and a merge never waits for it or fails with it.
//!
//! # Shards stopped before their start
//! A shard stopped (Ctrl-C, SIGTERM: `scancel`) while it waits for `--start-at` runs no bot.
//! Its report says so — 0 bots started, ended `interrupted` with the detail "stopped while it
//! waited for --start-at" — and gives as its start the time it was told to start at, with a
//! length of 0: merged with its siblings, it moves neither the run's start nor their seconds,
//! and adds nothing to the run's length or rates.
//!
//! # Exit codes
//! 0: the run ended and every threshold held. 1: a threshold failed — or, in a run given no
//! `--threshold`, nothing succeeded: every bot failed, or transactions were timed and none
//! succeeded (a target that is down passes no run; the reason is printed on standard error).
//! [`LoadTest::require_success(false)`](LoadTest::require_success) turns that rule off, and any
//! `--threshold` given replaces it. 2: bad command line.
//! 3: the run failed (the loop could not start, the bots stalled — each waited for something
//! nothing could do —, the report could not be made or written).
//! 130: interrupted (Ctrl-C or SIGTERM); the reports are still written.

mod args;
mod codes;
mod collect;
mod collector;
mod control;
mod help;
mod launch;
mod live;
mod merge;
mod out;
mod outcome;
mod plan;
mod processes;
mod progress;
mod recorded;
mod redact;
mod report_files;
mod run;
mod seconds_shown;
mod session;
mod shape;
mod shard;
mod shard_totals;
mod signals;
mod success;

use std::ffi::OsString;

use clap::parser::ValueSource;
use clap::{Args, FromArgMatches};

pub use args::LoadArgs;
pub use merge::MergeArgs;
pub use outcome::RunOutcome;
pub use redact::{is_secret_name, redact_url};
pub use session::{Iterations, Session};
pub use shape::{RampUp, Rate};
pub use shard::{ShardSpec, StartAt};
pub use ttk_report;
#[doc(inline)]
pub use ttk_report::{DurationError, parse_duration};

/// clap, for load tests that add flags of their own (derive `clap::Args` on a struct).
pub use clap;

/// No flags besides the standard ones.
///
/// # Examples
/// ```
/// use ttk::harness::{LoadTest, NoFlags};
///
/// let test: LoadTest<NoFlags> = LoadTest::try_from_args("plain", ["plain", "-q"]).unwrap();
/// assert!(test.args().quiet);
/// assert!(LoadTest::try_from_args("plain", ["plain", "--room-size", "8"]).is_err());
/// ```
#[derive(Args, Clone, Copy, Debug, Default)]
pub struct NoFlags {}

/// A load test: its name and command line, ready to run.
///
/// # Examples
/// ```
/// use ttk::{bot, Cx};
/// use ttk::harness::{LoadTest, Session};
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
    /// `merge`'s flags, when the command line is `merge …` rather than a run.
    merge: Option<MergeArgs>,
    /// Planned bots are kept on one worker (and shard) in groups of this many.
    together: usize,
    /// Whether a run without thresholds in which nothing succeeded fails (see the module docs).
    require_success: bool,
    /// What the report records as the run's parameters, when the test says (see
    /// [`LoadTest::record_parameters`]); else they are read from the standard flags.
    recorded: Option<ttk_report::Parameters>,
    /// Why the load may not be changed while the run goes on, if the test says so (see
    /// [`LoadTest::refuse_control`]).
    control_refused: Option<String>,
    /// The most bots `POST /control` may ask for, and why (see
    /// [`LoadTest::limit_control_bots`]).
    most_control_bots: Option<(usize, String)>,
}

impl LoadTest<NoFlags> {
    /// Reads the process's command line; prints the error and exits with code 2 if it is bad
    /// (or the help, with 0, for `--help`).
    ///
    /// `mytest merge shard-*.json …` merges the shards' reports here and exits with the merge's
    /// code (see [`MergeArgs`]), before returning: the code `main` runs between `from_env` and
    /// [`LoadTest::run`] — starting a target, building a world — is the run's setup, and the
    /// merge does without it. ([`LoadTest::try_from_args`] leaves the merge to `run`.)
    ///
    /// # Examples
    /// ```no_run
    /// use std::process::ExitCode;
    /// use ttk::Cx;
    /// use ttk::harness::{LoadTest, Session};
    ///
    /// #[ttk::bot]
    /// fn visitor(cx: Cx, session: Session) {
    ///     for _ in session.iterations() {
    ///         cx.transaction("visit").ok();
    ///     }
    /// }
    ///
    /// fn main() -> ExitCode {
    ///     // `visits --bots 100 --duration 1m --threshold 'count(visit) > 1000'`
    ///     LoadTest::from_env("visits").run(visitor).exit_code()
    /// }
    /// ```
    pub fn from_env(name: &str) -> LoadTest {
        LoadTest::from_env_with(name)
    }

    /// Reads `args` (the first is the program's name).
    ///
    /// # Errors
    /// A bad command line; `error.exit()` prints it and exits with code 2.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// use ttk::harness::LoadTest;
    ///
    /// let test = LoadTest::try_from_args("shop", ["shop", "--bots", "50", "--duration", "1m"]);
    /// let test = test.unwrap();
    /// assert_eq!(test.args().bots, 50);
    /// assert_eq!(test.args().duration, Some(Duration::from_secs(60)));
    /// let bad = LoadTest::try_from_args("shop", ["shop", "--bots", "many"]).unwrap_err();
    /// assert_eq!(bad.exit_code(), 2);
    /// ```
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
    /// [`clap::Args`]), beside the standard ones. It too runs `merge` itself and exits.
    ///
    /// # Examples
    /// ```no_run
    /// use ttk::harness::{LoadTest, clap};
    ///
    /// #[derive(clap::Args, Debug)]
    /// struct Lobby {
    ///     /// Players per room.
    ///     #[arg(long, default_value_t = 4)]
    ///     room_size: usize,
    /// }
    ///
    /// // `lobby --bots 100 --room-size 8`
    /// let test = LoadTest::<Lobby>::from_env_with("lobby");
    /// println!("rooms of {}", test.flags().room_size);
    /// ```
    pub fn from_env_with(name: &str) -> LoadTest<A> {
        let test = LoadTest::try_from_args_with(name, std::env::args_os())
            .unwrap_or_else(|error| error.exit());
        if let Some(merge) = &test.merge {
            // The code between here and the run (a target started, a world built) is setup for
            // a run: a merge must not wait for it, or fail with it.
            let code = merge.run(&test.name, true).code;
            std::process::exit(i32::from(code));
        }
        test
    }

    /// Like [`LoadTest::try_from_args`], with flags of the test's own.
    ///
    /// # Errors
    /// A bad command line.
    ///
    /// # Examples
    /// ```
    /// use ttk::harness::{LoadTest, clap};
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
        let mut command = help::command::<A>(name);
        let matches = command.try_get_matches_from_mut(args.iter().cloned())?;
        let merge = match matches.subcommand_matches("merge") {
            Some(merge) => Some(MergeArgs::from_arg_matches(merge)?),
            None => None,
        };
        let load = LoadArgs::from_arg_matches(&matches)?;
        let flags = A::from_arg_matches(&matches)?;
        if let Some(ramp) = &load.ramp_up
            && matches.value_source("bots") == Some(ValueSource::CommandLine)
            && ramp.bots(load.bots) != load.bots
        {
            return Err(command.error(
                clap::error::ErrorKind::ArgumentConflict,
                format!(
                    "--ramp-up {ramp} reaches {} bots, --bots says {}: give one count",
                    ramp.bots(load.bots),
                    load.bots
                ),
            ));
        }
        if let (Some(ramp), Some(duration)) = (&load.ramp_up, load.duration)
            && let Some((started, all)) = ramp_past_the_end(ramp, load.bots, duration)
        {
            // Not an error: a run may mean to watch the start of a long ramp.
            eprintln!(
                "warning: --ramp-up {ramp} starts bots until after --duration {} is over: \
                 {started} of {all} bots start",
                humantime::format_duration(duration)
            );
        }
        Ok(LoadTest {
            name: name.to_owned(),
            args: load,
            flags,
            command_line: args
                .iter()
                .map(|arg| arg.to_string_lossy().into_owned())
                .collect(),
            merge,
            together: 1,
            require_success: true,
            recorded: None,
            control_refused: None,
            most_control_bots: None,
        })
    }
}

impl<A> LoadTest<A> {
    /// The standard flags as given.
    ///
    /// # Examples
    /// ```
    /// use ttk::harness::LoadTest;
    ///
    /// let test = LoadTest::try_from_args("shop", ["shop", "--rate", "50/s", "--seed", "7"]);
    /// let test = test.unwrap();
    /// assert_eq!(test.args().seed, 7);
    /// assert_eq!(test.args().rate.as_ref().unwrap().as_str(), "50/s");
    /// assert_eq!(test.args().bots, 10); // the default
    /// ```
    pub fn args(&self) -> &LoadArgs {
        &self.args
    }

    /// `merge`'s flags, when the command line asks to merge shard reports rather than to run:
    /// [`LoadTest::run`] then merges (see [`MergeArgs`]). A test read with
    /// [`LoadTest::from_env`] never has them: `from_env` merges and exits.
    pub fn merge_args(&self) -> Option<&MergeArgs> {
        self.merge.as_ref()
    }

    /// The standard flags, to change before the run (a default of the test's own, say).
    ///
    /// # Examples
    /// ```
    /// use ttk::harness::LoadTest;
    ///
    /// let mut test = LoadTest::try_from_args("smoke", ["smoke", "--iterations", "5"]).unwrap();
    /// let args = test.args_mut();
    /// args.iterations.get_or_insert(3); // the test's default: the given 5 stands
    /// args.thresholds.push("failures < 1%".parse().unwrap()); // checked on every run
    /// assert_eq!(test.args().iterations, Some(5));
    /// assert_eq!(test.args().thresholds.len(), 1);
    /// ```
    pub fn args_mut(&mut self) -> &mut LoadArgs {
        &mut self.args
    }

    /// The test's own flags.
    ///
    /// # Examples
    /// ```
    /// use ttk::harness::{LoadTest, clap};
    ///
    /// #[derive(clap::Args, Debug)]
    /// struct Chat {
    ///     /// Messages each bot sends.
    ///     #[arg(long, default_value_t = 10)]
    ///     messages: u32,
    /// }
    ///
    /// let test: LoadTest<Chat> = LoadTest::try_from_args_with("chat", ["chat"]).unwrap();
    /// assert_eq!(test.flags().messages, 10);
    /// ```
    pub fn flags(&self) -> &A {
        &self.flags
    }

    /// Keeps the planned bots in groups of `count` consecutive ids (the players of a room:
    /// bots `k * count ..`) on one worker and in one shard, so that groups of them can meet
    /// (a group's members must share a worker: see [`Workers`](ttk_core::Workers)).
    ///
    /// # Examples
    /// ```
    /// use ttk::Cx;
    /// use ttk::harness::{LoadTest, Session};
    ///
    /// #[ttk::bot]
    /// fn player(cx: Cx, session: Session) {
    ///     let room = format!("room {}", session.id() / 4);
    ///     cx.join(&room);
    ///     ttk::yield_!();
    ///     cx.gauge("room size", cx.members(&room).len() as i64);
    /// }
    ///
    /// let args = ["rooms", "--bots", "30", "--workers", "3", "--quiet"];
    /// let mut test = LoadTest::try_from_args("rooms", args).unwrap();
    /// test.keep_together(4);
    /// let outcome = test.run_parallel(player);
    /// assert_eq!(outcome.report.bots.failed, 0, "no room was cut between workers");
    /// ```
    pub fn keep_together(&mut self, count: usize) -> &mut Self {
        self.together = count.max(1);
        self
    }

    /// Whether a run given no `--threshold` fails (exit code 1) when nothing succeeded — every
    /// bot failed, or transactions were timed and none succeeded. Required by default; a test
    /// whose bots are meant to fail (a check that the target refuses them) sets `false`. Any
    /// `--threshold` on the command line judges the run instead. The report records it
    /// (`RunInfo::success_optional`), so that a merge of the run's shards and `ttk report` on it
    /// judge it the same way.
    ///
    /// # Examples
    /// ```
    /// use ttk::Cx;
    /// use ttk::harness::{LoadTest, Session};
    ///
    /// #[ttk::bot]
    /// fn refused(cx: Cx, _session: Session) -> Result<(), String> {
    ///     cx.transaction("login").fail("refused");
    ///     Err("the target refused the login".to_owned())
    /// }
    ///
    /// let test = LoadTest::try_from_args("refusals", ["refusals", "--bots", "3", "-q"]).unwrap();
    /// assert_eq!(test.run(refused).code, 1); // every bot failed
    ///
    /// let mut test = LoadTest::try_from_args("refusals", ["refusals", "--bots", "3", "-q"]).unwrap();
    /// test.require_success(false);
    /// assert_eq!(test.run(refused).code, 0);
    /// ```
    pub fn require_success(&mut self, required: bool) -> &mut Self {
        self.require_success = required;
        self
    }

    /// Sets the target if the command line gave none (e.g. to a server the test starts).
    ///
    /// # Examples
    /// ```
    /// use ttk::harness::LoadTest;
    ///
    /// let mut local = LoadTest::try_from_args("echo", ["echo"]).unwrap();
    /// local.default_target(|| "127.0.0.1:7".to_owned()); // e.g. a server the test started
    /// assert_eq!(local.args().target.as_deref(), Some("127.0.0.1:7"));
    ///
    /// let args = ["echo", "--target", "10.0.0.5:7"];
    /// let mut given = LoadTest::try_from_args("echo", args).unwrap();
    /// given.default_target(|| unreachable!("not called: the command line gave a target"));
    /// assert_eq!(given.args().target.as_deref(), Some("10.0.0.5:7"));
    /// ```
    pub fn default_target(&mut self, target: impl FnOnce() -> String) -> &mut Self {
        if self.args.target.is_none() {
            self.args.target = Some(target());
        }
        self
    }

    /// Sets the thresholds checked when none is set — by `--threshold` on the command line,
    /// or in code before: the test's own verdict, which the command line replaces. (A
    /// threshold pushed on [`args_mut`](LoadTest::args_mut)`().thresholds` is checked whatever
    /// the command line says.) A run with thresholds is judged by them alone (see the
    /// [module docs](self) for the run without).
    ///
    /// # Errors
    /// An expression that is not a threshold (see [`Threshold`](ttk_report::Threshold)); then
    /// none is set.
    ///
    /// # Examples
    /// ```
    /// use ttk::harness::LoadTest;
    ///
    /// let mut test = LoadTest::try_from_args("smoke", ["smoke"]).unwrap();
    /// test.default_thresholds(["failures < 1%", "p99 < 250ms"]).unwrap();
    /// let set: Vec<&str> = test.args().thresholds.iter().map(|t| t.expression()).collect();
    /// assert_eq!(set, ["failures < 1%", "p99 < 250ms"]);
    ///
    /// let args = ["smoke", "--threshold", "p99 < 1s"];
    /// let mut given = LoadTest::try_from_args("smoke", args).unwrap();
    /// given.default_thresholds(["failures < 1%"]).unwrap();
    /// assert_eq!(given.args().thresholds[0].expression(), "p99 < 1s"); // the command line's
    /// assert_eq!(given.args().thresholds.len(), 1);
    ///
    /// let error = test.default_thresholds(["p99 < soon"]).unwrap_err();
    /// assert!(error.to_string().contains("`soon` is not a duration"));
    /// ```
    pub fn default_thresholds<I>(
        &mut self,
        thresholds: I,
    ) -> Result<&mut Self, ttk_report::ThresholdError>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let thresholds = thresholds
            .into_iter()
            .map(|expression| ttk_report::Threshold::parse(expression.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        if self.args.thresholds.is_empty() {
            self.args.thresholds = thresholds;
        }
        Ok(self)
    }

    /// Sets where the HTML report goes if the command line did not say.
    ///
    /// # Examples
    /// ```
    /// use ttk::Cx;
    /// use ttk::harness::{LoadTest, Session};
    ///
    /// #[ttk::bot]
    /// fn idle(_cx: Cx, _session: Session) {}
    ///
    /// let path = std::env::temp_dir().join(format!("ttk-html-{}.html", std::process::id()));
    /// let mut test = LoadTest::try_from_args("idle", ["idle", "--quiet"]).unwrap();
    /// test.default_html(&path);
    /// assert_eq!(test.run(idle).code, 0);
    /// let html = std::fs::read_to_string(&path).unwrap();
    /// assert!(html.contains("<title>idle — ttk report</title>"));
    /// # std::fs::remove_file(&path).unwrap();
    /// ```
    pub fn default_html(&mut self, path: impl Into<std::path::PathBuf>) -> &mut Self {
        if self.args.html.is_none() {
            self.args.html = Some(path.into());
        }
        self
    }
}

/// Where `ramp` would start bots after the run's `duration` is over (those never start, and a
/// run meant for 100 bots tests fewer without a word): how many start, of how many.
fn ramp_past_the_end(
    ramp: &RampUp,
    bots: usize,
    duration: std::time::Duration,
) -> Option<(usize, usize)> {
    let all = ramp.bots(bots);
    if all == 0 || ramp.start_offset(all - 1, bots) < duration {
        return None;
    }
    // The bots that start in time: those whose offset is below the duration (a search; the
    // offsets grow with the bot's number).
    let (mut started, mut late) = (0, all - 1);
    while started < late {
        let middle = started + (late - started) / 2;
        if ramp.start_offset(middle, bots) < duration {
            started = middle + 1;
        } else {
            late = middle;
        }
    }
    Some((started, all))
}

#[cfg(test)]
mod ramp_tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_ramp_longer_than_the_run_is_found_with_the_bots_that_start() {
        let ramp: RampUp = "5s".parse().unwrap();
        assert_eq!(
            ramp_past_the_end(&ramp, 100, Duration::from_secs(2)),
            Some((40, 100))
        );
        assert_eq!(ramp_past_the_end(&ramp, 100, Duration::from_secs(5)), None);
        let staged: RampUp = "10:1s,1000:9s".parse().unwrap();
        assert_eq!(
            ramp_past_the_end(&staged, 1, Duration::from_secs(1)),
            Some((10, 1000))
        );
    }
}
