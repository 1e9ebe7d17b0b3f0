//! The network examples run for real against targets on loopback.

mod util;

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

/// The number after `label: ` in a summary.
fn figure(output: &str, label: &str) -> u64 {
    output
        .lines()
        .find_map(|line| {
            line.strip_prefix(label)?
                .strip_prefix(": ")?
                .split(' ')
                .next()
        })
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| panic!("no {label} in:\n{output}"))
}

#[test]
fn echo_storm_completes_requests_without_errors() {
    let output = run_example("echo_storm", &["--bots", "20", "--seconds", "1"]);
    assert!(figure(&output, "requests") > 0, "{output}");
    assert_eq!(figure(&output, "errors"), 0, "{output}");
    assert!(figure(&output, "latency p99") >= figure(&output, "latency p50"));
}

#[test]
fn udp_storm_completes_requests() {
    let output = run_example("udp_storm", &["--bots", "20", "--seconds", "1"]);
    assert!(figure(&output, "requests") > 0, "{output}");
}

#[test]
fn a_bad_option_is_a_clear_error_with_exit_status_2() {
    assert_usage_error(
        "echo_storm",
        &["--bots", "many"],
        "--bots: not a count: many",
    );
}

#[test]
fn echo_storm_against_a_dead_target_counts_errors_and_fails() {
    let unused = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = unused.local_addr().unwrap().to_string();
    drop(unused);
    let output = run_example_raw(
        "echo_storm",
        &["--bots", "3", "--seconds", "0.3", "--target", &addr],
    );
    assert!(!output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(figure(&stdout, "errors") > 0, "{stdout}");
    assert!(stdout.contains("refused"), "{stdout}");
}

#[test]
fn lobby_plays_every_room_to_the_end_and_every_check_passes() {
    let output = run_example("lobby", &["--players", "200", "--rounds", "2"]);
    assert!(output.contains("rooms played: 50\n"), "{output}");
    assert!(
        output.contains("rounds completed: 100 (player-rounds 400)"),
        "{output}"
    );
    // Each mover's teammates (3) hear of each move: 200 players x 2 rounds x 3.
    assert!(
        output.contains("messages between players: 1200\n"),
        "{output}"
    );
    assert!(output.ends_with("all checks passed\n"), "{output}");
}

#[test]
fn lobby_rejects_a_player_count_that_does_not_fill_rooms() {
    assert_usage_error("lobby", &["--players", "10"], "multiple of 4");
}
