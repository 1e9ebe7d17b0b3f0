//! Runs that keep what the bots return and the world they leave, for checks after the run.

use std::cell::RefCell;
use std::future::Future;
use std::sync::Mutex;

use ttk_core::metrics::TransactionOutput;

use super::session::Session;
use super::{LoadTest, RunOutcome};
use ttk_core::{BotError, Cx, Runtime};

impl<A> LoadTest<A> {
    /// Like [`LoadTest::run`], keeping each bot's output — what it returned — in
    /// [`RunOutcome::outputs`], by id: checks of each bot after the run need no shared state
    /// of their own. The outputs of a long open-model run are many: keep them small.
    ///
    /// # Examples
    /// ```
    /// use ttk::Cx;
    /// use ttk::harness::{LoadTest, Session};
    ///
    /// /// Each player's score: its id plus one per round.
    /// #[ttk::bot]
    /// fn player(_cx: Cx, session: Session) -> Result<usize, String> {
    ///     Ok(session.id() + session.iterations().count())
    /// }
    ///
    /// let args = ["scores", "--bots", "3", "--iterations", "2", "-q"];
    /// let outcome = LoadTest::try_from_args("scores", args).unwrap().run_collect(player);
    /// for (id, score) in &outcome.outputs {
    ///     assert_eq!(score.as_ref().unwrap(), &Ok(id + 2));
    /// }
    /// assert_eq!(outcome.outputs.len(), 3);
    /// ```
    pub fn run_collect<M, F, B>(self, factory: F) -> RunOutcome<B::Output>
    where
        M: 'static,
        F: FnMut(Cx<M>, Session) -> B,
        B: Future,
        B::Output: TransactionOutput,
    {
        self.run_collect_with(Runtime::new(), factory)
    }

    /// Like [`LoadTest::run_with`], keeping each bot's output in [`RunOutcome::outputs`] and
    /// the world the bots left in [`RunOutcome::world`].
    ///
    /// # Examples
    /// ```
    /// use ttk::harness::{LoadTest, Session};
    /// use ttk::{Cx, Runtime};
    ///
    /// #[ttk::bot]
    /// fn signer(cx: Cx<(), Vec<usize>>, session: Session) {
    ///     ttk::yield_!();
    ///     cx.world(|book| book.push(session.id()));
    /// }
    ///
    /// let test = LoadTest::try_from_args("book", ["book", "--bots", "4", "-q"]).unwrap();
    /// let outcome = test.run_collect_with(Runtime::new().world(Vec::new()), signer);
    /// let mut book = outcome.world.unwrap();
    /// book.sort();
    /// assert_eq!(book, [0, 1, 2, 3]);
    /// ```
    pub fn run_collect_with<M, W, F, B>(
        self,
        runtime: Runtime<W>,
        factory: F,
    ) -> RunOutcome<B::Output, W>
    where
        M: 'static,
        W: 'static,
        F: FnMut(Cx<M, W>, Session) -> B,
        B: Future,
        B::Output: TransactionOutput,
    {
        let outputs = RefCell::new(Vec::new());
        let (outcome, world) = self.run_one_loop(runtime, factory, |id, output| {
            outputs.borrow_mut().push((id, output));
        });
        with_outputs(outcome, outputs.into_inner(), world)
    }

    /// Like [`LoadTest::run_parallel`], keeping each bot's output in [`RunOutcome::outputs`]
    /// (gathered from the workers' threads, so the outputs are `Send`) and each worker's world
    /// in [`RunOutcome::world`].
    ///
    /// # Examples
    /// ```
    /// use ttk::Cx;
    /// use ttk::harness::{LoadTest, Session};
    ///
    /// #[ttk::bot]
    /// fn visitor(cx: Cx, session: Session) -> Result<u64, String> {
    ///     let mut visits = 0;
    ///     for _ in session.iterations() {
    ///         ttk::yield_!();
    ///         visits += 1;
    ///     }
    ///     Ok(visits)
    /// }
    ///
    /// let args = ["visits", "--bots", "10", "--iterations", "3", "--workers", "2", "-q"];
    /// let outcome = LoadTest::try_from_args("visits", args).unwrap().run_parallel_collect(visitor);
    /// let ids: Vec<usize> = outcome.outputs.iter().map(|(id, _)| *id).collect();
    /// assert_eq!(ids, (0..10).collect::<Vec<_>>());
    /// assert!(outcome.outputs.iter().all(|(_, visits)| visits.as_ref().unwrap() == &Ok(3)));
    /// assert_eq!(outcome.world.unwrap().len(), 2); // one world per worker
    /// ```
    pub fn run_parallel_collect<M, F, B>(self, factory: F) -> RunOutcome<B::Output, Vec<()>>
    where
        M: Send + 'static,
        F: Fn(Cx<M>, Session) -> B + Send + Sync,
        B: Future,
        B::Output: TransactionOutput + Send,
    {
        self.run_parallel_collect_with(Runtime::new(), factory)
    }

    /// Like [`LoadTest::run_parallel_with`], keeping each bot's output in
    /// [`RunOutcome::outputs`] and each worker's world, as its bots left it, in
    /// [`RunOutcome::world`] (in the order of the workers).
    ///
    /// # Examples
    /// ```
    /// use ttk::harness::{LoadTest, Session};
    /// use ttk::{Cx, Runtime};
    ///
    /// #[ttk::bot]
    /// fn greeter(cx: Cx<(), u64>, _session: Session) {
    ///     ttk::yield_!();
    ///     cx.world(|greetings| *greetings += 1);
    /// }
    ///
    /// let args = ["hi", "--bots", "9", "--workers", "3", "-q"];
    /// let test = LoadTest::try_from_args("hi", args).unwrap();
    /// let outcome = test.run_parallel_collect_with(Runtime::new().world(0_u64), greeter);
    /// let greetings: u64 = outcome.world.unwrap().iter().sum();
    /// assert_eq!(greetings, 9);
    /// ```
    pub fn run_parallel_collect_with<M, W, F, B>(
        self,
        runtime: Runtime<W>,
        factory: F,
    ) -> RunOutcome<B::Output, Vec<W>>
    where
        M: Send + 'static,
        W: Clone + Send + 'static,
        F: Fn(Cx<M, W>, Session) -> B + Send + Sync,
        B: Future,
        B::Output: TransactionOutput + Send,
    {
        let outputs = Mutex::new(Vec::new());
        let (outcome, worlds) = self.run_workers(runtime, factory, |id, output| {
            outputs
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .push((id, output));
        });
        let outputs = outputs
            .into_inner()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        with_outputs(outcome, outputs, worlds)
    }
}

/// `outcome` with the bots' outputs, in the order of their ids, and the world.
fn with_outputs<T, W>(
    outcome: RunOutcome,
    mut outputs: Vec<(usize, Result<T, BotError>)>,
    world: Option<W>,
) -> RunOutcome<T, W> {
    outputs.sort_by_key(|(id, _)| *id);
    let mut kept = RunOutcome::new(outcome.report, outcome.code);
    kept.outputs = outputs;
    kept.world = world;
    kept
}
