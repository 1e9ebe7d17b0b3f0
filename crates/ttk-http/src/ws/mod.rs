//! WebSocket bots: the client handshake and messages over ttk's sockets, with
//! [tungstenite](https://docs.rs/tungstenite) doing the protocol.
//!
//! A bot [`connect`](WebSocket::connect)s to a `ws://` URL, [`send`](WebSocket::send)s text,
//! binary and ping messages and [`receive`](WebSocket::receive)s what comes, then
//! [`close`](WebSocket::close)s with the close handshake. Pings are answered automatically. The
//! server side, [`WebSocket::accept`], runs as bots too (a test's or an example's echo server).
//! A [`WebSocket`] works over any [`ttk_net::ByteStream`], not only TCP. `wss://` (TLS) is not
//! supported.
//!
//! tungstenite is a synchronous state machine over `Read + Write`; here it runs over two
//! buffers in memory (the bytes received, the bytes to send), and the `WebSocket` moves bytes
//! between them and the socket with ttk's own `read` and `write_all`, so a waiting bot costs
//! nothing until its bytes arrive. Text and binary frames are written by the `WebSocket` itself,
//! straight from the message's payload (tungstenite would copy each whole into a buffer of its
//! own first), and tungstenite's read buffer is given back after a big message: a message in
//! flight costs about its size, and an idle bot keeps no big buffer.
//!
//! Errors are `io::Error`s: the socket's as they are; the protocol's with a kind
//! (`InvalidData` for a protocol violation, a message over the limits or a refused handshake,
//! `UnexpectedEof` for a connection closed without a close handshake, `ConnectionAborted` once
//! the close handshake is complete), a message saying what went wrong, and tungstenite's own
//! error inside (see [`Error`]).
//!
//! # Examples
//! ```
//! use ttk_core::Cx;
//! use ttk_http::ws::{Message, WebSocket};
//!
//! # fn main() -> std::io::Result<()> {
//! # // An echo server on another thread, with tungstenite's blocking API.
//! # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
//! # let url = format!("ws://{}/", listener.local_addr()?);
//! # std::thread::spawn(move || {
//! #     let (socket, _) = listener.accept().unwrap();
//! #     let mut ws = tungstenite::accept(socket).unwrap();
//! #     while let Ok(message) = ws.read() {
//! #         if message.is_text() || message.is_binary() { ws.send(message).unwrap(); }
//! #     }
//! # });
//! #[ttk_macros::bot(crate = ttk_core)]
//! fn player(_cx: Cx, _id: usize, url: String) -> std::io::Result<Vec<Message>> {
//!     let mut ws = ttk_core::yield_!(WebSocket::connect(&url))?;
//!     ttk_core::yield_!(ws.send_text("move e2e4"))?;
//!     ttk_core::yield_!(ws.ping(b"t0"))?;
//!     let echo = ttk_core::yield_!(ws.receive())?;
//!     let pong = ttk_core::yield_!(ws.receive())?;
//!     ttk_core::yield_!(ws.close(None))?;
//!     Ok(vec![echo, pong])
//! }
//!
//! let received = ttk_core::run(1, |cx, id| player(cx, id, url.clone())).pop().unwrap()?;
//! assert_eq!(received, [Message::text("move e2e4"), Message::Pong("t0".into())]);
//! # Ok(())
//! # }
//! ```

mod duplex;
mod error;
mod frames;
mod mask;
mod web_socket;

pub use error::Error;
pub use web_socket::{Request, WebSocket, request};

// What a bot's code names, and nothing more of tungstenite: the messages it sends and receives,
// a close's frame and code, the `http` types it puts in a [`Request`]'s headers or reads from a
// refused handshake's response, and the errors inside an [`Error`] it may match on.
pub use tungstenite::error::{CapacityError, ProtocolError};
pub use tungstenite::http::{HeaderName, HeaderValue, Response, StatusCode};
pub use tungstenite::protocol::CloseFrame;
pub use tungstenite::protocol::frame::coding::CloseCode;
pub use tungstenite::{Bytes, Message, Utf8Bytes};

/// tungstenite's error inside an [`Error`] ([`Error::tungstenite`]), to match on.
pub use tungstenite::Error as TungsteniteError;
