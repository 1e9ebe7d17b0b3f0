//! The cost of a tick with a million parked bots against a tick alone, gated twice with the
//! same target: in time, both loops alive side by side in one `tick_probe` process and timed in
//! turns (the median of the per-round ratios), and in instructions per tick (the twin, which a
//! noisy neighbour does not move).

use crate::instructions::{self, Counter};
use crate::probe::{self, median_figure};
use crate::report::{Figure, Goal};

/// Rounds of the interleaved probe; each times both loops once (15–25 ms each here).
const ROUNDS: &str = "41";
/// The most a tick may cost with a million parked bots beside it, against a tick alone.
const PARKED_OVER_ALONE: f64 = 1.5;
/// Ticks of the shorter and the longer counted run.
const TICKS: [u64; 2] = [100_000, 200_000];

/// Instructions per tick of `workload` (`alone` or `parked`).
fn per_tick(counter: Counter, workload: &str) -> Result<f64, String> {
    let [short, long] = TICKS.map(|ticks| ticks.to_string());
    counter.per_unit(
        "tick_probe",
        &["once", workload, &short],
        &["once", workload, &long],
        (TICKS[1] - TICKS[0]) as f64,
    )
}

/// Time per tick of each loop, their ratio, and the ratio's instruction twin.
pub(crate) fn figures() -> Result<Vec<Figure>, String> {
    let json = probe::json("tick_probe", &["interleaved", ROUNDS])?;
    let mut figures = vec![
        median_figure(
            &json,
            "alone_ns_per_tick",
            "tick: 1 bot alone",
            "ns",
            Goal::None,
        )?,
        median_figure(
            &json,
            "parked_ns_per_tick",
            "tick: 1 bot + 1M parked",
            "ns",
            Goal::None,
        )?,
        median_figure(
            &json,
            "parked_over_alone",
            "tick: 1M parked / alone, time",
            "x",
            Goal::AtMost(PARKED_OVER_ALONE),
        )?,
    ];
    figures.extend(instructions::twin(
        [
            "tick: 1 bot + 1M parked, instructions per tick",
            "tick: 1 bot alone, instructions per tick",
            "tick: 1M parked / alone, instructions",
        ],
        Goal::AtMost(PARKED_OVER_ALONE),
        |counter| Ok((per_tick(counter, "parked")?, per_tick(counter, "alone")?)),
    )?);
    Ok(figures)
}
