//! A chat on an IRC server, played by bots in rooms of four: each chatter registers a nick of
//! its own, joins its room's channel and says a line a round, and counts its mates' lines.
//! IRC is lines ending in CRLF, read through `ttk::net::Framed`; the server's PINGs are answered
//! wherever a chatter reads.
//!
//! An IRC server on 127.0.0.1:6667 (Debian's `ngircd`, say, with `MaxConnectionsIP = 0` in
//! `/etc/ngircd/ngircd.conf`: its default takes 10 clients from one address), then
//! `cargo run --release --example irc_chat -- [--rooms 10] [--rounds 20] [--target HOST:PORT]`
//! runs through the harness (`ttk::cli`): live progress, then the summary of the transactions
//! `connect`, `register`, `join` and `round` and the counters `sent` (PRIVMSGs), `delivered`
//! (mates' lines read) and `pongs`, then the chat's own checks of those counts.
//! `examples/tests/irc_chat.rs` also checks them against the server's own (ngircd's
//! `STATS m`: the commands it received).
//!
//! # Flags
//! `--rooms N` sets the run's bots, four per room; `--rounds R` how many lines each chatter
//! says; `--target HOST:PORT` the server (127.0.0.1:6667 by default). The chatters connect
//! 10 ms apart (100 a second), so that a server's listen backlog does not overflow; nicks are
//! `ttk<id>` (at most 9 characters, many servers' limit, up to 1,000,000 chatters). Of the
//! standard flags,
//! `--duration` caps the run (a chat cut short fails its checks), and `--seed`, `--json`,
//! `--html`, `--threshold` and `--quiet` work as everywhere; `--bots`, `--rate`, `--iterations`,
//! `--ramp-up`, `--processes` and `--shard` do not apply and are refused.
//!
//! # Exit codes
//! The harness's (0 passed, 1 a threshold failed, 2 bad command line, 3 the run failed, 130
//! interrupted); and 1 when the run passed but a check of the chat's failed.

mod chatter;
mod irc;

use std::process::ExitCode;

use ttk::Runtime;
use ttk::cli::LoadTest;
use ttk::cli::ttk_report::Report;
use ttk_examples::chat_rooms::{ChatFlags, ROOM, Rooms, finish, fit_to_chat};

use chatter::chatter;

/// The chat's checks of a run: every chatter finished, each said its lines, and each line
/// reached the room's three others.
fn check_run(report: &Report, chatters: u64, rounds: u32) -> Vec<String> {
    let bots = &report.bots;
    if bots.finished != chatters {
        return vec![format!(
            "{} of {chatters} chatters finished ({} failed, {} stopped)",
            bots.finished, bots.failed, bots.stopped
        )];
    }
    let counter = |name: &str| report.counters.get(name).copied().unwrap_or(0);
    let mut failures = Vec::new();
    let (sent, delivered) = (counter("sent"), counter("delivered"));
    let expected = chatters * u64::from(rounds);
    if sent != expected {
        failures.push(format!("{sent} lines sent, {expected} expected"));
    }
    let others = ROOM as u64 - 1;
    if delivered != sent * others {
        failures.push(format!(
            "the chatters read {delivered} lines, {} expected (each to the room's {others} \
             others)",
            sent * others
        ));
    }
    failures
}

fn main() -> ExitCode {
    let mut test: LoadTest<ChatFlags> = LoadTest::from_env_with("irc_chat");
    if let Err(error) = fit_to_chat(&mut test, "127.0.0.1:6667") {
        eprintln!("irc_chat: {error}");
        return ExitCode::from(2);
    }
    let rounds = test.flags().rounds;
    let chatters = test.args().bots as u64;
    let server = test.args().target.clone().unwrap_or_default();
    println!(
        "irc_chat: {chatters} chatters in {} rooms of {ROOM}, {rounds} rounds, IRC at {server}",
        test.flags().rooms
    );
    // One loop: a room's barrier is shared by its chatters, so they share a thread.
    let outcome = test.run_with(
        Runtime::new().world(Rooms::default()),
        move |cx, session| chatter(cx, session, server.clone(), rounds),
    );
    let failures = check_run(&outcome.report, chatters, rounds);
    finish(outcome.code, &failures)
}
