//! The state one loop shares with its bots: ready queue, clock, timers, selector.
//!
//! It is not generic over the bots' type, so leaf operations reach it through the thread-local
//! context; the typed bot storage stays in the executor.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::io;
use std::rc::{Rc, Weak};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use mio::{Events, Poll, Registry, Token};

use crate::barrier::{self, Barrier, BarrierState};
use crate::clock::Clock;
use crate::groups::Groups;
use crate::io_table::{Direction, IoTable};
use crate::ready::ReadyQueue;
use crate::timers::{Nanos, Timers};
use crate::waker::{REMOTE_TOKEN, Remote};
use crate::world::TickInfo;

/// End-of-tick work with access to the loop (message delivery).
type LoopWork = Box<dyn FnMut(&LoopState)>;
/// Work for one bot (closing its mailbox when it finishes).
pub(crate) type BotWork = Box<dyn FnMut(u32)>;
/// A user's tick hook, bound to the world.
pub(crate) type TickHook = Box<dyn FnMut(&TickInfo)>;

/// Ids for loops, unique in the process: a barrier knows which loop it registered with, and a
/// waker woken on another loop's thread knows it is not at home. Taken once per run.
static NEXT_LOOP_ID: AtomicU64 = AtomicU64::new(0);

/// How many selector events one `epoll_wait` may return.
const EVENTS_PER_POLL: usize = 1024;

/// Per-loop state.
pub(crate) struct LoopState {
    /// This loop's id (unique on its thread).
    id: u64,
    /// Number of bots.
    bots: u32,
    /// Bots not yet finished.
    live: Cell<usize>,
    /// One bit per bot, set when it finishes or fails (for state made after the fact, such as
    /// mailboxes created at a run's first message).
    exited: RefCell<Vec<u64>>,
    /// Bots that run in the coming tick.
    pub(crate) ready: RefCell<ReadyQueue>,
    /// Index of the bot being polled.
    current: Cell<u32>,
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
    /// Reused event buffer.
    events: RefCell<Events>,
    /// The run's typed mailboxes (`Rc<RefCell<Mailboxes<M>>>`), once a message is used.
    pub(crate) mail: RefCell<Option<Rc<dyn Any>>>,
    /// Delivers the tick's messages at its end.
    message_delivery: RefCell<Option<LoopWork>>,
    /// Closes a finished bot's mailbox.
    message_exit: RefCell<Option<BotWork>>,
    /// Group memberships.
    pub(crate) groups: RefCell<Groups>,
    /// Barriers used in this loop, told about exits, group changes and stalls.
    barriers: RefCell<Vec<Weak<RefCell<BarrierState>>>>,
    /// The barriers of groups, by group name.
    pub(crate) group_barriers: RefCell<HashMap<String, Barrier>>,
    /// The shared world (`Rc<RefCell<W>>`), until the run ends.
    world: RefCell<Option<Rc<dyn Any>>>,
    /// User hooks run after every tick, in order.
    hooks: RefCell<Vec<TickHook>>,
    /// How other threads wake bots of this loop; made when a foreign future first clones
    /// its waker.
    remote: RefCell<Option<Arc<Remote>>>,
    /// The run's random seed.
    seed: u64,
    /// Each bot's random state, made at the first use.
    rngs: RefCell<Vec<u64>>,
}

impl std::fmt::Debug for LoopState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoopState")
            .field("ready", &self.ready.borrow().len())
            .field("tick", &self.tick.get())
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

impl LoopState {
    /// A loop for `bots` bots, all ready, sharing `world`.
    pub(crate) fn new(
        bots: u32,
        virtual_time: bool,
        seed: u64,
        world: Rc<dyn Any>,
    ) -> io::Result<Self> {
        let id = NEXT_LOOP_ID.fetch_add(1, Ordering::Relaxed);
        Ok(LoopState {
            id,
            bots,
            live: Cell::new(bots as usize),
            exited: RefCell::new(vec![0; (bots as usize).div_ceil(64)]),
            ready: RefCell::new(ReadyQueue::all_ready(bots)),
            current: Cell::new(0),
            tick: Cell::new(0),
            clock: Clock::new(virtual_time),
            timers: RefCell::new(Timers::default()),
            io: RefCell::new(IoTable::default()),
            next_op: Cell::new(0),
            poll: RefCell::new(Poll::new()?),
            events: RefCell::new(Events::with_capacity(EVENTS_PER_POLL)),
            mail: RefCell::new(None),
            message_delivery: RefCell::new(None),
            message_exit: RefCell::new(None),
            groups: RefCell::new(Groups::default()),
            barriers: RefCell::new(Vec::new()),
            group_barriers: RefCell::new(HashMap::new()),
            world: RefCell::new(Some(world)),
            hooks: RefCell::new(Vec::new()),
            remote: RefCell::new(None),
            seed,
            rngs: RefCell::new(Vec::new()),
        })
    }

    /// This loop's id.
    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// Whether bot `index` has finished or failed.
    pub(crate) fn has_exited(&self, index: u32) -> bool {
        self.exited.borrow()[index as usize / 64] & (1 << (index % 64)) != 0
    }

    /// Number of bots in the loop.
    pub(crate) fn bot_count(&self) -> u32 {
        self.bots
    }

    /// The number of the running tick.
    pub(crate) fn tick(&self) -> u64 {
        self.tick.get()
    }

    /// Sets how the tick's messages are delivered and how a finished bot's mailbox is closed
    /// (once, at the first message).
    pub(crate) fn set_message_delivery(&self, delivery: LoopWork, exit: BotWork) {
        *self.message_delivery.borrow_mut() = Some(delivery);
        *self.message_exit.borrow_mut() = Some(exit);
    }

    /// Adds a user hook, run after the hooks added before it.
    pub(crate) fn add_hook(&self, hook: TickHook) {
        self.hooks.borrow_mut().push(hook);
    }

    /// Ends the run's hold on what bots shared: the world, the hooks (which hold the world) and
    /// the mailboxes. A socket can outlive its run (a bot may return one) and keeps this state
    /// alive; without this, a socket stored in the world or left in a mailbox would keep the
    /// state alive in a cycle and leak every descriptor of the run.
    pub(crate) fn release_shared(&self) {
        // Everything is taken out before anything is dropped: a drop (a socket's) reaches back
        // into this state and must find no borrow held.
        let hooks = std::mem::take(&mut *self.hooks.borrow_mut());
        let delivery = self.message_delivery.borrow_mut().take();
        let exit = self.message_exit.borrow_mut().take();
        let mail = self.mail.borrow_mut().take();
        let world = self.world.borrow_mut().take();
        let group_barriers = std::mem::take(&mut *self.group_barriers.borrow_mut());
        drop((hooks, delivery, exit, mail, world, group_barriers));
    }

    /// The shared world.
    ///
    /// # Panics
    /// If `W` is not the run's world type (`Cx<M, W>` is made only by a run with world `W`).
    pub(crate) fn world<W: 'static>(&self) -> Rc<RefCell<W>> {
        let world = self.world.borrow().clone();
        world
            .expect("the world is shared while the run lasts")
            .downcast::<RefCell<W>>()
            .unwrap_or_else(|_| unreachable!("a Cx<M, W> is only made by a run with world W"))
    }

    /// Calls `f` with bot `index`'s random state, seeding every bot's at the first use.
    pub(crate) fn with_rng_state<R>(&self, index: u32, f: impl FnOnce(&mut u64) -> R) -> R {
        let mut rngs = self.rngs.borrow_mut();
        if rngs.is_empty() {
            *rngs = (0..self.bots)
                .map(|bot| crate::rng::initial_state(self.seed, bot))
                .collect();
        }
        f(&mut rngs[index as usize])
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
            .is_some_and(|remote| Arc::strong_count(remote) > 1)
    }

    /// Starts telling `barrier` about exits and stalls.
    pub(crate) fn watch_barrier(&self, barrier: Weak<RefCell<BarrierState>>) {
        let mut barriers = self.barriers.borrow_mut();
        barriers.retain(|barrier| barrier.strong_count() > 0);
        barriers.push(barrier);
    }

    /// Bookkeeping when bot `index` finishes or fails: it leaves its groups, and barriers it
    /// waited on break.
    pub(crate) fn bot_exited(&self, index: u32) {
        self.live.set(self.live.get() - 1);
        self.exited.borrow_mut()[index as usize / 64] |= 1 << (index % 64);
        self.groups.borrow_mut().exit(index);
        if let Some(close_mailbox) = &mut *self.message_exit.borrow_mut() {
            close_mailbox(index);
        }
        // Breaking a barrier only wakes bots (the ready queue); the list itself is not touched.
        for barrier in self.barriers.borrow().iter() {
            barrier::bot_exited(barrier, index, self);
        }
    }

    /// Called when nothing can wake any bot: releases barrier waiters with an error. True if
    /// that woke a bot (the run goes on).
    pub(crate) fn release_stalled(&self) -> bool {
        let mut woke = false;
        for barrier in self.barriers.borrow().iter() {
            woke |= barrier::loop_stalled(barrier, self);
        }
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

    /// Queues `bot` to run (no effect if it is queued already).
    #[inline]
    pub(crate) fn wake(&self, bot: u32) {
        self.ready.borrow_mut().push(bot);
    }

    /// Wakes the running bot at `deadline`.
    pub(crate) fn add_timer(&self, deadline: Nanos) {
        self.timers.borrow_mut().insert(deadline, self.current());
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

    /// Ends a tick: delivers what the tick produced, then looks for I/O and due timers without
    /// blocking, so bots they wake run in the next tick.
    pub(crate) fn end_tick(&self) -> io::Result<()> {
        self.run_end_of_tick_work();
        self.tick.set(self.tick.get() + 1);
        if !self.io.borrow().is_empty() {
            self.poll_io(Some(Duration::ZERO))?;
        }
        self.take_remote_wakes();
        self.fire_due_timers();
        Ok(())
    }

    /// Delivers the tick's messages, applies group changes, then runs the user's hooks.
    fn run_end_of_tick_work(&self) {
        if let Some(deliver) = &mut *self.message_delivery.borrow_mut() {
            deliver(self);
        }
        if self.groups.borrow_mut().commit() {
            for barrier in self.barriers.borrow().iter() {
                barrier::regroup(barrier, self);
            }
        }
        let mut hooks = self.hooks.borrow_mut();
        if hooks.is_empty() {
            return;
        }
        let info = TickInfo {
            tick: self.tick.get(),
            now: self.clock.instant(self.clock.now()),
            live_bots: self.live.get(),
        };
        for hook in hooks.iter_mut() {
            hook(&info);
        }
    }

    /// Queues the bots woken from other threads since the last look (one atomic load when none
    /// were: this runs every tick).
    fn take_remote_wakes(&self) {
        if let Some(remote) = &*self.remote.borrow() {
            let woken = remote.take_woken();
            let mut ready = self.ready.borrow_mut();
            for bot in woken.into_iter().filter(|&bot| bot < self.bots) {
                ready.push(bot);
            }
        }
    }

    /// Called when no bot is ready: waits for an I/O event or the next timer (virtual time jumps
    /// to it). Returns `false` when nothing can ever wake a parked bot.
    pub(crate) fn wait_for_work(&self) -> io::Result<bool> {
        // A wake from another thread may have come after the end of the tick looked.
        self.take_remote_wakes();
        if self.ready.borrow().len() > 0 {
            return Ok(true);
        }
        let next_deadline = self.timers.borrow().next_deadline();
        let io_waiters = self.io.borrow().has_waiters() || self.foreign_wakers_alive();
        if next_deadline.is_none() && !io_waiters {
            return Ok(false);
        }
        if self.clock.is_virtual() {
            if io_waiters {
                self.poll_io(Some(Duration::ZERO))?;
                if self.ready.borrow().len() > 0 {
                    return Ok(true);
                }
            }
            match next_deadline {
                Some(deadline) => self.clock.advance_to(deadline),
                None => self.poll_io(None)?,
            }
        } else {
            let timeout = next_deadline
                .map(|deadline| Duration::from_nanos(deadline.saturating_sub(self.clock.now())));
            if io_waiters {
                self.poll_io(timeout)?;
            } else if let Some(timeout) = timeout {
                std::thread::sleep(timeout);
            }
        }
        self.take_remote_wakes();
        self.fire_due_timers();
        Ok(true)
    }

    /// Asks the selector for events and wakes the bots parked on them.
    fn poll_io(&self, timeout: Option<Duration>) -> io::Result<()> {
        let mut events = self.events.borrow_mut();
        match self.poll.borrow_mut().poll(&mut events, timeout) {
            Ok(()) => {}
            Err(error) if error.kind() == io::ErrorKind::Interrupted => return Ok(()),
            Err(error) => return Err(error),
        }
        let mut io = self.io.borrow_mut();
        let mut ready = self.ready.borrow_mut();
        for event in events.iter() {
            if event.token() == REMOTE_TOKEN {
                // The wakes themselves are taken after the poll (`take_remote_wakes`).
                continue;
            }
            // Errors and hang-ups wake both halves: the next operation reports them.
            let failed = event.is_error() || event.is_read_closed() || event.is_write_closed();
            let readable = event.is_readable() || failed;
            let writable = event.is_writable() || failed;
            io.on_event(event.token(), readable, writable, |bot| ready.push(bot));
        }
        Ok(())
    }

    /// Wakes every bot whose timer is due.
    fn fire_due_timers(&self) {
        let mut timers = self.timers.borrow_mut();
        if timers.is_empty() {
            return;
        }
        let now = self.clock.now();
        let mut ready = self.ready.borrow_mut();
        while let Some(bot) = timers.pop_due(now) {
            ready.push(bot);
        }
    }
}
