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

/// Rounds 0–9 make the names (and their first sample messages); rounds 10–10,009 are counted.
#[bot(crate = ttk_core)]
fn recorder(cx: Cx, _id: usize) -> u64 {
    for round in 0..10 {
        ttk_core::yield_!(record_everything(&cx, round));
    }
    let before = allocations();
    for round in 10..10_010 {
        ttk_core::yield_!(record_everything(&cx, round));
    }
    allocations() - before
}

#[test]
fn recording_allocates_nothing_after_a_names_first_use() {
    let allocations = Runtime::new().run(1, recorder);
    assert_eq!(allocations, [0]);
}
