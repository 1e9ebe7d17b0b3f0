//! Where a run's bots live: in place, side by side, never moved.

use std::future::Future;

use crate::outcome::BotError;

/// Places per chunk added when a run grows past its first bots.
const CHUNK: usize = 1024;

/// One bot's place: its state machine while it runs, then nothing — or, for the first bots of
/// a run whose outcomes are kept, the outcome.
pub(crate) enum Slot<B: Future> {
    /// A running (or parked) bot.
    Running(B),
    /// A free place.
    Vacant,
    /// The outcome of the bot that ran here (the place is not reused).
    Done(Result<B::Output, BotError>),
}

/// The places of a run's bots, indexed by bot index.
///
/// Bots made by one factory share one type, so they live side by side: no box per bot, and a
/// tick walks memory instead of chasing pointers. The first bots of a run get one allocation of
/// exactly their number (the hot path is one bounds check into it); a run that grows adds
/// chunks of [`CHUNK`] places. No place ever moves once allocated, so a bot is pinned where it
/// is built until it is dropped in place.
pub(crate) struct Slots<B: Future> {
    /// The places of the run's first bots.
    first: Box<[Slot<B>]>,
    /// Places added while the run grew, [`CHUNK`] each.
    chunks: Vec<Box<[Slot<B>]>>,
}

impl<B: Future> Slots<B> {
    /// `first` vacant places.
    pub(crate) fn new(first: usize) -> Self {
        Slots {
            first: (0..first).map(|_| Slot::Vacant).collect(),
            chunks: Vec::new(),
        }
    }

    /// The place of bot `index`, if allocated.
    #[inline]
    pub(crate) fn get_mut(&mut self, index: u32) -> Option<&mut Slot<B>> {
        let index = index as usize;
        if index < self.first.len() {
            return self.first.get_mut(index);
        }
        Self::grown(&mut self.chunks, index - self.first.len())
    }

    /// A place past the first ones.
    fn grown(chunks: &mut [Box<[Slot<B>]>], index: usize) -> Option<&mut Slot<B>> {
        chunks.get_mut(index / CHUNK)?.get_mut(index % CHUNK)
    }

    /// How many places the first bots have.
    pub(crate) fn first_len(&self) -> usize {
        self.first.len()
    }

    /// The outcomes kept in the first bots' places, in place order; `None` if a place holds
    /// none (it was never given one).
    pub(crate) fn into_first_outcomes(self) -> Vec<Option<Result<B::Output, BotError>>> {
        // In place: a place is at least as large as an outcome, so a million outcomes reuse
        // the places' memory instead of being held twice.
        self.first
            .into_vec()
            .into_iter()
            .map(|slot| match slot {
                Slot::Done(outcome) => Some(outcome),
                Slot::Running(_) | Slot::Vacant => None,
            })
            .collect()
    }

    /// Puts `bot` in the vacant place `index`, allocating it if needed.
    pub(crate) fn put(&mut self, index: u32, bot: B) {
        let past_first = (index as usize).checked_sub(self.first.len());
        if let Some(past_first) = past_first {
            while self.chunks.len() <= past_first / CHUNK {
                self.chunks.push((0..CHUNK).map(|_| Slot::Vacant).collect());
            }
        }
        let slot = self.get_mut(index).expect("the place was just allocated");
        debug_assert!(matches!(slot, Slot::Vacant), "a place holds one bot");
        // A vacant place has nothing to drop: assigning cannot run user code.
        *slot = Slot::Running(bot);
    }
}
