//! Timers: sleeping bots wake in deadline order; timeouts name their limit; virtual time jumps.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use ttk_core::{Cx, Runtime};
use ttk_macros::bot;

#[bot(crate = ttk_core)]
fn sleeper(_cx: Cx, id: usize, order: Rc<RefCell<Vec<usize>>>) {
    ttk_core::yield_!(ttk_core::sleep(Duration::from_millis(30 - 10 * id as u64)));
    order.borrow_mut().push(id);
}

#[test]
fn sleeping_bots_wake_in_deadline_order() {
    let order = Rc::default();
    let started = Instant::now();
    ttk_core::run(3, |cx, id| sleeper(cx, id, Rc::clone(&order)));
    assert_eq!(*order.borrow(), [2, 1, 0]);
    assert!(started.elapsed() >= Duration::from_millis(30));
}

#[bot(crate = ttk_core)]
fn times_out(_cx: Cx, _id: usize) -> std::io::Error {
    let never = ttk_core::sleep(Duration::from_secs(3600));
    let elapsed =
        ttk_core::yield_!(ttk_core::timeout(Duration::from_millis(20), never)).unwrap_err();
    elapsed.into()
}

#[test]
fn a_timeout_is_an_error_naming_the_limit() {
    let error = ttk_core::run(1, times_out).pop().unwrap();
    assert_eq!(error.kind(), std::io::ErrorKind::TimedOut);
    assert_eq!(error.to_string(), "timed out after 20ms");
}

#[bot(crate = ttk_core)]
fn hour_long(_cx: Cx, id: usize) -> Duration {
    let start = ttk_core::now();
    for _ in 0..60 {
        ttk_core::yield_!(ttk_core::sleep(
            Duration::from_secs(60) + Duration::from_millis(id as u64)
        ));
    }
    ttk_core::now() - start
}

#[test]
fn virtual_time_runs_an_hour_of_sleeping_at_once() {
    let wall = Instant::now();
    let lived = Runtime::new().virtual_time(true).run(100, hour_long);
    assert_eq!(lived[0], Duration::from_secs(3600));
    assert_eq!(
        lived[99],
        Duration::from_secs(3600) + Duration::from_millis(99 * 60)
    );
    // Not a timing claim: an hour that really passed would never get here.
    assert!(wall.elapsed() < Duration::from_secs(600));
}
