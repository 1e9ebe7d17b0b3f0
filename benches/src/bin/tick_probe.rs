//! The cost of a tick with a million parked bots against a tick alone, measured interleaved in
//! one process so a noisy neighbour hits both alike; `cargo xtask bench` runs it. Each mode
//! prints one JSON line.
//!
//! - `tick_probe interleaved ROUNDS`: two loops live side by side, each on its own thread: in
//!   one, bot 0 is alone; in the other, 1,000,000 more bots sleep on timers an hour away
//!   (virtual time: they are parked until bot 0 is done). Each round, bot 0 of each loop yields
//!   [`TICKS_PER_SEGMENT`] times in turn (the other loop waits, blocked; the order turns from
//!   round to round), timed; one untimed segment each comes first. Prints the median, min and
//!   max of each one's time per tick and of the per-round ratio parked / alone.
//! - `tick_probe once alone|parked TICKS`: one loop, bot 0 yields TICKS times, untimed (for
//!   counting instructions under callgrind or `perf stat`: the difference between two tick
//!   counts is the instructions of the extra ticks alone).
//!
//! A tick's own work does not depend on the parked bots (a timer heap's first entry is read,
//! nothing is scanned), so the ratio measures what they cost through the caches and the TLB.

use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ttk::{Cx, Runtime};
use ttk_benches::{Stats, ratios};

/// Parked bots beside bot 0 in the parked loop.
const PARKED: usize = 1_000_000;
/// Ticks per timed segment: 15–25 ms here (85–130 ns a tick), long enough that the clock's
/// resolution and one interruption do not matter, short enough that many rounds fit in a few
/// seconds.
const TICKS_PER_SEGMENT: u64 = 200_000;

/// Bot 0's orders (how many ticks to run next) and where it reports each segment's time per
/// tick, in nanoseconds.
type Orders = (Receiver<u64>, Sender<f64>);

/// Bot 0 (the one with orders) yields as many times as each order says and reports how long
/// each tick took, until the orders end; every other bot sleeps an hour (parked).
#[ttk::bot]
fn ticker(_cx: Cx, _id: usize, orders: Option<Orders>) {
    match orders {
        Some((orders, times)) => {
            // The first tick runs every bot once (the sleepers set their timers): not timed.
            ttk::yield_!();
            while let Ok(ticks) = orders.recv() {
                let start = Instant::now();
                for _ in 0..ticks {
                    ttk::yield_!();
                }
                let ns = start.elapsed().as_nanos() as f64 / ticks.max(1) as f64;
                // The reader is gone only if the probe is ending anyway.
                let _ = times.send(ns);
            }
        }
        None => ttk::yield_!(ttk::sleep(Duration::from_secs(3600))),
    }
}

/// Runs a loop of bot 0 and `parked` sleepers on this thread until `orders` ends.
fn run_loop(parked: usize, orders: Orders) {
    let mut orders = Some(orders);
    Runtime::new()
        .virtual_time(true)
        .run(parked + 1, |cx, id| ticker(cx, id, orders.take()));
}

/// A loop with `parked` sleepers running on its own thread, waiting for orders.
struct Loop {
    /// Where its bot 0 takes orders.
    orders: Sender<u64>,
    /// What its bot 0 reports.
    times: Receiver<f64>,
    /// Its thread.
    thread: JoinHandle<()>,
}

impl Loop {
    /// Starts the loop.
    fn start(parked: usize) -> Loop {
        let (orders, their_orders) = channel();
        let (their_times, times) = channel();
        let thread = std::thread::spawn(move || run_loop(parked, (their_orders, their_times)));
        Loop {
            orders,
            times,
            thread,
        }
    }

    /// Runs one segment of `ticks` ticks and returns its time per tick (ns).
    fn segment(&self, ticks: u64) -> f64 {
        self.orders.send(ticks).expect("the loop takes orders");
        self.times.recv().expect("the loop reports its segment")
    }

    /// Ends the loop (its sleepers wake at once: the clock is virtual) and joins its thread.
    fn stop(self) {
        drop(self.orders);
        self.thread.join().expect("the loop ends cleanly");
    }
}

/// The interleaved comparison: see the module docs.
fn interleaved(rounds: usize) {
    let loops = [Loop::start(0), Loop::start(PARKED)];
    for tick_loop in &loops {
        tick_loop.segment(TICKS_PER_SEGMENT);
    }
    let mut times = [Vec::with_capacity(rounds), Vec::with_capacity(rounds)];
    for round in 0..rounds {
        for offset in 0..loops.len() {
            let which = (round + offset) % loops.len();
            times[which].push(loops[which].segment(TICKS_PER_SEGMENT));
        }
    }
    for tick_loop in loops {
        tick_loop.stop();
    }
    let [alone, parked] = &times;
    println!(
        "{{\"parked\": {PARKED}, \"ticks_per_segment\": {TICKS_PER_SEGMENT}, \"rounds\": {rounds}, \
         \"alone_ns_per_tick\": {}, \"parked_ns_per_tick\": {}, \"parked_over_alone\": {}}}",
        Stats::of(alone),
        Stats::of(parked),
        Stats::of(&ratios(parked, alone)),
    );
}

/// Prints the usage and exits with status 2.
fn usage() -> ! {
    eprintln!("usage: tick_probe interleaved ROUNDS | tick_probe once alone|parked TICKS");
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
        ["once", workload, ticks] => {
            let parked = match workload {
                "alone" => 0,
                "parked" => PARKED,
                _ => usage(),
            };
            let ticks: u64 = ticks.parse().unwrap_or_else(|_| usage());
            let (orders, their_orders) = channel();
            let (their_times, _times) = channel();
            orders.send(ticks).expect("the receiver is alive");
            drop(orders);
            run_loop(parked, (their_orders, their_times));
            println!("{{\"workload\": \"{workload}\", \"parked\": {parked}, \"ticks\": {ticks}}}");
        }
        _ => usage(),
    }
}
