//! Recording metrics allocates nothing once each name has been used.

mod util;

use std::io;
use std::time::Duration;

use ttk_core::{Cx, Runtime};
use ttk_macros::bot;
use util::allocations;

/// One round of every kind of recording, under a few names.
#[bot(crate = ttk_core)]
fn record_everything(cx: &Cx, round: u64) {
    cx.record("frame", Duration::from_micros(16_000 + round % 1_000));
    cx.count("bytes sent", 512);
    cx.gauge("players", (round % 100) as i64);
    cx.transaction("checkout").ok();
    cx.transaction("checkout").fail("card declined");
    let refused = io::Error::from(io::ErrorKind::ConnectionRefused);
    cx.transaction("login").fail_with(&refused);
    let timed: io::Result<()> = ttk_core::yield_!(cx.time("ping", async { Ok(()) }));
    timed.unwrap();
    // Dropped unfinished: abandoned.
    drop(cx.transaction("browse"));
}

/// Rounds 0–9 make the names (and their first sample messages); rounds 10–2,009 are counted.
/// A virtual 10 ms passes between rounds, so the metrics close an interval (and reset their
/// counts) every 100 rounds: recording after a reset must not allocate either. Only the
/// recording is counted, not the closing of intervals between rounds.
#[bot(crate = ttk_core)]
fn recorder(cx: Cx, _id: usize) -> u64 {
    for round in 0..10 {
        ttk_core::yield_!(record_everything(&cx, round));
    }
    let mut during = 0;
    for round in 10..2_010 {
        ttk_core::yield_!(ttk_core::sleep(Duration::from_millis(10)));
        let before = allocations();
        ttk_core::yield_!(record_everything(&cx, round));
        during += allocations() - before;
    }
    during
}

#[test]
fn recording_allocates_nothing_after_a_names_first_use() {
    let snapshots = std::rc::Rc::new(std::cell::Cell::new(0));
    let seen = std::rc::Rc::clone(&snapshots);
    let allocations = Runtime::new()
        .virtual_time(true)
        .metrics(move |_| seen.set(seen.get() + 1))
        .run(1, recorder);
    assert_eq!(allocations, [0]);
    assert!(
        snapshots.get() >= 20,
        "{} intervals closed",
        snapshots.get()
    );
}
