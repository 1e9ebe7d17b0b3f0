//! Support for ttk's runnable examples: targets to aim the bots at.
//!
//! The examples themselves live beside this crate as `[[example]]`s (see the README). The echo
//! targets here are written on mio directly, not on ttk, so that a bug in ttk cannot hide behind
//! a matching bug in its target.

#![deny(missing_docs, missing_debug_implementations)]

pub mod chat_rooms;
pub mod echo_target;
pub mod flags;
pub mod reply_target;
pub mod reuseport_target;
pub mod storm_setup;
