//! What the property tests of this crate share: how many cases they run, and an allocator
//! that keeps each thread's peak of live bytes, to show that no input makes a parser allocate
//! more than its bound.

// Each test file uses its own part of this module.
#![allow(dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use proptest::test_runner::Config;

/// The cases of a property: `default` (a few thousand, for CI), unless `PROPTEST_CASES` says
/// otherwise (`cargo xtask fuzz` runs millions).
pub(crate) fn cases(default: u32) -> Config {
    let mut config = Config::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = default;
    }
    // A failure prints its minimal case; it is kept as a named regression test beside the
    // property, not in a file of seeds nobody reads.
    config.failure_persistence = None;
    config
}

thread_local! {
    /// Bytes this thread allocated and has not freed.
    static LIVE: Cell<isize> = const { Cell::new(0) };
    /// The most `LIVE` has been since the last [`peak_of`] began.
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

/// Records that this thread's live bytes changed by `change`.
fn record(change: isize) {
    let live = LIVE.with(|live| {
        live.set(live.get() + change);
        live.get()
    });
    PEAK.with(|peak| peak.set(peak.get().max(live)));
}

/// The system allocator, keeping each thread's live bytes and their peak.
pub(crate) struct Counting;

// SAFETY: every call is forwarded unchanged to the system allocator, which upholds the
// `GlobalAlloc` contract; the counters are thread-local `Cell`s that never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        record(layout.size() as isize);
        // SAFETY: the caller's `layout` obligations are passed on as they are.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        record(layout.size() as isize);
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        record(-(layout.size() as isize));
        // SAFETY: `ptr` was allocated by `System` with `layout` (every allocation goes there).
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        record(new_size as isize - layout.size() as isize);
        // SAFETY: as for `dealloc`, and the caller's `new_size` obligations are passed on.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Runs `f` and returns what it returned and the most bytes it had allocated at once (on this
/// thread, beyond what was live before).
pub(crate) fn peak_of<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let before = LIVE.with(Cell::get);
    PEAK.with(|peak| peak.set(before));
    let value = f();
    let peak = PEAK.with(Cell::get);
    (value, (peak - before).max(0) as usize)
}
