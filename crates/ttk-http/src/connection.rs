//! A bot's HTTP/1.1 connection: one socket, a read buffer and a write buffer, all reused.

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use ttk_net::TcpStream;
use ttk_tls::{MaybeTls, TlsConnector};

use address::{connect_tcp, server_name, strip_scheme};

use crate::error::closed_early;
use crate::reconnect::{Reconnect, Reconnects, copy_of};
use crate::request::Request;
use crate::response::{Head, Response};

pub(crate) mod address;
mod body;
mod idle;
mod reading;
mod redirect;
mod retry;

use body::BodyProgress;

/// The read buffer's first size, and the least free space a read is given.
const READ_CHUNK: usize = 8 * 1024;

/// The default [`HttpConnection::set_max_head_len`]: wrk's (http_parser's
/// `HTTP_MAX_HEADER_SIZE`), so that every head wrk reads is read here too. Servers' own limits
/// on a request's head are lower (nginx 32 KiB, Node.js 16 KiB); the buffer grows only as far
/// as the heads received need.
const DEFAULT_MAX_HEAD: usize = 80 * 1024;

/// The default [`HttpConnection::set_max_body_len`].
const DEFAULT_MAX_BODY: usize = 16 * 1024 * 1024;

/// What is known about a request waiting for its response.
#[derive(Debug, Clone, Copy)]
struct Expect {
    /// It was a `HEAD`: the response has no body.
    is_head: bool,
    /// It asked the server to close the connection after answering.
    asks_close: bool,
    /// Its [`Request::timeout`].
    timeout: Option<Duration>,
    /// What becomes of the response's body.
    body: BodyMode,
    /// It may be written again on a new connection if a reused one closes before answering
    /// ([`Request::retries_on_reuse`]).
    retry: bool,
}

/// What becomes of a response's body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyMode {
    /// Kept whole in the read buffer, for [`Response::body`].
    Keep,
    /// Counted and dropped as it arrives ([`Request::discard_body`]).
    Discard,
    /// Left for [`HttpConnection::read_body`] ([`HttpConnection::send_streaming`]).
    Stream,
}

/// An HTTP/1.1 client connection for one bot: [`connect`](HttpConnection::connect) once, then
/// [`send`](HttpConnection::send) requests one after another on the same kept-alive socket.
///
/// Its read and write buffers live as long as it does, so a request/response costs about one
/// `write` and one `read` and, once the buffers have grown to the responses' size, allocates
/// nothing. If the server closes the connection (`Connection: close`, an HTTP/1.0 answer, a
/// body cut by the close) or a request fails or is abandoned part way (any error but
/// `InvalidInput` for a misuse, a [`Request::timeout`], a dropped future, a streamed body
/// left unread), the next request opens a new connection to the same address. A request that
/// went out on a reused connection the server had closed while it was idle, and got no byte
/// of answer, is sent again once on a new one ([`Request::retry_on_reuse`]). Redirects are
/// returned unless the request asks to follow them ([`Request::follow_redirects`]). Bodies are
/// kept whole ([`Response::body`]), discarded as they arrive ([`Request::discard_body`]) or
/// read piece by piece into the caller's buffer ([`HttpConnection::send_streaming`]).
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
/// #         socket.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok").unwrap();
/// #     }
/// # });
/// #[bot(crate = ttk_core)]
/// fn poll_status(_cx: Cx, _id: usize, addr: String) -> std::io::Result<u64> {
///     let mut http = ttk_core::yield_!(HttpConnection::connect(&addr))?;
///     let status = Request::get("/status");
///     for _ in 0..3 {
///         let response = ttk_core::yield_!(http.send(&status))?;
///         assert_eq!((response.status(), response.body()), (200, &b"ok"[..]));
///     }
///     Ok(http.connections_opened())
/// }
///
/// let opened = ttk_core::run(1, |cx, id| poll_status(cx, id, addr.clone())).pop().unwrap()?;
/// assert_eq!(opened, 1); // three requests, one connection
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct HttpConnection {
    /// The socket (with TLS over it for `https`), `None` once the server closed it or it was
    /// given up.
    stream: Option<MaybeTls>,
    /// The server's address, for reconnecting.
    addr: SocketAddr,
    /// The source address reconnects leave from, if set ([`HttpConnection::set_source`]).
    source: Option<SocketAddr>,
    /// How to make TLS connections (`https`), with the server's name for SNI and certificate
    /// checks; `None` for plain HTTP.
    tls: Option<(TlsConnector, Box<str>)>,
    /// The `Host` header's value: the authority given to `connect`.
    host: String,
    /// The read buffer: the current response at `0..next`, bytes after it up to `end`.
    read_buf: Vec<u8>,
    /// End of the bytes read.
    end: usize,
    /// End of the current response (where the next one starts).
    next: usize,
    /// The encoded requests, reused: those at `..flushed` written on this socket and kept
    /// until an answer starts (to be written again on a new connection if the server closed
    /// this one without answering), those after it queued.
    write_buf: Vec<u8>,
    /// How much of `write_buf` was written on this socket.
    flushed: usize,
    /// How many requests `write_buf` encodes.
    buffered: usize,
    /// The current response's parts.
    head: Head,
    /// The longest response head accepted.
    max_head: usize,
    /// The longest response body accepted.
    max_body: usize,
    /// The requests waiting for a response, oldest first (those queued and not yet written
    /// are encoded in `write_buf`).
    awaiting: VecDeque<Expect>,
    /// Requests written on a connection the server closed before answering them: each next
    /// `receive` reports one.
    lost: usize,
    /// An operation was started and not finished (or failed, or a streamed body is not read
    /// to its end): the next operation starts over on a new connection.
    broken: bool,
    /// Connections opened so far.
    opened: u64,
    /// TLS handshakes this connection made itself (reconnects), resumed ones apart:
    /// `(full, resumed)`.
    handshakes: (u64, u64),
    /// Complete responses received on this socket (0: it is new).
    served: u64,
    /// Nothing was read on this socket since `write_buf[..flushed]` started to be written.
    silent: bool,
    /// When the last write of requests was done.
    written_at: Option<std::time::Instant>,
    /// The body being read piece by piece, once its response's head was read.
    body: Option<BodyProgress>,
    /// Requests sent again on a new connection.
    retries: u64,
    /// Connections given up before a request because the server had sent bytes after its last
    /// answer that no request asked for.
    unasked: u64,
    /// Connections made again inside requests, for [`HttpConnection::take_reconnects`].
    reconnects: Reconnects,
}

impl HttpConnection {
    /// Connects to `authority` (`"host:port"`, e.g. `"127.0.0.1:8080"` or
    /// `"localhost:8080"`; port 80 if it has none), which is also sent as every request's
    /// `Host`. A host name is looked up once, without blocking the loop; the first of its
    /// addresses that accepts is used, and reconnects go to the same one. The socket has
    /// `TCP_NODELAY` set.
    ///
    /// A URL's scheme and authority are taken too: `"http://host:8080"`, and
    /// `"https://host:8443"` for TLS with the system's roots (with a connector of one's own —
    /// a CA, a client certificate, no certificate check — use
    /// [`connect_tls`](HttpConnection::connect_tls)). A path after the authority is ignored.
    ///
    /// # Errors
    /// Those of [`ttk_net::lookup_host`] and [`TcpStream::connect`]; for `https://`, those of
    /// [`HttpConnection::connect_tls`].
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use ttk_http::HttpConnection;
    ///
    /// #[bot(crate = ttk_core)]
    /// fn refused(_cx: Cx, _id: usize) -> [std::io::ErrorKind; 2] {
    ///     // Port 1 on loopback: nothing listens.
    ///     let plain = ttk_core::yield_!(HttpConnection::connect("127.0.0.1:1"));
    ///     let https = ttk_core::yield_!(HttpConnection::connect("https://127.0.0.1:1/"));
    ///     [plain.unwrap_err().kind(), https.unwrap_err().kind()]
    /// }
    ///
    /// let refused_twice = [std::io::ErrorKind::ConnectionRefused; 2];
    /// assert_eq!(ttk_core::run(1, refused)[0], refused_twice);
    /// ```
    pub async fn connect(authority: &str) -> io::Result<HttpConnection> {
        let (https, authority) = strip_scheme(authority)?;
        if https {
            let tls = TlsConnector::system_default()?.for_one_client();
            return HttpConnection::connect_tls(authority, &tls).await;
        }
        let stream = connect_tcp(authority, 80).await?;
        HttpConnection::over(MaybeTls::Plain(stream), authority, None)
    }

    /// Connects to `authority` (`"host:port"`; port 443 if it has none) over TLS, made with
    /// `tls` (its roots, client certificate, resumption: see [`TlsConnector`]): an `https`
    /// connection. The host is the TLS server name (SNI, and the name the certificate must
    /// carry). Reconnects make a new TLS connection with the same connector, resuming the
    /// session if it allows. Otherwise as [`HttpConnection::connect`].
    ///
    /// # Errors
    /// Those of [`HttpConnection::connect`], and of [`TlsConnector::connect`]: certificate and
    /// handshake failures with kinds of their own (`TlsUnknownIssuer`, `TlsWrongHost`, …).
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use ttk_http::HttpConnection;
    /// use ttk_tls::TlsConnector;
    ///
    /// #[bot(crate = ttk_core)]
    /// fn refused(_cx: Cx, _id: usize, tls: TlsConnector) -> std::io::ErrorKind {
    ///     let https = HttpConnection::connect_tls("127.0.0.1:1", &tls);
    ///     ttk_core::yield_!(https).unwrap_err().kind()
    /// }
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let tls = TlsConnector::builder().insecure(true).build()?.for_one_client();
    /// let kinds = ttk_core::run(1, |cx, id| refused(cx, id, tls.clone()));
    /// assert_eq!(kinds[0], std::io::ErrorKind::ConnectionRefused);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn connect_tls(authority: &str, tls: &TlsConnector) -> io::Result<HttpConnection> {
        let stream = connect_tcp(authority, 443).await?;
        let stream = tls.connect(server_name(authority), stream).await?;
        HttpConnection::over(MaybeTls::from(stream), authority, Some(tls))
    }

    /// An HTTP connection over `stream`, connected (and, for TLS, through its handshake) by the
    /// caller: for a load test that times the TCP connect and the TLS handshake apart.
    /// `authority` is sent as `Host`; reconnects go to the stream's peer address, over TLS made
    /// by `tls` if given.
    ///
    /// # Errors
    /// `NotConnected` if the stream is no longer connected; `InvalidInput` for a TLS stream
    /// without its connector, or a connector with a plain stream (reconnects would not speak
    /// what the stream speaks).
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use ttk_http::HttpConnection;
    /// use ttk_net::{TcpListener, TcpStream};
    /// use ttk_tls::MaybeTls;
    ///
    /// #[bot(crate = ttk_core)]
    /// fn by_hand(_cx: Cx, _id: usize) -> std::io::Result<bool> {
    ///     let listener = TcpListener::bind("127.0.0.1:0")?;
    ///     let addr = listener.local_addr()?;
    ///     let tcp = ttk_core::yield_!(TcpStream::connect(addr))?; // time it as you like
    ///     let http = HttpConnection::over(MaybeTls::Plain(tcp), &addr.to_string(), None)?;
    ///     Ok(http.is_open())
    /// }
    ///
    /// assert!(ttk_core::run(1, by_hand)[0].as_ref().unwrap());
    /// ```
    pub fn over(
        stream: MaybeTls,
        authority: &str,
        tls: Option<&TlsConnector>,
    ) -> io::Result<HttpConnection> {
        if stream.is_tls() != tls.is_some() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "HttpConnection::over needs the TlsConnector of a TLS stream (to reconnect over \
                 TLS) and none for a plain one",
            ));
        }
        let addr = stream.get_ref().peer_addr()?;
        let mut connection = HttpConnection {
            stream: None,
            addr,
            source: None,
            tls: tls.map(|tls| (tls.clone(), server_name(authority).into())),
            host: authority.to_string(),
            read_buf: Vec::new(),
            end: 0,
            next: 0,
            write_buf: Vec::new(),
            flushed: 0,
            buffered: 0,
            head: Head::default(),
            max_head: DEFAULT_MAX_HEAD,
            max_body: DEFAULT_MAX_BODY,
            awaiting: VecDeque::new(),
            lost: 0,
            broken: false,
            opened: 0,
            handshakes: (0, 0),
            served: 0,
            silent: false,
            written_at: None,
            body: None,
            retries: 0,
            unasked: 0,
            reconnects: Reconnects::default(),
        };
        connection.adopt(stream)?;
        Ok(connection)
    }

    /// Opens a new connection to the same address, dropping any bytes left from the old one.
    async fn reconnect(&mut self) -> io::Result<()> {
        self.stream = None;
        self.end = 0;
        self.next = 0;
        // Nothing of the old connection counts for the new one: a failure to open it is a real
        // failure, never a reused connection's close.
        self.served = 0;
        self.silent = false;
        // Kept at once, as timed out, and filled in as it goes: a request's timeout that
        // drops this connect part way leaves it so.
        let timed_out = || Err(io::ErrorKind::TimedOut.into());
        self.reconnects.push(Reconnect {
            started: ttk_core::now(),
            connected: timed_out(),
            handshaken: None,
        });
        let stream = match self.source {
            Some(source) => TcpStream::connect_from(source, self.addr).await,
            None => TcpStream::connect(self.addr).await,
        };
        let record = self.reconnects.last_mut();
        let stream = match stream {
            Ok(stream) => {
                if let Some(record) = record {
                    record.connected = Ok(ttk_core::now());
                    record.handshaken = self.tls.as_ref().map(|_| timed_out());
                }
                stream
            }
            Err(error) => {
                if let Some(record) = record {
                    record.connected = Err(copy_of(&error));
                }
                return Err(error);
            }
        };
        let stream = match &self.tls {
            None => MaybeTls::Plain(stream),
            Some((tls, name)) => {
                let stream = tls.connect(name, stream).await;
                if let Some(record) = self.reconnects.last_mut() {
                    record.handshaken = Some(match &stream {
                        Ok(_) => Ok(ttk_core::now()),
                        Err(error) => Err(copy_of(error)),
                    });
                }
                let stream = stream?;
                if stream.is_resumed() {
                    self.handshakes.1 += 1;
                } else {
                    self.handshakes.0 += 1;
                }
                MaybeTls::from(stream)
            }
        };
        self.adopt(stream)
    }

    /// Makes the connections this one opens again (after the server closed it, or to send a
    /// request again) leave from `source` (port 0: any), as the first did: a run that spreads
    /// its connections over source addresses keeps them spread.
    ///
    /// # Examples
    /// ```
    /// # async fn f(http: &mut ttk_http::HttpConnection) {
    /// http.set_source("127.0.0.2:0".parse().unwrap());
    /// # }
    /// ```
    pub fn set_source(&mut self, source: SocketAddr) {
        self.source = Some(source);
    }

    /// Makes `stream`, just connected, the connection.
    fn adopt(&mut self, stream: MaybeTls) -> io::Result<()> {
        stream.get_ref().set_nodelay(true)?;
        self.stream = Some(stream);
        self.opened += 1;
        self.served = 0;
        Ok(())
    }

    /// Sets the longest response head (status line and headers) accepted, 80 KiB by default
    /// (wrk's limit); a longer one fails the request with `InvalidData`. Only this limits the
    /// head: it may have any number of headers that fit (up to 64 are parsed on the stack,
    /// more in an array kept for the next response).
    ///
    /// # Examples
    /// ```
    /// # async fn f(http: &mut ttk_http::HttpConnection) {
    /// http.set_max_head_len(64 * 1024);
    /// # }
    /// ```
    pub fn set_max_head_len(&mut self, limit: usize) {
        self.max_head = limit;
    }

    /// Sets the longest response body kept (decoded), 16 MiB by default; a longer one fails
    /// the request with `InvalidData`. The read buffer grows to hold the longest body kept.
    /// Bodies discarded ([`Request::discard_body`]) or streamed
    /// ([`HttpConnection::send_streaming`]) are not limited: they never fill the buffer.
    ///
    /// # Examples
    /// ```
    /// # async fn f(http: &mut ttk_http::HttpConnection) {
    /// http.set_max_body_len(1024 * 1024);
    /// # }
    /// ```
    pub fn set_max_body_len(&mut self, limit: usize) {
        self.max_body = limit;
    }

    /// How many TCP connections this client has opened: 1 after `connect`, more after the
    /// server closed one, a request was given up or one was sent again
    /// ([`HttpConnection::retries`]).
    ///
    /// # Examples
    /// See [`HttpConnection`].
    pub fn connections_opened(&self) -> u64 {
        self.opened
    }

    /// The TLS handshakes this connection made itself, `(full, resumed)`: those of the
    /// connections it opened again (after the server closed one, or to send a request again).
    /// The first connection's handshake is not among them (it was made by
    /// [`connect_tls`](HttpConnection::connect_tls), or by the caller for
    /// [`over`](HttpConnection::over)).
    ///
    /// # Examples
    /// ```
    /// # fn f(https: &ttk_http::HttpConnection) {
    /// let (full, resumed) = https.tls_handshakes();
    /// println!("{full} full and {resumed} resumed handshakes on reconnects");
    /// # }
    /// ```
    pub fn tls_handshakes(&self) -> (u64, u64) {
        self.handshakes
    }

    /// The server's address.
    ///
    /// # Examples
    /// ```
    /// # async fn f(http: &ttk_http::HttpConnection) {
    /// println!("talking to {}", http.peer_addr());
    /// # }
    /// ```
    pub fn peer_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Sends `request` and reads its response, which borrows the connection until the next
    /// request. Reconnects first if the last connection was closed or left in an unknown state.
    /// The body is kept whole ([`Response::body`]), or counted and dropped as it arrives if
    /// the request says so ([`Request::discard_body`]).
    ///
    /// If the request went out on a reused connection (one that already carried a complete
    /// response) and the server closed or reset it before a byte of the response came, as
    /// servers do with connections they kept idle too long, the request is sent again, once, on
    /// a new connection, if [`Request::retries_on_reuse`] (idempotent methods by default).
    /// That is all inside this call: the caller times and counts one request.
    ///
    /// # Errors
    /// `InvalidData` for a malformed response, or one whose head or body is over the limits,
    /// or a redirect not followed (over the limit, to another host);
    /// `UnexpectedEof` if the server closed the connection before the response was complete
    /// (on a new connection, or with a request not sent again); `TimedOut` past the request's
    /// [`Request::timeout`]; the socket's errors. After any of these the next request opens a
    /// new connection. `InvalidInput` if pipelined requests ([`HttpConnection::queue`]) still
    /// await their responses: nothing is sent, and the connection stays as it was.
    ///
    /// # Examples
    /// See [`HttpConnection`] and [`Response`].
    pub async fn send(&mut self, request: &Request) -> io::Result<Response<'_>> {
        let body = if request.discards_body() {
            BodyMode::Discard
        } else {
            BodyMode::Keep
        };
        self.exchange(request, body).await?;
        Ok(Response::new(&self.read_buf, &self.head))
    }

    /// Sends `request` as [`send`](HttpConnection::send) does, but returns once the response's
    /// head is read: its body is then read piece by piece into the caller's buffer with
    /// [`read_body`](HttpConnection::read_body), and takes no more room in the connection than
    /// one read, whatever its size ([`HttpConnection::set_max_body_len`] does not apply). The
    /// [`Response`] has the status and headers; its body is empty.
    ///
    /// The request's [`Request::timeout`] covers the exchange up to the head; wrap each
    /// `read_body` in [`ttk_core::timeout`] to limit the rest. Once `read_body` returned 0 the
    /// connection is ready for the next request; one sent, queued or flushed before the body
    /// was read to its end abandons the rest: it opens a new connection (the rest of the body
    /// is never read). Redirects followed ([`Request::follow_redirects`]) have their own bodies
    /// discarded; the body streamed is the last response's.
    ///
    /// # Errors
    /// Those of [`HttpConnection::send`].
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
    /// #         socket.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
    /// #             6\r\nhello \r\n5\r\nworld\r\n0\r\n\r\n").unwrap();
    /// #     }
    /// # });
    /// #[bot(crate = ttk_core)]
    /// fn download(_cx: Cx, _id: usize, addr: String) -> std::io::Result<(Vec<u8>, u64)> {
    ///     let mut http = ttk_core::yield_!(HttpConnection::connect(&addr))?;
    ///     let response = ttk_core::yield_!(http.send_streaming(&Request::get("/file")))?;
    ///     assert_eq!(response.status(), 200);
    ///     let (mut file, mut piece) = (Vec::new(), [0; 4]);
    ///     loop {
    ///         let n = ttk_core::yield_!(http.read_body(&mut piece))?;
    ///         if n == 0 {
    ///             break;
    ///         }
    ///         file.extend_from_slice(&piece[..n]);
    ///     }
    ///     // The body was read to its end: the next request uses the same connection.
    ///     ttk_core::yield_!(http.send(&Request::get("/file")))?;
    ///     Ok((file, http.connections_opened()))
    /// }
    ///
    /// let (file, opened) = ttk_core::run(1, |cx, id| download(cx, id, addr.clone()))
    ///     .pop().unwrap()?;
    /// assert_eq!((&file[..], opened), (&b"hello world"[..], 1));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn send_streaming(&mut self, request: &Request) -> io::Result<Response<'_>> {
        self.exchange(request, BodyMode::Stream).await?;
        Ok(Response::new(&self.read_buf, &self.head))
    }

    /// Sends `request` and reads its response (its head only when streamed), following
    /// redirects if it asks to; after an error the next request opens a new connection.
    async fn exchange(&mut self, request: &Request, body: BodyMode) -> io::Result<()> {
        self.recover();
        let waiting = self.pending();
        if waiting > 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "{waiting} pipelined requests still await their responses: receive them \
                     before sending another request"
                ),
            ));
        }
        let result = self.follow(request, body).await;
        if result.is_err() {
            // Whatever failed (the server, the socket, a redirect not followed), the next
            // request starts on a new connection.
            self.broken = true;
        }
        result
    }

    /// Sends `request` and each redirect it asks to follow.
    async fn follow(&mut self, request: &Request, body: BodyMode) -> io::Result<()> {
        self.queue_as(request, body);
        // Each hop follows from the request that received the redirect (a 307 after a 303
        // keeps the GET the 303 made), with the original's limit.
        let mut hops = 0;
        let mut current: Option<Request> = None;
        loop {
            // One place that waits for a response: each place would hold its own copy of the
            // response's future in this one, a kilobyte each.
            self.receive_in_time().await?;
            let Some(next) = self.redirect(current.as_ref().unwrap_or(request), hops)? else {
                return Ok(());
            };
            if body == BodyMode::Stream {
                // The redirect's own body is no part of what the caller reads.
                let limit = current.as_ref().unwrap_or(request).timeout_limit();
                let close = within(limit, self.skip_body()).await?;
                self.complete(close);
            }
            hops += 1;
            self.queue_as(&next, body);
            current = Some(next);
        }
    }

    /// Whether the next request goes out on the connection already open: false once the
    /// server closed it (`Connection: close`, an HTTP/1.0 answer, a body cut by the close), an
    /// operation failed (any error but `InvalidInput` for a misuse) or was abandoned part way,
    /// or while a streamed body is not read to its end; the next request then opens a new one.
    /// (A connection the server closed while idle still counts as open until a request finds
    /// out; that request is then sent again on a new one, see [`Request::retry_on_reuse`].)
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
    /// #     socket.write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok").unwrap();
    /// # });
    /// #[bot(crate = ttk_core)]
    /// fn once(_cx: Cx, _id: usize, addr: String) -> std::io::Result<(bool, bool)> {
    ///     let mut http = ttk_core::yield_!(HttpConnection::connect(&addr))?;
    ///     let before = http.is_open();
    ///     ttk_core::yield_!(http.send(&Request::get("/")))?; // answered with Connection: close
    ///     Ok((before, http.is_open()))
    /// }
    ///
    /// let open = ttk_core::run(1, |cx, id| once(cx, id, addr.clone())).pop().unwrap()?;
    /// assert_eq!(open, (true, false)); // a load test may time the reconnect as a connect
    /// # Ok(())
    /// # }
    /// ```
    pub fn is_open(&self) -> bool {
        self.stream.is_some() && !self.broken
    }

    /// The connections this one made again on its own, inside requests (the next request
    /// after the server closed one, or a request sent again after a close it met), not yet
    /// taken: when each started and how its connect and handshake went, oldest first. The
    /// first connection is not among them.
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
    /// #     for socket in listener.incoming().take(2) {
    /// #         let mut socket = socket.unwrap();
    /// #         let mut request = [0; 1024];
    /// #         let _ = socket.read(&mut request).unwrap();
    /// #         socket.write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok").unwrap();
    /// #     }
    /// # });
    /// #[bot(crate = ttk_core)]
    /// fn twice(_cx: Cx, _id: usize, addr: String) -> std::io::Result<usize> {
    ///     let mut http = ttk_core::yield_!(HttpConnection::connect(&addr))?;
    ///     ttk_core::yield_!(http.send(&Request::get("/")))?; // answered, then closed
    ///     ttk_core::yield_!(http.send(&Request::get("/")))?; // on a connection made again
    ///     let made_again: Vec<_> = http.take_reconnects().collect();
    ///     assert!(made_again[0].connected.is_ok() && made_again[0].handshaken.is_none());
    ///     Ok(made_again.len())
    /// }
    ///
    /// let made = ttk_core::run(1, |cx, id| twice(cx, id, addr.clone())).pop().unwrap()?;
    /// assert_eq!(made, 1);
    /// # Ok(())
    /// # }
    /// ```
    pub fn take_reconnects(&mut self) -> impl Iterator<Item = Reconnect> + '_ {
        self.reconnects.take()
    }

    /// Queues `request` for pipelining: it is encoded after any queued before it, and all are
    /// written together (one `write`) by [`flush`](HttpConnection::flush) or the next
    /// [`receive`](HttpConnection::receive), which then return the responses in order. Only
    /// pipeline requests the server may answer in any case (idempotent ones, usually).
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
    /// #     let mut got = Vec::new();
    /// #     let mut buf = [0; 1024];
    /// #     while got.windows(4).filter(|w| w == b"\r\n\r\n").count() < 3 {
    /// #         let n = socket.read(&mut buf).unwrap();
    /// #         got.extend_from_slice(&buf[..n]);
    /// #     }
    /// #     for body in ["a", "b", "c"] {
    /// #         write!(socket, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n{body}").unwrap();
    /// #     }
    /// #     let _ = socket.read(&mut buf);
    /// # });
    /// #[bot(crate = ttk_core)]
    /// fn three_at_once(_cx: Cx, _id: usize, addr: String) -> std::io::Result<String> {
    ///     let mut http = ttk_core::yield_!(HttpConnection::connect(&addr))?;
    ///     for path in ["/a", "/b", "/c"] {
    ///         http.queue(&Request::get(path));
    ///     }
    ///     let mut bodies = String::new();
    ///     for _ in 0..3 {
    ///         bodies += ttk_core::yield_!(http.receive())?.text()?;
    ///     }
    ///     Ok(bodies)
    /// }
    ///
    /// let bodies = ttk_core::run(1, |cx, id| three_at_once(cx, id, addr.clone())).pop().unwrap()?;
    /// assert_eq!(bodies, "abc");
    /// # Ok(())
    /// # }
    /// ```
    pub fn queue(&mut self, request: &Request) {
        let body = if request.discards_body() {
            BodyMode::Discard
        } else {
            BodyMode::Keep
        };
        self.queue_as(request, body);
    }

    /// Queues `request`, its response's body to become what `body` says.
    fn queue_as(&mut self, request: &Request, body: BodyMode) {
        self.recover();
        request.encode_cached(&self.host, &mut self.write_buf);
        self.buffered += 1;
        self.awaiting.push_back(Expect {
            is_head: request.is_head(),
            asks_close: request.asks_close(),
            timeout: request.timeout_limit(),
            body,
            retry: request.retries_on_reuse(),
        });
    }

    /// How many requests await their responses: queued or written, not yet received.
    ///
    /// # Examples
    /// ```
    /// # async fn f(http: &mut ttk_http::HttpConnection) {
    /// http.queue(&ttk_http::Request::get("/"));
    /// assert_eq!(http.pending(), 1);
    /// # }
    /// ```
    pub fn pending(&self) -> usize {
        self.awaiting.len() + self.lost
    }

    /// Writes the queued requests (one `write`), connecting first if need be. If the
    /// connection is a reused one the server closed (the write fails with a reset or a broken
    /// pipe before any answer came), they are written again on a new connection when every
    /// request waiting may be ([`Request::retries_on_reuse`]).
    ///
    /// # Errors
    /// Those of [`TcpStream::connect`] and [`TcpStream::write_all`]; the queued requests are
    /// then dropped and the next request opens a new connection.
    ///
    /// # Examples
    /// See [`HttpConnection::queue`]; [`receive`](HttpConnection::receive) flushes by itself.
    pub async fn flush(&mut self) -> io::Result<()> {
        self.recover();
        if self.flushed == self.write_buf.len() {
            return Ok(());
        }
        // Until this completes the connection's state is unknown: an error or a dropped future
        // leaves `broken` set, and the next use starts over on a new connection.
        self.broken = true;
        match self.write_queued().await {
            Err(error) if self.may_resend(&error) => self.resend().await?,
            written => written?,
        }
        self.broken = false;
        Ok(())
    }

    /// Reads the response to the oldest request still waiting for one (flushing queued requests
    /// first), within that request's [`Request::timeout`] if it has one. Its body is kept, or
    /// discarded if the request says so ([`Request::discard_body`]). Pipelined requests that
    /// a reused connection took and closed without a byte of answer are all written again on
    /// a new connection, once, when every one of them may be ([`Request::retries_on_reuse`]).
    ///
    /// # Errors
    /// Those of [`HttpConnection::send`]; `UnexpectedEof` for a pipelined request that the
    /// server closed the connection before answering; `InvalidInput` if no request is waiting.
    /// After an error but `InvalidInput` the next request opens a new connection.
    ///
    /// # Examples
    /// See [`HttpConnection::queue`].
    pub async fn receive(&mut self) -> io::Result<Response<'_>> {
        self.receive_in_time().await?;
        Ok(Response::new(&self.read_buf, &self.head))
    }

    /// Reads the next response into the read buffer, within its request's timeout.
    async fn receive_in_time(&mut self) -> io::Result<()> {
        // Not through `within`: the future of `receive_next` would be moved into its own each
        // response (a kilobyte copied per request).
        match self.awaiting.front().and_then(|expect| expect.timeout) {
            None => self.receive_next().await,
            Some(limit) => ttk_core::timeout(limit, self.receive_next()).await?,
        }
    }

    /// Flushes, then reads the next response (its head only when streamed) into the read
    /// buffer, sending the requests waiting again on a new connection if the server closed a
    /// reused one without answering.
    async fn receive_next(&mut self) -> io::Result<()> {
        self.recover();
        if self.lost > 0 {
            self.lost -= 1;
            return Err(closed_early(
                "the server closed the connection before answering this pipelined request",
            ));
        }
        let Some(&expect) = self.awaiting.front() else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "no request awaits a response: send or queue one first",
            ));
        };
        self.flush().await?;
        self.broken = true;
        let done = match self.read_response(expect).await {
            Err(error) if self.closed_unanswered(&error) && self.server_took_them(&error) => {
                return Err(closed_early(
                    "the server closed the connection without answering, after it had the \
                     request (its TCP acknowledged every byte): not an idle close crossing it",
                ));
            }
            Err(error) if self.may_resend(&error) => {
                self.resend().await?;
                self.read_response(expect).await?
            }
            done => done?,
        };
        self.awaiting.pop_front();
        // An answer came: what was written is not written again.
        self.write_buf.clear();
        self.flushed = 0;
        self.buffered = 0;
        if let Some(close) = done {
            // A `close_notify` (or the end) read with the response: the server has closed, and
            // the next request goes on a new connection rather than into the close.
            let peer_closed = self
                .stream
                .as_ref()
                .and_then(|stream| stream.tls())
                .is_some_and(|tls| tls.peer_closed());
            // Responses still awaited may be read already, behind this one: they end it.
            self.complete(close || (peer_closed && self.awaiting.is_empty()));
        }
        Ok(())
    }

    /// Ends a response whose body was read: the socket served one more, or is closed (`close`)
    /// and requests written after it will not be answered on it.
    fn complete(&mut self, close: bool) {
        self.served += 1;
        if close {
            self.stream = None;
            self.lost = self.awaiting.len();
            self.awaiting.clear();
        }
        self.broken = false;
    }

    /// After an operation that failed or was abandoned part way, forgets the connection and
    /// every request waiting on it, so that the next one starts on a new connection.
    fn recover(&mut self) {
        if self.broken {
            self.stream = None;
            self.awaiting.clear();
            self.lost = 0;
            self.write_buf.clear();
            self.flushed = 0;
            self.buffered = 0;
            self.body = None;
            self.broken = false;
        }
    }
}

/// Runs `op` within `limit`, if there is one (past it: `TimedOut`).
async fn within<T>(
    limit: Option<Duration>,
    op: impl Future<Output = io::Result<T>>,
) -> io::Result<T> {
    match limit {
        None => op.await,
        Some(limit) => ttk_core::timeout(limit, op).await?,
    }
}

/// Whether an authority (`host`, `host:port`, `[v6]`, `[v6]:port`) names a port.
fn has_port(authority: &str) -> bool {
    match authority.rsplit_once(':') {
        None => false,
        Some((host, port)) => {
            (host.starts_with('[') || !host.contains(':'))
                && !port.is_empty()
                && port.bytes().all(|b| b.is_ascii_digit())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::has_port;

    #[test]
    fn finds_the_port_in_an_authority() {
        for (authority, port) in [
            ("example.com", false),
            ("example.com:8080", true),
            ("127.0.0.1:80", true),
            ("[::1]", false),
            ("[::1]:8080", true),
            ("::1", false),
        ] {
            assert_eq!(has_port(authority), port, "{authority}");
        }
    }
}
