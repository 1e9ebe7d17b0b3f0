//! A whole HTTP/2 response: [`Http2Response`].

use std::fmt;
use std::io;

use http::HeaderMap;

/// A response received over HTTP/2: status, headers, body (or only its length, for a request
/// that discards it) and trailers.
///
/// # Examples
/// ```
/// # use ttk_macros::bot;
/// # use ttk_core::Cx;
/// use ttk_http::Request;
/// use ttk_http::http2::Http2Connection;
///
/// #[bot(crate = ttk_core)]
/// fn fetch(_cx: Cx, _id: usize) -> std::io::Result<(u16, Vec<u8>)> {
///     let addr = ttk_http::http2::hello_h2c_server()?; // a canned h2c answer: "hello"
///     let mut h2 = ttk_core::yield_!(Http2Connection::connect(&format!("http://{addr}/")))?;
///     let response = ttk_core::yield_!(h2.send(&Request::get("/")))?;
///     assert_eq!(response.header("content-type"), Some("text/plain"));
///     Ok((response.status(), response.body().to_vec()))
/// }
///
/// let (status, body) = ttk_core::run(1, fetch).remove(0).unwrap();
/// assert_eq!((status, body.as_slice()), (200, &b"hello"[..]));
/// ```
#[derive(Clone)]
pub struct Http2Response {
    /// The status.
    pub(crate) status: u16,
    /// The headers.
    pub(crate) headers: HeaderMap,
    /// The body, unless discarded.
    pub(crate) body: Vec<u8>,
    /// The body's length, kept or not.
    pub(crate) body_len: u64,
    /// The trailers, if any came.
    pub(crate) trailers: Option<HeaderMap>,
}

impl Http2Response {
    /// The status code.
    ///
    /// # Examples
    /// See [`Http2Response`].
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The first value of header `name` (any case), if it is there and text.
    ///
    /// # Examples
    /// See [`Http2Response`].
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)?.to_str().ok()
    }

    /// Every header, name (lower case, as HTTP/2 sends them) and value, in order.
    ///
    /// # Examples
    /// See [`Http2Response`]; `headers()` yields `("content-type", b"text/plain")` there.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.headers
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_bytes()))
    }

    /// The body (empty if the request discarded it: see [`Http2Response::body_len`]).
    ///
    /// # Examples
    /// See [`Http2Response`].
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The body as text.
    ///
    /// # Errors
    /// `InvalidData` if the body is not UTF-8.
    ///
    /// # Examples
    /// See [`Http2Response`]; `text()` is `Ok("hello")` there.
    pub fn text(&self) -> io::Result<&str> {
        std::str::from_utf8(&self.body)
            .map_err(|error| io::Error::new(io::ErrorKind::InvalidData, error))
    }

    /// How many bytes of body came, kept or discarded.
    ///
    /// # Examples
    /// See [`Http2Response`]; `body_len()` is 5 there.
    pub fn body_len(&self) -> u64 {
        self.body_len
    }

    /// The first value of trailer `name` (any case), if trailers came with it and it is
    /// text: gRPC's `grpc-status` is one.
    ///
    /// # Examples
    /// See [`Http2Response`]; its server sends no trailers, so `trailer("x")` is `None`.
    pub fn trailer(&self, name: &str) -> Option<&str> {
        self.trailers.as_ref()?.get(name)?.to_str().ok()
    }

    /// The trailers as h2 gave them, if any came.
    ///
    /// # Examples
    /// See [`Http2Response`].
    pub fn trailers(&self) -> Option<&HeaderMap> {
        self.trailers.as_ref()
    }
}

impl fmt::Debug for Http2Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Http2Response")
            .field("status", &self.status)
            .field("headers", &self.headers.len())
            .field("body_len", &self.body_len)
            .field("trailers", &self.trailers.as_ref().map(HeaderMap::len))
            .finish()
    }
}
