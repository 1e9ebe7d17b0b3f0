//! Typed messages between the bots of a run.
//!
//! A message sent during tick `t` is visible to its receiver from tick `t + 1`, whatever order
//! the bots run in (as in the seed). Messages from one sender arrive in the order sent.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::future::poll_fn;
use std::task::Poll;

use crate::cx::Cx;
use crate::exchange::{Addressee, CrossMail};
use crate::feature::{Feature, Stage};
use crate::loop_state::LoopState;

/// A message as received: who sent it, and what.
///
/// # Examples
/// ```
/// # use ttk_macros::bot;
/// use ttk_core::{Cx, Message};
///
/// #[bot(crate = ttk_core)]
/// fn pair(cx: Cx<&'static str>, id: usize) -> Option<Message<&'static str>> {
///     if id == 0 {
///         cx.send(1, "hello");
///         return None;
///     }
///     Some(ttk_core::yield_!(cx.recv()))
/// }
///
/// let got = ttk_core::run(2, pair);
/// assert_eq!(got[1], Some(Message { from: 0, data: "hello" }));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message<M> {
    /// The sender's bot id.
    pub from: usize,
    /// The message.
    pub data: M,
}

/// The mailboxes of one run's bots, for message type `M`.
pub(crate) struct Mailboxes<M> {
    /// Sent this tick, delivered at its end: (to, from), by id, and the message.
    pending: Vec<(usize, usize, M)>,
    /// Delivered and not yet received, by bot index: (sender id, message).
    inboxes: Vec<VecDeque<(usize, M)>>,
    /// Where each bot stands, by index.
    status: Vec<Status>,
}

/// A bot's relation to its mailbox.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    /// Running or parked on something else.
    Idle,
    /// Parked in a receive.
    Waiting,
    /// Finished (or no bot there): messages to it are dropped (they would pile up unread).
    Closed,
}

impl<M> Mailboxes<M> {
    /// Mailboxes for the bots of `state`.
    fn new(state: &LoopState) -> Self {
        let bots = state.bots.borrow();
        Mailboxes {
            pending: Vec::new(),
            inboxes: (0..bots.capacity()).map(|_| VecDeque::new()).collect(),
            status: (0..bots.capacity())
                .map(|index| match bots.is_live(index) {
                    true => Status::Idle,
                    false => Status::Closed,
                })
                .collect(),
        }
    }

    /// Moves this tick's messages into the inboxes and wakes the receivers waiting for them.
    /// Messages to bots that are gone are returned, for the caller to drop once it holds no
    /// borrow.
    fn deliver(&mut self, state: &LoopState) -> Vec<M> {
        let mut undeliverable = Vec::new();
        for (to, from, data) in self.pending.drain(..) {
            let Some(index) = state.index_of(to) else {
                undeliverable.push(data);
                continue;
            };
            let index = index as usize;
            let status = &mut self.status[index];
            match status {
                Status::Closed => {
                    undeliverable.push(data);
                    continue;
                }
                Status::Waiting => {
                    *status = Status::Idle;
                    state.wake(index as u32);
                }
                Status::Idle => {}
            }
            self.inboxes[index].push_back((from, data));
        }
        undeliverable
    }

    /// Opens the mailbox of a bot that took place `bot`.
    fn open(&mut self, bot: u32) {
        let index = bot as usize;
        if self.inboxes.len() <= index {
            self.inboxes.resize_with(index + 1, VecDeque::new);
            self.status.resize(index + 1, Status::Closed);
        }
        self.status[index] = Status::Idle;
    }

    /// Closes a finished bot's mailbox: later messages are dropped at delivery; the unread ones
    /// are returned, for the caller to drop once it holds no borrow.
    fn close(&mut self, bot: u32) -> VecDeque<(usize, M)> {
        match self.inboxes.get_mut(bot as usize) {
            Some(inbox) => {
                self.status[bot as usize] = Status::Closed;
                std::mem::take(inbox)
            }
            None => VecDeque::new(),
        }
    }

    /// Takes the first message in `bot`'s inbox from one of `senders` (any sender if `None`).
    fn take(&mut self, bot: u32, senders: Option<&[usize]>) -> Option<Message<M>> {
        let inbox = self.inboxes.get_mut(bot as usize)?;
        let position = match senders {
            None => (!inbox.is_empty()).then_some(0)?,
            Some(senders) => inbox.iter().position(|(from, _)| senders.contains(from))?,
        };
        let (from, data) = inbox.remove(position).expect("position is in range");
        Some(Message { from, data })
    }

    /// Whether `bot` has a message from one of `senders` (any sender if `None`).
    fn has(&self, bot: u32, senders: Option<&[usize]>) -> bool {
        let Some(inbox) = self.inboxes.get(bot as usize) else {
            return false;
        };
        match senders {
            None => !inbox.is_empty(),
            Some(senders) => inbox.iter().any(|(from, _)| senders.contains(from)),
        }
    }
}

/// The mailboxes as a feature of the loop.
struct Mail<M> {
    /// The mailboxes.
    boxes: RefCell<Mailboxes<M>>,
}

/// The counter of messages dropped for want of a bot to take them.
pub(crate) const UNDELIVERED: &str = "messages dropped (no bot with that id running here)";

/// Drops user values (messages) where a panicking destructor cannot take the run down.
fn drop_contained<T>(values: T) {
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(values)));
}

impl<M: 'static> Feature for Mail<M> {
    fn bot_started(&self, _state: &LoopState, index: u32, _id: usize) {
        self.boxes.borrow_mut().open(index);
    }

    fn bot_exited(&self, _state: &LoopState, index: u32) {
        let unread = self.boxes.borrow_mut().close(index);
        drop_contained(unread);
    }

    fn end_of_tick(&self, state: &LoopState) {
        let mut boxes = self.boxes.borrow_mut();
        if boxes.pending.is_empty() {
            return;
        }
        let undeliverable = boxes.deliver(state);
        drop(boxes);
        if !undeliverable.is_empty() {
            // Said in the report: a message to a bot of another process (which messages do
            // not reach) or to one that ended otherwise looks like a receive that timed out.
            crate::metrics::count_in_loop(state, UNDELIVERED, undeliverable.len() as u64);
        }
        drop_contained(undeliverable);
    }

    fn release(&self) {
        let mut boxes = self.boxes.borrow_mut();
        let pending = std::mem::take(&mut boxes.pending);
        let inboxes = std::mem::take(&mut boxes.inboxes);
        drop(boxes);
        drop_contained((pending, inboxes));
    }
}

/// Calls `f` with the running loop's mailboxes for `M` (made at the first use: a run without
/// messages pays nothing).
fn with_mailboxes<M: 'static, R>(
    state: &LoopState,
    f: impl FnOnce(&mut Mailboxes<M>, &LoopState) -> R,
) -> R {
    // Once the mailboxes exist (every call but the first), reach them without touching their
    // `Rc`; `f` only works on the mailboxes, so the feature table may stay borrowed.
    let mut f = Some(f);
    let done = state.features().with(|mail: &Mail<M>| {
        let f = f.take().expect("called once");
        f(&mut mail.boxes.borrow_mut(), state)
    });
    if let Some(result) = done {
        return result;
    }
    let mail = state.features().get_or_insert(Stage::Delivery, || Mail {
        boxes: RefCell::new(Mailboxes::<M>::new(state)),
    });
    let mut boxes = mail.boxes.borrow_mut();
    let f = f.take().expect("not called yet");
    f(&mut boxes, state)
}

/// Queues a message that came from another loop with this tick's: it is delivered with them.
pub(crate) fn enqueue_from_afar<M: 'static>(
    state: &LoopState,
    to: Addressee<M>,
    from: usize,
    data: M,
) {
    with_mailboxes(state, |boxes, state| match to {
        Addressee::Bot(id) => boxes.pending.push((id, from, data)),
        Addressee::Everyone(copy) => {
            let bots = state.bots.borrow();
            for index in bots.live_indices() {
                // A copy that panics is skipped: the sender's clone is user code, and on one
                // loop its panic would have failed the sender only.
                let copied = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| copy(&data)));
                if let Ok(copied) = copied {
                    boxes.pending.push((bots.id_of(index), from, copied));
                }
            }
        }
    });
}

/// Delivers the messages queued so far now, as the end of a tick would (for a loop that was
/// waiting when messages came from another loop).
pub(crate) fn deliver_now<M: 'static>(state: &LoopState) {
    if let Some(mail) = state.features().get::<Mail<M>>() {
        mail.end_of_tick(state);
    }
}

/// Hands `data` to the loop of bot `to` if it lives on another loop of the run; gives it back
/// if `to` is this loop's (or the run has one loop).
fn send_away<M: 'static>(state: &LoopState, to: usize, from: usize, data: M) -> Option<M> {
    if state.bots.borrow().ids().is_whole() {
        return Some(data);
    }
    let mut data = Some(data);
    let mut dropped = None;
    state.features().with(|cross: &CrossMail<M>| {
        if cross.is_away(to) {
            dropped = cross.post(to, from, data.take().expect("not sent yet"));
        }
    });
    if let Some(dropped) = dropped {
        // A bot of another process, or of a loop that ended: counted as delivery counts.
        crate::metrics::count_in_loop(state, UNDELIVERED, 1);
        drop_contained(dropped);
    }
    data
}

/// # Messages
///
/// A run's bots exchange messages of type `M` (the first type parameter of their `Cx`). A
/// message is never sent to its sender, even when it is in the group or list. Messages sent in
/// tick `t` are received from tick `t + 1` on.
///
/// ```
/// # use ttk_macros::bot;
/// use ttk_core::Cx;
///
/// #[bot(crate = ttk_core)]
/// fn pass_the_ball(cx: Cx<u32>, id: usize) -> Option<(usize, u32)> {
///     if id == 0 {
///         cx.send(1, 42);
///         return None;
///     }
///     let message = ttk_core::yield_!(cx.recv());
///     Some((message.from, message.data))
/// }
///
/// assert_eq!(ttk_core::run(2, pass_the_ball), [None, Some((0, 42))]);
/// ```
impl<M: 'static, W> Cx<M, W> {
    /// Calls `f` with this bot's loop's mailboxes and this bot's (index, id).
    fn with_mail<R>(&self, f: impl FnOnce(&mut Mailboxes<M>, &LoopState, u32, usize) -> R) -> R {
        let index = self.index;
        self.with_loop(|state| {
            let id = state.id_of(index);
            with_mailboxes(state, |boxes, state| f(boxes, state, index, id))
        })
    }

    /// Calls `f` with this bot's loop's mailboxes and this bot's index (receiving needs no id).
    fn with_inbox<R>(&self, f: impl FnOnce(&mut Mailboxes<M>, u32) -> R) -> R {
        let index = self.index;
        self.with_loop(|state| with_mailboxes(state, |boxes, _| f(boxes, index)))
    }

    /// Sends `data` to bot `to` (ignored if `to` is this bot; dropped if no bot with that id is
    /// running when the tick ends — a bot of another process, one that has ended — and counted
    /// in the run's metrics as `messages dropped (no bot with that id running here)`). In a run
    /// on several workers, a bot of another loop gets it on that loop's next tick.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// use ttk_core::Cx;
    ///
    /// #[bot(crate = ttk_core)]
    /// fn relay(cx: Cx<u32>, id: usize) -> u32 {
    ///     // Bot 0 starts the count; each bot adds one and passes it on.
    ///     let count = if id == 0 { 0 } else { ttk_core::yield_!(cx.recv()).data };
    ///     if id < 2 {
    ///         cx.send(id + 1, count + 1);
    ///     }
    ///     count
    /// }
    ///
    /// assert_eq!(ttk_core::run(3, relay), [0, 1, 2]);
    /// ```
    pub fn send(&self, to: usize, data: M) {
        // A message to oneself is dropped after the mailboxes are let go: its destructor is user
        // code, which may send too.
        let refused = self.with_mail(|boxes, state, _, me| {
            if to == me {
                return Some(data);
            }
            let data = send_away(state, to, me, data)?;
            boxes.pending.push((to, me, data));
            None
        });
        drop(refused);
    }

    /// Sends a copy of `data` to each bot of `to` except this one.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// use ttk_core::Cx;
    ///
    /// #[bot(crate = ttk_core)]
    /// fn fan_out(cx: Cx<char>, id: usize) -> Option<char> {
    ///     if id == 0 {
    ///         cx.send_many(&[0, 1, 2], 'x'); // not to itself
    ///         return None;
    ///     }
    ///     Some(ttk_core::yield_!(cx.recv()).data)
    /// }
    ///
    /// assert_eq!(ttk_core::run(3, fan_out), [None, Some('x'), Some('x')]);
    /// ```
    pub fn send_many(&self, to: &[usize], data: M)
    where
        M: Clone,
    {
        self.with_mail(|boxes, state, _, me| {
            for &bot in to.iter().filter(|&&bot| bot != me) {
                if let Some(data) = send_away(state, bot, me, data.clone()) {
                    boxes.pending.push((bot, me, data));
                }
            }
        });
    }

    /// Sends a copy of `data` to every member of `group` except this bot (the members as this
    /// bot sees them now).
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// use ttk_core::Cx;
    ///
    /// #[bot(crate = ttk_core)]
    /// fn room(cx: Cx<u8>, id: usize) -> Option<u8> {
    ///     if id < 3 {
    ///         cx.join("room");
    ///     }
    ///     ttk_core::yield_!();
    ///     if id == 0 {
    ///         cx.send_group("room", 9);
    ///         return None;
    ///     }
    ///     // Bot 3 is not in the room: nothing comes.
    ///     ttk_core::yield_!();
    ///     ttk_core::yield_!();
    ///     cx.try_recv().map(|message| message.data)
    /// }
    ///
    /// assert_eq!(ttk_core::run(4, room), [None, Some(9), Some(9), None]);
    /// ```
    pub fn send_group(&self, group: &str, data: M)
    where
        M: Clone,
    {
        self.send_many(&self.members(group), data);
    }

    /// Sends a copy of `data` to every other bot running in the run (on every worker's loop of
    /// this process: the others' bots get it on their loop's next tick; shards in other
    /// processes are out of reach).
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// use ttk_core::Cx;
    ///
    /// #[bot(crate = ttk_core)]
    /// fn announce(cx: Cx<&'static str>, id: usize) -> &'static str {
    ///     if id == 0 {
    ///         cx.broadcast("start");
    ///         return "sent";
    ///     }
    ///     ttk_core::yield_!(cx.recv()).data
    /// }
    ///
    /// assert_eq!(ttk_core::run(3, announce), ["sent", "start", "start"]);
    /// ```
    pub fn broadcast(&self, data: M)
    where
        M: Clone,
    {
        self.with_mail(|boxes, state, me_index, me| {
            state
                .features()
                .with(|cross: &CrossMail<M>| cross.post_everywhere(me, &data));
            let bots = state.bots.borrow();
            for index in bots.live_indices().filter(|&index| index != me_index) {
                boxes.pending.push((bots.id_of(index), me, data.clone()));
            }
        });
    }

    /// Waits for the next message from anyone: `let message = yield_!(cx.recv());`. The bot is
    /// parked until one arrives.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// use ttk_core::Cx;
    ///
    /// #[bot(crate = ttk_core)]
    /// fn ping(cx: Cx<u32>, id: usize) -> usize {
    ///     if id == 1 {
    ///         cx.send(0, 42);
    ///         return 0;
    ///     }
    ///     let message = ttk_core::yield_!(cx.recv());
    ///     message.from + message.data as usize
    /// }
    ///
    /// assert_eq!(ttk_core::run(2, ping), [43, 0]);
    /// ```
    pub async fn recv(&self) -> Message<M> {
        self.recv_filtered(None).await
    }

    /// Waits for the next message from one of `senders`; messages from others stay in the
    /// inbox.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// use ttk_core::Cx;
    ///
    /// #[bot(crate = ttk_core)]
    /// fn picky(cx: Cx<usize>, id: usize) -> Vec<usize> {
    ///     if id > 0 {
    ///         cx.send(0, id);
    ///         return Vec::new();
    ///     }
    ///     // Bot 2's message first, though bot 1's came as early.
    ///     let first = ttk_core::yield_!(cx.recv_from(&[2])).data;
    ///     let second = ttk_core::yield_!(cx.recv()).data;
    ///     vec![first, second]
    /// }
    ///
    /// assert_eq!(ttk_core::run(3, picky)[0], [2, 1]);
    /// ```
    pub async fn recv_from(&self, senders: &[usize]) -> Message<M> {
        self.recv_filtered(Some(senders)).await
    }

    /// The next message from anyone, if one has arrived.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// use ttk_core::Cx;
    ///
    /// #[bot(crate = ttk_core)]
    /// fn poll(cx: Cx<u8>, id: usize) -> (bool, Option<u8>) {
    ///     if id == 1 {
    ///         cx.send(0, 5);
    ///         return (false, None);
    ///     }
    ///     // Messages sent in a tick arrive at its end.
    ///     let early = cx.try_recv().is_some();
    ///     ttk_core::yield_!();
    ///     (early, cx.try_recv().map(|message| message.data))
    /// }
    ///
    /// assert_eq!(ttk_core::run(2, poll)[0], (false, Some(5)));
    /// ```
    pub fn try_recv(&self) -> Option<Message<M>> {
        self.with_inbox(|boxes, me| boxes.take(me, None))
    }

    /// The next message from one of `senders`, if one has arrived.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// use ttk_core::Cx;
    ///
    /// #[bot(crate = ttk_core)]
    /// fn sorted(cx: Cx<u8>, id: usize) -> (Option<u8>, Option<u8>) {
    ///     if id == 1 {
    ///         cx.send(0, 1);
    ///         return (None, None);
    ///     }
    ///     ttk_core::yield_!();
    ///     let from_two = cx.try_recv_from(&[2]).map(|message| message.data);
    ///     let from_one = cx.try_recv_from(&[1]).map(|message| message.data);
    ///     (from_two, from_one)
    /// }
    ///
    /// assert_eq!(ttk_core::run(2, sorted)[0], (None, Some(1)));
    /// ```
    pub fn try_recv_from(&self, senders: &[usize]) -> Option<Message<M>> {
        self.with_inbox(|boxes, me| boxes.take(me, Some(senders)))
    }

    /// Whether a message has arrived (without taking it).
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// use ttk_core::Cx;
    ///
    /// #[bot(crate = ttk_core)]
    /// fn peek(cx: Cx<u8>, id: usize) -> bool {
    ///     if id == 1 {
    ///         cx.send(0, 1);
    ///         return false;
    ///     }
    ///     ttk_core::yield_!();
    ///     // Looking does not take it.
    ///     cx.has_message() && cx.has_message() && cx.try_recv().is_some() && !cx.has_message()
    /// }
    ///
    /// assert!(ttk_core::run(2, peek)[0]);
    /// ```
    pub fn has_message(&self) -> bool {
        self.with_inbox(|boxes, me| boxes.has(me, None))
    }

    /// Whether a message from one of `senders` has arrived (without taking it).
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// use ttk_core::Cx;
    ///
    /// #[bot(crate = ttk_core)]
    /// fn peek_from(cx: Cx<u8>, id: usize) -> (bool, bool) {
    ///     if id == 1 {
    ///         cx.send(0, 1);
    ///         return (false, false);
    ///     }
    ///     ttk_core::yield_!();
    ///     (cx.has_message_from(&[1]), cx.has_message_from(&[2, 3]))
    /// }
    ///
    /// assert_eq!(ttk_core::run(2, peek_from)[0], (true, false));
    /// ```
    pub fn has_message_from(&self, senders: &[usize]) -> bool {
        self.with_inbox(|boxes, me| boxes.has(me, Some(senders)))
    }

    /// Takes a matching message, or parks the bot until a delivery.
    async fn recv_filtered(&self, senders: Option<&[usize]>) -> Message<M> {
        let mut parked = StopWaiting {
            cx: self,
            parked: false,
        };
        poll_fn(|_| {
            self.with_inbox(|boxes, me| match boxes.take(me, senders) {
                Some(message) => Poll::Ready(message),
                None => {
                    if let Some(status) = boxes.status.get_mut(me as usize) {
                        *status = Status::Waiting;
                    }
                    parked.parked = true;
                    Poll::Pending
                }
            })
        })
        .await
    }
}

/// A receive that parked: if it is dropped before a delivery woke it (a `timeout` ran out), the
/// bot no longer waits for messages, and the next one must not wake it for nothing.
struct StopWaiting<'a, M: 'static, W> {
    /// The receiving bot.
    cx: &'a Cx<M, W>,
    /// Whether the receive parked.
    parked: bool,
}

impl<M: 'static, W> Drop for StopWaiting<'_, M, W> {
    fn drop(&mut self) {
        if !self.parked || crate::context::current_loop_id() != self.cx.loop_id {
            return;
        }
        let index = self.cx.index;
        crate::context::try_with_loop(|state| {
            let Some(mail) = state.features().get::<Mail<M>>() else {
                return;
            };
            let Ok(mut boxes) = mail.boxes.try_borrow_mut() else {
                return;
            };
            if let Some(status) = boxes.status.get_mut(index as usize)
                && *status == Status::Waiting
            {
                *status = Status::Idle;
            }
        });
    }
}

impl<M> fmt::Debug for Mailboxes<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mailboxes")
            .field("pending", &self.pending.len())
            .finish_non_exhaustive()
    }
}
