//! A counting semaphore among the bots of one loop, fair in arrival order.

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use crate::context::{self, with_loop};

/// A counting semaphore among the bots of one loop: at most `permits` bots hold a [`Permit`]
/// at a time; the others wait, parked, in arrival order.
///
/// The use case it was made for: pacing connects. A server's listen backlog (the queue of
/// connections the kernel has completed but the server has not yet accepted) is often small —
/// 128 by default, sometimes 10 or less. A load test that starts 10,000 bots connecting in the
/// same tick overflows it; the kernel then drops the surplus handshakes, and those clients retry
/// only after a second or more, so their connects time out and the report blames the server
/// for what the test did. Take a permit before connecting and give it back once the server has
/// answered: at most `permits` handshakes are in flight, the backlog never overflows, and every
/// bot gets in at the rate the server accepts.
///
/// - [`acquire`](Semaphore::acquire) waits for a permit: `let permit =
///   yield_!(sem.acquire());`. The bot is parked meanwhile; it costs nothing until a permit is
///   handed to it.
/// - A [`Permit`] gives its permit back when dropped — also when its bot finishes, panics or
///   is stopped, or a run ends at its deadline — so a failing bot cannot leak one.
/// - It is **fair**: a released permit goes straight to the bot that has waited longest. A bot
///   that comes later cannot take it first, not even with [`try_acquire`](Semaphore::try_acquire)
///   in the tick of the release.
/// - A wait dropped before it is granted (under a [`timeout`](crate::timeout), or by a stopped
///   bot) leaves the queue in O(1); one dropped after it was granted but before it ran passes
///   its permit to the next waiter. Every operation costs O(1), whatever the number of waiters.
/// - Bots waiting on a semaphore that nobody holds a permit of are parked with nothing to wake
///   them: the run ends [`Stalled`](crate::RunEnd::Stalled) instead of hanging.
///
/// Clones are handles to the same semaphore. It belongs to the thread that made it (not
/// `Send`): share it among the bots of one loop.
///
/// # Examples
/// Ten bots through a semaphore of two: never more than two hold a permit at once.
/// ```
/// # use ttk_macros::bot;
/// use std::cell::Cell;
/// use std::rc::Rc;
/// use std::time::Duration;
/// use ttk_core::{Cx, Semaphore};
///
/// #[bot(crate = ttk_core)]
/// fn paced(_cx: Cx, _id: usize, sem: Semaphore, inside: Rc<Cell<usize>>) -> usize {
///     let _permit = ttk_core::yield_!(sem.acquire());
///     inside.set(inside.get() + 1);
///     let most = inside.get();
///     // Connect, log in... while holding the permit.
///     ttk_core::yield_!(ttk_core::sleep(Duration::from_millis(1)));
///     inside.set(inside.get() - 1);
///     most
/// } // the permit is given back here
///
/// let sem = Semaphore::new(2);
/// let inside = Rc::new(Cell::new(0));
/// let most = ttk_core::run(10, |cx, id| paced(cx, id, sem.clone(), inside.clone()));
/// assert_eq!(most.into_iter().max(), Some(2));
/// assert_eq!(sem.available(), 2);
/// ```
#[derive(Clone)]
pub struct Semaphore {
    /// The shared state.
    inner: Rc<RefCell<State>>,
}

/// "No node": the end of the queue, or of the free list.
const NIL: u32 = u32::MAX;

/// The state of a [`Semaphore`].
///
/// The waiters form a doubly linked list threaded through `nodes` (a slab whose free places
/// form a singly linked list of their own), so that a waiter joins at the back, is granted at
/// the front and leaves from anywhere in O(1), and the memory kept is that of the most waiters
/// there ever were at once.
#[derive(Debug)]
struct State {
    /// Permits nobody holds and nobody has been granted. Never more than 0 while bots wait:
    /// a released permit goes to a waiter first.
    available: usize,
    /// The slab of waiters.
    nodes: Vec<Node>,
    /// The longest-waiting waiter ([`NIL`] if none).
    head: u32,
    /// The latest waiter ([`NIL`] if none).
    tail: u32,
    /// The first free place of `nodes` ([`NIL`] if none).
    free: u32,
    /// Waiters in the queue (granted ones not counted).
    waiting: usize,
}

/// One place of [`State::nodes`].
#[derive(Debug)]
struct Node {
    /// The waiter before this one in the queue; unused unless [`Stage::Queued`].
    prev: u32,
    /// The waiter after this one in the queue, or the next free place if [`Stage::Free`].
    next: u32,
    /// The bot to wake when a permit is granted.
    bot: u32,
    /// The loop that bot runs in.
    loop_id: u32,
    /// Where the waiter is.
    stage: Stage,
}

/// Where a waiter of [`State::nodes`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    /// In the queue.
    Queued,
    /// Out of the queue, holding a permit its [`Acquire`] has not taken yet.
    Granted,
    /// A free place.
    Free,
}

impl Semaphore {
    /// A semaphore with `permits` permits (0 is allowed: then nobody gets in until
    /// [`add_permits`](Semaphore::add_permits)).
    ///
    /// # Examples
    /// ```
    /// use ttk_core::Semaphore;
    ///
    /// let sem = Semaphore::new(3);
    /// assert_eq!(sem.available(), 3);
    /// assert_eq!(sem.waiting(), 0);
    /// ```
    pub fn new(permits: usize) -> Semaphore {
        Semaphore {
            inner: Rc::new(RefCell::new(State {
                available: permits,
                nodes: Vec::new(),
                head: NIL,
                tail: NIL,
                free: NIL,
                waiting: 0,
            })),
        }
    }

    /// Waits for a permit: `let permit = yield_!(sem.acquire());`. The bot waits, parked,
    /// behind the bots that asked before it; a permit free with nobody waiting is taken at once.
    ///
    /// Dropping the [`Acquire`] before it completes gives up the place in the queue (or, if a
    /// permit was already handed to it, passes the permit to the next waiter). Under
    /// [`timeout`](crate::timeout), that is how a bot waits at most so long.
    ///
    /// # Panics
    /// When polled, if it must wait outside a running loop.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// use std::time::Duration;
    /// use ttk_core::{Cx, Semaphore};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn patient(_cx: Cx, _id: usize, sem: Semaphore) -> bool {
    ///     let wait = sem.acquire();
    ///     let permit = ttk_core::yield_!(ttk_core::timeout(Duration::from_secs(1), wait));
    ///     permit.is_ok()
    /// }
    ///
    /// let sem = Semaphore::new(1);
    /// assert_eq!(ttk_core::run(3, |cx, id| patient(cx, id, sem.clone())), [true; 3]);
    /// ```
    pub fn acquire(&self) -> Acquire {
        Acquire {
            semaphore: self.clone(),
            waiter: Waiter::NotYet,
        }
    }

    /// A permit if one is free and no bot waits for one; `None` otherwise (a bot calling this
    /// never takes a permit a waiting bot is due). Works outside a loop too.
    ///
    /// # Examples
    /// ```
    /// use ttk_core::Semaphore;
    ///
    /// let sem = Semaphore::new(1);
    /// let permit = sem.try_acquire().expect("one is free");
    /// assert!(sem.try_acquire().is_none());
    /// drop(permit);
    /// assert!(sem.try_acquire().is_some());
    /// ```
    pub fn try_acquire(&self) -> Option<Permit> {
        let mut state = self.inner.borrow_mut();
        if state.head == NIL && state.available > 0 {
            state.available -= 1;
            drop(state);
            return Some(Permit {
                semaphore: self.clone(),
            });
        }
        None
    }

    /// Adds `permits` permits: the longest-waiting bots get them first, the rest become
    /// available. With a semaphore made with fewer permits, this raises the number of bots let
    /// in at once as a run goes on (a ramp of connects, say). The count saturates at
    /// `usize::MAX` (so `add_permits(usize::MAX)` opens the gate for good).
    ///
    /// # Examples
    /// ```
    /// use ttk_core::Semaphore;
    ///
    /// let sem = Semaphore::new(0);
    /// assert!(sem.try_acquire().is_none());
    /// sem.add_permits(2);
    /// assert_eq!(sem.available(), 2);
    /// ```
    pub fn add_permits(&self, permits: usize) {
        for given in 0..permits {
            let granted = {
                let mut state = self.inner.borrow_mut();
                let granted = state.grant_front();
                if granted.is_none() {
                    // Nobody else waits: the rest become available at once.
                    state.available = state.available.saturating_add(permits - given);
                }
                granted
            };
            match granted {
                Some((bot, loop_id)) => wake(bot, loop_id),
                None => return,
            }
        }
    }

    /// How many permits are free now. (While bots wait, 0: a released permit goes to the
    /// first of them.)
    ///
    /// # Examples
    /// ```
    /// use ttk_core::Semaphore;
    ///
    /// let sem = Semaphore::new(2);
    /// let _permit = sem.try_acquire();
    /// assert_eq!(sem.available(), 1);
    /// ```
    pub fn available(&self) -> usize {
        self.inner.borrow().available
    }

    /// How many bots wait for a permit (not counting waits already granted one).
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// use ttk_core::{Cx, Semaphore};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn queue(_cx: Cx, id: usize, sem: Semaphore) -> usize {
    ///     let _permit = ttk_core::yield_!(sem.acquire());
    ///     let waiting = sem.waiting();
    ///     ttk_core::yield_!();
    ///     waiting
    /// }
    ///
    /// let sem = Semaphore::new(1);
    /// // Bot 0 gets in at once while the others queue; each sees those behind it.
    /// assert_eq!(ttk_core::run(3, |cx, id| queue(cx, id, sem.clone())), [0, 1, 0]);
    /// ```
    pub fn waiting(&self) -> usize {
        self.inner.borrow().waiting
    }

    /// Gives one permit back: to the longest-waiting bot if any (woken to run in the next
    /// tick), else to the free ones.
    fn release_one(&self) {
        let granted = {
            let mut state = self.inner.borrow_mut();
            let granted = state.grant_front();
            if granted.is_none() {
                state.available = state.available.saturating_add(1);
            }
            granted
        };
        if let Some((bot, loop_id)) = granted {
            wake(bot, loop_id);
        }
    }
}

/// Wakes `bot` of loop `loop_id`, granted a permit, to run in the next tick.
fn wake(bot: u32, loop_id: u32) {
    // A waiter always belongs to the running loop (its bot is dropped, and its wait with it,
    // before its run ends); checking costs nothing and keeps a mistake from waking a bot of
    // another run.
    if context::current_loop_id() == loop_id {
        context::try_with_loop(|state| state.wake(bot));
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.inner.borrow();
        f.debug_struct("Semaphore")
            .field("available", &state.available)
            .field("waiting", &state.waiting)
            .finish()
    }
}

impl State {
    /// Hands a permit to the longest-waiting bot, if one waits; returns it, with its loop.
    fn grant_front(&mut self) -> Option<(u32, u32)> {
        let key = self.head;
        if key == NIL {
            return None;
        }
        self.unlink(key);
        let node = &mut self.nodes[key as usize];
        node.stage = Stage::Granted;
        Some((node.bot, node.loop_id))
    }

    /// Puts a waiter for `bot` of loop `loop_id` at the back of the queue; returns its place.
    fn push_back(&mut self, bot: u32, loop_id: u32) -> u32 {
        let node = Node {
            prev: self.tail,
            next: NIL,
            bot,
            loop_id,
            stage: Stage::Queued,
        };
        let key = if self.free == NIL {
            let key = u32::try_from(self.nodes.len())
                .ok()
                .filter(|&key| key != NIL)
                .expect("a semaphore holds fewer than 2^32 - 1 waiters");
            self.nodes.push(node);
            key
        } else {
            let key = self.free;
            self.free = self.nodes[key as usize].next;
            self.nodes[key as usize] = node;
            key
        };
        match self.tail {
            NIL => self.head = key,
            tail => self.nodes[tail as usize].next = key,
        }
        self.tail = key;
        self.waiting += 1;
        key
    }

    /// Takes waiter `key` out of the queue (it stays in its place).
    fn unlink(&mut self, key: u32) {
        let Node { prev, next, .. } = self.nodes[key as usize];
        match prev {
            NIL => self.head = next,
            prev => self.nodes[prev as usize].next = next,
        }
        match next {
            NIL => self.tail = prev,
            next => self.nodes[next as usize].prev = prev,
        }
        self.waiting -= 1;
    }

    /// Frees place `key` (out of the queue already) for another waiter.
    fn free(&mut self, key: u32) {
        let node = &mut self.nodes[key as usize];
        node.stage = Stage::Free;
        node.next = self.free;
        self.free = key;
    }
}

/// A bot's wait for a permit of a [`Semaphore`]; made by [`Semaphore::acquire`], resolves to
/// the [`Permit`].
///
/// Dropped before it completes, it leaves the queue (in O(1)); dropped after a permit was
/// handed to it but before its bot ran to take it, it passes the permit to the next waiter.
///
/// # Examples
/// A bot that gives up waiting leaves the queue at once.
/// ```
/// # use ttk_macros::bot;
/// use std::time::Duration;
/// use ttk_core::{Cx, Semaphore};
///
/// #[bot(crate = ttk_core)]
/// fn hasty(_cx: Cx, _id: usize, sem: Semaphore) -> usize {
///     let wait = sem.acquire();
///     let gave_up = ttk_core::yield_!(ttk_core::timeout(Duration::from_millis(5), wait));
///     assert!(gave_up.is_err());
///     sem.waiting()
/// }
///
/// let sem = Semaphore::new(0);
/// assert_eq!(ttk_core::run(1, |cx, id| hasty(cx, id, sem.clone())), [0]);
/// ```
#[must_use = "an acquire does nothing unless waited on with yield_!"]
pub struct Acquire {
    /// The semaphore.
    semaphore: Semaphore,
    /// Where this wait is.
    waiter: Waiter,
}

/// Where an [`Acquire`] is.
#[derive(Clone, Copy, Debug)]
enum Waiter {
    /// Not polled yet.
    NotYet,
    /// In the semaphore's queue, or granted a permit, at this place of its nodes.
    At(u32),
    /// Completed: its permit was handed out.
    Done,
}

impl Future for Acquire {
    type Output = Permit;

    fn poll(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Permit> {
        let this = &mut *self;
        match this.waiter {
            Waiter::NotYet => {
                if let Some(permit) = this.semaphore.try_acquire() {
                    this.waiter = Waiter::Done;
                    return Poll::Ready(permit);
                }
                // Read before borrowing the state: outside a loop this panics.
                let (bot, loop_id) = with_loop(|state| (state.current(), state.id()));
                let key = this.semaphore.inner.borrow_mut().push_back(bot, loop_id);
                this.waiter = Waiter::At(key);
                Poll::Pending
            }
            Waiter::At(key) => {
                let mut state = this.semaphore.inner.borrow_mut();
                if state.nodes[key as usize].stage == Stage::Granted {
                    state.free(key);
                    drop(state);
                    this.waiter = Waiter::Done;
                    return Poll::Ready(Permit {
                        semaphore: this.semaphore.clone(),
                    });
                }
                drop(state);
                // Polled again before its turn: if another bot polls it now (a future handed
                // over), wake that one.
                let (bot, loop_id) = with_loop(|state| (state.current(), state.id()));
                let mut state = this.semaphore.inner.borrow_mut();
                let node = &mut state.nodes[key as usize];
                node.bot = bot;
                node.loop_id = loop_id;
                Poll::Pending
            }
            Waiter::Done => panic!("a semaphore's Acquire was polled after it completed"),
        }
    }
}

impl Drop for Acquire {
    /// A wait given up leaves the queue; one granted a permit it did not take passes it on.
    fn drop(&mut self) {
        let Waiter::At(key) = self.waiter else {
            return;
        };
        let mut state = self.semaphore.inner.borrow_mut();
        match state.nodes[key as usize].stage {
            Stage::Queued => {
                state.unlink(key);
                state.free(key);
            }
            Stage::Granted => {
                state.free(key);
                drop(state);
                self.semaphore.release_one();
            }
            Stage::Free => {}
        }
    }
}

impl fmt::Debug for Acquire {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Acquire")
            .field("semaphore", &self.semaphore)
            .field("waiter", &self.waiter)
            .finish()
    }
}

/// A permit of a [`Semaphore`], held until dropped; made by [`Semaphore::acquire`] and
/// [`Semaphore::try_acquire`].
///
/// Dropping it gives the permit back: to the longest-waiting bot, if one waits. A bot's
/// permits are dropped with it when it finishes, panics or is stopped.
///
/// # Examples
/// ```
/// use ttk_core::Semaphore;
///
/// let sem = Semaphore::new(1);
/// {
///     let _permit = sem.try_acquire().unwrap();
///     assert_eq!(sem.available(), 0);
/// }
/// assert_eq!(sem.available(), 1);
/// ```
#[must_use = "a permit is given back as soon as it is dropped"]
pub struct Permit {
    /// The semaphore it belongs to.
    semaphore: Semaphore,
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.semaphore.release_one();
    }
}

impl fmt::Debug for Permit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit")
            .field("semaphore", &self.semaphore)
            .finish()
    }
}
