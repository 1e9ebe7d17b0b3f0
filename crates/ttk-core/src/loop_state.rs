//! The state one loop shares with its bots: ready queue, clock, timers, selector.
//!
//! It is not generic over the bots' type, so leaf operations reach it through the thread-local
//! context; the typed bot storage stays in the executor.

use std::cell::{Cell, RefCell};
use std::io;
use std::time::Duration;

use mio::{Events, Poll, Registry, Token};

use crate::clock::Clock;
use crate::io_table::{Direction, IoTable};
use crate::ready::ReadyQueue;
use crate::timers::{Nanos, Timers};

/// How many selector events one `epoll_wait` may return.
const EVENTS_PER_POLL: usize = 1024;

/// Per-loop state.
pub(crate) struct LoopState {
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
    /// The selector.
    poll: RefCell<Poll>,
    /// Reused event buffer.
    events: RefCell<Events>,
    /// Work to do at the end of every tick (message delivery, user hooks), in order.
    end_of_tick: RefCell<Vec<Box<dyn FnMut()>>>,
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
    /// A loop for `bots` bots, all ready.
    pub(crate) fn new(bots: u32, virtual_time: bool) -> io::Result<Self> {
        Ok(LoopState {
            ready: RefCell::new(ReadyQueue::all_ready(bots)),
            current: Cell::new(0),
            tick: Cell::new(0),
            clock: Clock::new(virtual_time),
            timers: RefCell::new(Timers::default()),
            io: RefCell::new(IoTable::default()),
            poll: RefCell::new(Poll::new()?),
            events: RefCell::new(Events::with_capacity(EVENTS_PER_POLL)),
            end_of_tick: RefCell::new(Vec::new()),
        })
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

    /// Parks the running bot until `token` is ready in `direction`.
    pub(crate) fn park_on_io(&self, token: Token, direction: Direction) {
        self.io.borrow_mut().park(token, direction, self.current());
    }

    /// Ends a tick: delivers what the tick produced, then looks for I/O and due timers without
    /// blocking, so bots they wake run in the next tick.
    pub(crate) fn end_tick(&self) -> io::Result<()> {
        self.tick.set(self.tick.get() + 1);
        self.run_end_of_tick_work();
        if !self.io.borrow().is_empty() {
            self.poll_io(Some(Duration::ZERO))?;
        }
        self.fire_due_timers();
        Ok(())
    }

    /// Runs the end-of-tick work. The list is taken out while it runs, so work may add work.
    fn run_end_of_tick_work(&self) {
        let mut work = std::mem::take(&mut *self.end_of_tick.borrow_mut());
        if work.is_empty() {
            return;
        }
        for step in &mut work {
            step();
        }
        let mut list = self.end_of_tick.borrow_mut();
        work.append(&mut list);
        *list = work;
    }

    /// Called when no bot is ready: waits for an I/O event or the next timer (virtual time jumps
    /// to it). Returns `false` when nothing can ever wake a parked bot.
    pub(crate) fn wait_for_work(&self) -> io::Result<bool> {
        let next_deadline = self.timers.borrow().next_deadline();
        let io_waiters = self.io.borrow().has_waiters();
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
            // Errors and hang-ups wake both halves: the next operation reports them.
            let failed = event.is_error() || event.is_read_closed() || event.is_write_closed();
            let readable = event.is_readable() || failed;
            let writable = event.is_writable() || failed;
            for bot in io
                .on_event(event.token(), readable, writable)
                .into_iter()
                .flatten()
            {
                ready.push(bot);
            }
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
