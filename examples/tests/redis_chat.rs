//! The redis_chat example against a real Redis: a `redis-server` this test starts on loopback
//! (no persistence), the example run as a subprocess, and its report's counts checked against
//! what Redis itself counted (`INFO commandstats`, `INFO stats`).
//!
//! Skipped, with a message, where `/usr/bin/redis-server` is missing, unless
//! `TTK_REQUIRE_REDIS=1` (as in CI), where it fails.

#[path = "../../crates/ttk-cli/tests/support/redis.rs"]
mod redis;
mod util;

use std::thread;
use std::time::{Duration, Instant};

use redis::Redis;

#[test]
fn the_chat_counts_what_redis_counted() {
    let Some(redis) = Redis::start(&[]) else {
        return;
    };
    let (rooms, rounds) = (10u64, 60u64);
    let report = util::run_chat("redis_chat", &redis.addr(), rooms, rounds, "60s");

    let chatters = rooms * 4;
    let counter = |name: &str| report.counters.get(name).copied().unwrap_or(0);
    assert_eq!(report.bots.finished, chatters);
    assert_eq!(counter("published"), chatters * rounds);
    // Redis' own counts: one PUBLISH per line published, one SUBSCRIBE per chatter.
    assert_eq!(
        redis.info("commandstats", "cmdstat_publish.calls"),
        counter("published")
    );
    assert_eq!(
        redis.info("commandstats", "cmdstat_subscribe.calls"),
        chatters
    );
    // Every delivery Redis reported (the PUBLISH replies, summed) was read by a chatter, and
    // each line reached the room's four.
    assert_eq!(counter("delivered"), counter("receivers"));
    assert_eq!(counter("receivers"), 4 * counter("published"));
    // The chatters are gone: no subscription is left behind, once Redis has seen their
    // connections close (the example has exited; Redis may not have read the closes yet).
    let deadline = Instant::now() + Duration::from_secs(10);
    while redis.info("stats", "pubsub_channels") != 0 {
        assert!(Instant::now() < deadline, "subscriptions left behind");
        thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(report.transaction("publish").unwrap().ok, chatters * rounds);
}

#[test]
fn flags_that_would_break_the_rooms_are_refused() {
    util::assert_usage_error("redis_chat", &["--bots", "6"], "use --rooms");
    util::assert_usage_error("redis_chat", &["--rate", "5/s"], "do not apply");
    util::assert_usage_error("redis_chat", &["--rooms", "0"], "--rooms");
    util::assert_usage_error("redis_chat", &["--processes", "2"], "one process");
    util::assert_usage_error("redis_chat", &["--shard", "0/2"], "one process");
}
