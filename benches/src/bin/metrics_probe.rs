//! Records many latencies through one loop, with a metrics sink that adds every snapshot into
//! running totals (as the harness's collector does); prints one JSON line with the time per
//! sample and the process's peak RSS. `cargo xtask bench` runs it with 1,000,000 and with
//! 100,000,000 samples: the peaks must match, since a loop's metrics are fixed-size histograms
//! whatever the number of samples.
//!
//! With `--dry`, it makes the same samples without recording them: the difference between the
//! two is what recording costs (in instructions, under callgrind).
//!
//! Usage: `metrics_probe SAMPLES [--dry]`.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use ttk::metrics::latency_histogram;
use ttk::{Cx, RunEnd, Runtime};

/// Bots recording.
const BOTS: u64 = 100;
/// Samples a bot records between yields.
const BURST: u64 = 1_000;
/// Transaction names the samples are spread over.
const NAMES: [&str; 8] = [
    "login", "move", "chat", "round", "buy", "sell", "look", "leave",
];

/// Prints the usage and exits with status 2.
fn usage() -> ! {
    eprintln!("usage: metrics_probe SAMPLES [--dry]");
    std::process::exit(2);
}

/// Records `samples` latencies, `BURST` at a time.
#[ttk::bot]
fn recorder(cx: Cx, id: usize, samples: u64, dry: bool) {
    let mut left = samples;
    let mut i = id as u64;
    while left > 0 {
        for _ in 0..BURST.min(left) {
            i = i
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let name = NAMES[(i >> 61) as usize];
            let latency = Duration::from_nanos(1_000 + (i >> 20) % 2_000_000_000);
            if dry {
                std::hint::black_box((name, latency));
            } else {
                cx.record(name, latency);
            }
        }
        left = left.saturating_sub(BURST);
        ttk::yield_!();
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (samples, dry) = match args.as_slice() {
        [samples] => (samples, false),
        [samples, dry] if dry == "--dry" => (samples, true),
        _ => usage(),
    };
    let samples: u64 = samples.parse().unwrap_or_else(|_| usage());
    let totals = Rc::new(RefCell::new(Vec::new()));
    let seen = Rc::clone(&totals);
    let started = Instant::now();
    let report = Runtime::new()
        .metrics(move |snapshot| {
            let mut totals = seen.borrow_mut();
            for transaction in snapshot.transactions {
                let place = NAMES.iter().position(|name| *name == transaction.name);
                let place = place.expect("one of the names");
                if totals.len() <= place {
                    totals.resize_with(NAMES.len(), latency_histogram);
                }
                totals[place]
                    .add(&transaction.latencies)
                    .expect("same bounds");
            }
        })
        .execute(BOTS as usize, |cx, id| {
            recorder(cx, id, samples / BOTS, dry)
        });
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(report.end, RunEnd::Completed, "the run ended early");
    let recorded: u64 = totals
        .borrow()
        .iter()
        .map(|histogram| histogram.len())
        .sum();
    let made = samples / BOTS * BOTS;
    assert_eq!(
        recorded,
        if dry { 0 } else { made },
        "every sample is in the totals"
    );
    let peak = ttk_benches::peak_rss_bytes().expect("VmHWM from /proc/self/status");
    println!(
        "{{\"samples\": {made}, \"recorded\": {recorded}, \"seconds\": {seconds}, \
         \"ns_per_sample\": {}, \"peak_rss_bytes\": {peak}}}",
        seconds * 1e9 / made.max(1) as f64
    );
}
