//! Workloads shared by ttk's criterion benches and the probes that `cargo xtask bench` runs.

mod cpu;
mod floor;
mod memory;
mod rooms;
mod stats;

pub use cpu::cpu_seconds;
pub use floor::tight_round_robin;
pub use memory::{peak_rss_bytes, rss_bytes};
pub use rooms::{ROOM_ROUNDS, ROOM_SIZE, expected_room_sum, roommate};
pub use stats::{Stats, ratios};

use ttk::Cx;

/// Bots in the round-robin yield bench.
pub const YIELD_BOTS: usize = 100_000;
/// Yields per bot in the round-robin yield bench.
pub const YIELDS_PER_BOT: u32 = 100;

/// A bot that yields `yields` times: the round-robin workload.
///
/// # Examples
/// ```
/// let done = ttk::run(3, |cx, id| ttk_benches::yielder(cx, id, 2));
/// assert_eq!(done, [0, 1, 2]);
/// ```
#[ttk::bot]
pub fn yielder(_cx: Cx, id: usize, yields: u32) -> usize {
    for _ in 0..yields {
        ttk::yield_!();
    }
    id
}

/// A trivial bot: a few locals and two yields (the memory-per-bot workload).
///
/// # Examples
/// ```
/// assert_eq!(ttk::run(2, ttk_benches::trivial), [0, 3]);
/// ```
#[ttk::bot]
pub fn trivial(_cx: Cx, id: usize) -> usize {
    let doubled = id * 2;
    ttk::yield_!();
    let tripled = doubled + id;
    ttk::yield_!();
    tripled
}
