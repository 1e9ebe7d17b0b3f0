//! `Report::merge`, `read_json` and `write_json`.

mod util;

use std::time::Duration;

use ttk_report::{
    ErrorTally, GaugeMerge, GaugeReport, Report, ReportError, SecondReport, SecondTransaction,
    Shard, TransactionReport,
};
use util::{record_all, samples, tally};

/// A shard's report: the given samples, and run figures that differ between shards.
fn shard_report(shard: usize, samples: &[util::Sample]) -> Report {
    let mut report = Report::new("checkout");
    report.run.started_unix_s = 1_700_000_000.0 + shard as f64 * 0.1;
    report.run.duration_s = 10.0 - shard as f64 * 0.5;
    report.run.end = ["completed", "duration", "completed"][shard].to_owned();
    report.run.parameters.seed = 42;
    record_all(&mut report, samples);
    report
        .counters
        .insert("bytes".to_owned(), 1_000 * (shard as u64 + 1));
    if shard != 1 {
        report.counters.insert("retries".to_owned(), 7);
    }
    report.bots.started = 100;
    report.bots.finished = 90;
    report.bots.failed = 4;
    report.bots.stopped = 6;
    for bot in 0..4 {
        tally(
            &mut report.bots.errors,
            "panicked",
            &format!("shard {shard} bot {bot}"),
        );
    }
    report
}

#[test]
fn merging_shards_equals_recording_every_sample_in_one_report() {
    let all = samples(6_000, 0x5eed);
    // Contiguous chunks: the order of first appearance over the shards is the order over all.
    let shards = all
        .chunks(2_000)
        .enumerate()
        .map(|(shard, chunk)| shard_report(shard, chunk))
        .collect::<Vec<_>>();

    let mut whole = Report::new("checkout");
    whole.run.started_unix_s = 1_700_000_000.0;
    whole.run.duration_s = 10.0;
    whole.run.end = "duration".to_owned();
    whole.run.processes = 3;
    whole.run.parameters.seed = 42;
    record_all(&mut whole, &all);
    whole.counters.insert("bytes".to_owned(), 6_000);
    whole.counters.insert("retries".to_owned(), 14);
    whole.bots.started = 300;
    whole.bots.finished = 270;
    whole.bots.failed = 12;
    whole.bots.stopped = 18;
    whole.bots.errors = vec![ErrorTally {
        kind: "panicked".to_owned(),
        count: 12,
        samples: (0..3).map(|bot| format!("shard 0 bot {bot}")).collect(),
    }];

    // The test means something only if the samples reach every part of the report.
    assert_eq!(whole.transactions.len(), 3);
    assert!(whole.transactions.iter().all(|tx| tx.failed > 0
        && tx.abandoned > 0
        && tx.stopped > 0
        && tx.errors.len() == 4
        && tx.errors.iter().all(|tally| tally.samples.len() == 3)));
    assert_eq!(whole.series.len(), 10);

    // Through JSON, as the processes' report files would be.
    let read_back = shards
        .iter()
        .map(|shard| Report::from_json(&shard.to_json()).unwrap())
        .collect::<Vec<_>>();
    let merged = Report::merge(read_back).unwrap();
    assert_eq!(merged, whole);
    for (merged_tx, whole_tx) in merged.transactions.iter().zip(&whole.transactions) {
        assert_eq!(merged_tx.latency(), whole_tx.latency());
    }
}

#[test]
fn the_order_of_transactions_is_that_of_first_appearance() {
    let with = |names: &[&str]| {
        let mut report = Report::new("run");
        report.transactions = names
            .iter()
            .map(|name| TransactionReport::new(name))
            .collect();
        report
    };
    let merged = Report::merge([with(&["b", "a"]), with(&["c", "a", "d"])]).unwrap();
    let names = merged
        .transactions
        .iter()
        .map(|tx| tx.name.as_str())
        .collect::<Vec<_>>();
    assert_eq!(names, ["b", "a", "c", "d"]);
}

#[test]
fn error_samples_stay_distinct_and_at_most_three() {
    let with = |count, samples: &[&str]| {
        let mut login = TransactionReport::new("login");
        login.failed = count;
        login.errors.push(ErrorTally {
            kind: "TimedOut".to_owned(),
            count,
            samples: samples.iter().map(|s| s.to_string()).collect(),
        });
        let mut report = Report::new("run");
        report.transactions.push(login);
        report
    };
    let merged = Report::merge([with(2, &["a", "b"]), with(5, &["b", "c", "d"])]).unwrap();
    let tally = &merged.transactions[0].errors[0];
    assert_eq!(tally.count, 7);
    assert_eq!(tally.samples, ["a", "b", "c"]);
}

#[test]
fn gauges_add_each_process_share() {
    let with = |name: &str, last, min, max| {
        let mut report = Report::new("run");
        let gauge = GaugeReport {
            last,
            min,
            max,
            ..GaugeReport::default()
        };
        report.gauges.insert(name.to_owned(), gauge);
        report
    };
    let merged = Report::merge([
        with("lobby", 10, 0, 40),
        with("lobby", 5, -2, 30),
        with("queue", 1, 1, 1),
    ])
    .unwrap();
    let figures = |name: &str| {
        let gauge = merged.gauges[name];
        (gauge.last, gauge.min, gauge.max, gauge.merge)
    };
    assert_eq!(figures("lobby"), (15, -2, 70, GaugeMerge::Sum));
    assert_eq!(figures("queue"), (1, 1, 1, GaugeMerge::Sum));
}

/// A gauge that is no share of a total (an id, a version seen) merges by its rule: summed,
/// 1,001 bots' highest id would read 3,500 over 4 shards.
#[test]
fn gauges_that_are_readings_merge_by_their_rule() {
    let with = |merge, last, min, max, at| {
        let mut report = Report::new("run");
        let gauge = GaugeReport {
            last,
            min,
            max,
            merge,
            last_set_unix_ms: at,
        };
        report.gauges.insert("g".to_owned(), gauge);
        report
    };
    let merged = |merge| {
        let reports = [
            with(merge, 1_000, 750, 1_000, 3_000),
            with(merge, 499, 250, 499, 9_000),
            with(merge, 749, 500, 749, 1_000),
            with(merge, 249, 0, 249, 2_000),
        ];
        let gauge = Report::merge(reports).unwrap().gauges["g"];
        (gauge.last, gauge.min, gauge.max)
    };
    assert_eq!(merged(GaugeMerge::Max), (1_000, 0, 1_000));
    assert_eq!(merged(GaugeMerge::Last), (499, 0, 1_000));
    assert_eq!(merged(GaugeMerge::Sum), (2_497, 1_500, 2_497));
    // Version 2 reports have no rule: they read as sums, the only rule then.
    let mut old: serde_json::Value =
        serde_json::from_str(&with(GaugeMerge::Max, 1, 1, 1, 0).to_json()).unwrap();
    old["schema"] = "ttk-report/2".into();
    let gauge = old["gauges"]["g"].as_object_mut().unwrap();
    gauge.remove("merge");
    gauge.remove("last_set_unix_ms");
    let old = Report::from_json(&old.to_string()).unwrap();
    assert_eq!(old.gauges["g"].merge, GaugeMerge::Sum);
}

#[test]
fn series_align_by_second() {
    let with = |seconds: &[(u64, u64)]| {
        let mut report = Report::new("run");
        for &(t, micros) in seconds {
            let mut second = SecondReport {
                t,
                active_bots: 10,
                errors: 1,
                ..SecondReport::default()
            };
            let mut latencies = ttk_report::Histogram::new();
            latencies.record(Duration::from_micros(micros));
            let login = SecondTransaction::new(1, 1, &latencies);
            second.transactions.insert("login".to_owned(), login);
            report.series.push(second);
        }
        report
    };
    let merged = Report::merge([with(&[(1, 100), (2, 200)]), with(&[(2, 300), (3, 400)])]).unwrap();
    let seconds = merged
        .series
        .iter()
        .map(|second| second.t)
        .collect::<Vec<_>>();
    assert_eq!(seconds, [1, 2, 3]);
    let both = &merged.series[1];
    assert_eq!((both.active_bots, both.errors), (20, 2));
    let login = &both.transactions["login"];
    assert_eq!((login.ok, login.failed), (2, 2));
    assert_eq!(login.histogram.unpack().inner().len(), 2);
    assert_eq!(login.histogram.unpack().inner().max(), 300);
    assert_eq!(merged.series[2].active_bots, 10);
}

#[test]
fn the_run_takes_the_earliest_start_longest_duration_and_worst_end() {
    let with = |started, duration, end: &str, detail: Option<&str>| {
        let mut report = Report::new("run");
        report.run.started_unix_s = started;
        report.run.duration_s = duration;
        report.run.end = end.to_owned();
        report.run.end_detail = detail.map(str::to_owned);
        report
    };
    let merged = Report::merge([
        with(20.0, 5.0, "completed", None),
        with(10.0, 8.0, "stalled", Some("3 bots waited forever")),
        with(30.0, 6.0, "duration", None),
    ])
    .unwrap();
    assert_eq!(merged.run.processes, 3);
    assert_eq!(merged.run.started_unix_s, 10.0);
    assert_eq!(
        merged.run.duration_s, 26.0,
        "from the earliest start to the latest end"
    );
    assert_eq!(merged.run.end, "stalled");
    assert_eq!(
        merged.run.end_detail.as_deref(),
        Some("3 bots waited forever")
    );

    let ends = ["completed", "duration", "stalled", "interrupted", "failed"];
    for (worse, worst) in ends.iter().enumerate() {
        for better in &ends[..=worse] {
            for order in [[*better, *worst], [*worst, *better]] {
                let merged = Report::merge(order.map(|end| with(0.0, 1.0, end, None))).unwrap();
                assert_eq!(merged.run.end, *worst, "{order:?}");
            }
        }
    }
    let unknown = Report::merge([
        with(0.0, 1.0, "interrupted", None),
        with(0.0, 1.0, "exploded", None),
    ])
    .unwrap();
    assert_eq!(unknown.run.end, "exploded", "an unknown end is not hidden");
}

#[test]
fn thresholds_are_cleared_and_processes_summed() {
    let mut checked = Report::new("run");
    checked.run.processes = 2;
    checked.thresholds.push(ttk_report::ThresholdResult {
        expression: "count > 0".to_owned(),
        measured: "0".to_owned(),
        limit: "0".to_owned(),
        passed: false,
    });
    let merged = Report::merge([checked.clone(), checked]).unwrap();
    assert!(merged.thresholds.is_empty());
    assert_eq!(merged.run.processes, 4);
}

fn merge_error(reports: Vec<Report>) -> String {
    match Report::merge(reports) {
        Ok(report) => panic!("merged: {report:?}"),
        Err(error) => {
            assert!(matches!(error, ReportError::Merge(_)), "{error:?}");
            error.to_string()
        }
    }
}

#[test]
fn merge_refuses_what_is_not_shards_of_one_run() {
    assert_eq!(
        merge_error(vec![]),
        "cannot merge these reports: there are no reports to merge"
    );
    assert_eq!(
        merge_error(vec![
            Report::new("checkout"),
            Report::new("checkout"),
            Report::new("browse")
        ]),
        "cannot merge these reports: report 3 is of the run \"browse\", report 1 of the run \
         \"checkout\"; only the reports of one run's processes merge"
    );
    let mut old = Report::new("checkout");
    old.schema = "ttk-report/0".to_owned();
    assert_eq!(
        merge_error(vec![Report::new("checkout"), old.clone()]),
        "cannot merge these reports: report 2 (run \"checkout\") is of schema \"ttk-report/0\"; \
         this ttk merges \"ttk-report/3\""
    );
    assert!(merge_error(vec![old, Report::new("checkout")]).contains("report 1 (run"));
}

#[test]
fn a_single_report_merges_into_itself_without_thresholds() {
    let mut report = Report::new("run");
    let mut login = TransactionReport::new("login");
    login.record_ok(Duration::from_millis(5));
    report.transactions.push(login);
    assert_eq!(Report::merge([report.clone()]).unwrap(), report);
}

fn temporary_dir(test: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("ttk-report-{test}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn files_round_trip_and_errors_name_the_path() {
    let dir = temporary_dir("files");
    let path = dir.join("report.json");
    let mut report = shard_report(0, &samples(500, 7));
    report.run.end_detail = Some("done".to_owned());
    report.write_json(&path).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.ends_with("}\n"));
    assert_eq!(Report::read_json(&path).unwrap(), report);

    let missing = dir.join("missing.json");
    let error = Report::read_json(&missing).unwrap_err();
    assert!(matches!(error, ReportError::Io(_)), "{error:?}");
    assert!(error.to_string().contains("missing.json"), "{error}");

    std::fs::write(&path, text.replace("ttk-report/3", "ttk-report/9")).unwrap();
    let error = Report::read_json(&path).unwrap_err();
    assert!(
        matches!(&error, ReportError::Schema(schema) if schema == "ttk-report/9"),
        "{error:?}"
    );

    std::fs::write(&path, "not json").unwrap();
    assert!(matches!(
        Report::read_json(&path),
        Err(ReportError::Json(_))
    ));

    let error = report
        .write_json(dir.join("no-such-dir").join("report.json"))
        .unwrap_err();
    assert!(error.to_string().contains("no-such-dir"), "{error}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Shard `index` of `count` of run `run_id`, with one `login` of `millis` in its second 1.
fn shard_of(run_id: &str, index: u32, count: u32, millis: u64) -> Report {
    let mut report = Report::new("checkout");
    report.run.run_id = run_id.to_owned();
    report.run.shard = Some(Shard { index, count });
    report.run.started_unix_s = 1_700_000_000.0;
    let mut login = TransactionReport::new("login");
    login.record_ok(Duration::from_millis(millis));
    let mut second = SecondReport {
        t: 1,
        ..SecondReport::default()
    };
    second.transactions.insert(
        "login".to_owned(),
        SecondTransaction::new(1, 0, &login.histogram),
    );
    report.series.push(second);
    report.transactions.push(login);
    report
}

#[test]
fn a_missing_shard_is_named_and_the_others_still_merge() {
    let merged = Report::merge([
        shard_of("r1", 0, 4, 5),
        shard_of("r1", 3, 4, 7),
        shard_of("r1", 1, 4, 6),
    ])
    .unwrap();
    let shards = merged.run.shards.clone().unwrap();
    assert_eq!(
        (shards.count, shards.merged, shards.missing),
        (4, vec![0, 1, 3], vec![2])
    );
    assert!(merged.run.shard.is_none());
    assert_eq!(merged.transactions[0].ok, 3);
    assert!(
        merged
            .summary()
            .contains("INCOMPLETE: shard 2 of 4 is missing"),
        "{}",
        merged.summary()
    );
    assert!(merged.to_html().contains("incomplete"));

    // The missing shard merged later completes it.
    let complete = Report::merge([merged, shard_of("r1", 2, 4, 8)]).unwrap();
    let shards = complete.run.shards.unwrap();
    assert!(shards.is_complete());
    assert_eq!(shards.merged, [0, 1, 2, 3]);
    assert_eq!(complete.transactions[0].ok, 4);
}

#[test]
fn shards_that_do_not_fit_together_are_refused() {
    assert!(
        merge_error(vec![shard_of("r1", 0, 2, 5), shard_of("r2", 1, 2, 5)])
            .contains("report 2 is of run id \"r2\", report 1 of run id \"r1\"")
    );
    assert!(
        merge_error(vec![shard_of("r1", 0, 2, 5), shard_of("r1", 0, 2, 5)])
            .contains("shard 0 is in report 1 and in report 2")
    );
    assert!(
        merge_error(vec![shard_of("r1", 0, 2, 5), shard_of("r1", 1, 3, 5)])
            .contains("report 2 is of a run cut in 3 shards, report 1 of one cut in 2")
    );
    let mut whole = shard_of("r1", 0, 2, 5);
    whole.run.shard = None;
    assert!(
        merge_error(vec![shard_of("r1", 0, 2, 5), whole])
            .contains("a whole run does not merge with shards")
    );
    let mut other = shard_of("r1", 1, 2, 5);
    other.run.parameters.bots = Some(10);
    other.run.parameters.command_line = vec!["shop".to_owned(), "--shard".to_owned()];
    let error = merge_error(vec![shard_of("r1", 0, 2, 5), other]);
    assert!(
        error.contains("other parameters than report 1 (bots: null vs 10)"),
        "{error}"
    );
}

#[test]
fn command_lines_may_differ_between_shards() {
    let mut one = shard_of("r1", 0, 2, 5);
    one.run.parameters.command_line = vec!["--shard".to_owned(), "0/2".to_owned()];
    let mut two = shard_of("r1", 1, 2, 5);
    two.run.parameters.command_line = vec!["--shard".to_owned(), "1/2".to_owned()];
    assert!(Report::merge([one, two]).is_ok());
}

#[test]
fn seconds_align_on_the_wall_clock() {
    let early = shard_of("r1", 0, 2, 5);
    let mut late = shard_of("r1", 1, 2, 9);
    late.run.started_unix_s += 2.2; // its second 1 is the early one's second 3
    let merged = Report::merge([late, early]).unwrap();
    let seconds: Vec<(u64, u64)> = merged
        .series
        .iter()
        .map(|second| (second.t, second.transactions["login"].max_us))
        .collect();
    assert_eq!(seconds.len(), 2);
    assert_eq!(seconds[0].0, 1);
    assert_eq!(seconds[1].0, 3);
    assert!(seconds[0].1 < seconds[1].1, "{seconds:?}");
    assert_eq!(merged.run.started_unix_s, 1_700_000_000.0);
}

#[test]
fn reports_of_schema_1_are_still_read() {
    let text = Report::new("old")
        .to_json()
        .replace("ttk-report/3", "ttk-report/1");
    let text = text.replace("\"run_id\": \"\",", "");
    let report = Report::from_json(&text).unwrap();
    assert_eq!(report.schema, ttk_report::SCHEMA);
    assert!(report.run.shard.is_none());
}
