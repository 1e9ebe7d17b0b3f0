//! Project chores, run as `cargo xtask <task>` (an alias in `.cargo/config.toml`).
//!
//! - `cargo xtask bench [criterion args...]`: runs the criterion benches and the probes (yield
//!   time and instructions, memory, sessions, network, WebSocket memory), then `cargo xtask
//!   peers` with its defaults, prints a table of the figures against their targets and writes
//!   `target/ttk-bench/summary.json`. Exits with status 1 if any figure missed its target or
//!   could not be measured (the table and summary say which), 2 on a usage error. `TTK_BENCH_LOAD_SECONDS` shortens the minute the timeouts-under-load probe
//!   runs, for a quick local check (the figures' names then say so).
//! - `cargo xtask day`: only the day-long run of `cargo xtask bench` (24 hours of 30
//!   transactions on a virtual clock, `day_probe`): what the collector keeps and the JSON's size
//!   against their targets. Exits with status 1 if one is missed.
//! - `cargo xtask slurm`: runs a ttk load test sharded over a real Slurm cluster it starts on
//!   this machine (installing Debian's Slurm packages if they are missing): a job array of 4
//!   shards through `deploy/slurm/`, merged by a dependent job, compared with the same workload
//!   run as one process. Prints the comparison; exits with status 1 on any difference or
//!   failure. Leaves no daemon running.
//! - `cargo xtask hold [--connections N] [--processes P] …`: holds N concurrent TCP connections
//!   (default 100,000) from P client processes of the `hold` example to `hold_target`, samples
//!   `/proc` (memory, slab, sockets) each second, prints the figures and writes
//!   `target/ttk-bench/hold.json`; exits with status 1 unless every connection was held at once
//!   with no failure.
//! - `cargo xtask hold-http [--connections N] [--processes P] [--rate R] [--duration S]`: the
//!   `ttk` command holding N keep-alive HTTP connections (default 50,000, from 4 processes) to
//!   one nginx, watched through nginx's `stub_status`; writes `target/ttk-bench/hold-http.json`;
//!   exits with status 1 unless nginx saw them all open at once, no request failed, and ttk's
//!   successes equal nginx's access log.
//! - `cargo xtask netem`: ttk's emulated delay against the kernel's netem, in a VM booted on
//!   Debian's kernel (this machine's has no netem): the p50 and p99 of `delay=20ms±5ms` and
//!   netem's `delay 20ms 5ms` within 1 ms of each other (see `netem.rs`). Exits with status 1
//!   if they are not, or the VM could not run the test.
//! - `cargo xtask enet`: only the ENet rows of `cargo xtask bench`: 10,000 players on one loop
//!   against ENet hosts on the C library.
//! - `cargo xtask quic`: only the QUIC rows of `cargo xtask bench`: handshakes per client
//!   CPU-second (full and resumed) against aioquic's server, and 1,000 idle connections held.
//! - `cargo xtask conditions`: only the network conditions rows of `cargo xtask bench`:
//!   `udp_storm` plain and with `--net delay=1ms` (CPU per datagram, at most 10 % more).
//!   Exits with status 1 if the target is missed.
//! - `cargo xtask live`: only the live rows of `cargo xtask bench`: `ttk http -c 100` plain and
//!   with its dashboard open and scraped every second, in interleaved rounds (CPU per request,
//!   at most 2 % more watched; `TTK_BENCH_LIVE_ROUNDS` sets the rounds). Exits with status 1
//!   if the target is missed.
//! - `cargo xtask live-soak [--duration 60m|1h] [--rate 1000]`: a watched `ttk http` run held
//!   for an hour, its resident memory sampled every ten seconds; writes
//!   `target/ttk-bench/live-soak.json`; exits with status 1 unless memory stayed flat (the
//!   second half's peak within 5 % of the first half's), no request failed and every second
//!   was scraped.
//! - `cargo xtask peers [--duration 5s] [--rounds 3] [--connections 100,1000] [--only
//!   plain|tls|h2] [--idle-bots 10000]`: `ttk http` side by side with wrk, hey and oha against one
//!   pinned nginx on loopback, then over TLS beside wrk and `openssl s_time`, memory per idle
//!   TLS bot, and HTTP/2 (h2c and TLS) beside h2load (see `peers.rs`); prints tables, writes `target/ttk-bench/peers.json`; exits
//!   with status 1 if ttk could not be built or run, a client failed, or ttk missed a target.
//!   Clients this machine lacks are skipped and said so.
//! - `cargo xtask fuzz [--cases N] [--only NAME] [--debug]`: the property tests of every parser
//!   of untrusted input (HTTP responses, WebSocket frames, histograms, report files, thresholds,
//!   load specs, the command line) with N cases per property (default 1,000,000) in an
//!   optimized build; writes `target/ttk-fuzz/summary.json`; exits with status 1 if a property
//!   failed (its minimal case is printed), 2 on a usage error.

mod bench;
mod cargo;
mod conditions;
mod criterion;
mod day;
mod debian;
mod enet;
mod fuzz;
mod hold;
mod hold_figures;
mod hold_http;
mod instructions;
mod live;
mod metrics;
mod net;
mod netem;
mod noise;
mod peers;
mod probe;
mod procfs;
mod quic;
mod report;
mod rooms;
mod sampler;
mod sessions;
mod slurm;
mod sysctl;
mod ticks;
mod timeouts;
mod workers;
mod ws;
mod yields;

use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let task = args.next();
    let rest: Vec<String> = args.collect();
    let outcome = match task.as_deref() {
        Some("bench") => bench::run(&rest),
        Some("slurm") if rest.is_empty() => slurm::run(),
        Some("day") if rest.is_empty() => day::run(),
        Some("peers") => match peers::Plan::parse(&rest) {
            Ok(plan) => peers::run(&plan),
            Err(error) => {
                eprintln!("xtask peers: {error}\nusage: {}", peers::USAGE);
                return ExitCode::from(2);
            }
        },
        Some("fuzz") => match fuzz::Plan::parse(&rest) {
            Ok(plan) => fuzz::run(&plan),
            Err(error) => {
                eprintln!("xtask fuzz: {error}\nusage: {}", fuzz::USAGE);
                return ExitCode::from(2);
            }
        },
        Some("hold") => match hold::Plan::parse(&rest) {
            Ok(plan) => hold::run(&plan),
            Err(error) => {
                eprintln!("xtask hold: {error}\nusage: {}", hold::USAGE);
                return ExitCode::from(2);
            }
        },
        Some("live") if rest.is_empty() => live::run(),
        Some("conditions") if rest.is_empty() => conditions::run(),
        Some("enet") if rest.is_empty() => enet::run(),
        Some("netem") if rest.is_empty() => netem::run(),
        Some("quic") if rest.is_empty() => quic::run(),
        Some("live-soak") => match live::SoakPlan::parse(&rest) {
            Ok(plan) => live::soak(&plan),
            Err(error) => {
                eprintln!("xtask live-soak: {error}\nusage: {}", live::SOAK_USAGE);
                return ExitCode::from(2);
            }
        },
        Some("hold-http") => match hold_http::Plan::parse(&rest) {
            Ok(plan) => hold_http::run(&plan),
            Err(error) => {
                eprintln!("xtask hold-http: {error}\nusage: {}", hold_http::USAGE);
                return ExitCode::from(2);
            }
        },
        _ => {
            eprintln!("usage: cargo xtask bench [criterion args, e.g. --quick]");
            eprintln!("       cargo xtask slurm");
            eprintln!("       cargo xtask day");
            eprintln!("       {}", hold::USAGE);
            eprintln!("       {}", hold_http::USAGE);
            eprintln!("       cargo xtask live");
            eprintln!("       cargo xtask conditions");
            eprintln!("       cargo xtask enet");
            eprintln!("       cargo xtask netem");
            eprintln!("       cargo xtask quic");
            eprintln!("       {}", live::SOAK_USAGE);
            eprintln!("       {}", peers::USAGE);
            eprintln!("       {}", fuzz::USAGE);
            return ExitCode::from(2);
        }
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("xtask: {error}");
            ExitCode::FAILURE
        }
    }
}
