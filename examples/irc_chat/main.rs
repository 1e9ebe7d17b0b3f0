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
//! `--html`, `--threshold` and `--quiet` work as everywhere; `--bots`, `--rate`, `--iterations`
//! and `--ramp-up` do not apply and are refused.
//!
//! # Exit codes
//! The harness's (0 passed, 1 a threshold failed, 2 bad command line, 3 the run failed, 130
//! interrupted); and 1 when the run passed but a check of the chat's failed.

mod chatter;
mod irc;

use std::process::ExitCode;

use ttk::Runtime;
use ttk::cli::ttk_report::Report;
use ttk::cli::{LoadTest, clap};
use ttk_examples::flags::given;

use chatter::{ROOM, Rooms, chatter};

/// The chat's own flags.
#[derive(clap::Args, Debug)]
#[command(next_help_heading = "Chat")]
struct ChatFlags {
    /// Rooms of four chatters, one bot each.
    #[arg(long, default_value_t = 10, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    rooms: u32,

    /// Lines each chatter says, one a round.
    #[arg(long, default_value_t = 20, value_name = "R")]
    rounds: u32,
}

/// Fits the standard flags to the chat: the chatters are the run's bots, kept in rooms.
fn fit_to_chat(test: &mut LoadTest<ChatFlags>) -> Result<(), String> {
    let chatters = test.flags().rooms as usize * ROOM;
    if given("--bots") {
        return Err("--bots does not apply: the bots are the chatters; use --rooms".to_owned());
    }
    let args = test.args_mut();
    if args.rate.is_some() || args.iterations.is_some() || args.ramp_up.is_some() {
        return Err(
            "--rate, --iterations and --ramp-up do not apply: every room chats --rounds rounds"
                .to_owned(),
        );
    }
    args.bots = chatters;
    test.default_target(|| "127.0.0.1:6667".to_owned());
    Ok(())
}

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
    if let Err(error) = fit_to_chat(&mut test) {
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
    if failures.is_empty() {
        println!("all checks passed");
    } else {
        println!("checks failed: {}", failures.len());
        for failure in &failures {
            println!("  {failure}");
        }
    }
    match (outcome.code, failures.is_empty()) {
        (0, false) => ExitCode::FAILURE,
        (code, _) => ExitCode::from(code),
    }
}
