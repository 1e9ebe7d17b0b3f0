//! Figures of the steady-timeouts bench (`benches/timeouts.rs`): 100 bots each wrap 20,000
//! quick operations in a 30-second timeout that is set, then cancelled when the operation wins.

use crate::criterion::Results;
use crate::report::{Figure, Goal};

/// Timeouts in one iteration of the bench (100 bots × 20,000 rounds).
const TIMEOUTS: f64 = 2_000_000.0;
/// The rate of timeouts the issue asks the loop to sustain.
const STEADY_RATE: f64 = 200_000.0;

/// Time per round with and without the timeout, what the timeout adds, and the rate.
pub(crate) fn figures(results: Results) -> Result<Vec<Figure>, String> {
    let with = results.median_ns("timeouts", "100_bots_20k_rounds")? / TIMEOUTS;
    let without = results.median_ns("timeouts", "100_bots_20k_rounds_no_timeout")? / TIMEOUTS;
    Ok(vec![
        Figure::new(
            "timeout set+cancelled, with its operation",
            with,
            "ns",
            Goal::None,
        ),
        Figure::new(
            "timeout set+cancelled, over the bare operation",
            with - without,
            "ns",
            Goal::None,
        ),
        Figure::new(
            "timeouts set+cancelled per second, one loop",
            1e9 / with,
            "/s",
            Goal::AtLeast(STEADY_RATE),
        ),
    ])
}
