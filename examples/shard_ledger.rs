//! A deterministic load test, for checking that a run cut in shards adds up to the whole run.
//!
//! Each bot runs `--iterations` (default 20) rounds on a virtual clock: a `deal` transaction
//! that takes 1–50 ms of virtual time, drawn from the bot's random generator, and an `audit`
//! that fails one time in twenty; it counts the coins it dealt. The bots' choices depend only
//! on the seed and their ids, so the same run cut in any number of shards — with
//! `--shard I/N`, `--processes N`, or on a Slurm cluster — merges into exactly the counts and
//! histograms of the run in one process:
//!
//! ```text
//! cargo run --example shard_ledger -- --bots 1000 --json whole.json
//! for i in 0 1 2 3; do cargo run --example shard_ledger -- --bots 1000 --shard $i/4 --run-id ledger-1 --json shard-$i.json; done
//! cargo run --example shard_ledger -- merge shard-*.json --json merged.json
//! ```

use std::process::ExitCode;
use std::time::Duration;

use ttk::cli::{LoadTest, Session};
use ttk::{Cx, Runtime};

/// One bot's rounds.
#[ttk::bot]
fn dealer(cx: Cx, session: Session) {
    let rng = cx.rng();
    for _ in session.iterations() {
        let took = Duration::from_micros(rng.range(1_000..50_001));
        let _: () = ttk::yield_!(cx.time("deal", ttk::sleep(took)));
        cx.count("coins", rng.range(1..101));
        let audit = cx.transaction("audit");
        ttk::yield_!(ttk::sleep(Duration::from_millis(2)));
        if rng.chance(0.05) {
            audit.fail("the books do not balance");
        } else {
            audit.ok();
        }
    }
}

fn main() -> ExitCode {
    let mut test = LoadTest::from_env("shard_ledger");
    test.args_mut().iterations.get_or_insert(20);
    test.run_parallel_with(Runtime::new().virtual_time(true), dealer)
        .exit_code()
}
