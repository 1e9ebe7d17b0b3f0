//! `ttk tcp` against a real redis-server: one that closes connections idle for a second (its
//! `timeout`), where no request fails for it and every connection is a timed `connect`; and
//! replies of two lines (a bulk string), whose second line is not taken for the next reply;
//! and one past its `maxclients`, whose refusals (a line, then the connection closed with the
//! request unread) are failures, not replies. ttk's counts are redis's own (`INFO stats`,
//! `INFO commandstats`); and with `--resp`, whole values as replies (a bulk string holding line
//! breaks, an array) and error replies as failures under their code.

#[path = "support/redis.rs"]
mod redis;
mod support;

use redis::Redis;

#[test]
fn a_line_protocol_reconnects_when_redis_closes_idle_connections() {
    // A client idle for over a second is closed (redis counts whole seconds: after one to
    // two), checked a hundred times a second.
    let Some(redis) = Redis::start(&["--timeout", "1", "--hz", "100"]) else {
        return;
    };
    // What one look at redis's counters adds to them (its connection and command), measured.
    let first = counts(&redis);
    let before = counts(&redis);
    let look = (before.0 - first.0, before.1 - first.1);
    // Three connections, each sending every three seconds: redis has closed it every time.
    let addr = redis.addr();
    let args = [
        "tcp", &addr, "--send", "PING", "--expect", "PONG", "--crlf", "-c", "3", "--rate", "1",
        "-d", "9s",
    ];
    let report = support::passed(&args, "redis-idle");
    let request = report.transaction("request").unwrap();
    assert!(request.ok >= 8, "{} requests", request.ok);
    let connects = report.transaction("connect").unwrap().ok;
    assert_eq!(connects, request.ok, "a connection per request");
    let after = counts(&redis);
    let redis_counted = (after.0 - before.0 - look.0, after.1 - before.1 - look.1);
    assert_eq!(
        (connects, request.ok),
        redis_counted,
        "ttk's against redis's"
    );
}

#[test]
fn the_second_line_of_a_bulk_reply_is_skipped_not_read_as_the_next_reply() {
    let Some(redis) = Redis::start(&[]) else {
        return;
    };
    redis.try_command("SET greeting hello").unwrap();
    // A value longer than one read (16 KiB): its line is only begun when the reply's first
    // line is read.
    redis
        .try_command(&format!("SET big {}", "x".repeat(20_000)))
        .unwrap();
    let addr = redis.addr();
    // As fast as replies come, then on a schedule (the connections idle between requests).
    let closed = &["-d", "2s"][..];
    let paced = &["--rate", "300", "-d", "2s"][..];
    for (label, get, length, pace) in [
        ("bulk-closed", "GET greeting", "$5", closed),
        ("bulk-paced", "GET greeting", "$5", paced),
        ("bulk-big", "GET big", "$20000", closed),
    ] {
        let calls_before = calls(&redis, "cmdstat_get");
        let mut args = vec![
            "tcp", &addr, "--send", get, "--expect", length, "--crlf", "-c", "3",
        ];
        args.extend_from_slice(pace);
        // Read one request late, the second request's reply would be the value: a failure.
        let report = support::passed(&args, label);
        let request = report.transaction("request").unwrap();
        assert_eq!(request.failed, 0, "{label}: {request:?}");
        assert!(request.ok >= 100, "{label}: {} requests", request.ok);
        assert_eq!(
            calls(&redis, "cmdstat_get") - calls_before,
            request.ok,
            "{label}: redis's GETs"
        );
        // Each value is skipped before the next request; a connection's last stays unread.
        let skipped = report.counters.get("lines skipped (not a reply)").copied();
        assert_eq!(skipped, Some(request.ok - 3), "{label}");
    }
}

#[test]
fn connections_redis_refuses_past_maxclients_are_failures_not_replies() {
    // Five clients at most: of twenty connections, fifteen are refused as fast as they come.
    let Some(redis) = Redis::start(&["--maxclients", "5"]) else {
        return;
    };
    let before = (
        redis.info("stats", "rejected_connections"),
        calls(&redis, "cmdstat_ping"),
    );
    let addr = redis.addr();
    let json = support::scratch("redis-maxclients").join("report.json");
    let output = support::ttk(&[
        "tcp",
        &addr,
        "--send",
        "PING",
        "--crlf",
        "-c",
        "20",
        "-d",
        "2s",
        "-q",
        "--json",
        json.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let report = ttk_report::Report::read_json(&json).unwrap();
    let request = report.transaction("request").unwrap();
    // Once ttk's connections are gone, redis takes this test's again.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while redis
        .try_command("PING")
        .map_or(true, |reply| reply != "+PONG")
    {
        assert!(std::time::Instant::now() < deadline, "redis refuses still");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let rejected = redis.info("stats", "rejected_connections") - before.0;
    let pings = calls(&redis, "cmdstat_ping") - before.1;
    assert!(rejected > 100, "{rejected} refused");
    // A refusal whose close came over a millisecond after its line counts as a reply, and the
    // next line, meeting the close, goes again: that many successes are not redis's.
    let missed = report
        .counters
        .get("requests sent again (the server closed the connection before replying)")
        .copied()
        .unwrap_or(0);
    assert!(missed * 10 <= rejected, "{missed} of {rejected} missed");
    // The PINGs of the test's own looks (one after the run) are redis's too; a bot's last
    // missed refusal has no next line to show it, so is not counted: at most one a connection.
    assert!(
        pings + missed <= request.ok + 1 && request.ok < pings + missed + 20,
        "{request:?}: {pings} PINGs, {missed} missed"
    );
    // The test's own looks refused while the run's connections were going are among them.
    assert!(
        request.failed + missed <= rejected && request.failed + missed + 40 >= rejected,
        "{request:?}: {rejected} refused"
    );
}

#[test]
fn with_resp_a_reply_is_a_whole_value_and_an_error_reply_a_failure() {
    let Some(redis) = Redis::start(&[]) else {
        return;
    };
    // A value with line breaks in it, longer than one read, and a list.
    let value = format!(
        "{}\r\nsecond line\r\n{}",
        "x".repeat(20_000),
        "y".repeat(100)
    );
    let mut stream = std::net::TcpStream::connect(redis.addr()).unwrap();
    let set = format!(
        "*3\r\n$3\r\nSET\r\n$4\r\nlong\r\n${}\r\n{value}\r\n",
        value.len()
    );
    std::io::Write::write_all(&mut stream, set.as_bytes()).unwrap();
    let mut ok = [0; 5];
    std::io::Read::read_exact(&mut stream, &mut ok).unwrap();
    assert_eq!(&ok, b"+OK\r\n");
    redis.try_command("RPUSH list a b needle").unwrap();
    redis.try_command("SET word bar").unwrap();
    let addr = redis.addr();
    for (label, command, expect, name, pipeline) in [
        ("resp-bulk", "GET long", "second line", "cmdstat_get", "1"),
        (
            "resp-array",
            "LRANGE list 0 -1",
            "needle",
            "cmdstat_lrange",
            "1",
        ),
        // Sixteen at a time, as redis-benchmark -P 16.
        (
            "resp-pipelined",
            "GET long",
            "second line",
            "cmdstat_get",
            "16",
        ),
    ] {
        let before = calls(&redis, name);
        let args = [
            "tcp",
            &addr,
            "--send",
            command,
            "--expect",
            expect,
            "--resp",
            "--pipeline",
            pipeline,
            "-c",
            "3",
            "-d",
            "1s",
        ];
        let report = support::passed(&args, label);
        let request = report.transaction("request").unwrap();
        assert!(request.ok >= 100, "{label}: {} requests", request.ok);
        assert_eq!(calls(&redis, name) - before, request.ok, "{label}");
        // No part of a value is a line read before the next request.
        assert_eq!(
            report.counters.get("lines skipped (not a reply)"),
            None,
            "{label}"
        );
    }
    // An error reply (INCR of a word) fails its request, counted under redis's code; so does
    // an error inside an array (a script's table), which redis counts among its failed calls.
    for (label, command, code) in [
        ("resp-error", "INCR word", "ERR"),
        (
            "resp-nested-error",
            "EVAL \"return {1, redis.error_reply('WRONGTYPE nested')}\" 0",
            "WRONGTYPE",
        ),
    ] {
        let before = error_count(&redis, code);
        let json = support::scratch(label).join("report.json");
        let output = support::ttk(&[
            "tcp",
            &addr,
            "--send",
            command,
            "--resp",
            "-c",
            "2",
            "-d",
            "500ms",
            "-q",
            "--json",
            json.to_str().unwrap(),
        ]);
        assert_eq!(
            output.status.code(),
            Some(1),
            "{label}: nothing succeeded: {output:?}"
        );
        let report = ttk_report::Report::read_json(&json).unwrap();
        let request = report.transaction("request").unwrap();
        assert_eq!(request.ok, 0, "{label}");
        assert_eq!(request.errors.len(), 1, "{label}: {:?}", request.errors);
        assert_eq!(request.errors[0].kind, code, "{label}");
        let errors = error_count(&redis, code) - before;
        assert_eq!(
            request.failed, errors,
            "{label}: redis's own count of {code} replies"
        );
    }
    assert_eq!(
        failed_calls(&redis, "cmdstat_eval"),
        calls(&redis, "cmdstat_eval"),
        "every script call failed, in redis's count too"
    );
}

/// The error replies of code `code` redis has sent (`INFO errorstats`: 0 before the first).
fn error_count(redis: &Redis, code: &str) -> u64 {
    let info = redis.try_command("INFO errorstats").unwrap();
    let prefix = format!("errorstat_{code}:count=");
    info.lines()
        .find_map(|line| line.strip_prefix(prefix.as_str()))
        .map_or(0, |rest| {
            rest.split(',').next().unwrap_or(rest).parse().unwrap()
        })
}

/// The calls of a command redis has served (`calls` of `name` in `INFO commandstats`: 0 before
/// the first).
fn calls(redis: &Redis, name: &str) -> u64 {
    let info = redis.try_command("INFO commandstats").unwrap();
    info.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(":calls="))
        .map_or(0, |rest| {
            rest.split(',').next().unwrap_or(rest).parse().unwrap()
        })
}

/// The failed calls of a command (`failed_calls` of `name` in `INFO commandstats`: 0 before
/// the first).
fn failed_calls(redis: &Redis, name: &str) -> u64 {
    let info = redis.try_command("INFO commandstats").unwrap();
    info.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(":calls="))
        .and_then(|rest| rest.split("failed_calls=").nth(1))
        .map_or(0, |rest| {
            rest.split(',').next().unwrap_or(rest).parse().unwrap()
        })
}

/// Redis's connections received and commands processed, from one `INFO stats`.
fn counts(redis: &Redis) -> (u64, u64) {
    let info = redis.try_command("INFO stats").unwrap();
    let field = |name: &str| -> u64 {
        info.lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))
            .unwrap_or_else(|| panic!("no {name} in INFO stats:\n{info}"))
            .trim()
            .parse()
            .unwrap()
    };
    (
        field("total_connections_received"),
        field("total_commands_processed"),
    )
}
