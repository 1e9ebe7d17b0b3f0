//! Network conditions, emulated in user space on ttk's own sockets: added delay with jitter,
//! loss, duplication, reordering and a bandwidth cap in each direction — what a WAN simulator
//! or Linux's netem does to packets, done per bot (a mix of profiles over the run's bots) or per
//! socket, seeded by the run's `--seed`, on the loop's clock (virtual time included).
//!
//! A profile is written as netem's settings are, as `key=value` words:
//!
//! | key | meaning |
//! |---|---|
//! | `delay=80ms±20ms` (or `80ms+-20ms`, or `delay=80ms jitter=20ms`) | added to every datagram, each direction: 80 ms, give or take up to 20 ms |
//! | `dist=uniform` (default) or `dist=normal` | how the jitter is spread: evenly over ±jitter (netem's default), or a normal law of that deviation |
//! | `loss=2%` | datagrams lost, each direction |
//! | `dup=0.5%` | datagrams delivered twice |
//! | `reorder=10%` | datagrams that skip the delay (and overtake those before them) |
//! | `rate=1mbit`, `up=512kbit`, `down=10mbit` | a link of that many bits a second (`bit`, `kbit`, `mbit`, `gbit`): both directions, from the bot, to the bot |
//!
//! Presets name common links: `lte`, `3g`, `lossy-wifi`, `intercontinental` (see
//! [`NetProfile::preset`]). A mix spreads profiles over bots: `lte:70%,3g:30%`.
//!
//! # Examples
//! ```
//! use ttk_net::{NetMix, NetProfile};
//!
//! let mix: NetMix = "lte:70%,delay=80ms±20ms loss=2%:30%".parse().unwrap();
//! // A bot whose draw falls in the last 30 % takes the lossy link.
//! assert_eq!(mix.pick(0.9).loss(), 0.02);
//! assert_eq!(mix.pick(0.1), &NetProfile::preset("lte").unwrap());
//! ```

mod arrival;
mod buffers;
mod held_streams;
mod link;
pub(crate) mod mix;
mod outbox;
mod profile;
pub(crate) mod shared_io;
pub(crate) mod tcp;
pub(crate) mod udp;

pub(crate) use arrival::stamp_arrivals;
pub use mix::NetMix;
pub use profile::NetProfile;
