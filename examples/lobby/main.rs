//! A small game of our own, played by bots: a TCP lobby server (length-prefixed frames) seats
//! players in rooms of four, where they take turns, chat and leave; 1,000 player bots play it.
//!
//! The players coordinate the way people at a table do: each tells its teammates its move
//! (ttk messages to the room's group), checks what the server relays against what the mover
//! said, and the table meets at a barrier after every round before chatting. Players think
//! between moves (a random pause from their seeded generator). The server runs in this process,
//! as a ttk run of its own on another thread.
//!
//! `cargo run --release --example lobby -- [--players 1000] [--rounds 3]` prints what happened
//! and exits non-zero if any check failed.

mod player;
mod protocol;
mod server;

use std::process::ExitCode;
use std::sync::mpsc;
use std::thread;
use std::time::Instant;

use ttk::Runtime;

use player::{Lobby, player};
use server::SEATS;

/// `--players N --rounds R`.
fn parse_args() -> Result<(usize, u32), String> {
    let (mut players, mut rounds) = (1000, 3);
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--players" => players = value.parse().map_err(|_| format!("--players: {value}?"))?,
            "--rounds" => rounds = value.parse().map_err(|_| format!("--rounds: {value}?"))?,
            other => {
                return Err(format!(
                    "unknown option {other}; options: --players N --rounds R"
                ));
            }
        }
    }
    if players == 0 || players % SEATS != 0 {
        return Err(format!(
            "--players must be a positive multiple of {SEATS}, not {players}"
        ));
    }
    Ok((players, rounds))
}

fn main() -> ExitCode {
    let (players, rounds) = match parse_args() {
        Ok(args) => args,
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::from(2);
        }
    };
    let (ready, address) = mpsc::channel();
    let server = thread::spawn(move || server::serve(players, rounds, ready));
    let addr = match address.recv() {
        Ok(Ok(addr)) => addr,
        Ok(Err(error)) => {
            eprintln!("lobby: the server could not listen: {error}");
            return ExitCode::FAILURE;
        }
        Err(_) => {
            eprintln!("lobby: the server thread died before listening");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "lobby: {players} players, {} rooms of {SEATS}, {rounds} rounds, server {addr}",
        players / SEATS
    );

    let started = Instant::now();
    let (outcomes, lobby) = Runtime::new()
        .seed(2016)
        .world(Lobby::default())
        .try_run_with_world(players, |cx, id| player(cx, id, addr, rounds));
    let elapsed = started.elapsed();
    let server_outcomes = server.join().unwrap_or_default();

    let mut failures: Vec<String> = Vec::new();
    for (id, outcome) in outcomes.iter().enumerate() {
        match outcome {
            Ok(Ok(())) => {}
            Ok(Err(error)) => failures.push(format!("player {id}: {error}")),
            Err(error) => failures.push(error.to_string()),
        }
    }
    let (mut frames_in, mut frames_out) = (0, 0);
    for (id, outcome) in server_outcomes.iter().enumerate() {
        match outcome {
            Ok(Ok(stats)) => {
                frames_in += stats.frames_in;
                frames_out += stats.frames_out;
            }
            Ok(Err(error)) => failures.push(format!("server bot {id}: {error}")),
            Err(error) => failures.push(format!("server: {error}")),
        }
    }
    if server_outcomes.is_empty() {
        failures.push("the server thread panicked".to_owned());
    }
    let expected_rounds = players as u64 * u64::from(rounds);
    if lobby.rounds != expected_rounds && failures.is_empty() {
        failures.push(format!(
            "{} of {expected_rounds} player-rounds completed",
            lobby.rounds
        ));
    }

    println!("rooms played: {}", lobby.rooms.len());
    println!(
        "rounds completed: {} (player-rounds {})",
        lobby.rounds / SEATS as u64,
        lobby.rounds
    );
    println!(
        "frames: players {} / server in {frames_in} out {frames_out}",
        lobby.frames
    );
    println!("messages between players: {}", lobby.messages);
    println!(
        "move latency: p50 {} us, p99 {} us, max {} us",
        lobby.latencies.value_at_quantile(0.5),
        lobby.latencies.value_at_quantile(0.99),
        lobby.latencies.max()
    );
    println!("elapsed: {:.2?}", elapsed);
    if failures.is_empty() {
        println!("all checks passed");
        ExitCode::SUCCESS
    } else {
        println!("checks failed: {}", failures.len());
        for failure in failures.iter().take(10) {
            println!("  {failure}");
        }
        ExitCode::FAILURE
    }
}
