//! The bench summary: a table for people, JSON for machines.

use std::fmt::Write as _;

/// Which way a figure must go to meet its target.
#[derive(Clone, Copy)]
pub(crate) enum Goal {
    /// The figure must be at most the target.
    AtMost(f64),
    /// The figure must be at least the target.
    AtLeast(f64),
    /// Reported for information; no target.
    None,
}

/// One line of the summary.
pub(crate) struct Figure {
    /// What is measured.
    pub(crate) name: String,
    /// The measured value.
    pub(crate) value: f64,
    /// Its unit.
    pub(crate) unit: &'static str,
    /// The target.
    pub(crate) goal: Goal,
}

impl Figure {
    /// A figure named `name`.
    pub(crate) fn new(name: impl Into<String>, value: f64, unit: &'static str, goal: Goal) -> Self {
        Figure {
            name: name.into(),
            value,
            unit,
            goal,
        }
    }

    /// Whether the figure meets its target (`None` if it has none).
    pub(crate) fn meets_goal(&self) -> Option<bool> {
        match self.goal {
            Goal::AtMost(target) => Some(self.value <= target),
            Goal::AtLeast(target) => Some(self.value >= target),
            Goal::None => None,
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

/// The table printed to the terminal.
pub(crate) fn table(figures: &[Figure]) -> String {
    let width = figures.iter().map(|f| f.name.len()).max().unwrap_or(0);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<width$}  {:>14}  {:<10}  {:<10}  status",
        "figure", "value", "unit", "target"
    );
    for figure in figures {
        let status = match figure.meets_goal() {
            Some(true) => "ok",
            Some(false) => "MISSED",
            None => "",
        };
        let _ = writeln!(
            out,
            "{:<width$}  {:>14.2}  {:<10}  {:<10}  {status}",
            figure.name,
            figure.value,
            figure.unit,
            figure.goal_text()
        );
    }
    out
}

/// The JSON summary.
pub(crate) fn json(figures: &[Figure]) -> serde_json::Value {
    let entries: Vec<serde_json::Value> = figures
        .iter()
        .map(|figure| {
            serde_json::json!({
                "name": figure.name,
                "value": figure.value,
                "unit": figure.unit,
                "target": figure.goal_text(),
                "meets_target": figure.meets_goal(),
            })
        })
        .collect();
    serde_json::json!({ "version": 1, "figures": entries })
}
