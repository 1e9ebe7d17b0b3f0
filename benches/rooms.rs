//! Rooms of four bots, each round a group message and a group barrier, at 10,000 and 100,000
//! bots: the cost per bot-round must stay flat as the loop grows. `cargo xtask bench` gates on
//! the same workload measured interleaved by `rooms_probe`; this bench is for profiling by hand.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ttk_benches::{ROOM_ROUNDS, expected_room_sum, roommate};

/// The sizes of the loop compared.
const BOTS: [usize; 2] = [10_000, 100_000];

fn rooms(c: &mut Criterion) {
    let mut group = c.benchmark_group("rooms");
    group.sample_size(10);
    for bots in BOTS {
        // Once, untimed: the workload does what it says (every message arrives in its round).
        let sums = ttk::run(bots, roommate);
        assert!(
            sums.iter().all(|&sum| sum == expected_room_sum()),
            "lost messages"
        );
        group.throughput(Throughput::Elements(bots as u64 * ROOM_ROUNDS));
        group.bench_function(BenchmarkId::new("bots_5_rounds", bots), |b| {
            b.iter(|| black_box(ttk::run(bots, roommate)))
        });
    }
    group.finish();
}

criterion_group!(benches, rooms);
criterion_main!(benches);
