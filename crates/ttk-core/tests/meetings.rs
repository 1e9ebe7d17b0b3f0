//! A group barrier is a meeting of the whole group: a round completes only when every member —
//! counting the joins and leaves of the tick in which bots arrive — has arrived, and all are
//! released in the same tick.

use std::time::Duration;

use ttk_core::{Cx, Runtime};
use ttk_macros::bot;

/// What a bot saw of one meeting: the tick it was released in, and whether it led.
type Seen = (u64, bool);

/// Joins `room`, yields `delay` times, meets.
#[bot(crate = ttk_core)]
fn meet_after(cx: Cx, _id: usize, room: &'static str, delay: u32) -> Seen {
    cx.join(room);
    for _ in 0..delay {
        ttk_core::yield_!();
    }
    let result = ttk_core::yield_!(cx.group_barrier(room).wait()).expect("the room meets");
    (ttk_core::tick(), result.is_leader())
}

/// All released in one tick, exactly one leader.
fn one_meeting(seen: &[Seen]) -> u64 {
    assert!(seen.iter().all(|(tick, _)| *tick == seen[0].0), "{seen:?}");
    assert_eq!(
        seen.iter().filter(|(_, leader)| *leader).count(),
        1,
        "{seen:?}"
    );
    seen[0].0
}

#[test]
fn bots_that_join_and_arrive_in_one_tick_wait_for_a_roommate_who_comes_later() {
    // The case: bot 3 yields once; bots 0-2 must not pass alone.
    let seen = ttk_core::run(4, |cx, id| meet_after(cx, id, "room", u32::from(id == 3)));
    let tick = one_meeting(&seen);
    assert_eq!(tick, 2, "released after bot 3 arrived in tick 1: {seen:?}");
    assert!(seen[3].1, "the last to arrive leads");
}

#[test]
fn bots_that_join_and_arrive_in_the_same_tick_all_meet() {
    let seen = ttk_core::run(4, |cx, id| meet_after(cx, id, "room", 0));
    assert_eq!(one_meeting(&seen), 1);
}

/// Bots 0-2 join in tick 0 and arrive in tick 2; bot 3 joins in tick 2 (the arrivals' tick)
/// and arrives in tick 4.
#[bot(crate = ttk_core)]
fn late_joiner(cx: Cx, id: usize) -> Seen {
    let (join_at, arrive_at) = if id == 3 { (2, 4) } else { (0, 2) };
    for tick in 0..=arrive_at {
        if tick == join_at {
            cx.join("room");
        }
        if tick < arrive_at {
            ttk_core::yield_!();
        }
    }
    let result = ttk_core::yield_!(cx.group_barrier("room").wait()).expect("the room meets");
    (ttk_core::tick(), result.is_leader())
}

#[test]
fn a_join_in_the_tick_of_the_arrivals_counts() {
    let seen = ttk_core::run(4, late_joiner);
    assert_eq!(one_meeting(&seen), 5, "{seen:?}");
}

/// Bots 0-2 arrive in tick 1; bot 3 leaves in tick 1 (the arrivals' tick) and never comes.
#[bot(crate = ttk_core)]
fn leaver(cx: Cx, id: usize) -> Option<Seen> {
    cx.join("room");
    ttk_core::yield_!();
    if id == 3 {
        cx.leave("room").unwrap();
        for _ in 0..10 {
            ttk_core::yield_!();
        }
        return None;
    }
    let result = ttk_core::yield_!(cx.group_barrier("room").wait()).expect("the room meets");
    Some((ttk_core::tick(), result.is_leader()))
}

#[test]
fn a_leave_in_the_tick_of_the_arrivals_counts() {
    let seen = ttk_core::run(4, leaver);
    assert_eq!(seen[3], None);
    let met: Vec<Seen> = seen.into_iter().flatten().collect();
    assert_eq!(one_meeting(&met), 2, "{met:?}");
}

/// Rooms of four meet five times, each bot arriving after a random number of yields (0-3),
/// joining and leaving nothing in between.
#[bot(crate = ttk_core)]
fn rounds_in_rooms(cx: Cx<usize>, id: usize) -> Vec<Seen> {
    let room = format!("room{}", id / 4);
    cx.join(&room);
    let meeting = cx.group_barrier(&room);
    let mut seen = Vec::new();
    for round in 0..5 {
        for _ in 0..cx.rng().below(4) {
            ttk_core::yield_!();
        }
        cx.send_group(&room, round);
        let result = ttk_core::yield_!(meeting.wait()).expect("the room meets");
        seen.push((ttk_core::tick(), result.is_leader()));
        while cx.try_recv().is_some() {}
    }
    seen
}

#[test]
fn ten_thousand_bots_in_rooms_of_four_meet_together_every_round() {
    let seen = Runtime::new().seed(7).run(10_000, rounds_in_rooms);
    for room in seen.chunks(4) {
        for round in 0..5 {
            let meeting: Vec<Seen> = room.iter().map(|bot| bot[round]).collect();
            one_meeting(&meeting);
        }
    }
}

/// Waits at a group barrier without being a member; the members arrive later.
#[bot(crate = ttk_core)]
fn outsider(cx: Cx, id: usize) -> u64 {
    if id == 0 {
        ttk_core::yield_!(cx.group_barrier("room").wait()).unwrap();
    } else {
        cx.join("room");
        ttk_core::yield_!();
        ttk_core::yield_!();
        ttk_core::yield_!(cx.group_barrier("room").wait()).unwrap();
    }
    ttk_core::tick()
}

#[test]
fn a_bot_outside_the_group_waits_for_all_of_its_members() {
    let ticks = ttk_core::run(3, outsider);
    assert!(ticks.iter().all(|tick| *tick == 3), "{ticks:?}");
}

/// Bot 3 waits first, under a timeout that runs out at 20 ms, then comes back at 80 ms; bots
/// 0-2 arrive at 50 ms. Bot 3's abandoned wait must not count: the round completes at 80 ms,
/// with all four.
#[bot(crate = ttk_core)]
fn impatient_member(cx: Cx, id: usize) -> Seen {
    cx.join("room");
    ttk_core::yield_!();
    let meeting = cx.group_barrier("room");
    if id == 3 {
        let waited =
            ttk_core::yield_!(ttk_core::timeout(Duration::from_millis(20), meeting.wait()));
        assert!(waited.is_err(), "nobody else is there yet");
        ttk_core::yield_!(ttk_core::sleep(Duration::from_millis(60)));
    } else {
        ttk_core::yield_!(ttk_core::sleep(Duration::from_millis(50)));
    }
    let result = ttk_core::yield_!(meeting.wait()).expect("the room meets");
    (ttk_core::tick(), result.is_leader())
}

#[test]
fn an_abandoned_wait_does_not_count_as_arrived() {
    let seen = Runtime::new().virtual_time(true).run(4, impatient_member);
    one_meeting(&seen);
    assert!(seen[3].1, "bot 3 came last");
}

/// A member that waits and then panics: the others go on without it.
#[bot(crate = ttk_core)]
fn crashes_at_the_table(cx: Cx, id: usize) -> u64 {
    cx.join("room");
    ttk_core::yield_!();
    if id == 0 {
        ttk_core::yield_!();
        panic!("bot 0 leaves the hard way");
    }
    ttk_core::yield_!(cx.group_barrier("room").wait()).expect("the room meets without bot 0");
    ttk_core::tick()
}

#[test]
fn a_member_that_ends_while_others_wait_no_longer_counts() {
    let outcomes = ttk_core::try_run(3, crashes_at_the_table);
    assert!(outcomes[0].is_err());
    assert_eq!(outcomes[1].as_ref().ok(), outcomes[2].as_ref().ok());
}
