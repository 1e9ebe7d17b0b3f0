//! HTTP/2: many requests in flight on one connection, over TLS (ALPN `h2`) or cleartext
//! (`h2c`), driven by the bot that owns the connection.
//!
//! [`Http2Connection`] takes the same [`Request`](crate::Request)s as
//! [`HttpConnection`](crate::HttpConnection) and hands back [`Http2Response`]s. Send one and
//! await it with [`Http2Connection::send`], or keep many in flight with
//! [`Http2Connection::start`] and [`Http2Connection::next`]:
//!
//! ```
//! # use ttk_macros::bot;
//! # use ttk_core::Cx;
//! use ttk_http::Request;
//! use ttk_http::http2::Http2Connection;
//!
//! #[bot(crate = ttk_core)]
//! fn hello(_cx: Cx, _id: usize) -> std::io::Result<String> {
//!     let addr = ttk_http::http2::hello_h2c_server()?; // a canned h2c answer, for the example
//!     let mut h2c = ttk_core::yield_!(Http2Connection::connect(&format!("http://{addr}/")))?;
//!     let response = ttk_core::yield_!(h2c.send(&Request::get("/")))?;
//!     Ok(response.text()?.to_owned())
//! }
//!
//! assert_eq!(ttk_core::run(1, hello)[0].as_ref().unwrap(), "hello");
//! ```

mod canned;
mod connection;
mod pipe;
mod prepared;
mod response;
mod shared;
mod wakes;

#[doc(hidden)]
pub use canned::hello_h2c_server;
pub use connection::{Http2Connection, StreamEvent, Ticket};
pub use response::Http2Response;
pub use shared::SharedHttp2Connection;
