//! A response, borrowed from the connection's read buffer.

use std::fmt;
use std::io;
use std::mem::MaybeUninit;
use std::ops::Range;

use crate::error::invalid;

/// The headers parsed in an array on the stack: enough for nearly every response. A response
/// with more is parsed again with [`SpareHeaders`], so the head is limited by its length in
/// bytes, not by how many headers it has.
const STACK_HEADERS: usize = 64;

/// The first size of [`SpareHeaders`] (100 `Set-Cookie` lines fit).
const FIRST_SPARE_HEADERS: usize = 256;

/// The most header slots kept between responses: a head with more (only a hostile or broken
/// server sends thousands) gets its slots for itself, and they are let go after it (the spare
/// slots at once, the parsed headers at the next response), so one such response does not hold
/// hundreds of KiB per connection for the connection's life.
const KEPT_HEADERS: usize = 1024;

/// The fewest bytes a header line takes (`a:` and a line feed), so a head of `n` bytes has at
/// most `n / 3` headers.
const LEAST_HEADER_LINE: usize = 3;

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
    /// The body, decoded, when kept in the buffer (empty when discarded or streamed).
    pub(crate) body: Range<usize>,
    /// How many bytes the body had (decoded), kept or discarded.
    pub(crate) body_len: u64,
    /// What the headers that delimit the body and keep the connection say, found while
    /// parsing (one pass, instead of a search of the headers per question per response).
    pub(crate) framing: FramingHeaders,
    /// Room for the headers of responses with more than [`STACK_HEADERS`], kept for the next.
    spare: SpareHeaders,
}

/// Header slots for `httparse`, grown when a response has more headers than they hold (up to
/// what the head's byte limit allows) and reused from response to response.
#[derive(Default)]
struct SpareHeaders(Vec<MaybeUninit<httparse::Header<'static>>>);

impl fmt::Debug for SpareHeaders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SpareHeaders({} slots)", self.0.len())
    }
}

/// What a response's `Transfer-Encoding`, `Content-Length` and `Connection` headers say.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct FramingHeaders {
    /// The last `Transfer-Encoding` value, if any.
    pub(crate) transfer_encoding: Option<Range<usize>>,
    /// The `Content-Length`.
    pub(crate) content_length: ContentLength,
    /// Whether a `Connection` header lists `close`.
    pub(crate) close: bool,
    /// Whether a `Connection` header lists `keep-alive`.
    pub(crate) keep_alive: bool,
}

/// The `Content-Length` of a response.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) enum ContentLength {
    /// No such header.
    #[default]
    Absent,
    /// Every such header says this length.
    Length(usize),
    /// This value is not a length.
    Malformed(Range<usize>),
    /// Two headers say different lengths.
    Conflicting,
}

/// Whether `bytes`, a header's name or a token of its value, is `lower` in any case. `lower` is
/// lowercase letters and `-`. Setting bit 5 lowercases a letter, and only an uppercase letter
/// or carriage return (never in a parsed header) turns into a lowercase letter or `-` by it: the
/// same answer as `eq_ignore_ascii_case`, in about half the instructions, on a path every
/// response takes a few times.
fn is_lowercase_of(bytes: &[u8], lower: &[u8]) -> bool {
    bytes.len() == lower.len() && bytes.iter().zip(lower).all(|(&b, &l)| b | 0x20 == l)
}

impl FramingHeaders {
    /// Takes in the header `name: value` if it is one of these (`value` lies at `at` in the
    /// buffer).
    fn note(&mut self, name: &[u8], value: &[u8], at: Range<usize>) {
        // The length first: most headers are none of these, and differ in length.
        match name.len() {
            10 if is_lowercase_of(name, b"connection") => {
                for token in value.split(|&b| b == b',').map(<[u8]>::trim_ascii) {
                    self.close |= is_lowercase_of(token, b"close");
                    self.keep_alive |= is_lowercase_of(token, b"keep-alive");
                }
            }
            14 if is_lowercase_of(name, b"content-length") => {
                let parsed = std::str::from_utf8(value)
                    .ok()
                    .and_then(|v| v.trim().parse::<usize>().ok());
                self.content_length = match (&self.content_length, parsed) {
                    (ContentLength::Malformed(_) | ContentLength::Conflicting, _) => {
                        return;
                    }
                    (_, None) => ContentLength::Malformed(at),
                    (ContentLength::Length(old), Some(new)) if *old != new => {
                        ContentLength::Conflicting
                    }
                    (_, Some(new)) => ContentLength::Length(new),
                };
            }
            17 if is_lowercase_of(name, b"transfer-encoding") => {
                self.transfer_encoding = Some(at);
            }
            _ => {}
        }
    }
}

impl Head {
    /// Parses the response head at the start of `buf`: `Ok(Some(len))` with its length once it
    /// is complete, `Ok(None)` if more bytes are needed.
    ///
    /// # Errors
    /// `InvalidData` for a malformed head, or one with more headers than a head of `max_head`
    /// bytes can hold.
    pub(crate) fn parse(&mut self, buf: &[u8], max_head: usize) -> io::Result<Option<usize>> {
        // Left uninitialised: httparse writes the headers it returns, and filling 64 empty
        // ones (2 KiB) per response would cost more than parsing a small head.
        let mut headers = [const { MaybeUninit::uninit() }; STACK_HEADERS];
        if self.headers.capacity() > KEPT_HEADERS {
            // Grown by a head of thousands of headers: let it go (see `KEPT_HEADERS`).
            self.headers = Vec::new();
        }
        let mut response = httparse::Response::new(&mut []);
        match httparse::ParserConfig::default().parse_response_with_uninit_headers(
            &mut response,
            buf,
            &mut headers,
        ) {
            Err(httparse::Error::TooManyHeaders) => self.parse_many(buf, max_head),
            parsed => self.take(&response, parsed, buf),
        }
    }

    /// Parses a head with more than [`STACK_HEADERS`] headers into the spare slots, growing
    /// them as needed up to what a head of `max_head` bytes can hold.
    fn parse_many(&mut self, buf: &[u8], max_head: usize) -> io::Result<Option<usize>> {
        let most = max_head / LEAST_HEADER_LINE + 1;
        let mut spare = std::mem::take(&mut self.spare.0);
        let result = loop {
            if spare.len() <= STACK_HEADERS {
                spare.resize_with(FIRST_SPARE_HEADERS.min(most), MaybeUninit::uninit);
            }
            let (start, len) = (spare.as_mut_ptr(), spare.len());
            // SAFETY: the slice is `spare`'s `len` elements, and nothing else touches them
            // while it is used (the vector is resized only once `response`, which holds it, is
            // no longer used). As `Header<'_>` they have the layout they have as
            // `Header<'static>`: the types differ only in a lifetime. They are `MaybeUninit`:
            // httparse writes a slot before it reads it, and nothing reads them as
            // `Header<'static>` (each parse treats them as uninitialised again), so the `buf`
            // borrows left in them after this iteration are never read.
            let slots = unsafe {
                std::slice::from_raw_parts_mut(
                    start.cast::<MaybeUninit<httparse::Header<'_>>>(),
                    len,
                )
            };
            let mut response = httparse::Response::new(&mut []);
            match httparse::ParserConfig::default().parse_response_with_uninit_headers(
                &mut response,
                buf,
                slots,
            ) {
                Err(httparse::Error::TooManyHeaders) if spare.len() < most => {
                    let grown = (spare.len() * 2).min(most);
                    spare.resize_with(grown, MaybeUninit::uninit);
                }
                Err(httparse::Error::TooManyHeaders) => {
                    break Err(invalid(format_args!(
                        "the response head is over the limit of {max_head} bytes (more than \
                         {} headers)",
                        most - 1
                    )));
                }
                parsed => break self.take(&response, parsed, buf),
            }
        };
        if spare.len() > KEPT_HEADERS {
            spare = Vec::new();
        }
        self.spare.0 = spare;
        result
    }

    /// Takes in what httparse made of `buf`.
    fn take(
        &mut self,
        response: &httparse::Response<'_, '_>,
        parsed: httparse::Result<usize>,
        buf: &[u8],
    ) -> io::Result<Option<usize>> {
        let len = match parsed {
            Ok(httparse::Status::Complete(len)) => len,
            Ok(httparse::Status::Partial) => return Ok(None),
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
        self.framing = FramingHeaders::default();
        for header in response.headers.iter() {
            let value = at(header.value);
            self.framing
                .note(header.name.as_bytes(), header.value, value.clone());
            self.headers.push((at(header.name.as_bytes()), value));
        }
        self.body = len..len;
        self.body_len = 0;
        Ok(Some(len))
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

    /// The body, decoded from chunks if it was chunked; empty for none, and empty when the
    /// request discarded it ([`Request::discard_body`](crate::Request::discard_body)) or the
    /// response is streamed ([`HttpConnection::send_streaming`](crate::HttpConnection::send_streaming)).
    ///
    /// # Examples
    /// See [`Response`].
    pub fn body(&self) -> &'a [u8] {
        &self.buf[self.head.body.clone()]
    }

    /// How many bytes the body had (decoded from chunks if it was chunked), whether kept
    /// (then `body().len()`) or discarded as it arrived
    /// ([`Request::discard_body`](crate::Request::discard_body)); 0 for a streamed response,
    /// whose body is still to be read.
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
    /// #     while socket.read(&mut request).unwrap() > 0 {
    /// #         socket.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello").unwrap();
    /// #     }
    /// # });
    /// #[bot(crate = ttk_core)]
    /// fn lengths(_cx: Cx, _id: usize, addr: String) -> std::io::Result<[(usize, u64); 2]> {
    ///     let mut http = ttk_core::yield_!(HttpConnection::connect(&addr))?;
    ///     let kept = ttk_core::yield_!(http.send(&Request::get("/")))?;
    ///     let kept = (kept.body().len(), kept.body_len());
    ///     let dropped = ttk_core::yield_!(http.send(&Request::get("/").discard_body(true)))?;
    ///     Ok([kept, (dropped.body().len(), dropped.body_len())])
    /// }
    ///
    /// let lengths = ttk_core::run(1, |cx, id| lengths(cx, id, addr.clone())).pop().unwrap()?;
    /// assert_eq!(lengths, [(5, 5), (0, 5)]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn body_len(&self) -> u64 {
        self.head.body_len
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
            .field("body_len", &self.body_len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::{ContentLength, Head, Response, is_lowercase_of};

    #[test]
    fn is_lowercase_of_answers_as_eq_ignore_ascii_case_but_for_a_carriage_return() {
        for lower in b"abcdefghijklmnopqrstuvwxyz-".iter() {
            for byte in 0..=u8::MAX {
                let expected = [byte].eq_ignore_ascii_case(&[*lower]);
                let carriage_return_as_dash = byte == b'\r' && *lower == b'-';
                assert_eq!(
                    is_lowercase_of(&[byte], &[*lower]),
                    expected || carriage_return_as_dash,
                    "{byte:#x} against {:?}",
                    *lower as char
                );
            }
        }
        assert!(is_lowercase_of(b"Content-LENGTH", b"content-length"));
        assert!(!is_lowercase_of(b"Content-Lengti", b"content-length"));
        assert!(!is_lowercase_of(b"close ", b"close"));
    }

    #[test]
    fn a_missing_or_empty_reason_phrase_is_empty() {
        for wire in [
            &b"HTTP/1.1 200\r\nA: b\r\n\r\n"[..],
            b"HTTP/1.1 200 \r\nA: b\r\n\r\n",
        ] {
            let mut head = Head::default();
            assert_eq!(head.parse(wire, 1 << 16).unwrap(), Some(wire.len()));
            let response = Response::new(wire, &head);
            assert_eq!((response.status(), response.reason()), (200, ""));
            assert_eq!(response.header("a"), Some("b"));
        }
    }

    #[test]
    fn headers_are_found_case_insensitively_in_order() {
        let wire = b"HTTP/1.0 301 Moved\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\n\r\n";
        let mut head = Head::default();
        head.parse(wire, 1 << 16).unwrap();
        let response = Response::new(wire, &head);
        assert_eq!(response.minor_version(), 0);
        assert_eq!(response.reason(), "Moved");
        assert_eq!(response.header("SET-COOKIE"), Some("a=1"));
        let cookies: Vec<_> = response
            .headers()
            .filter(|(name, _)| name.eq_ignore_ascii_case("Set-Cookie"))
            .map(|(_, value)| value)
            .collect();
        assert_eq!(cookies, [&b"a=1"[..], b"b=2"]);
    }

    #[test]
    fn framing_headers_are_read_in_the_parse() {
        let parse = |wire: &[u8]| {
            let mut head = Head::default();
            head.parse(wire, 1 << 16).unwrap();
            head.framing
        };
        let keep = parse(
            b"HTTP/1.1 200 OK\r\nConnection: Upgrade, Keep-Alive\r\nContent-Length: 5\r\n\r\n",
        );
        assert!(keep.keep_alive && !keep.close);
        assert_eq!(keep.content_length, ContentLength::Length(5));
        let wire =
            b"HTTP/1.1 200 OK\r\nconnection: close\r\nTransfer-Encoding: gzip, chunked\r\n\r\n";
        let chunked = parse(wire);
        assert!(chunked.close);
        assert_eq!(&wire[chunked.transfer_encoding.unwrap()], b"gzip, chunked");
        let twice = parse(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n");
        assert_eq!(twice.content_length, ContentLength::Conflicting);
        let same = parse(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\ncontent-length: 5\r\n\r\n");
        assert_eq!(same.content_length, ContentLength::Length(5));
        let bad = parse(b"HTTP/1.1 200 OK\r\nContent-Length: five\r\nContent-Length: 5\r\n\r\n");
        assert!(matches!(bad.content_length, ContentLength::Malformed(_)));
    }
}
