//! gRPC over [`Http2Connection`]: unary, server-streaming,
//! client-streaming and bidirectional calls with prost messages, deadlines sent as
//! `grpc-timeout`, metadata, and a status other than `OK` as a failure named by its code.
//!
//! Build a [`Call`] once, send it with [`call`] as often as needed: its [`Reply`] holds the
//! messages; a failure is an I/O error that reports count under the status code's name
//! (`UNAVAILABLE`, `DEADLINE_EXCEEDED`, …), which [`code_of`] reads back.
//!
//! ```
//! # use ttk_macros::bot;
//! # use ttk_core::Cx;
//! use std::time::Duration;
//! use ttk_http::grpc::{self, Call, Code};
//! use ttk_http::http2::Http2Connection;
//! use ttk_net::TcpListener;
//!
//! #[bot(crate = ttk_core)]
//! fn silent_server(_cx: Cx, _id: usize) -> std::io::Result<Option<Code>> {
//!     // A server that accepts and never answers: the deadline ends the call.
//!     let listener = TcpListener::bind("127.0.0.1:0")?;
//!     let url = format!("http://{}/", listener.local_addr()?);
//!     let mut h2c = ttk_core::yield_!(Http2Connection::connect(&url))?;
//!     let call = Call::new("pkg.Echo/Say")?.deadline(Duration::from_millis(50)).message(&1u32);
//!     let error = ttk_core::yield_!(grpc::call(&mut h2c, &call)).unwrap_err();
//!     Ok(grpc::code_of(&error))
//! }
//!
//! let code = ttk_core::run(1, silent_server).remove(0).unwrap();
//! assert_eq!(code, Some(Code::DeadlineExceeded));
//! ```

mod call;
mod code;
mod reply;
mod stream;
mod wire;

use std::io;

pub use call::Call;
pub use code::Code;
pub use reply::{Reply, code_of, status, status_error};
pub use stream::Stream;

use crate::http2::Http2Connection;

/// Makes `call` on `connection` and awaits its whole reply.
///
/// # Errors
/// A status other than `OK`, named by its code (see [`status_error`]); the deadline passing
/// first is `DEADLINE_EXCEEDED`; the connection's own failures (refused, reset) keep their
/// kinds.
///
/// # Examples
/// See [the module](self).
pub async fn call(connection: &mut Http2Connection, call: &Call) -> io::Result<Reply> {
    let request = call.request();
    match connection.send(&request).await {
        Ok(response) => Reply::from_response(response),
        Err(error) => Err(local_failure(call, error)),
    }
}

/// A call's failure on the client's side: its deadline passing is `DEADLINE_EXCEEDED`, as
/// gRPC clients say; other errors stay as they are. For calls sent with
/// [`Http2Connection::start`] and collected with [`Http2Connection::next`].
///
/// # Examples
/// ```
/// use std::io;
/// use std::time::Duration;
/// use ttk_http::grpc::{Call, Code, code_of, local_failure};
///
/// let call = Call::new("pkg.Echo/Say").unwrap().deadline(Duration::from_millis(50));
/// let late = local_failure(&call, io::ErrorKind::TimedOut.into());
/// assert_eq!(code_of(&late), Some(Code::DeadlineExceeded));
/// let refused = local_failure(&call, io::ErrorKind::ConnectionRefused.into());
/// assert_eq!(refused.kind(), io::ErrorKind::ConnectionRefused);
/// let reset = io::Error::new(
///     io::ErrorKind::ConnectionReset,
///     "HTTP/2: the server reset the stream: ENHANCE_YOUR_CALM",
/// );
/// assert_eq!(code_of(&local_failure(&call, reset)), Some(Code::ResourceExhausted));
/// ```
pub fn local_failure(call: &Call, error: io::Error) -> io::Error {
    match call.deadline_limit() {
        Some(limit) if error.kind() == io::ErrorKind::TimedOut => status_error(
            Code::DeadlineExceeded,
            &format!("no reply within the deadline of {limit:?}"),
        ),
        // A refused stream, or no server at all: gRPC clients say UNAVAILABLE.
        _ if error.kind() == io::ErrorKind::ConnectionRefused => {
            status_error(Code::Unavailable, &error.to_string())
        }
        _ if error.kind() == io::ErrorKind::ConnectionReset => match reset_code(&error) {
            Some(code) => status_error(code, &error.to_string()),
            None => error,
        },
        _ => error,
    }
}

/// The gRPC code of a stream the server reset (`PROTOCOL-HTTP2.md`, "Errors"), from the
/// HTTP/2 error code `Http2Connection` names in its text.
fn reset_code(error: &io::Error) -> Option<Code> {
    let text = error.to_string();
    let reason = text.strip_prefix("HTTP/2: the server reset the stream: ")?;
    Some(match reason.trim() {
        "REFUSED_STREAM" => Code::Unavailable,
        "CANCEL" => Code::Cancelled,
        "ENHANCE_YOUR_CALM" => Code::ResourceExhausted,
        "INADEQUATE_SECURITY" => Code::PermissionDenied,
        _ => Code::Internal,
    })
}
