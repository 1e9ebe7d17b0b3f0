//! Building reports for the tests: a recorder that counts samples the way a run would, and a
//! reproducible stream of samples.

// Each test file uses its own part of this module.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::time::Duration;

use ttk_report::{ErrorTally, GaugeReport, Histogram, Report, SecondReport, TransactionReport};

/// How one transaction ended.
#[derive(Clone, Debug)]
pub(crate) enum Outcome {
    Ok,
    Failed { kind: String, message: String },
    Abandoned,
    Stopped,
}

/// One transaction's end, in a second of the run.
#[derive(Clone, Debug)]
pub(crate) struct Sample {
    pub(crate) second: u64,
    pub(crate) transaction: String,
    pub(crate) outcome: Outcome,
    pub(crate) micros: u64,
}

/// Counts `samples` into `report` as a run's recorder would.
pub(crate) fn record_all(report: &mut Report, samples: &[Sample]) {
    // Each second's latencies are gathered first, then packed once per second and name.
    let mut latencies: BTreeMap<(u64, String), Histogram> = BTreeMap::new();
    for sample in samples {
        record(report, sample, &mut latencies);
    }
    for ((t, name), histogram) in latencies {
        let second = second(&mut report.series, t);
        let entry = second.transactions.entry(name).or_default();
        let ok = std::mem::take(&mut entry.ok);
        entry.add(ok, 0, &histogram);
    }
}

/// Counts `sample` into `report`; a success's latency goes into `latencies`.
fn record(
    report: &mut Report,
    sample: &Sample,
    latencies: &mut BTreeMap<(u64, String), Histogram>,
) {
    let latency = Duration::from_micros(sample.micros);
    let index = match report
        .transactions
        .iter()
        .position(|tx| tx.name == sample.transaction)
    {
        Some(index) => index,
        None => {
            report
                .transactions
                .push(TransactionReport::new(&sample.transaction));
            report.transactions.len() - 1
        }
    };
    let tx = &mut report.transactions[index];
    let second = second(&mut report.series, sample.second);
    match &sample.outcome {
        Outcome::Ok => {
            tx.record_ok(latency);
            let in_second = second
                .transactions
                .entry(sample.transaction.clone())
                .or_default();
            in_second.ok += 1;
            latencies
                .entry((sample.second, sample.transaction.clone()))
                .or_default()
                .record(latency);
        }
        Outcome::Failed { kind, message } => {
            tx.failed += 1;
            tx.failed_histogram.record(latency);
            tally(&mut tx.errors, kind, message);
            second.errors += 1;
            second
                .transactions
                .entry(sample.transaction.clone())
                .or_default()
                .failed += 1;
        }
        Outcome::Abandoned => tx.abandoned += 1,
        Outcome::Stopped => tx.stopped += 1,
    }
}

/// The entry of second `t` in a report's series, made if missing (the series stays in order).
fn second(series: &mut Vec<SecondReport>, t: u64) -> &mut SecondReport {
    let index = match series.binary_search_by_key(&t, |second| second.t) {
        Ok(index) => index,
        Err(index) => {
            series.insert(
                index,
                SecondReport {
                    t,
                    ..SecondReport::default()
                },
            );
            index
        }
    };
    &mut series[index]
}

/// Counts one error of `kind` into `tallies`, keeping the first distinct samples.
pub(crate) fn tally(tallies: &mut Vec<ErrorTally>, kind: &str, message: &str) {
    let index = match tallies.iter().position(|tally| tally.kind == kind) {
        Some(index) => index,
        None => {
            tallies.push(ErrorTally {
                kind: kind.to_owned(),
                count: 0,
                samples: Vec::new(),
            });
            tallies.len() - 1
        }
    };
    let tally = &mut tallies[index];
    tally.count += 1;
    if tally.samples.len() < ErrorTally::MAX_SAMPLES && !tally.samples.iter().any(|s| s == message)
    {
        tally.samples.push(message.to_owned());
    }
}

/// `count` samples, the same for the same `seed`: three transactions, seconds 1 to 10,
/// latencies from 1 µs to about 10 s, failures of four kinds with several messages each.
pub(crate) fn samples(count: usize, seed: u64) -> Vec<Sample> {
    let mut state = seed | 1;
    let mut next = move || {
        // xorshift64*: reproducible, and good enough to spread samples.
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_f491_4f6c_dd1d)
    };
    (0..count)
        .map(|_| {
            let random = next();
            let transaction = ["login", "browse", "checkout"][(random % 3) as usize].to_owned();
            let outcome = match next() % 20 {
                0..=2 => Outcome::Failed {
                    kind: ["TimedOut", "ConnectionReset", "Http500", "Refused"]
                        [(next() % 4) as usize]
                        .to_owned(),
                    message: format!("message {}", next() % 6),
                },
                3 => Outcome::Abandoned,
                4 => Outcome::Stopped,
                _ => Outcome::Ok,
            };
            let magnitude = 10u64.pow(1 + (next() % 7) as u32);
            Sample {
                second: 1 + next() % 10,
                transaction,
                outcome,
                micros: 1 + next() % magnitude,
            }
        })
        .collect()
}

/// The name of the transaction of [`known_report`] that never succeeded.
pub(crate) const NEVER_OK: &str = "a-transaction-with-a-rather-long-name";

/// A report with figures known in advance (every latency below 2048 µs, which the histogram
/// keeps exactly):
/// - `login`: 1000 successes of 1, 2, … 1000 µs; 10 failures, 7 `TimedOut` and 3 `Http500`;
/// - `browse`: 100 successes of 1500 µs;
/// - [`NEVER_OK`]: 2 failures, 1 abandoned, 3 stopped;
/// - a run of 10 s; counter `bytes` = 4096; gauge `lobby` 3 (0 to 12); 50 bots, 2 panicked.
pub(crate) fn known_report() -> Report {
    let mut report = Report::new("checkout");
    report.run.end = "completed".to_owned();
    report.run.duration_s = 10.0;

    let mut login = TransactionReport::new("login");
    for micros in 1..=1000 {
        login.record_ok(Duration::from_micros(micros));
    }
    login.failed = 10;
    for _ in 0..7 {
        tally(
            &mut login.errors,
            "TimedOut",
            "connection timed out after 5s",
        );
    }
    let long = format!("HTTP 500\n\x1b[31m{}", "internal error ".repeat(20));
    for _ in 0..3 {
        tally(&mut login.errors, "Http500", &long);
    }
    let mut browse = TransactionReport::new("browse");
    for _ in 0..100 {
        browse.record_ok(Duration::from_micros(1500));
    }
    let mut never_ok = TransactionReport::new(NEVER_OK);
    never_ok.failed = 2;
    never_ok.abandoned = 1;
    never_ok.stopped = 3;
    tally(&mut never_ok.errors, "Refused", "connection refused");
    tally(&mut never_ok.errors, "Refused", "connection refused");
    report.transactions = vec![login, browse, never_ok];

    report.counters.insert("bytes".to_owned(), 4096);
    report.gauges.insert(
        "lobby".to_owned(),
        GaugeReport {
            last: 3,
            min: 0,
            max: 12,
            ..GaugeReport::default()
        },
    );
    report.bots.started = 50;
    report.bots.finished = 47;
    report.bots.failed = 2;
    report.bots.stopped = 1;
    tally(
        &mut report.bots.errors,
        "panicked",
        "bot 3 panicked at 'index out of bounds'",
    );
    tally(
        &mut report.bots.errors,
        "panicked",
        "bot 9 panicked at 'index out of bounds'",
    );
    report
}
