//! `RunOutcome` of the harness's collecting runs: each bot's output by id and the world, on
//! one loop or several — per-bot checks after a run without shared state of the test's own.

use std::time::Duration;

use ttk::cli::{LoadTest, Session};
use ttk::{BotError, BotErrorKind, Cx, Runtime};

/// What the harness keeps of a `drawer`: its draws, or why it did not end by itself.
type BotOutput = Result<Result<Vec<u64>, String>, BotError>;

/// Draws from the bot's generator each iteration, naps a drawn while, and returns its draws;
/// bot 7 panics, as a buggy bot does; each bot counts itself in the world.
#[ttk::bot]
fn drawer(cx: Cx<(), u64>, session: Session) -> Result<Vec<u64>, String> {
    let rng = cx.rng();
    let mut draws = Vec::new();
    for _ in session.iterations() {
        let draw = rng.below(1_000);
        let _: () = ttk::yield_!(cx.time("nap", ttk::sleep(Duration::from_millis(draw))));
        draws.push(draw);
    }
    cx.world(|bots| *bots += 1);
    if session.id() == 7 {
        panic!("bot 7 trips");
    }
    Ok(draws)
}

fn test(workers: &str) -> LoadTest {
    let args = [
        "draws",
        "--bots",
        "40",
        "--iterations",
        "5",
        "--workers",
        workers,
        "-q",
    ];
    LoadTest::try_from_args("draws", args).unwrap()
}

#[test]
fn each_bots_output_is_kept_by_id_whatever_the_number_of_workers() {
    let runtime = || Runtime::new().virtual_time(true).world(0_u64);
    let one = test("1").run_collect_with(runtime(), drawer);
    let three = test("3").run_parallel_collect_with(runtime(), drawer);

    for outcome in [&one.outputs, &three.outputs] {
        let ids: Vec<usize> = outcome.iter().map(|(id, _)| *id).collect();
        assert_eq!(ids, (0..40).collect::<Vec<_>>());
        for (id, output) in outcome {
            match output {
                Ok(Ok(draws)) => assert_eq!(draws.len(), 5, "bot {id}"),
                Err(error) => {
                    assert_eq!(*id, 7, "{error}");
                    assert!(matches!(error.kind(), BotErrorKind::Panicked(_)), "{error}");
                }
                Ok(Err(error)) => panic!("bot {id}: {error}"),
            }
        }
    }
    // The same draws, bot by bot: a bot's choices follow its id, not its worker.
    let draws = |outputs: &[(usize, BotOutput)]| {
        outputs
            .iter()
            .map(|(id, output)| (*id, output.as_ref().ok().cloned()))
            .collect::<Vec<_>>()
    };
    assert_eq!(draws(&one.outputs), draws(&three.outputs));

    // Every bot counted itself in its loop's world.
    assert_eq!(one.world, Some(40));
    let worlds = three.world.unwrap();
    assert_eq!(worlds.len(), 3);
    assert_eq!(worlds.iter().sum::<u64>(), 40);
    // The plain report is the same as ever.
    assert_eq!(three.report.bots.started, 40);
    assert_eq!(three.report.bots.failed, 1);
}

#[test]
fn a_run_that_did_not_happen_here_has_no_outputs_and_no_world() {
    let args = ["draws", "--rate", "10/s", "-q"]; // no length: refused
    let test = LoadTest::try_from_args("draws", args).unwrap();
    let outcome = test.run_collect_with(Runtime::new().world(0_u64), drawer);
    assert_eq!(outcome.code, 2);
    assert!(outcome.outputs.is_empty());
    assert_eq!(outcome.world, None);
}
