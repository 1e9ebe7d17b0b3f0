//! The summary: what a person reads at the end of a run, as plain text with aligned columns.

use crate::format::{format_duration_us, format_duration_us_f64, format_percent, format_rate};
use crate::model::{ErrorTally, Report, TransactionReport};
use crate::table::{Align, Table};

/// How many characters of a sample error message the summary shows: one line of a wide
/// terminal once the columns before it are counted.
const SAMPLE_CHARS: usize = 100;

/// No limit, for names: cleaned of control characters but never cut.
const WHOLE: usize = usize::MAX;

impl Report {
    /// The report as a person reads it at the end of a run: how the run ended, then a table
    /// of the transactions (successes, failures, rate and latencies), their errors by kind
    /// with one sample message each, the bots' failures, counters, gauges and thresholds.
    /// Sections with nothing to show are left out. Sample messages come from servers: their
    /// terminal escape sequences are dropped and other control characters become spaces.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// use ttk_report::{Report, TransactionReport};
    ///
    /// let mut login = TransactionReport::new("login");
    /// login.record_ok(Duration::from_micros(850));
    /// login.record_ok(Duration::from_micros(12_300));
    /// let mut report = Report::new("checkout");
    /// report.run.end = "completed".to_owned();
    /// report.run.duration_s = 2.0;
    /// report.transactions.push(login);
    ///
    /// let summary = report.summary();
    /// assert!(summary.starts_with("checkout: completed after 2.00s\n"));
    /// assert!(summary.contains("850us"));
    /// assert!(summary.contains("12.3ms"));
    /// ```
    pub fn summary(&self) -> String {
        let mut out = String::new();
        self.write_header(&mut out);
        self.write_transactions(&mut out);
        self.write_errors(&mut out);
        self.write_bot_failures(&mut out);
        self.write_counters(&mut out);
        self.write_gauges(&mut out);
        self.write_thresholds(&mut out);
        out
    }

    /// How the run ended, after how long, and its bots.
    fn write_header(&self, out: &mut String) {
        let run = &self.run;
        out.push_str(&one_line(&run.name, WHOLE));
        out.push_str(": ");
        out.push_str(&match run.end.as_str() {
            "completed" => "completed".to_owned(),
            "duration" => "ran its whole duration".to_owned(),
            "interrupted" => "interrupted".to_owned(),
            "stalled" => "stalled".to_owned(),
            "failed" => "failed".to_owned(),
            other => format!("ended ({})", one_line(other, WHOLE)),
        });
        out.push_str(" after ");
        out.push_str(&format_duration_us_f64(run.duration_s * 1e6));
        if run.processes > 1 {
            out.push_str(&format!(" ({} processes)", run.processes));
        }
        if let Some(detail) = &run.end_detail {
            out.push_str(": ");
            out.push_str(&one_line(detail, SAMPLE_CHARS));
        }
        out.push('\n');
        if let Some(set) = &run.shards {
            match set.describe_missing() {
                Some(missing) => {
                    out.push_str("INCOMPLETE: ");
                    out.push_str(&missing);
                }
                None => out.push_str(&format!(
                    "shards: {} of {} merged",
                    set.merged.len(),
                    set.count
                )),
            }
            out.push('\n');
        }

        let bots = &self.bots;
        out.push_str(&format!(
            "bots: {} started, {} finished",
            bots.started, bots.finished
        ));
        if bots.failed > 0 {
            out.push_str(&format!(", {} failed", bots.failed));
        }
        if bots.stopped > 0 {
            out.push_str(&format!(", {} stopped", bots.stopped));
        }
        out.push('\n');
        if !run.changes.is_empty() {
            let changes: Vec<String> = run
                .changes
                .iter()
                .map(|change| {
                    format!(
                        "at {} {}",
                        format_duration_us_f64(change.t_s * 1e6),
                        one_line(&change.what, SAMPLE_CHARS)
                    )
                })
                .collect();
            out.push_str(&format!("load changed: {}\n", changes.join("; ")));
        }
    }

    /// A row per transaction: counts, rate and latency figures.
    fn write_transactions(&self, out: &mut String) {
        out.push('\n');
        if self.transactions.is_empty() {
            out.push_str("no transactions ran\n");
            return;
        }
        // Unfinished transactions are rare: their columns appear only when there are some.
        let any_abandoned = self.transactions.iter().any(|tx| tx.abandoned > 0);
        let any_stopped = self.transactions.iter().any(|tx| tx.stopped > 0);
        let mut header = vec![
            ("transaction", Align::Left),
            ("ok", Align::Right),
            ("failed", Align::Right),
        ];
        if any_abandoned {
            header.push(("abandoned", Align::Right));
        }
        if any_stopped {
            header.push(("stopped", Align::Right));
        }
        header.extend(
            ["rate/s", "mean", "p50", "p90", "p99", "p99.9", "max"]
                .map(|title| (title, Align::Right)),
        );
        let mut table = Table::new(&header);
        for tx in &self.transactions {
            let mut row = vec![
                one_line(&tx.name, WHOLE),
                tx.ok.to_string(),
                failed_cell(tx),
            ];
            if any_abandoned {
                row.push(tx.abandoned.to_string());
            }
            if any_stopped {
                row.push(tx.stopped.to_string());
            }
            row.push(format_rate(tx.rate(self.run.duration_s)));
            let latency = tx.latency();
            if latency.count == 0 {
                row.extend(std::iter::repeat_n("-".to_owned(), 6));
            } else {
                row.push(format_duration_us_f64(latency.mean_us));
                row.extend(
                    [
                        latency.p50_us,
                        latency.p90_us,
                        latency.p99_us,
                        latency.p999_us,
                        latency.max_us,
                    ]
                    .map(format_duration_us),
                );
            }
            table.row(row);
        }
        table.write(out);
    }

    /// Each transaction's failures by kind, with a sample message.
    fn write_errors(&self, out: &mut String) {
        if self.transactions.iter().all(|tx| tx.errors.is_empty()) {
            return;
        }
        out.push('\n');
        let mut table = Table::new(&[
            ("transaction", Align::Left),
            ("error", Align::Left),
            ("count", Align::Right),
            ("sample", Align::Left),
        ]);
        for tx in &self.transactions {
            for (index, tally) in tx.errors.iter().enumerate() {
                // The name once, on its first kind: the rows below it are its other kinds.
                let name = if index == 0 {
                    one_line(&tx.name, WHOLE)
                } else {
                    String::new()
                };
                let [kind, count, sample] = tally_cells(tally);
                table.row(vec![name, kind, count, sample]);
            }
        }
        table.write(out);
    }

    /// The bots' own failures (panics, stalls, errors returned) by kind.
    fn write_bot_failures(&self, out: &mut String) {
        if self.bots.errors.is_empty() {
            return;
        }
        out.push('\n');
        let mut table = Table::new(&[
            ("bot failure", Align::Left),
            ("count", Align::Right),
            ("sample", Align::Left),
        ]);
        for tally in &self.bots.errors {
            table.row(tally_cells(tally).into());
        }
        table.write(out);
    }

    /// Counters and their values.
    fn write_counters(&self, out: &mut String) {
        if self.counters.is_empty() {
            return;
        }
        out.push('\n');
        let mut table = Table::new(&[("counter", Align::Left), ("value", Align::Right)]);
        for (name, value) in &self.counters {
            table.row(vec![one_line(name, WHOLE), value.to_string()]);
        }
        table.write(out);
    }

    /// Gauges: last, lowest and highest values.
    fn write_gauges(&self, out: &mut String) {
        if self.gauges.is_empty() {
            return;
        }
        out.push('\n');
        let mut table = Table::new(&[
            ("gauge", Align::Left),
            ("last", Align::Right),
            ("min", Align::Right),
            ("max", Align::Right),
        ]);
        for (name, gauge) in &self.gauges {
            table.row(vec![
                one_line(name, WHOLE),
                gauge.last.to_string(),
                gauge.min.to_string(),
                gauge.max.to_string(),
            ]);
        }
        table.write(out);
    }

    /// Each threshold's verdict, then how many passed.
    fn write_thresholds(&self, out: &mut String) {
        if self.thresholds.is_empty() {
            return;
        }
        out.push('\n');
        let mut table = Table::new(&[
            ("threshold", Align::Left),
            ("result", Align::Left),
            ("measured", Align::Right),
            ("limit", Align::Right),
        ]);
        for result in &self.thresholds {
            // Words rather than ✓/✗: they survive any terminal and CI logs can be searched.
            let verdict = if result.passed { "ok" } else { "FAILED" };
            table.row(vec![
                one_line(&result.expression, WHOLE),
                verdict.to_owned(),
                one_line(&result.measured, WHOLE),
                one_line(&result.limit, WHOLE),
            ]);
        }
        table.write(out);
        let total = self.thresholds.len();
        let failed = self
            .thresholds
            .iter()
            .filter(|result| !result.passed)
            .count();
        if failed == 0 {
            out.push_str(&format!("thresholds: all {total} passed\n"));
        } else {
            out.push_str(&format!("thresholds: {failed} of {total} FAILED\n"));
        }
    }
}

/// The failed count, with its share of the finished transactions when there are failures.
fn failed_cell(tx: &TransactionReport) -> String {
    if tx.failed == 0 {
        return "0".to_owned();
    }
    let share = tx.failed as f64 / (tx.ok + tx.failed) as f64;
    format!("{} ({})", tx.failed, format_percent(share))
}

/// Kind, count and first sample message of a tally.
fn tally_cells(tally: &ErrorTally) -> [String; 3] {
    let sample = tally
        .samples
        .first()
        .map(|sample| one_line(sample, SAMPLE_CHARS))
        .unwrap_or_default();
    [
        one_line(&tally.kind, WHOLE),
        tally.count.to_string(),
        sample,
    ]
}

/// Server-controlled or user-given `text` made safe and short for one terminal line: terminal
/// control sequences (`ESC [ … m` colours, cursor moves) are dropped, other control
/// characters (newlines, tabs) become spaces, runs of whitespace one space, and past
/// `max_chars` it is cut with `…`.
fn one_line(text: &str, max_chars: usize) -> String {
    let mut cleaned = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            cleaned.push(' ');
            // A control sequence ends at its first character in `@`..=`~`.
            if chars.as_str().starts_with('[') {
                chars.next();
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
        } else if c.is_control() {
            cleaned.push(' ');
        } else {
            cleaned.push(c);
        }
    }
    let mut line = cleaned.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() > max_chars {
        line = line.chars().take(max_chars.saturating_sub(1)).collect();
        line.push('…');
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_strips_control_characters_and_cuts() {
        assert_eq!(
            one_line("a\nb\t\x1b[1;31mred\x1b[0m!\r\n", 100),
            "a b red !"
        );
        assert_eq!(one_line("\x1b]0;title\x07x", 100), "]0;title x");
        assert_eq!(one_line("abcdef", 4), "abc…");
        assert_eq!(one_line("abcd", 4), "abcd");
    }
}
