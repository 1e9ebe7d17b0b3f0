//! Rooms of four filled by a ramp-up (`--bots 400 --ramp-up 2s`): with
//! `Cx::group_barrier_of` every room meets only once full; today's plain group barrier lets a
//! room's first bots meet before their mates have come (the reason for the first).

use ttk::Cx;
use ttk::harness::{LoadTest, Session};

/// Joins room `id / 4`, meets, and counts the members present at the meeting as a counter
/// (`met with 4`, `met with 1`…).
#[ttk::bot]
fn roommate(cx: Cx, session: Session, full: bool) -> Result<(), ttk::BarrierError> {
    let room = format!("room{}", session.id() / 4);
    cx.join(&room);
    let meeting = match full {
        true => cx.group_barrier_of(&room, 4),
        false => cx.group_barrier(&room),
    };
    ttk::yield_!(meeting.wait())?;
    cx.count(&format!("met with {}", cx.members(&room).len()), 1);
    Ok(())
}

/// Runs 400 bots over a 2 s ramp-up: how many met with a full room.
fn met_full(full: bool) -> u64 {
    let args = [
        "rooms",
        "--bots",
        "400",
        "--ramp-up",
        "2s",
        "--workers",
        "1",
        "-q",
    ];
    let outcome = LoadTest::try_from_args("rooms", args)
        .unwrap()
        .run(move |cx, session| roommate(cx, session, full));
    assert_eq!(outcome.report.bots.failed, 0);
    outcome
        .report
        .counters
        .get("met with 4")
        .copied()
        .unwrap_or(0)
}

#[test]
fn four_hundred_bots_under_a_ramp_up_meet_only_in_full_rooms() {
    assert_eq!(met_full(true), 400);
}

#[test]
fn a_plain_group_barrier_meets_before_the_room_is_full() {
    assert!(met_full(false) < 400);
}
