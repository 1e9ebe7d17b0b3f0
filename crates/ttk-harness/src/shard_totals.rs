//! What a child of `--processes` has counted so far besides its seconds — failures by kind,
//! counters, gauges — sent with each second it streams, so the parent's live view (its page,
//! `/report.json`, `/metrics`) shows them while the run goes on, not only in the merged report
//! at the end.
//!
//! A child sends its totals so far, not the second's change: a line the parent reads late
//! or a second that joins another never counts anything twice, and the parent needs only each
//! child's latest.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use ttk_report::{ErrorTally, GaugeReport, Report, SecondReport};

/// One child's failures by kind (per transaction), counters and gauges so far.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct ShardTotals {
    /// Each transaction's failures by kind.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) failures: BTreeMap<String, Vec<ErrorTally>>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) counters: BTreeMap<String, u64>,
    /// Each gauge, its loops combined by its rule.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) gauges: BTreeMap<String, GaugeReport>,
}

/// A line a child of `--processes` writes each second: the second, and its totals so far (a
/// line without them, from an older child, reads as none).
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct StreamedSecond {
    #[serde(flatten)]
    pub(crate) second: SecondReport,
    #[serde(default)]
    pub(crate) totals: ShardTotals,
}

impl ShardTotals {
    /// What `report` (a run's report in the making, its gauges combined) has counted so far.
    pub(crate) fn of(report: &Report) -> ShardTotals {
        ShardTotals {
            failures: report
                .transactions
                .iter()
                .filter(|transaction| !transaction.errors.is_empty())
                .map(|transaction| (transaction.name.clone(), transaction.errors.clone()))
                .collect(),
            counters: report.counters.clone(),
            gauges: report.gauges.clone(),
        }
    }

    /// The children's totals summed: kinds by their counts (samples up to the report's
    /// limit), counters summed, gauges combined by their rules.
    pub(crate) fn sum<'a>(children: impl IntoIterator<Item = &'a ShardTotals>) -> ShardTotals {
        let mut sum = ShardTotals::default();
        for child in children {
            for (name, tallies) in &child.failures {
                let mine = sum.failures.entry(name.clone()).or_default();
                for tally in tallies {
                    add_tally(mine, tally);
                }
            }
            for (name, count) in &child.counters {
                *sum.counters.entry(name.clone()).or_default() += count;
            }
            for (name, gauge) in &child.gauges {
                sum.gauges
                    .entry(name.clone())
                    .and_modify(|mine| mine.combine(*gauge))
                    .or_insert(*gauge);
            }
        }
        sum
    }

    /// Puts these totals in `report`, in place of what it had: its transactions' failures by
    /// kind, its counters and its gauges.
    pub(crate) fn put_in(&self, report: &mut Report) {
        for transaction in &mut report.transactions {
            transaction.errors = self
                .failures
                .get(&transaction.name)
                .cloned()
                .unwrap_or_default();
        }
        report.counters = self.counters.clone();
        report.gauges = self.gauges.clone();
    }
}

fn add_tally(tallies: &mut Vec<ErrorTally>, tally: &ErrorTally) {
    match tallies.iter_mut().find(|mine| mine.kind == tally.kind) {
        Some(mine) => {
            mine.count += tally.count;
            for sample in &tally.samples {
                if mine.samples.len() < ErrorTally::MAX_SAMPLES && !mine.samples.contains(sample) {
                    mine.samples.push(sample.clone());
                }
            }
        }
        None => tallies.push(tally.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ttk_report::GaugeMerge;

    fn tally(kind: &str, count: u64, sample: &str) -> ErrorTally {
        ErrorTally {
            kind: kind.to_owned(),
            count,
            samples: vec![sample.to_owned()],
        }
    }

    fn gauge(last: i64, merge: GaugeMerge) -> GaugeReport {
        GaugeReport {
            last,
            min: last,
            max: last,
            merge,
            last_set_unix_ms: 1,
        }
    }

    #[test]
    fn childrens_totals_sum_by_kind_counter_and_gauge_rule() {
        let one = ShardTotals {
            failures: BTreeMap::from([(
                "request".to_owned(),
                vec![tally("HTTP 404", 3, "a"), tally("TimedOut", 1, "t")],
            )]),
            counters: BTreeMap::from([("resent".to_owned(), 2)]),
            gauges: BTreeMap::from([
                ("held".to_owned(), gauge(5, GaugeMerge::Sum)),
                ("peak".to_owned(), gauge(7, GaugeMerge::Max)),
            ]),
        };
        let two = ShardTotals {
            failures: BTreeMap::from([("request".to_owned(), vec![tally("HTTP 404", 4, "b")])]),
            counters: BTreeMap::from([("resent".to_owned(), 5), ("other".to_owned(), 1)]),
            gauges: BTreeMap::from([
                ("held".to_owned(), gauge(6, GaugeMerge::Sum)),
                ("peak".to_owned(), gauge(3, GaugeMerge::Max)),
            ]),
        };
        let sum = ShardTotals::sum([&one, &two]);
        let request = &sum.failures["request"];
        assert_eq!(request[0].kind, "HTTP 404");
        assert_eq!(request[0].count, 7);
        assert_eq!(request[0].samples, ["a", "b"]);
        assert_eq!(
            (request[1].kind.as_str(), request[1].count),
            ("TimedOut", 1)
        );
        assert_eq!(sum.counters["resent"], 7);
        assert_eq!(sum.counters["other"], 1);
        assert_eq!(sum.gauges["held"].last, 11);
        assert_eq!(sum.gauges["peak"].last, 7);
    }

    #[test]
    fn a_line_carries_its_totals_and_an_older_line_reads_as_none() {
        let line = StreamedSecond {
            second: SecondReport {
                t: 3,
                errors: 2,
                ..SecondReport::default()
            },
            totals: ShardTotals {
                counters: BTreeMap::from([("resent".to_owned(), 2)]),
                ..ShardTotals::default()
            },
        };
        let json = serde_json::to_string(&line).unwrap();
        let read: StreamedSecond = serde_json::from_str(&json).unwrap();
        assert_eq!(read.second, line.second);
        assert_eq!(read.totals, line.totals);
        let older = serde_json::to_string(&line.second).unwrap();
        let read: StreamedSecond = serde_json::from_str(&older).unwrap();
        assert_eq!((read.second.t, read.totals), (3, ShardTotals::default()));
    }

    #[test]
    fn put_in_a_report_replaces_what_it_had() {
        let mut report = Report::new("run");
        report
            .transactions
            .push(ttk_report::TransactionReport::new("request"));
        report.counters.insert("stale".to_owned(), 9);
        let totals = ShardTotals {
            failures: BTreeMap::from([("request".to_owned(), vec![tally("HTTP 500", 2, "x")])]),
            counters: BTreeMap::from([("resent".to_owned(), 1)]),
            gauges: BTreeMap::new(),
        };
        totals.put_in(&mut report);
        assert_eq!(report.transactions[0].errors[0].count, 2);
        assert_eq!(report.counters, BTreeMap::from([("resent".to_owned(), 1)]));
    }
}
