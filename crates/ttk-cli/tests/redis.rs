//! `ttk tcp` against a real redis-server that closes connections idle for a second (its
//! `timeout`): no request fails for it, every connection is a timed `connect`, and ttk's counts
//! are redis's own (`INFO stats`).

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
