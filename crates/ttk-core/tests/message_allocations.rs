//! Small messages cost no allocation once the mailboxes have grown to the traffic.

mod util;

use ttk_core::Cx;
use ttk_macros::bot;
use util::allocations;

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
