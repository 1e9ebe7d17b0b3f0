//! Timers that cancel: a wait that ends early releases its timer, so it never wakes its bot,
//! never counts as pending work and never moves the virtual clock.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use ttk_core::{BotErrorKind, Cx, RunEnd, Runtime};
use ttk_macros::bot;

/// A bot wrapped so that every poll of it is counted.
struct CountPolls<F> {
    /// The bot.
    bot: Pin<Box<F>>,
    /// Polls so far.
    polls: Rc<Cell<u64>>,
}

impl<F: Future> Future for CountPolls<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.polls.set(self.polls.get() + 1);
        self.bot.as_mut().poll(cx)
    }
}

/// Rounds of the request/response test.
const ROUNDS: u32 = 10_000;

/// Bot 0 asks, bot 1 answers after a (virtual) millisecond. Bot 0 waits for each answer under
/// a 5 ms timeout, or without one: a timer left behind by a won timeout would fire rounds later
/// and poll bot 0 for nothing.
#[bot(crate = ttk_core)]
fn ask_and_answer(cx: Cx<u32>, id: usize, with_timeout: bool) -> u32 {
    let mut answered = 0;
    for round in 0..ROUNDS {
        if id == 0 {
            cx.send(1, round);
            let answer = if with_timeout {
                ttk_core::yield_!(ttk_core::timeout(Duration::from_millis(5), cx.recv()))
                    .expect("the answer comes in 1 ms")
            } else {
                ttk_core::yield_!(cx.recv())
            };
            assert_eq!(answer.data, round);
            answered += 1;
        } else {
            let question = ttk_core::yield_!(cx.recv());
            ttk_core::yield_!(ttk_core::sleep(Duration::from_millis(1)));
            cx.send(0, question.data);
            answered += 1;
        }
    }
    answered
}

/// How often bot 0 is polled over the whole exchange, and the virtual time it took.
fn polls_of_the_asker(with_timeout: bool) -> (u64, Duration) {
    let polls = Rc::new(Cell::new(0));
    let elapsed = Rc::new(Cell::new(Duration::ZERO));
    let (counted, clock) = (Rc::clone(&polls), Rc::clone(&elapsed));
    let report = Runtime::new().virtual_time(true).execute(2, move |cx, id| {
        let clock = Rc::clone(&clock);
        let bot = async move {
            let began = ttk_core::now();
            let answered = ask_and_answer(cx, id, with_timeout).await;
            clock.set(ttk_core::now() - began);
            answered
        };
        CountPolls {
            bot: Box::pin(bot),
            polls: if id == 0 {
                Rc::clone(&counted)
            } else {
                Rc::default()
            },
        }
    });
    assert_eq!(report.end, RunEnd::Completed);
    assert!(
        report
            .outcomes
            .iter()
            .all(|outcome| outcome.as_ref().ok() == Some(&ROUNDS))
    );
    (polls.get(), elapsed.get())
}

#[test]
fn a_bot_doing_requests_under_a_timeout_is_polled_as_often_as_one_without() {
    let (without, time_without) = polls_of_the_asker(false);
    let (with, time_with) = polls_of_the_asker(true);
    assert_eq!(with, without, "stale timers woke the bot");
    assert_eq!(
        time_with, time_without,
        "stale timers moved the virtual clock"
    );
    assert_eq!(time_with, Duration::from_millis(u64::from(ROUNDS)));
}

/// Waits a minute for something that comes in a millisecond, then for a message nobody sends.
#[bot(crate = ttk_core)]
fn deadlocked_after_a_timeout(cx: Cx<u8>, _id: usize) {
    let quick = ttk_core::sleep(Duration::from_millis(1));
    ttk_core::yield_!(ttk_core::timeout(Duration::from_secs(60), quick)).expect("1 ms < 60 s");
    ttk_core::yield_!(cx.recv());
}

#[test]
fn bots_deadlocked_after_a_completed_timeout_are_stalled_at_once() {
    let started = Instant::now();
    let report = Runtime::new().execute(2, deadlocked_after_a_timeout);
    assert_eq!(report.end, RunEnd::Stalled);
    for outcome in &report.outcomes {
        assert_eq!(outcome.as_ref().unwrap_err().kind(), &BotErrorKind::Stalled);
    }
    // The cancelled 60 s timers must not keep the run waiting for them (a generous bound: the
    // point is "not a minute").
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
}

/// Bot 0 waits for a quick sleep under a 50 ms timeout (the sleep wins at 5 ms), then for a
/// message that bot 1 sends at 100 ms. The cancelled 50 ms timer must not make a tick happen
/// (or the clock stop) at 50 ms.
#[bot(crate = ttk_core)]
fn outlives_its_timeout(cx: Cx<u8, Vec<Duration>>, id: usize) {
    if id == 0 {
        let quick = ttk_core::sleep(Duration::from_millis(5));
        ttk_core::yield_!(ttk_core::timeout(Duration::from_millis(50), quick))
            .expect("5 ms < 50 ms");
        ttk_core::yield_!(cx.recv());
    } else {
        ttk_core::yield_!(ttk_core::sleep(Duration::from_millis(100)));
        cx.send(0, 1);
    }
}

#[test]
fn a_cancelled_timer_never_moves_the_virtual_clock_or_wakes_anyone() {
    let mut start = None;
    let (_, times) = Runtime::new()
        .virtual_time(true)
        .world(Vec::new())
        .on_tick(move |times: &mut Vec<Duration>, info| {
            let start = *start.get_or_insert(info.now);
            times.push(info.now - start);
        })
        .run_with_world(2, outlives_its_timeout);
    let ms: Vec<u128> = times.iter().map(Duration::as_millis).collect();
    assert_eq!(ms, [0, 5, 100, 100], "ticks at these virtual times");
}

/// Sleeps with a timeout that may win or lose, a million times in total over the bots.
#[bot(crate = ttk_core)]
fn churn(_cx: Cx, id: usize) -> u32 {
    let mut won = 0;
    for round in 0..10_000u64 {
        let nap = ttk_core::sleep(Duration::from_micros(1 + (round + id as u64) % 7));
        if ttk_core::yield_!(ttk_core::timeout(Duration::from_micros(4), nap)).is_ok() {
            won += 1;
        }
    }
    won
}

#[test]
fn a_million_timers_set_and_cancelled_keep_order_and_determinism() {
    let first = Runtime::new().virtual_time(true).run(100, churn);
    let again = Runtime::new().virtual_time(true).run(100, churn);
    assert_eq!(first, again);
    // Naps of 1..=3 µs win against a 4 µs limit, 4 µs ties go to the op (polled first), the rest lose.
    let expected: Vec<u32> = (0..100u64)
        .map(|id| (0..10_000u64).filter(|round| (round + id) % 7 < 4).count() as u32)
        .collect();
    assert_eq!(first, expected);
}

/// A foreign future that keeps a clone of its waker (another thread could wake it) and never
/// completes.
struct HeldWaker(Option<std::task::Waker>);

impl std::future::Future for HeldWaker {
    type Output = ();

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        self.0 = Some(cx.waker().clone());
        std::task::Poll::Pending
    }
}

/// Waits on the foreign future under a timeout.
#[bot(crate = ttk_core)]
fn waits_on_a_foreign_future(_cx: Cx, _id: usize) -> bool {
    ttk_core::yield_!(ttk_core::timeout(
        Duration::from_millis(50),
        HeldWaker(None)
    ))
    .is_err()
}

#[test]
fn under_virtual_time_a_timeout_around_a_foreign_future_expires() {
    let timed_out = Runtime::new()
        .virtual_time(true)
        .run(1, waits_on_a_foreign_future);
    assert_eq!(timed_out, [true]);
}
