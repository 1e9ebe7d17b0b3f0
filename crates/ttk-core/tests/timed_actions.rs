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
