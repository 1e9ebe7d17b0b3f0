//! Runs that stop: at a deadline or from a stop handle, every running bot is dropped in place
//! (sockets closed, timers cancelled, barrier waits released) and reported `Stopped`.
//! (A test binary of its own: it counts this process's descriptors.)

mod util;

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use ttk::net::TcpStream;
use ttk::{Barrier, BotErrorKind, Cx, RunEnd, Runtime};

/// Connects to a server that never answers and reads: parked in I/O until stopped.
#[ttk::bot]
fn reads_forever(_cx: Cx, _id: usize, addr: SocketAddr, barrier: Barrier) -> io::Result<()> {
    let stream = ttk::yield_!(TcpStream::connect(addr))?;
    if barrier.parties() > 1 {
        // Some bots wait at a barrier that never fills instead.
        let _ = ttk::yield_!(barrier.wait());
    }
    let mut buf = [0; 16];
    ttk::yield_!(stream.read_exact(&mut buf))?;
    Ok(())
}

/// Every outcome is `Stopped`.
fn all_stopped(outcomes: &[Result<io::Result<()>, ttk::BotError>]) {
    for (id, outcome) in outcomes.iter().enumerate() {
        let error = outcome
            .as_ref()
            .err()
            .unwrap_or_else(|| panic!("bot {id} finished"));
        assert_eq!(error.kind(), &BotErrorKind::Stopped, "bot {id}");
        assert_eq!(error.bot(), id);
        assert!(error.to_string().contains("stopped"), "{error}");
    }
}

#[test]
fn a_deadline_stops_bots_parked_in_reads_and_closes_their_sockets() {
    let _serial = util::counting_descriptors();
    let addr = util::silent_server();
    let before = util::open_descriptors();
    let started = Instant::now();
    let barrier = Barrier::new(1_000);
    let report = Runtime::new()
        .deadline(Duration::from_secs(2))
        .execute(50, |cx, id| {
            let barrier = if id % 2 == 0 {
                barrier.clone()
            } else {
                Barrier::new(1)
            };
            reads_forever(cx, id, addr, barrier)
        });
    let took = started.elapsed();
    assert_eq!(report.end, RunEnd::DeadlineReached);
    all_stopped(&report.outcomes);
    assert!(took >= Duration::from_secs(2), "stopped early: {took:?}");
    assert!(
        format!("{barrier:?}").contains("waiting: 0"),
        "the barrier still holds stopped bots: {barrier:?}"
    );
    assert!(
        took < Duration::from_secs(20),
        "the deadline was not kept: {took:?}"
    );
    util::assert_no_descriptor_left(before);
}

#[test]
fn a_stop_handle_stops_the_run_from_another_thread_and_twice_is_harmless() {
    let _serial = util::counting_descriptors();
    let addr = util::silent_server();
    let before = util::open_descriptors();
    let runtime = Runtime::new();
    let stop = runtime.stop_handle();
    let again = stop.clone();
    let stopper = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        stop.stop();
        stop.stop();
    });
    let report = runtime.execute(20, |cx, id| reads_forever(cx, id, addr, Barrier::new(1)));
    stopper.join().unwrap();
    assert_eq!(report.end, RunEnd::Stopped);
    all_stopped(&report.outcomes);
    assert!(again.is_stopped());
    again.stop();
    util::assert_no_descriptor_left(before);
}

#[test]
fn a_stop_before_the_run_starts_stops_it_at_once() {
    let _serial = util::counting_descriptors();
    let runtime = Runtime::new();
    runtime.stop_handle().stop();
    let report = runtime.execute(3, |cx, id| {
        reads_forever(cx, id, util::silent_server(), Barrier::new(1))
    });
    assert_eq!(report.end, RunEnd::Stopped);
    all_stopped(&report.outcomes);
}
