//! A gRPC call's outcome: [`Reply`], or a failure named by its status code.

use std::io;
use std::ops::Range;

use ttk_core::metrics::KindedError;

use super::code::Code;
use super::wire::{percent_decoded, unframe};
use crate::http2::Http2Response;

/// The reply to a call that ended with status `OK`: its messages (one for unary and
/// client-streaming calls, any number for server-streaming and bidirectional ones), headers
/// and trailers.
///
/// # Examples
/// ```
/// # use ttk_macros::bot;
/// # use ttk_core::Cx;
/// use ttk_http::grpc::{self, Call, Code};
/// use ttk_http::http2::Http2Connection;
///
/// #[bot(crate = ttk_core)]
/// fn no_server(_cx: Cx, _id: usize) -> std::io::ErrorKind {
///     // Port 1 on loopback: nothing listens, so there is no reply.
///     let h2c = ttk_core::yield_!(Http2Connection::connect("http://127.0.0.1:1/"));
///     h2c.unwrap_err().kind()
/// }
///
/// assert_eq!(ttk_core::run(1, no_server)[0], std::io::ErrorKind::ConnectionRefused);
/// // With a server: `let reply = ttk::yield_!(grpc::call(&mut h2c, &call))?;`, then
/// // `reply.message::<MyReply>()?`, `reply.messages()`, `reply.trailer("x-name")`.
/// ```
#[derive(Debug, Clone)]
pub struct Reply {
    /// The HTTP/2 response.
    response: Http2Response,
    /// Where each message lies in its body.
    messages: Vec<Range<usize>>,
}

impl Reply {
    /// The reply in `response`, if its status is `OK`.
    ///
    /// # Errors
    /// The call's failure, named by its status code (see [`status_error`]); `InvalidData`
    /// (`INTERNAL`) if the body is not length-prefixed messages.
    ///
    /// # Examples
    /// See [`Reply`].
    pub fn from_response(response: Http2Response) -> io::Result<Reply> {
        let (code, message) = status(&response);
        if code != Code::Ok {
            return Err(status_error(code, &message));
        }
        let messages = unframe(response.body()).map_err(|error| {
            status_error(Code::Internal, &format!("a malformed reply: {error}"))
        })?;
        Ok(Reply { response, messages })
    }

    /// The reply's messages, encoded, in order.
    ///
    /// # Examples
    /// See [`Reply`].
    pub fn messages(&self) -> impl Iterator<Item = &[u8]> {
        self.messages
            .iter()
            .map(|range| &self.response.body()[range.clone()])
    }

    /// How many messages came.
    ///
    /// # Examples
    /// See [`Reply`].
    pub fn len(&self) -> usize {
        self.messages.len()
    }

    /// Whether no message came.
    ///
    /// # Examples
    /// See [`Reply`].
    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }

    /// The one message of a unary or client-streaming reply, decoded.
    ///
    /// # Errors
    /// `UNIMPLEMENTED` if the reply has no message or more than one (what gRPC clients say
    /// then); `InvalidData` if it does not decode as `M`.
    ///
    /// # Examples
    /// See [`Reply`].
    pub fn message<M: prost::Message + Default>(&self) -> io::Result<M> {
        if self.messages.len() != 1 {
            return Err(status_error(
                Code::Unimplemented,
                &format!(
                    "a unary reply has one message, this one {}",
                    self.messages.len()
                ),
            ));
        }
        self.decode_all().map(|mut all: Vec<M>| all.remove(0))
    }

    /// Every message, decoded as `M` (a server-streaming or bidirectional reply).
    ///
    /// # Errors
    /// `InvalidData` if one does not decode as `M`.
    ///
    /// # Examples
    /// See [`Reply`].
    pub fn decode_all<M: prost::Message + Default>(&self) -> io::Result<Vec<M>> {
        self.messages()
            .map(|bytes| {
                M::decode(bytes).map_err(|error| {
                    io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("gRPC: a reply message does not decode: {error}"),
                    )
                })
            })
            .collect()
    }

    /// The first value of response header (initial metadata) `name`.
    ///
    /// # Examples
    /// See [`Reply`].
    pub fn header(&self, name: &str) -> Option<&str> {
        self.response.header(name)
    }

    /// The first value of trailer (trailing metadata) `name`.
    ///
    /// # Examples
    /// See [`Reply`].
    pub fn trailer(&self, name: &str) -> Option<&str> {
        self.response.trailer(name)
    }

    /// The HTTP/2 response it came in.
    ///
    /// # Examples
    /// See [`Reply`].
    pub fn response(&self) -> &Http2Response {
        &self.response
    }
}

/// A response's gRPC status and message: from its trailers, or from its headers for a
/// trailers-only reply; without `grpc-status`, the code its HTTP status stands for.
///
/// # Examples
/// See [`Reply`]; [`Code::from_http_status`] for replies without a status.
pub fn status(response: &Http2Response) -> (Code, String) {
    // Raw bytes: a server may send UTF-8 that is not a valid header text.
    let read = |name: &str| {
        response
            .trailers()
            .and_then(|map| map.get(name))
            .map(http::HeaderValue::as_bytes)
            .or_else(|| {
                response
                    .headers()
                    .find(|(header, _)| *header == name)
                    .map(|(_, value)| value)
            })
            .map(|bytes| String::from_utf8_lossy(bytes).trim().to_owned())
    };
    if response.status() != 200 {
        // Not a gRPC reply (a proxy's error page, a wrong path): its HTTP status says what.
        let code = Code::from_http_status(response.status());
        return (code, format!("a reply of HTTP {}", response.status()));
    }
    let message = read("grpc-message").map(|text| percent_decoded(&text));
    match read("grpc-status") {
        Some(text) => match text.parse::<u32>() {
            Ok(number) => (Code::from_number(number), message.unwrap_or_default()),
            Err(_) => (
                Code::Internal,
                format!("grpc-status is not a number: {text:?}"),
            ),
        },
        None => (Code::Unknown, "no grpc-status in the reply".to_owned()),
    }
}

/// A call's failure with status `code` and the server's `message`: an I/O error counted in
/// reports under the code's name (`UNAVAILABLE`), its text `gRPC UNAVAILABLE: message`.
///
/// # Examples
/// ```
/// use ttk_http::grpc::{Code, code_of, status_error};
///
/// let error = status_error(Code::Unavailable, "down for maintenance");
/// assert_eq!(error.to_string(), "gRPC UNAVAILABLE: down for maintenance");
/// assert_eq!(code_of(&error), Some(Code::Unavailable));
/// ```
pub fn status_error(code: Code, message: &str) -> io::Error {
    let text = if message.is_empty() {
        format!("gRPC {}", code.name())
    } else {
        format!("gRPC {}: {message}", code.name())
    };
    KindedError::new(code.name(), text).into_io(code.io_kind())
}

/// The status code of a call's failure made by [`status_error`]; `None` for other errors
/// (a refused connection, a reset stream).
///
/// # Examples
/// See [`status_error`].
pub fn code_of(error: &io::Error) -> Option<Code> {
    let kinded = error.get_ref()?.downcast_ref::<KindedError>()?;
    (0..17)
        .map(Code::from_number)
        .find(|code| code.name() == kinded.kind())
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderMap;

    /// A response of `status` with `headers` and `trailers` (`(name, value)` pairs).
    fn response(
        status: u16,
        headers: &[(&str, &str)],
        trailers: Option<&[(&str, &str)]>,
    ) -> Http2Response {
        let map = |pairs: &[(&str, &str)]| {
            let mut map = HeaderMap::new();
            for (name, value) in pairs {
                map.append(
                    http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                    http::HeaderValue::from_bytes(value.as_bytes()).unwrap(),
                );
            }
            map
        };
        Http2Response {
            status,
            headers: map(headers),
            body: Vec::new(),
            body_len: 0,
            trailers: trailers.map(map),
        }
    }

    #[test]
    fn the_status_comes_from_trailers_headers_or_the_http_status() {
        let trailers = response(
            200,
            &[],
            Some(&[("grpc-status", "14"), ("grpc-message", "a%20b")]),
        );
        assert_eq!(status(&trailers), (Code::Unavailable, "a b".to_owned()));
        let trailers_only = response(200, &[("grpc-status", "4")], None);
        assert_eq!(status(&trailers_only).0, Code::DeadlineExceeded);
        let ok = response(200, &[], Some(&[("grpc-status", "0")]));
        assert_eq!(status(&ok), (Code::Ok, String::new()));
        assert_eq!(status(&response(200, &[], None)).0, Code::Unknown);
        assert_eq!(
            status(&response(503, &[("grpc-status", "0")], None)).0,
            Code::Unavailable
        );
        assert_eq!(
            status(&response(200, &[("grpc-status", "x")], None)).0,
            Code::Internal
        );
        let raw = response(
            200,
            &[("grpc-status", "2"), ("grpc-message", "h\u{e9}")],
            None,
        );
        assert_eq!(status(&raw).1, "h\u{e9}", "raw UTF-8 is read as such");
    }

    #[test]
    fn a_reply_needs_ok_and_whole_messages() {
        let mut good = response(200, &[], Some(&[("grpc-status", "0")]));
        good.body = vec![0, 0, 0, 0, 1, 7, 0, 0, 0, 0, 0];
        let reply = Reply::from_response(good).unwrap();
        assert_eq!(reply.messages().collect::<Vec<_>>(), [&[7][..], &[]]);
        let mut cut = response(200, &[], Some(&[("grpc-status", "0")]));
        cut.body = vec![0, 0, 0, 0, 5, 1];
        assert_eq!(
            code_of(&Reply::from_response(cut).unwrap_err()),
            Some(Code::Internal)
        );
        let failed = response(200, &[], Some(&[("grpc-status", "7")]));
        let error = Reply::from_response(failed).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::PermissionDenied);
        assert_eq!(error.to_string(), "gRPC PERMISSION_DENIED");
    }
}
