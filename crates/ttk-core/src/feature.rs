//! How features plug into the loop.
//!
//! The loop owns the ready queue, the clock, timers, the selector and the bot table, and knows
//! no feature by name. Messages, groups, barriers, the world and tick hooks, random generators —
//! each lives in its own module with its own state and registers with the loop, at its first use,
//! as a [`Feature`]: the loop then tells it when a bot starts or exits, when a tick ends, when
//! nothing can wake any bot, and when the run is stopped. None of this is on the hot path of a
//! switch.

use std::any::{Any, TypeId};
use std::cell::RefCell;
use std::rc::Rc;

use crate::loop_state::LoopState;
use crate::timers::Nanos;

/// When in the end of a tick a feature does its work: delivery first (messages sent this tick
/// become visible), then memberships (joins and leaves become visible, meetings complete), then
/// the user's hooks, which see everything the tick did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Stage {
    /// Messages from other loops are taken in.
    Exchange,
    /// Messages are delivered.
    Delivery,
    /// Group changes are applied; group barriers complete.
    Membership,
    /// Barriers (their bookkeeping of parties).
    Meetings,
    /// Random generators (no end-of-tick work).
    Streams,
    /// Metrics (their intervals close on time, not per tick).
    Measures,
    /// The user's tick hooks run.
    Hooks,
}

/// A feature of the loop. Every method has a default that does nothing.
pub(crate) trait Feature {
    /// Bot `index` has just started, as bot `id`.
    fn bot_started(&self, _state: &LoopState, _index: u32, _id: usize) {}

    /// Bot `index` has finished, failed or been stopped; its index may be reused later.
    fn bot_exited(&self, _state: &LoopState, _index: u32) {}

    /// The tick's bots have all run.
    fn end_of_tick(&self, _state: &LoopState) {}

    /// The time the feature asked for with [`LoopState::wake_features_at`] has come (`now` is
    /// the loop's clock). Every feature hears it; each checks its own time and asks again.
    fn time_passed(&self, _state: &LoopState, _now: Nanos) {}

    /// The run is over (every bot is done or was stopped); the features are released next.
    fn run_ended(&self, _state: &LoopState) {}

    /// Nothing of this loop's own can wake a bot (no timer, no I/O): returns whether the loop
    /// should wait anyway, for another loop of the run that may (a message). A feature that
    /// says so must be told when the wait ends ([`Feature::peers_woke`]).
    fn hold_for_peers(&self, _state: &LoopState) -> bool {
        false
    }

    /// The loop's wait ended (for whatever reason): take in what other loops handed over.
    fn peers_woke(&self, _state: &LoopState) {}

    /// Whether other loops handed over something not yet taken in (checked before the loop
    /// waits: the knock that came with it may have been used up by a quick poll).
    fn mail_waiting(&self) -> bool {
        false
    }

    /// Nothing can wake any bot. Returns whether the feature woke one (the run goes on).
    fn stalled(&self, _state: &LoopState) -> bool {
        false
    }

    /// The run is over: drop whatever user values the feature holds (the loop may outlive the
    /// run, held by a socket a bot returned, and must not keep the world or messages alive).
    fn release(&self) {}
}

/// One registered feature.
struct Entry {
    /// The feature's type, to find it again.
    type_id: TypeId,
    /// Its stage.
    stage: Stage,
    /// The feature, for the loop.
    feature: Rc<dyn Feature>,
    /// The same feature, for its module to downcast.
    any: Rc<dyn Any>,
}

/// The features of one loop, in stage order.
#[derive(Default)]
pub(crate) struct Features {
    /// Registered features, sorted by stage (stable: same stage, first registered first).
    entries: RefCell<Vec<Entry>>,
}

impl std::fmt::Debug for Features {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Features")
            .field("count", &self.entries.borrow().len())
            .finish()
    }
}

impl Features {
    /// The feature of type `T`, registered with `make` at the first call.
    pub(crate) fn get_or_insert<T: Feature + 'static>(
        &self,
        stage: Stage,
        make: impl FnOnce() -> T,
    ) -> Rc<T> {
        if let Some(found) = self.get::<T>() {
            return found;
        }
        let feature = Rc::new(make());
        let mut entries = self.entries.borrow_mut();
        let position = entries.partition_point(|entry| entry.stage <= stage);
        entries.insert(
            position,
            Entry {
                type_id: TypeId::of::<T>(),
                stage,
                feature: Rc::clone(&feature) as Rc<dyn Feature>,
                any: Rc::clone(&feature) as Rc<dyn Any>,
            },
        );
        feature
    }

    /// The feature of type `T`, if registered.
    pub(crate) fn get<T: 'static>(&self) -> Option<Rc<T>> {
        let wanted = TypeId::of::<T>();
        let entries = self.entries.borrow();
        let entry = entries.iter().find(|entry| entry.type_id == wanted)?;
        Some(
            Rc::clone(&entry.any)
                .downcast::<T>()
                .unwrap_or_else(|_| unreachable!("entries are stored under their own type")),
        )
    }

    /// Calls `f` with the feature of type `T`, if registered, without cloning its `Rc` (the
    /// hot path of messages). `f` must not register a feature: the table is borrowed meanwhile.
    #[inline]
    pub(crate) fn with<T: 'static, R>(&self, f: impl FnOnce(&T) -> R) -> Option<R> {
        let wanted = TypeId::of::<T>();
        let entries = self.entries.borrow();
        let entry = entries.iter().find(|entry| entry.type_id == wanted)?;
        let feature = entry.any.downcast_ref::<T>()?;
        Some(f(feature))
    }

    /// Calls `f` with each feature in stage order. Features registered while it runs are
    /// visited too if they sort after the current one.
    pub(crate) fn for_each(&self, mut f: impl FnMut(&dyn Feature)) {
        let mut position = 0;
        loop {
            // The borrow ends before `f` runs: a feature may register another.
            let (feature, count) = {
                let entries = self.entries.borrow();
                let Some(entry) = entries.get(position) else {
                    return;
                };
                (Rc::clone(&entry.feature), entries.len())
            };
            f(&*feature);
            // A feature registered meanwhile at an earlier stage shifted this one: find it again
            // so that none is visited twice.
            if self.entries.borrow().len() != count {
                position = self
                    .entries
                    .borrow()
                    .iter()
                    .position(|entry| Rc::ptr_eq(&entry.feature, &feature))
                    .unwrap_or(position);
            }
            position += 1;
        }
    }

    /// Whether any feature is registered.
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.borrow().is_empty()
    }

    /// Releases every feature's user values and forgets the features.
    pub(crate) fn release(&self) {
        self.for_each(|feature| feature.release());
        let entries = std::mem::take(&mut *self.entries.borrow_mut());
        drop(entries);
    }
}
