//! Figures of the session probe (`session_probe`): ten million short sessions through one
//! loop, at most ten thousand alive at once, against ten thousand sessions all alive at once.

use crate::probe::{self, number};
use crate::report::{self, Figure, Goal};

/// Sessions of the long run.
const SESSIONS: &str = "10000000";
/// Bots alive at once in the long run, and sessions of the short one.
const ALIVE: &str = "10000";
/// Runs of each size; medians are reported, with their ranges.
const RUNS: usize = 3;
/// How far the long run's peak RSS may exceed the short run's, in KiB. Finished bots' places
/// are reused and their outcomes are not kept, so ten million sessions should cost what their
/// ten thousand alive at once cost plus a fixed overhead; one MiB is the slack allowed for that
/// overhead (bookkeeping sized by the bots alive, the allocator's own).
const SLACK_KIB: f64 = 1024.0;

/// Peak RSS (KiB) and time per session (ns) of `RUNS` runs of `sessions` sessions.
fn runs(sessions: &str) -> Result<(Vec<f64>, Vec<f64>), String> {
    let (mut peaks, mut times) = (Vec::with_capacity(RUNS), Vec::with_capacity(RUNS));
    for _ in 0..RUNS {
        let json = probe::json("session_probe", &[sessions, ALIVE])?;
        peaks.push(number(&json, "peak_rss_bytes")? / 1024.0);
        times.push(number(&json, "ns_per_session")?);
    }
    Ok((peaks, times))
}

/// Time per session, both peaks, and how far the long run's peak exceeds the short one's.
pub(crate) fn figures() -> Result<Vec<Figure>, String> {
    let (long_peaks, long_times) = runs(SESSIONS)?;
    let (short_peaks, _) = runs(ALIVE)?;
    let excess = report::median(&long_peaks) - report::median(&short_peaks);
    Ok(vec![
        Figure::median_of(
            "sessions: 10M (10k alive), wall time per session",
            &long_times,
            "ns",
            Goal::None,
        ),
        Figure::median_of(
            "sessions: peak RSS, 10M (10k alive at once)",
            &long_peaks,
            "KiB",
            Goal::None,
        ),
        Figure::median_of(
            "sessions: peak RSS, 10k (all alive at once)",
            &short_peaks,
            "KiB",
            Goal::None,
        ),
        Figure::new(
            "sessions: peak RSS 10M - 10k",
            excess,
            "KiB",
            Goal::AtMost(SLACK_KIB),
        ),
    ])
}
