//! Metrics as the harness reports them: load shapes over time, the open model's intended start,
//! failures by kind. (How unfinished transactions count is ttk-core's `metrics.rs`.)

use std::time::Duration;

use ttk::cli::{LoadTest, Session};
use ttk::{Cx, Runtime};

/// A bot that waits until the run stops it.
#[ttk::bot]
fn idler(_cx: Cx, _session: Session) {
    ttk::yield_!(ttk::sleep(Duration::from_secs(3600)));
}

#[test]
fn ramp_up_starts_bots_evenly_over_its_time() {
    let test = LoadTest::try_from_args(
        "ramp",
        [
            "ramp",
            "--bots",
            "100",
            "--ramp-up",
            "10s",
            "--duration",
            "15s",
            "--quiet",
        ],
    )
    .unwrap();
    let outcome = test.run_with(Runtime::new().virtual_time(true), |cx, session| {
        idler(cx, session)
    });
    let report = outcome.report;
    assert_eq!(report.run.end, "duration");
    assert_eq!(report.bots.started, 100);
    assert_eq!(report.bots.stopped, 100);
    let active: Vec<u64> = report
        .series
        .iter()
        .map(|second| second.active_bots)
        .collect();
    // A bot every 100 ms from 0 s: 10 alive after the first second, all by the tenth.
    assert_eq!(active[..10], [10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);
    assert!(
        active[10..14].iter().all(|&alive| alive == 100),
        "{active:?}"
    );
}

#[test]
fn ramp_up_in_stages_follows_each_stage() {
    let test = LoadTest::try_from_args(
        "stages",
        [
            "stages",
            "--ramp-up",
            "10:5s,30:5s",
            "--duration",
            "12s",
            "--quiet",
        ],
    )
    .unwrap();
    let outcome = test.run_with(Runtime::new().virtual_time(true), |cx, session| {
        idler(cx, session)
    });
    let active: Vec<u64> = outcome
        .report
        .series
        .iter()
        .map(|s| s.active_bots)
        .collect();
    assert_eq!(active[4], 10, "{active:?}");
    assert_eq!(active[9], 30, "{active:?}");
    assert_eq!(outcome.report.bots.started, 30);
}

/// An open-model session: one transaction, done at once. Session 0 first blocks the loop's
/// thread for 300 ms, as an overloaded load generator would be.
#[ttk::bot]
fn instant_session(cx: Cx, session: Session) {
    if session.id() == 0 {
        std::thread::sleep(Duration::from_millis(300));
    }
    cx.transaction("request").ok();
}

#[test]
fn open_model_sessions_are_timed_from_their_intended_start() {
    let test = LoadTest::try_from_args("open", ["open", "--rate", "100/s:1s", "--quiet"]).unwrap();
    let outcome = test.run(instant_session);
    let request = outcome.report.transaction("request").unwrap();
    assert_eq!(request.ok, 100);
    let latency = request.latency();
    // The sessions meant to start while the loop was blocked started late; the delay is in
    // their latency (about 290 ms for the second session), though each request took no time.
    assert!(latency.max_us >= 250_000, "{latency:?}");
    assert!(latency.p50_us < 50_000, "{latency:?}");
}

/// Bots that end badly: an error returned, a panic.
#[ttk::bot]
fn fragile(_cx: Cx, session: Session) -> std::io::Result<()> {
    match session.id() {
        0 => Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "reset by peer",
        )),
        1 => panic!("bot 1 gives up"),
        _ => Ok(()),
    }
}

#[test]
fn failed_bots_are_counted_by_kind_and_the_run_goes_on() {
    let test = LoadTest::try_from_args("fragile", ["fragile", "--bots", "5", "--quiet"]).unwrap();
    let outcome = test.run(fragile);
    let bots = &outcome.report.bots;
    assert_eq!((bots.started, bots.finished, bots.failed), (5, 3, 2));
    let kinds: Vec<(&str, u64)> = bots
        .errors
        .iter()
        .map(|error| (error.kind.as_str(), error.count))
        .collect();
    assert_eq!(kinds, [("ConnectionReset", 1), ("panicked", 1)]);
    // The panic's message, and where it happened.
    let [panicked] = &bots.errors[1].samples[..] else {
        panic!("{:?}", bots.errors[1].samples);
    };
    assert!(
        panicked.starts_with("bot 1 gives up (at ") && panicked.contains("metrics.rs:"),
        "{panicked}"
    );
    assert_eq!(outcome.report.run.end, "completed");
    assert_eq!(outcome.code, 0);
}

/// The core records latencies in the same bounds the report reads them with.
#[test]
fn the_core_and_the_report_agree_on_the_histogram_bounds() {
    use ttk::cli::ttk_report;
    assert_eq!(ttk::metrics::LOWEST_MICROS, ttk_report::LOWEST_US);
    assert_eq!(ttk::metrics::HIGHEST_MICROS, ttk_report::HIGHEST_US);
    assert_eq!(
        ttk::metrics::SIGNIFICANT_DIGITS,
        ttk_report::SIGNIFICANT_DIGITS
    );
}

/// A bot that naps in a loop, each nap a transaction.
#[ttk::bot]
fn napper(cx: Cx, session: Session) {
    for n in session.iterations() {
        let nap = Duration::from_millis(50 + n % 100);
        let _: () = ttk::yield_!(cx.time("nap", ttk::sleep(nap)));
    }
}

#[test]
fn an_hour_long_run_keeps_a_small_series() {
    let test = LoadTest::try_from_args(
        "hour",
        ["hour", "--bots", "2", "--duration", "1h", "--quiet"],
    )
    .unwrap();
    let outcome = test.run_with(Runtime::new().virtual_time(true), napper);
    let report = outcome.report;
    assert_eq!(report.run.end, "duration");
    // An hour is kept in 10-second entries (360 of them, the most a series keeps); the naps
    // under way at the hour end within the grace period, in the last entry.
    assert_eq!(report.series_interval_s, 10);
    assert_eq!(report.series.len(), 360);
    let (last, whole) = report.series.split_last().unwrap();
    assert!(whole.iter().all(|entry| entry.length_s == 10.0));
    assert!((10.0..10.2).contains(&last.length_s), "{}", last.length_s);
    let nap = report.transaction("nap").unwrap();
    let in_series: u64 = report.series.iter().map(|s| s.transactions["nap"].ok).sum();
    assert_eq!(in_series, nap.ok, "the series holds every success");
    // Each entry's histogram is kept packed: a few hundred bytes, not 188 KB.
    let packed: usize = report
        .series
        .iter()
        .map(|second| second.transactions["nap"].histogram.bytes())
        .sum();
    assert!(packed < 3600 * 1024, "{packed} bytes for an hour");
    // Rates are per second of the run's own (virtual) clock.
    assert!((3600.0..3600.2).contains(&report.run.duration_s));
    assert!(
        (nap.rate(report.run.duration_s) - 2.0 / 0.1).abs() < 1.0,
        "{}",
        nap.ok
    );
}

/// Bots that wait for a message nobody sends.
#[ttk::bot]
fn waiting(cx: Cx<u8>, _session: Session) {
    let _ = ttk::yield_!(cx.recv());
}

#[test]
fn a_stalled_run_fails_with_exit_code_3() {
    let test = LoadTest::try_from_args("stall", ["stall", "--bots", "3", "--quiet"]).unwrap();
    let outcome = test.run(waiting);
    assert_eq!(outcome.report.run.end, "stalled");
    assert_eq!(outcome.report.bots.failed, 3);
    assert_eq!(outcome.code, 3);
}

/// A session that does two seconds of untimed work before its iteration.
#[ttk::bot]
fn slow_to_begin(cx: Cx, session: Session) {
    ttk::yield_!(ttk::sleep(Duration::from_secs(2)));
    for _ in session.iterations() {
        cx.transaction("request").ok();
    }
}

#[test]
fn open_model_sessions_that_arrived_in_time_all_count() {
    let test = LoadTest::try_from_args(
        "late",
        ["late", "--rate", "10/s", "--duration", "1s", "--quiet"],
    )
    .unwrap();
    let outcome = test.run_with(Runtime::new().virtual_time(true), slow_to_begin);
    let request = outcome.report.transaction("request").unwrap();
    // Every session reached its iteration after the 1 s of load: each is still counted, with
    // its wait (measured from when it was meant to start).
    assert_eq!((request.ok, request.failed, request.stopped), (10, 0, 0));
    assert_eq!(request.latency().p50_us / 1000, 2_000);
}

#[test]
fn a_run_that_ends_before_its_duration_says_completed() {
    let test = LoadTest::try_from_args(
        "early",
        [
            "early",
            "--bots",
            "2",
            "--iterations",
            "3",
            "--duration",
            "1h",
            "--quiet",
        ],
    )
    .unwrap();
    let outcome = test.run_with(Runtime::new().virtual_time(true), napper);
    assert_eq!(outcome.report.run.end, "completed");
    assert_eq!(outcome.report.transaction("nap").unwrap().ok, 6);
}

/// Each bot of shard 0 of 2, on two workers, sends to the bot of the other shard that its
/// id mirrors (another process's: messages do not cross processes) and to a bot of its own
/// shard on the other worker.
#[ttk::bot]
fn across(cx: Cx<u8>, session: Session) {
    cx.transaction("sent").ok();
    let id = session.id();
    cx.send(id + 4, 1); // shard 1 holds 4..8
    cx.send(id ^ 3, 2); // 0 <-> 3, 1 <-> 2: the other worker of this shard
    let _ = ttk::yield_!(ttk::timeout(Duration::from_millis(200), cx.recv()));
}

/// Messages to bots of another process are dropped and counted, on a run of several loops
/// (their path between loops) as on one.
#[test]
fn messages_to_another_process_s_bots_are_counted_as_dropped() {
    let args = [
        "across",
        "--bots",
        "8",
        "--shard",
        "0/2",
        "--workers",
        "2",
        "--quiet",
    ];
    let test = LoadTest::try_from_args("across", args).unwrap();
    let outcome = test.run_parallel(across);
    assert_eq!(outcome.report.bots.started, 4);
    assert_eq!(
        outcome.report.counters["messages dropped (no bot with that id running here)"],
        4
    );
}
