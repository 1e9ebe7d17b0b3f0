//! The bench summary: a table for people, JSON for machines.

use std::fmt::Write as _;

/// Which way a figure must go to meet its target.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Goal {
    /// The figure must be at most the target.
    AtMost(f64),
    /// The figure must be at least the target.
    AtLeast(f64),
    /// Reported for information; no target.
    None,
}

/// A figure's value, or why it was not measured.
pub(crate) enum Value {
    /// What this run measured.
    Measured(f64),
    /// Not measured, and why (say, no tool to count instructions): neither met nor missed.
    Skipped(String),
}

/// One line of the summary.
pub(crate) struct Figure {
    /// What is measured.
    pub(crate) name: String,
    /// The measured value.
    pub(crate) value: Value,
    /// Its unit.
    pub(crate) unit: &'static str,
    /// The target.
    pub(crate) goal: Goal,
    /// The smallest and largest of the samples the value is the median of, if it is one.
    pub(crate) range: Option<(f64, f64)>,
}

impl Figure {
    /// A figure named `name`.
    pub(crate) fn new(name: impl Into<String>, value: f64, unit: &'static str, goal: Goal) -> Self {
        Figure {
            name: name.into(),
            value: Value::Measured(value),
            unit,
            goal,
            range: None,
        }
    }

    /// A figure whose value is the median of `samples` (at least one), with their range.
    pub(crate) fn median_of(
        name: impl Into<String>,
        samples: &[f64],
        unit: &'static str,
        goal: Goal,
    ) -> Self {
        let min = samples.iter().copied().fold(f64::INFINITY, f64::min);
        let max = samples.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        Figure::new(name, median(samples), unit, goal).with_range(min, max)
    }

    /// A figure that was not measured, because of `reason`.
    pub(crate) fn skipped(
        name: impl Into<String>,
        reason: impl Into<String>,
        unit: &'static str,
        goal: Goal,
    ) -> Self {
        Figure {
            value: Value::Skipped(reason.into()),
            ..Figure::new(name, 0.0, unit, goal)
        }
    }

    /// The same figure, noting that its value is the median of samples from `min` to `max`.
    pub(crate) fn with_range(self, min: f64, max: f64) -> Self {
        Figure {
            range: Some((min, max)),
            ..self
        }
    }

    /// The range as text (empty if the figure has none).
    fn range_text(&self) -> String {
        match self.range {
            Some((min, max)) => format!("{min:.2}..{max:.2}"),
            None => String::new(),
        }
    }

    /// Whether the figure meets its target (`None` if it has none or was skipped).
    pub(crate) fn meets_goal(&self) -> Option<bool> {
        let Value::Measured(value) = self.value else {
            return None;
        };
        match self.goal {
            Goal::AtMost(target) => Some(value <= target),
            Goal::AtLeast(target) => Some(value >= target),
            Goal::None => None,
        }
    }

    /// The value as text for the table.
    fn value_text(&self) -> String {
        match self.value {
            Value::Measured(value) => format!("{value:.2}"),
            Value::Skipped(_) => "skipped".to_owned(),
        }
    }

    /// The status column: met, missed, or why it was skipped.
    fn status_text(&self) -> String {
        match (&self.value, self.meets_goal()) {
            (Value::Skipped(reason), _) => format!("skipped: {reason}"),
            (_, Some(true)) => "ok".to_owned(),
            (_, Some(false)) => "MISSED".to_owned(),
            (_, None) => String::new(),
        }
    }

    /// The target as text.
    fn goal_text(&self) -> String {
        match self.goal {
            Goal::AtMost(target) => format!("<= {target}"),
            Goal::AtLeast(target) => format!(">= {target}"),
            Goal::None => String::new(),
        }
    }
}

/// The median of `samples` (at least one): the middle one, or the mean of the two middle ones
/// for an even count.
pub(crate) fn median(samples: &[f64]) -> f64 {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

/// The table printed to the terminal.
pub(crate) fn table(figures: &[Figure]) -> String {
    let width = figures.iter().map(|f| f.name.len()).max().unwrap_or(0);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<width$}  {:>14}  {:<20}  {:<10}  {:<10}  status",
        "figure", "value", "range (min..max)", "unit", "target"
    );
    for figure in figures {
        let _ = writeln!(
            out,
            "{:<width$}  {:>14}  {:<20}  {:<10}  {:<10}  {}",
            figure.name,
            figure.value_text(),
            figure.range_text(),
            figure.unit,
            figure.goal_text(),
            figure.status_text(),
        );
    }
    out
}

/// Prints `figures`' table; an error naming the figures that missed their targets (a task's
/// exit status).
pub(crate) fn print_and_judge(figures: &[Figure]) -> Result<(), String> {
    println!("\n{}", table(figures));
    match missed(figures)[..] {
        [] => Ok(()),
        ref missed => Err(format!("missed: {}", missed.join("; "))),
    }
}

/// The names of the figures that missed their targets.
pub(crate) fn missed(figures: &[Figure]) -> Vec<&str> {
    figures
        .iter()
        .filter(|figure| figure.meets_goal() == Some(false))
        .map(|figure| figure.name.as_str())
        .collect()
}

/// The JSON summary: every figure, which missed their targets, and the errors that kept some
/// figures from being measured. `passed` is true only if nothing missed and nothing failed.
pub(crate) fn json(figures: &[Figure], errors: &[String]) -> serde_json::Value {
    let entries: Vec<serde_json::Value> = figures
        .iter()
        .map(|figure| {
            serde_json::json!({
                "name": figure.name,
                "value": match figure.value {
                    Value::Measured(value) => Some(value),
                    Value::Skipped(_) => None,
                },
                "skipped": match &figure.value {
                    Value::Measured(_) => None,
                    Value::Skipped(reason) => Some(reason),
                },
                "min": figure.range.map(|(min, _)| min),
                "max": figure.range.map(|(_, max)| max),
                "unit": figure.unit,
                "target": figure.goal_text(),
                "meets_target": figure.meets_goal(),
            })
        })
        .collect();
    let missed = missed(figures);
    serde_json::json!({
        "version": 2,
        "passed": missed.is_empty() && errors.is_empty(),
        "missed": missed,
        "errors": errors,
        "figures": entries,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_figures_that_miss_a_target_are_missed() {
        let figures = [
            Figure::new("low enough", 1.0, "x", Goal::AtMost(1.5)),
            Figure::new("too high", 2.0, "x", Goal::AtMost(1.5)),
            Figure::new("too low", 9.0, "x", Goal::AtLeast(10.0)),
            Figure::new("no target", 1e9, "ns", Goal::None),
        ];
        assert_eq!(missed(&figures), ["too high", "too low"]);
        let json = json(&figures, &[]);
        assert_eq!(json["passed"], false);
        assert_eq!(json["missed"][1], "too low");
    }

    #[test]
    fn a_median_of_samples_keeps_their_range() {
        let odd = Figure::median_of("odd", &[3.0, 1.0, 2.0], "ns", Goal::None);
        assert!(matches!(odd.value, Value::Measured(2.0)));
        assert_eq!(odd.range, Some((1.0, 3.0)));
        let even = Figure::median_of("even", &[4.0, 1.0, 2.0, 3.0], "ns", Goal::None);
        assert!(matches!(even.value, Value::Measured(2.5)));
    }

    #[test]
    fn a_skipped_figure_neither_meets_nor_misses() {
        let figures = [Figure::skipped(
            "counted",
            "no counter",
            "instr",
            Goal::AtMost(1.5),
        )];
        assert_eq!(figures[0].meets_goal(), None);
        assert!(missed(&figures).is_empty());
        let json = json(&figures, &[]);
        assert_eq!(json["passed"], true);
        assert_eq!(json["figures"][0]["value"], serde_json::Value::Null);
        assert_eq!(json["figures"][0]["skipped"], "no counter");
    }

    #[test]
    fn a_failed_section_fails_the_summary() {
        let figures = [Figure::new("fine", 1.0, "x", Goal::AtMost(1.5))];
        assert_eq!(json(&figures, &[])["passed"], true);
        assert_eq!(json(&figures, &["probe died".to_owned()])["passed"], false);
    }
}
