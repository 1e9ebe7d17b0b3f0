//! Bots together: the delivery rule, groups, barriers, the world, hooks and determinism.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use ttk_core::{Barrier, BarrierError, Cx, Runtime};
use ttk_macros::bot;

/// (tick, what) pairs a bot saw.
type Seen = Vec<(u64, Option<(usize, u32)>)>;

#[bot(crate = ttk_core)]
fn delivery(cx: Cx<u32>, id: usize) -> Seen {
    let mut seen = Vec::new();
    // Bot 0 runs before bot 1 in a tick, bot 2 after: both directions are covered.
    if id == 1 {
        cx.send(0, 10);
        cx.send(2, 12);
    }
    for _ in 0..2 {
        let got = cx.try_recv().map(|m| (m.from, m.data));
        seen.push((ttk_core::tick(), got));
        ttk_core::yield_!();
    }
    seen
}

#[test]
fn a_message_sent_in_tick_t_is_seen_from_tick_t_plus_1_whatever_the_order() {
    let seen = ttk_core::run(3, delivery);
    assert_eq!(seen[0], [(0, None), (1, Some((1, 10)))]);
    assert_eq!(seen[2], [(0, None), (1, Some((1, 12)))]);
    assert_eq!(seen[1], [(0, None), (1, None)]);
}

#[bot(crate = ttk_core)]
fn chatter(cx: Cx<&'static str>, id: usize) -> Vec<(usize, &'static str)> {
    cx.join("all");
    ttk_core::yield_!();
    match id {
        0 => {
            cx.send(0, "to myself");
            cx.send_group("all", "group");
            cx.broadcast("everyone");
            cx.send_many(&[0, 1, 2], "list");
            cx.send(2, "only for 2");
        }
        1 => cx.send(2, "from 1"),
        _ => {}
    }
    ttk_core::yield_!();
    let mut got = Vec::new();
    if id == 2 {
        assert!(cx.has_message_from(&[1]));
        assert!(cx.has_message_from(&[1]), "has_message does not consume");
        let first = cx.try_recv_from(&[1]).unwrap();
        got.push((first.from, first.data));
    }
    while let Some(message) = cx.try_recv() {
        got.push((message.from, message.data));
    }
    got
}

#[test]
fn messages_never_reach_their_sender_and_filters_leave_the_rest() {
    let got = ttk_core::run(3, chatter);
    assert!(got[0].is_empty(), "{:?}", got[0]);
    assert_eq!(got[1], [(0, "group"), (0, "everyone"), (0, "list")]);
    assert_eq!(
        got[2],
        [
            (1, "from 1"),
            (0, "group"),
            (0, "everyone"),
            (0, "list"),
            (0, "only for 2")
        ]
    );
}

/// Counts the polls of the future it wraps.
struct Counted<F>(Pin<Box<F>>, Rc<Cell<u32>>);

impl<F: Future> Future for Counted<F> {
    type Output = F::Output;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.1.set(self.1.get() + 1);
        self.0.as_mut().poll(cx)
    }
}

#[bot(crate = ttk_core)]
fn late_sender(cx: Cx<u32>, id: usize, polls: Rc<Cell<u32>>) -> u32 {
    if id == 0 {
        let message = ttk_core::yield_!(Counted(Box::pin(cx.recv()), polls));
        return message.data;
    }
    for _ in 0..100 {
        ttk_core::yield_!();
    }
    cx.send(0, 7);
    0
}

#[test]
fn a_parked_receiver_is_polled_once_to_park_and_once_when_the_message_comes() {
    let polls = Rc::new(Cell::new(0));
    let results = ttk_core::run(2, |cx, id| late_sender(cx, id, polls.clone()));
    assert_eq!(results[0], 7);
    assert_eq!(polls.get(), 2);
}

#[bot(crate = ttk_core)]
fn grouping(cx: Cx, id: usize) -> (Vec<usize>, Vec<usize>, String, Vec<usize>) {
    cx.join("g");
    let seen_by_self = cx.members("g");
    ttk_core::yield_!();
    let after_commit = cx.members("g");
    let error = cx.leave("not mine").unwrap_err().to_string();
    if id == 0 {
        cx.leave("g").unwrap();
    }
    ttk_core::yield_!();
    if id == 1 {
        cx.leave("g").unwrap();
    }
    ttk_core::yield_!();
    (seen_by_self, after_commit, error, cx.members("g"))
}

#[test]
fn group_rules_join_next_tick_leave_errors_and_empty_groups_vanish() {
    let results = ttk_core::run(2, grouping);
    assert_eq!(results[0].0, [0], "a bot sees its own join at once");
    assert_eq!(results[1].0, [1], "others see it from the next tick");
    assert_eq!(results[0].1, [0, 1]);
    assert_eq!(
        results[0].2,
        "bot 0 cannot leave group \"not mine\": it is not a member"
    );
    assert!(
        results[0].3.is_empty() && results[1].3.is_empty(),
        "the group is gone"
    );
}

#[bot(crate = ttk_core)]
fn leaves_by_finishing(cx: Cx, id: usize) -> Vec<usize> {
    cx.join("room");
    ttk_core::yield_!();
    if id == 0 {
        return Vec::new();
    }
    ttk_core::yield_!();
    ttk_core::yield_!();
    cx.members("room")
}

#[test]
fn a_finished_bot_leaves_its_groups() {
    assert_eq!(ttk_core::run(3, leaves_by_finishing)[1], [1, 2]);
}

#[bot(crate = ttk_core)]
fn meets(_cx: Cx, id: usize, barrier: Barrier) -> Vec<(u64, bool)> {
    let mut rounds = Vec::new();
    for round in 0..3 {
        for _ in 0..(id + round) % 3 {
            ttk_core::yield_!();
        }
        let result = ttk_core::yield_!(barrier.wait()).expect("everyone comes");
        rounds.push((ttk_core::tick(), result.is_leader()));
    }
    rounds
}

#[test]
fn a_barrier_is_reusable_and_releases_everyone_in_the_same_tick() {
    let barrier = Barrier::new(3);
    let rounds = ttk_core::run(3, |cx, id| meets(cx, id, barrier.clone()));
    for round in 0..3 {
        let ticks: Vec<u64> = rounds.iter().map(|bot| bot[round].0).collect();
        assert!(
            ticks.iter().all(|&t| t == ticks[0]),
            "round {round}: {ticks:?}"
        );
        let leaders = rounds.iter().filter(|bot| bot[round].1).count();
        assert_eq!(leaders, 1);
    }
}

#[bot(crate = ttk_core)]
fn one_drops_out(_cx: Cx, id: usize, barrier: Barrier, panics: bool) -> Result<u32, BarrierError> {
    ttk_core::yield_!(barrier.wait())?;
    if id == 2 {
        assert!(!panics, "bot 2 crashed");
        return Ok(1);
    }
    ttk_core::yield_!(barrier.wait())?;
    Ok(2)
}

#[test]
fn a_barrier_whose_member_finished_or_panicked_releases_the_others_with_an_error() {
    for panics in [false, true] {
        let barrier = Barrier::new(3);
        let outcomes =
            ttk_core::try_run(3, |cx, id| one_drops_out(cx, id, barrier.clone(), panics));
        for outcome in &outcomes[..2] {
            let error = outcome.as_ref().unwrap().as_ref().unwrap_err();
            assert_eq!(error, &BarrierError::PartyFinished { bot: 2 });
        }
        assert_eq!(outcomes[2].is_err(), panics);
    }
}

#[bot(crate = ttk_core)]
fn too_few(_cx: Cx, _id: usize, barrier: Barrier) -> Result<(), BarrierError> {
    ttk_core::yield_!(barrier.wait())?;
    Ok(())
}

#[test]
fn a_barrier_that_can_never_fill_releases_its_waiters_instead_of_hanging() {
    let barrier = Barrier::new(5);
    let outcomes = ttk_core::run(2, |cx, id| too_few(cx, id, barrier.clone()));
    for outcome in outcomes {
        assert_eq!(
            outcome,
            Err(BarrierError::Stalled {
                arrived: 2,
                parties: 5
            })
        );
    }
}

/// What a determinism run records: (virtual ms since start, tick, bot, event).
type Log = Vec<(u128, u64, usize, String)>;

#[bot(crate = ttk_core)]
fn wanderer(cx: Cx<u64, Log>, id: usize) {
    let start = ttk_core::now();
    let log = |event: String| {
        let at = (ttk_core::now() - start).as_millis();
        cx.world(|log| log.push((at, ttk_core::tick(), id, event)));
    };
    for _ in 0..5 {
        let nap = cx.rng().range(1..1000);
        ttk_core::yield_!(ttk_core::sleep(Duration::from_millis(nap)));
        let to = cx.rng().below(20) as usize;
        cx.send(to, nap);
        log(format!("slept {nap}, wrote to {to}"));
        while let Some(message) = cx.try_recv() {
            log(format!("read {} from {}", message.data, message.from));
        }
    }
}

fn deterministic_run(seed: u64) -> Log {
    let runtime = Runtime::new()
        .virtual_time(true)
        .seed(seed)
        .world(Log::new());
    runtime.run_with_world(20, wanderer).1
}

#[test]
fn the_same_seed_under_the_virtual_clock_gives_the_same_event_log() {
    let first = deterministic_run(42);
    assert!(first.len() >= 100, "{}", first.len());
    assert_eq!(first, deterministic_run(42));
    assert_ne!(first, deterministic_run(43));
}

#[bot(crate = ttk_core)]
fn ticker(_cx: Cx<(), Vec<String>>, _id: usize) {
    ttk_core::yield_!();
}

#[test]
fn tick_hooks_stack_in_order_and_see_the_world() {
    let (_, log) = Runtime::new()
        .world(Vec::new())
        .on_tick(|log: &mut Vec<String>, info| log.push(format!("a{}", info.tick)))
        .on_tick(|log: &mut Vec<String>, info| {
            log.push(format!("b{}:{}", info.tick, info.live_bots))
        })
        .run_with_world(2, ticker);
    assert_eq!(log, ["a0", "b0:2", "a1", "b1:0"]);
}

#[bot(crate = ttk_core)]
fn table(cx: Cx, id: usize) -> Option<u64> {
    cx.join("table");
    ttk_core::yield_!();
    if id == 3 {
        // Leaves the table before the meeting: the others must not wait for it.
        for _ in 0..5 {
            ttk_core::yield_!();
        }
        return None;
    }
    ttk_core::yield_!(cx.group_barrier("table").wait()).expect("the rest of the table meets");
    Some(ttk_core::tick())
}

#[test]
fn a_group_barrier_waits_for_the_current_members_only() {
    let ticks = ttk_core::run(4, table);
    assert_eq!(ticks[3], None);
    assert!(
        ticks[0].is_some() && ticks[0] == ticks[1] && ticks[1] == ticks[2],
        "{ticks:?}"
    );
    assert!(
        ticks[0].unwrap() > 5,
        "released only once bot 3 had left: {ticks:?}"
    );
}

/// A message that counts its drops.
#[derive(Clone)]
struct DropCounted(Rc<Cell<u32>>);

impl Drop for DropCounted {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

#[bot(crate = ttk_core)]
fn writes_to_the_departed(cx: Cx<DropCounted>, id: usize, drops: Rc<Cell<u32>>) -> u32 {
    if id == 1 {
        return 0;
    }
    ttk_core::yield_!();
    for _ in 0..3 {
        cx.send(1, DropCounted(drops.clone()));
    }
    ttk_core::yield_!();
    ttk_core::yield_!();
    // Seen before the run ends: the messages were dropped at delivery, not kept unread.
    drops.get()
}

#[test]
fn messages_to_a_finished_bot_are_dropped_not_kept() {
    let drops = Rc::new(Cell::new(0));
    let seen = ttk_core::run(2, |cx, id| writes_to_the_departed(cx, id, drops.clone()));
    assert_eq!(seen[0], 3);
}
