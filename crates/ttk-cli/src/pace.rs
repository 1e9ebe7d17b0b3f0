//! `--rate`: when each connection's requests are meant to be sent.
//!
//! The rate is one schedule for the whole run (request `n` at the rate's `n`-th arrival); the
//! connections take its requests in turn, connection `i` the `i`-th, `i + c`-th, `i + 2c`-th…
//! A request is timed from when it was meant to be sent, so a server that stalls (or a
//! connection that fell behind) shows in the latencies as every user would have felt it.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use ttk::Cx;
use ttk::cli::Rate;

/// The counter of requests the schedule made due before the end of the load that were never
/// sent: the connections fell behind the rate (a client short of CPU, or a server slower than
/// the rate with too few connections). They are in no latency, so a run that fell behind reads
/// better than it went without it. Counted when a connection's load ends, or when the run
/// stops it at the end of `--grace` with a request still in flight.
pub(crate) const UNSENT: &str = "requests due, never sent (fell behind the rate)";

/// The schedule, shared by every connection of the run (across workers).
#[derive(Clone, Debug)]
pub(crate) struct Pace {
    rate: Rate,
    connections: u64,
    /// How long the load lasts.
    duration: Duration,
    /// The run's start: the first connection to ask sets it.
    start: Arc<OnceLock<Instant>>,
}

impl Pace {
    /// A schedule of `rate` over `connections`, for `duration`.
    pub(crate) fn new(rate: Rate, connections: u32, duration: Duration) -> Pace {
        Pace {
            rate,
            connections: u64::from(connections.max(1)),
            duration,
            start: Arc::new(OnceLock::new()),
        }
    }

    /// The schedule's start: the first call's `now`.
    pub(crate) fn start(&self, now: Instant) -> Instant {
        *self.start.get_or_init(|| now)
    }

    /// When connection `connection`'s request number `k` (from 0) is meant to be sent, or
    /// `None` once the schedule (or the load's duration) is over.
    pub(crate) fn send_at(&self, start: Instant, connection: usize, k: u64) -> Option<Instant> {
        let n =
            (connection as u64 % self.connections).checked_add(k.checked_mul(self.connections)?)?;
        let offset = self.rate.arrival_offset(n)?;
        (offset < self.duration).then(|| start + offset)
    }
}

/// How long a connection whose connect or request failed at once waits before the next try,
/// without `--rate`.
const FAILURE_PAUSE: Duration = Duration::from_millis(100);

/// Counts, when dropped, a connection's requests from number `next` (the first it did not
/// take) that were due by then (and within the schedule), as [`UNSENT`]: at the end of its
/// load, or when the run stops it (a request in flight past `--grace`: a server that stopped
/// answering is when the count matters most; an interrupt, which leaves the rest of the
/// schedule never due).
pub(crate) struct Unsent<'a> {
    cx: &'a Cx,
    turns: Turns<'a>,
    /// The first request number not taken.
    pub(crate) next: u64,
}

impl<'a> Unsent<'a> {
    /// Counts `turns`' requests not taken, in `cx`, when dropped.
    pub(crate) fn new(cx: &'a Cx, turns: Turns<'a>) -> Unsent<'a> {
        Unsent { cx, turns, next: 0 }
    }
}

impl Drop for Unsent<'_> {
    fn drop(&mut self) {
        // Not while a bot's panic unwinds: a second panic there would end the process.
        if std::thread::panicking() {
            return;
        }
        // Due by now: a run stopped early (Ctrl-C) never made the rest of its schedule due.
        let unsent = self.turns.due_from(self.next, ttk::now());
        if unsent > 0 {
            self.cx.count(UNSENT, unsent);
        }
    }
}

/// One connection's turns in the schedule (every request at once without `--rate`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Turns<'a> {
    /// The schedule and its start, with `--rate`.
    schedule: Option<(&'a Pace, Instant)>,
    /// The connection's number.
    connection: usize,
}

impl<'a> Turns<'a> {
    /// Connection `connection`'s turns in `pace` (none: no schedule).
    pub(crate) fn new(pace: Option<&'a Pace>, connection: usize) -> Turns<'a> {
        Turns {
            schedule: pace.map(|pace| (pace, pace.start(ttk::now()))),
            connection,
        }
    }

    /// On a schedule whose turns for this connection are over, waits until the schedule is
    /// (the load's duration from its start): a run whose connections' last turns came early
    /// would end before its duration, and its rate, over that shorter time, would read higher
    /// than the one asked for (`--rate 3 -d 1s` on one connection: 3 requests, done in 667 ms,
    /// shown as 4.5/s).
    pub(crate) async fn until_over(&self) {
        if let Some((pace, start)) = self.schedule {
            let end = start + pace.duration;
            if end > ttk::now() {
                ttk::sleep_until(end).await;
            }
        }
    }

    /// After a failure that came at once (a refused connect or datagram): without a schedule,
    /// waits [`FAILURE_PAUSE`] rather than spin on a server that is down; on one, the schedule
    /// paces the retries already.
    pub(crate) async fn pause_after_failure(&self) {
        if self.schedule.is_none() {
            ttk::sleep(FAILURE_PAUSE).await;
        }
    }

    /// When request `k` of this connection is due, without waiting for it: `Some(None)`
    /// without a schedule (at once), `None` if the schedule ends before it.
    pub(crate) fn at(&self, k: u64) -> Option<Option<Instant>> {
        let Some((pace, start)) = self.schedule else {
            return Some(None);
        };
        pace.send_at(start, self.connection, k).map(Some)
    }

    /// How many of this connection's requests from number `k` on were due by `by` (and within
    /// the schedule): 0 without one. A search, not a count: a connection far behind may have
    /// millions left.
    pub(crate) fn due_from(&self, k: u64, by: Instant) -> u64 {
        // Due times grow with the number: `due` holds up to some number and not after it.
        let due = |n: u64| matches!(self.at(n), Some(Some(at)) if at <= by);
        if !due(k) {
            return 0;
        }
        // Doubling steps to pass the last due, then halving between the last found and the
        // first past it.
        let (mut last, mut step) = (k, 1u64);
        let mut past = loop {
            let probe = k.saturating_add(step);
            if probe == u64::MAX || !due(probe) {
                break probe;
            }
            last = probe;
            step = step.saturating_mul(2);
        };
        while past - last > 1 {
            let middle = last + (past - last) / 2;
            if due(middle) {
                last = middle;
            } else {
                past = middle;
            }
        }
        past - k
    }

    /// Waits until request `k` is due: `Some(Some(due))` on a schedule, `Some(None)` without
    /// one, `None` once the schedule is over (after [`Turns::until_over`]).
    pub(crate) async fn wait(&self, k: u64) -> Option<Option<Instant>> {
        let Some(at) = self.at(k) else {
            self.until_over().await;
            return None;
        };
        let Some(at) = at else {
            return Some(None);
        };
        if at > ttk::now() {
            ttk::sleep_until(at).await;
        }
        Some(Some(at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_take_the_schedule_in_turn() {
        let pace = Pace::new("100/s".parse().unwrap(), 4, Duration::from_secs(1));
        let start = pace.start(Instant::now());
        let at = |connection, k| pace.send_at(start, connection, k).map(|at| at - start);
        assert_eq!(at(0, 0), Some(Duration::ZERO));
        assert_eq!(at(1, 0), Some(Duration::from_millis(10)));
        assert_eq!(at(0, 1), Some(Duration::from_millis(40)));
        assert_eq!(at(3, 24), Some(Duration::from_millis(990)));
        assert_eq!(at(0, 25), None, "the second is over");
        let sent: usize = (0..4)
            .map(|connection| (0..).take_while(|&k| at(connection, k).is_some()).count())
            .sum();
        assert_eq!(sent, 100);
    }

    #[test]
    fn the_requests_left_due_are_found_without_counting_them() {
        let pace = Pace::new("1000/s".parse().unwrap(), 3, Duration::from_secs(60));
        let start = Instant::now();
        let turns = Turns {
            schedule: Some((&pace, start)),
            connection: 1,
        };
        // 60,000 requests over 3 connections: connection 1 has 20,000, numbers 0 to 19,999.
        let end = start + Duration::from_secs(61);
        assert_eq!(turns.due_from(0, end), 20_000);
        assert_eq!(turns.due_from(19_999, end), 1);
        assert_eq!(turns.due_from(20_000, end), 0);
        assert_eq!(turns.due_from(12_345, end), 20_000 - 12_345);
        // Stopped 6 s in (Ctrl-C): only what was due by then. Connection 1's request k is due
        // at 1 ms + 3k ms: by 6 s, numbers 0 to 1,999.
        let stopped = start + Duration::from_secs(6);
        assert_eq!(turns.due_from(0, stopped), 2_000);
        assert_eq!(turns.due_from(1_500, stopped), 500);
        assert_eq!(turns.due_from(2_000, stopped), 0);
        assert_eq!(
            Turns::new(None, 0).due_from(0, end),
            0,
            "no schedule: nothing is due"
        );
    }

    #[test]
    fn the_first_caller_sets_the_start() {
        let pace = Pace::new(
            "10/s:1s,20/s:1s".parse().unwrap(),
            3,
            Duration::from_secs(2),
        );
        let early = Instant::now();
        assert_eq!(pace.clone().start(early), early);
        assert_eq!(pace.start(early + Duration::from_secs(5)), early);
        let total: usize = (0..3)
            .map(|c| {
                (0..)
                    .take_while(|&k| pace.send_at(early, c, k).is_some())
                    .count()
            })
            .sum();
        assert_eq!(total, 30);
    }
}
