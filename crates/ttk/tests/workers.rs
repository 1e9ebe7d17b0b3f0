//! Runs on several workers through the harness and beside sockets: the harness adds up every
//! loop's figures and starts the same open-model sessions on any workers and shards, and mail
//! reaches loops that hold idle sockets. (The rest of the worker tests are ttk-core's `workers.rs`.)

mod util;

use std::time::Duration;

use ttk::{Cx, Runtime};

#[ttk::bot]
fn share(cx: Cx, session: ttk::cli::Session) {
    for _ in session.iterations() {
        cx.gauge("players here", 5);
        cx.count("visits", 1);
        cx.transaction("visit").ok();
        ttk::yield_!();
    }
}

#[test]
fn the_harness_adds_up_every_loops_figures() {
    let args = [
        "share",
        "--bots",
        "40",
        "--iterations",
        "3",
        "--workers",
        "2",
        "--quiet",
    ];
    let test = ttk::cli::LoadTest::try_from_args("share", args).unwrap();
    let report = test.run_parallel(share).report;
    assert_eq!(report.transaction("visit").unwrap().ok, 120);
    assert_eq!(report.counters["visits"], 120);
    assert_eq!(report.bots.started, 40);
    // Each loop holds its share of a gauge: the run's is their sum.
    assert_eq!(report.gauges["players here"].last, 10);
}

#[ttk::bot]
fn numbered(cx: Cx, session: ttk::cli::Session) {
    use ttk::metrics::GaugeMerge;
    let id = session.id() as i64;
    cx.gauge_with("highest id", id, GaugeMerge::Max);
    cx.gauge_with("latest id", id, GaugeMerge::Last);
    cx.gauge("ids summed", id);
}

/// Gauges that are readings, not shares (an id), combine by their rule over the loops:
/// summed, the highest id of 1,001 bots on 3 loops would read about 3,000.
#[test]
fn the_harness_combines_each_gauge_by_its_rule() {
    let args = ["ids", "--bots", "1001", "--workers", "3", "--quiet"];
    let test = ttk::cli::LoadTest::try_from_args("ids", args).unwrap();
    let report = test.run_parallel(numbered).report;
    let figures = |name: &str| {
        let gauge = report.gauges[name];
        (gauge.min, gauge.max, gauge.merge)
    };
    use ttk::cli::ttk_report::GaugeMerge;
    assert_eq!(figures("highest id"), (0, 1_000, GaugeMerge::Max));
    assert_eq!(report.gauges["highest id"].last, 1_000);
    assert_eq!(figures("latest id").2, GaugeMerge::Last);
    assert_eq!((figures("latest id").0, figures("latest id").1), (0, 1_000));
    // Each loop's last is one of its own ids: as a sum, the three add up.
    let summed = report.gauges["ids summed"];
    assert_eq!(summed.merge, GaugeMerge::Sum);
    assert!(summed.max > 1_000, "{summed:?}");
}

#[ttk::bot]
fn arrival(cx: Cx, session: ttk::cli::Session) {
    cx.count(&format!("session {}", session.id()), 1);
    let _: () = ttk::yield_!(cx.time("visit", ttk::sleep(Duration::from_millis(3))));
}

/// The sessions an open-model run of 200 arrivals started, on `workers` workers, as shard
/// `shard` (of 2) if given.
fn open_model_sessions(workers: &str, shard: Option<&str>) -> Vec<usize> {
    let mut args = vec![
        "arrivals",
        "--rate",
        "400/s:500ms",
        "--workers",
        workers,
        "--quiet",
    ];
    if let Some(shard) = shard {
        args.extend(["--shard", shard, "--run-id", "open"]);
    }
    let test = ttk::cli::LoadTest::try_from_args("arrivals", args).unwrap();
    let outcome = test.run_parallel_with(Runtime::new().virtual_time(true), arrival);
    assert_eq!(outcome.code, 0, "{:?}", outcome.report.run);
    let mut ids: Vec<usize> = outcome
        .report
        .counters
        .iter()
        .map(|(name, &count)| {
            assert_eq!(count, 1, "{name} ran twice");
            name["session ".len()..].parse().unwrap()
        })
        .collect();
    ids.sort_unstable();
    assert_eq!(
        outcome.report.transaction("visit").unwrap().ok,
        ids.len() as u64
    );
    ids
}

#[test]
fn the_open_model_starts_the_same_sessions_on_any_workers_and_shards() {
    let all: Vec<usize> = (0..200).collect();
    assert_eq!(open_model_sessions("1", None), all);
    assert_eq!(open_model_sessions("3", None), all);
    // Shards take every other session, whatever their workers.
    let first = open_model_sessions("2", Some("0/2"));
    let second = open_model_sessions("3", Some("1/2"));
    assert!(first.iter().all(|id| id % 2 == 0) && second.iter().all(|id| id % 2 == 1));
    let mut both = [first, second].concat();
    both.sort_unstable();
    assert_eq!(both, all);
}

#[ttk::bot]
fn holds_a_socket_and_waits(cx: Cx<u32>, id: usize, target: std::net::SocketAddr) -> u32 {
    // Each bot holds an idle connection (registered with its loop, never read) while it
    // waits for a message from a bot of the other worker.
    let _stream = ttk::yield_!(ttk::net::TcpStream::connect(target)).unwrap();
    let partner = (id + 10) % 20;
    ttk::yield_!(ttk::sleep(Duration::from_millis((id as u64 * 7) % 20)));
    cx.send(partner, id as u32);
    ttk::yield_!(cx.recv()).data
}

#[test]
fn mail_reaches_loops_that_hold_idle_sockets() {
    let target = util::silent_server();
    for _ in 0..10 {
        let got = Runtime::new()
            .deadline(Duration::from_secs(30))
            .workers(2)
            .run(20, move |cx, id| holds_a_socket_and_waits(cx, id, target));
        for (id, from) in got.iter().enumerate() {
            assert_eq!(*from as usize, (id + 10) % 20);
        }
    }
}
