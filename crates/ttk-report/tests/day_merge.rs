//! A day-long run cut in 4 shards, each leaving its series at another resolution (as each
//! shard's collector widens on its own): the merge is exact, and the whole-run totals equal
//! the sum of every second, never read from the coarsened series.

use ttk_report::{
    Histogram, PackedHistogram, Report, SecondReport, SecondTransaction, Shard, TransactionReport,
};

const DAY_S: u64 = 86_400;
const SHARDS: u64 = 4;
/// Each shard's series interval: the shards' collectors widened differently.
const INTERVALS: [u64; 4] = [60, 300, 300, 600];

/// Successes of `shard` in second `t`.
fn ok(shard: u64, t: u64) -> u64 {
    1 + (t * 7 + shard * 13) % 5
}

/// Failures of `shard` in second `t`.
fn failed(shard: u64, t: u64) -> u64 {
    u64::from((t + shard).is_multiple_of(97))
}

/// The latency of `shard`'s successes in second `t`, in microseconds.
fn latency_us(shard: u64, t: u64) -> u64 {
    500 + (t * 31 + shard * 17) % 40_000
}

fn hdr() -> hdrhistogram::Histogram<u64> {
    hdrhistogram::Histogram::new_with_bounds(1, 3_600_000_000, 3).unwrap()
}

/// Shard `shard`'s report: its totals from every second, its series in its interval.
fn shard(shard: u64) -> Report {
    let mut report = Report::new("soak");
    report.run.run_id = "soak-day".to_owned();
    report.run.started_unix_s = 1_767_225_600.0;
    report.run.duration_s = DAY_S as f64;
    report.run.shard = Some(Shard {
        index: shard as u32,
        count: SHARDS as u32,
    });
    let interval = INTERVALS[shard as usize];
    let mut total = hdr();
    let mut login = TransactionReport::new("login");
    for end in (interval..=DAY_S).step_by(interval as usize) {
        let mut latencies = hdr();
        let (mut oks, mut fails) = (0, 0);
        for t in end - interval + 1..=end {
            latencies
                .record_n(latency_us(shard, t), ok(shard, t))
                .unwrap();
            total.record_n(latency_us(shard, t), ok(shard, t)).unwrap();
            oks += ok(shard, t);
            fails += failed(shard, t);
        }
        login.ok += oks;
        login.failed += fails;
        let mut entry = SecondReport {
            t: end,
            active_bots: shard + 1,
            errors: fails,
            length_s: interval as f64,
            ..SecondReport::default()
        };
        let latencies = Histogram::from_inner(latencies);
        entry.transactions.insert(
            "login".to_owned(),
            SecondTransaction::new(oks, fails, &latencies),
        );
        report.series.push(entry);
    }
    login.histogram = Histogram::from_inner(total);
    report.transactions.push(login);
    report.series_interval_s = interval;
    report
}

#[test]
fn a_day_of_four_shards_at_mixed_resolutions_merges_exactly() {
    a_day_merges_exactly(&[0, 1, 2, 3]);
}

/// The widest shard first: the merge does not depend on the order of the files.
#[test]
fn the_order_of_the_shards_does_not_matter() {
    a_day_merges_exactly(&[3, 1, 0, 2]);
}

fn a_day_merges_exactly(order: &[u64]) {
    let shards: Vec<Report> = order.iter().map(|&index| shard(index)).collect();
    // Through JSON, as `merge` reads the shards' files.
    let shards: Vec<Report> = shards
        .iter()
        .map(|report| Report::from_json(&report.to_json()).unwrap())
        .collect();
    let merged = Report::merge(shards).unwrap();
    assert!(merged.run.shards.as_ref().unwrap().is_complete());

    // The widest interval of the four.
    assert_eq!(merged.series_interval_s, 600);
    assert_eq!(merged.series.len() as u64, DAY_S / 600);
    for (k, entry) in merged.series.iter().enumerate() {
        let end = (k as u64 + 1) * 600;
        let mut latencies = hdr();
        let (mut oks, mut fails) = (0, 0);
        for shard in 0..SHARDS {
            for t in end - 599..=end {
                latencies
                    .record_n(latency_us(shard, t), ok(shard, t))
                    .unwrap();
                oks += ok(shard, t);
                fails += failed(shard, t);
            }
        }
        let login = &entry.transactions["login"];
        assert_eq!((entry.t, entry.length_s), (end, 600.0));
        assert_eq!((login.ok, login.failed, entry.errors), (oks, fails, fails));
        assert_eq!(entry.active_bots, 1 + 2 + 3 + 4);
        // The series keeps 2 significant digits: the same counts in the same 2-digit buckets
        // as the interval's latencies packed at once.
        let expected = PackedHistogram::pack_coarse(&Histogram::from_inner(latencies));
        assert_eq!(login.histogram, expected);
        assert_eq!(login.histogram.unpack().inner().len(), oks);
    }

    // The totals are every second's, exactly; the series adds up to them.
    let mut every = hdr();
    let (mut oks, mut fails) = (0, 0);
    for shard in 0..SHARDS {
        for t in 1..=DAY_S {
            every.record_n(latency_us(shard, t), ok(shard, t)).unwrap();
            oks += ok(shard, t);
            fails += failed(shard, t);
        }
    }
    let login = merged.transaction("login").unwrap();
    assert_eq!((login.ok, login.failed), (oks, fails));
    assert_eq!(login.histogram, Histogram::from_inner(every));
    let in_series: u64 = merged
        .series
        .iter()
        .map(|e| e.transactions["login"].ok)
        .sum();
    assert_eq!(in_series, oks);
    assert_eq!(login.summary().count, oks);
}

#[test]
fn a_series_of_the_previous_schema_reads_as_seconds() {
    let mut old: serde_json::Value = serde_json::from_str(&shard(0).to_json()).unwrap();
    old["schema"] = "ttk-report/2".into();
    old.as_object_mut().unwrap().remove("series_interval_s");
    let old = Report::from_json(&old.to_string()).unwrap();
    assert_eq!(old.series_interval_s, 1);
}
