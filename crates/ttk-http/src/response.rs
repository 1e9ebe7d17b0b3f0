//! A response, borrowed from the connection's read buffer.

use std::fmt;
use std::io;
use std::ops::Range;

use crate::error::invalid;

/// The most headers a response head may have.
pub(crate) const MAX_HEADERS: usize = 64;

/// Where a parsed response's parts lie in the read buffer: offsets, so the parts need no copy
/// and this struct no lifetime. Its vector keeps its capacity from response to response.
#[derive(Debug, Default)]
pub(crate) struct Head {
    /// The minor HTTP version (`1` for HTTP/1.1).
    pub(crate) minor_version: u8,
    /// The status code.
    pub(crate) status: u16,
    /// The reason phrase.
    pub(crate) reason: Range<usize>,
    /// Each header's name and value.
    pub(crate) headers: Vec<(Range<usize>, Range<usize>)>,
    /// The body, decoded.
    pub(crate) body: Range<usize>,
}

impl Head {
    /// Parses the response head at the start of `buf`: `Ok(Some(len))` with its length once it
    /// is complete, `Ok(None)` if more bytes are needed.
    ///
    /// # Errors
    /// `InvalidData` for a malformed head or one with over [`MAX_HEADERS`] headers.
    pub(crate) fn parse(&mut self, buf: &[u8]) -> io::Result<Option<usize>> {
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut response = httparse::Response::new(&mut headers);
        let len = match response.parse(buf) {
            Ok(httparse::Status::Complete(len)) => len,
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(httparse::Error::TooManyHeaders) => {
                return Err(invalid(format_args!(
                    "the response has more than {MAX_HEADERS} headers"
                )));
            }
            Err(error) => {
                let start = &buf[..buf.len().min(40)];
                return Err(invalid(format_args!(
                    "malformed response head ({error}), starting {:?}",
                    String::from_utf8_lossy(start)
                )));
            }
        };
        // Every part httparse returns is a slice of `buf`, except possibly an empty one (an
        // empty reason phrase), which is given an empty range.
        let at = |part: &[u8]| {
            let start = (part.as_ptr() as usize).wrapping_sub(buf.as_ptr() as usize);
            match start.checked_add(part.len()) {
                Some(end) if !part.is_empty() && end <= buf.len() => start..end,
                _ => 0..0,
            }
        };
        self.minor_version = response.version.unwrap_or(1);
        self.status = response.code.unwrap_or(0);
        self.reason = at(response.reason.unwrap_or("").as_bytes());
        self.headers.clear();
        for header in response.headers.iter() {
            self.headers
                .push((at(header.name.as_bytes()), at(header.value)));
        }
        self.body = len..len;
        Ok(Some(len))
    }

    /// The values of the headers named `name` (case-insensitively), in order.
    pub(crate) fn values<'b>(
        &'b self,
        buf: &'b [u8],
        name: &'b str,
    ) -> impl Iterator<Item = &'b [u8]> + 'b {
        self.headers
            .iter()
            .filter(move |(n, _)| buf[n.clone()].eq_ignore_ascii_case(name.as_bytes()))
            .map(move |(_, v)| &buf[v.clone()])
    }

    /// Whether a comma-separated header named `name` lists `token` (case-insensitively).
    pub(crate) fn lists(&self, buf: &[u8], name: &str, token: &str) -> bool {
        self.values(buf, name).any(|value| {
            value
                .split(|&b| b == b',')
                .any(|t| t.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
        })
    }
}

/// A response: status, headers and body, borrowed from the
/// [`HttpConnection`](crate::HttpConnection) that received it until its next request.
///
/// # Examples
/// ```
/// # use ttk_macros::bot;
/// # use ttk_core::Cx;
/// # use std::io::{Read, Write};
/// use ttk_http::{HttpConnection, Request};
///
/// # fn main() -> std::io::Result<()> {
/// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
/// # let addr = listener.local_addr()?.to_string();
/// # std::thread::spawn(move || {
/// #     let (mut socket, _) = listener.accept().unwrap();
/// #     let mut request = [0; 1024];
/// #     let _ = socket.read(&mut request).unwrap();
/// #     socket.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\n\
/// #         Content-Length: 7\r\n\r\nno such").unwrap();
/// # });
/// #[bot(crate = ttk_core)]
/// fn lookup(_cx: Cx, _id: usize, addr: String) -> std::io::Result<(u16, String, String)> {
///     let mut http = ttk_core::yield_!(HttpConnection::connect(&addr))?;
///     let response = ttk_core::yield_!(http.send(&Request::get("/missing")))?;
///     let kind = response.header("content-type").unwrap_or("").to_string();
///     Ok((response.status(), kind, response.text()?.to_string()))
/// }
///
/// let (status, kind, text) = ttk_core::run(1, |cx, id| lookup(cx, id, addr.clone()))
///     .pop().unwrap()?;
/// assert_eq!((status, kind.as_str(), text.as_str()), (404, "text/plain", "no such"));
/// # Ok(())
/// # }
/// ```
pub struct Response<'a> {
    /// The connection's read buffer.
    buf: &'a [u8],
    /// Where the parts are in it.
    head: &'a Head,
}

impl<'a> Response<'a> {
    /// The response in `buf` that `head` describes.
    pub(crate) fn new(buf: &'a [u8], head: &'a Head) -> Response<'a> {
        Response { buf, head }
    }

    /// The status code (`200`, `404`, …).
    ///
    /// # Examples
    /// See [`Response`].
    pub fn status(&self) -> u16 {
        self.head.status
    }

    /// The reason phrase (`"OK"`, `"Not Found"`, possibly empty); `""` if it is not UTF-8.
    ///
    /// # Examples
    /// See [`Response`].
    pub fn reason(&self) -> &'a str {
        std::str::from_utf8(&self.buf[self.head.reason.clone()]).unwrap_or("")
    }

    /// The minor version of HTTP/1.x the server answered with (`1`, or `0` for HTTP/1.0).
    ///
    /// # Examples
    /// See [`Response`].
    pub fn minor_version(&self) -> u8 {
        self.head.minor_version
    }

    /// The first header named `name` (compared case-insensitively), if any and if its value is
    /// UTF-8 (see [`Response::header_bytes`] for any value).
    ///
    /// # Examples
    /// See [`Response`].
    pub fn header(&self, name: &str) -> Option<&'a str> {
        self.header_bytes(name)
            .and_then(|value| std::str::from_utf8(value).ok())
    }

    /// The first header named `name` (compared case-insensitively), as bytes.
    ///
    /// # Examples
    /// See [`Response`].
    pub fn header_bytes(&self, name: &str) -> Option<&'a [u8]> {
        let buf = self.buf;
        self.head
            .headers
            .iter()
            .find(|(n, _)| buf[n.clone()].eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| &buf[v.clone()])
    }

    /// Every header, in order, as name and value bytes (names as the server spelled them).
    ///
    /// # Examples
    /// See [`Response`].
    pub fn headers(&self) -> impl Iterator<Item = (&'a str, &'a [u8])> + 'a {
        let buf = self.buf;
        self.head.headers.iter().map(move |(n, v)| {
            // httparse accepts only token characters in names, all ASCII.
            let name = std::str::from_utf8(&buf[n.clone()]).unwrap_or("");
            (name, &buf[v.clone()])
        })
    }

    /// The body, decoded from chunks if it was chunked; empty for none.
    ///
    /// # Examples
    /// See [`Response`].
    pub fn body(&self) -> &'a [u8] {
        &self.buf[self.head.body.clone()]
    }

    /// The body as UTF-8 text.
    ///
    /// # Errors
    /// `InvalidData` if it is not UTF-8.
    ///
    /// # Examples
    /// See [`Response`].
    pub fn text(&self) -> io::Result<&'a str> {
        std::str::from_utf8(self.body())
            .map_err(|error| invalid(format_args!("the response body is not UTF-8: {error}")))
    }
}

impl fmt::Debug for Response<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("status", &self.status())
            .field("reason", &self.reason())
            .field("headers", &self.head.headers.len())
            .field("body_len", &self.body().len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::{Head, Response};

    #[test]
    fn a_missing_or_empty_reason_phrase_is_empty() {
        for wire in [
            &b"HTTP/1.1 200\r\nA: b\r\n\r\n"[..],
            b"HTTP/1.1 200 \r\nA: b\r\n\r\n",
        ] {
            let mut head = Head::default();
            assert_eq!(head.parse(wire).unwrap(), Some(wire.len()));
            let response = Response::new(wire, &head);
            assert_eq!((response.status(), response.reason()), (200, ""));
            assert_eq!(response.header("a"), Some("b"));
        }
    }

    #[test]
    fn headers_are_found_case_insensitively_in_order() {
        let wire = b"HTTP/1.0 301 Moved\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\n\r\n";
        let mut head = Head::default();
        head.parse(wire).unwrap();
        let response = Response::new(wire, &head);
        assert_eq!(response.minor_version(), 0);
        assert_eq!(response.reason(), "Moved");
        assert_eq!(response.header("SET-COOKIE"), Some("a=1"));
        let cookies: Vec<_> = head.values(wire, "Set-Cookie").collect();
        assert_eq!(cookies, [&b"a=1"[..], b"b=2"]);
        assert!(head.lists(wire, "set-cookie", "B=2"));
    }
}
