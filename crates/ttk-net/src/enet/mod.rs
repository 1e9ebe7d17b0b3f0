//! ENet, the reliable-UDP protocol of many game engines (Godot's multiplayer among them), as a
//! transport any bot can use: [`EnetHost`] (a socket and its connections), [`EnetPeer`] (one
//! connection), [`Delivery`] (reliable, unreliable, unsequenced) and [`EnetConfig`].
//!
//! Channels, acknowledgements and resends, fragments, round-trip time and throttling are
//! ENet's own, from rusty_enet (a translation of the C library), driven by ttk's loop and
//! clock on a ttk socket: a run's `--net` conditions, `--local-ips` and `--seed` apply. It
//! speaks to hosts on the C library (tested against Debian's `libenet`).
//!
//! # Examples
//! ```
//! # use ttk_macros::bot;
//! # use ttk_core::Cx;
//! use ttk_net::enet::{Delivery, EnetConfig, EnetHost, EnetPeer};
//!
//! #[bot(crate = ttk_core)]
//! fn player(_cx: Cx, id: usize, server: std::net::SocketAddr) -> std::io::Result<u32> {
//!     if id == 0 {
//!         // The game server: counts the reliable packets of one player.
//!         let host = EnetHost::bind(server, &EnetConfig { peers: 4, ..EnetConfig::default() })?;
//!         let player = ttk_core::yield_!(host.accept())?;
//!         let mut count = 0;
//!         while ttk_core::yield_!(player.recv())?.is_some() {
//!             count += 1;
//!         }
//!         return Ok(count);
//!     }
//!     let peer = ttk_core::yield_!(EnetPeer::connect(server, &EnetConfig::default()))?;
//!     for turn in 0..10u8 {
//!         peer.send(0, &[turn], Delivery::Reliable)?;
//!         ttk_core::yield_!(peer.sleep(std::time::Duration::from_millis(1)))?;
//!     }
//!     ttk_core::yield_!(peer.disconnect())?;
//!     Ok(0)
//! }
//!
//! let server = std::net::UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
//! let counts = ttk_core::run(2, |cx, id| player(cx, id, server));
//! assert_eq!(counts[0].as_ref().unwrap(), &10);
//! ```

mod config;
mod host;
mod packet;
mod peer;
mod socket;
mod waiters;

pub use config::EnetConfig;
pub use host::EnetHost;
pub use packet::{Delivery, EnetPacket};
pub use peer::EnetPeer;
