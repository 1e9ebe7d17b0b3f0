//! Figures of the workers probe (`workers_probe`): a CPU-bound run on one worker and on two,
//! in interleaved rounds.

use crate::probe::{self, number};
use crate::report::{Figure, Goal};

/// Rounds of each size; the probe reports the ratio of the medians and its range.
const ROUNDS: &str = "7";
/// The least speed-up two workers must give over one on a CPU-bound run: two cores, minus
/// what crossing messages and the machine's other work cost.
const SPEED_UP: f64 = 1.8;

/// Both medians, and their ratio (which must reach `SPEED_UP`).
pub(crate) fn figures() -> Result<Vec<Figure>, String> {
    let json = probe::json("workers_probe", &[ROUNDS])?;
    let cores = number(&json, "cores")?;
    if cores < 2.0 {
        return Err(format!(
            "workers: this machine has {cores} core(s); two workers need two"
        ));
    }
    let seconds = |key: &str| -> Result<Vec<f64>, String> {
        json.get(key)
            .and_then(serde_json::Value::as_array)
            .map(|values| {
                values
                    .iter()
                    .filter_map(serde_json::Value::as_f64)
                    .collect()
            })
            .ok_or_else(|| format!("workers_probe printed no {key}: {json}"))
    };
    let (one, two) = (seconds("one_worker_s")?, seconds("two_workers_s")?);
    // Each round's two runs ran back to back: their ratio is what the round measured.
    let ratios: Vec<f64> = one.iter().zip(&two).map(|(one, two)| one / two).collect();
    Ok(vec![
        Figure::median_of("workers: CPU-bound run, 1 worker", &one, "s", Goal::None),
        Figure::median_of("workers: CPU-bound run, 2 workers", &two, "s", Goal::None),
        Figure::median_of(
            "workers: 2 / 1 throughput, CPU-bound",
            &ratios,
            "x",
            Goal::AtLeast(SPEED_UP),
        ),
    ])
}
