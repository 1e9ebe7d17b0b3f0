//! How noisy the machine is while `cargo xtask bench` runs, measured at its start and its end,
//! so a reader can tell a noisy run from a regression: the load average, and the spread of a
//! fixed CPU-only reference loop timed [`SAMPLES`] times (on a quiet machine every sample takes
//! the same time; a neighbour taking the CPU shows as a spread).

use std::hint::black_box;
use std::time::Instant;

use crate::report::median;

/// Samples of the reference loop.
const SAMPLES: usize = 30;
/// Steps of the reference loop per sample: about 30 ms on the 2-core EPYC VM of the README in
/// xtask's (debug) build, so the samples take about a second. Fixed, never calibrated, so the
/// medians of runs of the same build compare.
const STEPS: u64 = 3_600_000;

/// The noise at one moment.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Noise {
    /// The load average over 1, 5 and 15 minutes (`/proc/loadavg`).
    pub(crate) load: [f64; 3],
    /// The median time of one reference loop, in milliseconds.
    pub(crate) loop_median_ms: f64,
    /// The shortest and the longest reference loop, in milliseconds.
    pub(crate) loop_range_ms: (f64, f64),
}

impl Noise {
    /// Measures the noise now (about a second).
    pub(crate) fn measure() -> Result<Noise, String> {
        let text = std::fs::read_to_string("/proc/loadavg")
            .map_err(|error| format!("cannot read /proc/loadavg: {error}"))?;
        let load = parse_loadavg(&text)?;
        // One untimed run: the first may pay for a cold cache and a low clock.
        sample_ms();
        let samples: Vec<f64> = (0..SAMPLES).map(|_| sample_ms()).collect();
        Ok(Noise::from_samples(load, &samples))
    }

    /// The noise of `load` and the reference loop's `samples` (at least one, in ms).
    fn from_samples(load: [f64; 3], samples: &[f64]) -> Noise {
        let min = samples.iter().copied().fold(f64::INFINITY, f64::min);
        let max = samples.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        Noise {
            load,
            loop_median_ms: median(samples),
            loop_range_ms: (min, max),
        }
    }

    /// The reference loop's spread: (max − min) / median.
    pub(crate) fn spread(&self) -> f64 {
        (self.loop_range_ms.1 - self.loop_range_ms.0) / self.loop_median_ms
    }

    /// One line for people: `when` says which moment (`start`, `end`).
    pub(crate) fn line(&self, when: &str) -> String {
        let [one, five, fifteen] = self.load;
        format!(
            "noise at {when}: load average {one:.2} {five:.2} {fifteen:.2}; reference loop \
             {:.2} ms median [{:.2}..{:.2}] over {SAMPLES} runs, spread {:.1} %",
            self.loop_median_ms,
            self.loop_range_ms.0,
            self.loop_range_ms.1,
            self.spread() * 100.0
        )
    }

    /// The JSON of the summary.
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "load_average": {"1m": self.load[0], "5m": self.load[1], "15m": self.load[2]},
            "reference_loop_ms": {
                "samples": SAMPLES,
                "median": self.loop_median_ms,
                "min": self.loop_range_ms.0,
                "max": self.loop_range_ms.1,
            },
            "reference_loop_spread": self.spread(),
        })
    }
}

/// The 1-, 5- and 15-minute load averages of `/proc/loadavg`'s text.
fn parse_loadavg(text: &str) -> Result<[f64; 3], String> {
    let mut fields = text.split_whitespace().map(str::parse::<f64>);
    let mut next = || match fields.next() {
        Some(Ok(load)) if load.is_finite() && load >= 0.0 => Ok(load),
        _ => Err(format!(
            "/proc/loadavg is not three load averages: {text:?}"
        )),
    };
    Ok([next()?, next()?, next()?])
}

/// The reference loop: a chain of xorshift steps, each depending on the last (so it neither
/// vectorizes nor overlaps), touching no memory beyond a few bytes of stack.
fn reference_loop(seed: u64) -> u64 {
    let mut x = seed | 1;
    for _ in 0..STEPS {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    x
}

/// Milliseconds of one run of the reference loop.
fn sample_ms() -> f64 {
    let start = Instant::now();
    black_box(reference_loop(black_box(0x9E37_79B9_7F4A_7C15)));
    start.elapsed().as_secs_f64() * 1e3
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_load_averages_are_the_first_three_fields() {
        assert_eq!(
            parse_loadavg("0.16 1.15 1.62 1/90 16952\n"),
            Ok([0.16, 1.15, 1.62])
        );
        assert!(parse_loadavg("0.16 1.15\n").is_err());
        assert!(parse_loadavg("high 1.15 1.62 1/90 1\n").is_err());
    }

    #[test]
    fn the_spread_is_the_range_over_the_median() {
        let noise = Noise::from_samples([1.0, 2.0, 3.0], &[30.0, 33.0, 31.0, 36.0, 30.0]);
        assert_eq!(noise.loop_median_ms, 31.0);
        assert_eq!(noise.loop_range_ms, (30.0, 36.0));
        assert!((noise.spread() - 6.0 / 31.0).abs() < 1e-12);
        let json = noise.json();
        assert_eq!(json["load_average"]["5m"], 2.0);
        assert_eq!(json["reference_loop_ms"]["max"], 36.0);
        assert!(
            noise.line("start").contains("spread 19.4 %"),
            "{}",
            noise.line("start")
        );
    }
}
