//! Load shapes: how many bots start when. The closed model's ramp-up ([`RampUp`]) and the open
//! model's arrival rate ([`Rate`]), parsed from the command line and turned into a
//! [`BotSource`](ttk_core::BotSource) that starts bots on schedule.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::ops::Range;
use std::rc::Rc;
use std::str::FromStr;
use std::time::{Duration, Instant};

use ttk_core::{Arrivals, BotSource};

/// The closed model's ramp-up: bots started evenly over a time, or in stages.
///
/// Written `30s` (the `--bots` start evenly over 30 s) or as stages `10:30s,100:1m` (reach 10
/// bots over 30 s, then 100 over the next minute).
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use ttk::harness::RampUp;
///
/// let ramp: RampUp = "10:30s,100:1m".parse().unwrap();
/// assert_eq!(ramp.bots(5), 100); // stages name their own counts
/// assert_eq!(ramp.start_offset(10, 5), Duration::from_secs(30));
/// assert_eq!(ramp.start_offset(55, 5), Duration::from_secs(60));
/// assert!("10:30".parse::<RampUp>().is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RampUp {
    text: String,
    /// `(bots reached, over how long)`; `None` bots: the `--bots` count.
    stages: Vec<(Option<usize>, Duration)>,
}

impl RampUp {
    /// How many bots the ramp starts in all, given `--bots`.
    ///
    /// # Examples
    /// ```
    /// use ttk::harness::RampUp;
    ///
    /// let even: RampUp = "30s".parse().unwrap();
    /// assert_eq!(even.bots(40), 40); // the --bots count
    /// let staged: RampUp = "10:30s,100:1m".parse().unwrap();
    /// assert_eq!(staged.bots(40), 100); // the stages' highest count
    /// ```
    pub fn bots(&self, bots: usize) -> usize {
        self.stages
            .iter()
            .map(|&(target, _)| target.unwrap_or(bots))
            .max()
            .unwrap_or(bots)
    }

    /// When bot number `n` (from 0) starts, after the run's start.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// use ttk::harness::RampUp;
    ///
    /// let ramp: RampUp = "10s".parse().unwrap();
    /// assert_eq!(ramp.start_offset(0, 100), Duration::ZERO);
    /// assert_eq!(ramp.start_offset(50, 100), Duration::from_secs(5));
    /// ```
    pub fn start_offset(&self, n: usize, bots: usize) -> Duration {
        let mut started = 0;
        let mut offset = Duration::ZERO;
        for &(target, over) in &self.stages {
            let target = target.unwrap_or(bots);
            if n < target {
                let in_stage = (target - started) as f64;
                let position = (n - started) as f64;
                // Saturating: a stage may be as long as a `Duration` (the parse checks that the
                // stages add up), and the float product may round past it.
                let within = Duration::try_from_secs_f64(over.as_secs_f64() * position / in_stage)
                    .map_or(over, |within| within.min(over));
                return offset.saturating_add(within);
            }
            started = started.max(target);
            offset = offset.saturating_add(over);
        }
        offset
    }

    /// The ramp as written.
    ///
    /// # Examples
    /// ```
    /// use ttk::harness::RampUp;
    ///
    /// let ramp: RampUp = "10:30s,100:1m".parse().unwrap();
    /// assert_eq!(ramp.as_str(), "10:30s,100:1m");
    /// assert_eq!(ramp.to_string(), ramp.as_str());
    /// ```
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl FromStr for RampUp {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let stages = text
            .split(',')
            .map(|stage| match stage.split_once(':') {
                None => Ok((None, stage_duration(stage)?)),
                Some((bots, over)) => {
                    let bots = bots.trim().parse::<usize>().map_err(|_| {
                        format!("`{bots}` in stage `{stage}` is not a number of bots")
                    })?;
                    Ok((Some(bots), stage_duration(over)?))
                }
            })
            .collect::<Result<Vec<_>, String>>()?;
        if stages.len() > 1 && stages.iter().any(|(bots, _)| bots.is_none()) {
            return Err("stages need a count each: `10:30s,100:1m`".to_owned());
        }
        if total_length(stages.iter().map(|&(_, over)| over)).is_none() {
            return Err(format!(
                "`{text}`: its stages add up to more than a duration holds (584 billion years)"
            ));
        }
        let mut highest = 0;
        for (bots, _) in &stages {
            if let Some(bots) = *bots {
                if bots < highest {
                    return Err(format!(
                        "stage counts must not fall ({bots} after {highest}): a ramp-up only starts bots"
                    ));
                }
                highest = bots;
            }
        }
        Ok(RampUp {
            text: text.to_owned(),
            stages,
        })
    }
}

impl fmt::Display for RampUp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// The open model's arrival rate: sessions per second, in stages.
///
/// Written `50/s` (for the whole run) or `10/s:30s,100/s:1m` (10 a second for 30 s, then 100 a
/// second for a minute); `/m` and `/h` work too. A stage without a length lasts until the
/// run's `--duration`.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use ttk::harness::Rate;
///
/// let rate: Rate = "10/s:30s,100/s:1m".parse().unwrap();
/// assert_eq!(rate.total_duration(), Some(Duration::from_secs(90)));
/// assert_eq!(rate.arrival_offset(300), Some(Duration::from_secs(30)));
/// assert_eq!(rate.arrival_offset(301), Some(Duration::from_millis(30_010)));
/// assert_eq!(rate.arrival_offset(6_300), None); // after the last stage
/// assert!("100".parse::<Rate>().is_err());
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Rate {
    text: String,
    /// `(sessions per second, for how long)`; `None`: until the run ends.
    stages: Vec<(f64, Option<Duration>)>,
}

impl Rate {
    /// When the stages end, if they all have a length.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// use ttk::harness::Rate;
    ///
    /// let staged: Rate = "10/s:30s,100/s:1m".parse().unwrap();
    /// assert_eq!(staged.total_duration(), Some(Duration::from_secs(90)));
    /// let open_ended: Rate = "50/s".parse().unwrap();
    /// assert_eq!(open_ended.total_duration(), None); // until --duration
    /// ```
    pub fn total_duration(&self) -> Option<Duration> {
        // The parse checked that the stages add up.
        self.stages
            .iter()
            .try_fold(Duration::ZERO, |total, &(_, over)| {
                Some(total.saturating_add(over?))
            })
    }

    /// When session number `n` (from 0) is meant to start, after the run's start; `None` if
    /// the stages end first.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// use ttk::harness::Rate;
    ///
    /// let rate: Rate = "600/m:1s".parse().unwrap(); // ten a second, for a second
    /// assert_eq!(rate.arrival_offset(0), Some(Duration::ZERO));
    /// assert_eq!(rate.arrival_offset(5), Some(Duration::from_millis(500)));
    /// assert_eq!(rate.arrival_offset(10), None); // the stage is over
    /// ```
    pub fn arrival_offset(&self, n: u64) -> Option<Duration> {
        let mut before = 0_u64;
        let mut offset = Duration::ZERO;
        for &(per_second, over) in &self.stages {
            // Sessions at 0, 1/rate, 2/rate… while inside the stage: a stage shorter than the
            // gap between two still starts one.
            let in_stage = match over {
                Some(over) => (per_second * over.as_secs_f64()).ceil() as u64,
                None => u64::MAX,
            };
            if n - before < in_stage {
                let position = (n - before) as f64;
                // An arrival past what a `Duration` holds never comes.
                let within = Duration::try_from_secs_f64(position / per_second).ok()?;
                return offset.checked_add(within);
            }
            before = before.saturating_add(in_stage);
            offset = offset.saturating_add(over?);
        }
        None
    }

    /// The rate as written.
    ///
    /// # Examples
    /// ```
    /// use ttk::harness::Rate;
    ///
    /// let rate: Rate = "10/s:30s,100/s".parse().unwrap();
    /// assert_eq!(rate.as_str(), "10/s:30s,100/s");
    /// assert_eq!(rate.to_string(), rate.as_str());
    /// ```
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl FromStr for Rate {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let stages = text
            .split(',')
            .map(|stage| {
                let (rate, over) = match stage.split_once(':') {
                    Some((rate, over)) => (rate, Some(stage_duration(over)?)),
                    None => (stage, None),
                };
                Ok((parse_per_second(rate)?, over))
            })
            .collect::<Result<Vec<_>, String>>()?;
        if total_length(stages.iter().filter_map(|&(_, over)| over)).is_none() {
            return Err(format!(
                "`{text}`: its stages add up to more than a duration holds (584 billion years)"
            ));
        }
        let open_ended = stages.iter().filter(|(_, over)| over.is_none()).count();
        if open_ended > 1 || (open_ended == 1 && stages.last().is_some_and(|s| s.1.is_some())) {
            return Err("only the last stage may go without a length: `10/s:30s,100/s`".to_owned());
        }
        Ok(Rate {
            text: text.to_owned(),
            stages,
        })
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

fn parse_per_second(text: &str) -> Result<f64, String> {
    let text = text.trim();
    let (count, unit) = text.split_once('/').ok_or_else(|| {
        format!("`{text}` is not a rate: write sessions per time unit, like `50/s` or `600/m`")
    })?;
    let count: f64 = count
        .trim()
        .parse()
        .ok()
        .filter(|count: &f64| count.is_finite() && *count > 0.0)
        .ok_or_else(|| format!("`{count}` in `{text}` is not a positive number"))?;
    let per_second = count / seconds_per_unit(unit.trim(), text)?;
    if per_second < MIN_PER_SECOND {
        return Err(format!("`{text}` is below the lowest rate, 1/h"));
    }
    Ok(per_second)
}

/// The stages' lengths added up, if they fit in a `Duration`.
fn total_length(lengths: impl IntoIterator<Item = Duration>) -> Option<Duration> {
    lengths
        .into_iter()
        .try_fold(Duration::ZERO, Duration::checked_add)
}

/// The lowest arrival rate: one an hour (slower rates put arrivals past any run).
const MIN_PER_SECOND: f64 = 1.0 / 3600.0 - 1e-12;

/// Seconds in the unit of a rate.
fn seconds_per_unit(unit: &str, text: &str) -> Result<f64, String> {
    match unit {
        "s" => Ok(1.0),
        "m" => Ok(60.0),
        "h" => Ok(3600.0),
        other => Err(format!("`/{other}` in `{text}`: the unit is /s, /m or /h")),
    }
}

/// A duration of a shape's stage (see [`parse_duration`](ttk_report::parse_duration)), its
/// error in words.
fn stage_duration(text: &str) -> Result<Duration, String> {
    ttk_report::parse_duration(text).map_err(|error| error.to_string())
}

/// Starts the closed model's bots on their ramp-up schedule, until the run's `--duration`: the
/// bots of `ids` (a shard's block of the run's bots; all of them for a whole run), each when
/// the whole run's schedule starts it.
pub(crate) struct RampSource {
    ramp: RampUp,
    bots: usize,
    /// The global id of the next bot to start.
    started: usize,
    /// Past the last bot to start.
    end: usize,
    until: Option<Duration>,
    start: RunStart,
}

impl RampSource {
    pub(crate) fn new(
        ramp: RampUp,
        bots: usize,
        ids: Range<usize>,
        until: Option<Duration>,
        start: RunStart,
    ) -> Self {
        let bots = ramp.bots(bots);
        RampSource {
            bots,
            ramp,
            started: ids.start.min(bots),
            end: ids.end.min(bots),
            until,
            start,
        }
    }

    /// When the next bot is due, after the start; `None` once all have started or load ends.
    fn next_offset(&self) -> Option<Duration> {
        if self.started >= self.end {
            return None;
        }
        let offset = self.ramp.start_offset(self.started, self.bots);
        match self.until {
            Some(until) if offset >= until => None,
            _ => Some(offset),
        }
    }
}

impl BotSource for RampSource {
    fn arrivals(&mut self, now: Instant, _live: usize) -> Arrivals {
        let start = self.start.get().unwrap_or(now);
        self.start.set(Some(start));
        let mut due = 0;
        while let Some(offset) = self.next_offset()
            && start + offset <= now
        {
            self.started += 1;
            due += 1;
        }
        match self.next_offset() {
            Some(offset) => Arrivals::start(due).then_at(start + offset),
            None => Arrivals::start(due).then_done(),
        }
    }
}

/// Intended start times of sessions the source started and the factory has not made yet.
pub(crate) type IntendedStarts = Rc<RefCell<VecDeque<Instant>>>;

/// When the run started, as the source saw it at its first call (the loop asks it at once).
pub(crate) type RunStart = Rc<Cell<Option<Instant>>>;

/// Starts the open model's sessions at their arrival times, recording each one's intended
/// start for the factory. A shard `lane` of `lanes` starts every `lanes`th session of the
/// whole run's schedule, from session `lane` on: its share of the rate.
pub(crate) struct RateSource {
    rate: Rate,
    /// The number, in the whole run, of the next session to start.
    started: u64,
    /// This source's lane: the first session of a schedule that is its.
    lane: u64,
    /// One session in `step` is this source's.
    step: u64,
    start: RunStart,
    until: Option<Duration>,
    intended: IntendedStarts,
    /// Live control, if the run has it: a rate set there replaces the schedule.
    control: Option<std::sync::Arc<super::control::Control>>,
    /// The rate control set, and its schedule from when it was set.
    changed: Option<ChangedRate>,
}

/// A rate set while the run goes on: its arrivals, numbered from when it was set.
#[derive(Clone, Copy, Debug)]
struct ChangedRate {
    /// Which setting of the rate it is.
    version: u64,
    per_second: f64,
    since: Instant,
    /// The number of this source's next session in the new schedule.
    next: u64,
}

impl RateSource {
    pub(crate) fn new(
        rate: Rate,
        (lane, lanes): (u64, u64),
        until: Option<Duration>,
        intended: IntendedStarts,
        start: RunStart,
    ) -> Self {
        RateSource {
            rate,
            started: lane,
            lane,
            step: lanes.max(1),
            start,
            until,
            intended,
            control: None,
            changed: None,
        }
    }

    /// Lets `control` change the rate while the run goes on.
    pub(crate) fn controlled_by(
        mut self,
        control: std::sync::Arc<super::control::Control>,
    ) -> Self {
        self.control = Some(control);
        self
    }

    fn next_arrival(&self, start: Instant) -> Option<Instant> {
        let at = match &self.changed {
            None => start + self.rate.arrival_offset(self.started)?,
            Some(changed) => {
                changed.since
                    + Duration::try_from_secs_f64(changed.next as f64 / changed.per_second).ok()?
            }
        };
        if self.until.is_some_and(|until| at >= start + until) {
            return None;
        }
        Some(at)
    }

    /// Takes a rate control set since it last looked, from `now`.
    fn follow_control(&mut self, now: Instant) {
        let Some((version, per_second)) = self.control.as_ref().and_then(|control| control.rate())
        else {
            return;
        };
        if self
            .changed
            .is_none_or(|changed| changed.version != version)
        {
            self.changed = Some(ChangedRate {
                version,
                per_second,
                since: now,
                next: self.lane,
            });
        }
    }
}

impl BotSource for RateSource {
    fn arrivals(&mut self, now: Instant, _live: usize) -> Arrivals {
        let start = self.start.get().unwrap_or(now);
        self.start.set(Some(start));
        self.follow_control(now);
        let mut due = 0;
        let intended = std::rc::Rc::clone(&self.intended);
        let mut intended = intended.borrow_mut();
        while let Some(at) = self.next_arrival(start)
            && at <= now
        {
            intended.push_back(at);
            match &mut self.changed {
                None => self.started += self.step,
                Some(changed) => changed.next += self.step,
            }
            due += 1;
        }
        let load_over = self.until.is_some_and(|until| now >= start + until);
        match (self.next_arrival(start), &self.control) {
            // Under control, asked again soon enough to take a new rate (a stage that ended
            // may be followed by one set there).
            (next, Some(_)) if !load_over => {
                let poll = now + super::control::POLL;
                Arrivals::start(due).then_at(next.map_or(poll, |next| next.min(poll)))
            }
            (Some(next), _) => Arrivals::start(due).then_at(next),
            (None, _) => Arrivals::start(due).then_done(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ramp_spreads_bots_evenly() {
        let ramp: RampUp = "10s".parse().unwrap();
        assert_eq!(ramp.bots(100), 100);
        assert_eq!(ramp.start_offset(0, 100), Duration::ZERO);
        assert_eq!(ramp.start_offset(50, 100), Duration::from_secs(5));
        assert_eq!(ramp.start_offset(99, 100), Duration::from_millis(9_900));
    }

    #[test]
    fn ramp_errors_say_what_is_wrong() {
        let error = "100:30s,10:1m".parse::<RampUp>().unwrap_err();
        assert!(error.contains("must not fall"), "{error}");
        let error = "x:30s".parse::<RampUp>().unwrap_err();
        assert!(error.contains("not a number of bots"), "{error}");
        let error = "30".parse::<RampUp>().unwrap_err();
        assert!(error.contains("not a duration"), "{error}");
    }

    #[test]
    fn rates_parse_units_and_open_ended_stages() {
        let rate: Rate = "600/m".parse().unwrap();
        assert_eq!(rate.arrival_offset(10), Some(Duration::from_secs(1)));
        assert_eq!(rate.total_duration(), None);
        let rate: Rate = "10/s:1s,20/s".parse().unwrap();
        assert_eq!(rate.arrival_offset(12), Some(Duration::from_millis(1_100)));
        assert!("10/s,20/s:1s".parse::<Rate>().is_err());
        assert!("10/d".parse::<Rate>().unwrap_err().contains("/s, /m or /h"));
        assert!("-1/s".parse::<Rate>().is_err());
        assert!("1/d".parse::<Rate>().is_err());
        assert!("0.1/h".parse::<Rate>().unwrap_err().contains("lowest rate"));
    }

    #[test]
    fn a_stage_shorter_than_one_gap_still_starts_a_session() {
        let rate: Rate = "0.4/s:1s,1/m:29s".parse().unwrap();
        assert_eq!(rate.arrival_offset(0), Some(Duration::ZERO));
        assert_eq!(rate.arrival_offset(1), Some(Duration::from_secs(1)));
        assert_eq!(rate.arrival_offset(2), None);
    }

    #[test]
    fn rate_source_starts_sessions_on_time_and_records_their_intent() {
        let intended = IntendedStarts::default();
        let rate: Rate = "100/s:1s".parse().unwrap();
        let mut source = RateSource::new(
            rate,
            (0, 1),
            None,
            Rc::clone(&intended),
            RunStart::default(),
        );
        let start = Instant::now();
        let first = source.arrivals(start, 0);
        assert_eq!(first.count(), 1);
        assert_eq!(first.next_time(), Some(start + Duration::from_millis(10)));
        // The loop fell 55 ms behind: the sessions it missed all start now, each with its time.
        let late = source.arrivals(start + Duration::from_millis(55), 1);
        assert_eq!(late.count(), 5);
        let times: Vec<_> = intended.borrow().iter().map(|at| *at - start).collect();
        assert_eq!(times.len(), 6);
        assert_eq!(times[5], Duration::from_millis(50));
        let rest = source.arrivals(start + Duration::from_secs(2), 6);
        assert_eq!(rest.count(), 94);
        assert!(rest.is_done());
    }

    #[test]
    fn ramp_source_ends_when_every_bot_started() {
        let ramp: RampUp = "1s".parse().unwrap();
        let mut source = RampSource::new(ramp, 4, 0..4, None, RunStart::default());
        let start = Instant::now();
        assert_eq!(source.arrivals(start, 0).count(), 1);
        let all = source.arrivals(start + Duration::from_secs(1), 1);
        assert_eq!(all.count(), 3);
        assert!(all.is_done());
    }

    #[test]
    fn ramp_source_stops_starting_bots_when_load_ends() {
        let ramp: RampUp = "10s".parse().unwrap();
        let run_start = RunStart::default();
        let mut source = RampSource::new(
            ramp,
            10,
            0..10,
            Some(Duration::from_secs(3)),
            run_start.clone(),
        );
        let start = Instant::now();
        assert_eq!(source.arrivals(start, 0).count(), 1);
        assert_eq!(run_start.get(), Some(start));
        let rest = source.arrivals(start + Duration::from_secs(9), 1);
        assert_eq!(rest.count(), 2, "bots at 1 s and 2 s; none from 3 s");
        assert!(rest.is_done());
    }

    #[test]
    fn shards_start_their_sessions_at_the_whole_runs_times() {
        // 3 shards of 10 sessions a second: together, exactly the whole run's arrivals.
        let rate: Rate = "10/s:2s".parse().unwrap();
        let start = Instant::now();
        let mut times = Vec::new();
        for shard in 0..3 {
            let intended = IntendedStarts::default();
            let run_start = RunStart::default();
            run_start.set(Some(start));
            let mut source = RateSource::new(
                rate.clone(),
                (shard, 3),
                None,
                Rc::clone(&intended),
                run_start,
            );
            let all = source.arrivals(start + Duration::from_secs(5), 0);
            assert!(all.is_done());
            assert_eq!(all.count(), [7, 7, 6][shard as usize]);
            times.extend(intended.borrow().iter().map(|at| *at - start));
        }
        times.sort();
        let whole: Vec<_> = (0..20).map(|n| rate.arrival_offset(n).unwrap()).collect();
        assert_eq!(times, whole);
    }

    #[test]
    fn a_shard_ramps_its_block_when_the_whole_run_would() {
        // Bots 4..8 of 10 over 10 s: the whole run starts bot n at n seconds.
        let ramp: RampUp = "10s".parse().unwrap();
        let run_start = RunStart::default();
        let start = Instant::now();
        run_start.set(Some(start));
        let mut source = RampSource::new(ramp, 10, 4..8, None, run_start);
        let first = source.arrivals(start, 0);
        assert_eq!(first.count(), 0);
        assert_eq!(first.next_time(), Some(start + Duration::from_secs(4)));
        let next = source.arrivals(start + Duration::from_millis(6500), 0);
        assert_eq!(next.count(), 3, "bots 4, 5 and 6");
        let last = source.arrivals(start + Duration::from_secs(20), 3);
        assert_eq!(last.count(), 1);
        assert!(last.is_done());
    }
}
