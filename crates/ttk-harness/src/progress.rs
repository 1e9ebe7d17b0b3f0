//! The live view of a run: a line every second with elapsed/total time, active bots,
//! transactions per second, p50/p99 and errors — redrawn in place on a terminal (indicatif),
//! printed as plain lines otherwise.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use ttk_report::{Latency, SecondReport, format_duration_us};

use super::collector::all_latencies;
use super::shard_totals::{ShardTotals, StreamedSecond};

/// Where the progress goes.
#[derive(Debug)]
pub(crate) enum Progress {
    /// `--quiet`: nowhere.
    Silent,
    /// A live area on the terminal.
    Live(ProgressBar),
    /// Plain lines on standard output.
    Lines,
    /// Each second as a line of JSON on standard output, for the parent of `--processes`.
    Stream,
}

impl Progress {
    pub(crate) fn new(quiet: bool, stream: bool, total: Option<Duration>) -> Progress {
        if stream {
            return Progress::Stream;
        }
        if quiet {
            return Progress::Silent;
        }
        if !std::io::stdout().is_terminal() {
            return Progress::Lines;
        }
        let bar = match total {
            Some(total) => {
                let bar = ProgressBar::with_draw_target(
                    Some(total.as_secs().max(1)),
                    ProgressDrawTarget::stdout(),
                );
                bar.set_style(
                    ProgressStyle::with_template("{bar:24.cyan/blue} {msg}")
                        .expect("the template is valid")
                        .progress_chars("━╸ "),
                );
                bar
            }
            None => {
                let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stdout());
                bar.set_style(
                    ProgressStyle::with_template("{spinner:.cyan} {msg}")
                        .expect("the template is valid"),
                );
                bar
            }
        };
        Progress::Live(bar)
    }

    /// Shows one second of the run; a stream to the parent of `--processes` sends `totals`
    /// with it (this process's failures by kind, counters and gauges so far).
    pub(crate) fn show(
        &self,
        second: &SecondReport,
        total: Option<Duration>,
        errors_so_far: u64,
        totals: Option<&ShardTotals>,
    ) {
        let line = || line(second, total, errors_so_far);
        match self {
            Progress::Silent => {}
            Progress::Live(bar) => {
                bar.set_position(second.t);
                bar.set_message(line());
            }
            Progress::Lines => {
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "{}", line());
                let _ = out.flush();
            }
            Progress::Stream => {
                // The collector leaves a second's figures unread until they are needed: now.
                let mut second = second.clone();
                for transaction in second.transactions.values_mut() {
                    transaction.refresh_figures();
                }
                let line = StreamedSecond {
                    second,
                    totals: totals.cloned().unwrap_or_default(),
                };
                let json = serde_json::to_string(&line).expect("a second always serializes");
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "{json}");
                let _ = out.flush();
            }
        }
    }

    /// Whether the seconds go to the parent of `--processes` (which needs every one).
    pub(crate) fn is_stream(&self) -> bool {
        matches!(self, Progress::Stream)
    }

    /// Clears the live area before the summary.
    pub(crate) fn finish(&self) {
        if let Progress::Live(bar) = self {
            bar.finish_and_clear();
        }
    }
}

fn line(second: &SecondReport, total: Option<Duration>, errors_so_far: u64) -> String {
    let elapsed = match total {
        Some(total) => format!("{:>4}s/{}s", second.t, total.as_secs()),
        None => format!("{:>4}s", second.t),
    };
    let done: u64 = second
        .transactions
        .values()
        .map(|transaction| transaction.ok + transaction.failed)
        .sum();
    let latency = Latency::of(&all_latencies(second));
    let percentiles = match latency.count {
        0 => "p50 -  p99 -".to_owned(),
        _ => format!(
            "p50 {}  p99 {}",
            format_duration_us(latency.p50_us),
            format_duration_us(latency.p99_us)
        ),
    };
    let per_second = (done as f64 / second.length_s.max(f64::EPSILON)).round();
    format!(
        "{elapsed}  bots {:>6}  {per_second:>8} tx/s  {percentiles}  errors {} ({} this second)",
        second.active_bots, errors_so_far, second.errors
    )
}
