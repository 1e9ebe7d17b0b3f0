//! Yield cost, measured interleaved in one process so a noisy neighbour hits every workload
//! alike; `cargo xtask bench` runs it. Each mode prints one JSON line.
//!
//! - `yield_probe interleaved ROUNDS`: after one untimed warm-up round, ROUNDS rounds each run
//!   the tight floor, ttk and tokio's current-thread `yield_now` once (100,000 bots × 100
//!   yields); prints the median, min and max of each one's time per switch and of the per-round
//!   ratios ttk / floor and tokio / ttk. The floor and ttk always run back to back (tokio's
//!   run, ten times longer, never comes between the two halves of the gated ratio), which of
//!   them goes first alternates, and tokio goes before the pair or after it in turn; see
//!   `Workload::order`.
//! - `yield_probe once ttk|floor BOTS YIELDS`: runs one workload once and prints its switches
//!   (for counting instructions under callgrind or `perf stat`).

use std::hint::black_box;
use std::time::Instant;

use ttk_benches::{Stats, YIELD_BOTS, YIELDS_PER_BOT, ratios, tight_round_robin, yielder};

/// The workloads compared.
#[derive(Clone, Copy, Debug)]
enum Workload {
    /// The tight floor: a ready queue and 16-byte states stepped in place.
    Floor,
    /// ttk bots that yield.
    Ttk,
    /// tokio tasks on a current-thread runtime that `yield_now`.
    Tokio,
}

impl Workload {
    /// Every workload, in the order of the first round.
    const ALL: [Workload; 3] = [Workload::Floor, Workload::Ttk, Workload::Tokio];

    /// The order of round `round`: the floor and ttk side by side, each first every other
    /// round; tokio after the pair in rounds 0 and 1 of every four, before it in rounds 2 and 3
    /// (so each of the four orders comes as often, and a drift over the run weighs on both
    /// halves of each ratio alike).
    fn order(round: usize) -> [Workload; 3] {
        let pair = match round % 2 {
            0 => [Workload::Floor, Workload::Ttk],
            _ => [Workload::Ttk, Workload::Floor],
        };
        match (round / 2) % 2 {
            0 => [pair[0], pair[1], Workload::Tokio],
            _ => [Workload::Tokio, pair[0], pair[1]],
        }
    }

    /// Runs `bots` bots of `yields` yields each once.
    fn run(self, tokio: &tokio::runtime::Runtime, bots: usize, yields: u32) {
        match self {
            Workload::Floor => {
                black_box(tight_round_robin(bots, yields));
            }
            Workload::Ttk => {
                black_box(ttk::run(bots, |cx, id| yielder(cx, id, yields)));
            }
            Workload::Tokio => tokio.block_on(async {
                let tasks: Vec<_> = (0..bots)
                    .map(|id| {
                        tokio::spawn(async move {
                            for _ in 0..yields {
                                tokio::task::yield_now().await;
                            }
                            id
                        })
                    })
                    .collect();
                for task in tasks {
                    black_box(task.await.expect("a yielding task does not fail"));
                }
            }),
        }
    }

    /// Nanoseconds per switch of one run of the full workload (setup and tear-down included,
    /// spread over the switches as in the criterion bench).
    fn ns_per_switch(self, tokio: &tokio::runtime::Runtime) -> f64 {
        let start = Instant::now();
        self.run(tokio, YIELD_BOTS, YIELDS_PER_BOT);
        let elapsed = start.elapsed();
        elapsed.as_nanos() as f64 / (YIELD_BOTS as f64 * f64::from(YIELDS_PER_BOT))
    }
}

/// The interleaved comparison: see the module docs.
fn interleaved(rounds: usize, tokio: &tokio::runtime::Runtime) {
    for workload in Workload::ALL {
        workload.run(tokio, YIELD_BOTS, YIELDS_PER_BOT);
    }
    let mut floor = Vec::with_capacity(rounds);
    let mut ttk = Vec::with_capacity(rounds);
    let mut tokio_ns = Vec::with_capacity(rounds);
    for round in 0..rounds {
        for workload in Workload::order(round) {
            let ns = workload.ns_per_switch(tokio);
            match workload {
                Workload::Floor => floor.push(ns),
                Workload::Ttk => ttk.push(ns),
                Workload::Tokio => tokio_ns.push(ns),
            }
        }
    }
    println!(
        "{{\"bots\": {YIELD_BOTS}, \"yields_per_bot\": {YIELDS_PER_BOT}, \"rounds\": {rounds}, \
         \"floor_ns_per_switch\": {}, \"ttk_ns_per_switch\": {}, \"tokio_ns_per_switch\": {}, \
         \"ttk_over_floor\": {}, \"tokio_over_ttk\": {}}}",
        Stats::of(&floor),
        Stats::of(&ttk),
        Stats::of(&tokio_ns),
        Stats::of(&ratios(&ttk, &floor)),
        Stats::of(&ratios(&tokio_ns, &ttk)),
    );
}

/// Prints the usage and exits with status 2.
fn usage() -> ! {
    eprintln!("usage: yield_probe interleaved ROUNDS | yield_probe once ttk|floor BOTS YIELDS");
    std::process::exit(2);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let tokio = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a current-thread tokio runtime");
    match args[..] {
        ["interleaved", rounds] => {
            let rounds: usize = rounds.parse().unwrap_or_else(|_| usage());
            if rounds == 0 {
                usage();
            }
            interleaved(rounds, &tokio);
        }
        ["once", workload, bots, yields] => {
            let workload = match workload {
                "ttk" => Workload::Ttk,
                "floor" => Workload::Floor,
                _ => usage(),
            };
            let bots: usize = bots.parse().unwrap_or_else(|_| usage());
            let yields: u32 = yields.parse().unwrap_or_else(|_| usage());
            workload.run(&tokio, bots, yields);
            println!(
                "{{\"workload\": \"{workload:?}\", \"bots\": {bots}, \"yields_per_bot\": {yields}, \"switches\": {}}}",
                bots as u64 * u64::from(yields)
            );
        }
        _ => usage(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Where `workload` runs in `order`.
    fn place(order: [Workload; 3], workload: Workload) -> usize {
        order
            .iter()
            .position(|&w| std::mem::discriminant(&w) == std::mem::discriminant(&workload))
            .expect("every workload runs every round")
    }

    #[test]
    fn the_floor_and_ttk_run_back_to_back_each_first_as_often() {
        let mut floor_first = 0;
        for round in 0..8 {
            let order = Workload::order(round);
            let (floor, ttk) = (place(order, Workload::Floor), place(order, Workload::Ttk));
            assert_eq!(floor.abs_diff(ttk), 1, "round {round}: {order:?}");
            floor_first += usize::from(floor < ttk);
            assert!(
                place(order, Workload::Tokio) != 1,
                "round {round}: {order:?}"
            );
        }
        assert_eq!(floor_first, 4);
        assert_eq!(
            (0..8)
                .filter(|&round| place(Workload::order(round), Workload::Tokio) == 0)
                .count(),
            4,
            "tokio before the pair half the time"
        );
    }
}
