//! Readings of the real clock (a kernel's receive stamps) placed on the loop's clock, real or
//! virtual.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ttk_core::io::RealClock;
use ttk_core::{Cx, Runtime};
use ttk_macros::bot;

/// The real clock now, as kernels stamp it.
fn real_now() -> Duration {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap()
}

/// Takes a real stamp, sleeps `sleep`, then: how long before the loop's now the stamp is placed.
#[bot(crate = ttk_core)]
fn placed_ago(_cx: Cx, _id: usize, sleep: Duration) -> Duration {
    let stamp = real_now();
    ttk_core::yield_!(ttk_core::sleep(sleep));
    let clock = RealClock::now();
    clock.instant() - clock.instant_of_real(stamp)
}

/// Over more than a second (the loop takes its pair of readings again), stamps stay where the
/// real clock put them.
#[bot(crate = ttk_core)]
fn placed_over_a_second(_cx: Cx, _id: usize) -> Vec<Duration> {
    let mut errors = Vec::new();
    for _ in 0..3 {
        let stamp = real_now();
        ttk_core::yield_!(ttk_core::sleep(Duration::from_millis(600)));
        let clock = RealClock::now();
        let placed = clock.instant() - clock.instant_of_real(stamp);
        let actual = real_now() - stamp;
        errors.push(placed.abs_diff(actual));
    }
    errors
}

#[test]
fn on_a_real_clock_a_stamp_is_placed_as_long_ago_as_it_was_taken() {
    let ago = ttk_core::run(1, |cx, id| placed_ago(cx, id, Duration::from_millis(30)))[0];
    assert!(
        ago >= Duration::from_millis(29) && ago < Duration::from_secs(2),
        "{ago:?}"
    );
    for error in ttk_core::run(1, placed_over_a_second).pop().unwrap() {
        assert!(error < Duration::from_millis(5), "placed {error:?} off");
    }
}

#[test]
fn on_a_virtual_clock_a_stamp_is_placed_by_the_real_time_since_it() {
    // Ten virtual seconds pass at once; the real clock moves a moment: the stamp was a moment
    // ago, not ten seconds.
    let ago = Runtime::new()
        .virtual_time(true)
        .run(1, |cx, id| placed_ago(cx, id, Duration::from_secs(10)))[0];
    assert!(ago < Duration::from_secs(2), "{ago:?}");
}

#[test]
fn a_stamp_after_now_is_placed_at_now() {
    let clock = RealClock::now();
    let later = real_now() + Duration::from_secs(60);
    assert_eq!(clock.instant_of_real(later), clock.instant());
}
