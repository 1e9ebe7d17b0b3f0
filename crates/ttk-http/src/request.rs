//! An HTTP request to send, built once and sent as often as a bot likes.

use std::borrow::Cow;
use std::io::Write;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// An HTTP/1.1 request: method, path (with its query), headers, body and an optional timeout.
///
/// Build it once and send it many times with [`HttpConnection::send`](crate::HttpConnection::send):
/// sending borrows it, and encoding it reuses the connection's write buffer. What the request
/// does not set itself is added when it is encoded: `Host` (the connection's), `Content-Length`
/// (when there is a body, or the method is one that carries one) and `Connection: keep-alive`.
///
/// # Examples
/// ```
/// use ttk_http::Request;
///
/// let login = Request::post("/login")
///     .header("Content-Type", "application/json")
///     .body(r#"{"user":"bot-7"}"#);
/// let mut wire = Vec::new();
/// login.encode("game.example:8080", &mut wire);
/// assert_eq!(
///     wire,
///     b"POST /login HTTP/1.1\r\n\
///       Content-Type: application/json\r\n\
///       Host: game.example:8080\r\n\
///       Content-Length: 16\r\n\
///       Connection: keep-alive\r\n\
///       \r\n\
///       {\"user\":\"bot-7\"}"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The method, as sent (`GET`, `POST`, …).
    method: Cow<'static, str>,
    /// The request target: the path and its query, e.g. `/search?q=bots`.
    path: String,
    /// Headers in the order given, names as given.
    headers: Vec<(String, String)>,
    /// The body; empty for none.
    body: Vec<u8>,
    /// How long the whole exchange may take, if limited.
    timeout: Option<Duration>,
    /// How many redirects to follow (0: none, the default).
    redirects: u8,
    /// Whether the response's body is counted and dropped as it arrives instead of kept.
    discard_body: bool,
    /// Whether it may be sent again on a new connection when a reused one closes before
    /// answering; `None`: by its method and headers (see [`Request::retry_on_reuse`]).
    retry_on_reuse: Option<bool>,
    /// The request as last encoded, and for which host: a request sent again and again to
    /// one host is copied, not encoded, each time.
    encoded: EncodedOnce,
}

/// A request's encoding, kept from its second send on (a request built for one send costs no
/// copy). It is no part of the request's value: equal requests are equal whether or not one
/// was sent. The builder methods take the request by value and drop it with the change.
#[derive(Debug, Default)]
struct EncodedOnce {
    /// Whether the request was encoded once already.
    sent: AtomicBool,
    /// The host and the bytes encoded for it.
    bytes: OnceLock<(Box<str>, Box<[u8]>)>,
}

impl Clone for EncodedOnce {
    fn clone(&self) -> EncodedOnce {
        EncodedOnce {
            sent: AtomicBool::new(self.sent.load(Ordering::Relaxed)),
            bytes: self.bytes.clone(),
        }
    }
}

impl PartialEq for EncodedOnce {
    fn eq(&self, _: &EncodedOnce) -> bool {
        true
    }
}

impl Eq for EncodedOnce {}

impl Request {
    /// A request with any `method` (`"OPTIONS"`, `"PROPFIND"`, …) for `path`.
    ///
    /// # Examples
    /// ```
    /// let options = ttk_http::Request::new("OPTIONS", "*");
    /// assert_eq!(options.method(), "OPTIONS");
    /// ```
    pub fn new(method: impl Into<Cow<'static, str>>, path: impl Into<String>) -> Request {
        Request {
            method: method.into(),
            path: path.into(),
            headers: Vec::new(),
            body: Vec::new(),
            timeout: None,
            redirects: 0,
            discard_body: false,
            retry_on_reuse: None,
            encoded: EncodedOnce::default(),
        }
    }

    /// A `GET` for `path` (with its query, e.g. `"/scores?top=10"`).
    ///
    /// # Examples
    /// ```
    /// let scores = ttk_http::Request::get("/scores?top=10");
    /// assert_eq!((scores.method(), scores.path()), ("GET", "/scores?top=10"));
    /// ```
    pub fn get(path: impl Into<String>) -> Request {
        Request::new("GET", path)
    }

    /// A `HEAD` for `path`: its response has a head and never a body.
    ///
    /// # Examples
    /// ```
    /// assert_eq!(ttk_http::Request::head("/").method(), "HEAD");
    /// ```
    pub fn head(path: impl Into<String>) -> Request {
        Request::new("HEAD", path)
    }

    /// A `POST` for `path`; give it a [`body`](Request::body).
    ///
    /// # Examples
    /// ```
    /// let post = ttk_http::Request::post("/chat").body("hi");
    /// assert_eq!(post.body_bytes(), b"hi");
    /// ```
    pub fn post(path: impl Into<String>) -> Request {
        Request::new("POST", path)
    }

    /// A `PUT` for `path`.
    ///
    /// # Examples
    /// ```
    /// assert_eq!(ttk_http::Request::put("/me").method(), "PUT");
    /// ```
    pub fn put(path: impl Into<String>) -> Request {
        Request::new("PUT", path)
    }

    /// A `DELETE` for `path`.
    ///
    /// # Examples
    /// ```
    /// assert_eq!(ttk_http::Request::delete("/me").method(), "DELETE");
    /// ```
    pub fn delete(path: impl Into<String>) -> Request {
        Request::new("DELETE", path)
    }

    /// Adds a header. Setting `Host`, `Content-Length` or `Connection` replaces what would be
    /// added for it (`Connection: close` makes the server close after answering).
    ///
    /// # Examples
    /// ```
    /// let req = ttk_http::Request::get("/").header("Accept", "text/html");
    /// assert_eq!(req.headers().next(), Some(("Accept", "text/html")));
    /// ```
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Request {
        self.headers.push((name.into(), value.into()));
        self.encoded = EncodedOnce::default();
        self
    }

    /// Sets the body; `Content-Length` is added for it.
    ///
    /// # Examples
    /// ```
    /// let req = ttk_http::Request::put("/avatar").body(vec![0u8; 3]);
    /// assert_eq!(req.body_bytes(), [0, 0, 0]);
    /// ```
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Request {
        self.body = body.into();
        self.encoded = EncodedOnce::default();
        self
    }

    /// Limits the whole exchange — connecting if need be, writing the request, reading the
    /// response — to `limit`; past it, sending fails with `TimedOut` and the connection is
    /// replaced at the next request. (Wrapping a send in `ttk::timeout` works as well.)
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// let req = ttk_http::Request::get("/").timeout(Duration::from_secs(2));
    /// assert_eq!(req.timeout_limit(), Some(Duration::from_secs(2)));
    /// ```
    pub fn timeout(mut self, limit: Duration) -> Request {
        self.timeout = Some(limit);
        self
    }

    /// Follows up to `max` redirects (301, 302, 303, 307, 308 with a `Location` on the same
    /// host) instead of returning them: off (0) by default, as in wrk. 303 — and 301 or 302
    /// after a `POST` — continue as a `GET` without the body, as browsers do; 307 and 308 keep
    /// the method and body. Each hop is a request on the same connection, within the
    /// [`Request::timeout`] of its own. More redirects than `max`, or one to another host or
    /// scheme (a connection talks to one host), fail the send with `InvalidData`.
    ///
    /// # Examples
    /// ```
    /// let login = ttk_http::Request::get("/login").follow_redirects(5);
    /// assert_eq!(login.redirect_limit(), 5);
    /// assert_eq!(ttk_http::Request::get("/").redirect_limit(), 0);
    /// ```
    pub fn follow_redirects(mut self, max: u8) -> Request {
        self.redirects = max;
        self
    }

    /// How many redirects are followed (see [`Request::follow_redirects`]).
    ///
    /// # Examples
    /// See [`Request::follow_redirects`].
    pub fn redirect_limit(&self) -> u8 {
        self.redirects
    }

    /// Whether the response's body is counted and dropped as it streams in (`true`) or kept
    /// whole in the connection's read buffer (`false`, the default). A discarded body takes
    /// no more memory than one read, whatever its size, and is not limited by
    /// [`HttpConnection::set_max_body_len`](crate::HttpConnection::set_max_body_len):
    /// [`Response::body`](crate::Response::body) is then empty and
    /// [`Response::body_len`](crate::Response::body_len) says how many bytes it had. For a
    /// load test that checks status and headers, as `ttk http` does.
    ///
    /// # Examples
    /// ```
    /// let download = ttk_http::Request::get("/big.bin").discard_body(true);
    /// assert!(download.discards_body());
    /// assert!(!ttk_http::Request::get("/").discards_body());
    /// ```
    pub fn discard_body(mut self, discard: bool) -> Request {
        self.discard_body = discard;
        self
    }

    /// Whether the response's body is discarded (see [`Request::discard_body`]).
    ///
    /// # Examples
    /// See [`Request::discard_body`].
    pub fn discards_body(&self) -> bool {
        self.discard_body
    }

    /// Sets whether the request is sent again, once, on a new connection when it went out on
    /// a reused connection (one that already carried a complete response) and the server
    /// closed or reset that connection before a byte of the response came: the server most
    /// likely closed the connection while it was idle, as servers do after their keep-alive
    /// timeout (nginx: 75 s, Node.js and Apache: 5 s), and never saw the request.
    ///
    /// By default this is decided as Go's `net/http` decides it: yes for the methods RFC 9110
    /// calls idempotent (`GET`, `HEAD`, `PUT`, `DELETE`, `OPTIONS`, `TRACE`) and for a request
    /// with an `Idempotency-Key` or `X-Idempotency-Key` header; no otherwise (a `POST` the
    /// server may have acted on is not repeated). `true` or `false` here overrides that.
    ///
    /// The second attempt is part of the same [`send`](crate::HttpConnection::send): timed
    /// from the first, within the same [`Request::timeout`], one request for the caller. A
    /// request that fails on a new connection, or whose response had started to arrive, is
    /// never sent again.
    ///
    /// # Examples
    /// ```
    /// use ttk_http::Request;
    ///
    /// assert!(Request::get("/").retries_on_reuse());
    /// assert!(!Request::post("/order").retries_on_reuse());
    /// assert!(Request::post("/order").header("Idempotency-Key", "7f3a").retries_on_reuse());
    /// assert!(Request::post("/score").retry_on_reuse(true).retries_on_reuse());
    /// assert!(!Request::get("/once").retry_on_reuse(false).retries_on_reuse());
    /// ```
    pub fn retry_on_reuse(mut self, retry: bool) -> Request {
        self.retry_on_reuse = Some(retry);
        self
    }

    /// Whether the request is sent again on a new connection when a reused one closes
    /// before answering (see [`Request::retry_on_reuse`]).
    ///
    /// # Examples
    /// See [`Request::retry_on_reuse`].
    pub fn retries_on_reuse(&self) -> bool {
        self.retry_on_reuse.unwrap_or_else(|| {
            // RFC 9110, section 9.2.2; methods are case-sensitive.
            matches!(
                &*self.method,
                "GET" | "HEAD" | "PUT" | "DELETE" | "OPTIONS" | "TRACE"
            ) || self.has_header("idempotency-key")
                || self.has_header("x-idempotency-key")
        })
    }

    /// The request that follows a redirect of `status` to `path` (on the same host).
    pub(crate) fn redirected(&self, status: u16, path: &str) -> Request {
        let as_get = !self.is_head()
            && (status == 303
                || (matches!(status, 301 | 302) && self.method.eq_ignore_ascii_case("POST")));
        let mut next = Request::new(self.method.clone(), path);
        next.timeout = self.timeout;
        next.redirects = self.redirects;
        next.discard_body = self.discard_body;
        next.retry_on_reuse = self.retry_on_reuse;
        for (name, value) in &self.headers {
            let body_header = name.eq_ignore_ascii_case("content-length")
                || name.eq_ignore_ascii_case("content-type")
                || name.eq_ignore_ascii_case("transfer-encoding");
            if !(as_get && body_header) {
                next.headers.push((name.clone(), value.clone()));
            }
        }
        if as_get {
            next.method = Cow::Borrowed("GET");
        } else {
            next.body.clone_from(&self.body);
        }
        next
    }

    /// The method.
    ///
    /// # Examples
    /// ```
    /// assert_eq!(ttk_http::Request::get("/").method(), "GET");
    /// ```
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The path with its query.
    ///
    /// # Examples
    /// ```
    /// assert_eq!(ttk_http::Request::get("/a?b=c").path(), "/a?b=c");
    /// ```
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The headers set on the request, in order (not those added when it is encoded).
    ///
    /// # Examples
    /// ```
    /// let req = ttk_http::Request::get("/").header("X-Bot", "7");
    /// assert_eq!(req.headers().collect::<Vec<_>>(), [("X-Bot", "7")]);
    /// ```
    pub fn headers(&self) -> impl Iterator<Item = (&str, &str)> {
        self.headers.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// The body (empty for none).
    ///
    /// # Examples
    /// ```
    /// assert!(ttk_http::Request::get("/").body_bytes().is_empty());
    /// ```
    pub fn body_bytes(&self) -> &[u8] {
        &self.body
    }

    /// The timeout set with [`Request::timeout`].
    ///
    /// # Examples
    /// ```
    /// assert_eq!(ttk_http::Request::get("/").timeout_limit(), None);
    /// ```
    pub fn timeout_limit(&self) -> Option<std::time::Duration> {
        self.timeout
    }

    /// Whether the request has this header (the name compared case-insensitively).
    fn has_header(&self, name: &str) -> bool {
        self.headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case(name))
    }

    /// Whether the method's response never has a body.
    pub(crate) fn is_head(&self) -> bool {
        self.method.eq_ignore_ascii_case("HEAD")
    }

    /// Whether the request itself asks the server to close after answering.
    pub(crate) fn asks_close(&self) -> bool {
        self.headers
            .iter()
            .any(|(n, v)| n.eq_ignore_ascii_case("connection") && v.eq_ignore_ascii_case("close"))
    }

    /// Appends the request as [`Request::encode`] does: from a copy of its encoding for
    /// `host` once it was sent twice (a call for another host encodes afresh).
    pub(crate) fn encode_cached(&self, host: &str, out: &mut Vec<u8>) {
        if let Some((cached_host, bytes)) = self.encoded.bytes.get() {
            if **cached_host == *host {
                out.extend_from_slice(bytes);
            } else {
                self.encode(host, out);
            }
            return;
        }
        let start = out.len();
        self.encode(host, out);
        if self.encoded.sent.swap(true, Ordering::Relaxed) {
            // Sent again: it will likely be sent many times.
            let _ = self.encoded.bytes.set((host.into(), out[start..].into()));
        }
    }

    /// Appends the request as it goes on the wire to `out` — head, then body — adding `Host:
    /// host`, `Content-Length` and `Connection: keep-alive` where the request has not set
    /// them. Appending to a cleared buffer of enough capacity allocates nothing.
    ///
    /// # Examples
    /// ```
    /// let mut wire = Vec::new();
    /// ttk_http::Request::get("/").encode("localhost", &mut wire);
    /// assert_eq!(
    ///     wire,
    ///     b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: keep-alive\r\n\r\n"
    /// );
    /// ```
    pub fn encode(&self, host: &str, out: &mut Vec<u8>) {
        line(out, &[&self.method, " ", &self.path, " HTTP/1.1"]);
        for (name, value) in &self.headers {
            line(out, &[name, ": ", value]);
        }
        if !self.has_header("host") {
            line(out, &["Host: ", host]);
        }
        let carries_body = !self.body.is_empty()
            || ["POST", "PUT", "PATCH"]
                .iter()
                .any(|m| self.method.eq_ignore_ascii_case(m));
        if carries_body
            && !self.has_header("content-length")
            && !self.has_header("transfer-encoding")
        {
            // Writing a number into a Vec cannot fail.
            let _ = write!(out, "Content-Length: {}\r\n", self.body.len());
        }
        if !self.has_header("connection") {
            line(out, &["Connection: keep-alive"]);
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&self.body);
    }
}

/// Appends `parts` and a CRLF to `out`.
fn line(out: &mut Vec<u8>, parts: &[&str]) {
    for part in parts {
        out.extend_from_slice(part.as_bytes());
    }
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::Request;

    fn wire(req: &Request) -> String {
        let mut out = Vec::new();
        req.encode("h", &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn set_headers_replace_the_added_ones() {
        let req = Request::post("/")
            .header("host", "other")
            .header("Content-Length", "0")
            .header("Connection", "close");
        assert_eq!(
            wire(&req),
            "POST / HTTP/1.1\r\nhost: other\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        assert!(req.asks_close());
    }

    #[test]
    fn a_cached_encoding_is_the_encoding_for_its_host_only() {
        let req = Request::get("/x").header("A", "1");
        for host in ["h", "h", "other", "h"] {
            let (mut cached, mut fresh) = (b"before ".to_vec(), b"before ".to_vec());
            req.encode_cached(host, &mut cached);
            req.encode(host, &mut fresh);
            assert_eq!(cached, fresh);
        }
        // A changed copy is encoded afresh, and the cache is no part of equality.
        let changed = req.clone().header("B", "2");
        assert!(wire(&changed).contains("B: 2\r\n"));
        let mut out = Vec::new();
        changed.encode_cached("h", &mut out);
        assert_eq!(String::from_utf8(out).unwrap(), wire(&changed));
        assert_eq!(req, Request::get("/x").header("A", "1"));
    }

    #[test]
    fn an_empty_post_says_its_length() {
        assert!(wire(&Request::post("/")).contains("Content-Length: 0\r\n"));
        assert!(!wire(&Request::get("/")).contains("Content-Length"));
    }
}
