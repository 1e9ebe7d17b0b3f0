//! What recording a measurement costs a bot: a latency by name, a transaction started and
//! finished (two clock reads), a counter, a gauge.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use ttk::Cx;

/// The recordings measured.
#[derive(Clone, Copy, Debug)]
enum Recording {
    /// `cx.record(name, latency)`.
    Latency,
    /// `cx.transaction(name).ok()`.
    Transaction,
    /// `cx.count(name, 1)`.
    Counter,
    /// `cx.gauge(name, value)`.
    Gauge,
}

/// Latencies spread over the histogram's buckets (1 µs to ~1 s), so recording is not
/// measured on one hot counter only.
fn latency(i: u64) -> Duration {
    Duration::from_nanos(1_000 + (i.wrapping_mul(0x9E37_79B9) % 1_000_000_000))
}

/// Records `iterations` times and returns the time it took (the names' first use excluded).
#[ttk::bot]
fn recorder(cx: Cx, _id: usize, recording: Recording, iterations: u64) -> Duration {
    let name = black_box("request");
    cx.record(name, latency(0));
    cx.transaction(name).ok();
    cx.count(name, 1);
    cx.gauge(name, 0);
    let started = Instant::now();
    match recording {
        Recording::Latency => {
            for i in 0..iterations {
                cx.record(name, latency(i));
            }
        }
        Recording::Transaction => {
            for _ in 0..iterations {
                cx.transaction(name).ok();
            }
        }
        Recording::Counter => {
            for _ in 0..iterations {
                cx.count(name, 1);
            }
        }
        Recording::Gauge => {
            for i in 0..iterations {
                cx.gauge(name, i as i64);
            }
        }
    }
    started.elapsed()
}

fn recording(c: &mut Criterion) {
    let mut group = c.benchmark_group("metrics");
    for (function, recording) in [
        ("record_latency", Recording::Latency),
        ("transaction_ok", Recording::Transaction),
        ("count", Recording::Counter),
        ("gauge", Recording::Gauge),
    ] {
        group.bench_function(function, |b| {
            b.iter_custom(|iterations| {
                ttk::run(1, |cx, id| recorder(cx, id, recording, iterations))[0]
            })
        });
    }
    group.finish();
}

criterion_group!(benches, recording);
criterion_main!(benches);
