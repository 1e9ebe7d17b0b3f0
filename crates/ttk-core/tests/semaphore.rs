//! A semaphore among bots: fair in arrival order, permits given back however their bots end,
//! waits given up in O(1), stalls detected. (Connects paced through a listen backlog, for real,
//! are tested in the facade's `semaphore.rs`.)

use std::cell::{Cell, RefCell};
use std::future::{Future, poll_fn};
use std::pin::pin;
use std::rc::Rc;
use std::task::Poll;
use std::time::Duration;

use ttk_core::{BotErrorKind, Cx, RunEnd, Runtime, Semaphore};
use ttk_macros::bot;

/// Who got a permit, in the order they got it.
type Log = Rc<RefCell<Vec<usize>>>;

/// Arrives after `delay` yields, takes a permit, logs itself, holds it for `hold` yields.
#[bot(crate = ttk_core)]
fn visit(_cx: Cx, id: usize, sem: Semaphore, log: Log, delay: usize, hold: usize) {
    for _ in 0..delay {
        ttk_core::yield_!();
    }
    let _permit = ttk_core::yield_!(sem.acquire());
    log.borrow_mut().push(id);
    for _ in 0..hold {
        ttk_core::yield_!();
    }
}

#[test]
fn permits_go_in_arrival_order_not_id_order() {
    // Bot `id` arrives after DELAYS[id] yields; bot 5 comes first and holds the permit until
    // every other bot waits.
    const DELAYS: [usize; 8] = [6, 2, 7, 1, 5, 0, 4, 3];
    let sem = Semaphore::new(1);
    let log = Log::default();
    ttk_core::run(DELAYS.len(), |cx, id| {
        visit(cx, id, sem.clone(), log.clone(), DELAYS[id], 10)
    });
    let mut arrivals: Vec<usize> = (0..DELAYS.len()).collect();
    arrivals.sort_by_key(|&id| DELAYS[id]);
    assert_eq!(*log.borrow(), arrivals);
    assert_eq!((sem.available(), sem.waiting()), (1, 0));
}

/// Bot 0 holds the permit for a tick; bot 1 queues for it; bot 2, in the tick bot 0 gives it
/// back (after bot 0 in that tick), tries to take it first.
#[bot(crate = ttk_core)]
fn barge(_cx: Cx, id: usize, sem: Semaphore, log: Log) -> Option<bool> {
    match id {
        0 => {
            let permit = ttk_core::yield_!(sem.acquire());
            log.borrow_mut().push(0);
            ttk_core::yield_!();
            drop(permit);
            None
        }
        1 => {
            let _permit = ttk_core::yield_!(sem.acquire());
            log.borrow_mut().push(1);
            ttk_core::yield_!();
            None
        }
        _ => {
            ttk_core::yield_!();
            // The permit was just given back, and handed to bot 1, which has not run yet.
            assert_eq!((sem.available(), sem.waiting()), (0, 0));
            let barged = sem.try_acquire().is_some();
            let _permit = ttk_core::yield_!(sem.acquire());
            log.borrow_mut().push(2);
            Some(barged)
        }
    }
}

#[test]
fn a_bot_that_comes_later_cannot_take_a_permit_a_waiting_bot_is_due() {
    let sem = Semaphore::new(1);
    let log = Log::default();
    let barged = ttk_core::run(3, |cx, id| barge(cx, id, sem.clone(), log.clone()));
    assert_eq!(
        barged[2],
        Some(false),
        "try_acquire took the waiter's permit"
    );
    assert_eq!(*log.borrow(), [0, 1, 2]);
}

/// Bot 0 adds two permits once the others wait for a semaphore of none.
#[bot(crate = ttk_core)]
fn opener(_cx: Cx, id: usize, sem: Semaphore, log: Log) {
    if id == 0 {
        ttk_core::yield_!();
        assert_eq!(sem.waiting(), 3);
        sem.add_permits(2);
        assert_eq!((sem.available(), sem.waiting()), (0, 1));
        return;
    }
    let permit = ttk_core::yield_!(sem.acquire());
    log.borrow_mut().push(id);
    ttk_core::yield_!();
    drop(permit);
}

#[test]
fn added_permits_go_to_the_waiters_first() {
    let sem = Semaphore::new(0);
    let log = Log::default();
    ttk_core::run(4, |cx, id| opener(cx, id, sem.clone(), log.clone()));
    assert_eq!(*log.borrow(), [1, 2, 3]);
    assert_eq!((sem.available(), sem.waiting()), (2, 0));
    // Many at once cost one step, not one per permit.
    sem.add_permits(usize::MAX);
    assert_eq!(sem.available(), usize::MAX);
}

/// Takes a permit, then ends as `how` says: 0 finishes, 1 panics, 2 sleeps until stopped.
#[bot(crate = ttk_core)]
fn holder(_cx: Cx, _id: usize, sem: Semaphore, how: usize) {
    let _permit = ttk_core::yield_!(sem.acquire());
    ttk_core::yield_!(ttk_core::sleep(Duration::from_millis(10)));
    match how {
        0 => {}
        1 => panic!("holder fails"),
        _ => ttk_core::yield_!(ttk_core::sleep(Duration::from_secs(3_600))),
    }
}

/// Bots 0 and 1 are holders that end as `how` says; the others visit after one yield.
#[bot(crate = ttk_core)]
fn holder_or_visitor(cx: Cx, id: usize, sem: Semaphore, log: Log, how: usize) {
    if id < 2 {
        ttk_core::yield_!(holder(cx, id, sem, how));
    } else {
        ttk_core::yield_!(visit(cx, id, sem, log, 1, 1));
    }
}

/// A holder that is stopped; one that `holds` takes its permit in the first tick, the others
/// come a tick later and wait.
#[bot(crate = ttk_core)]
fn late_holder(cx: Cx, id: usize, sem: Semaphore, holds: bool) {
    if !holds {
        ttk_core::yield_!();
    }
    ttk_core::yield_!(holder(cx, id, sem, 2));
}

#[test]
fn a_permit_comes_back_when_its_bot_finishes_or_panics() {
    for how in [0, 1] {
        let sem = Semaphore::new(2);
        let log = Log::default();
        // Bots 0 and 1 hold both permits; bots 2-5 wait and get in once they end.
        let outcomes = Runtime::new().virtual_time(true).try_run(6, |cx, id| {
            holder_or_visitor(cx, id, sem.clone(), log.clone(), how)
        });
        assert_eq!(*log.borrow(), [2, 3, 4, 5], "how {how}");
        assert_eq!(outcomes[0].is_err(), how == 1, "how {how}");
        assert!(outcomes[2..].iter().all(Result::is_ok), "how {how}");
        assert_eq!((sem.available(), sem.waiting()), (2, 0), "how {how}");
    }
}

#[test]
fn a_stopped_run_gives_every_permit_back_and_leaves_no_waiter() {
    // Holders with lower and with higher places than the waiters: bots are dropped in place
    // order, so a permit given back may go to a waiter that is dropped next, which passes it on.
    for holders_first in [true, false] {
        let sem = Semaphore::new(3);
        let report = Runtime::new()
            .virtual_time(true)
            .deadline(Duration::from_secs(1))
            .execute(10, |cx, id| {
                let holds = if holders_first { id < 3 } else { id >= 7 };
                late_holder(cx, id, sem.clone(), holds)
            });
        assert_eq!(report.end, RunEnd::DeadlineReached);
        assert!(report.outcomes.iter().all(|outcome| {
            outcome
                .as_ref()
                .is_err_and(|error| *error.kind() == BotErrorKind::Stopped)
        }));
        assert_eq!(
            (sem.available(), sem.waiting()),
            (3, 0),
            "holders first: {holders_first}"
        );
    }
}

/// Bots whose id is a multiple of 3 wait for a permit as long as it takes; the others give up
/// after a time that scatters them over the queue (so they leave from its front, middle and
/// back).
/// Bot 0 holds the only permit until every impatient bot has given up.
#[bot(crate = ttk_core)]
fn patient_or_not(_cx: Cx, id: usize, n: usize, sem: Semaphore, log: Log) -> bool {
    if id == 0 {
        let permit = ttk_core::yield_!(sem.acquire());
        ttk_core::yield_!(ttk_core::sleep(Duration::from_secs(n as u64)));
        assert_eq!(
            sem.waiting(),
            n.div_ceil(3) - 1,
            "only the patient still wait"
        );
        drop(permit);
        return true;
    }
    ttk_core::yield_!();
    if id.is_multiple_of(3) {
        let _permit = ttk_core::yield_!(sem.acquire());
        log.borrow_mut().push(id);
        return true;
    }
    let limit = Duration::from_millis((id * 7_919 % n) as u64 + 1);
    ttk_core::yield_!(ttk_core::timeout(limit, sem.acquire())).is_ok()
}

#[test]
fn waits_given_up_under_a_timeout_leave_the_queue_in_any_order_at_scale() {
    const N: usize = 100_000;
    let sem = Semaphore::new(1);
    let log = Log::default();
    let got = Runtime::new().virtual_time(true).run(N, |cx, id| {
        patient_or_not(cx, id, N, sem.clone(), log.clone())
    });
    for (id, got) in got.iter().enumerate() {
        assert_eq!(*got, id.is_multiple_of(3), "bot {id}");
    }
    let patient: Vec<usize> = (3..N).step_by(3).collect();
    assert_eq!(
        *log.borrow(),
        patient,
        "the patient got in in arrival order"
    );
    assert_eq!((sem.available(), sem.waiting()), (1, 0));
}

/// Bot 0 holds the permit for a tick. Bot 1 polls a wait once (it queues first), lets the
/// permit be handed to it, and drops the wait without taking it. Bot 2 waits behind it.
#[bot(crate = ttk_core)]
fn grant_dropped(_cx: Cx, id: usize, sem: Semaphore, log: Log) -> bool {
    match id {
        0 => {
            let _permit = ttk_core::yield_!(sem.acquire());
            ttk_core::yield_!();
            true
        }
        1 => {
            let mut wait = pin!(sem.acquire());
            let queued = ttk_core::yield_!(poll_fn(|task| Poll::Ready(
                wait.as_mut().poll(task).is_pending()
            )));
            // Bot 0 gives the permit back in the next tick: it goes to this wait.
            ttk_core::yield_!();
            ttk_core::yield_!();
            queued && sem.waiting() == 1
        }
        _ => {
            let _permit = ttk_core::yield_!(sem.acquire());
            log.borrow_mut().push(2);
            true
        }
    }
}

#[test]
fn a_permit_granted_to_a_wait_dropped_before_it_ran_goes_to_the_next_waiter() {
    let sem = Semaphore::new(1);
    let log = Log::default();
    let report =
        Runtime::new().execute(3, |cx, id| grant_dropped(cx, id, sem.clone(), log.clone()));
    assert_eq!(report.end, RunEnd::Completed, "the permit was lost");
    assert!(
        report
            .outcomes
            .iter()
            .all(|outcome| *outcome.as_ref().unwrap())
    );
    assert_eq!(*log.borrow(), [2]);
    assert_eq!((sem.available(), sem.waiting()), (1, 0));
}

/// Takes a permit, counts the bots inside, holds it for two ticks.
#[bot(crate = ttk_core)]
fn through(
    _cx: Cx,
    id: usize,
    sem: Semaphore,
    inside: Rc<Cell<usize>>,
    most: Rc<Cell<usize>>,
    log: Log,
) -> usize {
    let _permit = ttk_core::yield_!(sem.acquire());
    inside.set(inside.get() + 1);
    most.set(most.get().max(inside.get()));
    log.borrow_mut().push(id);
    ttk_core::yield_!();
    ttk_core::yield_!();
    inside.set(inside.get() - 1);
    id
}

#[test]
fn a_hundred_thousand_bots_pass_through_ten_permits() {
    const N: usize = 100_000;
    let sem = Semaphore::new(10);
    let (inside, most, log) = (Rc::default(), Rc::default(), Log::default());
    let report = Runtime::new().execute(N, |cx, id| {
        through(
            cx,
            id,
            sem.clone(),
            Rc::clone(&inside),
            Rc::clone(&most),
            log.clone(),
        )
    });
    assert_eq!(report.end, RunEnd::Completed);
    for (id, outcome) in report.outcomes.iter().enumerate() {
        assert_eq!(*outcome.as_ref().unwrap(), id);
    }
    assert_eq!(most.get(), 10);
    assert_eq!(inside.get(), 0);
    assert!(
        log.borrow().iter().copied().eq(0..N),
        "not in arrival order"
    );
    assert_eq!((sem.available(), sem.waiting()), (10, 0));
}

/// Bot 0 takes the only permit and then waits for a second one; the others wait for one.
#[bot(crate = ttk_core)]
fn deadlock(_cx: Cx, _id: usize, sem: Semaphore) {
    let _first = ttk_core::yield_!(sem.acquire());
    let _second = ttk_core::yield_!(sem.acquire());
}

#[test]
fn bots_waiting_for_permits_nobody_can_give_back_stall_the_run() {
    for permits in [0, 1] {
        let sem = Semaphore::new(permits);
        // Without stall detection the run would end at the deadline (a deadline does not count
        // as something that can wake a bot), not hang the test.
        let report = Runtime::new()
            .deadline(Duration::from_secs(60))
            .execute(5, |cx, id| deadlock(cx, id, sem.clone()));
        assert_eq!(report.end, RunEnd::Stalled, "permits {permits}");
        for outcome in &report.outcomes {
            assert_eq!(*outcome.as_ref().unwrap_err().kind(), BotErrorKind::Stalled);
        }
        assert_eq!((sem.available(), sem.waiting()), (permits, 0));
    }
}
