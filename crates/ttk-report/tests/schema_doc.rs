//! `docs/report-schema.md` stays true to the code: its example is a report this crate reads,
//! and writes back the same.

use ttk_report::{Histogram, Report, Threshold};

const SCHEMA_DOC: &str = include_str!("../../../docs/report-schema.md");

/// The text of the document's first fenced block opened with `opening`.
fn block(opening: &str) -> &'static str {
    let start = SCHEMA_DOC.find(opening).expect("the example block") + opening.len();
    let length = SCHEMA_DOC[start..]
        .find("```")
        .expect("the end of the block");
    &SCHEMA_DOC[start..start + length]
}

#[test]
fn the_example_is_a_report_with_the_figures_it_describes() {
    let example = block("```json\n");
    let report = Report::from_json(example).unwrap();
    assert_eq!(report.run.name, "checkout");
    let login = report.transaction("login").unwrap();
    assert_eq!((login.ok, login.failed), (1, 1));
    assert_eq!(
        login.latency().p50_us,
        12_303,
        "12.3 ms, the top of its bucket"
    );
    assert_eq!(login.failed_histogram.inner().len(), 1);
    // The series keeps 2 significant digits of the same latency.
    let second = &report.series[0].transactions["login"];
    assert_eq!(
        second.histogram,
        ttk_report::PackedHistogram::pack_coarse(&login.histogram)
    );
    assert_eq!((second.ok, second.max_us), (1, 12_351));

    // Written back, it is the same document (the example is only laid out more tightly).
    let written: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
    let documented: serde_json::Value = serde_json::from_str(example).unwrap();
    assert_eq!(written, documented);

    // Its threshold result is what checking the threshold gives.
    let mut checked = report.clone();
    checked.check_thresholds(&[Threshold::parse("p99(login) < 50ms").unwrap()]);
    assert_eq!(checked.thresholds, report.thresholds);
}

#[test]
fn the_documented_empty_histogram_and_bounds_are_the_code_s() {
    let empty = Histogram::new().to_base64();
    assert!(SCHEMA_DOC.contains(&format!("An empty histogram is `\"{empty}\"`")));
    assert!(SCHEMA_DOC.contains(&format!("`\"{}\"`", ttk_report::SCHEMA)));
    assert_eq!(ttk_report::HIGHEST_US, 3_600_000_000);
    assert!(SCHEMA_DOC.contains("| 24–31 | highest trackable value: 3600000000 |"));
    assert_eq!(ttk_report::LOWEST_US, 1);
    assert_eq!(ttk_report::SIGNIFICANT_DIGITS, 3);
    assert_eq!(ttk_report::ErrorTally::MAX_SAMPLES, 3);
}
