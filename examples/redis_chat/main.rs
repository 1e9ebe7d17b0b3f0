//! A chat on Redis pub/sub, played by bots in rooms of four: each chatter subscribes to its
//! room's channel on one connection and publishes on another, round after round, and counts
//! what it hears. Redis speaks RESP, read through `ttk::net::Framed`: the reply headers as CRLF
//! lines, the bulk strings raw (a chat line holds a CRLF of its own).
//!
//! `redis-server --port 6379 --save '' --appendonly no` in one terminal, then
//! `cargo run --release --example redis_chat -- [--rooms 10] [--rounds 20] [--target HOST:PORT]`
//! runs through the harness (`ttk::cli`): live progress, then the summary of the transactions
//! `connect`, `subscribe`, `publish` and `round` and the counters `published`, `receivers`
//! (the PUBLISH replies summed: the deliveries Redis made) and `delivered` (the lines the
//! chatters read), then the chat's own checks of those counts. `examples/tests/redis_chat.rs`
//! also checks them against Redis' `INFO commandstats`.
//!
//! # Flags
//! `--rooms N` sets the run's bots, four per room; `--rounds R` how many lines each chatter
//! publishes; `--target HOST:PORT` the Redis server (127.0.0.1:6379 by default). Of the standard
//! flags, `--duration` caps the run (a chat cut short fails its checks), and `--seed`,
//! `--json`, `--html`, `--threshold` and `--quiet` work as everywhere; `--bots`,
//! `--rate`, `--iterations`, `--ramp-up`, `--processes` and `--shard` do not apply and are
//! refused.
//!
//! # Exit codes
//! The harness's (0 passed, 1 a threshold failed, 2 bad command line, 3 the run failed, 130
//! interrupted); and 1 when the run passed but a check of the chat's failed.

mod chatter;
mod resp;

use std::process::ExitCode;

use ttk::Runtime;
use ttk::cli::LoadTest;
use ttk::cli::ttk_report::Report;
use ttk_examples::chat_rooms::{ChatFlags, ROOM, Rooms, finish, fit_to_chat};

use chatter::chatter;

/// The chat's checks of a run: every chatter finished, and the counts agree: each PUBLISH
/// reached its room's four subscribers, and the chatters read every line Redis delivered.
fn check_run(report: &Report, chatters: u64, rounds: u32) -> Vec<String> {
    let mut failures = Vec::new();
    let bots = &report.bots;
    if bots.finished != chatters {
        failures.push(format!(
            "{} of {chatters} chatters finished ({} failed, {} stopped)",
            bots.finished, bots.failed, bots.stopped
        ));
        return failures;
    }
    let counter = |name: &str| report.counters.get(name).copied().unwrap_or(0);
    let published = counter("published");
    let expected = chatters * u64::from(rounds);
    if published != expected {
        failures.push(format!("{published} lines published, {expected} expected"));
    }
    let (receivers, delivered) = (counter("receivers"), counter("delivered"));
    if receivers != published * ROOM as u64 {
        failures.push(format!(
            "Redis delivered {receivers} lines, {} expected (each to the room's {ROOM})",
            published * ROOM as u64
        ));
    }
    if delivered != receivers {
        failures.push(format!(
            "the chatters read {delivered} lines, Redis delivered {receivers}"
        ));
    }
    failures
}

fn main() -> ExitCode {
    let mut test: LoadTest<ChatFlags> = LoadTest::from_env_with("redis_chat");
    if let Err(error) = fit_to_chat(&mut test, "127.0.0.1:6379") {
        eprintln!("redis_chat: {error}");
        return ExitCode::from(2);
    }
    let rounds = test.flags().rounds;
    let chatters = test.args().bots as u64;
    let redis = test.args().target.clone().unwrap_or_default();
    println!(
        "redis_chat: {chatters} chatters in {} rooms of {ROOM}, {rounds} rounds, Redis at {redis}",
        test.flags().rooms
    );
    // One loop: a room's barrier is shared by its chatters, so they share a thread.
    let outcome = test.run_with(
        Runtime::new().world(Rooms::default()),
        move |cx, session| chatter(cx, session, redis.clone(), rounds),
    );
    let failures = check_run(&outcome.report, chatters, rounds);
    finish(outcome.code, &failures)
}
