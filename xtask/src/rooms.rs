//! Figures of the rooms bench (`benches/rooms.rs`): rooms of four, each round a group message
//! and a group barrier, at 10,000 and 100,000 bots.

use crate::criterion::Results;
use crate::report::{Figure, Goal};

/// Rounds each bot plays in the bench.
const ROUNDS: f64 = 5.0;
/// The largest ratio of the cost per bot-round at 100,000 bots to that at 10,000 that still
/// counts as flat: groups and barriers cost O(1) or O(log n) per operation, so ten times the
/// bots may cost a little more per bot (caches, a deeper heap), not ten times more.
const FLAT: f64 = 1.3;

/// Nanoseconds per bot-round at each size, and their ratio (which must stay flat).
pub(crate) fn figures(results: Results) -> Result<Vec<Figure>, String> {
    let per_round = |bots: u32| -> Result<f64, String> {
        let function = format!("bots_5_rounds/{bots}");
        Ok(results.median_ns("rooms", &function)? / (f64::from(bots) * ROUNDS))
    };
    let small = per_round(10_000)?;
    let large = per_round(100_000)?;
    Ok(vec![
        Figure::new(
            "rooms of 4, 10k bots: per bot-round",
            small,
            "ns",
            Goal::None,
        ),
        Figure::new(
            "rooms of 4, 100k bots: per bot-round",
            large,
            "ns",
            Goal::None,
        ),
        Figure::new(
            "rooms of 4: 100k / 10k per bot-round",
            large / small,
            "x",
            Goal::AtMost(FLAT),
        ),
    ])
}
