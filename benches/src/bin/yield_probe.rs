//! Yield cost, measured interleaved in one process so a noisy neighbour hits every workload
//! alike; `cargo xtask bench` runs it. Each mode prints one JSON line.
//!
//! - `yield_probe interleaved ROUNDS`: after one untimed warm-up round, ROUNDS rounds each run
//!   the tight floor and ttk once, and every third round (the first included) tokio's
//!   current-thread `yield_now` too (100,000 bots × 100 yields each); prints the median, min
//!   and max of each one's time per switch and of the per-round ratios ttk / floor and
//!   tokio / ttk. The floor and ttk always run back to back (tokio's run, ten times longer,
//!   never comes between the two halves of the gated ratio) and each goes first every other
//!   round; tokio goes after the pair or before it in turn; see `Workload::order`. tokio's run
//!   is most of a round's time, and its ratio, twenty-odd times its target, needs fewer rounds
//!   than ttk / floor, whose median must hold still near its target.
//! - `yield_probe once ttk|floor BOTS YIELDS`: runs one workload once and prints its switches
//!   (for counting instructions under callgrind or `perf stat`).

use std::hint::black_box;
use std::time::Instant;

use ttk_benches::{Stats, YIELD_BOTS, YIELDS_PER_BOT, ratios, tight_round_robin, yielder};

/// tokio runs in one round of this many.
const TOKIO_EVERY: usize = 3;

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
    /// round (so a drift over the run weighs on both halves of the ratio alike); in every
    /// [`TOKIO_EVERY`]th round tokio too, after the pair and before it in turn.
    fn order(round: usize) -> Vec<Workload> {
        let pair = match round % 2 {
            0 => [Workload::Floor, Workload::Ttk],
            _ => [Workload::Ttk, Workload::Floor],
        };
        let mut order = pair.to_vec();
        if round.is_multiple_of(TOKIO_EVERY) {
            match (round / TOKIO_EVERY) % 2 {
                0 => order.push(Workload::Tokio),
                _ => order.insert(0, Workload::Tokio),
            }
        }
        order
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
    let mut tokio_ns = Vec::new();
    // tokio / ttk of the rounds tokio ran in, each against that round's ttk.
    let mut tokio_over_ttk = Vec::new();
    for round in 0..rounds {
        let mut tokio_this_round = None;
        for workload in Workload::order(round) {
            let ns = workload.ns_per_switch(tokio);
            match workload {
                Workload::Floor => floor.push(ns),
                Workload::Ttk => ttk.push(ns),
                Workload::Tokio => tokio_this_round = Some(ns),
            }
        }
        if let (Some(tokio_now), Some(&ttk_now)) = (tokio_this_round, ttk.last()) {
            tokio_ns.push(tokio_now);
            tokio_over_ttk.push(tokio_now / ttk_now);
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
        Stats::of(&tokio_over_ttk),
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

    /// Where `workload` runs in `order`, if it does.
    fn place(order: &[Workload], workload: Workload) -> Option<usize> {
        order
            .iter()
            .position(|&w| std::mem::discriminant(&w) == std::mem::discriminant(&workload))
    }

    #[test]
    fn the_floor_and_ttk_run_back_to_back_each_first_as_often() {
        let rounds = 4 * TOKIO_EVERY;
        let mut floor_first = 0;
        let mut tokio_places = Vec::new();
        for round in 0..rounds {
            let order = Workload::order(round);
            let floor = place(&order, Workload::Floor).expect("the floor runs every round");
            let ttk = place(&order, Workload::Ttk).expect("ttk runs every round");
            assert_eq!(floor.abs_diff(ttk), 1, "round {round}: {order:?}");
            floor_first += usize::from(floor < ttk);
            tokio_places.extend(place(&order, Workload::Tokio));
        }
        assert_eq!(floor_first, rounds / 2);
        assert_eq!(
            tokio_places,
            [2, 0, 2, 0],
            "tokio after the pair, then before it"
        );
    }
}
