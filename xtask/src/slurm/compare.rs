//! Comparing the report merged from the shards with the report of the same workload run as one
//! process: what a sum can carry over exactly must be equal.

use std::collections::BTreeSet;

use ttk_report::{Latency, Report, ShardSet, TransactionReport, format_duration_us};

/// One compared figure: its two values and whether they agree.
#[derive(Debug)]
pub(crate) struct Row {
    /// What was compared.
    what: String,
    /// The single process's value.
    single: String,
    /// The merged report's value.
    merged: String,
    /// Whether it passes.
    agrees: bool,
    /// A remark for the table (what "agrees" meant, or what else was seen).
    note: String,
}

impl Row {
    /// A figure that must be equal in both reports.
    fn equal(what: String, single: impl ToString, merged: impl ToString) -> Row {
        let (single, merged) = (single.to_string(), merged.to_string());
        Row {
            agrees: single == merged,
            what,
            single,
            merged,
            note: String::new(),
        }
    }
}

/// Compares `merged` (of `shards` processes) with `single`: the transactions' names, their ok and
/// failed counts and latency histograms, the counters, the bots started and finished, and the
/// merged report's processes and shards. The histograms must be identical, not only hold as
/// many samples: the workload promises that its shards merge into exactly the single run's.
pub(crate) fn compare(single: &Report, merged: &Report, shards: u32) -> Vec<Row> {
    let names = |report: &Report| -> BTreeSet<String> {
        report
            .transactions
            .iter()
            .map(|tx| tx.name.clone())
            .collect()
    };
    let (single_names, merged_names) = (names(single), names(merged));
    let list = |names: &BTreeSet<String>| names.iter().cloned().collect::<Vec<_>>().join(",");
    let mut rows = vec![Row::equal(
        "transactions".into(),
        list(&single_names),
        list(&merged_names),
    )];
    let missing = TransactionReport::new("");
    for name in single_names.union(&merged_names) {
        let one = single.transaction(name).unwrap_or(&missing);
        let all = merged.transaction(name).unwrap_or(&missing);
        rows.push(Row::equal(format!("{name}: ok"), one.ok, all.ok));
        rows.push(Row::equal(
            format!("{name}: failed"),
            one.failed,
            all.failed,
        ));
        let (one_latency, all_latency) = (one.latency(), all.latency());
        rows.push(Row::equal(
            format!("{name}: latency samples"),
            one_latency.count,
            all_latency.count,
        ));
        let figures = |latency: Latency| {
            format!(
                "p50 {} max {}",
                format_duration_us(latency.p50_us),
                format_duration_us(latency.max_us)
            )
        };
        let identical = one.histogram == all.histogram;
        rows.push(Row {
            what: format!("{name}: latency histogram"),
            single: figures(one_latency),
            merged: figures(all_latency),
            agrees: identical,
            note: if identical {
                "identical"
            } else {
                "not identical"
            }
            .into(),
        });
    }
    let counters: BTreeSet<&String> = single
        .counters
        .keys()
        .chain(merged.counters.keys())
        .collect();
    for name in counters {
        let value = |report: &Report| {
            report
                .counters
                .get(name)
                .map_or_else(|| "-".to_owned(), u64::to_string)
        };
        rows.push(Row::equal(
            format!("counter {name}"),
            value(single),
            value(merged),
        ));
    }
    rows.push(Row::equal(
        "bots started".into(),
        single.bots.started,
        merged.bots.started,
    ));
    rows.push(Row::equal(
        "bots finished".into(),
        single.bots.finished,
        merged.bots.finished,
    ));
    rows.push(Row {
        what: "processes".into(),
        single: single.run.processes.to_string(),
        merged: merged.run.processes.to_string(),
        agrees: merged.run.processes == shards,
        note: format!("merged must be {shards}"),
    });
    let shard_set = |report: &Report| {
        report.run.shards.as_ref().map_or_else(
            || "-".to_owned(),
            |set| format!("{} of {}", set.merged.len(), set.count),
        )
    };
    rows.push(Row {
        what: "shards merged".into(),
        single: shard_set(single),
        merged: shard_set(merged),
        agrees: merged
            .run
            .shards
            .as_ref()
            .is_some_and(|set| set.count == shards && set.is_complete()),
        note: merged
            .run
            .shards
            .as_ref()
            .and_then(ShardSet::describe_missing)
            .unwrap_or_default(),
    });
    rows
}

/// Whether every row agrees.
pub(crate) fn all_agree(rows: &[Row]) -> bool {
    rows.iter().all(|row| row.agrees)
}

/// The rows as a table, one line each, with a header.
pub(crate) fn table(rows: &[Row]) -> String {
    let width = |column: fn(&Row) -> &str, title: &str| {
        rows.iter()
            .map(|row| column(row).len())
            .chain([title.len()])
            .max()
            .unwrap_or(0)
    };
    let what = width(|row| &row.what, "compared");
    let single = width(|row| &row.single, "single");
    let merged = width(|row| &row.merged, "merged");
    let mut text = format!(
        "{:what$}  {:>single$}  {:>merged$}\n",
        "compared", "single", "merged"
    );
    for row in rows {
        let verdict = if row.agrees { "ok" } else { "DIFFERS" };
        let line = format!(
            "{:what$}  {:>single$}  {:>merged$}  {verdict}  {}",
            row.what, row.single, row.merged, row.note
        );
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// A report of `processes` processes with one transaction of `oks` successes of 1 ms.
    fn report(processes: u32, oks: u64) -> Report {
        let mut deposit = TransactionReport::new("deposit");
        for _ in 0..oks {
            deposit.record_ok(Duration::from_millis(1));
        }
        let mut report = Report::new("ledger");
        report.run.processes = processes;
        report.transactions.push(deposit);
        report.counters.insert("entries".into(), oks);
        report.bots.started = 2;
        if processes > 1 {
            report.run.shards = Some(ShardSet {
                count: processes,
                merged: (0..processes).collect(),
                missing: Vec::new(),
            });
        }
        report
    }

    #[test]
    fn equal_totals_agree_and_say_the_histograms_are_identical() {
        let rows = compare(&report(1, 8), &report(4, 8), 4);
        assert!(all_agree(&rows), "{}", table(&rows));
        assert!(table(&rows).contains("ok  identical"));
    }

    #[test]
    fn a_histogram_of_as_many_samples_elsewhere_differs() {
        let mut merged = report(4, 8);
        let mut slower = TransactionReport::new("deposit");
        for _ in 0..8 {
            slower.record_ok(Duration::from_millis(2));
        }
        merged.transactions[0] = slower;
        let text = table(&compare(&report(1, 8), &merged, 4));
        assert!(text.contains("deposit: latency samples"), "{text}");
        assert_eq!(text.matches("DIFFERS").count(), 1, "{text}"); // the histogram only
    }

    #[test]
    fn a_missing_shard_differs() {
        let mut merged = report(4, 8);
        merged.run.shards = Some(ShardSet {
            count: 4,
            merged: vec![0, 1, 3],
            missing: vec![2],
        });
        let text = table(&compare(&report(1, 8), &merged, 4));
        assert!(
            text.contains("3 of 4  DIFFERS  shard 2 of 4 is missing"),
            "{text}"
        );
    }

    #[test]
    fn a_lost_sample_or_a_wrong_process_count_differs() {
        let rows = compare(&report(1, 8), &report(4, 7), 4);
        assert!(!all_agree(&rows));
        let text = table(&rows);
        assert!(text.contains("deposit: ok"), "{text}");
        // ok, samples, histogram, counter
        assert_eq!(text.matches("DIFFERS").count(), 4, "{text}");
        assert!(!all_agree(&compare(&report(1, 8), &report(3, 8), 4)));
    }

    #[test]
    fn a_transaction_missing_from_one_report_differs() {
        let mut merged = report(4, 8);
        merged.transactions.push(TransactionReport::new("withdraw"));
        let rows = compare(&report(1, 8), &merged, 4);
        assert!(!all_agree(&rows));
        assert!(table(&rows).contains("transactions"));
    }
}
