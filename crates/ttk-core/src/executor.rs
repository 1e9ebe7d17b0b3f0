//! The tick loop over a run's bots, stored in place.

use std::future::Future;
use std::io;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::context;
use crate::loop_state::LoopState;
use crate::outcome::{BotError, BotErrorKind};

/// One bot's place in the run: its state machine while it runs, then its outcome.
///
/// Bots made by one factory share one type, so they live side by side in one allocation: no box
/// per bot, and a tick walks memory instead of chasing pointers.
enum Slot<B: Future> {
    /// Still running (or parked).
    Running(B),
    /// Finished with a value.
    Finished(B::Output),
    /// Panicked or stalled.
    Failed(BotError),
}

/// Runs `bots` on `state` until every one has finished or failed, and returns their outcomes in
/// index order. `state` must be the current loop of this thread.
///
/// The bots are built straight into their slots: collecting them first and moving them after
/// would hold two copies at once and double the run's peak memory.
pub(crate) fn run_to_completion<B: Future>(
    state: &LoopState,
    bots: impl Iterator<Item = B>,
) -> io::Result<Vec<Result<B::Output, BotError>>> {
    let mut slots: Box<[Slot<B>]> = bots.map(Slot::Running).collect();
    let mut live = slots.len();
    let mut task_context = Context::from_waker(crate::waker::borrowed());
    while live > 0 {
        let mut remaining = state.ready.borrow().len();
        if remaining == 0 {
            if !state.wait_for_work()? && !state.release_stalled() {
                fail_stalled(&mut slots);
                break;
            }
            continue;
        }
        // One `catch_unwind` per tick rather than per poll keeps the landing pad off the hot
        // path; after a panic, the tick resumes with the next bot.
        while remaining > 0 {
            let ticked = panic::catch_unwind(AssertUnwindSafe(|| {
                run_tick(
                    state,
                    &mut slots,
                    &mut remaining,
                    &mut live,
                    &mut task_context,
                );
            }));
            if let Err(payload) = ticked {
                context::take_yield_request();
                let index = state.current();
                let slot = &mut slots[index as usize];
                // Only a bot's poll can panic here (its destructors and those of its unread
                // messages are contained where they run), so the slot is still running; the
                // check keeps a finished bot's outcome if that ever changes.
                if matches!(slot, Slot::Running(_)) {
                    live -= 1;
                    let error = BotError::panicked(index as usize, &*payload);
                    finish(slot, Slot::Failed(error));
                    state.bot_exited(index);
                }
            }
        }
        state.end_tick()?;
    }
    Ok(slots
        .into_vec()
        .into_iter()
        .map(|slot| match slot {
            Slot::Finished(output) => Ok(output),
            Slot::Failed(error) => Err(error),
            Slot::Running(_) => unreachable!("the loop ends only when every bot is done"),
        })
        .collect())
}

/// Polls the next `remaining` bots of the ready queue once each. `remaining` counts down
/// before each poll, so if a poll panics the caller knows that bot (`state.current()`) is done
/// with and can resume the tick after it.
fn run_tick<B: Future>(
    state: &LoopState,
    slots: &mut [Slot<B>],
    remaining: &mut usize,
    live: &mut usize,
    task_context: &mut Context<'_>,
) {
    while *remaining > 0 {
        *remaining -= 1;
        let Some(index) = state.ready.borrow_mut().pop() else {
            *remaining = 0;
            return;
        };
        let slot = &mut slots[index as usize];
        let Slot::Running(bot) = slot else {
            continue;
        };
        state.set_current(index);
        // SAFETY: `slots` is allocated once before the loop and never grows, shrinks or moves
        // while any bot runs, so the bot is pinned in place; it is dropped in place (`finish`)
        // before its memory is reused.
        let bot = unsafe { Pin::new_unchecked(bot) };
        match bot.poll(task_context) {
            Poll::Pending => {
                if context::take_yield_request() {
                    state.wake(index);
                }
            }
            Poll::Ready(output) => {
                *live -= 1;
                // A yield inside a finished poll (under a `timeout`, say) must not requeue the
                // next bot that parks.
                context::take_yield_request();
                finish(slot, Slot::Finished(output));
                state.bot_exited(index);
            }
        }
    }
}

/// Replaces a running bot by its outcome, dropping the bot in place (it is pinned).
///
/// Dropping a bot runs user code (destructors of its locals), which may panic: that panic is
/// swallowed and the outcome stands. A plain assignment would not do: if the old value's drop
/// unwinds, the slot would be left holding a half-dropped bot that is dropped again later.
fn finish<B: Future>(slot: &mut Slot<B>, outcome: Slot<B>) {
    let slot: *mut Slot<B> = slot;
    // SAFETY: `slot` comes from a `&mut`, so it is valid, aligned and initialized, and nothing
    // else uses it during the call. Dropping in place respects the pinning of a running bot.
    let _ = panic::catch_unwind(AssertUnwindSafe(|| unsafe { slot.drop_in_place() }));
    // SAFETY: `slot` is valid for writes; its old value was dropped just above (a destructor
    // that unwound still counts as dropped), so overwriting it without a drop leaks nothing and
    // drops nothing twice.
    unsafe { slot.write(outcome) };
}

/// Marks every bot still running as stalled.
fn fail_stalled<B: Future>(slots: &mut [Slot<B>]) {
    for (index, slot) in slots.iter_mut().enumerate() {
        if matches!(slot, Slot::Running(_)) {
            finish(
                slot,
                Slot::Failed(BotError::new(index, BotErrorKind::Stalled)),
            );
        }
    }
}
