//! Workloads shared by ttk's criterion benches and the probes that `cargo xtask bench` runs.

use ttk::Cx;

/// Bots in the round-robin yield bench.
pub const YIELD_BOTS: usize = 100_000;
/// Yields per bot in the round-robin yield bench.
pub const YIELDS_PER_BOT: u32 = 100;

/// A bot that yields `yields` times: the round-robin workload.
///
/// # Examples
/// ```
/// let done = ttk::run(3, |cx, id| ttk_benches::yielder(cx, id, 2));
/// assert_eq!(done, [0, 1, 2]);
/// ```
#[ttk::bot]
pub fn yielder(_cx: Cx, id: usize, yields: u32) -> usize {
    for _ in 0..yields {
        ttk::yield_!();
    }
    id
}

/// A trivial bot: a few locals and two yields (the memory-per-bot workload).
///
/// # Examples
/// ```
/// assert_eq!(ttk::run(2, ttk_benches::trivial), [0, 3]);
/// ```
#[ttk::bot]
pub fn trivial(_cx: Cx, id: usize) -> usize {
    let doubled = id * 2;
    ttk::yield_!();
    let tripled = doubled + id;
    ttk::yield_!();
    tripled
}

/// The hand-written floor of round-robin scheduling: the same ready queue of `u32` indices and
/// in-place state, with the state machine written by hand (a countdown per bot) instead of built
/// by the compiler. Returns the number of switches made.
///
/// # Examples
/// ```
/// assert_eq!(ttk_benches::hand_written_round_robin(10, 3), 30);
/// ```
pub fn hand_written_round_robin(bots: usize, yields: u32) -> u64 {
    let mut remaining = vec![yields; bots];
    let mut ready: std::collections::VecDeque<u32> = (0..bots as u32).collect();
    let mut switches = 0;
    while let Some(bot) = ready.pop_front() {
        let left = &mut remaining[bot as usize];
        let left_now = std::hint::black_box(*left);
        if left_now > 0 {
            *left = left_now - 1;
            switches += 1;
            ready.push_back(bot);
        }
    }
    switches
}

/// Peak resident set size of this process so far, in bytes (Linux: `VmHWM`).
///
/// # Examples
/// ```
/// assert!(ttk_benches::peak_rss_bytes().unwrap() > 0);
/// ```
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}
