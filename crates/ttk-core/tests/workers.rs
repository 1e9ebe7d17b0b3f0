//! Runs on several workers mean what they mean on one: global ids, messages between loops,
//! broadcasts, stalls of the whole run, groups on one loop, stops and deadlines for all.
//! (What the harness adds up over workers, and mail beside sockets, are the facade's `workers.rs`.)

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use ttk_core::{BotErrorKind, Cx, RunEnd, Runtime};
use ttk_macros::bot;

/// Draws from the bot's generator, waits a drawn while, and passes its draw to the next bot.
#[bot(crate = ttk_core)]
fn chain(cx: Cx<u64>, id: usize, bots: usize) -> (usize, u64, u64) {
    let rng = cx.rng();
    let mine = rng.below(1_000_000);
    ttk_core::yield_!(ttk_core::sleep(Duration::from_millis(rng.below(20))));
    if id + 1 < bots {
        cx.send(id + 1, mine);
    }
    let before = match id {
        0 => 0,
        _ => ttk_core::yield_!(cx.recv()).data,
    };
    (cx.id(), mine, before)
}

#[test]
fn a_run_gives_the_same_results_on_any_number_of_workers() {
    const BOTS: usize = 1_000;
    let on = |workers: usize| {
        Runtime::new()
            .seed(11)
            .workers(workers)
            .run(BOTS, |cx, id| chain(cx, id, BOTS))
    };
    let one = Runtime::new()
        .seed(11)
        .run(BOTS, |cx, id| chain(cx, id, BOTS));
    for workers in [1, 2, 3, 7] {
        assert_eq!(on(workers), one, "{workers} workers");
    }
    // Each bot received its predecessor's draw, across loops too.
    for pair in one.windows(2) {
        assert_eq!(pair[1].2, pair[0].1);
    }
}

#[bot(crate = ttk_core)]
fn shout(cx: Cx<usize>, id: usize, bots: usize) -> usize {
    if id == 0 {
        cx.broadcast(0);
        return 0;
    }
    let heard = ttk_core::yield_!(cx.recv());
    assert_eq!(heard.from, 0);
    let _ = bots;
    heard.data + 1
}

#[test]
fn a_broadcast_reaches_every_loop() {
    let heard = Runtime::new()
        .workers(3)
        .run(300, |cx, id| shout(cx, id, 300));
    assert_eq!(heard.iter().filter(|&&n| n == 1).count(), 299);
}

#[bot(crate = ttk_core)]
fn wait_for_nobody(cx: Cx<u8>, id: usize) {
    // Bot 0 talks to bot 150 (another worker's) once; then everyone waits for ever.
    if id == 0 {
        cx.send(150, 1);
    }
    if id == 150 {
        ttk_core::yield_!(cx.recv());
    }
    ttk_core::yield_!(cx.recv());
}

#[test]
fn a_run_stalls_when_every_loop_waits_for_the_others() {
    let started = Instant::now();
    let report = Runtime::new().workers(2).execute(300, wait_for_nobody);
    assert_eq!(report.end, RunEnd::Stalled);
    assert!(
        report
            .outcomes
            .iter()
            .all(|outcome| matches!(outcome.as_ref().unwrap_err().kind(), BotErrorKind::Stalled))
    );
    assert!(started.elapsed() < Duration::from_secs(10), "it hung");
}

#[bot(crate = ttk_core)]
fn ping_pong(cx: Cx<u32>, id: usize, rounds: u32) -> u32 {
    // Bots i and i + 500 are on different workers: they play `rounds` rounds.
    let partner = if id < 500 { id + 500 } else { id - 500 };
    let mut count = 0;
    if id < 500 {
        cx.send(partner, 0);
    }
    loop {
        let ball = ttk_core::yield_!(cx.recv()).data;
        count += 1;
        if ball >= rounds {
            return count;
        }
        cx.send(partner, ball + 1);
        if ball + 1 >= rounds {
            return count;
        }
    }
}

#[test]
fn messages_go_back_and_forth_between_loops_until_done() {
    let counts = Runtime::new()
        .workers(2)
        .run(1_000, |cx, id| ping_pong(cx, id, 50));
    // Balls 0 to 50 go back and forth: each pair receives 51, once each.
    let total: u32 = counts.iter().sum();
    assert_eq!(
        total,
        500 * 51,
        "every ball of every pair was received once"
    );
}

#[bot(crate = ttk_core)]
fn joiner(cx: Cx, id: usize) -> Vec<usize> {
    cx.join(&format!("room-{}", id / 4));
    ttk_core::yield_!();
    cx.members(&format!("room-{}", id / 4))
}

#[test]
fn groups_live_on_one_loop_and_say_so_when_split() {
    // Rooms of 4 kept together: every room meets whole.
    let rooms = Runtime::new().workers(3).keep_together(4).run(30, joiner);
    for (id, members) in rooms.iter().enumerate() {
        let room = id / 4 * 4;
        assert_eq!(members, &(room..(room + 4).min(30)).collect::<Vec<_>>());
    }
    // Not kept together, room 1 (bots 4-7) is cut by the 2 workers' blocks of 10 bots (0-4,
    // 5-9): whichever side joins first holds the group, and the other side is told why.
    let report = Runtime::new().workers(2).execute(10, joiner);
    let failed: Vec<String> = report
        .outcomes
        .iter()
        .filter_map(|outcome| outcome.as_ref().err().map(ToString::to_string))
        .collect();
    assert!(matches!(failed.len(), 1 | 3), "{failed:?}");
    assert!(
        failed[0].contains("group \"room-1\" lives on worker"),
        "{failed:?}"
    );
    assert!(
        failed[0].contains("LoadTest::keep_together(n)")
            && failed[0].contains("Workers::keep_together(n)"),
        "{failed:?}"
    );
}

#[bot(crate = ttk_core)]
fn forever(_cx: Cx, _id: usize) {
    loop {
        ttk_core::yield_!(ttk_core::sleep(Duration::from_millis(5)));
    }
}

#[test]
fn a_stop_handle_and_a_deadline_end_every_loop() {
    let workers = Runtime::new().workers(3);
    let stop = workers.stop_handle();
    let stopper = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        stop.stop();
    });
    let report = workers.execute(30, forever);
    stopper.join().unwrap();
    assert_eq!(report.end, RunEnd::Stopped);
    assert_eq!(report.outcomes.len(), 30);

    let report = Runtime::new()
        .deadline(Duration::from_millis(100))
        .workers(2)
        .execute(20, forever);
    assert_eq!(report.end, RunEnd::DeadlineReached);
}

#[bot(crate = ttk_core)]
fn idle(_cx: Cx<(), u32>, _id: usize) {}

#[test]
fn each_loop_gets_its_own_source_and_world() {
    let made = AtomicUsize::new(0);
    let worlds = Mutex::new(Vec::new());
    let summary = Runtime::new()
        .world(0u32)
        .workers(2)
        .each_loop(|worker, runtime| {
            runtime.on_tick(move |ticks: &mut u32, _| {
                *ticks += 1;
                let _ = worker;
            })
        })
        .execute_each(100, idle, |_, outcome| {
            assert!(outcome.is_ok());
            made.fetch_add(1, Ordering::SeqCst);
        });
    worlds.lock().unwrap().extend(summary.world.iter().copied());
    assert_eq!(made.load(Ordering::SeqCst), 100);
    assert_eq!(summary.bots_started, 100);
    assert_eq!(worlds.lock().unwrap().len(), 2);
    assert!(worlds.lock().unwrap().iter().all(|&ticks| ticks >= 1));
}

#[bot(crate = ttk_core)]
fn neighbour_talk(cx: Cx<u32>, id: usize, bots: usize) -> u32 {
    cx.send((id + 1) % bots, 1);
    ttk_core::yield_!(cx.recv()).data
}

#[test]
fn a_hundred_thousand_bots_message_across_two_loops() {
    const BOTS: usize = 100_000;
    let got = Runtime::new()
        .workers(2)
        .run(BOTS, |cx, id| neighbour_talk(cx, id, BOTS));
    assert_eq!(got.len(), BOTS);
    assert!(got.iter().all(|&n| n == 1));
}

#[test]
fn loops_without_bots_end_at_once_and_hold_up_nothing() {
    let results = Runtime::new().workers(7).run(3, |cx, id| chain(cx, id, 3));
    assert_eq!(results.len(), 3);
}

#[bot(crate = ttk_core)]
fn sleeper_or_waiter(cx: Cx<u8>, id: usize) {
    // Bots 0-4 (worker 0) wait for mail that never comes; bots 5-9 (worker 1) sleep past
    // the deadline. Under a virtual clock, worker 0's clock stands still while it waits.
    if id < 5 {
        ttk_core::yield_!(cx.recv());
    } else {
        ttk_core::yield_!(ttk_core::sleep(Duration::from_secs(3600)));
    }
}

#[test]
fn a_deadline_ends_every_loop_as_a_deadline_not_a_stall() {
    let report = Runtime::new()
        .virtual_time(true)
        .deadline(Duration::from_secs(10))
        .workers(2)
        .execute(10, sleeper_or_waiter);
    assert_eq!(report.end, RunEnd::DeadlineReached);
    assert!(
        report
            .outcomes
            .iter()
            .all(|outcome| matches!(outcome.as_ref().unwrap_err().kind(), BotErrorKind::Stopped)),
        "{:?}",
        report.outcomes
    );
}
