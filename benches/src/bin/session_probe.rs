//! Many short sessions through one loop, a bounded number alive at once; prints one JSON line
//! with the time per session and the process's peak RSS. `cargo xtask bench` runs it with
//! 10,000,000 sessions, at most 10,000 alive, and with 10,000 sessions (all alive at once, what
//! 10,000 bots cost): the peaks must match, since finished bots' places are reused and their
//! outcomes are not kept.
//!
//! Usage: `session_probe SESSIONS MAX_ALIVE`.

use std::time::Instant;

use ttk::{Arrivals, RunEnd, Runtime};

/// Prints the usage and exits with status 2.
fn usage() -> ! {
    eprintln!("usage: session_probe SESSIONS MAX_ALIVE");
    std::process::exit(2);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = |i: usize| -> usize {
        args.get(i)
            .and_then(|arg| arg.parse().ok())
            .unwrap_or_else(|| usage())
    };
    let (sessions, max_alive) = (number(0), number(1));
    if args.len() != 2 || max_alive == 0 {
        usage();
    }
    // Tops the loop up to `max_alive` bots each tick until every session has started.
    let mut left = sessions;
    let source = move |_now, live: usize| {
        let count = max_alive.saturating_sub(live).min(left);
        left -= count;
        if left == 0 {
            Arrivals::start(count).then_done()
        } else {
            Arrivals::start(count)
        }
    };
    let mut failed = 0_usize;
    let started = Instant::now();
    let summary =
        Runtime::new()
            .source(source)
            .execute_each(0, ttk_benches::trivial, |_, outcome| {
                failed += usize::from(outcome.is_err());
            });
    let seconds = started.elapsed().as_secs_f64();
    let peak = ttk_benches::peak_rss_bytes().expect("VmHWM from /proc/self/status");
    assert_eq!(summary.end, RunEnd::Completed, "the run ended early");
    assert_eq!(summary.bots_started, sessions, "not every session started");
    assert_eq!(failed, 0, "sessions failed");
    println!(
        "{{\"sessions\": {sessions}, \"max_alive\": {max_alive}, \"seconds\": {seconds}, \
         \"ns_per_session\": {}, \"peak_rss_bytes\": {peak}}}",
        seconds * 1e9 / sessions.max(1) as f64
    );
}
