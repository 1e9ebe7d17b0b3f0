//! One loop's measurements since the last interval closed: transactions, counters and gauges by
//! name. Names are looked up once per operation (a hash of the name); nothing here allocates
//! after a name's first use, and nothing grows with the number of samples.

use std::io;

use hdrhistogram::Histogram;

use super::counts::LatencyCounts;
use super::failure::{Failure, FailureKind};
use super::gauge_merge::GaugeMerge;
use super::names::NameIndex;
use super::snapshot::{
    ErrorDelta, GaugeValue, HIGHEST_MICROS, LOWEST_MICROS, MetricsSnapshot, TransactionDelta,
    latency_histogram,
};
use crate::fast_hash::FastMap;
use crate::timers::Nanos;

/// Distinct failure kinds kept per transaction; further kinds count under [`OTHER_KINDS`], so
/// a server that puts a fresh text in every error cannot grow the table without bound.
const MAX_KINDS: usize = 100;
/// The kind the failures past [`MAX_KINDS`] count under.
const OTHER_KINDS: &str = "other kinds";
/// Distinct sample messages kept per kind over the run.
const SAMPLES_PER_KIND: usize = 3;
/// Failures of a kind whose messages are looked at for samples: past them, a kind that has
/// repeated one message is not formatted again for every failure.
const SAMPLED_FAILURES: u64 = 1_000;

/// How a transaction ended without finishing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Unfinished {
    /// Dropped while the run went on.
    Abandoned,
    /// In flight when the run stopped.
    Stopped,
}

#[derive(Default)]
pub(crate) struct Registry {
    transaction_names: NameIndex,
    transactions: Vec<TransactionState>,
    counter_names: NameIndex,
    counters: Vec<CounterState>,
    gauge_names: NameIndex,
    gauges: Vec<GaugeState>,
}

/// A counter: what it counted this interval.
struct CounterState {
    name: Box<str>,
    amount: u64,
    /// Whether an interval reported it: one counted with 0 only is reported once, with 0 (a
    /// count of none is a figure: "tls resumed handshakes 0" against a server that resumes
    /// none), and then only when it counts more.
    reported: bool,
}

struct TransactionState {
    name: Box<str>,
    ok: u64,
    failed: u64,
    abandoned: u64,
    stopped: u64,
    latencies: LatencyCounts,
    /// Made at the first failure: most transactions never fail.
    failed_latencies: Option<Histogram<u64>>,
    errors: ErrorTable,
}

#[derive(Default)]
struct ErrorTable {
    by_io_kind: FastMap<io::ErrorKind, u32>,
    by_name: FastMap<Box<str>, u32>,
    entries: Vec<ErrorEntry>,
    /// Where a message is written to be compared with the samples, reused.
    scratch: String,
}

struct ErrorEntry {
    kind: String,
    count: u64,
    /// Failures of this kind over the run.
    seen: u64,
    samples: Vec<String>,
    samples_sent: usize,
}

struct GaugeState {
    name: Box<str>,
    last: i64,
    min: i64,
    max: i64,
    merge: GaugeMerge,
    /// Whether a bot set it in the current interval.
    set: bool,
}

/// A latency on the loop's clock, in the histograms' microseconds.
#[inline]
fn micros(latency: Nanos) -> u64 {
    (latency / 1_000).clamp(LOWEST_MICROS, HIGHEST_MICROS)
}

impl Registry {
    /// The number of the transaction named `name`, made at its first use.
    #[inline]
    pub(crate) fn transaction(&mut self, name: &str) -> u32 {
        match self.transaction_names.find(name) {
            Some(number) => number,
            None => self.new_transaction(name),
        }
    }

    #[cold]
    fn new_transaction(&mut self, name: &str) -> u32 {
        self.transactions.push(TransactionState {
            name: name.into(),
            ok: 0,
            failed: 0,
            abandoned: 0,
            stopped: 0,
            latencies: LatencyCounts::new(),
            failed_latencies: None,
            errors: ErrorTable::default(),
        });
        self.transaction_names.add(name)
    }

    #[inline]
    pub(crate) fn succeeded(&mut self, transaction: u32, latency: Nanos) {
        let state = &mut self.transactions[transaction as usize];
        state.ok += 1;
        state.latencies.record(micros(latency));
    }

    pub(crate) fn failed(&mut self, transaction: u32, latency: Nanos, failure: &Failure<'_>) {
        let state = &mut self.transactions[transaction as usize];
        state.failed += 1;
        state
            .failed_latencies
            .get_or_insert_with(latency_histogram)
            .saturating_record(micros(latency));
        state.errors.count(failure);
    }

    pub(crate) fn unfinished(&mut self, transaction: u32, how: Unfinished) {
        let state = &mut self.transactions[transaction as usize];
        match how {
            Unfinished::Abandoned => state.abandoned += 1,
            Unfinished::Stopped => state.stopped += 1,
        }
    }

    #[inline]
    pub(crate) fn count(&mut self, name: &str, amount: u64) {
        let number = match self.counter_names.find(name) {
            Some(number) => number,
            None => {
                self.counters.push(CounterState {
                    name: name.into(),
                    amount: 0,
                    reported: false,
                });
                self.counter_names.add(name)
            }
        };
        let counter = &mut self.counters[number as usize].amount;
        *counter = counter.saturating_add(amount);
    }

    #[inline]
    pub(crate) fn gauge(&mut self, name: &str, value: i64, merge: GaugeMerge) {
        match self.gauge_names.find(name) {
            Some(number) => {
                let gauge = &mut self.gauges[number as usize];
                gauge.last = value;
                gauge.min = gauge.min.min(value);
                gauge.max = gauge.max.max(value);
                gauge.merge = merge;
                gauge.set = true;
            }
            None => {
                self.gauges.push(GaugeState {
                    name: name.into(),
                    last: value,
                    min: value,
                    max: value,
                    merge,
                    set: true,
                });
                self.gauge_names.add(name);
            }
        }
    }

    /// What happened since the last call, and starts a new interval.
    pub(crate) fn take_interval(
        &mut self,
    ) -> (Vec<TransactionDelta>, Vec<(String, u64)>, Vec<GaugeValue>) {
        let transactions = self
            .transactions
            .iter_mut()
            .filter(|state| state.ok + state.failed + state.abandoned + state.stopped > 0)
            .map(TransactionState::take)
            .collect();
        let counters = self
            .counters
            .iter_mut()
            .filter(|counter| counter.amount > 0 || !counter.reported)
            .map(|counter| {
                counter.reported = true;
                (
                    counter.name.to_string(),
                    std::mem::take(&mut counter.amount),
                )
            })
            .collect();
        let gauges = self
            .gauges
            .iter_mut()
            .map(|gauge| {
                let value = GaugeValue {
                    name: gauge.name.to_string(),
                    last: gauge.last,
                    min: gauge.min,
                    max: gauge.max,
                    merge: gauge.merge,
                    set: gauge.set,
                };
                gauge.min = gauge.last;
                gauge.max = gauge.last;
                gauge.set = false;
                value
            })
            .collect();
        (transactions, counters, gauges)
    }
}

impl TransactionState {
    fn take(&mut self) -> TransactionDelta {
        let mut latencies = latency_histogram();
        self.latencies.drain_into(&mut latencies);
        let failed_latencies = match &mut self.failed_latencies {
            Some(histogram) => {
                let taken = histogram.clone();
                histogram.reset();
                taken
            }
            None => latency_histogram(),
        };
        TransactionDelta {
            name: self.name.to_string(),
            ok: std::mem::take(&mut self.ok),
            failed: std::mem::take(&mut self.failed),
            abandoned: std::mem::take(&mut self.abandoned),
            stopped: std::mem::take(&mut self.stopped),
            latencies,
            failed_latencies,
            errors: self.errors.take(),
        }
    }
}

impl ErrorTable {
    fn count(&mut self, failure: &Failure<'_>) {
        let found = match failure.kind {
            FailureKind::Io(kind) => self.by_io_kind.get(&kind),
            FailureKind::Named(name) => self.by_name.get(name),
        };
        let number = match found {
            Some(&number) => number,
            None => self.add_kind(failure),
        };
        let entry = &mut self.entries[number as usize];
        entry.count += 1;
        entry.seen += 1;
        if entry.samples.len() < SAMPLES_PER_KIND && entry.seen <= SAMPLED_FAILURES {
            failure.write_message(&mut self.scratch);
            if !entry.samples.contains(&self.scratch) {
                entry.samples.push(self.scratch.clone());
            }
        }
    }

    #[cold]
    fn add_kind(&mut self, failure: &Failure<'_>) -> u32 {
        let next = u32::try_from(self.entries.len()).expect("kinds are capped");
        let (kind, next) = if self.entries.len() < MAX_KINDS {
            (failure.kind(), next)
        } else {
            match self.by_name.get(OTHER_KINDS) {
                Some(&number) => return number,
                None => (OTHER_KINDS.to_owned(), next),
            }
        };
        match failure.kind {
            FailureKind::Io(io_kind) if kind != OTHER_KINDS => {
                self.by_io_kind.insert(io_kind, next);
            }
            _ => {
                self.by_name.insert(kind.as_str().into(), next);
            }
        }
        self.entries.push(ErrorEntry {
            kind,
            count: 0,
            seen: 0,
            samples: Vec::new(),
            samples_sent: 0,
        });
        next
    }

    fn take(&mut self) -> Vec<ErrorDelta> {
        self.entries
            .iter_mut()
            .filter(|entry| entry.count > 0 || entry.samples_sent < entry.samples.len())
            .map(|entry| {
                let new_samples = entry.samples[entry.samples_sent..].to_vec();
                entry.samples_sent = entry.samples.len();
                ErrorDelta {
                    kind: entry.kind.clone(),
                    count: std::mem::take(&mut entry.count),
                    new_samples,
                }
            })
            .collect()
    }
}

impl Registry {
    /// The interval as a snapshot.
    pub(crate) fn snapshot(
        &mut self,
        elapsed: Nanos,
        covers: Nanos,
        live_bots: usize,
        last: bool,
    ) -> MetricsSnapshot {
        let (transactions, counters, gauges) = self.take_interval();
        MetricsSnapshot {
            elapsed: std::time::Duration::from_nanos(elapsed),
            covers: std::time::Duration::from_nanos(covers),
            live_bots,
            last,
            transactions,
            counters,
            gauges,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_past_the_cap_count_together() {
        let mut registry = Registry::default();
        let login = registry.transaction("login");
        let reasons: Vec<String> = (0..150).map(|n| format!("reason {n}")).collect();
        for reason in &reasons {
            registry.failed(login, 1_000, &Failure::reason(reason));
        }
        let (transactions, _, _) = registry.take_interval();
        let errors = &transactions[0].errors;
        assert_eq!(errors.len(), MAX_KINDS + 1);
        let other = errors
            .iter()
            .find(|error| error.kind == OTHER_KINDS)
            .unwrap();
        assert_eq!(other.count, 50);
        assert_eq!(errors.iter().map(|error| error.count).sum::<u64>(), 150);
    }

    #[test]
    fn samples_are_distinct_and_sent_once() {
        let mut registry = Registry::default();
        let login = registry.transaction("login");
        for text in ["a", "a", "b", "c", "d"] {
            let error = io::Error::other(text);
            registry.failed(login, 1_000, &Failure::of(&error));
        }
        let (first, _, _) = registry.take_interval();
        assert_eq!(first[0].errors[0].new_samples, ["a", "b", "c"]);
        assert_eq!(first[0].errors[0].count, 5);
        registry.failed(login, 1_000, &Failure::of(&io::Error::other("e")));
        let (second, _, _) = registry.take_interval();
        assert!(second[0].errors[0].new_samples.is_empty());
        assert_eq!(second[0].errors[0].count, 1);
    }

    #[test]
    fn intervals_hold_only_their_own_counts() {
        let mut registry = Registry::default();
        let login = registry.transaction("login");
        registry.succeeded(login, 2_000_000);
        registry.count("bytes", 10);
        registry.gauge("players", 3, GaugeMerge::Sum);
        registry.gauge("players", 1, GaugeMerge::Sum);
        let (transactions, counters, gauges) = registry.take_interval();
        assert_eq!(transactions[0].ok, 1);
        assert_eq!(transactions[0].latencies.max(), 2_000);
        assert_eq!(counters, [("bytes".to_owned(), 10)]);
        assert_eq!((gauges[0].last, gauges[0].min, gauges[0].max), (1, 1, 3));
        let (transactions, counters, gauges) = registry.take_interval();
        assert!(transactions.is_empty() && counters.is_empty());
        assert_eq!((gauges[0].last, gauges[0].min, gauges[0].max), (1, 1, 1));
    }
}
