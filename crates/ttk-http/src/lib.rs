//! An HTTP/1.1 client for ttk bots, on ttk-net's sockets.
//!
//! A bot opens one [`HttpConnection`] (a connection per bot is the default model), builds its
//! [`Request`]s once and sends them again and again: the connection is kept alive, the request
//! is written with one `write` from a reused buffer and the response read into a reused buffer,
//! so a request/response costs about one write and one read and, in steady state, no allocation.
//! The [`Response`] borrows its head and body from that buffer.
//!
//! Responses are parsed with `httparse`; bodies are cut by `Content-Length`, by chunked transfer
//! coding (decoded in place), or by the server closing the connection. A body is kept whole
//! ([`Response::body`]), counted and dropped as it streams in ([`Request::discard_body`], for
//! load that only checks status and headers), or read piece by piece into the caller's buffer
//! ([`HttpConnection::send_streaming`], then [`HttpConnection::read_body`]); only a kept body
//! fills the read buffer. Redirects are returned as responses unless a request asks to follow
//! them on the same host ([`Request::follow_redirects`]; relative `Location`s are resolved as
//! RFC 3986 says).
//!
//! Errors are `io::Error`s: `InvalidData` for a malformed response, a response head over
//! [`HttpConnection::set_max_head_len`] (80 KiB by default; any number of headers that fit),
//! a kept body over [`HttpConnection::set_max_body_len`], or a redirect not followed;
//! `UnexpectedEof` when the server closes in the middle of a response; `TimedOut` when a
//! request's [`Request::timeout`] passes; `InvalidInput` for a misuse (a request sent while
//! pipelined ones await their responses), which changes nothing. After any other error, a
//! response that closes the connection, or an operation abandoned part way, the next request
//! opens a new connection. A request that went out on a reused connection the server had
//! closed while idle, and got no byte of answer, is sent again once on a new connection
//! ([`Request::retry_on_reuse`]: idempotent methods by default), inside the same `send`.
//!
//! Requests can also be pipelined: [`HttpConnection::queue`] several, then
//! [`HttpConnection::receive`] their responses in order.
//!
//! WebSocket bots are in [`ws`].
//!
//! # Examples
//! ```
//! # use std::io::{Read, Write};
//! use ttk_core::Cx;
//! use ttk_http::{HttpConnection, Request};
//!
//! # fn main() -> std::io::Result<()> {
//! # // A server on another thread: a chunked answer to every request.
//! # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
//! # let addr = listener.local_addr()?.to_string();
//! # std::thread::spawn(move || {
//! #     let (mut socket, _) = listener.accept().unwrap();
//! #     let mut request = [0; 1024];
//! #     while socket.read(&mut request).unwrap() > 0 {
//! #         socket.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
//! #             6\r\nhello \r\n5\r\nworld\r\n0\r\n\r\n").unwrap();
//! #     }
//! # });
//! #[ttk_macros::bot(crate = ttk_core)]
//! fn player(_cx: Cx, _id: usize, server: String) -> std::io::Result<Vec<String>> {
//!     let mut http = ttk_core::yield_!(HttpConnection::connect(&server))?;
//!     let greeting = Request::get("/greeting").header("Accept", "text/plain");
//!     let mut texts = Vec::new();
//!     for _ in 0..2 {
//!         let response = ttk_core::yield_!(http.send(&greeting))?;
//!         assert_eq!(response.status(), 200);
//!         texts.push(response.text()?.to_string());
//!     }
//!     Ok(texts)
//! }
//!
//! let texts = ttk_core::run(1, |cx, id| player(cx, id, addr.clone())).pop().unwrap()?;
//! assert_eq!(texts, ["hello world", "hello world"]);
//! # Ok(())
//! # }
//! ```

#![deny(missing_docs, missing_debug_implementations)]

mod chunked;
mod connection;
mod error;
pub mod grpc;
pub mod http2;
mod location;
mod reconnect;
mod request;
mod response;
pub mod ws;

pub use connection::HttpConnection;
pub use reconnect::Reconnect;
pub use request::Request;
pub use response::Response;
