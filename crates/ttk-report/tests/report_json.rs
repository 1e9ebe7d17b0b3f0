//! Property tests of what reads report files (`Report::from_json`, as `ttk report` and `merge`
//! do) and of `Report::merge`: a report reads back as it was written; the merge of a run's
//! shards, through their files, equals the report of the whole run; and any file, however
//! hostile (fields changed to huge or wrong values, nesting, noise), is read or refused without
//! a panic and within a bounded allocation.

mod props;
mod util;

use proptest::prelude::*;
use serde_json::Value;
use ttk_report::{Report, ReportError, Shard, ShardSet, Threshold};
use util::{Outcome, Sample, record_all};

#[global_allocator]
static ALLOCATOR: props::Counting = props::Counting;

/// A generated report holds at most 3 transactions (two histograms of about 188 KB each) and
/// reads each packed second's histogram at the standard bounds once: reading one, even
/// changed, stays well under this.
const MOST_PER_REPORT: usize = 16 << 20;

fn outcome() -> impl Strategy<Value = Outcome> {
    prop_oneof![
        6 => Just(Outcome::Ok),
        2 => (0usize..3, 0usize..5).prop_map(|(kind, message)| Outcome::Failed {
            kind: ["TimedOut", "Http500", "Refused"][kind].to_owned(),
            message: format!("message {message}"),
        }),
        1 => Just(Outcome::Abandoned),
        1 => Just(Outcome::Stopped),
    ]
}

fn sample() -> impl Strategy<Value = Sample> {
    (1u64..8, 0usize..3, outcome(), 1u64..5_000_000).prop_map(
        |(second, transaction, outcome, micros)| Sample {
            second,
            transaction: ["login", "browse", "checkout"][transaction].to_owned(),
            outcome,
            micros,
        },
    )
}

/// A run's report of `samples`, with the other parts of a report filled in.
fn report_of(samples: &[Sample], counters: &[(String, u64)]) -> Report {
    let mut report = Report::new("shop");
    report.run.run_id = "run-1".to_owned();
    report.run.started_unix_s = 1_700_000_000.0;
    report.run.duration_s = 7.5;
    report.run.end = "completed".to_owned();
    record_all(&mut report, samples);
    for (name, value) in counters {
        *report.counters.entry(name.clone()).or_default() += value;
    }
    report.bots.started = samples.len() as u64;
    report.bots.finished = samples.len() as u64;
    report
}

fn counters() -> impl Strategy<Value = Vec<(String, u64)>> {
    prop::collection::vec(("[a-z]{1,3}", 0u64..1 << 40), 0..4)
}

/// Every node of `value`, depth first: where a mutation may land.
fn node_count(value: &Value) -> usize {
    1 + match value {
        Value::Array(items) => items.iter().map(node_count).sum(),
        Value::Object(map) => map.values().map(node_count).sum(),
        _ => 0,
    }
}

/// The `index`th node of `value`, depth first (`index` below [`node_count`]).
fn node_mut(value: &mut Value, mut index: usize) -> &mut Value {
    fn walk<'a>(value: &'a mut Value, index: &mut usize) -> Option<&'a mut Value> {
        if *index == 0 {
            return Some(value);
        }
        *index -= 1;
        match value {
            Value::Array(items) => items.iter_mut().find_map(|item| walk(item, index)),
            Value::Object(map) => map.values_mut().find_map(|item| walk(item, index)),
            _ => None,
        }
    }
    walk(value, &mut index).expect("the index is below the node count")
}

/// What a hostile file puts in place of a field.
fn hostile_value() -> impl Strategy<Value = Value> {
    let numbers = prop_oneof![
        prop::sample::select(vec![
            0u64,
            1,
            3,
            4_294_967_295,
            4_294_967_296,
            1 << 53,
            i64::MAX as u64,
            u64::MAX,
        ])
        .prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("JSON has no such number", |x| x.is_finite())
            .prop_map(Value::from),
    ];
    let strings = prop_oneof![
        "\\PC{0,20}".prop_map(Value::from),
        // Base64 of HdrHistogram-like bytes: the cookie, then anything.
        prop::collection::vec(any::<u8>(), 0..60).prop_map(|tail| {
            use base64::Engine;
            let mut bytes = 0x1c84_9313u32.to_be_bytes().to_vec();
            bytes.extend(tail);
            Value::from(base64::engine::general_purpose::STANDARD.encode(bytes))
        }),
    ];
    let leaves = prop_oneof![
        numbers,
        strings,
        Just(Value::Null),
        any::<bool>().prop_map(Value::from)
    ];
    leaves.prop_recursive(4, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::vec(("[a-z_]{1,8}", inner), 0..4)
                .prop_map(|fields| Value::Object(fields.into_iter().collect())),
        ]
    })
}

/// A report's JSON with fields changed, as a hostile or corrupt file has it; sometimes cut
/// short or wrapped deep in arrays.
fn hostile_json() -> impl Strategy<Value = String> {
    let report =
        (prop::collection::vec(sample(), 0..30), any::<bool>()).prop_map(|(samples, shard)| {
            let mut report = report_of(&samples, &[]);
            if shard {
                report.run.shard = Some(Shard { index: 0, count: 2 });
            }
            report
        });
    // Half the changes keep the field's type (a number for a number, an array shortened or
    // grown), so that many changed files are still reports and what reads them is exercised.
    let mutation = (
        any::<prop::sample::Index>(),
        hostile_value(),
        any::<bool>(),
        any::<u64>(),
    );
    (
        report,
        prop::collection::vec(mutation, 1..4),
        0usize..8,
        any::<prop::sample::Index>(),
    )
        .prop_map(|(report, mutations, ending, cut)| {
            let mut value = serde_json::to_value(&report).unwrap();
            for (index, replacement, typed, number) in mutations {
                let nodes = node_count(&value);
                let node = node_mut(&mut value, index.index(nodes));
                *node = match (typed, &mut *node) {
                    (true, Value::Number(_)) => Value::from(number >> (number % 64)),
                    (true, Value::Array(items)) if !items.is_empty() => {
                        if number % 2 == 0 {
                            items.pop();
                        } else {
                            items.push(items[0].clone());
                        }
                        continue;
                    }
                    _ => replacement,
                };
            }
            let text = value.to_string();
            match ending {
                0 => {
                    let mut at = cut.index(text.len() + 1);
                    while !text.is_char_boundary(at) {
                        at -= 1;
                    }
                    text[..at].to_owned()
                }
                1 => format!("{}{text}{}", "[".repeat(100_000), "]".repeat(100_000)),
                _ => text,
            }
        })
}

proptest! {
    #![proptest_config(props::cases(2_000))]

    #[test]
    fn hostile_files_are_read_or_refused_within_bounds(json in hostile_json()) {
        let (read, peak) = props::peak_of(|| Report::from_json(&json));
        prop_assert!(peak < MOST_PER_REPORT, "{peak} bytes to read {} bytes", json.len());
        if let Ok(report) = read {
            // What was read is a report like any other: every use of one works on it.
            let _ = report.summary();
            let _ = report.to_html();
            let mut checked = report.clone();
            for threshold in ["p99 < 1s", "failures < 1%", "rate > 1/s", "count(login) > 0"] {
                checked.check_thresholds(&[Threshold::parse(threshold).unwrap()]);
            }
            let _ = Report::merge([report.clone(), report.clone()]);
            prop_assert_eq!(Report::from_json(&report.to_json()).unwrap(), report);
        }
    }
}

proptest! {
    // Each case writes, reads and merges a handful of reports of hundreds of KB in memory.
    #![proptest_config(props::cases(500))]

    #[test]
    fn a_report_reads_back_as_written(
        samples in prop::collection::vec(sample(), 0..60),
        counters in counters(),
    ) {
        let report = report_of(&samples, &counters);
        prop_assert_eq!(Report::from_json(&report.to_json()).unwrap(), report);
    }

    #[test]
    fn merging_shards_files_equals_the_whole_run(
        samples in prop::collection::vec(sample(), 1..60),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..3),
        counters in counters(),
    ) {
        // Contiguous pieces: the order of first appearance over the shards is the whole's.
        let mut cuts: Vec<usize> = cuts.iter().map(|cut| cut.index(samples.len() + 1)).collect();
        cuts.push(0);
        cuts.push(samples.len());
        cuts.sort_unstable();
        let count = cuts.len() as u32 - 1;
        let shards: Vec<Report> = cuts
            .windows(2)
            .enumerate()
            .map(|(index, piece)| {
                // The counters all go to the first shard.
                let counters = if index == 0 { &counters[..] } else { &[] };
                let mut shard = report_of(&samples[piece[0]..piece[1]], counters);
                shard.run.shard = Some(Shard { index: index as u32, count });
                Report::from_json(&shard.to_json()).unwrap()
            })
            .collect();
        let merged = Report::merge(shards).unwrap();

        let mut whole = report_of(&samples, &counters);
        whole.run.processes = count;
        whole.run.shards = Some(ShardSet {
            count,
            merged: (0..count).collect(),
            missing: Vec::new(),
        });
        // A shard with no sample of a second has no entry for it: the whole's seconds are
        // those of some shard, and so are the merge's.
        prop_assert_eq!(merged, whole);
    }
}

/// Item 16 of issue #19: a report claiming 4,294,967,295 shards made `merge` allocate 68 GB
/// (a slot per shard); now reading it is refused, naming the field, and a merge of reports
/// made in memory is refused too, without allocating by the count.
#[test]
fn a_report_claiming_4_billion_shards_is_refused_without_allocating() {
    let mut report = report_of(&[], &[]);
    report.run.shard = Some(Shard {
        index: 1,
        count: u32::MAX,
    });
    let (read, peak) = props::peak_of(|| Report::from_json(&report.to_json()));
    let error = read.unwrap_err();
    assert!(matches!(error, ReportError::Invalid(_)), "{error:?}");
    assert_eq!(
        error.to_string(),
        "not a valid ttk report: run.shard.count is 4294967295, over the limit of 65536 shards"
    );
    assert!(peak < MOST_PER_REPORT, "{peak}");

    let (merged, peak) = props::peak_of(|| Report::merge([report.clone(), report.clone()]));
    assert!(
        merged
            .unwrap_err()
            .to_string()
            .contains("report 1's shard count is 4294967295, over the limit of 65536 shards")
    );
    assert!(peak < MOST_PER_REPORT, "{peak}");
}

/// A merge's shard set must list each of its shards once: a hostile one cannot make a later
/// merge index out of its lists.
#[test]
fn shard_sets_that_do_not_add_up_are_refused() {
    let cases = [
        (
            ShardSet {
                count: 2,
                merged: vec![0, 2],
                missing: vec![],
            },
            "holds shard 2 of 2",
        ),
        (
            ShardSet {
                count: 3,
                merged: vec![1, 0],
                missing: vec![2],
            },
            "not in increasing order",
        ),
        (
            ShardSet {
                count: 3,
                merged: vec![0],
                missing: vec![2],
            },
            "each of its 3 shards once",
        ),
        (
            ShardSet {
                count: 2,
                merged: vec![0, 1],
                missing: vec![1],
            },
            "each of its 2 shards once",
        ),
        (
            ShardSet {
                count: 0,
                merged: vec![],
                missing: vec![],
            },
            "run.shards.count is 0",
        ),
    ];
    for (set, expected) in cases {
        let mut report = report_of(&[], &[]);
        report.run.shards = Some(set);
        let error = Report::from_json(&report.to_json())
            .unwrap_err()
            .to_string();
        assert!(error.contains(expected), "{error}");
    }
}

/// Seconds far past any run, which `merge` shifts by whole seconds, are refused; so are more
/// samples than a tally keeps and more transactions than the limit (refused while read, before
/// their histograms are in memory).
#[test]
fn other_fields_out_of_bounds_are_refused() {
    let mut late = report_of(&[], &[]);
    late.series.push(ttk_report::SecondReport {
        t: u64::MAX,
        ..Default::default()
    });
    let error = Report::from_json(&late.to_json()).unwrap_err().to_string();
    assert!(
        error.contains("series[0].t is 18446744073709551615, over the limit"),
        "{error}"
    );

    let mut chatty = report_of(&[], &[]);
    chatty.bots.errors.push(ttk_report::ErrorTally {
        kind: "panicked".to_owned(),
        count: 4,
        samples: vec!["a".into(), "b".into(), "c".into(), "d".into()],
    });
    let error = Report::from_json(&chatty.to_json())
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("has 4 samples, over the limit of 3"),
        "{error}"
    );

    let transaction = serde_json::to_string(&ttk_report::TransactionReport::new("t")).unwrap();
    let many = vec![transaction; ttk_report::MAX_TRANSACTIONS + 1].join(",");
    let json = report_of(&[], &[]).to_json().replace(
        r#""transactions": []"#,
        &format!(r#""transactions": [{many}]"#),
    );
    let (read, peak) = props::peak_of(|| Report::from_json(&json));
    let error = read.unwrap_err().to_string();
    assert!(
        error.contains("more than 4096 transactions, the limit"),
        "{error}"
    );
    // Up to the limit, each transaction holds two histograms of about 188 KB.
    assert!(
        peak < (ttk_report::MAX_TRANSACTIONS + 8) * 400_000,
        "{peak}"
    );
}

/// Deep nesting is refused where a report has a field (no report field nests), and skipped
/// without recursion where it has none: never a stack overflow.
#[test]
fn deep_nesting_is_refused_or_skipped() {
    let deep = format!("{}{}", "[".repeat(1_000_000), "]".repeat(1_000_000));
    let error = Report::from_json(&deep).unwrap_err().to_string();
    assert!(error.starts_with("not a ttk report: "), "{error}");
    let report = report_of(&[], &[]);
    let in_a_field = report
        .to_json()
        .replace(r#""counters": {}"#, &format!(r#""counters": {deep}"#));
    let error = Report::from_json(&in_a_field).unwrap_err().to_string();
    assert!(error.contains("invalid type: sequence"), "{error}");
    let unknown = report
        .to_json()
        .replacen('{', &format!(r#"{{"extra": {deep},"#), 1);
    assert_eq!(Report::from_json(&unknown).unwrap(), report);
}

/// Found by `hostile_files_are_read_or_refused_within_bounds` (20,000 cases): a series out of
/// order, its first second far after the others, drew points past the chart's axis, which is
/// set by the last second, and the chart's pixel arithmetic overflowed (a panic writing the
/// HTML page). Such a file is refused; a report built out of order in memory still draws.
#[test]
fn a_series_out_of_order_is_refused_and_still_draws() {
    let mut report = report_of(&[], &[]);
    for t in [247_822_907, 2] {
        let mut second = ttk_report::SecondReport {
            t,
            ..Default::default()
        };
        let mut histogram = ttk_report::Histogram::new();
        histogram.record(std::time::Duration::from_micros(1));
        second.transactions.insert(
            "browse".to_owned(),
            ttk_report::SecondTransaction::new(1, 0, &histogram),
        );
        report.series.push(second);
    }
    let error = Report::from_json(&report.to_json())
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("series[1].t is 2, not after series[0].t (247822907)"),
        "{error}"
    );
    assert!(report.to_html().contains("<svg"));
}

/// Found by `hostile_files_are_read_or_refused_within_bounds` (40,000 cases): a float that
/// takes 17 digits (`duration_s` of 2.2295272568981903e18) was read back one place off in the
/// last digit by serde_json's default, faster float parsing, so a report did not read back as
/// written; the workspace now parses floats exactly (`float_roundtrip`).
#[test]
fn a_float_of_17_digits_reads_back_exactly() {
    let mut report = report_of(&[], &[]);
    for duration_s in [2.2295272568981903e18, 7.500_123_456_789_012, 0.1 + 0.2] {
        report.run.duration_s = duration_s;
        report.run.started_unix_s = 1_700_000_000.123_456_7 + duration_s;
        let back = Report::from_json(&report.to_json()).unwrap();
        assert_eq!(back.run.duration_s.to_bits(), duration_s.to_bits());
        assert_eq!(back, report);
    }
}
