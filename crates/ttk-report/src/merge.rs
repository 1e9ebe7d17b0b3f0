//! Merging the reports of the processes (shards) of one run into the report of the whole run.
//!
//! What a report counts is a sum, and its histograms keep every count, so the merge is exact:
//! the merged report is the one a single process would have written had it run every bot —
//! except for the gauges' extremes, which no sum can recover (see [`Report::merge`]).

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

use crate::model::{
    BotTally, ErrorTally, Parameters, Report, ReportError, RunInfo, SCHEMA, SecondReport, ShardSet,
    TransactionReport,
};

impl Report {
    /// Merges the reports of the processes of one run, exactly.
    ///
    /// - **Transactions** are matched by name, in order of first appearance; their counts are
    ///   summed and their histograms merged (no count is lost). Error tallies are matched by
    ///   kind: counts summed, samples kept distinct, at most [`ErrorTally::MAX_SAMPLES`].
    /// - **Counters** and **bots** are summed.
    /// - **Gauges** combine by their rule ([`GaugeReport::combine`](crate::GaugeReport::combine)): for `sum` (a share of a
    ///   total, as players in a lobby) `last`, `min` and `max` are each summed — `last` is then
    ///   exact; the summed `min` can only be lower, and the summed `max` only higher, than the
    ///   true extremes of the total, since the processes do not reach theirs in the same
    ///   second. For `max` and `last` (readings of one quantity) the extremes are exact.
    /// - **Series**: each report's series is widened on its own to the widest
    ///   `series_interval_s` among them (exact: each interval is a whole number of the
    ///   narrower ones), then entries of the same interval (after the wall-clock shift below)
    ///   are merged, in any order of the reports: counts and `active_bots` summed, histograms
    ///   merged, the longest length. The merged series widens further if it
    ///   would exceed [`MAX_INTERVALS`](crate::MAX_INTERVALS) entries or
    ///   [`MAX_SERIES_BYTES`](crate::MAX_SERIES_BYTES).
    /// - **Run**: `processes` are summed; `started_unix_s` is the earliest and `duration_s`
    ///   runs from it to the latest end; `end` is the worst one, in the order `failed` >
    ///   `interrupted` > `stalled` > `duration` > `completed` (an end this version does not
    ///   know ranks just below `failed`, so it is never hidden), with that report's
    ///   `end_detail`. `ttk_version` and `parameters` are the first report's.
    /// - **Thresholds** are cleared: they are checked again on the merged report
    ///   ([`Report::check_thresholds`]), since none of the processes' verdicts is the run's.
    ///
    /// - **Shards**: reports of shards (`run.shard`, or earlier merges' `run.shards`) must be
    ///   of the same count and hold no shard twice; the merge's `run.shards` says which shards
    ///   it holds and names those missing — a merge without every shard is still made, and is
    ///   *incomplete*.
    /// - **Series** are aligned on the wall clock: a report that started whole seconds after
    ///   the earliest has its seconds shifted by that many.
    ///
    /// # Errors
    /// [`ReportError::Merge`] when there are no reports, when a report is not of [`SCHEMA`],
    /// when the reports are of different runs (names or run ids differ), of different
    /// parameters (the command lines aside), or when their shards do not fit together (another
    /// count, a shard twice, a whole run among shards).
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// use ttk_report::{Report, TransactionReport};
    ///
    /// let shard = |millis| {
    ///     let mut login = TransactionReport::new("login");
    ///     login.record_ok(Duration::from_millis(millis));
    ///     let mut report = Report::new("checkout");
    ///     report.transactions.push(login);
    ///     report
    /// };
    /// let merged = Report::merge([shard(10), shard(30)]).unwrap();
    /// assert_eq!(merged.run.processes, 2);
    /// assert_eq!(merged.transactions[0].ok, 2);
    /// assert_eq!(merged.transactions[0].latency().count, 2);
    ///
    /// let other_run = Report::new("browse");
    /// assert!(Report::merge([shard(10), other_run]).is_err());
    /// ```
    pub fn merge(reports: impl IntoIterator<Item = Report>) -> Result<Report, ReportError> {
        let mut reports: Vec<Report> = reports.into_iter().collect();
        if reports.is_empty() {
            return Err(ReportError::Merge(
                "there are no reports to merge".to_owned(),
            ));
        }
        for (index, report) in reports.iter().enumerate() {
            check_schema(report, index + 1)?;
            check_same_run(&reports[0], report, index + 1)?;
        }
        let shards = shard_set(&reports)?;
        // Seconds are aligned on the wall clock: each report's are shifted by how many whole
        // seconds after the earliest one it started (0 for shards started together).
        let earliest = reports
            .iter()
            .map(|report| report.run.started_unix_s)
            .fold(f64::INFINITY, f64::min);
        for (index, report) in reports.iter_mut().enumerate() {
            let shift = (report.run.started_unix_s - earliest).round().max(0.0);
            let last = report.series.last().map_or(0, |second| second.t);
            if !shift.is_finite() || shift + last as f64 > crate::MAX_SERIES_SECONDS as f64 {
                return Err(ReportError::Merge(format!(
                    "report {} started {shift} s after the earliest: its series would run past \
                     {} seconds; these are not shards of one run",
                    index + 1,
                    crate::MAX_SERIES_SECONDS
                )));
            }
            let shift = shift as u64;
            for second in &mut report.series {
                second.t = second.t.saturating_add(shift);
            }
        }
        // Every series is widened to the widest interval among them (each interval divides the
        // wider ones, so this adds counts exactly), then entries of the same time add up.
        let interval_s = reports
            .iter()
            .map(|report| report.series_interval_s)
            .max()
            .unwrap_or(1);
        let series: Vec<Vec<SecondReport>> = reports
            .iter_mut()
            .map(|report| std::mem::take(&mut report.series))
            .collect();
        let mut reports = reports.into_iter();
        let mut merged = reports.next().expect("there is a report");
        merged.thresholds.clear();
        for report in reports {
            merged.add(report);
        }
        (merged.series, merged.series_interval_s) = crate::series::merge(series, interval_s);
        merged.run.shard = None;
        merged.run.shards = shards;
        Ok(merged)
    }

    /// Adds everything `other` counted to this report.
    fn add(&mut self, other: Report) {
        self.run.add(other.run);
        for transaction in other.transactions {
            match self
                .transactions
                .iter_mut()
                .find(|mine| mine.name == transaction.name)
            {
                Some(mine) => mine.add(transaction),
                None => self.transactions.push(transaction),
            }
        }
        for (name, value) in other.counters {
            let mine = self.counters.entry(name).or_default();
            *mine = mine.saturating_add(value);
        }
        for (name, gauge) in other.gauges {
            match self.gauges.entry(name) {
                Entry::Occupied(mut mine) => mine.get_mut().combine(gauge),
                Entry::Vacant(slot) => {
                    slot.insert(gauge);
                }
            }
        }
        self.bots.add(other.bots);
    }
}

/// Refuses report `number` (from 1) if it is not of the same run as `first`: another name,
/// run id or parameters.
fn check_same_run(first: &Report, report: &Report, number: usize) -> Result<(), ReportError> {
    let (mine, theirs) = (&first.run, &report.run);
    if theirs.name != mine.name {
        return Err(ReportError::Merge(format!(
            "report {number} is of the run {:?}, report 1 of the run {:?}; \
             only the reports of one run's processes merge",
            theirs.name, mine.name
        )));
    }
    if theirs.run_id != mine.run_id {
        return Err(ReportError::Merge(format!(
            "report {number} is of run id {:?}, report 1 of run id {:?}: \
             they are not shards of one run",
            theirs.run_id, mine.run_id
        )));
    }
    let differ = differing_parameters(&mine.parameters, &theirs.parameters);
    if !differ.is_empty() {
        return Err(ReportError::Merge(format!(
            "report {number} was run with other parameters than report 1 ({}): \
             shards of one run are given the same",
            differ.join("; ")
        )));
    }
    Ok(())
}

/// The parameters (the command line aside) that differ, as `name: a vs b`.
fn differing_parameters(a: &Parameters, b: &Parameters) -> Vec<String> {
    let as_map = |parameters: &Parameters| match serde_json::to_value(parameters) {
        Ok(serde_json::Value::Object(mut map)) => {
            map.remove("command_line");
            map
        }
        _ => unreachable!("parameters serialize to an object"),
    };
    let (a, b) = (as_map(a), as_map(b));
    a.iter()
        .filter(|(key, value)| b.get(*key) != Some(value))
        .map(|(key, value)| {
            let other = b.get(key).cloned().unwrap_or(serde_json::Value::Null);
            format!("{key}: {value} vs {other}")
        })
        .collect()
}

/// The shards the reports hold, if they are shards' reports: each shard once, of one count.
fn shard_set(reports: &[Report]) -> Result<Option<ShardSet>, ReportError> {
    let held = |report: &Report| match (&report.run.shard, &report.run.shards) {
        (Some(shard), _) => Some((shard.count, vec![shard.index])),
        (None, Some(set)) => Some((set.count, set.merged.clone())),
        (None, None) => None,
    };
    let Some((count, _)) = held(&reports[0]) else {
        if let Some(number) = reports.iter().position(|report| held(report).is_some()) {
            return Err(ReportError::Merge(format!(
                "report {} is a shard's and report 1 is not: a whole run does not merge with shards",
                number + 1
            )));
        }
        return Ok(None);
    };
    // Reports built in memory are not checked as files are: bound the count here too, since
    // the merge lists every shard (and no longer allocate by it: a map of the shards seen).
    crate::limits::check_shard_count(count, "report 1's shard count")
        .map_err(ReportError::Merge)?;
    let mut seen: BTreeMap<u32, usize> = BTreeMap::new();
    for (index, report) in reports.iter().enumerate() {
        let number = index + 1;
        let Some((their_count, shards)) = held(report) else {
            return Err(ReportError::Merge(format!(
                "report {number} is not a shard's and report 1 is: a whole run does not merge with shards"
            )));
        };
        if their_count != count {
            return Err(ReportError::Merge(format!(
                "report {number} is of a run cut in {their_count} shards, report 1 of one cut in {count}"
            )));
        }
        for shard in shards {
            if shard >= count {
                return Err(ReportError::Merge(format!(
                    "report {number} says it holds shard {shard} of {count}, which does not exist"
                )));
            }
            if let Some(before) = seen.insert(shard, number) {
                return Err(ReportError::Merge(format!(
                    "shard {shard} is in report {before} and in report {number}: \
                     a shard merges once"
                )));
            }
        }
    }
    let (merged, missing): (Vec<u32>, Vec<u32>) =
        (0..count).partition(|shard| seen.contains_key(shard));
    Ok(Some(ShardSet {
        count,
        merged,
        missing,
    }))
}

/// Refuses a report this version cannot merge; `number` counts from 1 for the message.
fn check_schema(report: &Report, number: usize) -> Result<(), ReportError> {
    if report.schema == SCHEMA {
        return Ok(());
    }
    Err(ReportError::Merge(format!(
        "report {number} (run {:?}) is of schema {:?}; this ttk merges {SCHEMA:?}",
        report.run.name, report.schema
    )))
}

impl RunInfo {
    /// Adds the run of another process of the same run.
    fn add(&mut self, other: RunInfo) {
        self.processes = self.processes.saturating_add(other.processes);
        // Judged by thresholds (or with the rule off) in one process: the whole run is too.
        self.success_optional |= other.success_optional;
        // From the earliest start to the latest end.
        let end =
            (self.started_unix_s + self.duration_s).max(other.started_unix_s + other.duration_s);
        self.started_unix_s = self.started_unix_s.min(other.started_unix_s);
        self.duration_s = end - self.started_unix_s;
        if end_severity(&other.end) > end_severity(&self.end) {
            self.end = other.end;
            self.end_detail = other.end_detail;
        }
        // Changes each process saw, once each, in time order.
        for change in other.changes {
            if !self.changes.contains(&change) {
                self.changes.push(change);
            }
        }
        self.changes.sort_by(|a, b| a.t_s.total_cmp(&b.t_s));
        // A merge stays a report any reader takes.
        self.changes.truncate(crate::MAX_CHANGES);
    }
}

/// How bad an end is, for keeping the worst of several processes' ends: a run whose one
/// process failed has failed, one whose one process was interrupted was interrupted.
fn end_severity(end: &str) -> u8 {
    match end {
        "completed" => 0,
        "duration" => 1,
        "stalled" => 2,
        "interrupted" => 3,
        "failed" => 5,
        // Unknown (a newer ttk's): worse than any known end but a failure, so never hidden.
        _ => 4,
    }
}

impl TransactionReport {
    /// Adds the same transaction of another process.
    fn add(&mut self, other: TransactionReport) {
        self.ok = self.ok.saturating_add(other.ok);
        self.failed = self.failed.saturating_add(other.failed);
        self.abandoned = self.abandoned.saturating_add(other.abandoned);
        self.stopped = self.stopped.saturating_add(other.stopped);
        self.histogram.merge(&other.histogram);
        self.failed_histogram.merge(&other.failed_histogram);
        add_errors(&mut self.errors, other.errors);
    }
}

/// Adds error tallies to others, matched by kind (new kinds go last).
fn add_errors(tallies: &mut Vec<ErrorTally>, others: Vec<ErrorTally>) {
    for other in others {
        let index = match tallies.iter().position(|mine| mine.kind == other.kind) {
            Some(index) => index,
            None => {
                tallies.push(ErrorTally {
                    kind: other.kind.clone(),
                    count: 0,
                    samples: Vec::new(),
                });
                tallies.len() - 1
            }
        };
        let mine = &mut tallies[index];
        mine.count = mine.count.saturating_add(other.count);
        for sample in other.samples {
            if mine.samples.len() < ErrorTally::MAX_SAMPLES && !mine.samples.contains(&sample) {
                mine.samples.push(sample);
            }
        }
    }
}

impl BotTally {
    /// Adds another process's bots.
    fn add(&mut self, other: BotTally) {
        self.started = self.started.saturating_add(other.started);
        self.finished = self.finished.saturating_add(other.finished);
        self.failed = self.failed.saturating_add(other.failed);
        self.stopped = self.stopped.saturating_add(other.stopped);
        add_errors(&mut self.errors, other.errors);
    }
}

impl SecondReport {
    /// Adds another process's second of the same `t` (counts and active bots summed,
    /// histograms merged exactly).
    ///
    /// # Examples
    /// ```
    /// use ttk_report::{Histogram, SecondReport, SecondTransaction};
    ///
    /// let second = |ok, micros| {
    ///     let mut histogram = Histogram::new();
    ///     histogram.record(std::time::Duration::from_micros(micros));
    ///     let mut second = SecondReport { t: 3, active_bots: 10, ..SecondReport::default() };
    ///     second.transactions.insert("login".into(), SecondTransaction::new(ok, 0, &histogram));
    ///     second
    /// };
    /// let mut mine = second(1, 100);
    /// mine.add(second(1, 300));
    /// assert_eq!(mine.active_bots, 20);
    /// assert_eq!(mine.transactions["login"].ok, 2);
    /// assert_eq!(mine.transactions["login"].max_us, 301); // 300 µs's 2-digit bucket
    /// ```
    pub fn add(&mut self, other: SecondReport) {
        // The same interval may end at another second in another process (a partial last one).
        self.t = self.t.max(other.t);
        self.active_bots = self.active_bots.saturating_add(other.active_bots);
        self.errors = self.errors.saturating_add(other.errors);
        // Processes' seconds of the same number cover the same time: the longest stands.
        self.length_s = self.length_s.max(other.length_s);
        for (name, transaction) in other.transactions {
            match self.transactions.entry(name) {
                Entry::Occupied(mut mine) => mine.get_mut().add_entry(transaction),
                Entry::Vacant(slot) => {
                    slot.insert(transaction);
                }
            }
        }
    }
}
