//! A run cut into lanes: [`IdSlice`], which of the run's global bot ids one loop holds.

use std::fmt;
use std::ops::Range;

/// Which of a run's bot ids one loop holds, when the run is cut into *lanes*: the shards of a
/// run spread over processes or machines (`--shard i/N`), the worker loops of a process, or
/// both. Every bot keeps its global id however the run is cut — the id its factory is given,
/// [`Cx::id`](crate::Cx::id), the address of its messages, the seed of its
/// [`rng`](crate::Cx::rng) — so bot 1234 makes the same choices in a single loop and in lane 3
/// of 8.
///
/// - The first `planned` ids (the bots a run plans from its start, started at once or ramped
///   up) are cut in contiguous blocks, one per lane, as even as can be: lane `k` of `n` holds
///   `planned * k / n .. planned * (k + 1) / n`. Neighbours stay together (a room of players
///   with consecutive ids stays in one lane unless a block boundary cuts it).
/// - Ids after them (bots started while the run goes on, the open model's sessions) go round
///   the lanes: id `planned + j` belongs to lane `j % n`. Lane `k`'s arrivals are then every
///   `n`th arrival of the whole run, which is how an arrival rate is shared.
///
/// The whole run ([`IdSlice::whole`]) is one lane holding every id.
///
/// # Examples
/// ```
/// use ttk_core::IdSlice;
///
/// // 10 planned bots cut in 3 lanes: blocks of 3, 3 and 4; later bots go round.
/// let lane = IdSlice::new(1, 3).unwrap().planned(10);
/// assert_eq!(lane.first_ids(), 3..6);
/// assert_eq!(lane.global(0), 3); // the lane's first bot is the run's bot 3
/// assert_eq!(lane.global(3), 11); // its first later bot: 10 + 1
/// assert_eq!(lane.global(4), 14); // then every third
/// assert_eq!(lane.local(14), Some(4));
/// assert_eq!(lane.local(2), None); // lane 0's
/// assert_eq!(lane.owner(2), 0);
/// assert_eq!(lane.owner(9), 2);
/// assert_eq!(lane.owner(12), 2);
/// assert!(IdSlice::new(3, 3).is_err());
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct IdSlice {
    /// This lane, from 0 (in block order: a shard's workers are consecutive lanes).
    lane: usize,
    /// How many lanes the run is cut in.
    lanes: usize,
    /// How many lanes the run was first cut in (shards), before each was split (in workers):
    /// `lanes / outer` lanes each. Later ids go round the shards first, so a shard's arrivals
    /// do not depend on how many workers it has.
    outer: usize,
    /// The ids cut in blocks.
    planned: usize,
    /// Block boundaries fall on multiples of this (1: anywhere).
    together: usize,
    /// This lane's block, worked out once (every id lookup uses it).
    block_start: usize,
    block_end: usize,
}

impl IdSlice {
    /// The whole run: one lane that holds every id (a bot's global id is its place in the
    /// loop's order of starts).
    ///
    /// # Examples
    /// ```
    /// use ttk_core::IdSlice;
    ///
    /// let whole = IdSlice::whole();
    /// assert!(whole.is_whole());
    /// assert_eq!((whole.global(7), whole.local(7), whole.owner(7)), (7, Some(7), 0));
    /// ```
    pub const fn whole() -> IdSlice {
        IdSlice {
            lane: 0,
            lanes: 1,
            outer: 1,
            planned: 0,
            together: 1,
            block_start: 0,
            block_end: 0,
        }
    }

    /// Lane `lane` of `lanes` (counted from 0), with no planned bots (see
    /// [`IdSlice::planned`]).
    ///
    /// # Errors
    /// If `lanes` is 0 or `lane` is not below it, with a message saying so.
    ///
    /// # Examples
    /// ```
    /// use ttk_core::IdSlice;
    ///
    /// let lane = IdSlice::new(2, 4).unwrap();
    /// assert_eq!((lane.lane(), lane.lanes()), (2, 4));
    /// assert!(IdSlice::new(0, 0).is_err());
    /// assert!(IdSlice::new(4, 4).is_err());
    /// ```
    pub fn new(lane: usize, lanes: usize) -> Result<IdSlice, String> {
        if lanes == 0 {
            return Err("a run is cut in at least one lane".to_owned());
        }
        if lane >= lanes {
            return Err(format!(
                "lane {lane} of {lanes} does not exist: lanes are numbered 0 to {}",
                lanes - 1
            ));
        }
        Ok(IdSlice {
            lane,
            lanes,
            outer: lanes,
            ..IdSlice::whole()
        }
        .fixed())
    }

    /// Lane `part` of this lane cut in `parts` (a shard's workers): its block is its share of
    /// this lane's block, and of the ids after the planned ones it takes every `parts`th of
    /// this lane's, so the lane's ids are the same whatever `parts` is.
    ///
    /// # Errors
    /// If `parts` is 0 or `part` is not below it.
    ///
    /// # Examples
    /// ```
    /// use ttk_core::IdSlice;
    ///
    /// // Shard 1 of 2 of 100 planned bots holds 50..100, and of later ids the odd ones.
    /// let shard = IdSlice::new(1, 2).unwrap().planned(100);
    /// let workers: Vec<IdSlice> = (0..3).map(|w| shard.split(w, 3).unwrap()).collect();
    /// assert_eq!(workers[0].first_ids(), 50..66);
    /// assert_eq!(workers[2].first_ids(), 83..100);
    /// // Later ids: the shard's (odd: 101, 103, 105…) go round its three workers, lanes 3-5.
    /// assert_eq!([101, 103, 105, 107].map(|id| workers[0].owner(id)), [3, 4, 5, 3]);
    /// assert!(workers[1].holds(103) && workers.iter().all(|worker| !worker.holds(102)));
    /// ```
    pub fn split(self, part: usize, parts: usize) -> Result<IdSlice, String> {
        if parts == 0 || part >= parts {
            return Err(format!("part {part} of {parts} does not exist"));
        }
        Ok(IdSlice {
            lane: self.lane * parts + part,
            lanes: self.lanes * parts,
            ..self
        }
        .fixed())
    }

    /// The same lane, with the run's first `bots` ids cut in blocks among the lanes.
    ///
    /// # Examples
    /// ```
    /// use ttk_core::IdSlice;
    ///
    /// // 100 planned bots in 4 lanes: 25 each.
    /// let lane = IdSlice::new(3, 4).unwrap().planned(100);
    /// assert_eq!(lane.first_ids(), 75..100);
    /// ```
    pub fn planned(self, bots: usize) -> IdSlice {
        IdSlice {
            planned: bots,
            ..self
        }
        .fixed()
    }

    /// The same lane, with block boundaries on multiples of `count`: planned bots `k * count`
    /// to `(k + 1) * count - 1` (a room of `count` players) are always in one lane. Blocks are
    /// then as even as whole groups allow.
    ///
    /// # Examples
    /// ```
    /// use ttk_core::IdSlice;
    ///
    /// let cut = |lane| IdSlice::new(lane, 3).unwrap().planned(20).together(4).first_ids();
    /// assert_eq!([cut(0), cut(1), cut(2)], [0..4, 4..12, 12..20]);
    /// ```
    pub fn together(self, count: usize) -> IdSlice {
        IdSlice {
            together: count.max(1),
            ..self
        }
        .fixed()
    }

    /// The slice with its block worked out.
    fn fixed(self) -> IdSlice {
        let block = self.block(self.lane);
        IdSlice {
            block_start: block.start,
            block_end: block.end,
            ..self
        }
    }

    /// This lane, from 0.
    ///
    /// # Examples
    /// ```
    /// use ttk_core::IdSlice;
    ///
    /// assert_eq!(IdSlice::new(1, 3).unwrap().lane(), 1);
    /// assert_eq!(IdSlice::whole().lane(), 0);
    /// ```
    pub const fn lane(&self) -> usize {
        self.lane
    }

    /// How many lanes the run is cut in.
    ///
    /// # Examples
    /// ```
    /// use ttk_core::IdSlice;
    ///
    /// assert_eq!(IdSlice::new(1, 3).unwrap().lanes(), 3);
    /// // Two shards of three workers each: six lanes.
    /// assert_eq!(IdSlice::new(1, 2).unwrap().split(0, 3).unwrap().lanes(), 6);
    /// ```
    pub const fn lanes(&self) -> usize {
        self.lanes
    }

    /// How many of the run's first ids are cut in blocks.
    ///
    /// # Examples
    /// ```
    /// use ttk_core::IdSlice;
    ///
    /// assert_eq!(IdSlice::new(0, 2).unwrap().planned(50).planned_bots(), 50);
    /// assert_eq!(IdSlice::whole().planned_bots(), 0);
    /// ```
    pub const fn planned_bots(&self) -> usize {
        self.planned
    }

    /// How many ids in a group are kept in one lane (see [`IdSlice::together`]).
    ///
    /// # Examples
    /// ```
    /// use ttk_core::IdSlice;
    ///
    /// assert_eq!(IdSlice::whole().kept_together(), 1);
    /// assert_eq!(IdSlice::whole().together(4).kept_together(), 4);
    /// ```
    pub const fn kept_together(&self) -> usize {
        self.together
    }

    /// Which of every `lanes()` ids after the planned ones this lane holds: id
    /// `planned + arrival_lane() + k * lanes()` for `k` = 0, 1, 2…
    ///
    /// # Examples
    /// ```
    /// use ttk_core::IdSlice;
    ///
    /// // Lane 1 of 3, 10 planned bots: of later ids it holds 11, 14, 17…
    /// let lane = IdSlice::new(1, 3).unwrap().planned(10);
    /// assert_eq!(lane.arrival_lane(), 1);
    /// assert_eq!([11, 14, 17].map(|id| lane.holds(id)), [true; 3]);
    /// ```
    pub const fn arrival_lane(&self) -> usize {
        let inner = self.lanes / self.outer;
        let shard = self.lane / inner;
        let part = self.lane % inner;
        shard + self.outer * part
    }

    /// The block lane of arrival lane `arrival` (the inverse of [`IdSlice::arrival_lane`]).
    const fn block_lane(&self, arrival: usize) -> usize {
        let inner = self.lanes / self.outer;
        let shard = arrival % self.outer;
        let part = arrival / self.outer;
        shard * inner + part
    }

    /// The block of planned ids this lane holds.
    ///
    /// # Examples
    /// ```
    /// use ttk_core::IdSlice;
    ///
    /// let lane = |k| IdSlice::new(k, 3).unwrap().planned(9);
    /// let lanes: Vec<_> = (0..3).map(|k| lane(k).first_ids()).collect();
    /// assert_eq!(lanes, [0..3, 3..6, 6..9]);
    /// ```
    pub fn first_ids(&self) -> Range<usize> {
        self.block_start..self.block_end
    }

    /// Lane `lane`'s block of planned ids.
    fn block(&self, lane: usize) -> Range<usize> {
        self.block_start_of(lane)..self.block_start_of(lane + 1)
    }

    /// Where lane `lane`'s block starts (`planned` past the last lane).
    fn block_start_of(&self, lane: usize) -> usize {
        if lane >= self.lanes {
            return self.planned;
        }
        // u128: `planned * lane` may not fit in 64 bits.
        let even = (self.planned as u128 * lane as u128 / self.lanes as u128) as usize;
        even - even % self.together
    }

    /// The global id of this lane's `local`th bot (in the order the lane starts them).
    ///
    /// # Panics
    /// If the id does not fit in a `usize`.
    ///
    /// # Examples
    /// ```
    /// use ttk_core::IdSlice;
    ///
    /// // Lane 0 of 2, 4 planned: its bots are 0, 1, then every other later id from 4.
    /// let lane = IdSlice::new(0, 2).unwrap().planned(4);
    /// assert_eq!((0..5).map(|local| lane.global(local)).collect::<Vec<_>>(), [0, 1, 4, 6, 8]);
    /// ```
    #[inline]
    pub fn global(&self, local: usize) -> usize {
        let block_len = self.block_end - self.block_start;
        if local < block_len {
            return self.block_start + local;
        }
        let round = local - block_len;
        round
            .checked_mul(self.lanes)
            .and_then(|offset| offset.checked_add(self.planned + self.arrival_lane()))
            .expect("a bot id fits in a usize")
    }

    /// The place in this lane's order of starts of global id `global`, if this lane holds it.
    ///
    /// # Examples
    /// ```
    /// use ttk_core::IdSlice;
    ///
    /// let lane = IdSlice::new(0, 2).unwrap().planned(4);
    /// assert_eq!(lane.local(6), Some(3));
    /// assert_eq!(lane.local(2), None); // lane 1's
    /// ```
    #[inline]
    pub fn local(&self, global: usize) -> Option<usize> {
        if global < self.planned {
            return (self.block_start..self.block_end)
                .contains(&global)
                .then(|| global - self.block_start);
        }
        let after = global - self.planned;
        (after % self.lanes == self.arrival_lane())
            .then(|| self.block_end - self.block_start + after / self.lanes)
    }

    /// The lane that holds global id `global`.
    ///
    /// # Examples
    /// ```
    /// use ttk_core::IdSlice;
    ///
    /// let lane = IdSlice::new(0, 2).unwrap().planned(4);
    /// assert_eq!([0, 2, 4, 5].map(|id| lane.owner(id)), [0, 1, 0, 1]);
    /// ```
    pub fn owner(&self, global: usize) -> usize {
        if global >= self.planned {
            return self.block_lane((global - self.planned) % self.lanes);
        }
        if (self.block_start..self.block_end).contains(&global) {
            return self.lane;
        }
        // The first lane whose block ends past the id (blocks are in order; some may be
        // empty).
        let (mut low, mut high) = (0, self.lanes - 1);
        while low < high {
            let middle = low + (high - low) / 2;
            if self.block_start_of(middle + 1) <= global {
                low = middle + 1;
            } else {
                high = middle;
            }
        }
        low
    }

    /// Whether this lane holds global id `global`.
    ///
    /// # Examples
    /// ```
    /// use ttk_core::IdSlice;
    ///
    /// let lane = IdSlice::new(1, 2).unwrap().planned(4);
    /// assert!(lane.holds(3) && lane.holds(5));
    /// assert!(!lane.holds(0) && !lane.holds(4));
    /// ```
    #[inline]
    pub fn holds(&self, global: usize) -> bool {
        self.local(global).is_some()
    }

    /// Whether this slice is the whole run.
    ///
    /// # Examples
    /// ```
    /// use ttk_core::IdSlice;
    ///
    /// assert!(IdSlice::whole().is_whole());
    /// assert!(!IdSlice::new(0, 2).unwrap().is_whole());
    /// ```
    #[inline]
    pub fn is_whole(&self) -> bool {
        self.lanes == 1
    }
}

impl Default for IdSlice {
    fn default() -> Self {
        IdSlice::whole()
    }
}

impl fmt::Debug for IdSlice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "IdSlice(lane {} of {} ({} outer), {} planned, together {})",
            self.lane, self.lanes, self.outer, self.planned, self.together
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every id below `ids` belongs to exactly one lane, which maps it back and forth.
    fn check_partition(planned: usize, lanes: usize, together: usize, ids: usize) {
        let slices: Vec<IdSlice> = (0..lanes)
            .map(|lane| {
                IdSlice::new(lane, lanes)
                    .unwrap()
                    .planned(planned)
                    .together(together)
            })
            .collect();
        let mut next_local = vec![0usize; lanes];
        for global in 0..ids {
            let holders: Vec<usize> = (0..lanes).filter(|&k| slices[k].holds(global)).collect();
            assert_eq!(
                holders.len(),
                1,
                "id {global} of {planned}/{lanes}: {holders:?}"
            );
            let lane = holders[0];
            assert_eq!(slices[0].owner(global), lane, "owner of {global}");
            let local = slices[lane].local(global).unwrap();
            assert_eq!(slices[lane].global(local), global);
            if global < planned {
                // Blocks: a lane's planned ids come in order, without gaps.
                assert_eq!(local, next_local[lane]);
                next_local[lane] += 1;
            }
        }
    }

    #[test]
    fn lanes_partition_the_ids() {
        for (planned, lanes) in [(0, 1), (10, 1), (10, 3), (3, 4), (0, 4), (1000, 7), (7, 7)] {
            check_partition(planned, lanes, 1, planned + 50);
        }
    }

    #[test]
    fn groups_kept_together_are_never_cut() {
        for (planned, lanes, together) in [(20, 3, 4), (1000, 7, 10), (5, 4, 8), (100, 2, 3)] {
            check_partition(planned, lanes, together, planned + 30);
            for group in 0..planned / together {
                let first = group * together;
                let owner = IdSlice::new(0, lanes)
                    .unwrap()
                    .planned(planned)
                    .together(together);
                let lane = owner.owner(first);
                assert!((first..first + together).all(|id| owner.owner(id) == lane));
            }
        }
    }

    #[test]
    fn shards_hold_the_same_ids_whatever_their_workers() {
        let (planned, shards) = (1_000, 3);
        for workers in [1, 2, 5] {
            let lanes: Vec<IdSlice> = (0..shards)
                .flat_map(|shard| {
                    let slice = IdSlice::new(shard, shards)
                        .unwrap()
                        .planned(planned)
                        .together(4);
                    (0..workers).map(move |worker| slice.split(worker, workers).unwrap())
                })
                .collect();
            for global in 0..planned + 200 {
                let holders: Vec<usize> = (0..lanes.len())
                    .filter(|&lane| lanes[lane].holds(global))
                    .collect();
                assert_eq!(holders.len(), 1, "{global} with {workers} workers");
                let lane = holders[0];
                assert_eq!(lanes[0].owner(global), lane);
                assert_eq!(
                    lanes[lane].global(lanes[lane].local(global).unwrap()),
                    global
                );
                // The shard is the one that holds it unsplit.
                let unsplit = IdSlice::new(lane / workers, shards)
                    .unwrap()
                    .planned(planned)
                    .together(4);
                assert!(
                    unsplit.holds(global),
                    "{global}: shard {} with {workers} workers",
                    lane / workers
                );
            }
        }
    }

    #[test]
    fn the_whole_run_maps_ids_to_themselves() {
        let whole = IdSlice::whole().planned(5);
        for id in 0..20 {
            assert_eq!(whole.global(id), id);
            assert_eq!(whole.local(id), Some(id));
            assert_eq!(whole.owner(id), 0);
        }
    }

    #[test]
    fn huge_runs_do_not_overflow() {
        let slice = IdSlice::new(5, 6).unwrap().planned(usize::MAX / 2);
        let block = slice.first_ids();
        assert_eq!(block.end, usize::MAX / 2);
        assert_eq!(slice.owner(block.start), 5);
        assert_eq!(slice.owner(block.start - 1), 4);
    }
}
