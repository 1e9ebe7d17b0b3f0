//! The network examples run for real against targets on loopback.

mod util;

use std::process::Output;

use ttk::cli::ttk_report::{Report, TransactionReport};
use util::{assert_usage_error, run_example, run_example_raw};

#[test]
fn hello_server_prints_the_four_lines_in_order() {
    let output = run_example("hello_server", &[]);
    let lines: Vec<&str> = output.lines().collect();
    assert_eq!(lines.len(), 4, "{output}");
    let port = lines[0]
        .strip_prefix("process 0: listening on port ")
        .expect("line 1");
    assert!(port.parse::<u16>().is_ok(), "{output}");
    assert_eq!(lines[1], format!("process 1: connected on port {port}"));
    let peer = lines[2]
        .strip_prefix("process 0: connection from 127.0.0.1:")
        .expect("line 3");
    assert!(peer.parse::<u16>().is_ok(), "{output}");
    assert_eq!(lines[3], "process 1: received \"hello\"");
}

/// Runs example `name` with `args`, `--quiet` and `--json` to a fresh file; its output and its
/// report.
fn run_with_report(name: &str, test: &str, args: &[&str]) -> (Output, Report) {
    let path = std::env::temp_dir().join(format!("ttk-network-{test}-{}.json", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let mut all = args.to_vec();
    all.extend(["--quiet", "--json", path.to_str().expect("a UTF-8 path")]);
    let output = run_example_raw(name, &all);
    let report = Report::read_json(&path).unwrap_or_else(|error| {
        panic!("{name} wrote no report ({error}): {output:?}");
    });
    let _ = std::fs::remove_file(&path);
    (output, report)
}

/// Transaction `name` of `report`, which must be there.
fn transaction<'r>(report: &'r Report, name: &str) -> &'r TransactionReport {
    report
        .transaction(name)
        .unwrap_or_else(|| panic!("no {name} transaction in:\n{}", report.summary()))
}

/// Transaction `name` ended `ok` times well and never otherwise.
fn assert_all_ok(report: &Report, name: &str, ok: u64) {
    let tx = transaction(report, name);
    assert_eq!(
        (tx.ok, tx.failed, tx.abandoned, tx.stopped),
        (ok, 0, 0, 0),
        "{name}:\n{}",
        report.summary()
    );
}

#[test]
fn echo_storm_completes_requests_without_errors() {
    let (output, report) =
        run_with_report("echo_storm", "echo", &["--bots", "20", "--seconds", "1"]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert_eq!(report.run.end, "duration");
    assert_all_ok(&report, "connect", 20);
    let request = transaction(&report, "request");
    assert!(request.ok > 0, "{}", report.summary());
    assert_eq!(
        request.failed + request.abandoned,
        0,
        "{}",
        report.summary()
    );
    let latency = request.latency();
    assert!(latency.p99_us >= latency.p50_us, "{latency:?}");
}

#[test]
fn http_get_completes_requests_on_kept_alive_connections() {
    let (output, report) =
        run_with_report("http_get", "http", &["--bots", "10", "--iterations", "200"]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    // One connection per bot, kept alive for all of its 200 requests.
    assert_all_ok(&report, "connect", 10);
    assert_all_ok(&report, "request", 10 * 200);
}

#[test]
fn ws_echo_runs_1000_websocket_bots_without_a_failure() {
    let (output, report) =
        run_with_report("ws_echo", "ws", &["--bots", "1000", "--duration", "2s"]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert_eq!(report.bots.finished, 1000, "{}", report.summary());
    // Each bot connected, pinged and closed once, and echoed until the time was up.
    assert_all_ok(&report, "connect", 1000);
    assert_all_ok(&report, "ping", 1000);
    assert_all_ok(&report, "close", 1000);
    let echo = transaction(&report, "echo");
    assert!(echo.ok > 0, "{}", report.summary());
    assert_eq!(
        echo.failed + echo.abandoned + echo.stopped,
        0,
        "{}",
        report.summary()
    );
}

#[test]
fn udp_storm_completes_requests() {
    let (output, report) = run_with_report("udp_storm", "udp", &["--bots", "20", "--seconds", "1"]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let echo = transaction(&report, "echo");
    assert!(echo.ok > 0, "{}", report.summary());
    assert_eq!(echo.failed + echo.abandoned, 0, "{}", report.summary());
    // After --seconds each bot finished the echo it waited for, then stopped sending.
    assert_eq!(echo.stopped, 0, "{}", report.summary());
    assert_eq!(report.bots.finished, 20, "{}", report.summary());
}

#[test]
fn a_bad_option_is_a_clear_error_with_exit_status_2() {
    assert_usage_error(
        "echo_storm",
        &["--bots", "many"],
        "invalid value 'many' for '--bots",
    );
    assert_usage_error(
        "udp_storm",
        &["--bots", "many"],
        "invalid value 'many' for '--bots",
    );
    assert_usage_error(
        "udp_storm",
        &["--seconds", "0"],
        "--seconds: not a positive number: 0",
    );
    assert_usage_error(
        "udp_storm",
        &["--target", "nowhere"],
        "--target must be IP:PORT, not \"nowhere\"",
    );
}

#[test]
fn echo_storm_against_a_dead_target_counts_errors_and_fails() {
    let unused = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = unused.local_addr().unwrap().to_string();
    drop(unused);
    let (output, report) = run_with_report(
        "echo_storm",
        "dead",
        &[
            "--bots",
            "3",
            "--seconds",
            "0.3",
            "--target",
            &addr,
            "--threshold",
            "failures < 1%",
        ],
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    let connect = transaction(&report, "connect");
    assert_eq!(connect.ok, 0, "{stdout}");
    assert!(connect.failed > 0, "{stdout}");
    assert_eq!(connect.errors[0].kind, "ConnectionRefused", "{stdout}");
    assert!(
        report
            .transaction("request")
            .is_none_or(|request| request.ok == 0)
    );
    assert!(stdout.contains("refused"), "{stdout}");
    assert!(!report.thresholds[0].passed, "{stdout}");
}

#[test]
fn lobby_plays_every_room_to_the_end_and_every_check_passes() {
    let (players, rounds) = (200, 2);
    let (output, report) =
        run_with_report("lobby", "lobby", &["--players", "200", "--rounds", "2"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(stdout.ends_with("all checks passed\n"), "{stdout}");
    assert_eq!(report.run.end, "completed");
    assert_eq!(
        (report.bots.started, report.bots.finished),
        (players, players)
    );
    // Each player joins once, and in each round moves once, chats once and plays the round.
    assert_all_ok(&report, "join", players);
    for name in ["move", "chat", "round"] {
        assert_all_ok(&report, name, players * rounds);
    }
    let counter = |name: &str| report.counters.get(name).copied().unwrap_or(0);
    // Each mover's teammates (3) hear of each move.
    assert_eq!(counter("messages between players"), players * rounds * 3);
    assert_every_frame_counted(&report, &stdout, players, rounds);
    let seated = &report.gauges["players seated"];
    assert_eq!(seated.last, 0, "everyone left");
    assert!((4..=players as i64).contains(&seated.max), "{seated:?}");
}

/// The players' counts of frames, and the server's, are what a lobby of `players` playing
/// `rounds` rounds exchanges: a player sends JOIN, MOVE and CHAT each round, LEAVE; it receives
/// ROOM, each round 4 TURN, 4 MOVED, SCORE and 4 SAID, then BYE.
fn assert_every_frame_counted(report: &Report, stdout: &str, players: u64, rounds: u64) {
    let counter = |name: &str| report.counters.get(name).copied().unwrap_or(0);
    assert_eq!(counter("frames sent"), players * (2 + 2 * rounds));
    assert_eq!(counter("frames received"), players * (2 + 13 * rounds));
    assert!(
        stdout.contains(&format!(
            "server: {} frames read, {} written",
            players * (2 + 2 * rounds),
            players * (2 + 13 * rounds)
        )),
        "{stdout}"
    );
}

#[test]
fn lobby_players_on_slow_networks_fill_their_rooms_under_ramp_up_and_time_the_fan_out() {
    // Players started over a second, 70 % on lte and 30 % on 3g, from 8 source addresses:
    // every room meets full, and each move reaches the mover's 3 teammates through the server,
    // timed from the stamp in the move (lte: 35 ms up, 35 ms down at the least).
    let (players, rounds) = (40, 2);
    let args = [
        "--players",
        "40",
        "--rounds",
        "2",
        "--ramp-up",
        "1s",
        "--net",
        "lte:70%,3g:30%",
        "--local-ips",
        "127.0.0.2-127.0.0.9",
    ];
    let (output, report) = run_with_report("lobby", "lobby-net", &args);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(stdout.ends_with("all checks passed\n"), "{stdout}");
    assert_eq!(report.run.parameters.net.as_deref(), Some("lte:70%,3g:30%"));
    for name in ["move", "chat", "round"] {
        assert_all_ok(&report, name, players * rounds);
    }
    assert_all_ok(&report, "fan-out", players * rounds * 3);
    let fan_out = report.transaction("fan-out").unwrap();
    let fastest = fan_out.histogram.inner().min();
    assert!(
        fastest >= 40_000,
        "a move arrived in {fastest} µs over lte or 3g"
    );
}

#[test]
fn lobby_plays_over_websocket_too() {
    let (players, rounds) = (200, 2);
    let (output, report) = run_with_report(
        "lobby",
        "lobby-ws",
        &["--players", "200", "--rounds", "2", "--websocket"],
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("(WebSocket)"), "{stdout}");
    assert!(stdout.ends_with("all checks passed\n"), "{stdout}");
    assert_all_ok(&report, "join", players);
    for name in ["move", "chat", "round"] {
        assert_all_ok(&report, name, players * rounds);
    }
}

#[test]
fn lobby_over_enet_fills_its_rooms_under_ramp_up_on_slow_networks_from_a_source_pool() {
    // Issue #18's game: rooms of 4 that fill while the players arrive over a second, 70 % on
    // lte and 30 % on 3g (with their losses, made good by ENet's resends), from 8 source
    // addresses, over ENet; every frame arrives (the server's counts and the players' agree)
    // and each move's fan-out to the mover's teammates is timed.
    let (players, rounds) = (40, 2);
    let args = [
        "--players",
        "40",
        "--rounds",
        "2",
        "--enet",
        "--ramp-up",
        "1s",
        "--net",
        "lte:70%,3g:30%",
        "--local-ips",
        "127.0.0.2-127.0.0.9",
    ];
    let (output, report) = run_with_report("lobby", "lobby-enet", &args);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("(ENet)"), "{stdout}");
    assert!(stdout.ends_with("all checks passed\n"), "{stdout}");
    assert_eq!(report.run.parameters.net.as_deref(), Some("lte:70%,3g:30%"));
    assert_all_ok(&report, "join", players);
    for name in ["move", "chat", "round"] {
        assert_all_ok(&report, name, players * rounds);
    }
    assert_all_ok(&report, "fan-out", players * rounds * 3);
    let fastest = report
        .transaction("fan-out")
        .unwrap()
        .histogram
        .inner()
        .min();
    assert!(
        fastest >= 40_000,
        "a move arrived in {fastest} µs over lte or 3g"
    );
    assert_every_frame_counted(&report, &stdout, players, rounds);
}

#[test]
fn a_lobby_cut_short_fails_its_checks() {
    let output = run_example_raw(
        "lobby",
        &[
            "--players",
            "40",
            "--rounds",
            "1000",
            "--duration",
            "300ms",
            "--quiet",
        ],
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    let checks = stdout
        .split_once("checks failed: ")
        .unwrap_or_else(|| panic!("no failed checks after the summary:\n{stdout}"))
        .1;
    assert!(
        checks.contains("40 players were stopped before the end"),
        "{stdout}"
    );
}

#[test]
fn lobby_rejects_a_player_count_that_does_not_fill_rooms() {
    assert_usage_error("lobby", &["--players", "10"], "multiple of 4");
    assert_usage_error("lobby", &["--players", "0"], "multiple of 4");
}

#[test]
fn lobby_refuses_flags_that_would_reshape_its_game() {
    assert_usage_error("lobby", &["--bots", "8"], "use --players");
    assert_usage_error("lobby", &["--iterations", "2"], "use --rounds");
    assert_usage_error("lobby", &["--target", "127.0.0.1:1"], "its own server");
    assert_usage_error(
        "lobby",
        &["--players", "8", "--ramp-up", "4:1s"],
        "not the --players 8",
    );
}
