//! Timers that cancel around I/O: under virtual time, a timeout around a read waits its real
//! duration (the other timer tests are ttk-core's `timers.rs`).

mod util;

use std::time::{Duration, Instant};

use ttk::{Cx, Runtime};

/// Retries a read from a server that never answers, each try under a 100 ms timeout.
#[ttk::bot]
fn retries_a_silent_read(_cx: Cx, _id: usize, addr: std::net::SocketAddr) -> (u32, Duration) {
    let stream = ttk::yield_!(ttk::net::TcpStream::connect(addr)).unwrap();
    let start = ttk::now();
    let mut timeouts = 0;
    let mut buf = [0; 1];
    for _ in 0..3 {
        match ttk::yield_!(ttk::timeout(
            Duration::from_millis(100),
            stream.read(&mut buf)
        )) {
            Err(_) => timeouts += 1,
            Ok(read) => panic!("the silent server answered: {read:?}"),
        }
    }
    (timeouts, ttk::now() - start)
}

#[test]
fn under_virtual_time_a_timeout_around_a_read_waits_its_real_duration() {
    let addr = util::silent_server();
    let started = Instant::now();
    let results = Runtime::new()
        .virtual_time(true)
        .run(2, |cx, id| retries_a_silent_read(cx, id, addr));
    let took = started.elapsed();
    for (timeouts, virtual_elapsed) in results {
        assert_eq!(timeouts, 3);
        assert!(
            virtual_elapsed >= Duration::from_millis(300),
            "{virtual_elapsed:?}"
        );
    }
    // The clock must not jump past a timer while a bot waits on I/O: three 100 ms timeouts
    // take at least 300 ms of real time (an upper bound would be a timing assertion).
    assert!(
        took >= Duration::from_millis(300),
        "the timeouts expired early: {took:?}"
    );
}
