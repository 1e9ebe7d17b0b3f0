//! Starting a run: the [`Runtime`] builder and the [`run`] / [`try_run`] shortcuts.

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use crate::context::EnterGuard;
use crate::cx::Cx;
use crate::executor::{Executor, Outcomes};
use crate::ids::IdSlice;
use crate::loop_state::LoopState;
use crate::metrics::{self, MetricsSnapshot};
use crate::outcome::{BotError, panic_message};
use crate::run_end::{RunEnd, RunError, RunReport, RunSummary};
use crate::source::BotSource;
use crate::stop::{StopHandle, StopSignal};
use crate::world::{self, TickInfo, WorldHook};

/// Options for a run; [`run`] and [`try_run`] use the defaults. `W` is the type of the shared
/// world (see [`Runtime::world`]).
///
/// # Examples
/// ```
/// # use ttk_macros::bot;
/// use std::time::Duration;
/// use ttk_core::{Cx, Runtime};
///
/// #[bot(crate = ttk_core)]
/// fn nap(_cx: Cx, id: usize) -> usize {
///     ttk_core::yield_!(ttk_core::sleep(Duration::from_secs(3600)));
///     id
/// }
///
/// // An hour of virtual time passes at once.
/// let ids = Runtime::new().virtual_time(true).run(2, nap);
/// assert_eq!(ids, vec![0, 1]);
/// ```
pub struct Runtime<W = ()> {
    /// Whether time is virtual (see [`Runtime::virtual_time`]).
    pub(crate) virtual_time: bool,
    /// The seed of the bots' random generators.
    pub(crate) seed: u64,
    /// The shared world.
    pub(crate) world: W,
    /// Hooks run after every tick, in order.
    pub(crate) hooks: Vec<WorldHook<W>>,
    /// When the run stops by itself.
    pub(crate) deadline: Option<Duration>,
    /// Shared with the stop handles given out.
    pub(crate) stop: Arc<StopSignal>,
    /// Bots that arrive while the run goes on.
    pub(crate) source: Option<Box<dyn BotSource>>,
    /// Where the loop's metrics go, and how often.
    pub(crate) metrics: Option<(metrics::Sink, Duration)>,
    /// Which of the run's bot ids this loop holds.
    pub(crate) ids: IdSlice,
    /// Plug the loop into the other loops of a run on several workers, once it is made.
    pub(crate) installers: Vec<Installer>,
}

/// Plugs something into a loop once it is made (before its first bot).
pub(crate) type Installer = Box<dyn FnOnce(&LoopState) -> std::io::Result<()>>;

impl Runtime {
    /// A runtime with the default options: real time, seed 0, no world.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// use ttk_core::{Cx, Runtime};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn hello(_cx: Cx, id: usize) -> String {
    ///     format!("bot {id}")
    /// }
    ///
    /// assert_eq!(Runtime::new().run(2, hello), ["bot 0", "bot 1"]);
    /// ```
    pub fn new() -> Self {
        Runtime {
            virtual_time: false,
            seed: 0,
            world: (),
            hooks: Vec::new(),
            deadline: None,
            stop: Arc::default(),
            source: None,
            metrics: None,
            ids: IdSlice::whole(),
            installers: Vec::new(),
        }
    }
}

impl Default for Runtime {
    fn default() -> Self {
        Runtime::new()
    }
}

impl<W> fmt::Debug for Runtime<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("virtual_time", &self.virtual_time)
            .field("seed", &self.seed)
            .field("hooks", &self.hooks.len())
            .field("deadline", &self.deadline)
            .field("source", &self.source.is_some())
            .field("ids", &self.ids)
            .finish_non_exhaustive()
    }
}

impl<W: 'static> Runtime<W> {
    /// Uses a virtual clock: time stands still while bots run, and when every bot waits, it jumps
    /// to the next timer. Sleeping bots then finish in no wall time, in the same order every run.
    ///
    /// With sockets, the rule is: the clock jumps only while no bot waits on I/O. While one
    /// does, virtual time passes at the speed of real time, so a `timeout` around a read
    /// expires after its real duration instead of at once. A run with sockets is therefore not
    /// deterministic (neither is the network); one without is.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// use std::time::{Duration, Instant};
    /// use ttk_core::{Cx, Runtime};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn long_nap(_cx: Cx, _id: usize) -> Duration {
    ///     let start = ttk_core::now();
    ///     ttk_core::yield_!(ttk_core::sleep(Duration::from_secs(3600)));
    ///     ttk_core::now() - start
    /// }
    ///
    /// let wall = Instant::now();
    /// let napped = Runtime::new().virtual_time(true).run(2, long_nap);
    /// assert_eq!(napped, [Duration::from_secs(3600); 2]);
    /// assert!(wall.elapsed() < Duration::from_secs(60));
    /// ```
    pub fn virtual_time(mut self, enabled: bool) -> Self {
        self.virtual_time = enabled;
        self
    }

    /// Seeds the bots' random generators ([`Cx::rng`]): the same seed gives the same numbers.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// use ttk_core::{Cx, Runtime};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn draw(cx: Cx, _id: usize) -> u64 {
    ///     cx.rng().next_u64()
    /// }
    ///
    /// assert_eq!(Runtime::new().seed(1).run(3, draw), Runtime::new().seed(1).run(3, draw));
    /// assert_ne!(Runtime::new().seed(1).run(3, draw), Runtime::new().seed(2).run(3, draw));
    /// ```
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Stops the run once `duration` has passed on its clock (virtual under
    /// [`Runtime::virtual_time`]): every bot still running is dropped in place — sockets closed,
    /// timers cancelled — and its outcome is [`BotErrorKind::Stopped`](crate::BotErrorKind);
    /// the run ends with [`RunEnd::DeadlineReached`]. Bots parked on I/O are stopped too: the
    /// loop's wait for events ends at the deadline.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// use std::time::Duration;
    /// use ttk_core::{Cx, RunEnd, Runtime};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn ticker(_cx: Cx, _id: usize) {
    ///     loop {
    ///         ttk_core::yield_!(ttk_core::sleep(Duration::from_secs(1)));
    ///     }
    /// }
    ///
    /// let report = Runtime::new()
    ///     .virtual_time(true)
    ///     .deadline(Duration::from_secs(3600))
    ///     .execute(10, ticker);
    /// assert_eq!(report.end, RunEnd::DeadlineReached);
    /// ```
    pub fn deadline(mut self, duration: Duration) -> Self {
        self.deadline = Some(duration);
        self
    }

    /// A handle that stops the run from any thread or a signal handler (see [`StopHandle`]).
    /// Take it before starting the run; every handle taken stops the same run.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// use ttk_core::{Cx, RunEnd, Runtime};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn waits(cx: Cx<u8>, _id: usize) {
    ///     ttk_core::yield_!(cx.recv());
    /// }
    ///
    /// let runtime = Runtime::new();
    /// // Stopped before it starts: it ends at once.
    /// runtime.stop_handle().stop();
    /// assert_eq!(runtime.execute(2, waits).end, RunEnd::Stopped);
    /// ```
    pub fn stop_handle(&self) -> StopHandle {
        StopHandle {
            signal: Arc::clone(&self.stop),
        }
    }

    /// Adds bots while the run goes on: the loop asks `source` at the times it names (see
    /// [`BotSource`]), and the run's factory makes each bot with the next id. Finished bots'
    /// places are reused, so memory follows the bots alive, not all that ever ran; pair it with
    /// [`Runtime::execute_each`] so outcomes are not kept either.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// use ttk_core::{Arrivals, Cx, Runtime};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn arrival(_cx: Cx, id: usize) -> usize {
    ///     id
    /// }
    ///
    /// // Three more bots after the two the run starts with.
    /// let mut more = Some(Arrivals::start(3).then_done());
    /// let outputs = Runtime::new()
    ///     .source(move |_now, _live| more.take().unwrap_or_else(Arrivals::done))
    ///     .run(2, arrival);
    /// assert_eq!(outputs, [0, 1, 2, 3, 4]);
    /// ```
    pub fn source(mut self, source: impl BotSource + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// Hands the bots' measurements (see [`metrics`](crate::metrics)) to `sink`: a
    /// [`MetricsSnapshot`] of each second of the run, on the loop's clock, and one more for the
    /// rest of the last second when the run ends. The sink runs on the loop's thread between
    /// ticks: keep it short (send the snapshot to another thread to print or store it). A
    /// sink that panics ends the run with [`RunError::MetricsSinkPanicked`].
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// use std::time::Duration;
    /// use ttk_core::{Cx, Runtime};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn pinger(cx: Cx, _id: usize) {
    ///     for _ in 0..10 {
    ///         let _: () = ttk_core::yield_!(cx.time("ping", ttk_core::sleep(Duration::from_millis(500))));
    ///     }
    /// }
    ///
    /// let (sender, receiver) = std::sync::mpsc::channel();
    /// Runtime::new()
    ///     .virtual_time(true)
    ///     .metrics(move |snapshot| sender.send(snapshot).unwrap())
    ///     .run(2, pinger);
    /// let snapshots: Vec<_> = receiver.try_iter().collect();
    /// assert_eq!(snapshots.len(), 5 + 1); // five seconds, then the rest
    /// assert!(snapshots.last().unwrap().last);
    /// // An interval holds what ended in it; the pings ending at 1 s fall in the second one.
    /// assert_eq!(snapshots[0].transactions[0].ok, 2);
    /// let pings: u64 = snapshots.iter().flat_map(|s| &s.transactions).map(|t| t.ok).sum();
    /// assert_eq!(pings, 20);
    /// ```
    pub fn metrics(self, sink: impl FnMut(MetricsSnapshot) + 'static) -> Self {
        self.metrics_every(Duration::from_secs(1), sink)
    }

    /// Like [`Runtime::metrics`], with snapshots every `interval` instead of every second.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// use std::time::Duration;
    /// use ttk_core::{Cx, Runtime};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn pinger(cx: Cx, _id: usize) {
    ///     for _ in 0..4 {
    ///         let ping = cx.time("ping", ttk_core::sleep(Duration::from_millis(100)));
    ///         let _: () = ttk_core::yield_!(ping);
    ///     }
    /// }
    ///
    /// let (sender, receiver) = std::sync::mpsc::channel();
    /// Runtime::new()
    ///     .virtual_time(true)
    ///     .metrics_every(Duration::from_millis(250), move |s| sender.send(s).unwrap())
    ///     .run(1, pinger);
    /// let intervals: Vec<_> = receiver
    ///     .try_iter()
    ///     .map(|s| (s.elapsed.as_millis(), s.transactions[0].ok))
    ///     .collect();
    /// assert_eq!(intervals, [(250, 2), (400, 2)]); // two pings a quarter, then the run's end
    /// ```
    pub fn metrics_every(
        mut self,
        interval: Duration,
        sink: impl FnMut(MetricsSnapshot) + 'static,
    ) -> Self {
        self.metrics = Some((Box::new(sink), interval));
        self
    }

    /// Runs one lane of a run cut in several (a shard of a run spread over processes or
    /// machines): the bots of this loop get the lane's global ids (see [`IdSlice`]), which is
    /// what their factory is given, [`Cx::id`] returns, messages are addressed to and their
    /// random generators are seeded from — bot 1234 is the same bot however the run is cut.
    ///
    /// `execute(n, f)` then starts this lane's first `n` bots at once (usually its whole block,
    /// `slice.first_ids().len()`); bots started later take the lane's later ids.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// use ttk_core::{Cx, IdSlice, Runtime};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn roll(cx: Cx, id: usize) -> (usize, u64) {
    ///     (id, cx.rng().below(1000))
    /// }
    ///
    /// let whole = Runtime::new().seed(7).run(10, roll);
    /// // The same ten bots cut in three shards: each runs its block, with the same choices.
    /// let mut cut = Vec::new();
    /// for shard in 0..3 {
    ///     let slice = IdSlice::new(shard, 3).unwrap().planned(10);
    ///     let block = slice.first_ids();
    ///     cut.extend(Runtime::new().seed(7).ids(slice).run(block.len(), roll));
    /// }
    /// assert_eq!(cut, whole);
    /// ```
    pub fn ids(mut self, slice: IdSlice) -> Self {
        self.ids = slice;
        self
    }

    /// Which of the run's bot ids this loop holds (the whole run unless set with
    /// [`Runtime::ids`], or by [`Workers`](crate::Workers) for each worker's loop).
    ///
    /// # Examples
    /// ```
    /// use ttk_core::{IdSlice, Runtime};
    ///
    /// assert!(Runtime::new().id_slice().is_whole());
    /// let shard = IdSlice::new(1, 2).unwrap();
    /// assert_eq!(Runtime::new().ids(shard).id_slice(), shard);
    /// ```
    pub fn id_slice(&self) -> IdSlice {
        self.ids
    }

    /// Shares `world` among the bots, which reach it with [`Cx::world`] (their context is then a
    /// `Cx<M, W2>`). Hooks added before are dropped: they were written for the old world.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// use ttk_core::{Cx, Runtime};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn sign(cx: Cx<(), Vec<usize>>, id: usize) {
    ///     cx.world(|guests| guests.push(id));
    /// }
    ///
    /// let (_, guests) = Runtime::new().world(Vec::new()).run_with_world(3, sign);
    /// assert_eq!(guests, [0, 1, 2]);
    /// ```
    pub fn world<W2: 'static>(self, world: W2) -> Runtime<W2> {
        Runtime {
            virtual_time: self.virtual_time,
            seed: self.seed,
            world,
            hooks: Vec::new(),
            deadline: self.deadline,
            stop: self.stop,
            source: self.source,
            metrics: self.metrics,
            ids: self.ids,
            installers: self.installers,
        }
    }

    /// Adds a hook run after every tick (after the tick's messages are delivered), with the
    /// world — a simulation step, a progress line. Hooks stack: they run in the order added.
    /// A hook may start bots ([`start_bots`](crate::start_bots)). A hook that panics ends the
    /// run with [`RunError::HookPanicked`] naming it.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// use ttk_core::{Cx, Runtime};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn walker(_cx: Cx<(), Vec<u64>>, _id: usize) {
    ///     for _ in 0..3 {
    ///         ttk_core::yield_!();
    ///     }
    /// }
    ///
    /// let (_, ticks) = Runtime::new()
    ///     .world(Vec::new())
    ///     .on_tick(|ticks: &mut Vec<u64>, info| ticks.push(info.tick))
    ///     .run_with_world(2, walker);
    /// assert_eq!(ticks, [0, 1, 2, 3]);
    /// ```
    pub fn on_tick(mut self, hook: impl FnMut(&mut W, &TickInfo) + 'static) -> Self {
        self.hooks.push(Box::new(hook));
        self
    }

    /// Builds bots `f(cx, id)` for `id` in `0..n`, runs them on this thread until all are done
    /// and returns their results in id order.
    ///
    /// # Panics
    /// After all bots are done, if one panicked, stalled (it waited with nothing left that could
    /// wake it) or was stopped, with the first failure's bot id and message, as
    /// `std::thread::scope` does. Use [`Runtime::try_run`] to get every bot's outcome instead.
    /// Also as [`Runtime::try_run`].
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// use ttk_core::{Cx, Runtime};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn square(_cx: Cx, id: usize) -> usize {
    ///     ttk_core::yield_!();
    ///     id * id
    /// }
    ///
    /// assert_eq!(Runtime::new().run(4, square), [0, 1, 4, 9]);
    /// ```
    pub fn run<M, F, B>(self, n: usize, f: F) -> Vec<B::Output>
    where
        M: 'static,
        F: FnMut(Cx<M, W>, usize) -> B,
        B: Future,
    {
        self.run_with_world(n, f).0
    }

    /// Like [`Runtime::run`], and gives the world back too.
    ///
    /// # Panics
    /// As [`Runtime::run`].
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// use ttk_core::{Cx, Runtime};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn count(cx: Cx<(), u32>, _id: usize) -> u32 {
    ///     cx.world(|visits| {
    ///         *visits += 1;
    ///         *visits
    ///     })
    /// }
    ///
    /// let (outputs, visits) = Runtime::new().world(0).run_with_world(3, count);
    /// assert_eq!((outputs, visits), (vec![1, 2, 3], 3));
    /// ```
    pub fn run_with_world<M, F, B>(self, n: usize, f: F) -> (Vec<B::Output>, W)
    where
        M: 'static,
        F: FnMut(Cx<M, W>, usize) -> B,
        B: Future,
    {
        let (outcomes, world) = self.try_run_with_world(n, f);
        if let Some(Err(error)) = outcomes.iter().find(|outcome| outcome.is_err()) {
            std::panic::resume_unwind(Box::new(error.to_string()));
        }
        // Collected in place: a million results must not be held twice.
        let results = outcomes
            .into_iter()
            .map(|outcome| outcome.unwrap_or_else(|_| unreachable!("no failure was found")))
            .collect();
        (results, world)
    }

    /// Like [`Runtime::run`], but returns each bot's outcome: its result, or why it failed.
    ///
    /// # Panics
    /// If `n` exceeds `u32::MAX - 1`, if called from inside a bot (runs do not nest), or, once
    /// the run has ended cleanly, if it ended with [`RunEnd::Failed`] (a tick hook, the factory
    /// or the source panicked; the selector failed or could not be made), with that error's
    /// message. [`Runtime::execute`] returns that error instead.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// use ttk_core::{Cx, Runtime};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn odd_ones_fail(_cx: Cx, id: usize) -> usize {
    ///     assert!(id % 2 == 0, "bot {id} is odd");
    ///     id
    /// }
    ///
    /// let outcomes = Runtime::new().try_run(3, odd_ones_fail);
    /// assert_eq!(outcomes[0].as_ref().unwrap(), &0);
    /// assert!(outcomes[1].as_ref().unwrap_err().to_string().contains("bot 1 is odd"));
    /// assert_eq!(outcomes[2].as_ref().unwrap(), &2);
    /// ```
    pub fn try_run<M, F, B>(self, n: usize, f: F) -> Vec<Result<B::Output, BotError>>
    where
        M: 'static,
        F: FnMut(Cx<M, W>, usize) -> B,
        B: Future,
    {
        self.try_run_with_world(n, f).0
    }

    /// Like [`Runtime::try_run`], and gives the world back too.
    ///
    /// # Panics
    /// As [`Runtime::try_run`].
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// use ttk_core::{Cx, Runtime};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn deposit(cx: Cx<(), u32>, id: usize) -> u32 {
    ///     assert_ne!(id, 1, "bot 1 drops its coin");
    ///     cx.world(|bank| *bank += 5);
    ///     id as u32
    /// }
    ///
    /// let (outcomes, bank) = Runtime::new().world(0).try_run_with_world(3, deposit);
    /// assert!(outcomes[1].is_err());
    /// assert_eq!(bank, 10);
    /// ```
    pub fn try_run_with_world<M, F, B>(
        self,
        n: usize,
        f: F,
    ) -> (Vec<Result<B::Output, BotError>>, W)
    where
        M: 'static,
        F: FnMut(Cx<M, W>, usize) -> B,
        B: Future,
    {
        let report = self.execute(n, f);
        if let RunEnd::Failed(error) = report.end {
            panic!("{error}");
        }
        (report.outcomes, report.world)
    }

    /// Runs bots `f(cx, id)` for `id` in `0..n` (and those started while the run goes on) and
    /// reports every outcome in id order, the world, and why the run ended. Nothing that goes
    /// wrong escapes as a panic: a failing hook, factory, source or selector ends the run cleanly
    /// with [`RunEnd::Failed`].
    ///
    /// # Panics
    /// If `n` exceeds `u32::MAX - 1`, or if called from inside a bot (runs do not nest).
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// use ttk_core::{Cx, RunEnd, Runtime};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn waits_forever(cx: Cx<u8>, _id: usize) {
    ///     ttk_core::yield_!(cx.recv()); // nobody sends
    /// }
    ///
    /// let report = Runtime::new().execute(2, waits_forever);
    /// assert_eq!(report.end, RunEnd::Stalled);
    /// assert!(report.outcomes.iter().all(Result::is_err));
    /// ```
    pub fn execute<M, F, B>(self, n: usize, f: F) -> RunReport<B::Output, W>
    where
        M: 'static,
        F: FnMut(Cx<M, W>, usize) -> B,
        B: Future,
    {
        // The first `n` outcomes stay in their bots' places (no second copy of a million
        // outcomes); those of bots started later are gathered here, by id.
        let mut later: Vec<Option<Result<B::Output, BotError>>> = Vec::new();
        let ids = self.ids;
        let (summary, first) = self.launch(n, f, true, |id, outcome| {
            let local = ids.local(id).expect("the loop's bots hold the loop's ids");
            let offset = local - n;
            if later.len() <= offset {
                later.resize_with(offset + 1, || None);
            }
            later[offset] = Some(outcome);
        });
        let mut outcomes = first.unwrap_or_default();
        outcomes.extend(
            later
                .into_iter()
                .map(|outcome| outcome.unwrap_or_else(|| unreachable!("every bot has an outcome"))),
        );
        RunReport {
            outcomes,
            world: summary.world,
            end: summary.end,
        }
    }

    /// Like [`Runtime::execute`], but hands each bot's outcome to `on_exit(id, outcome)` as the
    /// bot ends and keeps none: a run of ten million short sessions holds memory for the bots
    /// alive only. A panic in `on_exit` ends the run with [`RunError::CallbackPanicked`].
    ///
    /// # Panics
    /// As [`Runtime::execute`].
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// use ttk_core::{Cx, Runtime};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn session(_cx: Cx, id: usize) -> usize {
    ///     ttk_core::yield_!();
    ///     id
    /// }
    ///
    /// let mut finished = Vec::new();
    /// let summary = Runtime::new().execute_each(3, session, |id, outcome| {
    ///     finished.push((id, outcome.unwrap()));
    /// });
    /// assert_eq!(summary.bots_started, 3);
    /// finished.sort();
    /// assert_eq!(finished, [(0, 0), (1, 1), (2, 2)]);
    /// ```
    pub fn execute_each<M, F, B>(
        self,
        n: usize,
        f: F,
        on_exit: impl FnMut(usize, Result<B::Output, BotError>),
    ) -> RunSummary<W>
    where
        M: 'static,
        F: FnMut(Cx<M, W>, usize) -> B,
        B: Future,
    {
        self.launch(n, f, false, on_exit).0
    }

    /// Runs the bots: outcomes go to `on_exit`, except, if `keep_first`, those of the first `n`
    /// bots, which are returned (by id) at the end.
    fn launch<M, F, B>(
        self,
        n: usize,
        mut f: F,
        keep_first: bool,
        mut on_exit: impl FnMut(usize, Result<B::Output, BotError>),
    ) -> (RunSummary<W>, Option<Outcomes<B::Output>>)
    where
        M: 'static,
        F: FnMut(Cx<M, W>, usize) -> B,
        B: Future,
    {
        assert!(
            u32::try_from(n).is_ok_and(|count| count < u32::MAX),
            "a loop holds at most {} bots, not {n}",
            u32::MAX - 1
        );
        let world = Rc::new(RefCell::new(self.world));
        let state = match LoopState::new(
            self.virtual_time,
            self.seed,
            self.stop,
            self.deadline,
            self.ids,
        ) {
            Ok(state) => Rc::new(state),
            Err(error) => {
                let summary = RunSummary {
                    world: unwrap_world(world),
                    end: RunEnd::Failed(RunError::Selector(error)),
                    bots_started: 0,
                };
                return (summary, None);
            }
        };
        for install in self.installers {
            if let Err(error) = install(&state) {
                state.release_shared();
                drop(state);
                let summary = RunSummary {
                    world: unwrap_world(world),
                    end: RunEnd::Failed(RunError::Selector(error)),
                    bots_started: 0,
                };
                return (summary, None);
            }
        }
        world::install(&state, &world, self.hooks);
        if let Some((sink, interval)) = self.metrics {
            metrics::install(&state, sink, interval);
        }
        let (end, first) = {
            let _entered = EnterGuard::enter(Rc::clone(&state));
            let loop_id = state.id();
            let failures = Rc::clone(&state);
            let mut sink = |id: usize, outcome: Result<B::Output, BotError>| {
                let delivered = panic::catch_unwind(AssertUnwindSafe(|| on_exit(id, outcome)));
                if let Err(payload) = delivered {
                    let message = panic_message(&*payload);
                    let _ = panic::catch_unwind(AssertUnwindSafe(|| drop(payload)));
                    failures.fail(RunError::CallbackPanicked { bot: id, message });
                }
            };
            let executor = Executor::new(
                &state,
                n,
                |index, id| f(Cx::new(index, loop_id), id),
                &mut sink,
                self.source,
                keep_first,
            );
            let (end, first) = executor.run(n);
            state.end_features();
            // A failure while closing the run (the metrics sink's last snapshot) is its end.
            let end = match state.take_failure() {
                Some(failure) => RunEnd::Failed(failure),
                None => end,
            };
            (end, first)
        };
        let bots_started = state.bots.borrow().ids_reserved();
        state.release_shared();
        drop(state);
        let summary = RunSummary {
            world: unwrap_world(world),
            end,
            bots_started,
        };
        (summary, first)
    }
}

/// The world back from its `Rc`, once the run has released every handle on it.
fn unwrap_world<W>(world: Rc<RefCell<W>>) -> W {
    Rc::try_unwrap(world)
        .unwrap_or_else(|_| unreachable!("the run released every handle on the world"))
        .into_inner()
}

/// Runs bots `f(cx, id)` for `id` in `0..n` on this thread and returns their results in id order.
///
/// A tick runs every ready bot once, the first tick in id order; a bot that yields goes to the
/// back; a bot that waits is parked until what it waits for happens. Bots need not be `Send`:
/// they never leave this thread.
///
/// # Panics
/// After all bots are done, if one panicked, with its id and message (see [`Runtime::run`]).
///
/// # Examples
/// ```
/// # use ttk_macros::bot;
/// use ttk_core::Cx;
///
/// #[bot(crate = ttk_core)]
/// fn count(_cx: Cx, id: usize) -> usize {
///     ttk_core::yield_!();
///     id + 1
/// }
///
/// let results = ttk_core::run(4, count);
/// assert_eq!(results.iter().sum::<usize>(), 10);
/// ```
pub fn run<M, F, B>(n: usize, f: F) -> Vec<B::Output>
where
    M: 'static,
    F: FnMut(Cx<M>, usize) -> B,
    B: Future,
{
    Runtime::new().run(n, f)
}

/// Like [`run`], but returns each bot's outcome instead of panicking on the first failure.
///
/// # Examples
/// ```
/// # use ttk_macros::bot;
/// # use ttk_core::Cx;
/// #[bot(crate = ttk_core)]
/// fn maybe(_cx: Cx, id: usize) -> usize {
///     if id == 2 {
///         panic!("no luck");
///     }
///     id
/// }
///
/// let outcomes = ttk_core::try_run(3, maybe);
/// assert!(outcomes[0].is_ok() && outcomes[1].is_ok());
/// assert_eq!(outcomes[2].as_ref().unwrap_err().bot(), 2);
/// ```
pub fn try_run<M, F, B>(n: usize, f: F) -> Vec<Result<B::Output, BotError>>
where
    M: 'static,
    F: FnMut(Cx<M>, usize) -> B,
    B: Future,
{
    Runtime::new().try_run(n, f)
}
