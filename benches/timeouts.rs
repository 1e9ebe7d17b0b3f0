//! Timeouts set and cancelled at a steady rate: 100 bots each wrap 20,000 quick operations in a
//! 30-second `ttk::timeout`, so every timeout's operation wins and its timer is cancelled. The
//! same rounds without the timeout are the baseline (`cargo xtask bench` reports both).

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ttk::Cx;

/// Bots in the bench.
const BOTS: usize = 100;
/// Operations each bot runs.
const ROUNDS: u32 = 20_000;
/// The limit of each timeout: far longer than any operation takes.
const LIMIT: Duration = Duration::from_secs(30);

/// The quick operation: done in the next tick.
#[ttk::bot]
fn step() {
    ttk::yield_!();
}

/// Runs `ROUNDS` steps, each under a timeout; returns how many finished in time.
#[ttk::bot]
fn patient(_cx: Cx, _id: usize) -> u32 {
    let mut in_time = 0;
    for _ in 0..ROUNDS {
        if ttk::yield_!(ttk::timeout(LIMIT, step())).is_ok() {
            in_time += 1;
        }
    }
    in_time
}

/// Runs `ROUNDS` steps with no timeout: what the timeouts are measured against.
#[ttk::bot]
fn bare(_cx: Cx, _id: usize) -> u32 {
    for _ in 0..ROUNDS {
        ttk::yield_!(step());
    }
    ROUNDS
}

fn timeouts(c: &mut Criterion) {
    let mut group = c.benchmark_group("timeouts");
    group
        .sample_size(10)
        .throughput(Throughput::Elements(BOTS as u64 * u64::from(ROUNDS)));
    assert!(ttk::run(BOTS, patient).iter().all(|&n| n == ROUNDS));
    group.bench_function("100_bots_20k_rounds", |b| {
        b.iter(|| black_box(ttk::run(BOTS, patient)))
    });
    group.bench_function("100_bots_20k_rounds_no_timeout", |b| {
        b.iter(|| black_box(ttk::run(BOTS, bare)))
    });
    group.finish();
}

criterion_group!(benches, timeouts);
criterion_main!(benches);
