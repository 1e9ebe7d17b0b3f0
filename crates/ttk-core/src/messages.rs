//! Typed messages between the bots of a run.
//!
//! A message sent during tick `t` is visible to its receiver from tick `t + 1`, whatever order
//! the bots run in (as in the seed). Messages from one sender arrive in the order sent.

use std::any::Any;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::future::poll_fn;
use std::rc::Rc;
use std::task::Poll;

use crate::context::with_loop;
use crate::cx::Cx;
use crate::loop_state::LoopState;

/// A message as received: who sent it, and what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message<M> {
    /// The sender's bot id.
    pub from: usize,
    /// The message.
    pub data: M,
}

/// The mailboxes of one run's bots, for message type `M`.
pub(crate) struct Mailboxes<M> {
    /// Sent this tick, delivered at its end: (to, from, message).
    pending: Vec<(u32, u32, M)>,
    /// Delivered and not yet received, per bot.
    inboxes: Vec<VecDeque<(u32, M)>>,
    /// Where each bot stands.
    status: Vec<Status>,
}

/// A bot's relation to its mailbox.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    /// Running or parked on something else.
    Idle,
    /// Parked in a receive.
    Waiting,
    /// Finished: messages to it are dropped (they would pile up unread for the rest of the run).
    Closed,
}

impl<M> Mailboxes<M> {
    /// Mailboxes for the bots of `state`; those already finished are closed.
    fn new(state: &LoopState) -> Self {
        let bots = state.bot_count();
        Mailboxes {
            pending: Vec::new(),
            inboxes: (0..bots).map(|_| VecDeque::new()).collect(),
            status: (0..bots)
                .map(|bot| match state.has_exited(bot) {
                    true => Status::Closed,
                    false => Status::Idle,
                })
                .collect(),
        }
    }

    /// Moves this tick's messages into the inboxes and wakes the receivers waiting for them.
    fn deliver(&mut self, state: &LoopState) {
        for (to, from, data) in self.pending.drain(..) {
            let Some(inbox) = self.inboxes.get_mut(to as usize) else {
                continue;
            };
            let status = &mut self.status[to as usize];
            match status {
                Status::Closed => {
                    // User code (a destructor) must not take the run down.
                    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(data)));
                    continue;
                }
                Status::Waiting => {
                    *status = Status::Idle;
                    state.wake(to);
                }
                Status::Idle => {}
            }
            inbox.push_back((from, data));
        }
    }

    /// Closes a finished bot's mailbox: later messages are dropped at delivery; the unread ones
    /// are returned, for the caller to drop once it holds no borrow.
    fn close(&mut self, bot: u32) -> VecDeque<(u32, M)> {
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
        let inbox = &mut self.inboxes[bot as usize];
        let position = match senders {
            None => (!inbox.is_empty()).then_some(0)?,
            Some(senders) => inbox
                .iter()
                .position(|(from, _)| senders.contains(&(*from as usize)))?,
        };
        let (from, data) = inbox.remove(position).expect("position is in range");
        Some(Message {
            from: from as usize,
            data,
        })
    }

    /// Whether `bot` has a message from one of `senders` (any sender if `None`).
    fn has(&self, bot: u32, senders: Option<&[usize]>) -> bool {
        let inbox = &self.inboxes[bot as usize];
        match senders {
            None => !inbox.is_empty(),
            Some(senders) => inbox
                .iter()
                .any(|(from, _)| senders.contains(&(*from as usize))),
        }
    }
}

impl<M: 'static> Mailboxes<M> {
    /// The run's mailboxes, created at the first use (a run without messages pays nothing).
    fn of(state: &LoopState) -> Rc<RefCell<Mailboxes<M>>> {
        let mut mail = state.mail.borrow_mut();
        if let Some(existing) = &*mail {
            return Rc::clone(existing)
                .downcast::<RefCell<Mailboxes<M>>>()
                .unwrap_or_else(|_| unreachable!("one run has one message type"));
        }
        let mailboxes = Rc::new(RefCell::new(Mailboxes::<M>::new(state)));
        *mail = Some(Rc::clone(&mailboxes) as Rc<dyn Any>);
        let delivery = Rc::clone(&mailboxes);
        let exits = Rc::clone(&mailboxes);
        state.set_message_delivery(
            Box::new(move |state| delivery.borrow_mut().deliver(state)),
            Box::new(move |bot| {
                let unread = exits.borrow_mut().close(bot);
                // A message's destructor is user code: a panic there must not take the run down.
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(unread)));
            }),
        );
        mailboxes
    }
}

/// Calls `f` with the running loop's mailboxes for `M`.
fn with_mailboxes<M: 'static, R>(f: impl FnOnce(&mut Mailboxes<M>, &LoopState) -> R) -> R {
    with_loop(|state| {
        let mailboxes = Mailboxes::<M>::of(state);
        let mut mailboxes = mailboxes.borrow_mut();
        f(&mut mailboxes, state)
    })
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
    /// Sends `data` to bot `to` (ignored if `to` is this bot or not a bot of the run).
    pub fn send(&self, to: usize, data: M) {
        if to == self.id() || to >= u32::MAX as usize {
            return;
        }
        let from = self.index;
        with_mailboxes(|mailboxes: &mut Mailboxes<M>, _| {
            mailboxes.pending.push((to as u32, from, data));
        });
    }

    /// Sends a copy of `data` to each bot of `to` except this one.
    pub fn send_many(&self, to: &[usize], data: M)
    where
        M: Clone,
    {
        let from = self.index;
        let me = self.id();
        with_mailboxes(|mailboxes: &mut Mailboxes<M>, state| {
            let bots = state.bot_count() as usize;
            for &bot in to.iter().filter(|&&bot| bot != me && bot < bots) {
                mailboxes.pending.push((bot as u32, from, data.clone()));
            }
        });
    }

    /// Sends a copy of `data` to every member of `group` except this bot (the members as this
    /// bot sees them now).
    pub fn send_group(&self, group: &str, data: M)
    where
        M: Clone,
    {
        self.send_many(&self.members(group), data);
    }

    /// Sends a copy of `data` to every other bot of the run.
    pub fn broadcast(&self, data: M)
    where
        M: Clone,
    {
        let from = self.index;
        with_mailboxes(|mailboxes: &mut Mailboxes<M>, state| {
            for bot in (0..state.bot_count()).filter(|&bot| bot != from) {
                mailboxes.pending.push((bot, from, data.clone()));
            }
        });
    }

    /// Waits for the next message from anyone: `let message = yield_!(cx.recv());`. The bot is
    /// parked until one arrives.
    pub async fn recv(&self) -> Message<M> {
        self.recv_filtered(None).await
    }

    /// Waits for the next message from one of `senders`; messages from others stay in the
    /// inbox.
    pub async fn recv_from(&self, senders: &[usize]) -> Message<M> {
        self.recv_filtered(Some(senders)).await
    }

    /// The next message from anyone, if one has arrived.
    pub fn try_recv(&self) -> Option<Message<M>> {
        let me = self.index;
        with_mailboxes(|mailboxes: &mut Mailboxes<M>, _| mailboxes.take(me, None))
    }

    /// The next message from one of `senders`, if one has arrived.
    pub fn try_recv_from(&self, senders: &[usize]) -> Option<Message<M>> {
        let me = self.index;
        with_mailboxes(|mailboxes: &mut Mailboxes<M>, _| mailboxes.take(me, Some(senders)))
    }

    /// Whether a message has arrived (without taking it).
    pub fn has_message(&self) -> bool {
        let me = self.index;
        with_mailboxes(|mailboxes: &mut Mailboxes<M>, _| mailboxes.has(me, None))
    }

    /// Whether a message from one of `senders` has arrived (without taking it).
    pub fn has_message_from(&self, senders: &[usize]) -> bool {
        let me = self.index;
        with_mailboxes(|mailboxes: &mut Mailboxes<M>, _| mailboxes.has(me, Some(senders)))
    }

    /// Takes a matching message, or parks the bot until a delivery.
    async fn recv_filtered(&self, senders: Option<&[usize]>) -> Message<M> {
        let me = self.index;
        poll_fn(|_| {
            with_mailboxes(
                |mailboxes: &mut Mailboxes<M>, _| match mailboxes.take(me, senders) {
                    Some(message) => Poll::Ready(message),
                    None => {
                        mailboxes.status[me as usize] = Status::Waiting;
                        Poll::Pending
                    }
                },
            )
        })
        .await
    }
}

impl<M> fmt::Debug for Mailboxes<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mailboxes")
            .field("pending", &self.pending.len())
            .finish_non_exhaustive()
    }
}
