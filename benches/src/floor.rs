//! The tight floor of round-robin scheduling: what a switch costs with nothing but a ready queue
//! and a small state stepped in place.

use std::collections::VecDeque;

/// One hand-written bot: 16 bytes, stepped in place in a `Vec`.
#[derive(Clone, Copy)]
struct State {
    /// Yields still to make.
    left: u32,
    /// The bot's index.
    id: u32,
    /// Work done so far (the id added once per yield), so each step writes real state.
    acc: u64,
}

impl State {
    /// Runs the bot to its next yield: true if it yielded (queue it again), false if it is done.
    #[inline(always)]
    fn step(&mut self) -> bool {
        if self.left == 0 {
            return false;
        }
        self.left -= 1;
        self.acc += u64::from(self.id);
        true
    }
}

/// The tight floor of round-robin scheduling: `bots` hand-written bots of 16 bytes each
/// (countdown, id, accumulator), stepped in place in a `Vec`, with a `VecDeque<u32>` of indices
/// as the ready queue. Each switch pops a bot, steps it, and pushes it back: nothing else, and
/// nothing in the loop stops the compiler from keeping it tight (no `black_box` per step).
///
/// Returns the sum of the bots' accumulators, `yields × (0 + 1 + … + bots-1)`, which depends
/// on every step; callers `black_box` it.
///
/// # Examples
/// ```
/// // 10 bots × 3 yields: 3 × (0 + 1 + … + 9).
/// assert_eq!(ttk_benches::tight_round_robin(10, 3), 135);
/// ```
pub fn tight_round_robin(bots: usize, yields: u32) -> u64 {
    let bots = u32::try_from(bots).expect("bot indices fit in u32");
    let mut states: Vec<State> = (0..bots)
        .map(|id| State {
            left: yields,
            id,
            acc: 0,
        })
        .collect();
    let mut ready: VecDeque<u32> = (0..bots).collect();
    while let Some(bot) = ready.pop_front() {
        if states[bot as usize].step() {
            ready.push_back(bot);
        }
    }
    states.iter().map(|state| state.acc).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_is_16_bytes() {
        assert_eq!(size_of::<State>(), 16);
    }

    #[test]
    fn no_bots_no_work() {
        assert_eq!(tight_round_robin(0, 5), 0);
        assert_eq!(tight_round_robin(5, 0), 0);
    }
}
