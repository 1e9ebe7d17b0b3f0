//! Nothing escapes: a panicking tick hook, bot factory, source or outcome callback ends the run
//! cleanly, is reported by name with its message, and leaves no descriptor open.
//! (A test binary of its own: it counts this process's descriptors.)

mod util;

use std::io;
use std::net::SocketAddr;
use std::time::Instant;

use ttk::net::TcpStream;
use ttk::{Arrivals, BotErrorKind, Cx, RunEnd, RunError, Runtime};

/// Connects and reads from a server that never answers: parked until the run ends.
#[ttk::bot]
fn holds_a_socket(_cx: Cx<(), Vec<TcpStream>>, id: usize, addr: SocketAddr) -> io::Result<usize> {
    let stream = ttk::yield_!(TcpStream::connect(addr))?;
    if id == 0 {
        // A socket kept in the world must be released too.
        let kept = ttk::yield_!(TcpStream::connect(addr))?;
        cx_world_push(&_cx, kept);
    }
    let mut buf = [0; 1];
    ttk::yield_!(stream.read_exact(&mut buf))?;
    Ok(id)
}

/// Puts `stream` in the world.
fn cx_world_push(cx: &Cx<(), Vec<TcpStream>>, stream: TcpStream) {
    cx.world(|world| world.push(stream));
}

/// Runs `runtime` with 10 socket-holding bots, checks that it failed with an error whose text
/// contains `expected`, every bot still running was stopped, and no descriptor leaked.
fn fails_cleanly(
    runtime: Runtime<Vec<TcpStream>>,
    factory_panics_at: Option<usize>,
    expected: &str,
) {
    let _serial = util::counting_descriptors();
    let addr = util::silent_server();
    let before = util::open_descriptors();
    let report = runtime.execute(10, |cx, id| {
        if Some(id) == factory_panics_at {
            panic!("no bot {id} today");
        }
        holds_a_socket(cx, id, addr)
    });
    let RunEnd::Failed(error) = &report.end else {
        panic!("the run ended with {:?}", report.end);
    };
    assert!(error.to_string().contains(expected), "{error}");
    for outcome in &report.outcomes {
        match outcome {
            Ok(_) => panic!("a bot finished reading from a silent server"),
            Err(error) => assert!(
                matches!(
                    error.kind(),
                    BotErrorKind::Stopped | BotErrorKind::Panicked(_)
                ),
                "{error}"
            ),
        }
    }
    drop(report);
    util::assert_no_descriptor_left(before);
}

#[test]
fn a_panicking_tick_hook_is_named_and_ends_the_run_cleanly() {
    let runtime = Runtime::new()
        .world(Vec::new())
        .on_tick(|_, _| {})
        .on_tick(|_, info| assert!(info.tick > 0, "hook saw tick {}", info.tick));
    fails_cleanly(
        runtime,
        None,
        "tick hook 1 (0 = the first added) panicked: hook saw tick 0",
    );
}

#[test]
fn a_panicking_factory_is_named_and_ends_the_run_cleanly() {
    let runtime = Runtime::new().world(Vec::new());
    fails_cleanly(
        runtime,
        Some(7),
        "the bot factory panicked making bot 7: no bot 7 today",
    );
}

#[test]
fn a_panicking_source_is_named_and_ends_the_run_cleanly() {
    let mut asked = 0;
    let runtime = Runtime::new()
        .world(Vec::new())
        .source(move |_now: Instant, _live| {
            asked += 1;
            assert!(asked < 3, "the source gives up");
            Arrivals::wait_until(Instant::now())
        });
    fails_cleanly(
        runtime,
        None,
        "the run's bot source panicked: the source gives up",
    );
}

#[test]
fn try_run_reports_a_failed_run_by_panicking_after_it_ended_cleanly() {
    let _serial = util::counting_descriptors();
    let addr = util::silent_server();
    let before = util::open_descriptors();
    let panic = std::panic::catch_unwind(|| {
        Runtime::new()
            .world(Vec::new())
            .on_tick(|_, _| panic!("boom"))
            .try_run(3, |cx, id| holds_a_socket(cx, id, addr))
    })
    .unwrap_err();
    let message = panic.downcast_ref::<String>().unwrap();
    assert_eq!(message, "tick hook 0 (0 = the first added) panicked: boom");
    util::assert_no_descriptor_left(before);
}

#[test]
fn a_panicking_outcome_callback_ends_the_run_cleanly() {
    let _serial = util::counting_descriptors();
    let summary = Runtime::new().execute_each(
        3,
        |_cx: Cx, id| async move { id },
        |id, _| assert_ne!(id, 1, "not this one"),
    );
    match summary.end {
        RunEnd::Failed(RunError::CallbackPanicked { bot, message }) => {
            assert_eq!(bot, 1);
            assert!(message.contains("not this one"), "{message}");
        }
        end => panic!("ended with {end:?}"),
    }
}
