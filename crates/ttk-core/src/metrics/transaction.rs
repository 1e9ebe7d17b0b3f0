//! A transaction started by hand: [`Transaction`].

use std::fmt::Display;
use std::marker::PhantomData;
use std::time::{Duration, Instant};

use super::failure::{Failure, TransactionOutput};
use super::registry::{Registry, Unfinished};
use super::with_metrics;
use crate::context;
use crate::cx::NotSend;
use crate::timers::Nanos;

/// A transaction in flight, started with [`Cx::transaction`](crate::Cx::transaction): finish it
/// with [`ok`](Transaction::ok) or [`fail`](Transaction::fail), after as many yields as it
/// takes. One dropped unfinished counts as *abandoned* (its bot gave up on it) — or as
/// *stopped* when the run's end dropped it (its bot was stopped at a deadline or by a stop
/// handle), or as a failure of kind `panicked` when its bot panicked in the middle of it; never
/// as a success.
///
/// # Examples
/// ```
/// # use ttk_macros::bot;
/// use std::time::Duration;
/// use ttk_core::{Cx, Runtime};
///
/// #[bot(crate = ttk_core)]
/// fn shopper(cx: Cx, id: usize) {
///     let checkout = cx.transaction("checkout");
///     ttk_core::yield_!(ttk_core::sleep(Duration::from_millis(20)));
///     if id == 0 {
///         checkout.fail("card declined");
///     } else {
///         checkout.ok();
///     }
/// }
///
/// let snapshots = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
/// let seen = snapshots.clone();
/// Runtime::new()
///     .virtual_time(true)
///     .metrics(move |snapshot| seen.borrow_mut().push(snapshot))
///     .run(3, shopper);
/// let checkout = &snapshots.borrow()[0].transactions[0];
/// assert_eq!((checkout.ok, checkout.failed), (2, 1));
/// assert_eq!(checkout.errors[0].kind, "card declined");
/// assert!(checkout.latencies.equivalent(checkout.latencies.max(), 20_000)); // µs
/// ```
#[derive(Debug)]
#[must_use = "a transaction dropped unfinished counts as abandoned"]
pub struct Transaction {
    number: u32,
    start: Nanos,
    loop_id: u32,
    finished: bool,
    _thread: NotSend,
}

const WHAT: &str = "a Transaction";

/// The kind of failure of a transaction whose bot panicked in the middle of it.
const PANICKED: &str = "panicked";

impl Transaction {
    pub(crate) fn start(loop_id: u32, name: &str) -> Transaction {
        let (number, start) = with_metrics(loop_id, WHAT, |state, metrics| {
            let number = metrics.registry.borrow_mut().transaction(name);
            let start = metrics.start_time(state);
            (number, start)
        });
        Transaction {
            number,
            start,
            loop_id,
            finished: false,
            _thread: PhantomData,
        }
    }

    /// Finishes the transaction as a success; returns how long it took.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// use std::time::Duration;
    /// use ttk_core::{Cx, Runtime};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn loader(cx: Cx, _id: usize) -> Duration {
    ///     let load = cx.transaction("load");
    ///     ttk_core::yield_!(ttk_core::sleep(Duration::from_millis(40)));
    ///     load.ok()
    /// }
    ///
    /// let took = Runtime::new().virtual_time(true).run(1, loader);
    /// assert_eq!(took, [Duration::from_millis(40)]);
    /// ```
    pub fn ok(self) -> Duration {
        self.complete(|registry, number, latency| registry.succeeded(number, latency))
    }

    /// Finishes the transaction as a success that ended at `end`, a moment already past;
    /// returns how long it took. For a bot that looks further before it knows a reply was a
    /// success (whether the server then closed the connection, say): the look is not part of
    /// the reply's latency.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// use std::time::Duration;
    /// use ttk_core::{Cx, Runtime};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn looker(cx: Cx, _id: usize) -> Duration {
    ///     let load = cx.transaction("load");
    ///     ttk_core::yield_!(ttk_core::sleep(Duration::from_millis(40)));
    ///     let answered = ttk_core::now();
    ///     ttk_core::yield_!(ttk_core::sleep(Duration::from_millis(5))); // a further look
    ///     load.ok_at(answered)
    /// }
    ///
    /// let took = Runtime::new().virtual_time(true).run(1, looker);
    /// assert_eq!(took, [Duration::from_millis(40)]);
    /// ```
    pub fn ok_at(self, end: Instant) -> Duration {
        self.complete_at(Some(end), |registry, number, latency| {
            registry.succeeded(number, latency)
        })
    }

    /// Finishes the transaction as a failure counted under `reason`; returns how long it took.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// use ttk_core::{Cx, Runtime};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn buyer(cx: Cx, _id: usize) {
    ///     cx.transaction("buy").fail("out of stock");
    /// }
    ///
    /// let (sender, snapshots) = std::sync::mpsc::channel();
    /// Runtime::new().metrics(move |snapshot| sender.send(snapshot).unwrap()).run(2, buyer);
    /// let buy = &snapshots.recv().unwrap().transactions[0];
    /// assert_eq!((buy.ok, buy.failed), (0, 2));
    /// assert_eq!(buy.errors[0].kind, "out of stock");
    /// ```
    pub fn fail(self, reason: &str) -> Duration {
        self.finish_failed(&Failure::reason(reason))
    }

    /// Finishes the transaction as a failure classified by `error` (an [`io::Error`] by its
    /// kind, another error by its type's name), keeping its message as a sample.
    ///
    /// [`io::Error`]: std::io::Error
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// use std::io;
    /// use ttk_core::{Cx, Runtime};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn connector(cx: Cx, _id: usize) {
    ///     let connect = cx.transaction("connect");
    ///     connect.fail_with(&io::Error::new(io::ErrorKind::ConnectionRefused, "nobody at :8080"));
    /// }
    ///
    /// let (sender, snapshots) = std::sync::mpsc::channel();
    /// Runtime::new().metrics(move |snapshot| sender.send(snapshot).unwrap()).run(1, connector);
    /// let refused = &snapshots.recv().unwrap().transactions[0].errors[0];
    /// assert_eq!(refused.kind, "ConnectionRefused"); // counted by kind…
    /// assert_eq!(refused.new_samples, ["nobody at :8080"]); // …its message kept as a sample
    /// ```
    pub fn fail_with<E: Display + 'static>(self, error: &E) -> Duration {
        self.finish_failed(&Failure::of(error))
    }

    /// Finishes the transaction by `output`: a failure if it is one (an `Err`), else a
    /// success.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// use ttk_core::{Cx, Runtime};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn parser(cx: Cx, id: usize) {
    ///     let parse = cx.transaction("parse");
    ///     let number = ["12", "twelve"][id].parse::<u32>();
    ///     parse.finish(&number);
    /// }
    ///
    /// let (sender, snapshots) = std::sync::mpsc::channel();
    /// Runtime::new().metrics(move |snapshot| sender.send(snapshot).unwrap()).run(2, parser);
    /// let parse = &snapshots.recv().unwrap().transactions[0];
    /// assert_eq!((parse.ok, parse.failed), (1, 1));
    /// assert_eq!(parse.errors[0].kind, "ParseIntError");
    /// ```
    pub fn finish<O: TransactionOutput + ?Sized>(self, output: &O) -> Duration {
        match output.failure() {
            Some(failure) => self.finish_failed(&failure),
            None => self.ok(),
        }
    }

    fn finish_failed(self, failure: &Failure<'_>) -> Duration {
        self.complete(|registry, number, latency| registry.failed(number, latency, failure))
    }

    /// Ends the transaction now, recording it with `record` (given its number and latency).
    fn complete(self, record: impl FnOnce(&mut Registry, u32, Nanos)) -> Duration {
        self.complete_at(None, record)
    }

    /// Ends the transaction at `end` (now if `None`), recording it with `record`.
    fn complete_at(
        mut self,
        end: Option<Instant>,
        record: impl FnOnce(&mut Registry, u32, Nanos),
    ) -> Duration {
        self.finished = true;
        with_metrics(self.loop_id, WHAT, |state, metrics| {
            let end = end.map_or_else(|| state.clock.now(), |end| state.clock.since_start(end));
            let latency = end.saturating_sub(self.start);
            record(&mut metrics.registry.borrow_mut(), self.number, latency);
            Duration::from_nanos(latency)
        })
    }
}

impl Drop for Transaction {
    fn drop(&mut self) {
        // Dropped after its run, or by another loop's thread: nothing to count it in.
        if self.finished || context::current_loop_id() != self.loop_id {
            return;
        }
        context::try_with_loop(|_| {
            with_metrics(self.loop_id, WHAT, |state, metrics| {
                let mut registry = metrics.registry.borrow_mut();
                if state.is_stopping() {
                    registry.unfinished(self.number, Unfinished::Stopped);
                } else if std::thread::panicking() || state.is_dropping_panicked() {
                    // Dropped by the unwinding of its bot's panic (a local of the bot), or
                    // with the bot after it (held by what the bot was built with).
                    let latency = state.clock.now().saturating_sub(self.start);
                    registry.failed(self.number, latency, &Failure::reason(PANICKED));
                } else {
                    registry.unfinished(self.number, Unfinished::Abandoned);
                }
            });
        });
    }
}
