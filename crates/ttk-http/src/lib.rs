//! An HTTP/1.1 client for ttk bots, on ttk-net's sockets.
//!
//! A bot opens one [`HttpConnection`] (a connection per bot is the default model), builds its
//! [`Request`]s once and sends them again and again: the connection is kept alive, the request
//! is written with one `write` from a reused buffer and the response read into a reused buffer,
//! so a request/response costs about one write and one read and, in steady state, no allocation.
//! The [`Response`] borrows its head and body from that buffer.
//!
//! Responses are parsed with `httparse`; bodies are cut by `Content-Length`, by chunked transfer
//! coding, or by the server closing the connection. Redirects are not followed (a 3xx is a
//! response like any other). Errors are `io::Error`s: `InvalidData` for a malformed response, a
//! response head over [`HttpConnection::set_max_head_len`] or a body over
//! [`HttpConnection::set_max_body_len`]; `UnexpectedEof` when the server closes in the middle of
//! a response; `TimedOut` when a request's [`Request::timeout`] passes.

#![deny(missing_docs, missing_debug_implementations)]

mod chunked;
mod connection;
mod error;
mod request;
mod response;

pub use connection::HttpConnection;
pub use request::Request;
pub use response::Response;
