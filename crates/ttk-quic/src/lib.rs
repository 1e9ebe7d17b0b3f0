//! QUIC for ttk bots: connections, bidirectional and unidirectional streams, and datagrams
//! (RFC 9000, 9221) over TLS 1.3, on ttk's UDP sockets — so a run's `--net` conditions,
//! `--local-ips` and `--seed` apply to them.
//!
//! The protocol is quinn-proto's sans-I/O state machine, driven by the bots' own loop and
//! clock (no tokio, no thread): the bots waiting on a connection feed it what the socket
//! received, run its timers when due, and send what it has to send. TLS is ttk-tls's
//! ([`ttk_tls::TlsConnector`]: roots, `--cacert`, `--insecure`, client certificates, a session
//! cache per bot), and its failures count under the same kinds as over TCP.
//!
//! - [`QuicConnector`]: TLS, the application protocols offered (ALPN), timeouts.
//! - [`QuicConnection`]: [`connect`](QuicConnection::connect), streams
//!   ([`open_bi`](QuicConnection::open_bi), [`open_uni`](QuicConnection::open_uni),
//!   [`accept_bi`](QuicConnection::accept_bi), [`accept_uni`](QuicConnection::accept_uni)),
//!   datagrams ([`send_datagram`](QuicConnection::send_datagram),
//!   [`recv_datagram`](QuicConnection::recv_datagram)), [`close`](QuicConnection::close).
//! - [`QuicStream`], [`QuicSendStream`], [`QuicRecvStream`]: a stream's halves.
//! - [`kinds`]: the failure kinds of QUIC's own.
//!
//! Client side only: ttk's bots are the clients of the server under test.
//!
//! # Examples
//! ```
//! # use ttk_macros::bot;
//! # use ttk_core::Cx;
//! use ttk_quic::{QuicConnection, QuicConnector};
//!
//! #[bot(crate = ttk_core)]
//! fn player(_cx: Cx, _id: usize) -> std::io::Result<()> {
//!     let (server, ca) = ttk_quic::echo_quic_server()?; // a QUIC server in this process, for the example
//!     let tls = ttk_tls::TlsConnector::builder().ca_pem(ca)?.build()?;
//!     let connector = QuicConnector::new(&tls, &["game"])?;
//!     let connection = ttk_core::yield_!(QuicConnection::connect(server, "localhost", &connector))?;
//!     // A reliable command, then positions as datagrams.
//!     let mut command = ttk_core::yield_!(connection.open_bi())?;
//!     ttk_core::yield_!(command.write_all(b"join room 7"))?;
//!     command.finish()?;
//!     let answer = ttk_core::yield_!(command.read_to_end(1024))?;
//!     assert_eq!(answer, b"join room 7"); // this example's server echoes
//!     for step in 0..20u8 {
//!         connection.send_datagram(&[step])?;
//!         ttk_core::yield_!(connection.sleep(std::time::Duration::from_millis(50)))?;
//!     }
//!     ttk_core::yield_!(connection.close(0, b"bye"));
//!     Ok(())
//! }
//!
//! ttk_core::run(1, player)[0].as_ref().unwrap();
//! ```

mod canned;
mod connection;
mod connector;
mod driver;
mod errors;
mod streams;
mod waiters;

#[doc(hidden)]
pub use canned::echo_quic_server;
pub use connection::{QuicConnection, QuicStats};
pub use connector::QuicConnector;
pub use errors::kinds;
pub use streams::{QuicRecvStream, QuicSendStream, QuicStream};
