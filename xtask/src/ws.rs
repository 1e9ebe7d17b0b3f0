//! Figures of the WebSocket probe (`ws_probe`): memory per message in flight, on the client
//! and on an echo server of ttk bots, with every bot holding a 200 KiB message at once; what a
//! bot keeps once the message is gone; the CPU of small-message echoes.

use crate::probe::{self, number};
use crate::report::{Figure, Goal};

/// Bots (and connections to the echo server) in the memory probe.
const BOTS: f64 = 1000.0;
/// The size of each bot's message in the memory probe.
const BYTES: f64 = 200.0 * 1024.0;
/// Runs of the memory probe; medians are reported.
const RUNS: usize = 3;
/// The most a message in flight may cost, as a multiple of its size, above what the connected
/// bots cost: the message itself, plus the rounding of the buffer it is received into.
const PER_MESSAGE: f64 = 1.3;
/// The most a bot may keep once a big message is gone, in KiB (its write buffer's chunk).
const KEPT_KIB: f64 = 16.0;
/// Bots, seconds and message size of the small-message echo probe.
const ECHO: [&str; 3] = ["100", "2", "16"];

/// One side's samples, from the probe's JSON for that side (`/client` or `/server`).
struct Side {
    /// Peak RSS above the RSS once connected, per byte in flight.
    per_message: f64,
    /// Peak RSS above the process before its bots ran, per byte in flight (as issue 15
    /// counted it).
    overall: f64,
    /// RSS once connected, above the process before its bots ran, per bot (KiB).
    connected_kib: f64,
    /// RSS once every message was dropped, above the RSS once connected, per bot (KiB).
    kept_kib: f64,
}

impl Side {
    /// The figures of `side` in `json`.
    fn read(json: &serde_json::Value, side: &str) -> Result<Side, String> {
        let at = |key: &str| number(json, &format!("/{side}/{key}"));
        if at("errors")? > 0.0 {
            return Err(format!("ws_probe: the {side} failed: {json}"));
        }
        let (baseline, connected) = (at("baseline")?, at("connected")?);
        let (idle, peak) = (at("idle")?, at("peak")?);
        Ok(Side {
            per_message: (peak - connected) / (BOTS * BYTES),
            overall: (peak - baseline) / (BOTS * BYTES),
            connected_kib: (connected - baseline) / BOTS / 1024.0,
            kept_kib: (idle - connected) / BOTS / 1024.0,
        })
    }
}

/// The memory figures of both sides, and the echo's CPU per round trip.
pub(crate) fn figures() -> Result<Vec<Figure>, String> {
    let (bots, bytes) = (BOTS.to_string(), BYTES.to_string());
    let mut sides = [Vec::new(), Vec::new()];
    for _ in 0..RUNS {
        let json = probe::json("ws_probe", &["memory", &bots, &bytes])?;
        sides[0].push(Side::read(&json, "client")?);
        sides[1].push(Side::read(&json, "server")?);
    }
    let mut figures = Vec::new();
    for (name, runs) in ["client", "server"].iter().zip(&sides) {
        let samples = |field: fn(&Side) -> f64| runs.iter().map(field).collect::<Vec<_>>();
        let prefix = format!("ws: 1k bots x 200 KiB echoed, {name}");
        figures.extend([
            Figure::median_of(
                format!("{prefix}: peak above connected / data"),
                &samples(|side| side.per_message),
                "x",
                Goal::AtMost(PER_MESSAGE),
            ),
            Figure::median_of(
                format!("{prefix}: peak above start / data"),
                &samples(|side| side.overall),
                "x",
                Goal::None,
            ),
            Figure::median_of(
                format!("{prefix}: connected, per bot"),
                &samples(|side| side.connected_kib),
                "KiB",
                Goal::None,
            ),
            Figure::median_of(
                format!("{prefix}: kept once dropped, per bot"),
                &samples(|side| side.kept_kib),
                "KiB",
                Goal::AtMost(KEPT_KIB),
            ),
        ]);
    }
    let json = probe::json("ws_probe", &["echo", ECHO[0], ECHO[1], ECHO[2]])?;
    let round_trips = number(&json, "round_trips")?;
    if number(&json, "/client/errors")? > 0.0 || number(&json, "/server/errors")? > 0.0 {
        return Err(format!("ws_probe echo saw errors: {json}"));
    }
    for side in ["client", "server"] {
        figures.push(Figure::new(
            format!("ws: echo of 16 B, 100 bots, {side} CPU per round trip"),
            number(&json, &format!("/{side}/cpu_seconds"))? * 1e6 / round_trips,
            "us",
            Goal::None,
        ));
    }
    Ok(figures)
}
