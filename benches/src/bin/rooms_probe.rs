//! The cost per bot-round of rooms of four at 100,000 bots against 10,000, measured interleaved
//! in one process so a noisy neighbour hits both alike; `cargo xtask bench` runs it. Each mode
//! prints one JSON line.
//!
//! - `rooms_probe interleaved ROUNDS`: after one untimed run of each size (which checks that
//!   every message arrives), each round runs the 10,000-bot loop ten times and the 100,000-bot
//!   loop once (the same bot-rounds, so both take about as long), in an order that turns from
//!   round to round, each timed whole (start-up and tear-down included, as in the criterion
//!   bench). Prints the median, min and max of each one's time per bot-round and of the
//!   per-round ratio 100k / 10k.
//! - `rooms_probe once BOTS RUNS`: runs a loop of BOTS roommates RUNS times, untimed (for
//!   counting instructions: the difference between two RUNS is the instructions of whole runs
//!   alone, without the process's start-up).

use std::hint::black_box;
use std::time::Instant;

use ttk_benches::{ROOM_ROUNDS, Stats, expected_room_sum, ratios, roommate};

/// The sizes compared, and how many runs of each one round makes.
const SIZES: [(usize, u32); 2] = [(10_000, 10), (100_000, 1)];

/// Runs `bots` roommates once.
fn run(bots: usize) -> Vec<u64> {
    black_box(ttk::run(bots, roommate))
}

/// Nanoseconds per bot-round of `runs` runs of `bots` roommates.
fn ns_per_bot_round(bots: usize, runs: u32) -> f64 {
    let start = Instant::now();
    for _ in 0..runs {
        run(bots);
    }
    let elapsed = start.elapsed();
    elapsed.as_nanos() as f64 / (bots as f64 * ROOM_ROUNDS as f64 * f64::from(runs))
}

/// The interleaved comparison: see the module docs.
fn interleaved(rounds: usize) {
    for (bots, _) in SIZES {
        let sums = run(bots);
        assert!(
            sums.iter().all(|&sum| sum == expected_room_sum()),
            "lost messages at {bots} bots"
        );
    }
    let mut times = [Vec::with_capacity(rounds), Vec::with_capacity(rounds)];
    for round in 0..rounds {
        for offset in 0..SIZES.len() {
            let which = (round + offset) % SIZES.len();
            let (bots, runs) = SIZES[which];
            times[which].push(ns_per_bot_round(bots, runs));
        }
    }
    let [small, large] = &times;
    println!(
        "{{\"small_bots\": {}, \"large_bots\": {}, \"rounds_per_bot\": {ROOM_ROUNDS}, \
         \"rounds\": {rounds}, \"small_ns_per_bot_round\": {}, \"large_ns_per_bot_round\": {}, \
         \"large_over_small\": {}}}",
        SIZES[0].0,
        SIZES[1].0,
        Stats::of(small),
        Stats::of(large),
        Stats::of(&ratios(large, small)),
    );
}

/// Prints the usage and exits with status 2.
fn usage() -> ! {
    eprintln!("usage: rooms_probe interleaved ROUNDS | rooms_probe once BOTS RUNS");
    std::process::exit(2);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args[..] {
        ["interleaved", rounds] => match rounds.parse() {
            Ok(rounds) if rounds > 0 => interleaved(rounds),
            _ => usage(),
        },
        ["once", bots, runs] => {
            let bots: usize = bots.parse().unwrap_or_else(|_| usage());
            let runs: u32 = runs.parse().unwrap_or_else(|_| usage());
            for _ in 0..runs {
                run(bots);
            }
            println!("{{\"bots\": {bots}, \"runs\": {runs}}}");
        }
        _ => usage(),
    }
}
