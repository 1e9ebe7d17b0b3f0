//! The scheduler's hot path: round-robin yields, spawning, and parked bots. `cargo xtask bench`
//! reads only the spawn figure from here: it gates the yield and parked-bots ratios on the
//! interleaved probes (`yield_probe`, `tick_probe`) and their instruction counts; these groups
//! are for profiling by hand.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ttk::{Cx, Runtime};
use ttk_benches::{YIELD_BOTS, YIELDS_PER_BOT, tight_round_robin, yielder};

/// Switches per iteration of the round-robin benches.
const SWITCHES: u64 = YIELD_BOTS as u64 * YIELDS_PER_BOT as u64;

fn round_robin(c: &mut Criterion) {
    let mut group = c.benchmark_group("round_robin_100k_x_100");
    group
        .sample_size(10)
        .throughput(Throughput::Elements(SWITCHES));
    group.bench_function("ttk", |b| {
        b.iter(|| {
            let ids = ttk::run(YIELD_BOTS, |cx, id| yielder(cx, id, YIELDS_PER_BOT));
            black_box(ids)
        })
    });
    group.bench_function("tight_floor", |b| {
        b.iter(|| black_box(tight_round_robin(YIELD_BOTS, YIELDS_PER_BOT)))
    });
    group.bench_function("tokio_yield_now", |b| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        b.iter(|| {
            runtime.block_on(async {
                let tasks: Vec<_> = (0..YIELD_BOTS)
                    .map(|id| {
                        tokio::spawn(async move {
                            for _ in 0..YIELDS_PER_BOT {
                                tokio::task::yield_now().await;
                            }
                            id
                        })
                    })
                    .collect();
                for task in tasks {
                    black_box(task.await.unwrap());
                }
            })
        })
    });
    group.finish();
}

/// A bot that returns at once: a run of them measures building, one poll and tear-down.
#[ttk::bot]
fn instant(_cx: Cx, id: usize) -> usize {
    id
}

fn spawn(c: &mut Criterion) {
    let mut group = c.benchmark_group("spawn_100k");
    group.throughput(Throughput::Elements(YIELD_BOTS as u64));
    group.bench_function("ttk", |b| {
        b.iter(|| black_box(ttk::run(YIELD_BOTS, instant)))
    });
    group.finish();
}

/// Bot 0 yields `ticks` times and reports how long that took; every other bot sleeps an hour
/// (parked). With a virtual clock the sleepers finish at once when bot 0 is done.
#[ttk::bot]
fn timed_ticks(_cx: Cx, id: usize, ticks: u64) -> Duration {
    if id == 0 {
        // The first tick runs every bot once (the sleepers set their timers): not timed.
        ttk::yield_!();
        let start = Instant::now();
        for _ in 0..ticks {
            ttk::yield_!();
        }
        start.elapsed()
    } else {
        ttk::yield_!(ttk::sleep(Duration::from_secs(3600)));
        Duration::ZERO
    }
}

fn parked(c: &mut Criterion) {
    let mut group = c.benchmark_group("tick_with_parked_bots");
    group.sample_size(10);
    for parked in [0, 1_000_000] {
        group.bench_function(format!("{parked}_parked"), |b| {
            b.iter_custom(|ticks| {
                let runtime = Runtime::new().virtual_time(true);
                runtime.run(parked + 1, |cx, id| timed_ticks(cx, id, ticks))[0]
            })
        });
    }
    group.finish();
}

criterion_group!(benches, round_robin, spawn, parked);
criterion_main!(benches);
