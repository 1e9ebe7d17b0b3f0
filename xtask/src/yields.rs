//! Yield cost in time: ttk against the tight floor and tokio's `yield_now`, all three measured
//! interleaved in one `yield_probe` process (100,000 bots × 100 yields).

use crate::probe::{self, number};
use crate::report::{Figure, Goal};

/// Rounds of the interleaved probe; each runs every workload once.
const ROUNDS: &str = "11";

/// A figure from the probe's `{median, min, max}` at `key`.
fn figure(
    json: &serde_json::Value,
    key: &str,
    name: &str,
    unit: &'static str,
    goal: Goal,
) -> Result<Figure, String> {
    let at = |stat: &str| number(json, &format!("/{key}/{stat}"));
    Ok(Figure::new(name, at("median")?, unit, goal).with_range(at("min")?, at("max")?))
}

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
            Goal::AtMost(1.5),
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
