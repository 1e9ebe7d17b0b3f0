//! Bots together and time: message cost, a barrier of 10,000 bots, an hour of virtual time,
//! a million timers.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ttk::{Barrier, Cx, Runtime};

/// Messages bot 0 sends per tick in the message bench.
const BURST: u64 = 1000;
/// Ticks of the message bench.
const BURST_TICKS: u64 = 100;

/// Bot 0 sends `BURST` small messages per tick to bot 1, which receives them the next tick.
#[ttk::bot]
fn burst(cx: Cx<u64>, id: usize) -> u64 {
    let mut received = 0;
    for tick in 0..=BURST_TICKS {
        if id == 0 && tick < BURST_TICKS {
            for n in 0..BURST {
                cx.send(1, n);
            }
        }
        while let Some(message) = cx.try_recv() {
            received += black_box(message.data) & 1;
        }
        ttk::yield_!();
    }
    received
}

fn messages(c: &mut Criterion) {
    let mut group = c.benchmark_group("messages");
    group.throughput(Throughput::Elements(BURST * BURST_TICKS));
    group.bench_function("send_and_receive_100k", |b| {
        b.iter(|| black_box(ttk::run(2, burst)))
    });
    group.finish();
}

/// Rounds of the barrier bench.
const ROUNDS: u64 = 10;
/// Bots at the barrier.
const PARTIES: usize = 10_000;

#[ttk::bot]
fn meet(_cx: Cx, _id: usize, barrier: Barrier) {
    for _ in 0..ROUNDS {
        ttk::yield_!(barrier.wait()).expect("all come");
    }
}

fn barrier(c: &mut Criterion) {
    let mut group = c.benchmark_group("barrier");
    group
        .sample_size(10)
        .throughput(Throughput::Elements(PARTIES as u64 * ROUNDS));
    group.bench_function("10k_bots_10_rounds", |b| {
        b.iter(|| {
            let barrier = Barrier::new(PARTIES);
            ttk::run(PARTIES, |cx, id| meet(cx, id, barrier.clone()))
        })
    });
    group.finish();
}

/// Sleeps a minute at a time for an hour (virtual).
#[ttk::bot]
fn hour_of_naps(_cx: Cx, id: usize) {
    for _ in 0..60 {
        ttk::yield_!(ttk::sleep(
            Duration::from_secs(60) + Duration::from_millis(id as u64 % 1000)
        ));
    }
}

/// Sleeps once.
#[ttk::bot]
fn one_nap(_cx: Cx, id: usize) {
    ttk::yield_!(ttk::sleep(Duration::from_millis(1000 + id as u64 % 1000)));
}

fn virtual_time(c: &mut Criterion) {
    let mut group = c.benchmark_group("virtual_time");
    group.sample_size(10);
    group.bench_function("hour_10k_sleeping_bots", |b| {
        b.iter(|| Runtime::new().virtual_time(true).run(10_000, hour_of_naps))
    });
    group.throughput(Throughput::Elements(1_000_000));
    group.bench_function("1m_timers", |b| {
        b.iter(|| Runtime::new().virtual_time(true).run(1_000_000, one_nap))
    });
    group.finish();
}

criterion_group!(benches, messages, barrier, virtual_time);
criterion_main!(benches);
