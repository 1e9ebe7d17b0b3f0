//! The two axes of the latency distribution, as plotters coordinates: percentiles in "nines"
//! and latency on a log scale. plotters' own log axis labels only powers of ten and its
//! key-point decorator drops label formatting, so both are small [`Ranged`] types of our own.

use std::ops::Range;

use plotters::coord::ranged1d::{KeyPointHint, NoDefaultFormatting, Ranged, ValueFormatter};

/// The x axis of a percentile curve, in "nines": `x = -log10(1 - q)` for quantile `q`, so p90
/// sits at 1, p99 at 2, p99.9 at 3. The tail, where latency problems live, gets as much room
/// as the body, which a linear percentile axis squeezes into its last pixel.
#[derive(Clone, Debug)]
pub(crate) struct Nines {
    /// The right end: the highest number of nines shown.
    max: f64,
}

impl Nines {
    /// An axis from the minimum (0 nines) to `max` nines.
    pub(crate) fn up_to(max: u32) -> Self {
        Nines {
            max: f64::from(max.max(1)),
        }
    }

    /// The highest number of nines shown.
    pub(crate) fn max(&self) -> f64 {
        self.max
    }

    /// The quantile at `nines`.
    pub(crate) fn quantile(nines: f64) -> f64 {
        1.0 - 10f64.powf(-nines)
    }

    /// The label of the point `nines`: `min`, `p50`, `p90`, `p99.9`.
    pub(crate) fn label(nines: f64) -> String {
        if nines <= 0.0 {
            return "min".to_owned();
        }
        let percent = format!("{:.6}", Self::quantile(nines) * 100.0);
        format!("p{}", percent.trim_end_matches('0').trim_end_matches('.'))
    }
}

impl Ranged for Nines {
    type FormatOption = NoDefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let share = (value / self.max).clamp(0.0, 1.0);
        limit.0 + ((limit.1 - limit.0) as f64 * share).round() as i32
    }

    /// Labeled ticks at the minimum, the median and each whole nine; light lines between at
    /// p75, p95, p99.5 and so on.
    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        let whole = (1..=self.max as u32).map(f64::from);
        let mut points: Vec<f64> = [0.0, 2f64.log10()].into_iter().chain(whole).collect();
        if hint.weight().allow_light_points() {
            // p75 is log10(4); p95, p99.5, ... are a whole nine plus log10(2).
            points.push(4f64.log10());
            points.extend((1..self.max as u32).map(|n| f64::from(n) + 2f64.log10()));
        }
        points.retain(|x| *x <= self.max);
        points
    }

    fn range(&self) -> Range<f64> {
        0.0..self.max
    }
}

impl ValueFormatter<f64> for Nines {
    fn format(value: &f64) -> String {
        Nines::label(*value)
    }
}

/// A latency axis in milliseconds on a log scale, from and to steps of the 1-2-5 series, with
/// labels on that series: a 5 ms transaction and a 2 s one are both readable on it.
#[derive(Clone, Debug)]
pub(crate) struct LogMillis {
    /// The lowest value shown: a 1-2-5 step.
    low: f64,
    /// The highest value shown: a 1-2-5 step.
    high: f64,
}

impl LogMillis {
    /// An axis that shows every value from `lowest` to `highest` (milliseconds, above zero).
    pub(crate) fn covering(lowest: f64, highest: f64) -> Self {
        let low = step_at_or_below(lowest.max(0.001));
        let mut high = step_at_or_above(highest.max(low));
        if high <= low {
            high = step_at_or_above(low * 1.5);
        }
        LogMillis { low, high }
    }

    /// The label of `ms`: `0.5`, `20`, `1,000`.
    pub(crate) fn label(ms: f64) -> String {
        if ms >= 1.0 {
            super::format::count(ms.round() as u64)
        } else {
            let text = format!("{ms:.3}");
            text.trim_end_matches('0').trim_end_matches('.').to_owned()
        }
    }

    /// Every 1-2-5 step in the axis' range, lowest first, each with whether it is a power of
    /// ten.
    fn steps(&self) -> Vec<(f64, bool)> {
        let mut steps = Vec::new();
        let mut decade = 10f64.powf(self.low.log10().floor());
        while decade <= self.high * 1.0001 {
            for (factor, whole) in [(1.0, true), (2.0, false), (5.0, false)] {
                let step = decade * factor;
                if step >= self.low * 0.9999 && step <= self.high * 1.0001 {
                    steps.push((step, whole));
                }
            }
            decade *= 10.0;
        }
        steps
    }
}

impl Ranged for LogMillis {
    type FormatOption = NoDefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let (low, high) = (self.low.ln(), self.high.ln());
        let share = ((value.max(self.low).ln() - low) / (high - low)).clamp(0.0, 1.0);
        limit.0 + ((limit.1 - limit.0) as f64 * share).round() as i32
    }

    /// Labeled ticks at powers of ten, or at every 1-2-5 step when the range holds fewer than
    /// three powers of ten; light lines at the other steps.
    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        let steps = self.steps();
        let powers = steps.iter().filter(|(_, whole)| *whole).count();
        if hint.weight().allow_light_points() || powers < 3 {
            steps.into_iter().map(|(step, _)| step).collect()
        } else {
            steps
                .into_iter()
                .filter(|(_, whole)| *whole)
                .map(|(step, _)| step)
                .collect()
        }
    }

    fn range(&self) -> Range<f64> {
        self.low..self.high
    }
}

impl ValueFormatter<f64> for LogMillis {
    fn format(value: &f64) -> String {
        LogMillis::label(*value)
    }
}

/// The largest 1-2-5 step at or below `value` (above zero).
fn step_at_or_below(value: f64) -> f64 {
    let decade = 10f64.powf(value.log10().floor());
    [5.0, 2.0, 1.0]
        .into_iter()
        .map(|factor| decade * factor)
        .find(|step| *step <= value * 1.0001)
        .unwrap_or(decade)
}

/// The smallest 1-2-5 step at or above `value` (above zero).
fn step_at_or_above(value: f64) -> f64 {
    let decade = 10f64.powf(value.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|factor| decade * factor)
        .find(|step| *step >= value * 0.9999)
        .unwrap_or(decade * 10.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nines_labels() {
        assert_eq!(Nines::label(0.0), "min");
        assert_eq!(Nines::label(2f64.log10()), "p50");
        assert_eq!(Nines::label(1.0), "p90");
        assert_eq!(Nines::label(2.0), "p99");
        assert_eq!(Nines::label(3.0), "p99.9");
        assert_eq!(Nines::label(4.0), "p99.99");
    }

    #[test]
    fn log_axis_snaps_to_one_two_five() {
        let axis = LogMillis::covering(3.7, 1_530.0);
        assert_eq!(axis.range(), 2.0..2_000.0);
        let steps: Vec<f64> = axis.steps().into_iter().map(|(step, _)| step).collect();
        assert_eq!(
            steps,
            [2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1e3, 2e3]
        );
        let narrow = LogMillis::covering(20.0, 20.0);
        assert_eq!(narrow.range(), 20.0..50.0);
        assert_eq!(LogMillis::label(0.5), "0.5");
        assert_eq!(LogMillis::label(0.05), "0.05");
        assert_eq!(LogMillis::label(2_000.0), "2,000");
    }

    #[test]
    fn log_axis_maps_decades_evenly() {
        let axis = LogMillis::covering(1.0, 100.0);
        assert_eq!(axis.map(&1.0, (0, 100)), 0);
        assert_eq!(axis.map(&10.0, (0, 100)), 50);
        assert_eq!(axis.map(&100.0, (0, 100)), 100);
        assert_eq!(axis.map(&0.0, (0, 100)), 0);
    }
}
