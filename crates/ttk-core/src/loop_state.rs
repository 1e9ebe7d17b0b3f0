//! The state one loop shares with its bots: the bot table, ready queue, clock, timers, selector,
//! and the features plugged into it.
//!
//! It is not generic over the bots' type, so leaf operations reach it through the thread-local
//! context; the typed bot storage stays in the executor. It names no feature: messages, groups,
//! barriers, the world and hooks register as [`Feature`](crate::feature::Feature)s.

use std::cell::{Cell, RefCell};
use std::io;
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use mio::{Events, Poll, Registry, Token};

use crate::bots::BotTable;
use crate::clock::Clock;
use crate::context::NO_LOOP;
use crate::feature::Features;
use crate::ids::IdSlice;
use crate::io_table::{Direction, IoTable};
use crate::precise_wait::{PRECISE_TOKEN, PreciseWait};
use crate::ready::ReadyQueue;
use crate::run_end::RunError;
use crate::stop::StopSignal;
use crate::timers::{Nanos, TimerKey, Timers};
use crate::waker::{REMOTE_TOKEN, Remote};

/// Ids for loops, unique in the process (until 2³² runs have been made): a handle knows which
/// loop it belongs to, and a waker woken on another loop's thread knows it is not at home.
static NEXT_LOOP_ID: AtomicU32 = AtomicU32::new(NO_LOOP + 1);

/// How many selector events one `epoll_wait` may return.
const EVENTS_PER_POLL: usize = 1024;

/// What a loop waits for when no bot is ready.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Wait {
    /// Something happened (or may have): run the ready bots.
    Woke,
    /// Nothing can ever wake a parked bot.
    Nothing,
}

/// When the run's bot source wants to be asked again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SourceDue {
    /// Never again (or there is no source).
    Never,
    /// At the end of the next tick — or, if no bot can run, as soon as the loop would wait.
    NextTick,
    /// Once the loop's clock reaches this time.
    At(Nanos),
}

/// Per-loop state.
pub(crate) struct LoopState {
    /// This loop's id.
    id: u32,
    /// Which bot is where.
    pub(crate) bots: RefCell<BotTable>,
    /// Bots that run in the coming tick.
    pub(crate) ready: ReadyQueue,
    /// Index of the bot being polled.
    current: Cell<u32>,
    /// Whether the executor is polling `current` (a wake of it then becomes a yield request).
    polling: Cell<bool>,
    /// Number of ticks completed.
    tick: Cell<u64>,
    /// Real or virtual time.
    pub(crate) clock: Clock,
    /// Sleeping bots.
    timers: RefCell<Timers>,
    /// Registered I/O sources.
    io: RefCell<IoTable>,
    /// The id of the next I/O operation.
    next_op: Cell<u32>,
    /// The selector.
    poll: RefCell<Poll>,
    /// A timer on the selector that ends its waits on time, made at the first wait that needs
    /// it (`None` inside: the system has none).
    precise: std::cell::OnceCell<Option<RefCell<PreciseWait>>>,
    /// Reused event buffer.
    events: RefCell<Events>,
    /// The loop waited (or its virtual clock jumped) without asking the selector since it last
    /// did: events may wait in the kernel that the readiness bits do not show yet (see
    /// [`LoopState::io_read_ready`]).
    events_unread: Cell<bool>,
    /// How other threads wake this loop; made at the first foreign waker or stop handle.
    remote: RefCell<Option<Arc<Remote>>>,
    /// The features plugged in.
    features: Features,
    /// The run's random seed.
    seed: u64,
    /// Set from other threads to stop the run.
    stop: Arc<StopSignal>,
    /// When the run stops by itself, on the loop's clock.
    deadline: Option<Nanos>,
    /// Set when the run's deadline is taken as passed before this loop's clock reaches it (a
    /// peer loop of the run reached it first).
    deadline_forced: Cell<bool>,
    /// When the run's bot source wants to be asked again.
    source_due: Cell<SourceDue>,
    /// Under a virtual clock: the real time when the clock last caught up with real time
    /// while bots waited on I/O.
    real_mark: Cell<std::time::Instant>,
    /// A failure outside the bots that ends the run (a tick hook panicked).
    failure: RefCell<Option<RunError>>,
    /// The earliest time a feature asked to hear of (`Feature::time_passed`); `Nanos::MAX`
    /// when none did. It bounds the wait for events but is not work: it neither keeps the
    /// run from stalling nor from completing.
    features_due: Cell<Nanos>,
    /// Set once the run is stopping: the bots dropped from now on were stopped, not abandoned.
    stopping: Cell<bool>,
    /// Set while a bot that panicked is dropped: what it held failed with it.
    dropping_panicked: Cell<bool>,
}

impl std::fmt::Debug for LoopState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoopState")
            .field("id", &self.id)
            .field("ready", &self.ready.len())
            .field("tick", &self.tick.get())
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

impl LoopState {
    /// An empty loop.
    pub(crate) fn new(
        virtual_time: bool,
        seed: u64,
        stop: Arc<StopSignal>,
        deadline: Option<Duration>,
        ids: IdSlice,
    ) -> io::Result<Self> {
        let mut id = NEXT_LOOP_ID.fetch_add(1, Ordering::Relaxed);
        if id == NO_LOOP {
            id = NEXT_LOOP_ID.fetch_add(1, Ordering::Relaxed);
        }
        let state = LoopState {
            id,
            bots: RefCell::new(BotTable::new(ids)),
            ready: ReadyQueue::default(),
            current: Cell::new(0),
            polling: Cell::new(false),
            tick: Cell::new(0),
            clock: Clock::new(virtual_time),
            timers: RefCell::new(Timers::default()),
            io: RefCell::new(IoTable::default()),
            next_op: Cell::new(0),
            poll: RefCell::new(Poll::new()?),
            precise: std::cell::OnceCell::new(),
            events: RefCell::new(Events::with_capacity(EVENTS_PER_POLL)),
            events_unread: Cell::new(false),
            remote: RefCell::new(None),
            features: Features::default(),
            seed,
            stop,
            deadline: deadline.map(crate::timers::nanos),
            source_due: Cell::new(SourceDue::Never),
            real_mark: Cell::new(std::time::Instant::now()),
            failure: RefCell::new(None),
            features_due: Cell::new(Nanos::MAX),
            stopping: Cell::new(false),
            deadline_forced: Cell::new(false),
            dropping_panicked: Cell::new(false),
        };
        // A stop handle given out before the run must be able to interrupt the selector.
        if Arc::strong_count(&state.stop) > 1 {
            let remote = state.remote()?;
            state.stop.set_waker(&remote.waker());
        }
        Ok(state)
    }

    /// This loop's id.
    #[inline]
    pub(crate) fn id(&self) -> u32 {
        self.id
    }

    /// The features plugged into this loop.
    pub(crate) fn features(&self) -> &Features {
        &self.features
    }

    /// The run's random seed.
    pub(crate) fn seed(&self) -> u64 {
        self.seed
    }

    /// The number of the running tick.
    pub(crate) fn tick(&self) -> u64 {
        self.tick.get()
    }

    /// Counts a finished tick.
    pub(crate) fn count_tick(&self) {
        self.tick.set(self.tick.get() + 1);
    }

    /// Bots alive.
    pub(crate) fn live_bots(&self) -> usize {
        self.bots.borrow().live()
    }

    /// The id of the bot at `index`.
    pub(crate) fn id_of(&self, index: u32) -> usize {
        self.bots.borrow().id_of(index)
    }

    /// The index of live bot `id`.
    pub(crate) fn index_of(&self, id: usize) -> Option<u32> {
        self.bots.borrow().index_of(id)
    }

    /// Hands out ids for `count` bots that start at the end of this tick (or of the hook or
    /// source asking), without saying which (they need not be contiguous: see
    /// [`LoopState::start_bots`]).
    pub(crate) fn reserve_bots(&self, count: usize) {
        self.bots.borrow_mut().reserve(count);
    }

    /// Hands out ids for `count` bots that start at the end of this tick (or of the hook or
    /// source asking), and returns them.
    ///
    /// # Panics
    /// In a run cut in lanes, if the ids are not contiguous (bots started later go round the
    /// lanes, so only one at a time gets a range of ids).
    pub(crate) fn start_bots(&self, count: usize) -> Range<usize> {
        let mut bots = self.bots.borrow_mut();
        let local = bots.reserve(count);
        let ids = bots.ids();
        if ids.is_whole() {
            return local;
        }
        let first = ids.global(local.start);
        if local.is_empty() {
            return first..first;
        }
        let last = ids.global(local.end - 1);
        assert!(
            last - first == local.len() - 1,
            "this run is cut in {} lanes (workers or shards), and bots started while it runs \
             take one id in {}: start them one at a time (`start_bots(1)`) to get each one's id",
            ids.lanes(),
            ids.lanes()
        );
        first..last + 1
    }

    /// Bookkeeping when bot `id` has been placed at `index` and built: it is queued, and the
    /// features learn of it.
    pub(crate) fn bot_started(&self, index: u32, id: usize) {
        self.ready.grow_to(index + 1);
        self.ready.push(index);
        if !self.features.is_empty() {
            self.features
                .for_each(|feature| feature.bot_started(self, index, id));
        }
    }

    /// Bookkeeping when bot `index` has finished, failed or been stopped (and been dropped):
    /// the features learn of it, then its place is freed (for reuse, unless it keeps the bot's
    /// outcome). Returns its id.
    pub(crate) fn bot_exited(&self, index: u32, reuse_place: bool) -> usize {
        if !self.features.is_empty() {
            self.features
                .for_each(|feature| feature.bot_exited(self, index));
        }
        let mut bots = self.bots.borrow_mut();
        match reuse_place {
            true => bots.remove(index),
            false => bots.retire(index),
        }
    }

    /// Marks the run as stopping: bots are about to be dropped in place.
    pub(crate) fn set_stopping(&self) {
        self.stopping.set(true);
    }

    /// Marks the bot being dropped as one that panicked (or no longer).
    pub(crate) fn set_dropping_panicked(&self, panicked: bool) {
        self.dropping_panicked.set(panicked);
    }

    /// Whether the bot being dropped panicked.
    pub(crate) fn is_dropping_panicked(&self) -> bool {
        self.dropping_panicked.get()
    }

    /// Whether the run is stopping (see [`LoopState::set_stopping`]).
    pub(crate) fn is_stopping(&self) -> bool {
        self.stopping.get()
    }

    /// Asks for [`Feature::time_passed`](crate::feature::Feature::time_passed) once the clock
    /// reaches `at`: the wait for events ends by then (a virtual clock jumps there).
    pub(crate) fn wake_features_at(&self, at: Nanos) {
        if at < self.features_due.get() {
            self.features_due.set(at);
        }
    }

    /// Tells the features that their time has come, if it has.
    fn run_due_features(&self) {
        let due = self.features_due.get();
        if due == Nanos::MAX {
            return;
        }
        let now = self.clock.now();
        if now >= due {
            self.features_due.set(Nanos::MAX);
            self.features
                .for_each(|feature| feature.time_passed(self, now));
        }
    }

    /// Ends a failed run with `error` (the first failure is kept).
    pub(crate) fn fail(&self, error: RunError) {
        self.failure.borrow_mut().get_or_insert(error);
    }

    /// Whether a failure outside the bots will end the run.
    pub(crate) fn has_failed(&self) -> bool {
        self.failure.borrow().is_some()
    }

    /// The failure that ends the run, if any.
    pub(crate) fn take_failure(&self) -> Option<RunError> {
        self.failure.borrow_mut().take()
    }

    /// Whether a stop handle asked the run to stop.
    #[inline]
    pub(crate) fn stop_requested(&self) -> bool {
        self.stop.is_requested()
    }

    /// Whether the run's deadline has passed.
    #[inline]
    pub(crate) fn deadline_passed(&self) -> bool {
        self.deadline_forced.get()
            || self
                .deadline
                .is_some_and(|deadline| self.clock.now() >= deadline)
    }

    /// Takes the run's deadline as passed now: another loop of the run reached it, and this
    /// one must end as that one did (its own clock may lag, or, virtual, stand still).
    pub(crate) fn force_deadline(&self) {
        if self.deadline.is_some() {
            self.deadline_forced.set(true);
        }
    }

    /// Records when the bot source wants to be asked again.
    pub(crate) fn set_source_due(&self, due: SourceDue) {
        self.source_due.set(due);
    }

    /// When the bot source wants to be asked again.
    pub(crate) fn source_due(&self) -> SourceDue {
        self.source_due.get()
    }

    /// Whether the bot source wants to be asked at the end of this tick.
    pub(crate) fn source_is_due(&self) -> bool {
        match self.source_due.get() {
            SourceDue::Never => false,
            SourceDue::NextTick => true,
            SourceDue::At(due) => due <= self.clock.now(),
        }
    }

    /// Whether the bot source may still start bots.
    pub(crate) fn source_active(&self) -> bool {
        self.source_due.get() != SourceDue::Never
    }

    /// Tells the features the run is over.
    pub(crate) fn end_features(&self) {
        self.features.for_each(|feature| feature.run_ended(self));
    }

    /// Ends the run's hold on what bots shared (the world, hooks, mailboxes). A socket can
    /// outlive its run (a bot may return one) and keeps this state alive; without this, a socket
    /// stored in the world or left in a mailbox would keep the state alive in a cycle and leak
    /// every descriptor of the run.
    pub(crate) fn release_shared(&self) {
        self.features.release();
    }

    /// How other threads wake this loop's bots (made at the first use).
    pub(crate) fn remote(&self) -> io::Result<Arc<Remote>> {
        let mut remote = self.remote.borrow_mut();
        if let Some(remote) = &*remote {
            return Ok(Arc::clone(remote));
        }
        let made = Arc::new(self.registry(|registry| Remote::new(registry, self.id))?);
        *remote = Some(Arc::clone(&made));
        Ok(made)
    }

    /// Whether an owned waker of a foreign future is alive somewhere (it may wake a bot).
    fn foreign_wakers_alive(&self) -> bool {
        self.remote
            .borrow()
            .as_ref()
            .is_some_and(|remote| remote.wakers_alive())
    }

    /// Called when nothing can wake any bot: features release what they hold (barrier waiters,
    /// with an error). True if that woke a bot (the run goes on).
    pub(crate) fn release_stalled(&self) -> bool {
        let mut woke = false;
        self.features
            .for_each(|feature| woke |= feature.stalled(self));
        woke
    }

    /// The bot being polled.
    #[inline]
    pub(crate) fn current(&self) -> u32 {
        self.current.get()
    }

    /// Records which bot is being polled.
    #[inline]
    pub(crate) fn set_current(&self, bot: u32) {
        self.current.set(bot);
    }

    /// Whether the executor is polling a bot (`current`).
    #[inline]
    pub(crate) fn is_polling(&self) -> bool {
        self.polling.get()
    }

    /// Records whether the executor is polling bots (between the first and the last poll of
    /// a tick).
    #[inline]
    pub(crate) fn set_polling(&self, polling: bool) {
        self.polling.set(polling);
    }

    /// Queues `bot` to run (no effect if it is queued already). The running bot, woken by its
    /// own poll, is requeued by the executor after the poll, as a yield is.
    #[inline]
    pub(crate) fn wake(&self, bot: u32) {
        if self.polling.get() && bot == self.current.get() {
            crate::context::request_yield();
        } else {
            self.ready.push(bot);
        }
    }

    /// Wakes the running bot at `deadline`; the key cancels the timer.
    pub(crate) fn add_timer(&self, deadline: Nanos) -> TimerKey {
        self.timers.borrow_mut().insert(deadline, self.current())
    }

    /// Whether a timer is still pending: it has not fired (nor been cancelled).
    pub(crate) fn timer_pending(&self, key: TimerKey) -> bool {
        self.timers.borrow().is_pending(key)
    }

    /// Cancels a pending timer (no effect if it fired or was cancelled already).
    pub(crate) fn cancel_timer(&self, key: TimerKey) {
        self.timers.borrow_mut().cancel(key);
    }

    /// Registers an I/O source with the selector, edge-triggered, for reading and writing.
    pub(crate) fn register(&self, source: &mut impl mio::event::Source) -> io::Result<Token> {
        let token = self.io.borrow_mut().insert();
        let registered = self.registry(|registry| {
            registry.register(
                source,
                token,
                mio::Interest::READABLE | mio::Interest::WRITABLE,
            )
        });
        if let Err(error) = registered {
            self.io.borrow_mut().remove(token);
            return Err(error);
        }
        Ok(token)
    }

    /// Removes an I/O source from the selector and forgets its readiness.
    pub(crate) fn deregister(&self, source: &mut impl mio::event::Source, token: Token) {
        // Deregistering fails only if the source was never registered or is already closed;
        // either way it is gone from the selector, which is all that matters here.
        let _ = self.registry(|registry| registry.deregister(source));
        self.io.borrow_mut().remove(token);
    }

    /// Calls `f` with the selector's registry.
    fn registry<R>(&self, f: impl FnOnce(&Registry) -> R) -> R {
        f(self.poll.borrow().registry())
    }

    /// Whether the last known readiness of `token` in `direction` is ready.
    pub(crate) fn io_ready(&self, token: Token, direction: Direction) -> bool {
        self.io.borrow().is_ready(token, direction)
    }

    /// Whether `token`'s read side may be ready, its bit brought up to date first: after a wait
    /// that did not ask the selector (a sleep with no bot waiting on I/O, a virtual clock's
    /// jump), events may wait in the kernel, so it is asked once, without waiting, before a
    /// clear bit is believed. Asked whenever bots run, the selector is rarely behind: the
    /// extra call comes at most once per such wait.
    pub(crate) fn io_read_ready(&self, token: Token) -> bool {
        if self.io_ready(token, Direction::Read) {
            return true;
        }
        if self.events_unread.get() && self.poll_io(Some(Duration::ZERO)).is_err() {
            // Unknown: a read will tell.
            return true;
        }
        self.io_ready(token, Direction::Read)
    }

    /// Marks `token` not readable until its next event (see [`IoTable::clear_read`]).
    pub(crate) fn io_clear_read(&self, token: Token) {
        self.io.borrow_mut().clear_read(token);
    }

    /// Parks operation `op` of `bot` until `token` is ready in `direction`.
    pub(crate) fn park_on_io(&self, token: Token, direction: Direction, bot: u32, op: u32) {
        self.io.borrow_mut().park(token, direction, bot, op);
    }

    /// A new id for an I/O operation (see [`LoopState::park_on_io`]); ids wrap, which is fine:
    /// they only tell apart operations parked on one socket at the same time.
    pub(crate) fn next_op_id(&self) -> u32 {
        let id = self.next_op.get();
        self.next_op.set(id.wrapping_add(1));
        id
    }

    /// Forgets operation `op` of `bot` as a waiter on `token` (it completed or was dropped).
    pub(crate) fn unpark_io(&self, token: Token, direction: Direction, bot: u32, op: u32) {
        self.io.borrow_mut().unpark(token, direction, bot, op);
    }

    /// The features' end-of-tick work: deliveries, memberships, hooks.
    pub(crate) fn run_end_of_tick_work(&self) {
        if !self.features.is_empty() {
            self.features.for_each(|feature| feature.end_of_tick(self));
        }
    }

    /// Looks for I/O and due timers without blocking, so the bots they wake run in the next
    /// tick. The selector is asked only if some bot is ready to run once the timers and the
    /// other threads' wakes are in: with none, the loop's wait asks it next anyway (blocking
    /// until something happens), and a second call per tick would cost a syscall for nothing
    /// (with bots that each send a request and park on the reply, most ticks end with none
    /// ready). Asking it whenever bots are ready keeps I/O from waiting behind bots that a
    /// timer wakes every tick.
    pub(crate) fn collect_events(&self) -> io::Result<()> {
        self.take_remote_wakes();
        self.catch_up_with_real_time();
        self.fire_due_timers();
        self.run_due_features();
        if self.ready.len() > 0 && !self.io.borrow().is_empty() {
            self.poll_io(Some(Duration::ZERO))?;
            // Remote wakes signalled through the selector are taken after it.
            self.take_remote_wakes();
        }
        Ok(())
    }

    /// Under a virtual clock, while a bot waits on I/O (or on a foreign future another thread
    /// may wake), time passes for the bots as it does in reality (also while other bots keep
    /// running): a `timeout` around a read must expire.
    fn catch_up_with_real_time(&self) {
        if !self.clock.is_virtual() {
            return;
        }
        let real_now = std::time::Instant::now();
        let since = real_now.saturating_duration_since(self.real_mark.replace(real_now));
        // The same rule as `wait_for_work`: a bot waiting on a foreign future (another thread
        // may wake it) waits on the outside world too.
        if self.io.borrow().has_waiters() || self.foreign_wakers_alive() {
            self.clock
                .advance_to(self.clock.now().saturating_add(crate::timers::nanos(since)));
        }
    }

    /// Queues the bots woken from other threads since the last look (one atomic load when none
    /// were: this runs every tick).
    fn take_remote_wakes(&self) {
        if let Some(remote) = &*self.remote.borrow() {
            for bot in remote.take_woken() {
                // A stale wake (its bot exited and the place was reused) costs one extra poll,
                // which every ttk wait tolerates.
                if self.bots.borrow().is_live(bot) {
                    self.ready.push(bot);
                }
            }
        }
    }

    /// Called when no bot is ready: waits for an I/O event, the next timer, the bot source's
    /// next time or the deadline, whichever comes first. A virtual clock jumps to the next
    /// timer only while no bot waits on I/O; while one does, it runs at the speed of real time.
    /// Returns [`Wait::Nothing`] when nothing can ever wake a parked bot (a deadline does not
    /// count: bots deadlocked on each other are reported at once, not at the deadline).
    pub(crate) fn wait_for_work(&self) -> io::Result<Wait> {
        // A wake from another thread may have come after the end of the tick looked, and mail
        // from another loop may wait whose knock a quick poll for events used up.
        self.take_remote_wakes();
        if self.ready.len() == 0 && self.mail_waiting() {
            self.after_wait();
        }
        if self.ready.len() > 0 || self.stop_requested() {
            return Ok(Wait::Woke);
        }
        let next_timer = self.timers.borrow().next_deadline();
        let io_waiters = self.io.borrow().has_waiters() || self.foreign_wakers_alive();
        let source_at = match self.source_due.get() {
            SourceDue::At(at) => Some(at),
            SourceDue::Never | SourceDue::NextTick => None,
        };
        if next_timer.is_none() && source_at.is_none() && !io_waiters {
            // A wake from another thread may have come just before its waker was dropped: the
            // waker count read above is newer than the look at the wakes, so look again.
            self.take_remote_wakes();
            if self.ready.len() > 0 {
                return Ok(Wait::Woke);
            }
            if !self.hold_for_peers() {
                return Ok(Wait::Nothing);
            }
            if self.deadline_passed() {
                // A peer reached the run's deadline: end as it did.
                self.after_wait();
                return Ok(Wait::Woke);
            }
            // Another loop of the run may still send: wait for it (or the deadline, a
            // feature's time, a stop).
            let features_due = Some(self.features_due.get()).filter(|&due| due != Nanos::MAX);
            let wake_at = [self.deadline, features_due].into_iter().flatten().min();
            let now = self.clock.now();
            self.poll_io(wake_at.map(|at| Duration::from_nanos(at.saturating_sub(now))))?;
            self.catch_up_with_real_time();
            self.after_wait();
            return Ok(Wait::Woke);
        }
        let features_due = Some(self.features_due.get()).filter(|&due| due != Nanos::MAX);
        let wake_at = [next_timer, source_at, self.deadline, features_due]
            .into_iter()
            .flatten()
            .min();
        let now = self.clock.now();
        if self.clock.is_virtual() && !io_waiters {
            if let Some(at) = wake_at {
                self.clock.advance_to(at);
            }
            self.events_unread.set(true);
            self.real_mark.set(std::time::Instant::now());
        } else {
            let timeout = wake_at.map(|at| Duration::from_nanos(at.saturating_sub(now)));
            if io_waiters {
                self.poll_io(timeout)?;
            } else if let Some(timeout) = timeout {
                self.sleep(timeout)?;
            }
            // Under a virtual clock, time spent waiting on I/O passes for the bots too.
            self.catch_up_with_real_time();
        }
        self.after_wait();
        Ok(Wait::Woke)
    }

    /// What every wait ends with: bots woken from other threads, timers due, features' times
    /// and what other loops handed over.
    fn after_wait(&self) {
        self.take_remote_wakes();
        self.fire_due_timers();
        self.run_due_features();
        if !self.features.is_empty() {
            self.features.for_each(|feature| feature.peers_woke(self));
        }
    }

    /// Whether another loop of the run handed this one messages not yet taken in.
    fn mail_waiting(&self) -> bool {
        let mut waiting = false;
        if !self.features.is_empty() {
            self.features
                .for_each(|feature| waiting |= feature.mail_waiting());
        }
        waiting
    }

    /// Whether a feature asks the loop to wait for another loop of the run.
    fn hold_for_peers(&self) -> bool {
        let mut hold = false;
        self.features
            .for_each(|feature| hold |= feature.hold_for_peers(self));
        hold
    }

    /// Sleeps `timeout`, but wakes early if a stop handle can interrupt the loop (the selector
    /// then holds its waker).
    fn sleep(&self, timeout: Duration) -> io::Result<()> {
        if self.remote.borrow().is_some() {
            self.poll_io(Some(timeout))
        } else {
            std::thread::sleep(timeout);
            self.events_unread.set(true);
            Ok(())
        }
    }

    /// Asks the selector for events and wakes the bots parked on them.
    fn poll_io(&self, timeout: Option<Duration>) -> io::Result<()> {
        let timeout = timeout.map(|timeout| self.on_time(timeout));
        let mut events = self.events.borrow_mut();
        match self.poll.borrow_mut().poll(&mut events, timeout) {
            Ok(()) => self.events_unread.set(false),
            Err(error) if error.kind() == io::ErrorKind::Interrupted => return Ok(()),
            Err(error) => return Err(error),
        }
        let mut io = self.io.borrow_mut();
        for event in events.iter() {
            if event.token() == REMOTE_TOKEN {
                // The wakes themselves are taken after the poll (`take_remote_wakes`).
                continue;
            }
            if event.token() == PRECISE_TOKEN {
                // The timers due are fired after the poll (`fire_due_timers`).
                if let Some(Some(precise)) = self.precise.get() {
                    precise.borrow_mut().fired();
                }
                continue;
            }
            // Errors and hang-ups wake both halves: the next operation reports them.
            let failed = event.is_error() || event.is_read_closed() || event.is_write_closed();
            let readable = event.is_readable() || failed;
            let writable = event.is_writable() || failed;
            // Through `wake`: a bot that asked `IoSource::read_ready` polls the selector from
            // inside its own poll, and its own wake must become a yield, not a lost push.
            io.on_event(event.token(), readable, writable, failed, |bot| {
                self.wake(bot)
            });
        }
        if events.iter().count() == events.capacity() {
            // A full buffer: more events wait in the kernel.
            self.events_unread.set(true);
        }
        Ok(())
    }

    /// The selector's timeout for a wait that is to end `timeout` from now, the precise timer
    /// armed for it if its end falls between milliseconds (see [`PreciseWait`]).
    fn on_time(&self, timeout: Duration) -> Duration {
        let precise = self
            .precise
            .get_or_init(|| PreciseWait::new(self.poll.borrow().registry()).map(RefCell::new));
        match precise {
            Some(precise) => precise.borrow_mut().timeout_for(timeout),
            None => timeout,
        }
    }

    /// Wakes every bot whose timer is due.
    fn fire_due_timers(&self) {
        let mut timers = self.timers.borrow_mut();
        if timers.is_empty() {
            return;
        }
        let now = self.clock.now();
        while let Some(bot) = timers.pop_due(now) {
            self.ready.push(bot);
        }
    }
}
