//! What bot panics print: with `RUST_BACKTRACE=1`, Rust's default hook would capture and print
//! a backtrace for every panic, on the loop's thread, while no other bot runs. ttk prints the
//! first bot panic only; each bot's outcome and the report keep its message and location.
//!
//! The run happens in a child process (this test binary, run again) so that its environment
//! and its stderr are its own.

use std::process::Command;
use std::time::Duration;

use ttk::Cx;
use ttk::cli::{LoadTest, Session};

/// Set in the child's environment.
const CHILD_ENV: &str = "TTK_PANIC_OUTPUT_CHILD";
/// Bots that panic, in each of the child's two runs.
const PANICKING: usize = 300;
/// Bots that wait on timers beside them.
const STEADY: usize = 20;
/// Timers each steady bot waits for.
const SLEEPS: usize = 10;

#[test]
fn many_bot_panics_print_one_backtrace_and_keep_every_location() {
    let output = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_runs_panicking_bots", "--nocapture"])
        .env(CHILD_ENV, "1")
        .env("RUST_BACKTRACE", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "child failed:\n{stdout}\n{stderr}");
    assert!(
        stdout.contains("1 passed"),
        "the child test did not run:\n{stdout}"
    );
    // Counted, not timed: each backtrace printed is one the loop's thread captured and
    // symbolized while the other bots waited.
    let backtraces = stderr.matches("stack backtrace:").count();
    assert_eq!(backtraces, 1, "one backtrace, the first panic's:\n{stderr}");
    let printed = stderr.matches("panicked at").count();
    assert_eq!(printed, 1, "the first bot panic only:\n{stderr}");
    assert!(
        stderr.contains("ttk prints only the first bot panic"),
        "{stderr}"
    );
}

/// Panics after `id % 3` ticks, so that panics land in several ticks among the other bots.
#[ttk::bot]
fn doomed(_cx: Cx, id: usize) -> usize {
    for _ in 0..id % 3 {
        ttk::yield_!();
    }
    panic!("bot {id} gave up")
}

/// Waits for its timers one after another; returns how many fired.
#[ttk::bot]
fn steady(_cx: Cx) -> usize {
    let mut fired = 0;
    for _ in 0..SLEEPS {
        ttk::yield_!(ttk::sleep(Duration::from_millis(1)));
        fired += 1;
    }
    fired
}

#[ttk::bot]
fn mixed(cx: Cx, id: usize) -> usize {
    if id < STEADY {
        ttk::yield_!(steady(cx))
    } else {
        ttk::yield_!(doomed(cx, id))
    }
}

/// A harness bot that panics after its first step.
#[ttk::bot]
fn doomed_session(cx: Cx, session: Session) {
    cx.transaction("step").ok();
    ttk::yield_!();
    panic!("session {} gave up", session.id());
}

#[test]
fn child_runs_panicking_bots() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return; // run by the test above, in its own process
    }
    let outcomes = ttk::try_run(STEADY + PANICKING, mixed);
    for (id, outcome) in outcomes.iter().enumerate() {
        if id < STEADY {
            assert_eq!(outcome.as_ref().ok(), Some(&SLEEPS), "bot {id}");
            continue;
        }
        let error = outcome.as_ref().unwrap_err();
        assert_eq!(
            error.to_string(),
            format!("bot {id} panicked: bot {id} gave up")
        );
        let location = error.location().expect("the panic's location");
        assert!(location.contains("panic_output.rs:"), "{location}");
    }

    let args = ["doomed", "--bots", "300", "--quiet"];
    let outcome = LoadTest::try_from_args("doomed", args)
        .unwrap()
        .run(doomed_session);
    assert_eq!(outcome.report.bots.failed, PANICKING as u64);
    let panicked = &outcome.report.bots.errors[0];
    assert_eq!((panicked.kind.as_str(), panicked.count), ("panicked", 300));
    assert!(
        panicked.samples[0].contains("gave up (at ")
            && panicked.samples[0].contains("panic_output.rs:"),
        "{:?}",
        panicked.samples
    );
    // Every step succeeded: only a threshold on the bots that failed sees the panics.
    for (threshold, code) in [
        ("failures == 0", 0),
        ("failed_bots == 0", 1),
        ("failed_bots(panicked) <= 300", 0),
        ("failed_bots(stalled) == 0", 0),
    ] {
        let args = [
            "doomed",
            "--bots",
            "300",
            "--quiet",
            "--threshold",
            threshold,
        ];
        let outcome = LoadTest::try_from_args("doomed", args)
            .unwrap()
            .run(doomed_session);
        assert_eq!(outcome.code, code, "{threshold}");
    }
}
