//! Changing the load while the run goes on (`POST /control` on the dashboard): the bots of the
//! closed model, the rate of the open model.
//!
//! Each loop takes its share of a new bot count ([`ControlSource`]): it starts the bots it
//! lacks, and, for bots it has too many of, hands out as many stop tokens, which a bot takes
//! at the end of its iteration ([`Session::iterations`](super::Session::iterations)) and ends.
//! A new rate takes the place of the schedule from the moment it is set: each loop's
//! [`RateSource`](super::shape::RateSource) starts its lane of the new rate's arrivals from
//! then. Both are asked of the loops every [`POLL`]: a change takes effect within it.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use ttk_core::{Arrivals, BotSource};
use ttk_report::LoadChange;

use super::shape::RunStart;

/// How often a loop looks for a change.
pub(crate) const POLL: Duration = Duration::from_millis(100);

/// No bot count was set.
const UNSET: usize = usize::MAX;

/// The load as changed while the run goes on, shared by the loops and the dashboard's server.
#[derive(Debug)]
pub(crate) struct Control {
    /// The closed model's bot count, this process's, if changed.
    bots: AtomicUsize,
    /// The open model's rate (sessions per second, as `f64` bits) and how many times it was
    /// set (0: never).
    rate_bits: AtomicU64,
    rate_version: AtomicU64,
    /// What the run model allows changing.
    model: Model,
    /// Why nothing may be changed, if the test says so ([`LoadTest::refuse_control`]).
    ///
    /// [`LoadTest::refuse_control`]: super::LoadTest::refuse_control
    refused: Option<String>,
    /// The most bots a change may ask for, and why, if the test says so
    /// ([`LoadTest::limit_control_bots`]).
    ///
    /// [`LoadTest::limit_control_bots`]: super::LoadTest::limit_control_bots
    most_bots: Option<(usize, String)>,
    /// The changes made, for the report.
    changes: Mutex<Vec<LoadChange>>,
    /// When the load started (on the wall clock, for the changes' times).
    started: Mutex<Instant>,
}

/// Which model a run follows: what can be changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Model {
    /// A set of bots: their count can change.
    Closed,
    /// Sessions arriving at a rate: the rate can change.
    Open,
}

impl Control {
    /// The control of a run of `model`, started now.
    pub(crate) fn new(model: Model, refused: Option<String>) -> Control {
        Control {
            refused,
            most_bots: None,
            bots: AtomicUsize::new(UNSET),
            rate_bits: AtomicU64::new(0),
            rate_version: AtomicU64::new(0),
            model,
            changes: Mutex::new(Vec::new()),
            started: Mutex::new(Instant::now()),
        }
    }

    /// This control, refusing bot counts over `most` (saying why).
    pub(crate) fn with_most_bots(mut self, most: Option<(usize, String)>) -> Control {
        self.most_bots = most;
        self
    }

    /// Times the changes from now: the load's start, after any wait for `--start-at`.
    pub(crate) fn restart_clock(&self) {
        *self
            .started
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Instant::now();
    }

    fn changes(&self) -> MutexGuard<'_, Vec<LoadChange>> {
        self.changes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Sets the closed model's bot count (`before` is what it was, for the record).
    ///
    /// # Errors
    /// The run follows the open model, or too many changes were made.
    pub(crate) fn set_bots(&self, bots: usize, before: u64) -> Result<(), String> {
        if let Some(why) = &self.refused {
            return Err(why.clone());
        }
        if self.model != Model::Closed {
            return Err("this run starts sessions at a rate (--rate): change the rate".to_owned());
        }
        if let Some((most, why)) = &self.most_bots
            && bots > *most
        {
            return Err(format!(
                "bots: {bots} is more than this run can hold ({most}): {why}"
            ));
        }
        // From the count last set, if one was: the bots running may not have caught up yet.
        let before = self.bots().map_or(before, |set| set as u64);
        self.record(format!("bots {before} → {bots}"))?;
        self.apply_bots(bots);
        Ok(())
    }

    /// Sets the bot count without recording it: a child of `--processes` told its share by
    /// its parent, which records the change for the whole run.
    pub(crate) fn apply_bots(&self, bots: usize) {
        self.bots.store(bots, Ordering::SeqCst);
    }

    /// Sets the rate without recording it (see [`Control::apply_bots`]).
    pub(crate) fn apply_rate(&self, per_second: f64) {
        self.rate_bits.store(per_second.to_bits(), Ordering::SeqCst);
        self.rate_version.fetch_add(1, Ordering::SeqCst);
    }

    /// The bot count set, if any (the whole process's).
    pub(crate) fn bots(&self) -> Option<usize> {
        let bots = self.bots.load(Ordering::SeqCst);
        (bots != UNSET).then_some(bots)
    }

    /// Sets the open model's rate, in sessions per second.
    ///
    /// # Errors
    /// The run follows the closed model, the rate is not a positive number, or too many
    /// changes were made.
    pub(crate) fn set_rate(&self, per_second: f64, text: &str) -> Result<(), String> {
        if let Some(why) = &self.refused {
            return Err(why.clone());
        }
        if self.model != Model::Open {
            return Err("this run has a set of bots (--bots): change the bots".to_owned());
        }
        if !(per_second.is_finite() && per_second > 0.0) {
            return Err(format!(
                "{text}: a rate is a number of sessions per second above 0"
            ));
        }
        self.record(format!("rate → {text}"))?;
        self.apply_rate(per_second);
        Ok(())
    }

    /// Records a change made now.
    fn record(&self, what: String) -> Result<(), String> {
        let mut changes = self.changes();
        if changes.len() >= ttk_report::MAX_CHANGES {
            return Err(format!(
                "a run records at most {} changes",
                ttk_report::MAX_CHANGES
            ));
        }
        let started = *self
            .started
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        changes.push(LoadChange {
            t_s: started.elapsed().as_secs_f64(),
            what,
        });
        Ok(())
    }

    /// What a change may set on this run: `bots`, `rate`, or nothing.
    pub(crate) fn changeable(&self) -> Option<&'static str> {
        match (&self.refused, self.model) {
            (Some(_), _) => None,
            (None, Model::Closed) => Some("bots"),
            (None, Model::Open) => Some("rate"),
        }
    }

    /// The changes made so far.
    pub(crate) fn made(&self) -> Vec<LoadChange> {
        self.changes().clone()
    }

    /// The bot count set, if any: loop `loop_index` of `loops`'s share of it.
    fn bots_of_loop(&self, loop_index: usize, loops: usize) -> Option<usize> {
        let bots = self.bots.load(Ordering::SeqCst);
        if bots == UNSET {
            return None;
        }
        let loops = loops.max(1);
        Some(bots / loops + usize::from(loop_index < bots % loops))
    }

    /// The rate set, if any, and how many times it was set.
    pub(crate) fn rate(&self) -> Option<(u64, f64)> {
        let version = self.rate_version.load(Ordering::SeqCst);
        (version > 0).then(|| {
            (
                version,
                f64::from_bits(self.rate_bits.load(Ordering::SeqCst)),
            )
        })
    }
}

/// One loop's source of the closed model under control: the ramp-up's bots until a count is
/// set, then its share of that count, kept up, until the load's time is over.
pub(crate) struct ControlSource {
    /// The ramp-up, until a count is set.
    inner: Option<Box<dyn BotSource>>,
    control: std::sync::Arc<Control>,
    loop_index: usize,
    loops: usize,
    /// Stop tokens for this loop's bots (see [`Session::iterations`](super::Session)).
    stops: Rc<Cell<usize>>,
    start: RunStart,
    load_for: Duration,
    /// Bots that took a token and may not have ended yet (an HTTP/2 connection draining its
    /// streams): not to be counted among those to stop again.
    leaving: usize,
    /// The tokens left out at the last look, the bots alive then and those started then.
    last: (usize, usize, usize),
    /// Whether a bot was seen alive: a loop asked before its first bots start is not over.
    seen_bots: bool,
}

impl ControlSource {
    pub(crate) fn new(
        inner: Option<Box<dyn BotSource>>,
        control: std::sync::Arc<Control>,
        (loop_index, loops): (usize, usize),
        stops: Rc<Cell<usize>>,
        start: RunStart,
        load_for: Duration,
    ) -> ControlSource {
        ControlSource {
            inner,
            control,
            loop_index,
            loops,
            stops,
            start,
            load_for,
            leaving: 0,
            last: (0, 0, 0),
            seen_bots: false,
        }
    }
}

impl BotSource for ControlSource {
    fn arrivals(&mut self, now: Instant, live: usize) -> Arrivals {
        let start = self.start.get().unwrap_or(now);
        self.start.set(Some(start));
        if now >= start + self.load_for {
            // The load is over: bots end with their iterations, none is to start.
            self.stops.set(0);
            return Arrivals::done();
        }
        let poll = now + POLL;
        self.seen_bots |= live > 0;
        let Some(target) = self.control.bots_of_loop(self.loop_index, self.loops) else {
            let Some(inner) = self.inner.as_mut() else {
                // Nothing set and every bot ended: the run ends as it would without control.
                if live == 0 && self.seen_bots {
                    return Arrivals::done();
                }
                return Arrivals::wait_until(poll);
            };
            let arrivals = inner.arrivals(now, live);
            if arrivals.is_done() {
                self.inner = None;
            }
            return match arrivals.next_time() {
                // Asked again next tick: sooner than the poll.
                None if !arrivals.is_done() => arrivals,
                Some(at) if at < poll => arrivals,
                _ => Arrivals::start(arrivals.count()).then_at(poll),
            };
        };
        // A count was set: it replaces the ramp-up.
        self.inner = None;
        // Bots that ended since the last look end the leaving first; tokens taken since then
        // are bots leaving now.
        let (tokens_before, live_before, started_before) = self.last;
        let taken = tokens_before.saturating_sub(self.stops.get());
        let ended = (live_before + started_before).saturating_sub(live);
        self.leaving = (self.leaving + taken).saturating_sub(ended);
        let staying = live.saturating_sub(self.leaving);
        let tokens = staying.saturating_sub(target);
        let start = target.saturating_sub(staying);
        self.stops.set(tokens);
        self.last = (tokens, live, start);
        Arrivals::start(start).then_at(poll)
    }
}

/// Reads the changes a parent of `--processes` sends on standard input — a JSON line each,
/// `{"bots": N}` (this child's share) or `{"rate": R}` (the whole run's: each child takes its
/// lanes of it) — and applies them to `control`, until the input ends.
pub(crate) fn follow_stdin(control: std::sync::Arc<Control>) {
    let spawned = std::thread::Builder::new()
        .name("ttk-control".to_owned())
        .spawn(move || {
            use std::io::BufRead as _;
            for line in std::io::stdin().lock().lines() {
                let Ok(line) = line else { break };
                let Ok(change) = serde_json::from_str::<serde_json::Value>(&line) else {
                    continue;
                };
                if let Some(bots) = change["bots"].as_u64() {
                    control.apply_bots(usize::try_from(bots).unwrap_or(usize::MAX));
                } else if let Some(rate) = change["rate"].as_f64()
                    && rate.is_finite()
                    && rate > 0.0
                {
                    control.apply_rate(rate);
                }
            }
        });
    if let Err(error) = spawned {
        eprintln!("warning: this shard will not follow its parent's changes: {error}");
    }
}

/// Passes the changes made on the parent of `--processes` (its `control`) to its children's
/// standard inputs: each child its share of a bot count (shard `i` of `n`, as
/// [`Control::bots_of_loop`] shares among loops), every child the whole rate. Looks every
/// [`POLL`] until `done`.
pub(crate) fn fan_out(
    control: std::sync::Arc<Control>,
    children: Vec<Option<std::process::ChildStdin>>,
    done: std::sync::Arc<std::sync::atomic::AtomicBool>,
) {
    let spawned = std::thread::Builder::new()
        .name("ttk-control-fan-out".to_owned())
        .spawn(move || {
            use std::io::Write as _;
            let mut children = children;
            let count = children.len();
            let (mut bots_sent, mut rate_sent) = (None, 0);
            while !done.load(Ordering::SeqCst) {
                let bots = control.bots();
                let rate = control.rate();
                let mut lines: Vec<Option<String>> = vec![None; count];
                if bots != bots_sent
                    && let Some(bots) = bots
                {
                    for (shard, line) in lines.iter_mut().enumerate() {
                        let share = bots / count + usize::from(shard < bots % count);
                        *line = Some(format!("{{\"bots\": {share}}}\n"));
                    }
                    bots_sent = Some(bots);
                }
                if let Some((version, per_second)) = rate
                    && version != rate_sent
                {
                    for line in &mut lines {
                        line.get_or_insert_with(String::new)
                            .push_str(&format!("{{\"rate\": {per_second}}}\n"));
                    }
                    rate_sent = version;
                }
                for (child, line) in children.iter_mut().zip(&lines) {
                    if let (Some(stdin), Some(line)) = (child.as_mut(), line)
                        && stdin
                            .write_all(line.as_bytes())
                            .and_then(|()| stdin.flush())
                            .is_err()
                    {
                        // The child is gone: its share is lost with it.
                        *child = None;
                    }
                }
                std::thread::sleep(POLL);
            }
        });
    if let Err(error) = spawned {
        eprintln!("warning: changes will not reach the shards: {error}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_count_is_shared_among_loops_and_each_change_recorded() {
        let control = Control::new(Model::Closed, None);
        assert_eq!(control.bots_of_loop(0, 3), None);
        control.set_bots(10, 4).unwrap();
        let shares: Vec<_> = (0..3)
            .map(|i| control.bots_of_loop(i, 3).unwrap())
            .collect();
        assert_eq!(shares, [4, 3, 3]);
        assert!(
            control
                .set_rate(5.0, "5/s")
                .unwrap_err()
                .contains("change the bots")
        );
        let made = control.made();
        assert_eq!(made.len(), 1);
        assert_eq!(made[0].what, "bots 4 → 10");

        // A second change counts from the first's count, whatever the bots running say.
        control.set_bots(0, 10).unwrap();
        control.set_bots(7, 10).unwrap();
        assert_eq!(control.made()[2].what, "bots 0 → 7");
        // Past the test's limit: refused, saying why.
        let limited =
            Control::new(Model::Closed, None).with_most_bots(Some((100, "100 sockets".to_owned())));
        let refused = limited.set_bots(101, 2).unwrap_err();
        assert!(refused.contains("more than this run can hold (100): 100 sockets"));
        limited.set_bots(100, 2).unwrap();

        let open = Control::new(Model::Open, None);
        assert!(open.set_bots(3, 1).is_err());
        assert!(open.set_rate(0.0, "0/s").is_err());
        open.set_rate(50.0, "50/s").unwrap();
        assert_eq!(open.rate(), Some((1, 50.0)));
    }

    #[test]
    fn the_source_starts_what_is_missing_and_hands_out_stops_for_the_rest() {
        let control = std::sync::Arc::new(Control::new(Model::Closed, None));
        let fixed = Control::new(Model::Closed, Some("on a schedule".to_owned()));
        assert_eq!(fixed.set_bots(3, 1).unwrap_err(), "on a schedule");
        let stops = Rc::new(Cell::new(0));
        let mut source = ControlSource::new(
            None,
            std::sync::Arc::clone(&control),
            (0, 1),
            Rc::clone(&stops),
            RunStart::default(),
            Duration::from_secs(60),
        );
        let now = Instant::now();
        assert_eq!(
            source.arrivals(now, 5).count(),
            0,
            "nothing set: nothing changes"
        );
        control.set_bots(8, 5).unwrap();
        assert_eq!(source.arrivals(now, 5).count(), 3);
        control.set_bots(2, 8).unwrap();
        assert_eq!(source.arrivals(now, 8).count(), 0);
        assert_eq!(stops.get(), 6);
        let later = now + Duration::from_secs(61);
        assert!(source.arrivals(later, 2).is_done());
        assert_eq!(stops.get(), 0);
    }
}
