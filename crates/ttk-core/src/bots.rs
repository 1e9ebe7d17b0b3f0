//! The bot table: which bot (by id) holds which place (index) of a loop.
//!
//! A bot's id is unique for the whole run; its index is its place in the loop's storage, reused
//! once it exits, so memory follows the bots alive, not every bot that ever lived. The first
//! bots of a run have id = index, and as long as no place is reused the two stay equal and no
//! mapping is kept at all; from the first reuse on, each place records its bot's id (8 bytes a
//! place) and a map finds the place of the bots whose id is not their index.
//!
//! These are the loop's *local* ids (its bots in start order); a run cut in lanes (workers,
//! shards) maps them to the run's global ids through the loop's [`IdSlice`], and every id this
//! table hands out or takes is global.

use crate::fast_hash::FastMap;
use crate::ids::IdSlice;

/// Where the bots of a loop are.
#[derive(Debug, Default)]
pub(crate) struct BotTable {
    /// Places allocated so far (indices are below it).
    capacity: u32,
    /// One bit per index: a live bot is there.
    occupied: Vec<u64>,
    /// Bots alive.
    live: usize,
    /// Places freed, reused last-freed first.
    free: Vec<u32>,
    /// The next id to hand out.
    next_id: usize,
    /// The first id not yet placed (ids handed out by `reserve` wait for a place).
    next_placed: usize,
    /// Each place's bot id; empty while every bot's id is its index.
    id_of_place: Vec<usize>,
    /// The places of the live bots whose id is not their index.
    moved_index_of: FastMap<usize, u32>,
    /// Which of the run's global ids this loop holds.
    ids: IdSlice,
}

impl BotTable {
    /// A table for the bots of `ids`'s lane.
    pub(crate) fn new(ids: IdSlice) -> BotTable {
        BotTable {
            ids,
            ..BotTable::default()
        }
    }

    /// Which of the run's global ids this loop holds.
    pub(crate) fn ids(&self) -> IdSlice {
        self.ids
    }

    /// Hands out `count` new local ids; they get places at the next
    /// [`BotTable::place_next`] calls.
    pub(crate) fn reserve(&mut self, count: usize) -> std::ops::Range<usize> {
        let start = self.next_id;
        self.next_id += count;
        start..self.next_id
    }

    /// Whether reserved ids wait for a place.
    pub(crate) fn has_unplaced(&self) -> bool {
        self.next_placed < self.next_id
    }

    /// Places the next reserved id: returns its (index, global id), reusing a freed index if
    /// any.
    ///
    /// # Panics
    /// If the loop would hold more than `u32::MAX - 1` bots at once.
    pub(crate) fn place_next(&mut self) -> Option<(u32, usize)> {
        if !self.has_unplaced() {
            return None;
        }
        let id = self.next_placed;
        self.next_placed += 1;
        let index = match self.free.pop() {
            Some(index) => index,
            None => {
                assert!(
                    self.capacity < u32::MAX - 1,
                    "a loop holds at most {} bots at once",
                    u32::MAX - 1
                );
                self.capacity += 1;
                if self.occupied.len() * 64 < self.capacity as usize {
                    self.occupied.push(0);
                }
                self.capacity - 1
            }
        };
        if id != index as usize && self.id_of_place.is_empty() {
            self.id_of_place = (0..self.capacity as usize).collect();
        }
        if !self.id_of_place.is_empty() {
            if self.id_of_place.len() <= index as usize {
                self.id_of_place.resize(index as usize + 1, 0);
            }
            self.id_of_place[index as usize] = id;
            if id != index as usize {
                self.moved_index_of.insert(id, index);
            }
        }
        self.occupied[index as usize / 64] |= 1 << (index % 64);
        self.live += 1;
        Some((index, self.ids.global(id)))
    }

    /// Frees bot `index`'s place for reuse; returns its id.
    pub(crate) fn remove(&mut self, index: u32) -> usize {
        let id = self.retire(index);
        self.free.push(index);
        id
    }

    /// Ends bot `index` without freeing its place (it keeps the bot's outcome); returns its id.
    pub(crate) fn retire(&mut self, index: u32) -> usize {
        let id = self.local_id_of(index);
        if id != index as usize {
            self.moved_index_of.remove(&id);
        }
        self.occupied[index as usize / 64] &= !(1 << (index % 64));
        self.live -= 1;
        self.ids.global(id)
    }

    /// The global id of the bot at `index` (meaningful while it is live).
    #[inline]
    pub(crate) fn id_of(&self, index: u32) -> usize {
        let local = self.local_id_of(index);
        match self.ids.is_whole() {
            true => local,
            false => self.ids.global(local),
        }
    }

    /// The local id of the bot at `index`.
    #[inline]
    fn local_id_of(&self, index: u32) -> usize {
        match self.id_of_place.get(index as usize) {
            Some(&id) => id,
            None => index as usize,
        }
    }

    /// The index of live bot `id` (global), or `None` if no live bot of this loop has that id.
    pub(crate) fn index_of(&self, id: usize) -> Option<u32> {
        let id = match self.ids.is_whole() {
            true => id,
            false => self.ids.local(id)?,
        };
        let index = match self.moved_index_of.get(&id) {
            Some(&index) => index,
            None => {
                let index = u32::try_from(id).ok()?;
                if self.local_id_of(index) != id {
                    return None;
                }
                index
            }
        };
        self.is_live(index).then_some(index)
    }

    /// Whether a live bot is at `index`.
    pub(crate) fn is_live(&self, index: u32) -> bool {
        self.occupied
            .get(index as usize / 64)
            .is_some_and(|word| word & (1 << (index % 64)) != 0)
    }

    /// The indices of live bots, in index order.
    pub(crate) fn live_indices(&self) -> impl Iterator<Item = u32> + '_ {
        (0..self.capacity).filter(|&index| self.is_live(index))
    }

    /// Bots alive.
    pub(crate) fn live(&self) -> usize {
        self.live
    }

    /// Places allocated (every index is below it).
    pub(crate) fn capacity(&self) -> u32 {
        self.capacity
    }

    /// Ids handed out so far (the number of bots the loop has started or will start).
    pub(crate) fn ids_reserved(&self) -> usize {
        self.next_id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_stay_unique_while_places_are_reused() {
        let mut table = BotTable::default();
        table.reserve(3);
        let placed: Vec<_> = std::iter::from_fn(|| table.place_next()).collect();
        assert_eq!(placed, [(0, 0), (1, 1), (2, 2)]);
        assert_eq!(table.remove(1), 1);
        assert_eq!(table.index_of(1), None);
        assert_eq!(table.reserve(2), 3..5);
        assert_eq!(table.place_next(), Some((1, 3)));
        assert_eq!(table.place_next(), Some((3, 4)));
        assert_eq!(table.id_of(1), 3);
        assert_eq!(table.index_of(3), Some(1));
        assert_eq!(
            table.index_of(1),
            None,
            "id 1 is gone though index 1 is live"
        );
        assert_eq!(table.live_indices().collect::<Vec<_>>(), [0, 1, 2, 3]);
        assert_eq!(table.remove(1), 3);
        assert_eq!(table.index_of(3), None);
        assert_eq!(table.live(), 3);
    }

    #[test]
    fn a_lane_hands_out_and_finds_global_ids() {
        // Lane 1 of 2 of a run of 4 planned bots: its block is 2..4, then 5, 7, 9…
        let mut table = BotTable::new(IdSlice::new(1, 2).unwrap().planned(4));
        table.reserve(4);
        let placed: Vec<_> = std::iter::from_fn(|| table.place_next()).collect();
        assert_eq!(placed, [(0, 2), (1, 3), (2, 5), (3, 7)]);
        assert_eq!(table.index_of(5), Some(2));
        assert_eq!(table.index_of(4), None, "lane 0's");
        assert_eq!(table.index_of(0), None, "lane 0's, though index 0 is live");
        assert_eq!(table.remove(0), 2);
        table.reserve(1);
        assert_eq!(
            table.place_next(),
            Some((0, 9)),
            "place reused, next id of the lane"
        );
        assert_eq!(table.id_of(0), 9);
        assert_eq!(table.index_of(9), Some(0));
        assert_eq!(table.index_of(2), None);
    }
}
