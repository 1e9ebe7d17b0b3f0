//! The tick loop over a run's bots: it starts them, polls the ready ones, hands each outcome
//! over as the bot ends, and stops the run when asked.

use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::context;
use crate::loop_state::{LoopState, SourceDue, Wait};
use crate::outcome::{BotError, BotErrorKind, panic_message};
use crate::panic_capture;
use crate::run_end::{RunEnd, RunError};
use crate::slots::{Slot, Slots};
use crate::source::{Ask, BotSource};

/// Every bot's outcome, by id.
pub(crate) type Outcomes<T> = Vec<Result<T, BotError>>;

/// Where each bot's outcome goes when it ends: (id, outcome).
pub(crate) type Sink<'a, T> = &'a mut dyn FnMut(usize, Result<T, BotError>);

/// Runs the bots of one loop.
pub(crate) struct Executor<'a, B: Future, F> {
    /// The loop (the current loop of this thread).
    state: &'a LoopState,
    /// The bots.
    slots: Slots<B>,
    /// Makes bot `id` for place `index`.
    factory: F,
    /// Takes each outcome.
    sink: Sink<'a, B::Output>,
    /// Bots that arrive while the run goes on.
    source: Option<Box<dyn BotSource + 'a>>,
    /// Whether the first bots' outcomes stay in their places (which are then never reused)
    /// instead of going to the sink.
    keep_first: bool,
}

impl<'a, B, F> Executor<'a, B, F>
where
    B: Future,
    F: FnMut(u32, usize) -> B,
{
    /// An executor whose first `first` bots will get one allocation.
    pub(crate) fn new(
        state: &'a LoopState,
        first: usize,
        factory: F,
        sink: Sink<'a, B::Output>,
        source: Option<Box<dyn BotSource + 'a>>,
        keep_first: bool,
    ) -> Self {
        state.ready.grow_to(first as u32);
        panic_capture::install();
        Executor {
            state,
            slots: Slots::new(first),
            factory,
            sink,
            source,
            keep_first,
        }
    }

    /// Starts `first` bots, then runs until every bot has ended and no more can come, or the
    /// run is stopped. Returns how it ended and, if the first bots' outcomes were kept, those
    /// (by id).
    pub(crate) fn run(mut self, first: usize) -> (RunEnd, Option<Outcomes<B::Output>>) {
        let end = self.run_until_the_end(first);
        // Whatever ended the run, a failure outside the bots while stopping them (the outcome
        // callback) is what the run reports.
        let end = match self.state.take_failure() {
            Some(failure) => RunEnd::Failed(failure),
            None => end,
        };
        // The factory and the source are user values: their drops must not unwind out.
        let Executor {
            factory,
            source,
            slots,
            keep_first,
            ..
        } = self;
        drop_contained(Box::new((factory, source)));
        let kept = keep_first.then(|| {
            slots
                .into_first_outcomes()
                .into_iter()
                .map(|outcome| outcome.expect("every first bot has an outcome at the end"))
                .collect()
        });
        (end, kept)
    }

    /// The loop of [`Executor::run`].
    fn run_until_the_end(&mut self, first: usize) -> RunEnd {
        let state = self.state;
        state.reserve_bots(first);
        self.place_new_bots();
        if !state.has_failed() {
            self.ask_source();
        }
        loop {
            if let Some(end) = self.stop_reason() {
                self.stop_all(BotErrorKind::Stopped);
                return end;
            }
            if state.live_bots() == 0
                && !state.source_active()
                && !state.bots.borrow().has_unplaced()
            {
                return RunEnd::Completed;
            }
            if state.ready.len() == 0 {
                match state.wait_for_work() {
                    Err(error) => {
                        self.stop_all(BotErrorKind::Stopped);
                        return RunEnd::Failed(RunError::Selector(error));
                    }
                    Ok(Wait::Woke) => {
                        if state.source_is_due() {
                            self.ask_source();
                        }
                    }
                    Ok(Wait::Nothing) => {
                        // A source that asks again "next tick" gets its turn now: no tick comes.
                        if state.source_due() == SourceDue::NextTick {
                            let waiting = state.live_bots();
                            self.ask_source();
                            if state.live_bots() > waiting || state.ready.len() > 0 {
                                continue;
                            }
                        }
                        if !state.release_stalled() {
                            self.stop_all(BotErrorKind::Stalled);
                            return RunEnd::Stalled;
                        }
                    }
                }
                continue;
            }
            self.tick();
            // Bots started by bots this tick run from the next one, and can be sent messages
            // already (delivery comes next).
            self.place_new_bots();
            state.run_end_of_tick_work();
            self.place_new_bots();
            if state.source_is_due() {
                self.ask_source();
            }
            state.count_tick();
            if let Err(error) = state.collect_events() {
                self.stop_all(BotErrorKind::Stopped);
                return RunEnd::Failed(RunError::Selector(error));
            }
        }
    }

    /// Why the run must stop now, if it must.
    fn stop_reason(&self) -> Option<RunEnd> {
        let state = self.state;
        if let Some(failure) = state.take_failure() {
            Some(RunEnd::Failed(failure))
        } else if state.stop_requested() {
            Some(RunEnd::Stopped)
        } else if state.deadline_passed() {
            Some(RunEnd::DeadlineReached)
        } else {
            None
        }
    }

    /// Runs one tick: every bot queued when it began, once. One `catch_unwind` per tick rather
    /// than per poll keeps the landing pad off the hot path; after a panic, the tick resumes
    /// with the next bot.
    fn tick(&mut self) {
        self.state.ready.begin_tick();
        self.state.set_polling(true);
        panic_capture::set_polling_bots(true);
        loop {
            let ticked = panic::catch_unwind(AssertUnwindSafe(|| self.poll_bots()));
            if let Err(payload) = ticked {
                let location = panic_capture::take_location();
                context::take_yield_request();
                let index = self.state.current();
                self.state.ready.settle(index);
                // Only a bot's poll can panic here (destructors and user callbacks are
                // contained where they run), so its place still holds it.
                if let Some(Slot::Running(_)) = self.slots.get_mut(index) {
                    let id = self.state.id_of(index);
                    let error = BotError::panicked(id, &*payload, location);
                    // What the bot held is dropped now: a transaction in flight failed with it.
                    self.state.set_dropping_panicked(true);
                    self.exit(index, Err(error));
                    self.state.set_dropping_panicked(false);
                }
                drop_contained(payload);
            } else {
                break;
            }
        }
        panic_capture::set_polling_bots(false);
        self.state.set_polling(false);
    }

    /// Polls the bots left in the running tick once each. A bot is taken off the tick before
    /// its poll, so if the poll panics the caller knows that bot (`state.current()`) is done
    /// with and can resume the tick after it.
    #[inline]
    fn poll_bots(&mut self) {
        let state = self.state;
        let mut task_context = Context::from_waker(crate::waker::borrowed());
        let (rest, count, mut taken) = state.ready.rest_of_tick();
        // A pointer walked up to an end pointer: one register fewer than an index and a count,
        // which keeps the bots' storage in registers on the hottest loop of the crate.
        let (mut next, end) = (rest, rest.wrapping_add(count));
        while next != end {
            // SAFETY: `next` is below `end`, so it points at one of the `count` bot indices of
            // the running tick, which nothing changes or frees until the tick ends (see
            // `ReadyQueue::rest_of_tick`).
            let index = unsafe { *next };
            next = next.wrapping_add(1);
            taken += 1;
            state.ready.set_cursor(taken);
            let Some(Slot::Running(bot)) = self.slots.get_mut(index) else {
                state.ready.settle(index);
                continue;
            };
            state.set_current(index);
            // SAFETY: a place never moves once allocated (see `Slots`), and a bot is dropped in
            // place (`vacate`) before its place is reused, so the bot is pinned.
            let bot = unsafe { Pin::new_unchecked(bot) };
            match bot.poll(&mut task_context) {
                Poll::Pending => {
                    if context::take_yield_request() {
                        state.ready.requeue(index);
                    } else {
                        state.ready.settle(index);
                    }
                }
                Poll::Ready(output) => {
                    // A yield inside a finished poll (under a `timeout`, say) must not requeue
                    // the next bot that parks.
                    context::take_yield_request();
                    state.ready.settle(index);
                    self.exit(index, Ok(output));
                }
            }
        }
    }

    /// Ends bot `index`: drops it in place, tells the loop (its place becomes free) and hands
    /// its outcome to the sink.
    fn exit(&mut self, index: u32, outcome: Result<B::Output, BotError>) {
        let keep = self.keeps_outcome_at(index);
        if let Some(slot) = self.slots.get_mut(index) {
            vacate(slot);
        }
        let id = self.state.bot_exited(index, !keep);
        // What the exit woke of the bot itself (it is gone) must not requeue the next one.
        context::take_yield_request();
        self.deliver(index, id, outcome);
    }

    /// Whether the outcome of the bot at `index` stays in its place: the first bots' places
    /// keep them (those places are never reused, so only first bots are ever there).
    fn keeps_outcome_at(&self, index: u32) -> bool {
        self.keep_first && (index as usize) < self.slots.first_len()
    }

    /// Hands the outcome of bot `id`, at `index`, over: into its place if kept there, else to
    /// the sink.
    fn deliver(&mut self, index: u32, id: usize, outcome: Result<B::Output, BotError>) {
        if self.keeps_outcome_at(index) {
            if let Some(slot) = self.slots.get_mut(index) {
                // The place is vacant (its bot was dropped, or never made): nothing to drop.
                *slot = Slot::Done(outcome);
            }
        } else {
            (self.sink)(id, outcome);
        }
    }

    /// Builds and queues the bots whose ids were handed out but that have no place yet. A
    /// panicking factory ends the run.
    fn place_new_bots(&mut self) {
        let state = self.state;
        loop {
            let Some((index, id)) = state.bots.borrow_mut().place_next() else {
                return;
            };
            state.set_current(index);
            let made = panic::catch_unwind(AssertUnwindSafe(|| (self.factory)(index, id)));
            match made {
                Ok(bot) => {
                    self.slots.put(index, bot);
                    state.bot_started(index, id);
                }
                Err(payload) => {
                    let message = panic_message(&*payload);
                    drop_contained(payload);
                    if self.keeps_outcome_at(index) {
                        state.bots.borrow_mut().retire(index);
                    } else {
                        state.bots.borrow_mut().remove(index);
                    }
                    let error = BotError::new(id, BotErrorKind::Panicked(message.clone()));
                    self.deliver(index, id, Err(error));
                    state.fail(RunError::FactoryPanicked { bot: id, message });
                    return;
                }
            }
        }
    }

    /// Asks the bot source for bots, and starts them.
    fn ask_source(&mut self) {
        let state = self.state;
        let Some(source) = &mut self.source else {
            return;
        };
        let now = state.clock.now();
        let live = state.live_bots();
        let asked = panic::catch_unwind(AssertUnwindSafe(|| {
            source.arrivals(state.clock.instant(now), live)
        }));
        match asked {
            Ok(arrivals) => {
                state.reserve_bots(arrivals.count());
                let due = match arrivals.ask() {
                    Ask::NextTick => SourceDue::NextTick,
                    Ask::At(at) => SourceDue::At(state.clock.since_start(at)),
                    Ask::Never => SourceDue::Never,
                };
                state.set_source_due(due);
                if due == SourceDue::Never {
                    drop_contained(self.source.take());
                }
                self.place_new_bots();
            }
            Err(payload) => {
                let message = panic_message(&*payload);
                drop_contained(payload);
                state.set_source_due(SourceDue::Never);
                drop_contained(self.source.take());
                state.fail(RunError::SourcePanicked { message });
            }
        }
    }

    /// Ends every bot still running with `kind` (dropped in place: sockets closed, timers
    /// cancelled), and gives the ids handed out but never placed the same outcome.
    fn stop_all(&mut self, kind: BotErrorKind) {
        let state = self.state;
        state.set_stopping();
        state.set_source_due(SourceDue::Never);
        drop_contained(self.source.take());
        let live: Vec<u32> = state.bots.borrow().live_indices().collect();
        for index in live {
            state.set_current(index);
            let id = state.id_of(index);
            self.exit(index, Err(BotError::new(id, kind.clone())));
        }
        loop {
            let placed = state.bots.borrow_mut().place_next();
            let Some((index, id)) = placed else {
                break;
            };
            if self.keeps_outcome_at(index) {
                state.bots.borrow_mut().retire(index);
            } else {
                state.bots.borrow_mut().remove(index);
            }
            self.deliver(index, id, Err(BotError::new(id, kind.clone())));
        }
    }
}

/// Drops a bot in place (it is pinned), leaving the place vacant.
///
/// Dropping a bot runs user code (destructors of its locals), which may panic: that panic is
/// swallowed and the outcome stands. A plain assignment would not do: if the old value's drop
/// unwinds, the place would be left holding a half-dropped bot that is dropped again later.
fn vacate<B: Future>(slot: &mut Slot<B>) {
    let slot: *mut Slot<B> = slot;
    // SAFETY: `slot` comes from a `&mut`, so it is valid, aligned and initialized, and nothing
    // else uses it during the call. Dropping in place respects the pinning of a running bot.
    let _ = panic::catch_unwind(AssertUnwindSafe(|| unsafe { slot.drop_in_place() }));
    // SAFETY: `slot` is valid for writes; its old value was dropped just above (a destructor
    // that unwound still counts as dropped), so overwriting it without a drop leaks nothing and
    // drops nothing twice.
    unsafe { slot.write(Slot::Vacant) };
}

/// Drops a user value (a panic payload, the factory, the source): its destructor is user code
/// and must not unwind into the loop.
fn drop_contained<T>(value: T) {
    let _ = panic::catch_unwind(AssertUnwindSafe(|| drop(value)));
}
