//! Yield cost in time: ttk against the tight floor and tokio's `yield_now`, all three measured
//! interleaved in one `yield_probe` process (100,000 bots × 100 yields).

use crate::probe::{self, median_figure as figure};
use crate::report::{Figure, Goal};

/// Rounds of the interleaved probe; each runs the floor and ttk once, every third one tokio
/// too. 33 rounds give the ttk / floor median three times the samples the 11 rounds of every
/// workload used to, for about the same time (tokio's run is most of a round's).
const ROUNDS: &str = "33";
/// The most ttk's yield may cost against the tight floor, in time and in instructions.
pub(crate) const TTK_OVER_FLOOR: f64 = 1.5;

/// Time per switch of each workload (medians over the rounds) and the per-round ratios.
pub(crate) fn figures() -> Result<Vec<Figure>, String> {
    let json = probe::json("yield_probe", &["interleaved", ROUNDS])?;
    Ok(vec![
        figure(
            &json,
            "ttk_ns_per_switch",
            "yield: ttk, per switch",
            "ns",
            Goal::None,
        )?,
        figure(
            &json,
            "floor_ns_per_switch",
            "yield: tight floor (queue + 16-byte state), per switch",
            "ns",
            Goal::None,
        )?,
        figure(
            &json,
            "tokio_ns_per_switch",
            "yield: tokio yield_now, per switch",
            "ns",
            Goal::None,
        )?,
        figure(
            &json,
            "ttk_over_floor",
            "yield: ttk / tight floor, time",
            "x",
            Goal::AtMost(TTK_OVER_FLOOR),
        )?,
        figure(
            &json,
            "tokio_over_ttk",
            "yield: tokio / ttk, time",
            "x",
            Goal::AtLeast(10.0),
        )?,
    ])
}
