//! One entry of a series while it is built: a [`SecondReport`] with its transactions in a
//! sorted vector instead of a map. A map's every node holds room for eleven transactions (about
//! 1 KB), most entries hold one or two: a 20-minute run's series would spend most of its memory
//! on empty room.

use std::collections::BTreeMap;

use crate::histogram::CoarseHistogram;
use crate::model::{SecondReport, SecondTransaction};

/// An entry of a series being built.
#[derive(Clone, Debug)]
pub(crate) struct Entry {
    pub(crate) t: u64,
    active_bots: u64,
    errors: u64,
    length_s: f64,
    /// By name, sorted.
    pub(crate) transactions: Vec<(Box<str>, SecondTransaction)>,
}

impl Entry {
    pub(crate) fn from_second(second: SecondReport) -> Entry {
        // A map iterates in name order: the vector is sorted.
        let mut transactions: Vec<(Box<str>, SecondTransaction)> = second
            .transactions
            .into_iter()
            .map(|(name, transaction)| (name.into_boxed_str(), transaction))
            .collect();
        transactions.shrink_to_fit();
        Entry {
            t: second.t,
            active_bots: second.active_bots,
            errors: second.errors,
            length_s: second.length_s,
            transactions,
        }
    }

    pub(crate) fn into_second(self) -> SecondReport {
        SecondReport {
            t: self.t,
            active_bots: self.active_bots,
            errors: self.errors,
            length_s: self.length_s,
            transactions: self
                .transactions
                .into_iter()
                .map(|(name, transaction)| (name.into_string(), transaction))
                .collect(),
        }
    }

    /// Its transaction `name`, added (empty) if it has none.
    pub(crate) fn transaction_mut(&mut self, name: &str) -> &mut SecondTransaction {
        let place = match self
            .transactions
            .binary_search_by(|(mine, _)| (**mine).cmp(name))
        {
            Ok(place) => place,
            Err(place) => {
                let empty = (Box::from(name), SecondTransaction::default());
                self.transactions.insert(place, empty);
                place
            }
        };
        &mut self.transactions[place].1
    }

    /// Takes the counts of the time right after this entry's (the bots alive are counted at
    /// the end), leaving its transactions to the caller.
    pub(crate) fn append_counts(&mut self, later: &Entry) {
        self.t = self.t.max(later.t);
        self.active_bots = later.active_bots;
        self.errors = self.errors.saturating_add(later.errors);
        self.length_s += later.length_s;
    }

    /// Takes the counts of another loop's report of the same time, or of a late one of an
    /// earlier second in this entry's interval: its bots were alive before the entry's end, not
    /// at it, so only a report of the entry's own last second adds its bots.
    pub(crate) fn add_counts(&mut self, other: &Entry) {
        if other.t >= self.t {
            self.active_bots = self.active_bots.saturating_add(other.active_bots);
        }
        self.t = self.t.max(other.t);
        self.errors = self.errors.saturating_add(other.errors);
        // They cover the same time: the longest stands.
        self.length_s = self.length_s.max(other.length_s);
    }

    /// Adds another report of the same time, transactions included.
    pub(crate) fn add(&mut self, other: Entry) {
        self.add_counts(&other);
        for (name, transaction) in other.transactions {
            self.transaction_mut(&name).add_entry(transaction);
        }
    }

    /// One entry for consecutive `entries` (at least one, in time order), each transaction's
    /// histograms merged once.
    pub(crate) fn consecutive(entries: impl Iterator<Item = Entry>) -> Entry {
        let mut merged = Entry {
            t: 0,
            active_bots: 0,
            errors: 0,
            length_s: 0.0,
            transactions: Vec::new(),
        };
        let mut latencies: BTreeMap<Box<str>, (u64, u64, CoarseHistogram)> = BTreeMap::new();
        for entry in entries {
            merged.append_counts(&entry);
            for (name, transaction) in entry.transactions {
                let (ok, failed, histogram) = latencies.entry(name).or_default();
                *ok = ok.saturating_add(transaction.ok);
                *failed = failed.saturating_add(transaction.failed);
                histogram.add_packed(&transaction.histogram);
            }
        }
        merged.transactions = latencies
            .into_iter()
            .map(|(name, (ok, failed, histogram))| {
                let mut transaction = SecondTransaction::default();
                transaction.set(ok, failed, &histogram);
                (name, transaction)
            })
            .collect();
        merged
    }
}
