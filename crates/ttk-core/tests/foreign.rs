//! Futures from other crates, which rely on their `Waker`, work inside bots.

use std::cell::RefCell;
use std::future::{Future, poll_fn};
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};
use std::time::Duration;

use ttk_core::Cx;
use ttk_macros::bot;

/// Yields the way many async utilities do: wake yourself, return `Pending` once.
async fn yield_by_waker() {
    let mut yielded = false;
    poll_fn(|cx| {
        if yielded {
            return Poll::Ready(());
        }
        yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    })
    .await;
}

#[bot(crate = ttk_core)]
fn polite(_cx: Cx, id: usize) -> usize {
    for _ in 0..3 {
        ttk_core::yield_!(yield_by_waker());
    }
    id
}

#[test]
fn a_foreign_yield_through_the_waker_requeues_the_bot() {
    assert_eq!(ttk_core::run(3, polite), [0, 1, 2]);
}

/// A one-shot slot filled by another thread, as a channel from another crate would be.
type Slot = Arc<Mutex<(Option<u32>, Option<Waker>)>>;

/// Waits until the slot is filled.
fn receive(slot: Slot) -> impl Future<Output = u32> {
    poll_fn(move |cx| {
        let mut slot = slot.lock().unwrap();
        match slot.0.take() {
            Some(value) => Poll::Ready(value),
            None => {
                slot.1 = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    })
}

#[bot(crate = ttk_core)]
fn waits_for_a_thread(_cx: Cx, id: usize) -> u32 {
    let slot: Slot = Arc::default();
    let filler = Arc::clone(&slot);
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(30));
        let mut slot = filler.lock().unwrap();
        slot.0 = Some(id as u32 * 10);
        if let Some(waker) = slot.1.take() {
            waker.wake();
        }
    });
    ttk_core::yield_!(receive(slot))
}

#[test]
fn a_waker_cloned_and_woken_on_another_thread_wakes_the_bot() {
    assert_eq!(ttk_core::run(3, waits_for_a_thread), [0, 10, 20]);
}

/// A value handed from one bot to another through a waker kept by the receiver.
type Handoff = Rc<RefCell<(Option<&'static str>, Option<Waker>)>>;

#[bot(crate = ttk_core)]
fn hand_over(_cx: Cx, id: usize, handoff: Handoff) -> &'static str {
    if id == 0 {
        return ttk_core::yield_!(poll_fn(|cx| {
            let mut handoff = handoff.borrow_mut();
            match handoff.0.take() {
                Some(value) => Poll::Ready(value),
                None => {
                    handoff.1 = Some(cx.waker().clone());
                    Poll::Pending
                }
            }
        }));
    }
    for _ in 0..5 {
        ttk_core::yield_!();
    }
    let waker = {
        let mut handoff = handoff.borrow_mut();
        handoff.0 = Some("baton");
        handoff.1.take()
    };
    waker.expect("bot 0 is waiting").wake();
    "handed"
}

#[test]
fn a_waker_woken_by_another_bot_on_the_same_loop_wakes_the_bot() {
    let handoff = Handoff::default();
    assert_eq!(
        ttk_core::run(2, |cx, id| hand_over(cx, id, handoff.clone())),
        ["baton", "handed"]
    );
}
