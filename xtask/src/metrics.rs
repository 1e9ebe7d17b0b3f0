//! Figures of recording metrics: the criterion bench `benches/metrics.rs` (time per recording),
//! the metrics probe under callgrind (instructions per recorded latency), and the probe's peak
//! RSS at a million and at a hundred million samples (memory must not grow with samples).

use crate::cargo;
use crate::criterion::Results;
use crate::instructions::callgrind_count;
use crate::probe::{self, number};
use crate::report::{self, Figure, Goal};

/// The budget for recording one latency.
const RECORD_BUDGET_NS: f64 = 30.0;
/// Samples of the short and long memory runs.
const FEW: &str = "1000000";
const MANY: &str = "100000000";
/// Runs of each memory size; medians are reported, with their ranges.
const RUNS: usize = 3;
/// How far the long run's peak RSS may exceed the short one's, in KiB: the histograms are
/// fixed-size, so nothing should grow; the slack is the allocator's own.
const SLACK_KIB: f64 = 1024.0;
/// Samples of the two callgrind runs whose difference is counted.
const COUNTED: [u64; 2] = [1_000_000, 2_000_000];

/// Time per recording, from criterion.
pub(crate) fn timing_figures(results: Results) -> Result<Vec<Figure>, String> {
    let per = |function: &str| results.median_ns("metrics", function);
    Ok(vec![
        Figure::new(
            "metrics: record a latency (cx.record)",
            per("record_latency")?,
            "ns",
            Goal::AtMost(RECORD_BUDGET_NS),
        ),
        Figure::new("metrics: add to a counter", per("count")?, "ns", Goal::None),
        Figure::new("metrics: set a gauge", per("gauge")?, "ns", Goal::None),
        Figure::new(
            "metrics: transaction started and finished (2 clock reads)",
            per("transaction_ok")?,
            "ns",
            Goal::None,
        ),
    ])
}

/// Instructions the probe runs for `samples` samples, recorded or not.
fn instructions(samples: u64, dry: bool) -> Result<u64, String> {
    let binary = probe::path("metrics_probe");
    let samples = samples.to_string();
    let mut command = vec![binary.to_str().ok_or("a UTF-8 path")?, samples.as_str()];
    if dry {
        command.push("--dry");
    }
    let name = format!(
        "metrics-{samples}{}.callgrind",
        if dry { "-dry" } else { "" }
    );
    callgrind_count(&command, &cargo::target_dir().join("ttk-bench").join(name))
}

/// Peak RSS (KiB) of `RUNS` runs of `samples` samples, and their time per sample (ns).
fn runs(samples: &str) -> Result<(Vec<f64>, Vec<f64>), String> {
    let (mut peaks, mut times) = (Vec::with_capacity(RUNS), Vec::with_capacity(RUNS));
    for _ in 0..RUNS {
        let json = probe::json("metrics_probe", &[samples])?;
        peaks.push(number(&json, "peak_rss_bytes")? / 1024.0);
        times.push(number(&json, "ns_per_sample")?);
    }
    Ok((peaks, times))
}

/// Instructions per recorded latency, and memory at 1M and 100M samples.
pub(crate) fn probe_figures() -> Result<Vec<Figure>, String> {
    let mut figures = Vec::new();
    match which_valgrind() {
        true => {
            let span = (COUNTED[1] - COUNTED[0]) as f64;
            let recorded =
                instructions(COUNTED[1], false)? as f64 - instructions(COUNTED[0], false)? as f64;
            let dry =
                instructions(COUNTED[1], true)? as f64 - instructions(COUNTED[0], true)? as f64;
            figures.push(Figure::new(
                "metrics: instructions per recorded latency (callgrind)",
                (recorded - dry) / span,
                "instr",
                Goal::None,
            ));
        }
        false => figures.push(Figure::skipped(
            "metrics: instructions per recorded latency (callgrind)",
            "valgrind is not installed",
            "instr",
            Goal::None,
        )),
    }
    let (many_peaks, many_times) = runs(MANY)?;
    let (few_peaks, _) = runs(FEW)?;
    let excess = report::median(&many_peaks) - report::median(&few_peaks);
    figures.extend([
        Figure::median_of(
            "metrics: 100M samples, wall time per sample (probe)",
            &many_times,
            "ns",
            Goal::None,
        ),
        Figure::median_of(
            "metrics: peak RSS, 100M samples",
            &many_peaks,
            "KiB",
            Goal::None,
        ),
        Figure::median_of(
            "metrics: peak RSS, 1M samples",
            &few_peaks,
            "KiB",
            Goal::None,
        ),
        Figure::new(
            "metrics: peak RSS 100M - 1M samples",
            excess,
            "KiB",
            Goal::AtMost(SLACK_KIB),
        ),
    ]);
    Ok(figures)
}

/// Whether valgrind can be run.
fn which_valgrind() -> bool {
    std::process::Command::new("valgrind")
        .arg("--version")
        .output()
        .is_ok_and(|output| output.status.success())
}
