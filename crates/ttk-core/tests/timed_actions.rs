//! Timed actions of the loop (`ttk_core::io::run_at`): they run at their time, in the order
//! asked, on a virtual clock too; one that panics is dropped and the run goes on.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use ttk_core::{Cx, Runtime};
use ttk_macros::bot;

/// Asks for three actions (the middle one panics) and sleeps past them: what ran, in order.
#[bot(crate = ttk_core)]
fn three_actions(_cx: Cx, _id: usize) -> Vec<&'static str> {
    let ran = Rc::new(RefCell::new(Vec::new()));
    let start = ttk_core::now();
    let (first, last) = (Rc::clone(&ran), Rc::clone(&ran));
    ttk_core::io::run_at(start + Duration::from_millis(30), move || {
        last.borrow_mut().push("last")
    });
    ttk_core::io::run_at(start + Duration::from_millis(20), || {
        panic!("an action fails")
    });
    ttk_core::io::run_at(start + Duration::from_millis(10), move || {
        first.borrow_mut().push("first")
    });
    ttk_core::yield_!(ttk_core::sleep(Duration::from_millis(50)));
    ran.borrow().clone()
}

#[test]
fn actions_run_in_time_order_and_a_panicking_one_is_dropped() {
    let ran = Runtime::new().virtual_time(true).run(1, three_actions);
    assert_eq!(ran, [["first", "last"]]);
}

/// Asks for a million actions at times spread over a virtual minute, in a shuffled order, and
/// sleeps past them: how many ran, whether in time order, and what was left pending.
#[bot(crate = ttk_core)]
fn a_million_actions(_cx: Cx, _id: usize) -> (usize, bool, usize) {
    const ACTIONS: u64 = 1_000_000;
    let ran: Rc<RefCell<Vec<u64>>> = Rc::new(RefCell::new(Vec::with_capacity(ACTIONS as usize)));
    let start = ttk_core::now();
    for k in 0..ACTIONS {
        // 7,919 is prime to ACTIONS, so this is a permutation: the heap is filled out of order.
        let slot = (k * 7_919) % ACTIONS;
        let at = start + Duration::from_micros(60 * slot);
        let ran = Rc::clone(&ran);
        ttk_core::io::run_at(at, move || ran.borrow_mut().push(slot));
    }
    let pending_before = ttk_core::io::pending_actions();
    ttk_core::yield_!(ttk_core::sleep(Duration::from_secs(61)));
    let ran = ran.borrow();
    let ordered = ran.windows(2).all(|pair| pair[0] <= pair[1]);
    assert_eq!(pending_before, ACTIONS as usize);
    (ran.len(), ordered, ttk_core::io::pending_actions())
}

#[test]
fn a_million_timed_actions_run_in_time_order_and_leave_none_pending() {
    let outcome = Runtime::new().virtual_time(true).run(1, a_million_actions);
    assert_eq!(outcome, [(1_000_000, true, 0)]);
}
