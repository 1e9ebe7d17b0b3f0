//! What the chat examples (`redis_chat`, `irc_chat`) share: chatters in rooms of four, one bot
//! each, the room's members meeting at a barrier of their own; the flags that size the chat,
//! and how a chat's run ends.

use std::collections::HashMap;
use std::process::ExitCode;

use ttk::Barrier;
use ttk::cli::{LoadTest, clap};

use crate::flags::given;

/// Chatters in a room.
pub const ROOM: usize = 4;

/// The chat's own flags.
#[derive(clap::Args, Debug)]
#[command(next_help_heading = "Chat")]
pub struct ChatFlags {
    /// Rooms of four chatters, one bot each.
    #[arg(long, default_value_t = 10, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub rooms: u32,

    /// Lines each chatter sends, one a round.
    #[arg(long, default_value_t = 20, value_name = "R")]
    pub rounds: u32,
}

/// Fits the standard flags to a chat: the chatters are the run's bots, kept in rooms (which
/// `--bots`, `--rate`, `--iterations`, `--ramp-up`, `--processes` and `--shard` would break:
/// refused), aimed at `default_target` unless `--target` says otherwise.
pub fn fit_to_chat(test: &mut LoadTest<ChatFlags>, default_target: &str) -> Result<(), String> {
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
    // A room's chatters meet at a barrier of their process: a room cut in two never meets.
    if args.processes.is_some_and(|processes| processes > 1) || args.shard.is_some() {
        return Err(
            "--processes and --shard do not apply: a room's chatters meet in one process"
                .to_owned(),
        );
    }
    args.bots = chatters;
    test.default_target(|| default_target.to_owned());
    Ok(())
}

/// What the chatters share: one barrier per room, made by its first chatter.
#[derive(Debug, Default)]
pub struct Rooms {
    barriers: HashMap<usize, Barrier>,
}

impl Rooms {
    /// The barrier of `room`'s [`ROOM`] chatters.
    pub fn barrier(&mut self, room: usize) -> Barrier {
        self.barriers
            .entry(room)
            .or_insert_with(|| Barrier::new(ROOM))
            .clone()
    }
}

/// Prints the chat's own checks (`failures`, none if they passed) and gives the exit code:
/// the harness's `code`, or 1 where the run passed but a check failed.
pub fn finish(code: u8, failures: &[String]) -> ExitCode {
    if failures.is_empty() {
        println!("all checks passed");
    } else {
        println!("checks failed: {}", failures.len());
        for failure in failures {
            println!("  {failure}");
        }
    }
    match (code, failures.is_empty()) {
        (0, false) => ExitCode::FAILURE,
        (code, _) => ExitCode::from(code),
    }
}
