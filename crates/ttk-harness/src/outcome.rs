//! How a run of the harness ended: [`RunOutcome`].

use std::process::ExitCode;

use ttk_report::Report;

use ttk_core::BotError;

/// How a run ended: its report and the process's exit code — and, from the `…_collect`
/// runs ([`LoadTest::run_collect`](super::LoadTest::run_collect) and its kin), each bot's
/// output and the world the bots left.
///
/// `T` is the bots' output (what a bot returns), `W` the world: the runtime's own for a run on
/// one loop, each worker's (a `Vec`) for a run on several. [`LoadTest::run`](super::LoadTest::run)
/// and its kin keep neither (nothing in a long run then grows with its bots): their outcome is
/// a `RunOutcome<(), ()>`, plain `RunOutcome`.
///
/// # Examples
/// ```
/// use ttk::Cx;
/// use ttk::harness::{LoadTest, Session};
///
/// #[ttk::bot]
/// fn counter(_cx: Cx, session: Session) -> Result<u64, String> {
///     Ok(session.iterations().count() as u64)
/// }
///
/// let args = ["counts", "--bots", "3", "--iterations", "4", "-q"];
/// let outcome = LoadTest::try_from_args("counts", args).unwrap().run_collect(counter);
/// assert_eq!(outcome.code, 0);
/// let counts: Vec<_> = outcome.outputs.iter().map(|(id, output)| (*id, output.as_ref().ok())).collect();
/// assert_eq!(counts, [(0, Some(&Ok(4))), (1, Some(&Ok(4))), (2, Some(&Ok(4)))]);
/// assert_eq!(outcome.world, Some(()));
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub struct RunOutcome<T = (), W = ()> {
    /// The report (also written where `--json` and `--html` said).
    pub report: Report,
    /// The exit code (see the [module docs](super)).
    pub code: u8,
    /// Each bot's output — what it returned, or why it did not end by itself (stopped,
    /// panicked, stalled) — with its id, in the order of the ids. Only the bots of this
    /// process: empty when it ran none (a merge, the parent of `--processes`, a bad command
    /// line), and empty for the runs that keep no output.
    pub outputs: Vec<(usize, Result<T, BotError>)>,
    /// The world as the bots left it; `None` when no bot ran in this process, and for the runs
    /// that keep no world.
    pub world: Option<W>,
}

impl<T, W> RunOutcome<T, W> {
    /// An outcome with no bot's output and no world.
    pub(crate) fn new(report: Report, code: u8) -> RunOutcome<T, W> {
        RunOutcome {
            report,
            code,
            outputs: Vec::new(),
            world: None,
        }
    }

    /// The exit code, for `main` to return.
    ///
    /// # Examples
    /// ```
    /// use std::process::ExitCode;
    /// use ttk::Cx;
    /// use ttk::harness::{LoadTest, Session};
    ///
    /// #[ttk::bot]
    /// fn idle(_cx: Cx, _session: Session) {}
    ///
    /// let args = ["strict", "--bots", "2", "--threshold", "count(login) > 0", "--quiet"];
    /// let outcome = LoadTest::try_from_args("strict", args).unwrap().run(idle);
    /// assert_eq!(outcome.code, 1); // a threshold failed: no bot logged in
    /// assert_eq!(outcome.exit_code(), ExitCode::from(1));
    /// ```
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(self.code)
    }
}
