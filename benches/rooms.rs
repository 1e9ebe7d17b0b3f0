//! Rooms of four bots, each round a group message and a group barrier, at 10,000 and 100,000
//! bots: the cost per bot-round must stay flat as the loop grows (`cargo xtask bench` reports
//! the ratio).

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ttk::Cx;

/// Bots per room: bot `id` is in room `id / ROOM_SIZE`.
const ROOM_SIZE: usize = 4;
/// Rounds each bot plays.
const ROUNDS: u64 = 5;
/// The sizes of the loop compared.
const BOTS: [usize; 2] = [10_000, 100_000];

/// Joins its room, then plays `ROUNDS` rounds: sends the round's number to its roommates,
/// meets them at the room's barrier, and takes what they sent. Returns the sum received.
#[ttk::bot]
fn roommate(cx: Cx<u64>, id: usize) -> u64 {
    let room = format!("room{}", id / ROOM_SIZE);
    cx.join(&room);
    // Joins are seen by the others from the next tick: from then on every message reaches the
    // whole room.
    ttk::yield_!();
    let mut received = 0;
    for round in 0..ROUNDS {
        cx.send_group(&room, round);
        ttk::yield_!(cx.group_barrier(&room).wait()).expect("the room meets");
        while let Some(message) = cx.try_recv() {
            received += black_box(message.data);
        }
    }
    received
}

/// What each bot receives: every round's number from each of its roommates.
fn expected_sum() -> u64 {
    (ROOM_SIZE as u64 - 1) * (0..ROUNDS).sum::<u64>()
}

fn rooms(c: &mut Criterion) {
    let mut group = c.benchmark_group("rooms");
    group.sample_size(10);
    for bots in BOTS {
        // Once, untimed: the workload does what it says (every message arrives in its round).
        let sums = ttk::run(bots, roommate);
        assert!(
            sums.iter().all(|&sum| sum == expected_sum()),
            "lost messages"
        );
        group.throughput(Throughput::Elements(bots as u64 * ROUNDS));
        group.bench_function(BenchmarkId::new("bots_5_rounds", bots), |b| {
            b.iter(|| black_box(ttk::run(bots, roommate)))
        });
    }
    group.finish();
}

criterion_group!(benches, rooms);
criterion_main!(benches);
