//! `ttk tcp` against a real redis-server: one that closes connections idle for a second (its
//! `timeout`), where no request fails for it and every connection is a timed `connect`; and
//! replies of two lines (a bulk string), whose second line is not taken for the next reply.
//! ttk's counts are redis's own (`INFO stats`, `INFO commandstats`).

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
        let calls_before = get_calls(&redis);
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
            get_calls(&redis) - calls_before,
            request.ok,
            "{label}: redis's GETs"
        );
        // Each value is skipped before the next request; a connection's last stays unread.
        let skipped = report.counters.get("lines skipped (not a reply)").copied();
        assert_eq!(skipped, Some(request.ok - 3), "{label}");
    }
}

/// The GETs redis has served (`cmdstat_get` of `INFO commandstats`, absent before the first).
fn get_calls(redis: &Redis) -> u64 {
    let info = redis.try_command("INFO commandstats").unwrap();
    info.lines()
        .find_map(|line| line.strip_prefix("cmdstat_get:calls="))
        .map_or(0, |rest| {
            let calls = rest.split(',').next().unwrap_or(rest);
            calls.parse().unwrap_or_else(|_| panic!("calls in {info}"))
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
