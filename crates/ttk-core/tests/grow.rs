//! Runs that grow: bots started by bots, by tick hooks and by a source; ids unique for the
//! whole run, places reused.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use ttk_core::{Arrivals, Cx, RunEnd, Runtime};
use ttk_macros::bot;

/// Bot 0 starts two bots and greets them in the same tick; they answer with their ids.
#[bot(crate = ttk_core)]
fn parent(cx: Cx<usize>, id: usize) -> Vec<usize> {
    if id == 0 {
        let children = cx.start_bots(2);
        assert_eq!(children, 1..3);
        for child in children {
            cx.send(child, 100 + child);
        }
        let mut answers = vec![
            ttk_core::yield_!(cx.recv()).data,
            ttk_core::yield_!(cx.recv()).data,
        ];
        answers.sort();
        answers
    } else {
        let greeting = ttk_core::yield_!(cx.recv());
        assert_eq!(greeting.from, 0);
        cx.send(0, greeting.data + 1000);
        vec![cx.id()]
    }
}

#[test]
fn a_bot_starts_bots_that_get_messages_sent_in_the_same_tick() {
    assert_eq!(
        ttk_core::run(1, parent),
        [vec![1101, 1102], vec![1], vec![2]]
    );
}

/// A short session: a few yields, then its id and the ids it saw as its own.
#[bot(crate = ttk_core)]
fn session(cx: Cx, id: usize) -> usize {
    for _ in 0..id % 3 {
        ttk_core::yield_!();
    }
    assert_eq!(cx.id(), id);
    id
}

#[test]
fn a_source_starts_many_sessions_with_unique_ids_while_few_are_alive() {
    let total = 50_000;
    let mut left = total;
    let peak = Rc::new(RefCell::new(0));
    let seen_peak = Rc::clone(&peak);
    let source = move |_now: Instant, live: usize| {
        let mut peak = seen_peak.borrow_mut();
        *peak = (*peak).max(live);
        let count = (100 - live).min(left);
        left -= count;
        match left {
            0 => Arrivals::start(count).then_done(),
            _ => Arrivals::start(count),
        }
    };
    let mut seen = vec![false; total];
    let summary = Runtime::new()
        .source(source)
        .execute_each(0, session, |id, outcome| {
            assert_eq!(outcome.unwrap(), id);
            assert!(!seen[id], "id {id} ended twice");
            seen[id] = true;
        });
    assert_eq!(summary.end, RunEnd::Completed);
    assert_eq!(summary.bots_started, total);
    assert!(seen.iter().all(|&ended| ended));
    assert!(*peak.borrow() <= 100);
}

#[test]
fn a_source_waits_for_the_times_it_names_on_the_virtual_clock() {
    let mut waves = 0;
    let source = move |now: Instant, _live: usize| {
        waves += 1;
        match waves {
            1..=3 => Arrivals::start(2).then_at(now + Duration::from_secs(60)),
            _ => Arrivals::done(),
        }
    };
    let started = Rc::new(RefCell::new(Vec::new()));
    let log = Rc::clone(&started);
    let report = Runtime::new()
        .virtual_time(true)
        .source(source)
        .execute(0, move |cx: Cx, id| {
            let log = Rc::clone(&log);
            async move {
                log.borrow_mut().push((id, ttk_core::now()));
                cx.id()
            }
        });
    assert_eq!(report.end, RunEnd::Completed);
    assert_eq!(report.outcomes.len(), 6);
    let started = started.borrow();
    let first = started[0].1;
    let minutes: Vec<u64> = started
        .iter()
        .map(|(_, at)| (*at - first).as_secs() / 60)
        .collect();
    assert_eq!(minutes, [0, 0, 1, 1, 2, 2]);
}

#[test]
fn a_tick_hook_starts_bots() {
    let outcomes = Runtime::new()
        .world(0u32)
        .on_tick(|started: &mut u32, _| {
            if *started < 3 {
                *started += 1;
                ttk_core::start_bots(1);
            }
        })
        .run(1, |_cx: Cx<(), u32>, id| async move { id });
    assert_eq!(outcomes, [0, 1, 2, 3]);
}

/// Joins a room, exchanges a message with its mate, and leaves by finishing.
#[bot(crate = ttk_core)]
fn roommate(cx: Cx<usize>, id: usize) -> usize {
    let room = format!("room{}", id / 2);
    cx.join(&room);
    ttk_core::yield_!();
    cx.send_group(&room, id);
    ttk_core::yield_!(cx.recv()).from
}

#[test]
fn reused_places_keep_messages_and_groups_apart() {
    // Bots end in two ticks; the source starts pairs as places free up, so later bots reuse
    // earlier bots' places while ids keep growing.
    let mut left = 400;
    let source = move |_now: Instant, live: usize| {
        let count = if live == 0 { left.min(20) } else { 0 };
        left -= count;
        match left {
            0 => Arrivals::start(count).then_done(),
            _ => Arrivals::start(count),
        }
    };
    let report = Runtime::new().source(source).execute(0, roommate);
    assert_eq!(report.end, RunEnd::Completed);
    for (id, outcome) in report.outcomes.into_iter().enumerate() {
        assert_eq!(outcome.unwrap(), id ^ 1, "bot {id} heard from a stranger");
    }
}

/// Sleeps a (virtual) second.
#[bot(crate = ttk_core)]
fn sleeper(_cx: Cx, id: usize) -> usize {
    ttk_core::yield_!(ttk_core::sleep(Duration::from_secs(1)));
    id
}

#[test]
fn a_source_asking_every_tick_lets_a_virtual_clock_run_and_sleepers_finish() {
    let mut left = 30;
    let source = move |_now: Instant, live: usize| {
        let count = (10 - live).min(left);
        left -= count;
        match left {
            0 => Arrivals::start(count).then_done(),
            _ => Arrivals::start(count),
        }
    };
    let report = Runtime::new()
        .virtual_time(true)
        .source(source)
        .execute(0, sleeper);
    assert_eq!(report.end, RunEnd::Completed);
    assert_eq!(report.outcomes.len(), 30);
}

/// Waits for a message while a source keeps asking every tick and starts nobody.
#[bot(crate = ttk_core)]
fn waits_for_nobody(cx: Cx<u8>, _id: usize) {
    ttk_core::yield_!(cx.recv());
}

#[test]
fn bots_deadlocked_beside_an_idle_source_are_stalled() {
    let mut asked = 0;
    let source = move |_now: Instant, _live: usize| {
        asked += 1;
        Arrivals::start(usize::from(asked == 1) * 2)
    };
    let report = Runtime::new().source(source).execute(0, waits_for_nobody);
    assert_eq!(report.end, RunEnd::Stalled);
    assert_eq!(report.outcomes.len(), 2);
}
