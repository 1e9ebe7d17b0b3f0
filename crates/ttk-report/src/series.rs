//! The run's series over time, kept at a resolution that bounds its size whatever the run's
//! length.
//!
//! A series starts one entry per second. When it would hold more than [`MAX_INTERVALS`]
//! entries, or its entries more than [`MAX_SERIES_BYTES`], every entry is widened to the next
//! interval of [`INTERVALS_S`] (1 s, 5 s, 10 s, 30 s, 1 min, 5 min, 10 min, 30 min, 1 h, 2 h,
//! 6 h, 1 day) and the entries inside one wider interval merge. Each interval divides the next,
//! so an interval is always a whole number of the narrower ones: widening adds counts and
//! histograms, which is exact, and two series of different intervals merge exactly once the
//! narrower is widened to the other's ([`Report::merge`](crate::Report::merge) does this).
//!
//! Why widen everything rather than keep the latest hour per second and older time coarser:
//! a report is read after the run, where one resolution for the whole run reads truer than one
//! that sharpens toward the end; a series' own entry count and size, not the run's age, decide
//! when to widen, so a short run keeps its seconds and a day-long one keeps minutes; and
//! intervals aligned on the run's start fall on the same boundaries in every shard of a run.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry as MapEntry;

use crate::histogram::CoarseHistogram;
use crate::model::{SecondReport, SecondTransaction};
use crate::series_entry::Entry;

/// The lengths an entry of the series may cover, in seconds: each divides the next.
///
/// # Examples
/// ```
/// let ladder = ttk_report::INTERVALS_S;
/// assert_eq!((ladder[0], ladder[4]), (1, 60));
/// assert!(ladder.windows(2).all(|pair| pair[1] % pair[0] == 0));
/// ```
pub const INTERVALS_S: [u64; 12] = [
    1, 5, 10, 30, 60, 300, 600, 1_800, 3_600, 7_200, 21_600, 86_400,
];

/// The most entries a series keeps: six minutes at one second, half an hour at five seconds,
/// an hour at ten, six hours at one minute, a day at five minutes. Enough points for a chart,
/// and few enough that a 20-minute run's memory stops growing after its first minutes.
///
/// # Examples
/// ```
/// assert_eq!(ttk_report::MAX_INTERVALS, 360);
/// ```
pub const MAX_INTERVALS: usize = 360;

/// The most bytes a series' entries may take in memory (their packed histograms plus a fixed
/// [`ENTRY_BYTES`] per transaction entry) before the series widens. This bounds the report's
/// JSON too: its series is at most about 4/3 of this (histograms are written in base64, and an
/// entry's other fields take under [`ENTRY_BYTES`]), 16.8 MB — unless even entries of a day
/// exceed it (thousands of transactions), since no interval is wider. The entry still open
/// also holds an unpacked 24 KB histogram per transaction, outside this count.
///
/// # Examples
/// ```
/// assert_eq!(ttk_report::MAX_SERIES_BYTES, 12 << 20);
/// ```
pub const MAX_SERIES_BYTES: usize = 12 << 20;

/// What one transaction's entry costs beside its packed histogram, counted against
/// [`MAX_SERIES_BYTES`]: at least its name and place in memory, and its fields in
/// pretty-printed JSON (about 230 bytes).
///
/// # Examples
/// ```
/// assert_eq!(ttk_report::ENTRY_BYTES, 256);
/// ```
pub const ENTRY_BYTES: usize = 256;

/// Whether `interval_s` is one of [`INTERVALS_S`].
///
/// # Examples
/// ```
/// assert!(ttk_report::is_series_interval(60));
/// assert!(!ttk_report::is_series_interval(45));
/// ```
pub fn is_series_interval(interval_s: u64) -> bool {
    INTERVALS_S.contains(&interval_s)
}

/// The interval of `interval_s`'s ladder that holds second `t` (from 1), named by its end.
fn interval_end(t: u64, interval_s: u64) -> u64 {
    t.max(1).div_ceil(interval_s).saturating_mul(interval_s)
}

/// The next wider interval than `interval_s`, if there is one.
fn wider(interval_s: u64) -> Option<u64> {
    INTERVALS_S
        .iter()
        .copied()
        .find(|&wider| wider > interval_s)
}

/// A series built entry by entry, in time order, widening as it must to stay within
/// [`MAX_INTERVALS`] entries and [`MAX_SERIES_BYTES`].
///
/// # Examples
/// ```
/// use ttk_report::{SecondReport, SeriesBuilder};
///
/// let mut series = SeriesBuilder::new();
/// for t in 1..=3_000 {
///     series.push(SecondReport { t, active_bots: 5, errors: 1, ..SecondReport::default() });
/// }
/// let (entries, interval_s) = series.finish();
/// // 3,000 seconds do not fit 360 entries at 1 s or 5 s: 10 s each.
/// assert_eq!((entries.len(), interval_s), (300, 10));
/// assert_eq!((entries[0].t, entries[0].length_s, entries[0].errors), (10, 10.0, 10));
/// ```
#[derive(Clone, Debug)]
pub struct SeriesBuilder {
    entries: Vec<Entry>,
    interval_s: u64,
    /// What `entries` cost, counted as [`MAX_SERIES_BYTES`] says.
    bytes: usize,
    /// The last entry's latencies by transaction, unpacked while later seconds may still join
    /// it: a second joins by one histogram merge, not by unpacking and packing the entry's.
    /// The entry's own packed histograms are stale until it is closed.
    open: BTreeMap<String, CoarseHistogram>,
    /// [`MAX_INTERVALS`] and [`MAX_SERIES_BYTES`], but for tests.
    max_intervals: usize,
    max_bytes: usize,
}

impl Default for SeriesBuilder {
    fn default() -> Self {
        SeriesBuilder::new()
    }
}

impl SeriesBuilder {
    /// An empty series, one entry per second until it must widen.
    ///
    /// # Examples
    /// ```
    /// let series = ttk_report::SeriesBuilder::new();
    /// assert_eq!((series.len(), series.interval_s()), (0, 1));
    /// ```
    pub fn new() -> Self {
        SeriesBuilder::at(1)
    }

    /// An empty series of `interval_s`-second entries (rounded up to one of [`INTERVALS_S`]).
    ///
    /// # Examples
    /// ```
    /// assert_eq!(ttk_report::SeriesBuilder::at(45).interval_s(), 60);
    /// ```
    pub fn at(interval_s: u64) -> Self {
        let interval_s = INTERVALS_S
            .iter()
            .copied()
            .find(|&step| step >= interval_s)
            .unwrap_or(INTERVALS_S[INTERVALS_S.len() - 1]);
        SeriesBuilder {
            entries: Vec::new(),
            interval_s,
            bytes: 0,
            open: BTreeMap::new(),
            max_intervals: MAX_INTERVALS,
            max_bytes: MAX_SERIES_BYTES,
        }
    }

    /// A series of other limits than [`MAX_INTERVALS`] and [`MAX_SERIES_BYTES`], to test
    /// widening at small sizes.
    #[cfg(test)]
    fn with_limits(max_intervals: usize, max_bytes: usize) -> Self {
        SeriesBuilder {
            max_intervals,
            max_bytes,
            ..SeriesBuilder::new()
        }
    }

    /// The length of its entries, in seconds.
    pub fn interval_s(&self) -> u64 {
        self.interval_s
    }

    /// How many entries it holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether it holds no entry.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// What its entries cost, counted as [`MAX_SERIES_BYTES`] says (the last entry as it
    /// was when it began, until a later one begins).
    ///
    /// # Examples
    /// ```
    /// use ttk_report::{Histogram, SecondReport, SecondTransaction, SeriesBuilder, ENTRY_BYTES};
    ///
    /// let mut second = SecondReport { t: 1, ..SecondReport::default() };
    /// let login = SecondTransaction::new(0, 0, &Histogram::new());
    /// let packed = login.histogram.bytes();
    /// second.transactions.insert("login".into(), login);
    /// let mut series = SeriesBuilder::new();
    /// series.push(second);
    /// assert_eq!(series.footprint_bytes(), packed + ENTRY_BYTES);
    /// ```
    pub fn footprint_bytes(&self) -> usize {
        self.bytes
    }

    /// Adds a later stretch of the run: `entry` is the time up to its `t`, after every entry
    /// pushed before (an entry at or before one already pushed is a late report of that time,
    /// from another loop or process, and is added to the entry holding it).
    pub fn push(&mut self, entry: SecondReport) {
        let mut entry = Entry::from_second(entry);
        let end = interval_end(entry.t, self.interval_s);
        match self.entries.last_mut() {
            Some(last) if interval_end(last.t, self.interval_s) == end => {
                // It joins the open entry: counts now, latencies into the unpacked histograms
                // (the entry is counted at its packed size until it closes, new transactions
                // included).
                let before = footprint(last);
                match entry.t > last.t {
                    true => last.append_counts(&entry),
                    false => last.add_counts(&entry),
                }
                for (name, transaction) in std::mem::take(&mut entry.transactions) {
                    let mine = last.transaction_mut(&name);
                    mine.ok = mine.ok.saturating_add(transaction.ok);
                    mine.failed = mine.failed.saturating_add(transaction.failed);
                    match self.open.get_mut(&*name) {
                        Some(open) => open.add_packed(&transaction.histogram),
                        None => {
                            let mut open = mine.histogram.coarse();
                            open.add_packed(&transaction.histogram);
                            self.open.insert(name.into_string(), open);
                        }
                    }
                }
                self.bytes = self.bytes - before + footprint(last);
            }
            Some(last) if entry.t < last.t => {
                let place = self
                    .entries
                    .partition_point(|mine| interval_end(mine.t, self.interval_s) < end);
                match self.entries.get_mut(place) {
                    Some(mine) if interval_end(mine.t, self.interval_s) == end => {
                        self.bytes -= footprint(mine);
                        mine.add(entry);
                        self.bytes += footprint(mine);
                    }
                    _ => {
                        self.bytes += footprint(&entry);
                        self.entries.insert(place, entry);
                    }
                }
            }
            _ => {
                self.close_open();
                self.bytes += footprint(&entry);
                self.entries.push(entry);
            }
        }
        while self.entries.len() > self.max_intervals || self.bytes > self.max_bytes {
            let Some(wider) = wider(self.interval_s) else {
                break;
            };
            self.widen_to(wider);
        }
    }

    /// Widens every entry to `interval_s` (one of [`INTERVALS_S`], at least the current one).
    fn widen_to(&mut self, interval_s: u64) {
        self.close_open();
        let entries = std::mem::take(&mut self.entries);
        self.interval_s = interval_s;
        let mut group: Vec<Entry> = Vec::new();
        for entry in entries {
            let end = interval_end(entry.t, interval_s);
            if group
                .last()
                .is_some_and(|last| interval_end(last.t, interval_s) != end)
            {
                self.entries.push(Entry::consecutive(group.drain(..)));
            }
            group.push(entry);
        }
        if !group.is_empty() {
            self.entries.push(Entry::consecutive(group.drain(..)));
        }
        self.bytes = self.entries.iter().map(footprint).sum();
    }

    /// Packs the open entry's latencies into it.
    fn close_open(&mut self) {
        if self.open.is_empty() {
            return;
        }
        let open = std::mem::take(&mut self.open);
        let Some(last) = self.entries.last_mut() else {
            return;
        };
        self.bytes -= footprint(last);
        for (name, latencies) in open {
            last.transaction_mut(&name).histogram = latencies.pack();
        }
        self.bytes += footprint(last);
    }

    /// The entries, in order of `t`, and their interval in seconds.
    ///
    /// Every entry's figures (`p50_us`…) are read from its histogram here: entries may have
    /// been pushed with [`SecondTransaction::packed`].
    pub fn finish(mut self) -> (Vec<SecondReport>, u64) {
        self.close_open();
        let entries = std::mem::take(&mut self.entries)
            .into_iter()
            .map(|entry| {
                let mut second = entry.into_second();
                for transaction in second.transactions.values_mut() {
                    // At the series' precision, whatever a file it came from held.
                    transaction.set(0, 0, &transaction.histogram.coarse());
                }
                second
            })
            .collect();
        (entries, self.interval_s)
    }
}

/// What one entry costs, counted as [`MAX_SERIES_BYTES`] says.
fn footprint(entry: &Entry) -> usize {
    entry
        .transactions
        .iter()
        .map(|(_, transaction)| transaction.histogram.bytes() + ENTRY_BYTES)
        .sum()
}

/// The series of several processes of one run (each in time order, of any intervals), at an
/// interval of at least `interval_s`: each process's series is widened on its own (its entries
/// are consecutive time), then entries of the same interval add up (they are the same time in
/// other processes: bots summed, the longest length), then the whole is kept within bounds.
pub(crate) fn merge(series: Vec<Vec<SecondReport>>, interval_s: u64) -> (Vec<SecondReport>, u64) {
    let widened = |entries: Vec<SecondReport>, interval_s: u64| {
        let mut builder = SeriesBuilder::at(interval_s);
        for entry in entries {
            builder.push(entry);
        }
        builder.finish()
    };
    let mut each: Vec<(Vec<SecondReport>, u64)> = series
        .into_iter()
        .map(|entries| widened(entries, interval_s))
        .collect();
    // A process's own series may have had to widen further (more entries than a series keeps).
    let interval_s = each
        .iter()
        .map(|(_, interval)| *interval)
        .max()
        .unwrap_or(interval_s);
    for (entries, interval) in &mut each {
        if *interval < interval_s {
            (*entries, *interval) = widened(std::mem::take(entries), interval_s);
        }
    }
    let mut by_interval: BTreeMap<u64, SecondReport> = BTreeMap::new();
    for (entries, _) in each {
        for entry in entries {
            match by_interval.entry(interval_end(entry.t, interval_s)) {
                MapEntry::Occupied(mut mine) => mine.get_mut().add(entry),
                MapEntry::Vacant(slot) => {
                    slot.insert(entry);
                }
            }
        }
    }
    widened(by_interval.into_values().collect(), interval_s)
}

impl SecondReport {
    /// Appends the entry of the time right after this one's: counts add up, histograms merge,
    /// the lengths add, and the bots alive are the later entry's (they are counted at the end).
    ///
    /// # Examples
    /// ```
    /// use ttk_report::SecondReport;
    ///
    /// let mut first = SecondReport { t: 1, active_bots: 4, errors: 1, ..SecondReport::default() };
    /// first.append(SecondReport { t: 2, active_bots: 6, errors: 2, ..SecondReport::default() });
    /// assert_eq!((first.t, first.active_bots, first.errors, first.length_s), (2, 6, 3, 2.0));
    /// ```
    pub fn append(&mut self, later: SecondReport) {
        self.t = self.t.max(later.t);
        self.active_bots = later.active_bots;
        self.errors = self.errors.saturating_add(later.errors);
        self.length_s += later.length_s;
        for (name, transaction) in later.transactions {
            match self.transactions.entry(name) {
                MapEntry::Occupied(mut mine) => mine.get_mut().add_entry(transaction),
                MapEntry::Vacant(slot) => {
                    slot.insert(transaction);
                }
            }
        }
    }
}

impl SecondTransaction {
    /// Adds another entry's counts and latencies of the same transaction.
    pub(crate) fn add_entry(&mut self, other: SecondTransaction) {
        let mut merged = self.histogram.coarse();
        merged.add_packed(&other.histogram);
        self.set(other.ok, other.failed, &merged);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::Histogram;

    fn second(t: u64, ok: u64, micros: u64) -> SecondReport {
        let mut histogram = Histogram::new();
        for _ in 0..ok {
            histogram.record(Duration::from_micros(micros));
        }
        let mut second = SecondReport {
            t,
            active_bots: t,
            ..SecondReport::default()
        };
        second
            .transactions
            .insert("get".into(), SecondTransaction::new(ok, 0, &histogram));
        second
    }

    #[test]
    fn a_short_series_keeps_its_seconds() {
        let mut series = SeriesBuilder::new();
        for t in 1..=MAX_INTERVALS as u64 {
            series.push(second(t, 1, t));
        }
        let (entries, interval_s) = series.finish();
        assert_eq!((entries.len(), interval_s), (MAX_INTERVALS, 1));
    }

    #[test]
    fn widening_keeps_every_count_and_sample() {
        let mut series = SeriesBuilder::with_limits(80, MAX_SERIES_BYTES);
        let seconds = 432;
        for t in 1..=seconds {
            series.push(second(t, 3, 100 + t));
        }
        let (entries, interval_s) = series.finish();
        // 432 s fit 80 entries neither at 1 s nor at 5 s.
        assert_eq!(interval_s, 10);
        assert_eq!(entries.len() as u64, seconds.div_ceil(10));
        let ok: u64 = entries.iter().map(|e| e.transactions["get"].ok).sum();
        let samples: u64 = entries
            .iter()
            .map(|e| e.transactions["get"].histogram.unpack().inner().len())
            .sum();
        assert_eq!((ok, samples), (3 * seconds, 3 * seconds));
        let length: f64 = entries.iter().map(|e| e.length_s).sum();
        assert_eq!(length, seconds as f64);
        // Bots alive are counted at each interval's end.
        assert_eq!(entries[0].active_bots, 10);
    }

    #[test]
    fn late_reports_join_the_entry_of_their_time() {
        let mut series = SeriesBuilder::new();
        series.push(second(1, 1, 10));
        series.push(second(3, 1, 10));
        series.push(second(2, 1, 10));
        series.push(second(1, 1, 10));
        let (entries, _) = series.finish();
        let ts: Vec<u64> = entries.iter().map(|e| e.t).collect();
        assert_eq!(ts, [1, 2, 3]);
        assert_eq!(entries[0].transactions["get"].ok, 2);
    }

    #[test]
    fn a_late_second_adds_its_counts_but_not_its_bots_to_a_wider_entry() {
        let mut series = SeriesBuilder::at(10);
        for t in 1..=7 {
            series.push(second(t, 1, 10));
        }
        // Another loop's second 3, later than the others: bots alive at 3 are not at 7.
        series.push(second(3, 1, 10));
        let (entries, _) = series.finish();
        assert_eq!(entries.len(), 1);
        assert_eq!((entries[0].t, entries[0].active_bots), (7, 7));
        assert_eq!(entries[0].transactions["get"].ok, 8);
        assert_eq!(entries[0].length_s, 7.0);
    }

    #[test]
    fn merged_processes_add_bots_and_keep_the_longest_length_in_any_order() {
        // One process of 1-second entries to 12 s, one of 10-second entries to 8 s.
        let ones: Vec<SecondReport> = (1..=12).map(|t| second(t, 1, 10)).collect();
        let mut tens = second(8, 5, 10);
        tens.length_s = 8.0;
        tens.active_bots = 100;
        for order in [
            vec![ones.clone(), vec![tens.clone()]],
            vec![vec![tens], ones],
        ] {
            let (entries, interval_s) = merge(order, 10);
            assert_eq!(interval_s, 10);
            let spans: Vec<(u64, f64, u64)> = entries
                .iter()
                .map(|e| (e.t, e.length_s, e.active_bots))
                .collect();
            assert_eq!(spans, [(10, 10.0, 110), (12, 2.0, 12)]);
            assert_eq!(entries[0].transactions["get"].ok, 15);
        }
    }

    #[test]
    fn a_partial_last_interval_ends_at_its_last_second() {
        let mut series = SeriesBuilder::at(10);
        for t in 1..=25 {
            series.push(second(t, 1, 10));
        }
        let (entries, _) = series.finish();
        let spans: Vec<(u64, f64)> = entries.iter().map(|e| (e.t, e.length_s)).collect();
        assert_eq!(spans, [(10, 10.0), (20, 10.0), (25, 5.0)]);
    }

    #[test]
    fn the_byte_budget_widens_a_series_of_wide_histograms() {
        let budget = 64 << 10;
        let mut series = SeriesBuilder::with_limits(MAX_INTERVALS, budget);
        // Many distinct latencies per second: big histograms.
        let mut histogram = Histogram::new();
        for micros in 1..1_000u64 {
            histogram.record(Duration::from_micros(micros * 997 % 3_000_000 + 1));
        }
        let entry = SecondTransaction::new(1_000, 0, &histogram);
        for t in 1..=100u64 {
            let mut second = SecondReport {
                t,
                ..SecondReport::default()
            };
            for name in 0..3 {
                second
                    .transactions
                    .insert(format!("tx{name}"), entry.clone());
            }
            series.push(second);
            assert!(series.footprint_bytes() <= budget);
        }
        assert!(series.interval_s() > 1, "{}", series.interval_s());
        let (entries, _) = series.finish();
        let ok: u64 = entries.iter().map(|e| e.transactions["tx1"].ok).sum();
        assert_eq!(ok, 100 * 1_000);
    }

    #[test]
    fn the_entry_limit_widens_by_the_ladder() {
        let mut series = SeriesBuilder::with_limits(10, MAX_SERIES_BYTES);
        for t in 1..=100 {
            series.push(second(t, 1, 10));
        }
        // 100 s in at most 10 entries: 10 s each (5 s would need 20).
        let (entries, interval_s) = series.finish();
        assert_eq!((entries.len(), interval_s), (10, 10));
    }
}
