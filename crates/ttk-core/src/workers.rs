//! A run on several threads: [`Workers`], one loop per worker.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::cx::Cx;
use crate::exchange::{CrossMail, Exchange};
use crate::ids::IdSlice;
use crate::link::{Link, Linked};
use crate::outcome::BotError;
use crate::run_end::{RunEnd, RunReport, RunSummary};
use crate::runtime::Runtime;
use crate::stop::{MAX_LOOPS, StopHandle, StopSignal};

/// Sets up one worker's loop: its worker number and the runtime made for it.
type EachLoop<W> = Arc<dyn Fn(usize, Runtime<W>) -> Runtime<W> + Send + Sync>;

/// A run on several workers: one loop per worker, each on a thread of its own, sharing
/// nothing but what crosses between them. Made by [`Runtime::workers`].
///
/// What a run means does not change with the number of workers:
/// - **Bots** keep their global ids: the planned bots are cut in contiguous blocks, one per
///   worker (neighbours stay together; [`Workers::keep_together`] keeps whole groups of ids on
///   one worker), and bots started later go round the workers (see [`IdSlice`]).
/// - **Messages** reach bots on any worker: a bot of another loop receives it on that loop's
///   next tick; [`Cx::broadcast`] reaches every bot of the process's loops. Message types
///   cross threads, so they must be `Send`. Messages do not cross processes: in a shard (see
///   [`Runtime::ids`]), a message to a bot of another shard is dropped, as one to a bot that
///   is not running.
/// - **Determinism**: each loop is deterministic on its own, but when a message from another
///   loop arrives depends on the threads' timing, so runs whose bots message across workers
///   are not deterministic (runs whose bots only talk within their loop are).
/// - **Stalls**: a loop whose bots wait for messages waits for the other loops; the run has
///   stalled only when every loop waits for the others with no message on its way.
/// - **Groups** live on one loop: a group's members must share a worker, and a bot that joins
///   a group of another worker fails with a message that says so (a group's changes and
///   barriers follow the ticks of one loop, and loops on different threads share no tick).
///   Barriers are handles of one loop (they are not `Send`), and so are the world and the tick
///   hooks: each worker has its own copy of the world.
/// - **Time**: each loop has its own clock (virtual clocks included); the deadline and stop
///   handles apply to all.
///
/// The factory is shared by the workers (`Fn + Send + Sync`); the bots it makes need not be
/// `Send`: each is made, runs and ends on its worker's thread.
///
/// # Examples
/// ```
/// # use ttk_macros::bot;
/// use ttk_core::{Cx, Runtime};
///
/// // Each bot passes a token to the next: bots 0-49 on one worker, 50-99 on the other.
/// #[bot(crate = ttk_core)]
/// fn relay(cx: Cx<u64>, id: usize) -> u64 {
///     let token = match id {
///         0 => 0,
///         _ => ttk_core::yield_!(cx.recv()).data,
///     };
///     if id < 99 {
///         cx.send(id + 1, token + id as u64);
///     }
///     token
/// }
///
/// let tokens = Runtime::new().workers(2).run(100, relay);
/// assert_eq!(tokens[99], (0..99).sum::<u64>());
/// ```
pub struct Workers<W = ()> {
    count: usize,
    virtual_time: bool,
    seed: u64,
    deadline: Option<Duration>,
    stop: Arc<StopSignal>,
    world: W,
    /// The process's own slice of the run (a shard), which the workers cut further.
    ids: IdSlice,
    together: usize,
    each_loop: Option<EachLoop<W>>,
}

impl<W> std::fmt::Debug for Workers<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Workers")
            .field("count", &self.count)
            .field("ids", &self.ids)
            .field("together", &self.together)
            .finish_non_exhaustive()
    }
}

impl<W> Runtime<W> {
    /// Runs on `count` workers: `count` loops on as many threads (0: one per core, as the
    /// system reports them). The runtime's options (clock, seed, deadline, stop handles, a
    /// shard's [`ids`](Runtime::ids), the world — copied to each worker) apply to every loop;
    /// what belongs to one loop (a bot source, tick hooks, a metrics sink) is set per worker
    /// with [`Workers::each_loop`].
    ///
    /// # Panics
    /// If the runtime already has a source, tick hooks or a metrics sink (set them in
    /// [`Workers::each_loop`]), or `count` is over 256.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// use ttk_core::{Cx, Runtime};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn ring(cx: Cx<usize>, id: usize) -> usize {
    ///     // Each bot tells the next; some of them live on the other worker's loop.
    ///     cx.send((id + 1) % 4, id);
    ///     ttk_core::yield_!(cx.recv()).data
    /// }
    ///
    /// assert_eq!(Runtime::new().workers(2).run(4, ring), [3, 0, 1, 2]);
    /// ```
    pub fn workers(self, count: usize) -> Workers<W> {
        assert!(
            self.hooks.is_empty() && self.source.is_none() && self.metrics.is_none(),
            "a runtime on several workers takes its bot source, tick hooks and metrics sink per \
             loop: set them in Workers::each_loop"
        );
        let count = match count {
            0 => std::thread::available_parallelism()
                .map_or(1, usize::from)
                .min(MAX_LOOPS),
            count => count,
        };
        assert!(
            count <= MAX_LOOPS,
            "at most {MAX_LOOPS} workers, not {count}"
        );
        Workers {
            count,
            virtual_time: self.virtual_time,
            seed: self.seed,
            deadline: self.deadline,
            stop: self.stop,
            world: self.world,
            ids: self.ids,
            together: 1,
            each_loop: None,
        }
    }
}

impl<W: Clone + Send + 'static> Workers<W> {
    /// How many workers (loops) the run has.
    ///
    /// # Examples
    /// ```
    /// let workers = ttk_core::Runtime::new().workers(3);
    /// assert_eq!(workers.count(), 3);
    /// assert!(ttk_core::Runtime::new().workers(0).count() >= 1); // one per core
    /// ```
    pub fn count(&self) -> usize {
        self.count
    }

    /// Keeps the planned bots in whole groups of `count` consecutive ids on one worker (the
    /// players of a room, ids `k * count ..`), so that groups of them can meet.
    ///
    /// # Examples
    /// ```
    /// let workers = ttk_core::Runtime::new().workers(3).keep_together(4);
    /// // 20 bots in rooms of 4: no room is cut.
    /// let blocks: Vec<_> = (0..3).map(|worker| workers.slice(worker, 20).first_ids()).collect();
    /// assert_eq!(blocks, [0..4, 4..12, 12..20]);
    /// ```
    pub fn keep_together(mut self, count: usize) -> Self {
        self.together = count.max(1);
        self
    }

    /// Sets up each worker's loop: `setup(worker, runtime)` gets the runtime made for worker
    /// `worker` (from 0) and returns it with what belongs to one loop — a bot source, tick
    /// hooks, a metrics sink. It runs on the worker's thread.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// use std::sync::atomic::{AtomicU64, Ordering};
    /// use ttk_core::{Cx, Runtime};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn step(_cx: Cx, _id: usize) {
    ///     ttk_core::yield_!();
    /// }
    ///
    /// static TICKS: AtomicU64 = AtomicU64::new(0);
    /// Runtime::new()
    ///     .workers(2)
    ///     .each_loop(|_worker, runtime| {
    ///         runtime.on_tick(|_: &mut (), _| {
    ///             TICKS.fetch_add(1, Ordering::Relaxed);
    ///         })
    ///     })
    ///     .run(10, step);
    /// assert!(TICKS.load(Ordering::Relaxed) >= 2, "each loop ran its hook");
    /// ```
    pub fn each_loop(
        mut self,
        setup: impl Fn(usize, Runtime<W>) -> Runtime<W> + Send + Sync + 'static,
    ) -> Self {
        self.each_loop = Some(Arc::new(setup));
        self
    }

    /// A handle that stops every worker's loop (see [`StopHandle`]).
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// use ttk_core::{Cx, RunEnd, Runtime};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn forever(_cx: Cx, _id: usize) {
    ///     loop {
    ///         ttk_core::yield_!(ttk_core::sleep(std::time::Duration::from_millis(1)));
    ///     }
    /// }
    ///
    /// let workers = Runtime::new().workers(2);
    /// let stop = workers.stop_handle();
    /// std::thread::spawn(move || stop.stop());
    /// assert_eq!(workers.execute(4, forever).end, RunEnd::Stopped);
    /// ```
    pub fn stop_handle(&self) -> StopHandle {
        StopHandle {
            signal: Arc::clone(&self.stop),
        }
    }

    /// Which ids worker `worker`'s loop holds, the run's first `planned` bots cut among the
    /// workers (and among the shards, if the runtime is one).
    ///
    /// # Examples
    /// ```
    /// use ttk_core::{IdSlice, Runtime};
    ///
    /// // Shard 1 of 2 of a run of 100 bots, on two workers: 50..75 and 75..100.
    /// let shard = IdSlice::new(1, 2).unwrap();
    /// let workers = Runtime::new().ids(shard).workers(2);
    /// assert_eq!(workers.slice(0, 100).first_ids(), 50..75);
    /// assert_eq!(workers.slice(1, 100).first_ids(), 75..100);
    /// ```
    pub fn slice(&self, worker: usize, planned: usize) -> IdSlice {
        self.ids
            .planned(planned)
            .together(least_common_multiple(
                self.together,
                self.ids.kept_together(),
            ))
            .split(worker, self.count)
            .expect("the worker is one of the run's")
    }

    /// Runs the run's bots `f(cx, id)` on the workers, and hands each one's outcome to
    /// `on_exit(id, outcome)` as it ends (on its worker's thread). `n` bots start at once, cut
    /// among the workers (a shard runs its block of them); with `n = 0`, bots come from the
    /// loops' sources, and the runtime's [`ids`](Runtime::ids) say how many are planned.
    /// Returns each worker's world and the run's end: the worst of the loops' (a loop that
    /// failed, then one that stalled, was stopped or reached the deadline).
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use ttk_core::{Cx, RunEnd, Runtime};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn double(_cx: Cx, id: usize) -> usize {
    ///     id * 2
    /// }
    ///
    /// let sum = AtomicUsize::new(0);
    /// let summary = Runtime::new().workers(2).execute_each(100, double, |_, outcome| {
    ///     sum.fetch_add(outcome.unwrap(), Ordering::Relaxed);
    /// });
    /// assert_eq!(summary.end, RunEnd::Completed);
    /// assert_eq!(summary.bots_started, 100);
    /// assert_eq!(summary.world.len(), 2); // each worker's world
    /// assert_eq!(sum.into_inner(), 9_900);
    /// ```
    pub fn execute_each<M, F, B>(
        self,
        n: usize,
        f: F,
        on_exit: impl Fn(usize, Result<B::Output, BotError>) + Send + Sync,
    ) -> RunSummary<Vec<W>>
    where
        M: Send + 'static,
        F: Fn(Cx<M, W>, usize) -> B + Send + Sync,
        B: Future,
    {
        let planned = if n > 0 { n } else { self.ids.planned_bots() };
        let link = Link::new(self.count);
        let exchange = Exchange::<M>::new(self.count);
        let (f, on_exit) = (&f, &on_exit);
        let loops: Vec<RunSummary<W>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..self.count)
                .map(|worker| {
                    let slice = self.slice(worker, planned);
                    let runtime = self.runtime_for(worker, slice, &link, &exchange);
                    let each_loop = self.each_loop.clone();
                    let first = if n > 0 { slice.first_ids().len() } else { 0 };
                    let guard = LoopGuard {
                        link: Arc::clone(&link),
                        exchange: Arc::clone(&exchange),
                        worker,
                        stop: self.stop_handle(),
                    };
                    std::thread::Builder::new()
                        .name(format!("ttk-worker-{worker}"))
                        .spawn_scoped(scope, move || {
                            let _guard = guard;
                            let runtime = runtime.build();
                            let runtime = match &each_loop {
                                Some(setup) => setup(worker, runtime),
                                None => runtime,
                            };
                            runtime.execute_each(first, f, on_exit)
                        })
                        .expect("a thread for a worker")
                })
                .collect();
            handles
                .into_iter()
                .map(|handle| {
                    handle
                        .join()
                        .unwrap_or_else(|p| std::panic::resume_unwind(p))
                })
                .collect()
        });
        let mut summary = RunSummary {
            world: Vec::with_capacity(loops.len()),
            end: RunEnd::Completed,
            bots_started: 0,
        };
        for one in loops {
            summary.bots_started += one.bots_started;
            if severity(&one.end) > severity(&summary.end) {
                summary.end = one.end;
            }
            summary.world.push(one.world);
        }
        summary
    }

    /// Like [`Workers::execute_each`], keeping the outcomes: those of bots `0..n` in id order,
    /// then those of bots started later, in id order.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// use ttk_core::{Cx, Runtime};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn maybe(_cx: Cx, id: usize) -> usize {
    ///     assert!(id != 7, "seven fails");
    ///     id
    /// }
    ///
    /// let report = Runtime::new().workers(2).execute(10, maybe);
    /// assert_eq!(report.outcomes.len(), 10);
    /// assert!(report.outcomes[7].is_err() && report.outcomes[8].is_ok());
    /// ```
    pub fn execute<M, F, B>(self, n: usize, f: F) -> RunReport<B::Output, Vec<W>>
    where
        M: Send + 'static,
        F: Fn(Cx<M, W>, usize) -> B + Send + Sync,
        B: Future,
        B::Output: Send,
    {
        let outcomes = Mutex::new(Vec::new());
        let summary = self.execute_each(n, f, |id, outcome| {
            outcomes
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .push((id, outcome));
        });
        let mut outcomes = outcomes
            .into_inner()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        outcomes.sort_unstable_by_key(|(id, _)| *id);
        RunReport {
            outcomes: outcomes.into_iter().map(|(_, outcome)| outcome).collect(),
            world: summary.world,
            end: summary.end,
        }
    }

    /// Runs bots `f(cx, id)` for `id` in `0..n` on the workers and returns their results in id
    /// order.
    ///
    /// # Panics
    /// As [`Runtime::run`]: if a bot failed, or the run failed.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// use ttk_core::{Cx, Runtime};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn double(_cx: Cx, id: usize) -> usize {
    ///     ttk_core::yield_!();
    ///     id * 2
    /// }
    ///
    /// assert_eq!(Runtime::new().workers(3).run(5, double), [0, 2, 4, 6, 8]);
    /// ```
    pub fn run<M, F, B>(self, n: usize, f: F) -> Vec<B::Output>
    where
        M: Send + 'static,
        F: Fn(Cx<M, W>, usize) -> B + Send + Sync,
        B: Future,
        B::Output: Send,
    {
        let report = self.execute(n, f);
        if let RunEnd::Failed(error) = report.end {
            panic!("{error}");
        }
        report
            .outcomes
            .into_iter()
            .map(|outcome| {
                outcome
                    .unwrap_or_else(|error| std::panic::resume_unwind(Box::new(error.to_string())))
            })
            .collect()
    }

    /// What worker `worker`'s thread makes its runtime from.
    fn runtime_for<M: Send + 'static>(
        &self,
        worker: usize,
        slice: IdSlice,
        link: &Arc<Link>,
        exchange: &Arc<Exchange<M>>,
    ) -> LoopPlan<W, M> {
        LoopPlan {
            worker,
            virtual_time: self.virtual_time,
            seed: self.seed,
            deadline: self.deadline,
            stop: Arc::clone(&self.stop),
            world: self.world.clone(),
            slice,
            link: Arc::clone(link),
            exchange: Arc::clone(exchange),
        }
    }
}

/// What a worker's loop is made of: all `Send`, carried to its thread.
struct LoopPlan<W, M> {
    worker: usize,
    virtual_time: bool,
    seed: u64,
    deadline: Option<Duration>,
    stop: Arc<StopSignal>,
    world: W,
    slice: IdSlice,
    link: Arc<Link>,
    exchange: Arc<Exchange<M>>,
}

impl<W: 'static, M: 'static> LoopPlan<W, M> {
    /// The worker's runtime, on its thread.
    fn build(self) -> Runtime<W> {
        let mut runtime = Runtime::new()
            .virtual_time(self.virtual_time)
            .seed(self.seed)
            .ids(self.slice)
            .world(self.world);
        runtime.deadline = self.deadline;
        runtime.stop = self.stop;
        let (link, exchange, worker) = (self.link, self.exchange, self.worker);
        runtime.installers.push(Box::new(move |state| {
            Linked::install(state, Arc::clone(&link), worker)?;
            CrossMail::install(state, exchange, link, worker);
            Ok(())
        }));
        runtime
    }
}

/// Makes sure a worker's loop counts as finished, its inbox closed, however its thread ends:
/// a loop that failed to start, or a thread that panicked outside the bots, must not leave the
/// others waiting for it. A panic also stops the other loops (it is passed on once all end).
struct LoopGuard<M> {
    link: Arc<Link>,
    exchange: Arc<Exchange<M>>,
    worker: usize,
    stop: StopHandle,
}

impl<M> Drop for LoopGuard<M> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.stop.stop();
        }
        self.exchange.close(self.worker, &self.link);
        self.link.finish(self.worker, false);
    }
}

/// The smallest count both groupings divide: rooms of 4 kept together in shards cut on rooms
/// of 6 are kept together in blocks of 12.
fn least_common_multiple(a: usize, b: usize) -> usize {
    let (mut x, mut y) = (a.max(1), b.max(1));
    while y != 0 {
        (x, y) = (y, x % y);
    }
    a.max(1) / x * b.max(1)
}

/// How bad an end is, to report the worst of the loops'.
fn severity(end: &RunEnd) -> u8 {
    match end {
        RunEnd::Completed => 0,
        RunEnd::DeadlineReached => 1,
        RunEnd::Stopped => 2,
        RunEnd::Stalled => 3,
        RunEnd::Failed(_) => 4,
    }
}
