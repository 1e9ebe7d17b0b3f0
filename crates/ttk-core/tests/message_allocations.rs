//! Small messages cost no allocation once the mailboxes have grown to the traffic.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use ttk_core::Cx;
use ttk_macros::bot;

thread_local! {
    /// Allocations made by this thread.
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

/// The system allocator, counting allocations per thread.
struct Counting;

// SAFETY: every call is forwarded unchanged to the system allocator, which upholds the
// `GlobalAlloc` contract; the counter is a thread-local `Cell` that never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|count| count.set(count.get() + 1));
        // SAFETY: the caller's `layout` obligations are passed on as they are.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` with `layout` (every allocation goes there).
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.with(|count| count.set(count.get() + 1));
        // SAFETY: as for `dealloc`, and the caller's `new_size` obligations are passed on.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Allocations so far on this thread.
fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

/// Bot 0 sends 100 messages a tick to bot 1; bot 1 reads them all each tick. Both report the
/// allocations made between tick 5 and tick 15 (they finish later: a bot's exit is bookkeeping
/// that may allocate, and is not per message).
#[bot(crate = ttk_core)]
fn traffic(cx: Cx<[u64; 2]>, id: usize) -> u64 {
    let mut at_tick_5 = 0;
    for tick in 0..20 {
        if tick == 5 {
            at_tick_5 = allocations();
        }
        if tick == 15 {
            let during = allocations() - at_tick_5;
            ttk_core::yield_!();
            return during;
        }
        if id == 0 {
            for n in 0..100 {
                cx.send(1, [n, tick]);
            }
        } else {
            let mut received = 0;
            while cx.try_recv().is_some() {
                received += 1;
            }
            assert!(tick == 0 || received == 100, "tick {tick}: {received}");
        }
        ttk_core::yield_!();
    }
    unreachable!("returns at tick 15")
}

#[test]
fn steady_message_traffic_allocates_nothing() {
    let allocations = ttk_core::run(2, traffic);
    assert_eq!(allocations, [0, 0]);
}
