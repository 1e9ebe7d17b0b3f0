//! Runs that stop: a stopped bot is reported `Stopped` (the deadline and stop-handle tests
//! with sockets are the facade's `stop.rs`).

use std::time::Duration;

use ttk_core::{Cx, Runtime};
use ttk_macros::bot;

/// Sleeps in a loop; under `run`, a stopped bot is a failure that names itself.
#[bot(crate = ttk_core)]
fn naps(_cx: Cx, _id: usize) {
    loop {
        ttk_core::yield_!(ttk_core::sleep(Duration::from_secs(1)));
    }
}

#[test]
fn run_panics_on_a_stopped_bot_and_try_run_reports_it() {
    let outcomes = Runtime::new()
        .virtual_time(true)
        .deadline(Duration::from_secs(10))
        .try_run(2, naps);
    assert!(outcomes.iter().all(|outcome| outcome.is_err()));
    let panic = std::panic::catch_unwind(|| {
        Runtime::new()
            .virtual_time(true)
            .deadline(Duration::from_secs(10))
            .run(2, naps)
    })
    .unwrap_err();
    let message = panic.downcast_ref::<String>().unwrap();
    assert_eq!(message, "bot 0 was stopped: the run ended first");
}
