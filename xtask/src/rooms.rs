//! Rooms of four, each round a group message and a group barrier, at 10,000 and 100,000 bots:
//! the cost per bot-round must stay flat as the loop grows. Gated twice with the same target:
//! in time, both sizes run in turns in one `rooms_probe` process (the median of the per-round
//! ratios), and in instructions per bot-round (the twin, which a noisy neighbour does not
//! move). The criterion bench `rooms` runs the same bots, for profiling by hand.

use crate::instructions::{self, Counter};
use crate::probe::{self, median_figure};
use crate::report::{Figure, Goal};

/// Rounds of the interleaved probe; each runs 10 loops of 10k bots and one of 100k (about
/// 0.6 s). The ratio sits near its target here (1.24–1.31 in 15-round medians), so its median
/// must hold still: 21 rounds.
const ROUNDS: &str = "21";
/// Rounds each bot plays (`ttk_benches::ROOM_ROUNDS`).
const ROOM_ROUNDS: f64 = 5.0;
/// The largest ratio of the cost per bot-round at 100,000 bots to that at 10,000 that still
/// counts as flat: groups and barriers cost O(1) or O(log n) per operation, so ten times the
/// bots may cost a little more per bot (caches, a deeper heap), not ten times more.
const FLAT: f64 = 1.3;

/// Instructions per bot-round of a loop of `bots` roommates: two runs against one.
fn per_bot_round(counter: Counter, bots: u32) -> Result<f64, String> {
    let bots_text = bots.to_string();
    counter.per_unit(
        "rooms_probe",
        &["once", &bots_text, "1"],
        &["once", &bots_text, "2"],
        f64::from(bots) * ROOM_ROUNDS,
    )
}

/// Time per bot-round at each size, their ratio (which must stay flat), and its instruction
/// twin.
pub(crate) fn figures() -> Result<Vec<Figure>, String> {
    let json = probe::json("rooms_probe", &["interleaved", ROUNDS])?;
    let mut figures = vec![
        median_figure(
            &json,
            "small_ns_per_bot_round",
            "rooms of 4, 10k bots: per bot-round",
            "ns",
            Goal::None,
        )?,
        median_figure(
            &json,
            "large_ns_per_bot_round",
            "rooms of 4, 100k bots: per bot-round",
            "ns",
            Goal::None,
        )?,
        median_figure(
            &json,
            "large_over_small",
            "rooms of 4: 100k / 10k per bot-round, time",
            "x",
            Goal::AtMost(FLAT),
        )?,
    ];
    figures.extend(instructions::twin(
        [
            "rooms of 4, 100k bots: instructions per bot-round",
            "rooms of 4, 10k bots: instructions per bot-round",
            "rooms of 4: 100k / 10k per bot-round, instructions",
        ],
        Goal::AtMost(FLAT),
        |counter| {
            Ok((
                per_bot_round(counter, 100_000)?,
                per_bot_round(counter, 10_000)?,
            ))
        },
    )?);
    Ok(figures)
}
