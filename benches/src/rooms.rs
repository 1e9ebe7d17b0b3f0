//! The rooms workload: rooms of four bots, each round a group message and a group barrier. The
//! criterion bench and `rooms_probe` run the same bots.

use std::hint::black_box;

use ttk::Cx;

/// Bots per room: bot `id` is in room `id / ROOM_SIZE`.
pub const ROOM_SIZE: usize = 4;
/// Rounds each bot plays.
pub const ROOM_ROUNDS: u64 = 5;

/// Joins its room, then plays [`ROOM_ROUNDS`] rounds: sends the round's number to its
/// roommates, meets them at the room's barrier, and takes what they sent. Returns the sum
/// received, which is [`expected_room_sum`] when no message is lost.
///
/// # Examples
/// ```
/// let sums = ttk::run(8, ttk_benches::roommate);
/// assert!(sums.iter().all(|&sum| sum == ttk_benches::expected_room_sum()));
/// ```
#[ttk::bot]
pub fn roommate(cx: Cx<u64>, id: usize) -> u64 {
    let room = format!("room{}", id / ROOM_SIZE);
    cx.join(&room);
    // Joins are seen by the others from the next tick: from then on every message reaches the
    // whole room.
    ttk::yield_!();
    let mut received = 0;
    for round in 0..ROOM_ROUNDS {
        cx.send_group(&room, round);
        ttk::yield_!(cx.group_barrier(&room).wait()).expect("the room meets");
        while let Some(message) = cx.try_recv() {
            received += black_box(message.data);
        }
    }
    received
}

/// What each [`roommate`] receives: every round's number from each of its roommates.
///
/// # Examples
/// ```
/// // 3 roommates × (0 + 1 + 2 + 3 + 4).
/// assert_eq!(ttk_benches::expected_room_sum(), 30);
/// ```
pub fn expected_room_sum() -> u64 {
    (ROOM_SIZE as u64 - 1) * (0..ROOM_ROUNDS).sum::<u64>()
}
