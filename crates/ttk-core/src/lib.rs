//! The core of ttk: one loop per thread, a mio selector and a deterministic cooperative
//! scheduler for a massive number of bots.
//!
//! A bot is a resumable state machine, usually written as a plain function marked `#[bot]`
//! (from `ttk-macros`) whose `yield_!` points are where it lets others run or waits for
//! something. [`run`] builds bots `f(cx, id)` for `id` in `0..n` and runs them on the current
//! thread:
//!
//! - a tick runs once every bot that was ready when it began, the first tick in id order;
//! - a bot that yields goes to the back and runs again next tick;
//! - a bot that waits (for a timer, I/O, a message) is parked and costs nothing until it is
//!   ready;
//! - a bot that panics is recorded as failed; the others go on.
//!
//! This crate knows nothing of TCP: [`io::IoSource`] registers any mio source with the loop,
//! and `ttk-net` builds its sockets on that alone. Users normally depend on the `ttk` facade.
//!
//! # Examples
//! ```
//! use ttk_core::Cx;
//! use ttk_macros::bot;
//!
//! #[bot(crate = ttk_core)]
//! fn player(_cx: Cx, id: usize) -> String {
//!     ttk_core::yield_!();
//!     format!("bot {id} done")
//! }
//!
//! assert_eq!(ttk_core::run(2, player), ["bot 0 done", "bot 1 done"]);
//! ```

#![deny(missing_docs, missing_debug_implementations)]

mod barrier;
mod bots;
mod clock;
mod context;
mod cx;
mod deferred;
mod exchange;
mod executor;
mod extensions;
mod fast_hash;
mod feature;
mod groups;
mod ids;
pub mod io;
mod io_table;
mod link;
mod loop_local;
mod loop_state;
mod macros;
mod messages;
pub mod metrics;
mod outcome;
mod panic_capture;
mod precise_wait;
mod ready;
mod real_clock;
mod rng;
mod run_end;
mod runtime;
mod semaphore;
mod slots;
mod source;
mod stamp;
mod stop;
mod think;
mod time;
mod time_queue;
mod timers;
mod try_now;
mod waker;
mod workers;
mod world;
mod yield_now;

#[doc(hidden)]
pub mod __private;

pub use barrier::{Barrier, BarrierError, BarrierWait, BarrierWaitResult};
pub use cx::Cx;
pub use groups::GroupError;
pub use ids::IdSlice;
pub use messages::Message;
pub use metrics::{MetricsSnapshot, Transaction};
pub use outcome::{BotError, BotErrorKind};
pub use rng::BotRng;
pub use run_end::{RunEnd, RunError, RunReport, RunSummary};
pub use runtime::{Runtime, run, try_run};
pub use semaphore::{Acquire, Permit, Semaphore};
pub use source::{Arrivals, BotSource};
pub use stamp::Stamp;
pub use stop::StopHandle;
pub use think::ThinkTime;
pub use time::{Elapsed, Sleep, now, sleep, sleep_until, timeout};
pub use workers::Workers;
pub use world::{TickInfo, start_bots, tick};
pub use yield_now::YieldNow;
