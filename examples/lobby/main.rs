//! A small game of our own, played by bots: a TCP lobby server (length-prefixed frames) seats
//! players in rooms of four, where they take turns, chat and leave; 1,000 player bots play it.
//!
//! The players coordinate the way people at a table do: each tells its teammates its move
//! (ttk messages to the room's group), checks what the server relays against what the mover
//! said, and the table meets at a barrier after every round before chatting. Players think
//! between moves (a random pause from their seeded generator). The server runs in this process,
//! as a ttk run of its own on another thread.
//!
//! `cargo run --release --example lobby -- [--players 1000] [--rounds 3]` runs through the
//! harness (`ttk::cli`): live progress, then the summary of the transactions `join`, `move`,
//! `chat` and `round` (see `player.rs` for what each times), the counters and the gauge, then
//! the lobby's own checks against what the server saw.
//!
//! # Flags
//! `--players N` is the lobby's own flag: it sets the run's bots, one per player, and must be
//! a positive multiple of 4. `--rounds R` is how many rounds each room plays. `--websocket`
//! speaks the same protocol over WebSocket (`ttk::ws`), one text message per frame, and `--enet`
//! over ENet (`ttk::net::enet`: reliable UDP, one reliable packet per frame; with `--net` the
//! players' losses are made good by ENet's resends). Of the standard
//! flags, `--ramp-up TIME` starts the players over that time (each room meets once full:
//! `Cx::group_barrier_of`), `--duration` caps the run (a lobby cut short fails its checks),
//! `--net` puts the players on a network (`--net 'lte:70%,3g:30%'`: the server, a run of its
//! own in this process, keeps its sockets as they are), `--local-ips` spreads their
//! connections over source addresses, and `--seed`, `--json`, `--html`, `--threshold` and
//! `--quiet` work as everywhere; `--bots`, `--rate`, `--iterations` and `--target` do not
//! apply (the players are the bots, all in one game, against the lobby's own server) and are
//! refused.
//!
//! # Exit codes
//! The harness's (0 passed, 1 a threshold failed, 2 bad command line, 3 the run failed, 130
//! interrupted); and 1 when the run passed but a check of the lobby's failed (the failures are
//! printed after the summary).

mod conn;
mod player;
mod protocol;
mod server;

use std::io;
use std::process::ExitCode;
use std::sync::mpsc;
use std::thread;

use ttk::cli::ttk_report::Report;
use ttk::cli::{LoadTest, clap};
use ttk::{BotError, Runtime};
use ttk_examples::flags::given;

use conn::Transport;
use player::{Lobby, player};
use server::{SEATS, ServerStats};

/// The most players `--enet` seats: one ENet host holds at most 4,095 connections.
const ENET_PLAYERS: usize = 4_095;

/// The lobby's own flags.
#[derive(clap::Args, Debug)]
#[command(next_help_heading = "Lobby")]
struct LobbyFlags {
    /// Players, one bot each, seated four to a room: a positive multiple of 4.
    #[arg(long, default_value_t = 1000, value_name = "N", value_parser = parse_players)]
    players: usize,

    /// Rounds each room plays.
    #[arg(long, default_value_t = 3, value_name = "R")]
    rounds: u32,

    /// Speaks the protocol over WebSocket (one text message per frame) instead of
    /// length-prefixed frames on TCP.
    #[arg(long, conflicts_with = "enet")]
    websocket: bool,

    /// Speaks the protocol over ENet (one reliable packet per frame; reliable UDP, as many
    /// game engines do) instead of TCP. One ENet host serves at most 4,095 players.
    #[arg(long)]
    enet: bool,
}

/// `--players`: a positive multiple of the room size.
fn parse_players(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(players) if players > 0 && players % SEATS == 0 => Ok(players),
        _ => Err(format!(
            "must be a positive multiple of {SEATS} (rooms of {SEATS}), not {text}"
        )),
    }
}

/// Fits the standard flags to the lobby: the players are the run's bots, all in one game
/// against the lobby's own server. Refuses the flags that would shape the run otherwise.
fn fit_to_lobby(test: &mut LoadTest<LobbyFlags>) -> Result<(), String> {
    let players = test.flags().players;
    let args = test.args_mut();
    if given("--bots") {
        return Err("--bots does not apply: the bots are the players; use --players".to_owned());
    }
    if args.rate.is_some() {
        return Err("--rate does not apply: the lobby seats a fixed set of players".to_owned());
    }
    if args.iterations.is_some() {
        return Err(
            "--iterations does not apply: each player plays one game; use --rounds".to_owned(),
        );
    }
    if args.target.is_some() {
        return Err("--target does not apply: the lobby plays against its own server".to_owned());
    }
    if test.flags().enet && players > ENET_PLAYERS {
        return Err(format!(
            "--enet seats at most {ENET_PLAYERS} players (one ENet host), not --players {players}"
        ));
    }
    let args = test.args_mut();
    if let Some(ramp) = &args.ramp_up
        && ramp.bots(players) != players
    {
        return Err(format!(
            "--ramp-up {ramp} starts {} players, not the --players {players}",
            ramp.bots(players)
        ));
    }
    args.bots = players;
    Ok(())
}

/// How the server's bots ended.
type ServerOutcomes = Vec<Result<io::Result<ServerStats>, BotError>>;

/// The lobby's checks of a run: every player finished, the server saw no error, every
/// player-round completed, and the players and the server agree on the frames. Adds the
/// server's frames to `frames`; returns what failed.
fn check_run(
    report: &Report,
    server: Option<&ServerOutcomes>,
    players: usize,
    rounds: u32,
    frames: &mut ServerStats,
) -> Vec<String> {
    let mut failures = Vec::new();
    let bots = &report.bots;
    if bots.started != players as u64 {
        failures.push(format!("{} of {players} players started", bots.started));
    }
    if bots.failed > 0 {
        failures.push(format!(
            "{} players failed (their errors are above)",
            bots.failed
        ));
    }
    if bots.stopped > 0 {
        failures.push(format!(
            "{} players were stopped before the end",
            bots.stopped
        ));
    }
    match server {
        None => failures.push("the server thread panicked".to_owned()),
        Some(outcomes) => {
            for (id, outcome) in outcomes.iter().enumerate() {
                match outcome {
                    Ok(Ok(stats)) => {
                        frames.frames_in += stats.frames_in;
                        frames.frames_out += stats.frames_out;
                    }
                    Ok(Err(error)) => failures.push(format!("server bot {id}: {error}")),
                    Err(error) => failures.push(format!("server: {error}")),
                }
            }
        }
    }
    // The totals only tell something new when every player and the server ended well.
    if !failures.is_empty() {
        return failures;
    }
    let expected = players as u64 * u64::from(rounds);
    let completed = report.transaction("round").map_or(0, |round| round.ok);
    if completed != expected {
        failures.push(format!("{completed} of {expected} player-rounds completed"));
    }
    let counter = |name: &str| report.counters.get(name).copied().unwrap_or(0);
    let (sent, received) = (counter("frames sent"), counter("frames received"));
    if sent != frames.frames_in {
        failures.push(format!(
            "the players sent {sent} frames, the server read {}",
            frames.frames_in
        ));
    }
    if received != frames.frames_out {
        failures.push(format!(
            "the server wrote {} frames, the players read {received}",
            frames.frames_out
        ));
    }
    failures
}

fn main() -> ExitCode {
    let mut test: LoadTest<LobbyFlags> = LoadTest::from_env_with("lobby");
    if let Err(error) = fit_to_lobby(&mut test) {
        eprintln!("lobby: {error}");
        return ExitCode::from(2);
    }
    let (players, rounds) = (test.flags().players, test.flags().rounds);
    let transport = match (test.flags().websocket, test.flags().enet) {
        (true, _) => Transport::WebSocket,
        (_, true) => Transport::Enet,
        _ => Transport::Tcp,
    };

    let (ready, address) = mpsc::channel();
    let server = thread::spawn(move || server::serve(players, rounds, transport, ready));
    let addr = match address.recv() {
        Ok(Ok(addr)) => addr,
        Ok(Err(error)) => {
            eprintln!("lobby: the server could not listen: {error}");
            return ExitCode::from(3);
        }
        Err(_) => {
            eprintln!("lobby: the server thread died before listening");
            return ExitCode::from(3);
        }
    };
    println!(
        "lobby: {players} players, {} rooms of {SEATS}, {rounds} rounds, server {addr}{}",
        players / SEATS,
        transport.label()
    );
    test.default_target(|| addr.to_string());

    let outcome = test.run_with(Runtime::new().world(Lobby::default()), |cx, session| {
        player(cx, session, addr, rounds, transport)
    });
    let server = server.join().ok();

    let mut frames = ServerStats::default();
    let failures = check_run(
        &outcome.report,
        server.as_ref(),
        players,
        rounds,
        &mut frames,
    );
    println!(
        "server: {} frames read, {} written",
        frames.frames_in, frames.frames_out
    );
    if failures.is_empty() {
        println!("all checks passed");
    } else {
        println!("checks failed: {}", failures.len());
        for failure in failures.iter().take(10) {
            println!("  {failure}");
        }
        if failures.len() > 10 {
            println!("  … and {} more", failures.len() - 10);
        }
    }
    match (outcome.code, failures.is_empty()) {
        (0, false) => ExitCode::FAILURE,
        (code, _) => ExitCode::from(code),
    }
}
