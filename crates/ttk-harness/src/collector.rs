//! Adds up the loops' metric snapshots into a report: totals (exact histogram merges) and the
//! series over time, one entry per second until it must widen to stay bounded
//! ([`SeriesBuilder`]).

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

use ttk_core::metrics::{
    ErrorDelta, GaugeMerge as LoopGaugeMerge, MetricsSnapshot, TransactionDelta,
};
use ttk_report::{
    ErrorTally, GaugeMerge, GaugeReport, Histogram, Report, SecondReport, SecondTransaction,
    SeriesBuilder, TransactionReport,
};

use super::shard_totals::ShardTotals;

/// The longest last interval that joins the second before it, in seconds.
const SLIVER_S: f64 = 0.05;

/// How many seconds behind the latest a second stays on its own (other loops may still send
/// theirs, and the live view shows it) before it joins the series.
const OPEN_SECONDS: u64 = 10;

/// Distinct sample messages kept per error kind.
const SAMPLES_PER_KIND: usize = 3;

/// A report in the making.
#[derive(Debug)]
pub(crate) struct Collector {
    report: Report,
    /// Each transaction's place in `report.transactions`.
    places: BTreeMap<String, usize>,
    /// The latest seconds, on their own until they join `series`.
    seconds: BTreeMap<u64, SecondReport>,
    series: SeriesBuilder,
    /// The loop's time at the latest snapshot, in seconds: the run's length on its own clock.
    loop_elapsed: f64,
    /// Each gauge of each loop (by loop, then name), with when it was last set (in
    /// milliseconds on the loop's clock): the run's gauge combines them by its rule.
    gauges: BTreeMap<(usize, String), GaugeReport>,
    /// Each loop's latest second, how long it covered and the bots alive at its end.
    latest_of_loop: BTreeMap<usize, (u64, f64, u64)>,
    /// The parent of `--processes`: its children's failures by kind, counters and gauges so
    /// far, summed (its seconds carry none of them).
    children_totals: Option<ShardTotals>,
}

impl Collector {
    pub(crate) fn new(report: Report) -> Self {
        Collector {
            report,
            places: BTreeMap::new(),
            seconds: BTreeMap::new(),
            series: SeriesBuilder::new(),
            loop_elapsed: 0.0,
            gauges: BTreeMap::new(),
            latest_of_loop: BTreeMap::new(),
            children_totals: None,
        }
    }

    /// Adds loop `from`'s snapshot (its histograms move into the report: nothing is copied);
    /// returns its second's entry.
    pub(crate) fn add(&mut self, from: usize, snapshot: MetricsSnapshot) -> &SecondReport {
        // A second is named by its end. The run's last, partial, interval is a second of its own,
        // unless it is a sliver (under 50 ms) after a whole second — a run stopped at its
        // deadline — which joins that second.
        let seconds = snapshot.elapsed.as_secs_f64();
        let t = match snapshot.last {
            true => (seconds - SLIVER_S).ceil(),
            false => seconds.round(),
        }
        .max(1.0) as u64;
        let covers = snapshot.covers.as_secs_f64();
        let joins_the_second_before = snapshot.last && (t as f64) < seconds;
        self.loop_elapsed = self.loop_elapsed.max(seconds);
        // Seconds well behind the latest join the series (a loop's second that comes later
        // still is added to the series' entry of its time when it joins).
        let latest = self
            .seconds
            .last_key_value()
            .map_or(t, |(&last, _)| last.max(t));
        while let Some(entry) = self.seconds.first_entry() {
            if entry.key().saturating_add(OPEN_SECONDS) > latest {
                break;
            }
            self.series.push(entry.remove());
        }
        // What this loop put in its latest second: a sliver that joins it extends that loop's
        // time and replaces its bots alive, rather than counting them twice.
        let before = match joins_the_second_before {
            true => self.latest_of_loop.get(&from).filter(|(at, _, _)| *at == t),
            false => None,
        }
        .map(|&(_, covered, bots)| (covered, bots));
        let live_bots = snapshot.live_bots as u64;
        let second = match self.seconds.entry(t) {
            Entry::Vacant(slot) => slot.insert(SecondReport {
                t,
                length_s: covers,
                ..SecondReport::default()
            }),
            Entry::Occupied(slot) => slot.into_mut(),
        };
        let covered = match before {
            Some((covered, bots)) => {
                second.active_bots = second.active_bots.saturating_sub(bots);
                covered + covers
            }
            None => covers,
        };
        // Loops' intervals over the same time: the longest stands.
        second.length_s = second.length_s.max(covered);
        second.active_bots += live_bots;
        self.latest_of_loop.insert(from, (t, covered, live_bots));
        for delta in snapshot.transactions {
            let place = match self.places.get(&delta.name) {
                Some(&place) => place,
                None => {
                    self.report
                        .transactions
                        .push(TransactionReport::new(&delta.name));
                    let place = self.report.transactions.len() - 1;
                    self.places.insert(delta.name.clone(), place);
                    place
                }
            };
            second.errors += delta.failed;
            let (name, ok, failed) = (delta.name.clone(), delta.ok, delta.failed);
            let latencies = add_totals(&mut self.report.transactions[place], delta);
            match second.transactions.get_mut(&name) {
                Some(entry) => entry.add(ok, failed, &latencies),
                None => {
                    // Its figures are read when the series is finished (or the second shown).
                    let entry = SecondTransaction::packed(ok, failed, &latencies);
                    second.transactions.insert(name, entry);
                }
            }
        }
        for (name, amount) in &snapshot.counters {
            *self.report.counters.entry(name.clone()).or_default() += amount;
        }
        // 0 means "never set": a gauge set in the first millisecond is at 1.
        let at_ms = ((seconds * 1_000.0).round() as u64).max(1);
        for gauge in &snapshot.gauges {
            let mine = self
                .gauges
                .entry((from, gauge.name.clone()))
                .or_insert(GaugeReport {
                    last: gauge.last,
                    min: gauge.min,
                    max: gauge.max,
                    merge: GaugeMerge::Sum,
                    last_set_unix_ms: 0,
                });
            mine.last = gauge.last;
            mine.min = mine.min.min(gauge.min);
            mine.max = mine.max.max(gauge.max);
            mine.merge = match gauge.merge {
                LoopGaugeMerge::Sum => GaugeMerge::Sum,
                LoopGaugeMerge::Max => GaugeMerge::Max,
                LoopGaugeMerge::Last => GaugeMerge::Last,
            };
            if gauge.set {
                mine.last_set_unix_ms = at_ms;
            }
        }
        &self.seconds[&t]
    }

    /// Adds a whole second of the run, its processes' figures merged (the parent of
    /// `--processes`, which sees its children's seconds, not their loops'): its counts and
    /// latencies join the totals (at the series' precision: the children's reports hold the
    /// exact ones), and the second the series.
    pub(crate) fn add_second(&mut self, second: SecondReport) {
        for (name, figures) in &second.transactions {
            let place = match self.places.get(name) {
                Some(&place) => place,
                None => {
                    self.report.transactions.push(TransactionReport::new(name));
                    let place = self.report.transactions.len() - 1;
                    self.places.insert(name.clone(), place);
                    place
                }
            };
            let total = &mut self.report.transactions[place];
            total.ok += figures.ok;
            total.failed += figures.failed;
            total.histogram.merge(&figures.histogram.unpack());
        }
        self.loop_elapsed = self.loop_elapsed.max(second.t as f64);
        self.latest_of_loop
            .insert(0, (second.t, second.length_s, second.active_bots));
        self.series.push(second);
    }

    /// The entry of second `t`, if any loop sent it.
    pub(crate) fn second(&self, t: u64) -> Option<&SecondReport> {
        self.seconds.get(&t)
    }

    /// The bots alive at the end of each loop's latest second, summed.
    pub(crate) fn active_bots(&self) -> u64 {
        self.latest_of_loop.values().map(|&(_, _, bots)| bots).sum()
    }

    /// Runs `read` on the report as it is now: its totals, its series so far (the open
    /// seconds included) and its gauges combined, its length on the loops' clocks. Nothing of
    /// the totals is copied (the histograms are large); the series is, bounded as it is.
    pub(crate) fn with_live_report<R>(
        &mut self,
        with_series: bool,
        changes: Vec<ttk_report::LoadChange>,
        read: impl FnOnce(&Report) -> R,
    ) -> R {
        if with_series {
            let mut series = self.series.clone();
            for second in self.seconds.values() {
                series.push(second.clone());
            }
            (self.report.series, self.report.series_interval_s) = series.finish();
        }
        for ((_, name), gauge) in &self.gauges {
            match self.report.gauges.entry(name.clone()) {
                Entry::Occupied(mut total) => total.get_mut().combine(*gauge),
                Entry::Vacant(slot) => {
                    slot.insert(*gauge);
                }
            }
        }
        if let Some(totals) = &self.children_totals {
            totals.put_in(&mut self.report);
        }
        self.report.run.duration_s = self.loop_elapsed;
        self.report.run.end = "running".to_owned();
        self.report.run.changes = changes;
        let read = read(&self.report);
        // The report keeps only totals until it is finished.
        self.report.series = Vec::new();
        self.report.gauges.clear();
        self.report.run.end.clear();
        self.report.run.changes.clear();
        read
    }

    /// The parent of `--processes`: its children's totals so far, summed, which the live
    /// report shows.
    pub(crate) fn set_children_totals(&mut self, totals: ShardTotals) {
        self.children_totals = Some(totals);
    }

    /// What this process has counted so far besides its seconds (its loops' gauges combined),
    /// for the parent of `--processes`.
    pub(crate) fn totals(&self) -> ShardTotals {
        let mut totals = ShardTotals::of(&self.report);
        for ((_, name), gauge) in &self.gauges {
            totals
                .gauges
                .entry(name.clone())
                .and_modify(|total| total.combine(*gauge))
                .or_insert(*gauge);
        }
        totals
    }

    /// Sets when the run started, in seconds since the Unix epoch (the live view shows it).
    pub(crate) fn set_started(&mut self, unix_s: f64) {
        self.report.run.started_unix_s = unix_s;
    }

    /// The report, with its series and gauges, and the run's length on the loops' clocks (in
    /// seconds). The loops' gauges combine by their rules, as when processes' reports merge;
    /// a gauge's `last_set_unix_ms` is still on the loops' clock (milliseconds since the run's
    /// start) for the caller to move onto the wall clock.
    pub(crate) fn finish(mut self) -> (Report, f64) {
        for second in std::mem::take(&mut self.seconds).into_values() {
            self.series.push(second);
        }
        (self.report.series, self.report.series_interval_s) = self.series.finish();
        for ((_, name), gauge) in self.gauges {
            match self.report.gauges.entry(name) {
                Entry::Occupied(mut total) => total.get_mut().combine(gauge),
                Entry::Vacant(slot) => {
                    slot.insert(gauge);
                }
            }
        }
        (self.report, self.loop_elapsed)
    }
}

/// Adds `delta` to `total`; returns its success latencies.
fn add_totals(total: &mut TransactionReport, delta: TransactionDelta) -> Histogram {
    total.ok += delta.ok;
    total.failed += delta.failed;
    total.abandoned += delta.abandoned;
    total.stopped += delta.stopped;
    let latencies = Histogram::from_inner(delta.latencies);
    total.histogram.merge(&latencies);
    if delta.failed > 0 {
        total
            .failed_histogram
            .merge(&Histogram::from_inner(delta.failed_latencies));
    }
    for error in &delta.errors {
        add_error(&mut total.errors, error);
    }
    latencies
}

fn add_error(errors: &mut Vec<ErrorTally>, delta: &ErrorDelta) {
    let tally = match errors.iter().position(|tally| tally.kind == delta.kind) {
        Some(place) => &mut errors[place],
        None => {
            errors.push(ErrorTally {
                kind: delta.kind.clone(),
                count: 0,
                samples: Vec::new(),
            });
            errors.last_mut().expect("just pushed")
        }
    };
    tally.count += delta.count;
    for sample in &delta.new_samples {
        if tally.samples.len() < SAMPLES_PER_KIND && !tally.samples.contains(sample) {
            tally.samples.push(sample.clone());
        }
    }
}

/// Adds a bot's failure to a tally of kinds.
pub(crate) fn add_bot_error(errors: &mut Vec<ErrorTally>, kind: &str, message: String) {
    add_error(
        errors,
        &ErrorDelta {
            kind: kind.to_owned(),
            count: 1,
            new_samples: vec![message],
        },
    );
}

/// The latencies of every transaction of one second, merged.
pub(crate) fn all_latencies(second: &SecondReport) -> Histogram {
    let mut all = Histogram::new();
    for transaction in second.transactions.values() {
        all.merge(&transaction.histogram.unpack());
    }
    all
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn snapshot(elapsed_ms: u64, covers_ms: u64, live_bots: usize, last: bool) -> MetricsSnapshot {
        MetricsSnapshot {
            elapsed: Duration::from_millis(elapsed_ms),
            covers: Duration::from_millis(covers_ms),
            live_bots,
            last,
            transactions: Vec::new(),
            counters: Vec::new(),
            gauges: Vec::new(),
        }
    }

    /// Two loops stopped 30 ms after a whole second: each one's sliver extends its own time
    /// and replaces its own bots; neither is counted twice.
    #[test]
    fn the_last_slivers_of_several_loops_join_their_second_once_each() {
        let mut collector = Collector::new(Report::new("slivers"));
        for from in 0..2 {
            collector.add(from, snapshot(1_000, 1_000, 5, false));
        }
        for from in 0..2 {
            collector.add(from, snapshot(1_030, 30, 4, true));
        }
        let (report, _) = collector.finish();
        assert_eq!(report.series.len(), 1);
        let second = &report.series[0];
        assert_eq!(second.t, 1);
        assert!((second.length_s - 1.03).abs() < 1e-9, "{}", second.length_s);
        assert_eq!(second.active_bots, 8);
    }
}
