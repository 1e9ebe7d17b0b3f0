//! TCP and UDP sockets for ttk bots, and framing codecs.
//!
//! Every socket is registered with the loop of the bot that made it, through ttk-core's public
//! [`IoSource`](ttk_core::io::IoSource) alone — the same API a custom transport uses. Names
//! mirror std and tokio; every operation that waits is used with `yield_!`:
//! `let n = ttk_core::yield_!(stream.read(&mut buf))?;` (`ttk::yield_!` through the facade).
//!
//! Addresses are given as std's are ([`ToSocketAddrs`]), but name resolution never blocks the
//! loop: an IP literal (`"127.0.0.1:7000"`, a `SocketAddr`) is used at once, on the loop thread,
//! while a host name (`"localhost:7000"`) is looked up on a helper thread as the bot waits and
//! the other bots run ([`lookup_host`]). The resolver is process-wide and replaceable
//! ([`set_resolver`]), e.g. to map made-up names for a load test.
//!
//! Errors are `io::Error`s with the kinds std uses (`ConnectionRefused`, `ConnectionReset`,
//! `UnexpectedEof`, `InvalidData` for bad frames, `TimedOut` from `ttk_core::timeout`); an
//! exhausted OS limit (descriptors, local ports) is `QuotaExceeded` wrapping a [`LimitReached`]
//! that names the limit and what to raise.
//!
//! # Examples
//! ```
//! # use ttk_macros::bot;
//! # use ttk_core::Cx;
//! use ttk_net::{TcpListener, TcpStream};
//!
//! #[bot(crate = ttk_core)]
//! fn echo_once(_cx: Cx, _id: usize) -> std::io::Result<String> {
//!     let listener = TcpListener::bind("127.0.0.1:0")?;
//!     let client = ttk_core::yield_!(TcpStream::connect(listener.local_addr()?))?;
//!     let (server, _) = ttk_core::yield_!(listener.accept())?;
//!     ttk_core::yield_!(client.write_all(b"hello"))?;
//!     let mut buf = [0; 5];
//!     ttk_core::yield_!(server.read_exact(&mut buf))?;
//!     Ok(String::from_utf8_lossy(&buf).into_owned())
//! }
//!
//! assert_eq!(ttk_core::run(1, echo_once)[0].as_ref().unwrap(), "hello");
//! ```

#![deny(missing_docs, missing_debug_implementations)]

mod byte_stream;
pub mod conditions;
mod datagram_frames;
pub mod enet;
#[cfg(unix)]
mod fd;
mod frame_format;
mod framed;
mod helper_threads;
mod limits;
mod lookup;
mod peer_end;
mod resolver;
mod source_pool;
#[cfg(target_os = "linux")]
mod tcp_info;
mod tcp_listener;
mod tcp_socket;
mod tcp_stream;
mod to_socket_addrs;
mod udp_socket;

pub use byte_stream::ByteStream;
pub use conditions::{NetMix, NetProfile};
pub use datagram_frames::DatagramFrames;
pub use frame_format::{Endian, FrameFormat, LineEnding, PrefixWidth};
pub use framed::Framed;
pub use limits::LimitReached;
pub use lookup::lookup_host;
pub use peer_end::PeerEnd;
pub use resolver::{HOST_NOT_FOUND, set_resolver};
pub use source_pool::SourcePool;
pub use tcp_listener::TcpListener;
pub use tcp_socket::TcpSocket;
pub use tcp_stream::TcpStream;
pub use to_socket_addrs::ToSocketAddrs;
pub use udp_socket::UdpSocket;
