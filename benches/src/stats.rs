//! Median, min and max of a probe's samples, printed as the JSON object `cargo xtask bench`
//! reads.

use std::fmt;

/// Median, min and max of a set of samples; displays as a JSON object
/// `{"median": …, "min": …, "max": …}`.
///
/// # Examples
/// ```
/// let stats = ttk_benches::Stats::of(&[3.0, 1.0, 2.0, 10.0]);
/// assert_eq!((stats.median, stats.min, stats.max), (2.5, 1.0, 10.0));
/// assert_eq!(stats.to_string(), r#"{"median": 2.5, "min": 1, "max": 10}"#);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stats {
    /// The middle sample (the mean of the two middle ones for an even count).
    pub median: f64,
    /// The smallest sample.
    pub min: f64,
    /// The largest sample.
    pub max: f64,
}

impl Stats {
    /// The statistics of `samples`.
    ///
    /// # Panics
    /// If `samples` is empty.
    pub fn of(samples: &[f64]) -> Stats {
        assert!(!samples.is_empty(), "statistics of no samples");
        let mut sorted = samples.to_vec();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        let median = if n % 2 == 1 {
            sorted[n / 2]
        } else {
            (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
        };
        Stats {
            median,
            min: sorted[0],
            max: sorted[n - 1],
        }
    }
}

impl fmt::Display for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{{\"median\": {}, \"min\": {}, \"max\": {}}}",
            self.median, self.min, self.max
        )
    }
}

/// The per-round ratios `numerators[i] / denominators[i]` of two workloads measured in the same
/// rounds (the shorter list bounds the count).
///
/// # Examples
/// ```
/// assert_eq!(ttk_benches::ratios(&[2.0, 3.0], &[1.0, 2.0]), [2.0, 1.5]);
/// ```
pub fn ratios(numerators: &[f64], denominators: &[f64]) -> Vec<f64> {
    numerators
        .iter()
        .zip(denominators)
        .map(|(n, d)| n / d)
        .collect()
}
