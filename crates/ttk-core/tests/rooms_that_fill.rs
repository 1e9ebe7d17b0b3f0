//! Rooms that fill over time (`Cx::group_barrier_of`): bots started one by one — by a ramp-up,
//! by arrivals — meet only once their room is full, so the first to come does not go on
//! alone; a member that finishes while the others wait for it ends their round with an error,
//! and the room meets again once a newcomer fills it.

use std::time::{Duration, Instant};

use ttk_core::{Arrivals, BarrierError, Cx, Runtime};
use ttk_macros::bot;

/// Bots per room.
const ROOM: usize = 4;

/// A source that starts one bot every `every`, `total` in all (a ramp-up's shape).
fn one_by_one(total: usize, every: Duration) -> impl FnMut(Instant, usize) -> Arrivals {
    let mut started = 0;
    move |now, _live| {
        started += 1;
        match started >= total {
            true => Arrivals::start(1).then_done(),
            false => Arrivals::start(1).then_at(now + every),
        }
    }
}

/// The chat of the issue: join the room, meet when it is full, say hello to the others, read
/// their hellos. Returns (the tick of the meeting, the members then, hellos read).
#[bot(crate = ttk_core)]
fn chatter(cx: Cx<usize>, id: usize, full_rooms: bool) -> (u64, usize, usize) {
    let room = format!("room{}", id / ROOM);
    cx.join(&room);
    let meeting = match full_rooms {
        true => cx.group_barrier_of(&room, ROOM),
        false => cx.group_barrier(&room),
    };
    ttk_core::yield_!(meeting.wait()).expect("the room meets");
    let met = (ttk_core::tick(), cx.members(&room).len());
    cx.send_many(
        &cx.members(&room)
            .into_iter()
            .filter(|&member| member != id)
            .collect::<Vec<_>>(),
        id,
    );
    let mut hellos = 0;
    while hellos < ROOM - 1 {
        match ttk_core::yield_!(ttk_core::timeout(Duration::from_secs(1), cx.recv())) {
            Ok(_) => hellos += 1,
            Err(_) => break,
        }
    }
    (met.0, met.1, hellos)
}

#[test]
fn bots_started_one_by_one_meet_when_their_room_is_full_and_hear_everyone() {
    let seen = Runtime::new()
        .virtual_time(true)
        .source(one_by_one(40, Duration::from_millis(50)))
        .run(0, |cx, id| chatter(cx, id, true));
    assert_eq!(seen.len(), 40);
    for (room, bots) in seen.chunks(ROOM).enumerate() {
        assert!(
            bots.iter().all(|bot| bot.0 == bots[0].0 && bot.1 == ROOM),
            "room {room} met apart or short: {bots:?}"
        );
        assert!(
            bots.iter().all(|bot| bot.2 == ROOM - 1),
            "room {room}: a hello was lost: {bots:?}"
        );
    }
}

#[test]
fn a_plain_group_barrier_lets_the_first_bot_of_a_filling_room_go_alone() {
    // What the issue ran into, kept as the reason for `group_barrier_of`: the first bot of
    // each room meets with itself and says hello to nobody.
    let seen = Runtime::new()
        .virtual_time(true)
        .source(one_by_one(8, Duration::from_millis(50)))
        .run(0, |cx, id| chatter(cx, id, false));
    assert_eq!(seen[0].1, 1, "{seen:?}");
    assert!(seen[0].2 < ROOM - 1, "{seen:?}");
}

/// Rooms of four play three rounds; in the second, bot 3 finishes instead of coming back, and
/// bot 4 (started later) joins room 0 for the third. Returns each round's outcome: the members
/// it met with, or the error.
#[bot(crate = ttk_core)]
fn player(cx: Cx, id: usize) -> Vec<Result<Vec<usize>, BarrierError>> {
    cx.join("room");
    let table = cx.group_barrier_of("room", ROOM);
    let mut rounds = Vec::new();
    for round in 0..3 {
        if id == 3 && round == 1 {
            // The others are waiting by now.
            ttk_core::yield_!(ttk_core::sleep(Duration::from_millis(5)));
            return rounds;
        }
        if id == 4 && round < 2 {
            continue;
        }
        match ttk_core::yield_!(table.wait()) {
            Ok(_) => rounds.push(Ok(cx.members("room"))),
            Err(error) => rounds.push(Err(error)),
        }
        ttk_core::yield_!(ttk_core::sleep(Duration::from_millis(10)));
    }
    rounds
}

#[test]
fn a_member_that_finishes_while_the_room_waits_ends_the_round_and_a_newcomer_fills_it() {
    // A fifth bot, 100 ms in.
    let mut asked = 0;
    let late_fifth = move |now: Instant, _live| {
        asked += 1;
        match asked {
            1 => Arrivals::wait_until(now + Duration::from_millis(100)),
            _ => Arrivals::start(1).then_done(),
        }
    };
    let seen = Runtime::new()
        .virtual_time(true)
        .source(late_fifth)
        .run(4, player);
    let everyone = vec![0, 1, 2, 3];
    for bot in 0..3 {
        assert_eq!(seen[bot][0], Ok(everyone.clone()), "bot {bot}: {seen:?}");
        assert_eq!(
            seen[bot][1],
            Err(BarrierError::PartyFinished { bot: 3 }),
            "bot {bot}: {seen:?}"
        );
        assert_eq!(seen[bot][2], Ok(vec![0, 1, 2, 4]), "bot {bot}: {seen:?}");
    }
    assert_eq!(seen[3], [Ok(everyone)]);
    assert_eq!(seen[4], [Ok(vec![0, 1, 2, 4])]);
}

/// Three bots in a room for four, and nobody else to come.
#[bot(crate = ttk_core)]
fn too_few(cx: Cx, _id: usize) -> Result<(), BarrierError> {
    cx.join("room");
    ttk_core::yield_!(cx.group_barrier_of("room", ROOM).wait())?;
    Ok(())
}

#[test]
fn a_room_that_can_never_fill_releases_its_bots_with_an_error() {
    let seen = ttk_core::run(3, too_few);
    assert_eq!(
        seen,
        vec![
            Err(BarrierError::Stalled {
                arrived: 3,
                parties: ROOM
            });
            3
        ]
    );
}

/// Bot 1 leaves the room while bot 0 waits; bot 2 joins 20 ms later and the room of two
/// meets: bot 0 with bot 2.
#[bot(crate = ttk_core)]
fn musical_chairs(cx: Cx, id: usize) -> Option<Vec<usize>> {
    match id {
        0 | 1 => cx.join("room"),
        _ => {
            ttk_core::yield_!(ttk_core::sleep(Duration::from_millis(20)));
            cx.join("room");
        }
    }
    if id == 1 {
        ttk_core::yield_!(ttk_core::sleep(Duration::from_millis(10)));
        cx.leave("room").unwrap();
        return None;
    }
    ttk_core::yield_!(cx.group_barrier_of("room", 2).wait()).expect("the room fills again");
    Some(cx.members("room"))
}

#[test]
fn a_member_that_leaves_is_waited_for_no_longer_and_the_room_waits_to_be_full_again() {
    let seen = Runtime::new().virtual_time(true).run(3, musical_chairs);
    assert_eq!(seen, [Some(vec![0, 2]), None, Some(vec![0, 2])]);
}

#[test]
fn a_hundred_thousand_bots_fill_rooms_of_four_as_they_come() {
    // 1,000 bots every millisecond (a steep ramp-up), each room meeting once when full.
    let total = 100_000;
    let mut started = 0;
    let source = move |now: Instant, _live| {
        let count = 1_000.min(total - started);
        started += count;
        match started >= total {
            true => Arrivals::start(count).then_done(),
            false => Arrivals::start(count).then_at(now + Duration::from_millis(1)),
        }
    };
    let seen = Runtime::new()
        .virtual_time(true)
        .source(source)
        .run(0, |cx: Cx, id| full_room(cx, id));
    assert_eq!(seen.len(), total);
    for (room, bots) in seen.chunks(ROOM).enumerate() {
        assert!(
            bots.iter().all(|bot| *bot == (bots[0].0, ROOM)),
            "room {room}: {bots:?}"
        );
    }
}

/// Joins its room (bots of a room are started in the same millisecond or in two) and meets
/// once it is full: (the tick, the members then).
#[bot(crate = ttk_core)]
fn full_room(cx: Cx, id: usize) -> (u64, usize) {
    let room = format!("room{}", id / ROOM);
    cx.join(&room);
    ttk_core::yield_!(cx.group_barrier_of(&room, ROOM).wait()).expect("the room fills");
    (ttk_core::tick(), cx.members(&room).len())
}

/// The room's first member acts once the room is full and stamps it in its message; the
/// others see it 10, 20 and 30 ms later and record the fan-out latency.
#[bot(crate = ttk_core)]
fn fan_out(cx: Cx<ttk_core::Stamp>, id: usize) -> Option<Duration> {
    cx.join("room");
    ttk_core::yield_!(cx.group_barrier_of("room", ROOM).wait()).expect("the room fills");
    if id == 0 {
        cx.send_group("room", cx.stamp());
        return None;
    }
    let message = ttk_core::yield_!(cx.recv());
    ttk_core::yield_!(ttk_core::sleep(Duration::from_millis(10 * id as u64)));
    Some(cx.observed("fan-out", message.data))
}

#[test]
fn fan_out_latency_is_recorded_from_the_stamp_in_the_message() {
    let snapshots = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let kept = std::rc::Rc::clone(&snapshots);
    let seen = Runtime::new()
        .virtual_time(true)
        .metrics(move |snapshot| kept.borrow_mut().push(snapshot))
        .run(ROOM, fan_out);
    let expected: Vec<Option<Duration>> = std::iter::once(None)
        .chain((1..ROOM as u64).map(|id| Some(Duration::from_millis(10 * id))))
        .collect();
    assert_eq!(seen, expected);
    let snapshots = snapshots.borrow();
    let recorded: u64 = snapshots
        .iter()
        .flat_map(|snapshot| &snapshot.transactions)
        .filter(|transaction| transaction.name == "fan-out")
        .map(|transaction| transaction.ok)
        .sum();
    assert_eq!(recorded, 3);
    assert!(
        snapshots
            .iter()
            .all(|snapshot| snapshot.counters.is_empty()),
        "no clock skew within a process"
    );
}

/// Bot 3 joins the room and asks for its meeting, then fails before it ever waits.
#[bot(crate = ttk_core)]
fn fails_before_waiting(cx: Cx, id: usize) -> Result<(), BarrierError> {
    cx.join("room");
    let table = cx.group_barrier_of("room", ROOM);
    if id == 3 {
        ttk_core::yield_!(ttk_core::sleep(Duration::from_millis(20)));
        return Ok(());
    }
    ttk_core::yield_!(table.wait())?;
    Ok(())
}

#[test]
fn a_member_that_ends_before_its_first_wait_fails_the_round_it_was_awaited_in() {
    let seen = Runtime::new()
        .virtual_time(true)
        .run(ROOM, fails_before_waiting);
    for bot in 0..3 {
        assert_eq!(
            seen[bot],
            Err(BarrierError::PartyFinished { bot: 3 }),
            "{seen:?}"
        );
    }
}
