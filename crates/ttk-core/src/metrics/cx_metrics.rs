//! The recording side of metrics, on a bot's [`Cx`].

use std::fmt::Display;
use std::future::{Future, IntoFuture};
use std::time::{Duration, Instant};

use super::failure::TransactionOutput;
use super::gauge_merge::GaugeMerge;
use super::transaction::Transaction;
use super::{with_metrics, with_registry};
use crate::cx::Cx;
use crate::time::{Elapsed, timeout};
use crate::timers::nanos;

const WHAT: &str = "a Cx";

impl<M, W> Cx<M, W> {
    /// Times `op` as a transaction named `name`: wait for it with
    /// `yield_!(cx.time("login", login(&conn)))`, which gives `op`'s output back. An `Err`
    /// output counts as a failure, classified by its kind (see [`TransactionOutput`]); if the
    /// bot gives up on the operation (drops it), it counts as abandoned; if the run stops
    /// meanwhile, as stopped.
    ///
    /// The clock starts when `time` is called.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// use std::io;
    /// use std::time::Duration;
    /// use ttk_core::{Cx, Runtime};
    ///
    /// async fn login(id: usize) -> io::Result<()> {
    ///     ttk_core::sleep(Duration::from_millis(10)).await;
    ///     match id {
    ///         0 => Err(io::ErrorKind::ConnectionRefused.into()),
    ///         _ => Ok(()),
    ///     }
    /// }
    ///
    /// #[bot(crate = ttk_core)]
    /// fn player(cx: Cx, id: usize) {
    ///     let _ = ttk_core::yield_!(cx.time("login", login(id)));
    /// }
    ///
    /// let snapshots = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    /// let seen = snapshots.clone();
    /// Runtime::new()
    ///     .virtual_time(true)
    ///     .metrics(move |snapshot| seen.borrow_mut().push(snapshot))
    ///     .run(4, player);
    /// let login = &snapshots.borrow()[0].transactions[0];
    /// assert_eq!((login.name.as_str(), login.ok, login.failed), ("login", 3, 1));
    /// assert_eq!(login.errors[0].kind, "ConnectionRefused");
    /// ```
    pub fn time<F>(&self, name: &str, op: F) -> impl Future<Output = F::Output> + use<F, M, W>
    where
        F: IntoFuture,
        F::Output: TransactionOutput,
    {
        let transaction = self.transaction(name);
        let op = op.into_future();
        async move {
            let output = op.await;
            transaction.finish(&output);
            output
        }
    }

    /// Like [`Cx::time`], with a time limit: if `op` takes longer than `limit`, it is dropped
    /// and the transaction fails as `TimedOut`, returning the error made from [`Elapsed`] (an
    /// [`io::Error`](std::io::Error) of kind `TimedOut` for I/O operations).
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// use std::io;
    /// use std::time::Duration;
    /// use ttk_core::{Cx, Runtime};
    ///
    /// async fn slow_reply() -> io::Result<u32> {
    ///     ttk_core::sleep(Duration::from_secs(5)).await;
    ///     Ok(7)
    /// }
    ///
    /// #[bot(crate = ttk_core)]
    /// fn impatient(cx: Cx, _id: usize) -> io::ErrorKind {
    ///     let reply = ttk_core::yield_!(cx.time_within("reply", Duration::from_secs(1), slow_reply()));
    ///     reply.unwrap_err().kind()
    /// }
    ///
    /// let kinds = Runtime::new().virtual_time(true).run(1, impatient);
    /// assert_eq!(kinds, [io::ErrorKind::TimedOut]);
    /// ```
    pub fn time_within<F, T, E>(
        &self,
        name: &str,
        limit: Duration,
        op: F,
    ) -> impl Future<Output = Result<T, E>> + use<F, T, E, M, W>
    where
        F: IntoFuture<Output = Result<T, E>>,
        E: From<Elapsed> + Display + 'static,
    {
        let transaction = self.transaction(name);
        let op = op.into_future();
        async move {
            let output = match timeout(limit, op).await {
                Ok(output) => output,
                Err(elapsed) => Err(E::from(elapsed)),
            };
            transaction.finish(&output);
            output
        }
    }

    /// Starts a transaction named `name`, finished by hand (see [`Transaction`]).
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// use std::time::Duration;
    /// use ttk_core::{Cx, Runtime};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn player(cx: Cx, id: usize) {
    ///     let round = cx.transaction("round"); // spans several waits
    ///     for _ in 0..3 {
    ///         ttk_core::yield_!(ttk_core::sleep(Duration::from_millis(100)));
    ///     }
    ///     if id == 0 {
    ///         round.ok();
    ///     } // bot 1 drops it unfinished: abandoned
    /// }
    ///
    /// let (sender, snapshots) = std::sync::mpsc::channel();
    /// Runtime::new().virtual_time(true).metrics(move |s| sender.send(s).unwrap()).run(2, player);
    /// let round = &snapshots.recv().unwrap().transactions[0];
    /// assert_eq!((round.ok, round.abandoned), (1, 1));
    /// assert!(round.latencies.equivalent(round.latencies.max(), 300_000)); // µs
    /// ```
    pub fn transaction(&self, name: &str) -> Transaction {
        Transaction::start(self.loop_id, name)
    }

    /// Records a success of transaction `name` that took `latency`, measured some other way
    /// (e.g. from a timestamp the server echoed).
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// use std::time::Duration;
    /// use ttk_core::{Cx, Runtime};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn reporter(cx: Cx, _id: usize) {
    ///     cx.record("frame", Duration::from_millis(16));
    /// }
    ///
    /// let snapshots = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    /// let seen = snapshots.clone();
    /// Runtime::new()
    ///     .metrics(move |snapshot| seen.borrow_mut().push(snapshot))
    ///     .run(2, reporter);
    /// assert_eq!(snapshots.borrow()[0].transactions[0].ok, 2);
    /// ```
    #[inline]
    pub fn record(&self, name: &str, latency: Duration) {
        with_registry(self.loop_id, WHAT, |registry| {
            let number = registry.transaction(name);
            registry.succeeded(number, nanos(latency));
        });
    }

    /// Adds `amount` to the counter `name` (bytes sent, messages received…). A counter counted
    /// only with 0 is reported, once, with 0: none counted is a figure too (a server that
    /// resumed no TLS session); leave a counter out by not counting it.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// use ttk_core::{Cx, Runtime};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn sender(cx: Cx, _id: usize) {
    ///     cx.count("bytes sent", 512);
    ///     cx.count("retries", 0);
    /// }
    ///
    /// let snapshots = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    /// let seen = snapshots.clone();
    /// Runtime::new()
    ///     .metrics(move |snapshot| seen.borrow_mut().push(snapshot))
    ///     .run(3, sender);
    /// assert_eq!(
    ///     snapshots.borrow()[0].counters,
    ///     [("bytes sent".to_owned(), 1536), ("retries".to_owned(), 0)]
    /// );
    /// ```
    #[inline]
    pub fn count(&self, name: &str, amount: u64) {
        with_registry(self.loop_id, WHAT, |registry| registry.count(name, amount));
    }

    /// Sets the gauge `name` (players in the lobby, queue length…); the report keeps its last,
    /// lowest and highest values.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// use ttk_core::{Cx, Runtime};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn counter(cx: Cx, id: usize) {
    ///     cx.gauge("last id", id as i64);
    /// }
    ///
    /// let snapshots = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    /// let seen = snapshots.clone();
    /// Runtime::new()
    ///     .metrics(move |snapshot| seen.borrow_mut().push(snapshot))
    ///     .run(3, counter);
    /// let gauge = &snapshots.borrow()[0].gauges[0];
    /// assert_eq!((gauge.last, gauge.min, gauge.max), (2, 0, 2));
    /// ```
    ///
    /// Each loop keeps its own value; a run of several loops, processes or shards adds them up
    /// (the rule [`GaugeMerge::Sum`]): this is for a share of a total, as players in a lobby.
    /// For a value that is not a share (an id, a level), use [`Cx::gauge_with`].
    #[inline]
    pub fn gauge(&self, name: &str, value: i64) {
        self.gauge_with(name, value, GaugeMerge::Sum);
    }

    /// Sets the gauge `name`, saying how the values of several loops (workers, processes,
    /// shards) combine into the run's: summed, the highest, or the last set (see
    /// [`GaugeMerge`]).
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// use ttk_core::metrics::GaugeMerge;
    /// use ttk_core::{Cx, Runtime};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn session(cx: Cx, id: usize) {
    ///     cx.gauge_with("session id", 1_000 + id as i64, GaugeMerge::Last);
    /// }
    ///
    /// let snapshots = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    /// let seen = snapshots.clone();
    /// Runtime::new()
    ///     .metrics(move |snapshot| seen.borrow_mut().push(snapshot))
    ///     .run(3, session);
    /// let gauge = &snapshots.borrow()[0].gauges[0];
    /// assert_eq!((gauge.last, gauge.merge), (1_002, GaugeMerge::Last));
    /// ```
    #[inline]
    pub fn gauge_with(&self, name: &str, value: i64, merge: GaugeMerge) {
        with_registry(self.loop_id, WHAT, |registry| {
            registry.gauge(name, value, merge)
        });
    }

    /// Times this bot's next transaction from `start` instead of from when it begins.
    ///
    /// This is how the open model avoids coordinated omission: a session meant to start at
    /// `start` that starts late (the load generator fell behind) has the delay counted in its
    /// first transaction's latency, as its user would have felt it. The harness
    /// ([`ttk::cli`](https://docs.rs/ttk)) does this for every open-model session.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// use std::time::Duration;
    /// use ttk_core::{Cx, Runtime};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn late(cx: Cx, _id: usize) {
    ///     ttk_core::yield_!(ttk_core::sleep(Duration::from_millis(300)));
    ///     // Meant to start at 100 ms: it is 200 ms late.
    ///     cx.measure_from(ttk_core::now() - Duration::from_millis(200));
    ///     cx.transaction("request").ok();
    /// }
    ///
    /// let snapshots = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    /// let seen = snapshots.clone();
    /// Runtime::new()
    ///     .virtual_time(true)
    ///     .metrics(move |snapshot| seen.borrow_mut().push(snapshot))
    ///     .run(1, late);
    /// let latencies = &snapshots.borrow()[0].transactions[0].latencies;
    /// assert!(latencies.equivalent(latencies.max(), 200_000)); // µs, to 3 significant digits
    /// ```
    pub fn measure_from(&self, start: Instant) {
        with_metrics(self.loop_id, WHAT, |state, metrics| {
            let start = state.clock.since_start(start);
            metrics.origins.borrow_mut().insert(self.index, start);
        });
    }
}
