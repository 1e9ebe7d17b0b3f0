//! The CPU-bound workload on one worker and on two, in interleaved rounds; prints one JSON line
//! with each round's wall time and the ratio of the medians (two workers' throughput over
//! one's). `cargo xtask bench` runs it; its target is a ratio of at least 1.8 on two cores.
//!
//! Each bot computes (a few microseconds of arithmetic its compiler cannot skip) and yields,
//! many times over, and passes a message to a neighbour now and then, so the loops exchange
//! mail while they work. The same bots and the same work run in every round.
//!
//! Usage: `workers_probe [ROUNDS]` (default 7).

use std::time::Instant;

use ttk::{Cx, Runtime};

/// Bots in a run.
const BOTS: usize = 2_000;
/// Times each bot computes and yields.
const STEPS: u64 = 200;
/// Arithmetic steps per computation: a few microseconds.
const WORK: u64 = 2_000;

/// A computation the optimizer cannot remove: its result feeds the next.
fn crunch(seed: u64) -> u64 {
    let mut x = seed | 1;
    for _ in 0..WORK {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    x
}

#[ttk::bot]
fn worker_bot(cx: Cx<u64>, id: usize) -> u64 {
    let mut acc = id as u64;
    for step in 0..STEPS {
        acc = crunch(acc);
        if step % 50 == 0 {
            cx.send((id + 1) % BOTS, acc);
        }
        while let Some(message) = cx.try_recv() {
            acc ^= message.data;
        }
        ttk::yield_!();
    }
    acc
}

/// Seconds one run takes on `workers` workers.
fn run(workers: usize) -> f64 {
    let started = Instant::now();
    let results = Runtime::new().workers(workers).run(BOTS, worker_bot);
    let elapsed = started.elapsed().as_secs_f64();
    assert_eq!(results.len(), BOTS);
    elapsed
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[sorted.len() / 2]
}

fn main() {
    let rounds: usize = match std::env::args().nth(1) {
        None => 7,
        Some(arg) => arg.parse().unwrap_or_else(|_| {
            eprintln!("usage: workers_probe [ROUNDS]");
            std::process::exit(2);
        }),
    };
    // A round to warm up (page in, settle the allocator), not counted.
    run(1);
    run(2);
    let (mut one, mut two) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        // Alternate which goes first, so neither always follows the other.
        if round % 2 == 0 {
            one.push(run(1));
            two.push(run(2));
        } else {
            two.push(run(2));
            one.push(run(1));
        }
    }
    let ratios: Vec<f64> = one.iter().zip(&two).map(|(one, two)| one / two).collect();
    let list = |values: &[f64]| {
        let texts: Vec<String> = values.iter().map(|value| format!("{value:.4}")).collect();
        format!("[{}]", texts.join(", "))
    };
    println!(
        "{{\"bots\": {BOTS}, \"steps\": {STEPS}, \"cores\": {}, \"one_worker_s\": {}, \
         \"two_workers_s\": {}, \"ratio_median\": {:.4}, \"ratio_min\": {:.4}, \"ratio_max\": {:.4}}}",
        std::thread::available_parallelism().map_or(1, usize::from),
        list(&one),
        list(&two),
        median(&one) / median(&two),
        ratios.iter().copied().fold(f64::INFINITY, f64::min),
        ratios.iter().copied().fold(0.0, f64::max),
    );
}
