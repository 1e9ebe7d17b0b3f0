//! A day-long run of the harness on a virtual clock: one bot records 30 transactions every
//! second for 24 hours (86,400 seconds of snapshots through the real collector), and the report
//! is written as a user's would be. Prints one JSON line: the process's RSS before the run,
//! after its first virtual minute and hour, and at its peak; the report's JSON size and series;
//! and the totals, which must equal what was recorded.
//!
//! The JSON line is the last line of standard output (the harness prints its summary first).
//!
//! Usage: `day_probe HOURS REPORT.json` (`cargo xtask bench` runs it with 24).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use ttk::cli::{LoadTest, Session};
use ttk::{Cx, Runtime};

/// Transactions recorded every second.
const TRANSACTIONS: usize = 30;
/// Latencies recorded per transaction and second.
const SAMPLES: u64 = 20;

/// Bytes allocated and not yet freed, and their highest: the heap the run holds, whatever the
/// allocator keeps of what was freed (which RSS counts too).
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK_LIVE: AtomicUsize = AtomicUsize::new(0);

/// The system allocator, counting [`LIVE`] bytes.
struct Counting;

// SAFETY: every call is passed to `System` unchanged; only counters are added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract is `System`'s.
        let pointer = unsafe { System.alloc(layout) };
        if !pointer.is_null() {
            let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK_LIVE.fetch_max(live, Ordering::Relaxed);
        }
        pointer
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract is `System`'s.
        let pointer = unsafe { System.alloc_zeroed(layout) };
        if !pointer.is_null() {
            let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK_LIVE.fetch_max(live, Ordering::Relaxed);
        }
        pointer
    }

    unsafe fn dealloc(&self, pointer: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract is `System`'s.
        unsafe { System.dealloc(pointer, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, pointer: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller's contract is `System`'s.
        let moved = unsafe { System.realloc(pointer, layout, new_size) };
        if !moved.is_null() {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            let live = LIVE.fetch_add(new_size, Ordering::Relaxed) + new_size;
            PEAK_LIVE.fetch_max(live, Ordering::Relaxed);
        }
        moved
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// RSS after the first virtual minute, the first virtual hour and the run's last second, once
/// seen.
#[derive(Debug, Default)]
struct Marks {
    minute: Cell<u64>,
    hour: Cell<u64>,
    last: Cell<u64>,
    /// Live heap bytes at the same points.
    minute_live: Cell<usize>,
    hour_live: Cell<usize>,
    last_live: Cell<usize>,
}

/// Records `SAMPLES` latencies of each transaction, then sleeps a second, for `seconds`.
#[ttk::bot]
fn day(cx: Cx, _session: Session, names: Rc<Vec<String>>, seconds: u64, marks: Rc<Marks>) {
    let mut draw = 0x9e37_79b9_7f4a_7c15_u64;
    for second in 0..seconds {
        for name in names.iter() {
            for _ in 0..SAMPLES {
                draw = draw
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                // Mostly 1–5 ms, a tail to 500 ms: histograms as wide as a real server's.
                let micros = match draw >> 60 {
                    0 => 5_000 + (draw >> 20) % 495_000,
                    _ => 1_000 + (draw >> 20) % 4_000,
                };
                cx.record(name, Duration::from_micros(micros));
            }
        }
        let rss = || ttk_benches::rss_bytes().unwrap_or(0);
        let live = || LIVE.load(Ordering::Relaxed);
        match second {
            60 => (marks.minute.set(rss()), marks.minute_live.set(live())),
            3_600 => (marks.hour.set(rss()), marks.hour_live.set(live())),
            _ if second + 1 == seconds => (marks.last.set(rss()), marks.last_live.set(live())),
            _ => ((), ()),
        };
        ttk::yield_!(ttk::sleep(Duration::from_secs(1)));
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [hours, path] = args.as_slice() else {
        eprintln!("usage: day_probe HOURS REPORT.json");
        std::process::exit(2);
    };
    let hours: u64 = hours.parse().expect("HOURS is a whole number");
    let seconds = hours * 3_600;
    let names: Rc<Vec<String>> = Rc::new(
        (0..TRANSACTIONS)
            .map(|n| format!("transaction {n:02}"))
            .collect(),
    );
    let marks = Rc::new(Marks::default());
    let before = ttk_benches::rss_bytes().expect("VmRSS from /proc/self/status");
    let live_before = LIVE.load(Ordering::Relaxed);
    let run_args = [
        "day",
        "--bots",
        "1",
        "--iterations",
        "1",
        "--quiet",
        "--json",
        path,
    ];
    let test = LoadTest::try_from_args("day", run_args).expect("valid arguments");
    let started = Instant::now();
    let (bot_names, bot_marks) = (Rc::clone(&names), Rc::clone(&marks));
    let outcome = test.run_with(Runtime::new().virtual_time(true), move |cx, session| {
        day(
            cx,
            session,
            Rc::clone(&bot_names),
            seconds,
            Rc::clone(&bot_marks),
        )
    });
    let wall_s = started.elapsed().as_secs_f64();
    let peak = ttk_benches::peak_rss_bytes().expect("VmHWM from /proc/self/status");
    // The loop and the queue to the collector are gone: what is left is what the collector
    // built, the report (whole-run histograms and the series).
    let live_after_run = LIVE.load(Ordering::Relaxed);
    let report = outcome.report;
    let recorded: u64 = report.transactions.iter().map(|tx| tx.ok).sum();
    let in_histograms: u64 = report
        .transactions
        .iter()
        .map(|tx| tx.histogram.inner().len())
        .sum();
    let in_series: u64 = report
        .series
        .iter()
        .flat_map(|entry| entry.transactions.values())
        .map(|tx| tx.ok)
        .sum();
    let expected = seconds * TRANSACTIONS as u64 * SAMPLES;
    assert_eq!(
        (recorded, in_histograms, in_series),
        (expected, expected, expected),
        "every sample is in the totals and in the series"
    );
    let json_bytes = std::fs::metadata(path)
        .expect("the report was written")
        .len();
    println!(
        "{{\"hours\": {hours}, \"transactions\": {TRANSACTIONS}, \"samples\": {expected}, \
         \"wall_s\": {wall_s:.1}, \"rss_before_bytes\": {before}, \
         \"rss_minute_bytes\": {}, \"rss_hour_bytes\": {}, \"rss_last_second_bytes\": {}, \
         \"peak_rss_bytes\": {peak}, \"live_before_bytes\": {live_before}, \
         \"live_minute_bytes\": {}, \"live_hour_bytes\": {}, \"live_last_second_bytes\": {}, \
         \"peak_live_bytes\": {}, \"live_after_run_bytes\": {live_after_run}, \
         \"json_bytes\": {json_bytes}, \"series_entries\": {}, \"series_interval_s\": {}}}",
        marks.minute.get(),
        marks.hour.get(),
        marks.last.get(),
        marks.minute_live.get(),
        marks.hour_live.get(),
        marks.last_live.get(),
        PEAK_LIVE.load(Ordering::Relaxed),
        report.series.len(),
        report.series_interval_s,
    );
}
