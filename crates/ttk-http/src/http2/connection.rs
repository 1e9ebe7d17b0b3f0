//! An HTTP/2 connection driven by the bot that owns it: [`Http2Connection`].

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::future::{Future, poll_fn};
use std::io;
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use h2::SendStream;
use h2::client::{Connection, ResponseFuture, SendRequest};
use h2::{Reason, RecvStream};
use ttk_net::{ByteStream, TcpStream};
use ttk_tls::{MaybeTls, TlsConnector};

use super::pipe::Pipe;
use super::prepared::Prepared;
use super::response::Http2Response;
use super::wakes::Wakes;

mod idle;
mod streaming;

use crate::connection::address::{connect_tcp, server_name, strip_scheme};
use crate::reconnect::{Reconnect, Reconnects, copy_of};
use crate::request::Request;
pub use streaming::StreamEvent;

/// How many bytes the driver reads from the socket at a time.
const READ_SIZE: usize = 8 * 1024;

/// Each stream's receive window: what the server may send on one stream before the bot has
/// read it. The driver reads as bytes come, so this is not memory held; a large window keeps
/// a large body from waiting for WINDOW_UPDATEs (h2load's default is larger still).
const STREAM_WINDOW: u32 = 1 << 20;

/// The connection's receive window, over all its streams.
const CONNECTION_WINDOW: u32 = 1 << 24;

/// The HPACK table the server may fill for its headers: the protocol's default, stated in the
/// SETTINGS as browsers state theirs. Its size does not change what the server may do, but
/// stating it changes what some servers do: nginx, told any size, answers that it keeps no
/// table (a size update to 0), where otherwise it adds each header of each response to the
/// table, never to use it again — a table the client then keeps filling and emptying, at four
/// headers a response (15 % of h2's decoding of nginx's response headers).
const HEADER_TABLE_SIZE: u32 = 4096;

/// The largest header block accepted from the server (h2's default is 16 MiB): a peer that
/// sends more fails the stream instead of filling memory.
const MAX_HEADER_LIST: u32 = 256 * 1024;

/// The longest body kept by default (as `HttpConnection`'s): a server that sends more cannot
/// fill memory, since the windows reopen as soon as bytes are read.
const DEFAULT_MAX_BODY_LEN: usize = 16 * 1024 * 1024;

/// How many times one request is sent again after servers refused it unprocessed.
const MAX_RESENDS: u8 = 3;

/// Passes of the driver without waiting before it lets the loop's other bots run.
const PASSES_BEFORE_YIELD: u32 = 64;

/// Which request a result belongs to: [`Http2Connection::start`] hands one out,
/// [`Http2Connection::next`] gives it back with the response.
///
/// # Examples
/// See [`Http2Connection::start`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ticket(u64);

impl Ticket {
    /// The ticket's number: the connection's requests are numbered from 0 in the order they
    /// were started.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use ttk_http::Request;
    /// use ttk_http::http2::Http2Connection;
    /// use ttk_net::{TcpListener, TcpStream};
    /// use ttk_tls::MaybeTls;
    ///
    /// #[bot(crate = ttk_core)]
    /// fn numbers(_cx: Cx, _id: usize) -> std::io::Result<Vec<u64>> {
    ///     let listener = TcpListener::bind("127.0.0.1:0")?;
    ///     let tcp = ttk_core::yield_!(TcpStream::connect(listener.local_addr()?))?;
    ///     let mut h2c = Http2Connection::over(MaybeTls::Plain(tcp), "localhost", None)?;
    ///     Ok((0..3).map(|_| h2c.start(&Request::get("/")).number()).collect())
    /// }
    ///
    /// assert_eq!(ttk_core::run(1, numbers)[0].as_ref().unwrap(), &[0, 1, 2]);
    /// ```
    pub fn number(self) -> u64 {
        self.0
    }
}

/// An HTTP/2 connection: many requests in flight at once on one TCP connection (TLS with ALPN
/// `h2`, or cleartext `h2c` with prior knowledge), driven by the bot that owns it.
///
/// The protocol is [h2](https://docs.rs/h2)'s; this type drives it on the bot's loop, with no
/// runtime, thread or task of its own: h2 reads and writes memory, and while the bot awaits a
/// response ([`Http2Connection::send`], [`Http2Connection::next`]) it moves those bytes
/// through its own socket. The server's SETTINGS are obeyed (requests past its limit of
/// concurrent streams wait their turn here), flow-control windows are reopened as bodies are
/// read, PINGs are answered (while the bot awaits the connection).
///
/// When the server ends the connection (GOAWAY, as nginx does every `keepalive_requests`
/// requests, or an idle close), the requests it answered finish, and those it refused
/// unprocessed — above GOAWAY's last stream, or reset with `REFUSED_STREAM` — go again on a
/// new connection (counted by [`Http2Connection::retries`]), as do idempotent requests cut
/// off before any answer by a connection that broke. A stream reset by the server is that
/// request's failure (`ConnectionReset`, naming the reason); a request over its
/// [`Request::timeout`] is reset and fails with `TimedOut`.
///
/// # Examples
/// ```
/// # use ttk_macros::bot;
/// # use ttk_core::Cx;
/// use ttk_http::http2::Http2Connection;
///
/// #[bot(crate = ttk_core)]
/// fn refused(_cx: Cx, _id: usize) -> std::io::ErrorKind {
///     // Port 1 on loopback: nothing listens.
///     let h2c = ttk_core::yield_!(Http2Connection::connect("http://127.0.0.1:1/"));
///     h2c.unwrap_err().kind()
/// }
///
/// assert_eq!(ttk_core::run(1, refused)[0], std::io::ErrorKind::ConnectionRefused);
/// ```
pub struct Http2Connection {
    /// Where and how to connect again.
    target: Target,
    /// The connection of the moment; `None` between one ending and the next being made
    /// (boxed: h2's state is large, and a bot between connections need not hold it).
    session: Option<Box<Session>>,
    /// The wakers handed to h2.
    wakes: Wakes,
    /// Requests in flight, by slot (a slot's waker is reused by the requests that take it).
    slots: Vec<Option<InFlight>>,
    /// Free slots.
    free: Vec<u32>,
    /// How many slots hold a request.
    in_flight: usize,
    /// Requests not yet opened as streams, in order.
    waiting: VecDeque<Queued>,
    /// Results not yet handed out, in order.
    finished: VecDeque<(Ticket, io::Result<Http2Response>)>,
    /// What happened on streams opened with [`Http2Connection::open`], not yet taken.
    events: VecDeque<(u64, StreamEvent)>,
    /// The slot of each opened stream in flight, by ticket.
    streams: HashMap<u64, u32>,
    /// Requests' deadlines, earliest first: `(deadline, ticket, slot)`; entries of requests
    /// that finished meanwhile are skipped when they come up.
    deadlines: BinaryHeap<Reverse<(Instant, u64, u32)>>,
    /// The last request prepared, and what it became (a load test sends one request again
    /// and again: it is converted once).
    last_prepared: Option<(Request, Rc<Prepared>)>,
    /// The next ticket.
    next_ticket: u64,
    /// Reused buffers: socket reads, writes, woken slots.
    read_buf: Box<[u8]>,
    write_buf: Vec<u8>,
    woken: Vec<u32>,
    /// Counts for the caller.
    connections_opened: u64,
    retries: u64,
    refused: u64,
    tls_handshakes: (u64, u64),
    /// Bodies longer than this fail the request.
    max_body_len: usize,
    /// The largest response header block accepted, said in SETTINGS.
    max_head_len: u32,
    /// Connections on which the server spoke HTTP/2, before the current one.
    spoken: u64,
    /// Set by the bots sharing this connection ([`super::SharedHttp2Connection`]) when they
    /// hand the driving bot a request: its wait ends so it can start it.
    pub(crate) interrupt: Option<Rc<std::cell::Cell<bool>>>,
    /// Responses on the connection of the moment: a request refused by a server that
    /// answers others is sent again however often; by one that answers none, at most
    /// [`MAX_RESENDS`] times.
    answered_here: u64,
    /// Connections made again inside requests, for [`Http2Connection::take_reconnects`].
    reconnects: Reconnects,
}

/// Where the connection goes and how.
struct Target {
    /// The server's address (reconnects go there).
    addr: SocketAddr,
    /// The source address reconnects leave from, if set ([`Http2Connection::set_source`]).
    source: Option<SocketAddr>,
    /// `host[:port]`, sent as `:authority`.
    authority: String,
    /// For TLS: the connector (offering ALPN `h2`) and the server name.
    tls: Option<(TlsConnector, String)>,
}

/// One TCP (or TLS) connection and h2's state for it.
struct Session {
    /// The stream to the server.
    stream: MaybeTls,
    /// The bytes between h2 and the stream.
    pipe: Pipe,
    /// Opens streams.
    send: SendRequest<Bytes>,
    /// h2's connection state machine.
    connection: Connection<Pipe, Bytes>,
    /// h2 refused new streams (the server sent GOAWAY, or the connection failed): waiting
    /// requests go on the next connection.
    refusing: bool,
    /// A write to the server failed: what h2 writes from now on is dropped, and the reading
    /// goes on to the end of the stream.
    write_failed: bool,
    /// A write is under way; still set when the driver next runs, it was abandoned part way
    /// (the bot's future dropped, e.g. by a timeout around it): see
    /// [`Http2Connection::recover_abandoned_write`].
    writing: bool,
}

/// A request not yet opened.
struct Queued {
    ticket: u64,
    request: Rc<Prepared>,
    /// When it must be answered by (from when it was started, not when it is opened).
    deadline: Option<Instant>,
    /// Times it may still be sent again.
    resends_left: u8,
    /// For a stream opened with [`Http2Connection::open`]: the data the bot sent before it
    /// was opened, to send when it is (`None` for a request sent whole).
    open: Option<Vec<(Bytes, bool)>>,
}

/// A request in flight on a stream.
struct InFlight {
    queued: Queued,
    phase: Phase,
    /// For an opened stream: where the bot's data goes, until it ends its side.
    send: Option<SendStream<Bytes>>,
}

/// How far a response came.
enum Phase {
    /// Waiting for the head.
    Head(ResponseFuture),
    /// Reading the body (or the trailers after it).
    Body {
        status: u16,
        headers: http::HeaderMap,
        body: RecvStream,
        kept: Vec<u8>,
        len: u64,
    },
}

/// What polling one in-flight request came to.
enum Outcome {
    /// Still under way.
    Pending,
    /// Finished (boxed: a response is large, and most polls end `Pending`).
    Done(Box<io::Result<Http2Response>>),
    /// Refused unprocessed (above GOAWAY's last stream, or `REFUSED_STREAM`): send it again.
    Refused,
    /// Cut off with no answer by a connection that broke: an idempotent request is sent
    /// again, a few times at most (the server may have seen it).
    Broken,
    /// An opened stream ended (its events say how).
    Streamed,
}

impl Http2Connection {
    /// Connects to `url`'s authority: `https://` over TLS with ALPN `h2` (the system's roots;
    /// see [`Http2Connection::connect_tls`] to choose them), `http://` in cleartext with prior
    /// knowledge (h2c, RFC 9113 section 3.3). The path is ignored.
    ///
    /// # Errors
    /// Those of connecting (`ConnectionRefused`, …) and of the TLS handshake; `InvalidData`
    /// if the server does not agree to HTTP/2 in ALPN.
    ///
    /// # Examples
    /// See [`Http2Connection`].
    pub async fn connect(url: &str) -> io::Result<Http2Connection> {
        let (https, authority) = strip_scheme(url)?;
        let authority = authority.split('/').next().unwrap_or(authority);
        if https {
            let tls = TlsConnector::builder().alpn(&["h2"]).build()?;
            return Http2Connection::connect_tls(authority, &tls.for_one_client()).await;
        }
        let stream = connect_tcp(authority, 80).await?;
        Http2Connection::over(MaybeTls::Plain(stream), authority, None)
    }

    /// Connects to `authority` (`host:port`, port 443 if none) over TLS made by `tls`, which
    /// must offer ALPN `h2` ([`ttk_tls::TlsConnectorBuilder::alpn`]).
    ///
    /// # Errors
    /// `InvalidInput` if `tls` does not offer `h2`; else as [`Http2Connection::connect`].
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use ttk_http::http2::Http2Connection;
    /// use ttk_tls::TlsConnector;
    ///
    /// #[bot(crate = ttk_core)]
    /// fn no_h2(_cx: Cx, _id: usize, tls: TlsConnector) -> std::io::ErrorKind {
    ///     let h2 = Http2Connection::connect_tls("127.0.0.1:1", &tls);
    ///     ttk_core::yield_!(h2).unwrap_err().kind()
    /// }
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let http1_only = TlsConnector::builder().alpn(&["http/1.1"]).build()?;
    /// let kinds = ttk_core::run(1, |cx, id| no_h2(cx, id, http1_only.clone()));
    /// assert_eq!(kinds[0], std::io::ErrorKind::InvalidInput);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn connect_tls(authority: &str, tls: &TlsConnector) -> io::Result<Http2Connection> {
        offers_h2(tls)?;
        let stream = connect_tcp(authority, 443).await?;
        let stream = tls
            .connect(server_name(authority), stream)
            .await
            .map_err(no_h2_named)?;
        let mut connection = Http2Connection::over(MaybeTls::from(stream), authority, Some(tls))?;
        connection.count_handshake();
        Ok(connection)
    }

    /// An HTTP/2 connection over `stream`, connected (and for TLS, through its handshake, with
    /// ALPN `h2` agreed) by the caller, who times those apart. `authority` is sent as
    /// `:authority`; a new connection, when one is needed, goes to the stream's peer, over
    /// TLS made by `tls` if given. Sends the connection preface at once.
    ///
    /// # Errors
    /// `InvalidInput` for a TLS stream without its connector (or the reverse), or a connector
    /// that does not offer `h2`; `InvalidData` if the TLS stream did not agree to `h2`;
    /// `NotConnected` if the stream is no longer connected.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use ttk_http::http2::Http2Connection;
    /// use ttk_net::{TcpListener, TcpStream};
    /// use ttk_tls::MaybeTls;
    ///
    /// #[bot(crate = ttk_core)]
    /// fn by_hand(_cx: Cx, _id: usize) -> std::io::Result<bool> {
    ///     let listener = TcpListener::bind("127.0.0.1:0")?;
    ///     let addr = listener.local_addr()?;
    ///     let tcp = ttk_core::yield_!(TcpStream::connect(addr))?; // time it as you like
    ///     let h2c = Http2Connection::over(MaybeTls::Plain(tcp), &addr.to_string(), None)?;
    ///     Ok(h2c.is_open() && h2c.protocol() == "h2c")
    /// }
    ///
    /// assert!(ttk_core::run(1, by_hand)[0].as_ref().unwrap());
    /// ```
    pub fn over(
        stream: MaybeTls,
        authority: &str,
        tls: Option<&TlsConnector>,
    ) -> io::Result<Http2Connection> {
        if stream.is_tls() != tls.is_some() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "Http2Connection::over needs the TlsConnector of a TLS stream (to reconnect over \
                 TLS) and none for a plain one",
            ));
        }
        if let Some(tls) = tls {
            offers_h2(tls)?;
        }
        let addr = stream.get_ref().peer_addr()?;
        let mut connection = Http2Connection {
            target: Target {
                addr,
                source: None,
                authority: authority.to_owned(),
                tls: tls.map(|tls| (tls.clone(), server_name(authority).to_owned())),
            },
            session: None,
            wakes: Wakes::default(),
            slots: Vec::new(),
            free: Vec::new(),
            in_flight: 0,
            waiting: VecDeque::new(),
            finished: VecDeque::new(),
            events: VecDeque::new(),
            streams: HashMap::new(),
            deadlines: BinaryHeap::new(),
            last_prepared: None,
            next_ticket: 0,
            read_buf: vec![0; READ_SIZE].into_boxed_slice(),
            write_buf: Vec::new(),
            woken: Vec::new(),
            connections_opened: 0,
            retries: 0,
            refused: 0,
            tls_handshakes: (0, 0),
            max_body_len: DEFAULT_MAX_BODY_LEN,
            max_head_len: MAX_HEADER_LIST,
            spoken: 0,
            answered_here: 0,
            reconnects: Reconnects::default(),
            interrupt: None,
        };
        connection.begin(stream)?;
        Ok(connection)
    }

    /// `"h2"` over TLS, `"h2c"` in cleartext.
    ///
    /// # Examples
    /// See [`Http2Connection::over`].
    pub fn protocol(&self) -> &'static str {
        if self.target.tls.is_some() {
            "h2"
        } else {
            "h2c"
        }
    }

    /// Makes the connections this one opens again (after a GOAWAY or a close) leave from
    /// `source` (port 0: any), as the first did: a run that spreads its connections over
    /// source addresses keeps them spread.
    ///
    /// # Examples
    /// ```
    /// # fn f(h2: &mut ttk_http::http2::Http2Connection) {
    /// h2.set_source("127.0.0.2:0".parse().unwrap());
    /// # }
    /// ```
    pub fn set_source(&mut self, source: std::net::SocketAddr) {
        self.target.source = Some(source);
    }

    /// Whether the connection of the moment can take new streams (it is neither ended nor
    /// going away). Requests started meanwhile go on a new connection.
    ///
    /// # Examples
    /// See [`Http2Connection::over`].
    pub fn is_open(&self) -> bool {
        self.session
            .as_ref()
            .is_some_and(|session| !session.refusing)
    }

    /// Connections made so far, the first included.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use ttk_http::http2::Http2Connection;
    /// use ttk_net::{TcpListener, TcpStream};
    /// use ttk_tls::MaybeTls;
    ///
    /// #[bot(crate = ttk_core)]
    /// fn counts(_cx: Cx, _id: usize) -> std::io::Result<(u64, u64, usize)> {
    ///     let listener = TcpListener::bind("127.0.0.1:0")?;
    ///     let tcp = ttk_core::yield_!(TcpStream::connect(listener.local_addr()?))?;
    ///     let h2c = Http2Connection::over(MaybeTls::Plain(tcp), "localhost", None)?;
    ///     Ok((h2c.connections_opened(), h2c.retries(), h2c.in_flight()))
    /// }
    ///
    /// assert_eq!(ttk_core::run(1, counts)[0].as_ref().unwrap(), &(1, 0, 0));
    /// ```
    pub fn connections_opened(&self) -> u64 {
        self.connections_opened
    }

    /// Requests sent again on a new connection because a server refused them unprocessed or
    /// the connection broke before any answer.
    ///
    /// # Examples
    /// See [`Http2Connection::connections_opened`].
    pub fn retries(&self) -> u64 {
        self.retries
    }

    /// Of the [`Http2Connection::retries`], those the server refused unprocessed (above its
    /// GOAWAY's last stream, or reset with `REFUSED_STREAM`): sent again with no risk of
    /// being served twice. The others were idempotent requests cut off by a broken
    /// connection.
    ///
    /// # Examples
    /// See [`Http2Connection::connections_opened`]: a new connection has none.
    pub fn refused(&self) -> u64 {
        self.refused
    }

    /// TLS handshakes made by this connection's own connects: `(full, resumed)`.
    ///
    /// # Examples
    /// A cleartext connection makes none: `(0, 0)`.
    /// See [`Http2Connection::connections_opened`] for how to reach one.
    pub fn tls_handshakes(&self) -> (u64, u64) {
        self.tls_handshakes
    }

    /// Requests started and not yet handed back by [`Http2Connection::next`].
    ///
    /// # Examples
    /// See [`Http2Connection::connections_opened`].
    pub fn in_flight(&self) -> usize {
        self.in_flight + self.waiting.len() + self.finished.len()
    }

    /// The server's limit of concurrent streams as last announced (h2 assumes none until its
    /// SETTINGS come), or `None` between connections.
    ///
    /// # Examples
    /// See [`Http2Connection::start`].
    pub fn max_concurrent_streams(&self) -> Option<usize> {
        self.session
            .as_ref()
            .map(|session| session.send.current_max_send_streams())
    }

    /// Fails a response whose header block is longer than `limit` bytes (`InvalidData`): h2's
    /// header list size, said to the server in SETTINGS. 256 KiB by default; as
    /// [`HttpConnection::set_max_head_len`](crate::HttpConnection::set_max_head_len) for
    /// HTTP/1.1. Set before the first request, it is in the first connection's SETTINGS (its
    /// SETTINGS are written again, nothing having gone yet) and in every one opened after.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use ttk_http::http2::Http2Connection;
    /// use ttk_net::{TcpListener, TcpStream};
    /// use ttk_tls::MaybeTls;
    ///
    /// #[bot(crate = ttk_core)]
    /// fn bounded(_cx: Cx, _id: usize) -> std::io::Result<u64> {
    ///     let listener = TcpListener::bind("127.0.0.1:0")?;
    ///     let tcp = ttk_core::yield_!(TcpStream::connect(listener.local_addr()?))?;
    ///     let mut h2c = Http2Connection::over(MaybeTls::Plain(tcp), "localhost", None)?;
    ///     h2c.set_max_head_len(1 << 20); // headers of up to 1 MiB
    ///     Ok(h2c.connections_opened()) // still the one connection
    /// }
    ///
    /// assert_eq!(ttk_core::run(1, bounded)[0].as_ref().unwrap(), &1);
    /// ```
    pub fn set_max_head_len(&mut self, limit: usize) {
        self.max_head_len = u32::try_from(limit).unwrap_or(u32::MAX);
        if self.in_flight > 0 || !self.waiting.is_empty() {
            return;
        }
        if let Some(session) = self.session.take_if(|session| session.pipe.untouched()) {
            // The SETTINGS went nowhere yet: written again with the new size, on the same
            // connection.
            self.connections_opened -= 1;
            if self.begin(session.stream).is_err() {
                // The socket refused an option (a reset already came): the connection was
                // made all the same, and the next request opens a new one.
                self.connections_opened += 1;
            }
        }
    }

    /// How many of the connections made ([`Http2Connection::connections_opened`]) the server
    /// spoke HTTP/2 on: its first frame, SETTINGS, came (over TLS, ALPN's `h2` says so at
    /// once). A server that speaks only HTTP/1.1 on the port answers the preface in HTTP/1,
    /// and its connections are not counted.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use ttk_http::http2::Http2Connection;
    /// use ttk_net::{TcpListener, TcpStream};
    /// use ttk_tls::MaybeTls;
    ///
    /// #[bot(crate = ttk_core)]
    /// fn unheard(_cx: Cx, _id: usize) -> std::io::Result<u64> {
    ///     let listener = TcpListener::bind("127.0.0.1:0")?;
    ///     let tcp = ttk_core::yield_!(TcpStream::connect(listener.local_addr()?))?;
    ///     let h2c = Http2Connection::over(MaybeTls::Plain(tcp), "localhost", None)?;
    ///     Ok(h2c.connections_spoken()) // nothing came from the server yet
    /// }
    ///
    /// assert_eq!(ttk_core::run(1, unheard)[0].as_ref().unwrap(), &0);
    /// ```
    pub fn connections_spoken(&self) -> u64 {
        let current = self
            .session
            .as_ref()
            .is_some_and(|session| session.stream.is_tls() || session.pipe.spoke_http2());
        self.spoken + u64::from(current)
    }

    /// Fails a response whose body is longer than `limit` bytes, unless its request discards
    /// the body ([`Request::discard_body`]). 16 MiB by default.
    ///
    /// # Examples
    /// `h2.set_max_body_len(1 << 20);` caps kept bodies at 1 MiB.
    pub fn set_max_body_len(&mut self, limit: usize) {
        self.max_body_len = limit;
    }

    /// Sends `request` and awaits its whole response. Other requests started on the
    /// connection move on meanwhile; their results wait for [`Http2Connection::next`].
    ///
    /// # Errors
    /// The request's failure: see [`Http2Connection`].
    ///
    /// # Examples
    /// See [`Http2Response`].
    pub async fn send(&mut self, request: &Request) -> io::Result<Http2Response> {
        let ticket = self.start(request);
        loop {
            // Its result is the newest when it comes (drive returns at each new one), but
            // one made at once (a request that could not be prepared) may sit behind others.
            if let Some(at) = self.finished.iter().rposition(|(t, _)| *t == ticket) {
                let (_, result) = self.finished.remove(at).expect("found just now");
                return result;
            }
            self.drive(None).await;
        }
    }

    /// Starts `request` (it is opened as a stream while the bot next awaits the connection)
    /// and returns its ticket; its result comes from [`Http2Connection::next`]. Requests past
    /// the server's limit of concurrent streams wait here, in order; a request's
    /// [`Request::timeout`] counts from now.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use ttk_http::Request;
    /// use ttk_http::http2::Http2Connection;
    /// use ttk_net::{TcpListener, TcpStream};
    /// use ttk_tls::MaybeTls;
    ///
    /// #[bot(crate = ttk_core)]
    /// fn three(_cx: Cx, _id: usize) -> std::io::Result<usize> {
    ///     // A listener that never answers: each request fails after its 50 ms.
    ///     let listener = TcpListener::bind("127.0.0.1:0")?;
    ///     let tcp = ttk_core::yield_!(TcpStream::connect(listener.local_addr()?))?;
    ///     let mut h2c = Http2Connection::over(MaybeTls::Plain(tcp), "localhost", None)?;
    ///     let request = Request::get("/").timeout(std::time::Duration::from_millis(50));
    ///     let tickets: Vec<_> = (0..3).map(|_| h2c.start(&request)).collect();
    ///     let mut timed_out = 0;
    ///     while let Some((ticket, result)) = ttk_core::yield_!(h2c.next()) {
    ///         assert!(tickets.contains(&ticket));
    ///         timed_out += usize::from(result.unwrap_err().kind() == std::io::ErrorKind::TimedOut);
    ///     }
    ///     Ok(timed_out)
    /// }
    ///
    /// assert_eq!(*ttk_core::run(1, three)[0].as_ref().unwrap(), 3);
    /// ```
    pub fn start(&mut self, request: &Request) -> Ticket {
        let ticket = self.next_ticket;
        self.next_ticket += 1;
        let prepared = match &self.last_prepared {
            Some((last, prepared)) if last == request => Ok(Rc::clone(prepared)),
            _ => {
                let scheme = if self.target.tls.is_some() {
                    "https"
                } else {
                    "http"
                };
                Prepared::new(request, scheme, &self.target.authority).map(|prepared| {
                    let prepared = Rc::new(prepared);
                    self.last_prepared = Some((request.clone(), Rc::clone(&prepared)));
                    prepared
                })
            }
        };
        match prepared {
            Ok(request) => self.waiting.push_back(Queued {
                ticket,
                deadline: request.timeout.map(|limit| ttk_core::now() + limit),
                request,
                resends_left: MAX_RESENDS,
                open: None,
            }),
            Err(error) => self.finished.push_back((Ticket(ticket), Err(error))),
        }
        Ticket(ticket)
    }

    /// Awaits the next request to finish (any of those started, in the order they finish)
    /// and hands back its ticket and result; `None` if none is started and unfinished.
    ///
    /// # Examples
    /// See [`Http2Connection::start`].
    pub async fn next(&mut self) -> Option<(Ticket, io::Result<Http2Response>)> {
        loop {
            if let Some(done) = self.finished.pop_front() {
                return Some(done);
            }
            if self.in_flight == 0 && self.waiting.is_empty() {
                return None;
            }
            self.drive(None).await;
        }
    }

    /// As [`Http2Connection::next`], but gives up at `until`: `None` then too (tell the two
    /// apart by [`Http2Connection::in_flight`]). For a bot that starts requests on a
    /// schedule while others are in flight.
    ///
    /// # Examples
    /// `h2.next_before(ttk_core::now() + Duration::from_millis(5)).await` waits at most
    /// 5 ms; see [`Http2Connection::start`] for a whole bot.
    pub async fn next_before(
        &mut self,
        until: Instant,
    ) -> Option<(Ticket, io::Result<Http2Response>)> {
        loop {
            if let Some(done) = self.finished.pop_front() {
                return Some(done);
            }
            if (self.in_flight == 0 && self.waiting.is_empty()) || ttk_core::now() >= until {
                return None;
            }
            self.drive(Some(until)).await;
        }
    }

    /// Whether a bot sharing the connection handed it a request to start.
    fn interrupted(&self) -> bool {
        self.interrupt.as_ref().is_some_and(|flag| flag.get())
    }

    /// As [`Http2Connection::next`], but returns `None` as soon as a bot sharing the
    /// connection sets the interrupt (it has a request to start).
    pub(crate) async fn next_or_interrupted(
        &mut self,
    ) -> Option<(Ticket, io::Result<Http2Response>)> {
        loop {
            if let Some(done) = self.finished.pop_front() {
                return Some(done);
            }
            if self.interrupted() || (self.in_flight == 0 && self.waiting.is_empty()) {
                return None;
            }
            self.drive(None).await;
        }
    }

    /// Moves the connection on until one more request has finished than when it was called,
    /// `until` passes, the interrupt is set, or nothing is left to do. What h2 wrote is sent
    /// before it returns.
    async fn drive(&mut self, until: Option<Instant>) {
        self.recover_abandoned_write();
        let results_before = self.finished.len() + self.events.len();
        let mut passes = 0u32;
        loop {
            passes += 1;
            if passes.is_multiple_of(PASSES_BEFORE_YIELD) {
                // Reads that complete at once and wakes that follow each other: let the
                // loop's other bots run now and then.
                ttk_core::__private::yield_now().await;
            }
            if self.session.is_none() && !self.waiting.is_empty() {
                self.expire();
                if !self.waiting.is_empty() {
                    // Boxed: connecting (with a TLS handshake) is a large future, which held
                    // inline would make every bot that owns a connection that large.
                    if let Err(error) = Box::pin(self.reconnect()).await {
                        self.fail_waiting(&error);
                    }
                }
            }
            self.step();
            self.expire();
            if self
                .session
                .as_ref()
                .is_some_and(|session| session.pipe.has_outgoing())
                && self.flush().await
            {
                // Bytes came in while writing: h2 reads them first.
                continue;
            }
            let nothing_left = self.in_flight == 0 && self.waiting.is_empty();
            let results = self.finished.len() + self.events.len();
            if results > results_before || nothing_left || self.interrupted() {
                return;
            }
            if self.wakes.any_stream() || self.wakes.take_connection() {
                continue;
            }
            if until.is_some_and(|until| ttk_core::now() >= until) {
                return;
            }
            let deadline = match (self.earliest_deadline(), until) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let Some(session) = &self.session else {
                // Between connections with requests waiting: connect again at the top.
                continue;
            };
            let read = session.stream.read(&mut self.read_buf);
            match read_or_sleep(read, deadline, self.interrupt.as_deref()).await {
                Some(Ok(0)) => session.pipe.end(Ok(())),
                Some(Ok(n)) => session.pipe.receive(&self.read_buf[..n]),
                Some(Err(error)) => session.pipe.end(Err(error)),
                None => {}
            }
        }
    }

    /// Writes what h2 wrote, reading meanwhile (a server may be blocked writing to us until
    /// we read). A write that fails leaves the reading going (answers may still be there); a
    /// write still stuck when a request's deadline passes is abandoned, and with it the
    /// connection (a half-written frame cannot be taken back).
    ///
    /// Whether anything came in meanwhile (or the write failed): h2 has more to do before
    /// the driver waits.
    async fn flush(&mut self) -> bool {
        let deadline = self.earliest_deadline();
        let Some(session) = &mut self.session else {
            return false;
        };
        session.pipe.take_outgoing(&mut self.write_buf);
        if session.write_failed {
            // Nothing more reaches the server; the reading goes on to the end.
            self.write_buf.clear();
            return false;
        }
        let unread_before = session.pipe.unread();
        session.writing = true;
        let written = write_while_reading(
            &session.stream,
            &self.write_buf,
            &mut self.read_buf,
            &session.pipe,
            deadline,
        )
        .await;
        session.writing = false;
        self.write_buf.clear();
        match written {
            Written::Done => session.pipe.unread() != unread_before || session.pipe.ended(),
            Written::Failed => {
                session.write_failed = true;
                session.refusing = true;
                true
            }
            Written::Abandoned => {
                session.pipe.end(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "HTTP/2: the server stopped reading (a write was abandoned part way); the \
                     connection cannot go on",
                )));
                session.write_failed = true;
                session.refusing = true;
                self.expire();
                true
            }
        }
    }

    /// After a write abandoned part way (the future of a `send` or `next` dropped while it
    /// wrote): frames may be cut, so the connection cannot go on. Its requests end as a
    /// broken connection's do, and the next ones go on a new connection.
    fn recover_abandoned_write(&mut self) {
        let Some(session) = &mut self.session else {
            return;
        };
        if !session.writing {
            return;
        }
        session.writing = false;
        self.write_buf.clear();
        session.pipe.end(Err(io::Error::new(
            io::ErrorKind::BrokenPipe,
            "HTTP/2: a write was abandoned part way (the bot stopped awaiting it); the \
             connection cannot go on",
        )));
        session.write_failed = true;
        session.refusing = true;
    }

    /// One pass over h2 without waiting: the connection, then new streams, then the streams
    /// h2 woke; again while it woke anything, until a request has finished.
    fn step(&mut self) {
        if self.session.is_none() {
            return;
        }
        let finished_before = self.finished.len();
        for _ in 0..PASSES_BEFORE_YIELD {
            self.open_waiting();
            // This poll serves every wake so far (opening streams wakes the connection);
            // only wakes from here on call for another pass.
            self.wakes.take_connection();
            let ended = self.poll_connection();
            self.poll_woken();
            if ended {
                self.end_session();
                return;
            }
            if self.finished.len() > finished_before {
                // A request finished, and its bot goes on now. The wake that a finished
                // stream gives the connection (h2 releasing it) stays set for the next pass:
                // the next request's, or a look at an idle connection's
                // ([`Http2Connection::still_open`]). One poll of the connection a request
                // fewer (of three). What h2 would write then is housekeeping, and nothing
                // waits on it: a stream's release, or the window a finished response's data
                // returns (a stream still under way that needs it is driven by its bot, and
                // every pass polls the connection first). An opened stream's events do not
                // end the pass: its window is its own.
                return;
            }
            if !self.wakes.take_connection() {
                return;
            }
        }
        // Still waking after many passes: keep the wake for the driver's next pass.
        self.wakes.connection().wake_by_ref();
    }

    /// Polls h2's connection state machine; whether it ended.
    fn poll_connection(&mut self) -> bool {
        let Some(session) = &mut self.session else {
            return false;
        };
        let mut cx = Context::from_waker(self.wakes.connection());
        // How it ended shows in its streams' errors; the connection is done either way.
        Pin::new(&mut session.connection).poll(&mut cx).is_ready()
    }

    /// Opens waiting requests as streams while the server's limits allow.
    fn open_waiting(&mut self) {
        while let Some(session) = &mut self.session {
            // Past the server's limit h2 would queue the stream itself, out of our reach (a
            // request whose time runs out there would still be sent): it waits here instead.
            if session.refusing
                || self.waiting.is_empty()
                || self.in_flight >= session.send.current_max_send_streams()
            {
                return;
            }
            let mut cx = Context::from_waker(self.wakes.connection());
            match session.send.poll_ready(&mut cx) {
                Poll::Pending => return,
                Poll::Ready(Err(_)) => {
                    session.refusing = true;
                    return;
                }
                Poll::Ready(Ok(())) => {}
            }
            let queued = self.waiting.pop_front().expect("checked not empty");
            let mut queued = queued;
            let end_of_stream = queued.request.body.is_empty() && queued.open.is_none();
            match session
                .send
                .send_request(queued.request.head(), end_of_stream)
            {
                Ok((response, mut body)) => {
                    // Taken only now: a stream refused before it opened keeps its data.
                    let later = queued.open.as_mut().map(std::mem::take);
                    // h2 sends the data as the windows allow.
                    if !queued.request.body.is_empty() {
                        let _ = body.send_data(queued.request.body.clone(), later.is_none());
                    }
                    let mut send = None;
                    if let Some(later) = later {
                        let mut ended = false;
                        for (data, end) in later {
                            ended |= end;
                            let _ = body.send_data(data, end);
                        }
                        send = (!ended).then_some(body);
                    }
                    self.occupy(InFlight {
                        queued,
                        phase: Phase::Head(response),
                        send,
                    });
                }
                Err(error) if error.is_go_away() || error.is_io() => {
                    session.refusing = true;
                    self.waiting.push_front(queued);
                    return;
                }
                Err(error) => self.hand_out(&queued, Err(h2_error(&error))),
            }
        }
    }

    /// Puts `request` in a free slot and has it polled in this pass.
    fn occupy(&mut self, request: InFlight) {
        let slot = match self.free.pop() {
            Some(slot) => slot,
            None => {
                self.slots.push(None);
                (self.slots.len() - 1) as u32
            }
        };
        if let Some(deadline) = request.queued.deadline {
            self.deadlines
                .push(Reverse((deadline, request.queued.ticket, slot)));
        }
        if request.queued.open.is_some() {
            self.streams.insert(request.queued.ticket, slot);
        }
        self.slots[slot as usize] = Some(request);
        self.in_flight += 1;
        self.wakes.stream(slot).wake_by_ref();
    }

    /// Polls the streams h2 woke.
    fn poll_woken(&mut self) {
        let mut woken = std::mem::take(&mut self.woken);
        self.wakes.take_streams(&mut woken);
        for &slot in &woken {
            self.poll_slot(slot);
        }
        woken.clear();
        self.woken = woken;
    }

    /// Polls the request in `slot`, and settles it if it finished.
    fn poll_slot(&mut self, slot: u32) {
        let max_body_len = self.max_body_len;
        let waker = self.wakes.stream(slot).clone();
        let Some(request) = self.slots.get_mut(slot as usize).and_then(Option::as_mut) else {
            return;
        };
        let mut cx = Context::from_waker(&waker);
        let outcome = request.poll(&mut cx, max_body_len, &mut self.events);
        if matches!(outcome, Outcome::Pending) {
            return;
        }
        let request = self.slots[slot as usize].take().expect("polled just now");
        self.in_flight -= 1;
        self.free.push(slot);
        self.streams.remove(&request.queued.ticket);
        self.settle(request.queued, outcome);
    }

    /// Hands out a finished request's result, or queues it again.
    fn settle(&mut self, mut queued: Queued, outcome: Outcome) {
        if queued.open.is_some() {
            // An opened stream's data went out as the bot sent it: never sent again.
            let error = match outcome {
                Outcome::Done(result) => match *result {
                    Ok(_) => return,
                    Err(error) => error,
                },
                Outcome::Streamed | Outcome::Pending => return,
                Outcome::Refused => io::Error::new(
                    io::ErrorKind::ConnectionRefused,
                    "HTTP/2: the server refused the stream unprocessed (GOAWAY or \
                     REFUSED_STREAM); an opened stream is not sent again",
                ),
                Outcome::Broken => closed_early(),
            };
            let error = self.explained(error);
            self.events
                .push_back((queued.ticket, StreamEvent::Failed(error)));
            return;
        }
        let result = match outcome {
            Outcome::Pending | Outcome::Streamed => unreachable!("settled only when finished"),
            Outcome::Done(result) => {
                self.answered_here += u64::from(result.is_ok());
                *result
            }
            // A server that answers others on the connection refuses some when it ends it:
            // those go again however often; one that answers none, a few times.
            Outcome::Refused if self.answered_here > 0 || queued.resends_left > 0 => {
                if self.answered_here == 0 {
                    queued.resends_left -= 1;
                }
                self.retries += 1;
                self.refused += 1;
                // First in line: it was due before those still waiting.
                self.waiting.push_front(queued);
                return;
            }
            Outcome::Broken if queued.resends_left > 0 => {
                queued.resends_left -= 1;
                self.retries += 1;
                self.waiting.push_front(queued);
                return;
            }
            Outcome::Refused => Err(io::Error::new(
                io::ErrorKind::ConnectionRefused,
                format!(
                    "HTTP/2: the server refused the request unprocessed {} times, on \
                     connections that answered nothing",
                    MAX_RESENDS + 1
                ),
            )),
            Outcome::Broken => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "HTTP/2: the connection broke before the response, {} times",
                    MAX_RESENDS + 1
                ),
            )),
        };
        let result = result.map_err(|error| self.explained(error));
        self.finished.push_back((Ticket(queued.ticket), result));
    }

    /// `error`, or, where the server answered in HTTP/1 (h2 then fails on a frame too large,
    /// the bytes of `HTTP/1.1 400` read as a frame's length), an error that says so.
    fn explained(&self, error: io::Error) -> io::Error {
        if self
            .session
            .as_ref()
            .is_some_and(|session| session.pipe.spoke_http1())
        {
            io::Error::new(
                io::ErrorKind::InvalidData,
                "HTTP/2: the server answered in HTTP/1: it does not speak HTTP/2 on this \
                 connection (over cleartext, h2c with prior knowledge)",
            )
        } else {
            error
        }
    }

    /// Hands out `queued`'s failure or result: to [`Http2Connection::next`], or as an event of
    /// its stream if it was opened with [`Http2Connection::open`].
    fn hand_out(&mut self, queued: &Queued, result: io::Result<Http2Response>) {
        let result = result.map_err(|error| self.explained(error));
        match (result, queued.open.is_some()) {
            (Err(error), true) => {
                self.events
                    .push_back((queued.ticket, StreamEvent::Failed(error)));
            }
            (result, _) => self.finished.push_back((Ticket(queued.ticket), result)),
        }
    }

    /// The connection ended: every request still on it is polled one last time (h2 has
    /// given each its end), and the connection is dropped; waiting requests go on the next.
    fn end_session(&mut self) {
        for slot in 0..self.slots.len() as u32 {
            if self.slots[slot as usize].is_some() {
                self.poll_slot(slot);
            }
        }
        for slot in 0..self.slots.len() {
            if let Some(request) = self.slots[slot].take() {
                // h2 left it unanswered (it cannot, today): a broken connection's request.
                self.in_flight -= 1;
                self.free.push(slot as u32);
                self.streams.remove(&request.queued.ticket);
                let outcome = if request.queued.request.resend_if_broken
                    && matches!(request.phase, Phase::Head(_))
                {
                    Outcome::Broken
                } else {
                    Outcome::Done(Box::new(Err(closed_early())))
                };
                self.settle(request.queued, outcome);
            }
        }
        self.spoken = self.connections_spoken();
        self.session = None;
    }

    /// Fails requests whose deadline passed (resetting their streams).
    fn expire(&mut self) {
        let now = ttk_core::now();
        while let Some(&Reverse((deadline, ticket, slot))) = self.deadlines.peek() {
            if deadline > now {
                break;
            }
            self.deadlines.pop();
            let place = &mut self.slots[slot as usize];
            if place
                .as_ref()
                .is_some_and(|request| request.queued.ticket == ticket)
            {
                // Dropping its handles resets the stream (RST_STREAM CANCEL).
                let request = place.take().expect("checked");
                self.in_flight -= 1;
                self.free.push(slot);
                self.streams.remove(&ticket);
                let error = timed_out(&request.queued);
                self.hand_out(&request.queued, Err(error));
            }
        }
        while self
            .waiting
            .front()
            .and_then(|queued| queued.deadline)
            .is_some_and(|deadline| deadline <= now)
        {
            let queued = self.waiting.pop_front().expect("checked");
            let error = timed_out(&queued);
            self.hand_out(&queued, Err(error));
        }
    }

    /// The earliest deadline of a request in flight or first in line (entries of requests
    /// that finished are dropped on the way, so they wake nobody).
    fn earliest_deadline(&mut self) -> Option<Instant> {
        while let Some(&Reverse((_, ticket, slot))) = self.deadlines.peek() {
            let live = self.slots[slot as usize]
                .as_ref()
                .is_some_and(|request| request.queued.ticket == ticket);
            if live {
                break;
            }
            self.deadlines.pop();
        }
        let in_flight = self.deadlines.peek().map(|Reverse((at, _, _))| *at);
        let waiting = self.waiting.front().and_then(|queued| queued.deadline);
        match (in_flight, waiting) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Fails every waiting request with `error` (a new connection could not be made).
    fn fail_waiting(&mut self, error: &io::Error) {
        for queued in std::mem::take(&mut self.waiting) {
            self.hand_out(&queued, Err(copy_of(error)));
        }
    }

    /// Makes a new connection to the same server, within the first waiting request's time
    /// (`Ok` with no connection if that ran out); keeps how it went for
    /// [`Http2Connection::take_reconnects`].
    async fn reconnect(&mut self) -> io::Result<()> {
        let limit = self
            .waiting
            .front()
            .and_then(|queued| queued.deadline)
            .map(|deadline| deadline.saturating_duration_since(ttk_core::now()));
        let started = ttk_core::now();
        // When TCP's connect ended, for a time that runs out during the handshake.
        let connected_at = std::cell::Cell::new(None);
        let target = &self.target;
        let connecting = async {
            let tcp = match target.source {
                Some(source) => TcpStream::connect_from(source, target.addr).await,
                None => TcpStream::connect(target.addr).await,
            };
            let tcp = tcp.map_err(Failed::Connect)?;
            connected_at.set(Some(ttk_core::now()));
            match &target.tls {
                Some((tls, name)) => match tls.connect(name, tcp).await {
                    Ok(tls) => Ok(MaybeTls::from(tls)),
                    Err(error) => Err(Failed::Handshake(no_h2_named(error))),
                },
                None => Ok(MaybeTls::Plain(tcp)),
            }
        };
        let attempt = match limit {
            // `None`: the time ran out.
            Some(limit) => ttk_core::timeout(limit, connecting).await.ok(),
            None => Some(connecting.await),
        };
        let over_tls = self.target.tls.is_some();
        let mut record = Reconnect {
            started,
            connected: connected_at
                .get()
                .ok_or_else(|| io::ErrorKind::TimedOut.into()),
            handshaken: None,
        };
        let outcome = match attempt {
            // The first waiting request's time ran out: it fails as timed out, and the others
            // try again.
            None => {
                if over_tls && record.connected.is_ok() {
                    record.handshaken = Some(Err(io::ErrorKind::TimedOut.into()));
                }
                Ok(None)
            }
            Some(Ok(stream)) => {
                if over_tls {
                    record.handshaken = Some(Ok(ttk_core::now()));
                }
                Ok(Some(stream))
            }
            Some(Err(Failed::Connect(error))) => {
                record.connected = Err(copy_of(&error));
                Err(error)
            }
            Some(Err(Failed::Handshake(error))) => {
                record.handshaken = Some(Err(copy_of(&error)));
                Err(error)
            }
        };
        self.reconnects.push(record);
        if let Some(stream) = outcome? {
            self.begin(stream)?;
            self.count_handshake();
        }
        Ok(())
    }

    /// The connections made again on this connection's own, inside requests (the server
    /// ended one with requests waiting: GOAWAY, a close), not yet taken: when each started
    /// and how its connect and handshake went, oldest first. The first connection is not
    /// among them.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use ttk_http::http2::Http2Connection;
    /// use ttk_net::{TcpListener, TcpStream};
    /// use ttk_tls::MaybeTls;
    ///
    /// #[bot(crate = ttk_core)]
    /// fn fresh(_cx: Cx, _id: usize) -> std::io::Result<usize> {
    ///     let listener = TcpListener::bind("127.0.0.1:0")?;
    ///     let tcp = ttk_core::yield_!(TcpStream::connect(listener.local_addr()?))?;
    ///     let mut h2c = Http2Connection::over(MaybeTls::Plain(tcp), "localhost", None)?;
    ///     Ok(h2c.take_reconnects().count())
    /// }
    ///
    /// assert_eq!(*ttk_core::run(1, fresh)[0].as_ref().unwrap(), 0);
    /// ```
    pub fn take_reconnects(&mut self) -> impl Iterator<Item = Reconnect> + '_ {
        self.reconnects.take()
    }

    /// Counts the TLS handshake of the connection of the moment.
    fn count_handshake(&mut self) {
        let resumed = match self.session.as_ref().map(|session| session.stream.tls()) {
            Some(Some(tls)) => tls.is_resumed(),
            _ => return,
        };
        if resumed {
            self.tls_handshakes.1 += 1;
        } else {
            self.tls_handshakes.0 += 1;
        }
    }

    /// Starts HTTP/2 on `stream`: the preface and SETTINGS, written to memory at once.
    fn begin(&mut self, stream: MaybeTls) -> io::Result<()> {
        if let Some(tls) = stream.tls() {
            let agreed = tls.alpn_protocol();
            if agreed.as_deref() != Some(b"h2") {
                let agreed = agreed.map_or_else(
                    || "nothing".to_owned(),
                    |protocol| format!("`{}`", String::from_utf8_lossy(&protocol)),
                );
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "HTTP/2: the server did not agree to h2 in TLS's ALPN (it chose {agreed})"
                    ),
                ));
            }
        }
        stream.get_ref().set_nodelay(true)?;
        let pipe = Pipe::default();
        let handshake = h2::client::Builder::new()
            .initial_window_size(STREAM_WINDOW)
            .initial_connection_window_size(CONNECTION_WINDOW)
            .max_header_list_size(self.max_head_len)
            .header_table_size(HEADER_TABLE_SIZE)
            // Until the server's SETTINGS say otherwise (RFC 9113 advises at least 100).
            .initial_max_send_streams(100)
            .enable_push(false)
            .handshake::<Pipe, Bytes>(pipe.clone());
        let mut cx = Context::from_waker(self.wakes.connection());
        let Poll::Ready(handshake) = pin!(handshake).poll(&mut cx) else {
            unreachable!("h2's client handshake only writes, and the pipe takes every write");
        };
        let (send, connection) = handshake.map_err(|error| h2_error(&error))?;
        self.answered_here = 0;
        self.spoken = self.connections_spoken();
        self.session = Some(Box::new(Session {
            stream,
            pipe,
            send,
            connection,
            refusing: false,
            write_failed: false,
            writing: false,
        }));
        self.connections_opened += 1;
        Ok(())
    }
}

impl InFlight {
    /// Polls the response: head, then body, then trailers.
    fn poll(
        &mut self,
        cx: &mut Context<'_>,
        max_body_len: usize,
        events: &mut VecDeque<(u64, StreamEvent)>,
    ) -> Outcome {
        let streaming = self.queued.open.is_some();
        if let Phase::Head(response) = &mut self.phase {
            let response = match Pin::new(response).poll(cx) {
                Poll::Pending => return Outcome::Pending,
                Poll::Ready(Ok(response)) => response,
                Poll::Ready(Err(error)) => {
                    return if refused_unprocessed(&error) {
                        Outcome::Refused
                    } else if self.queued.request.resend_if_broken && error.is_io() {
                        Outcome::Broken
                    } else {
                        Outcome::Done(Box::new(Err(h2_error(&error))))
                    };
                }
            };
            let (head, body) = response.into_parts();
            if streaming {
                events.push_back((
                    self.queued.ticket,
                    StreamEvent::Head {
                        status: head.status.as_u16(),
                        headers: head.headers.clone(),
                    },
                ));
            }
            self.phase = Phase::Body {
                status: head.status.as_u16(),
                headers: head.headers,
                body,
                kept: Vec::new(),
                len: 0,
            };
        }
        let Phase::Body {
            status,
            headers,
            body,
            kept,
            len,
        } = &mut self.phase
        else {
            unreachable!("the head came");
        };
        loop {
            match body.poll_data(cx) {
                Poll::Pending => return Outcome::Pending,
                Poll::Ready(Some(Ok(data))) => {
                    *len += data.len() as u64;
                    // The window reopens as bytes are read, kept or not.
                    let _ = body.flow_control().release_capacity(data.len());
                    if streaming {
                        events.push_back((self.queued.ticket, StreamEvent::Data(data)));
                        continue;
                    }
                    if !self.queued.request.discard_body {
                        if kept.len() + data.len() > max_body_len {
                            let error = io::Error::new(
                                io::ErrorKind::InvalidData,
                                format!(
                                    "HTTP/2: the body is over its limit of {max_body_len} bytes"
                                ),
                            );
                            return Outcome::Done(Box::new(Err(error)));
                        }
                        kept.extend_from_slice(&data);
                    }
                }
                Poll::Ready(Some(Err(error))) => {
                    return Outcome::Done(Box::new(Err(h2_error(&error))));
                }
                Poll::Ready(None) => break,
            }
        }
        match body.poll_trailers(cx) {
            Poll::Pending => Outcome::Pending,
            Poll::Ready(Err(error)) => Outcome::Done(Box::new(Err(h2_error(&error)))),
            Poll::Ready(Ok(trailers)) if streaming => {
                events.push_back((self.queued.ticket, StreamEvent::End(trailers)));
                Outcome::Streamed
            }
            Poll::Ready(Ok(trailers)) => Outcome::Done(Box::new(Ok(Http2Response {
                status: *status,
                headers: std::mem::take(headers),
                body: std::mem::take(kept),
                body_len: *len,
                trailers,
            }))),
        }
    }
}

/// Reads with `read` until it is done, `deadline` passes or `interrupt` is set (`None`).
async fn read_or_sleep<F: Future<Output = io::Result<usize>>>(
    read: F,
    deadline: Option<Instant>,
    interrupt: Option<&std::cell::Cell<bool>>,
) -> Option<io::Result<usize>> {
    let mut read = pin!(read);
    let mut sleep = deadline.map(ttk_core::sleep_until);
    poll_fn(|cx| {
        if let Poll::Ready(result) = read.as_mut().poll(cx) {
            return Poll::Ready(Some(result));
        }
        if interrupt.is_some_and(std::cell::Cell::get) {
            return Poll::Ready(None);
        }
        let slept = sleep
            .as_mut()
            .is_some_and(|sleep| Pin::new(sleep).poll(cx).is_ready());
        if slept {
            Poll::Ready(None)
        } else {
            Poll::Pending
        }
    })
    .await
}

/// How a write went.
enum Written {
    /// All written.
    Done,
    /// The write failed.
    Failed,
    /// A deadline passed first: the write was abandoned part way.
    Abandoned,
}

/// What happened first while writing.
enum WriteStep {
    Wrote(io::Result<()>),
    Read(io::Result<usize>),
    Late,
}

/// Writes `out` to `stream` while reading from it into `pipe` (through `read_buf`), until the
/// write is done or `deadline` passes. Reading stops at the stream's end, or when the pipe
/// holds more than the server may send unasked (a server that will not read yet sends
/// without end is not followed into memory).
async fn write_while_reading(
    stream: &MaybeTls,
    out: &[u8],
    read_buf: &mut [u8],
    pipe: &Pipe,
    deadline: Option<Instant>,
) -> Written {
    let mut write = pin!(stream.write_all(out));
    let mut sleep = deadline.map(ttk_core::sleep_until);
    let mut reading = true;
    loop {
        reading &= pipe.unread() <= MAX_UNREAD;
        let step = {
            let mut read = pin!(reading.then(|| stream.read(read_buf)));
            poll_fn(|cx| {
                if let Poll::Ready(result) = write.as_mut().poll(cx) {
                    return Poll::Ready(WriteStep::Wrote(result));
                }
                if let Some(read) = read.as_mut().as_pin_mut()
                    && let Poll::Ready(result) = read.poll(cx)
                {
                    return Poll::Ready(WriteStep::Read(result));
                }
                let late = sleep
                    .as_mut()
                    .is_some_and(|sleep| Pin::new(sleep).poll(cx).is_ready());
                if late {
                    Poll::Ready(WriteStep::Late)
                } else {
                    Poll::Pending
                }
            })
            .await
        };
        match step {
            WriteStep::Wrote(Ok(())) => return Written::Done,
            WriteStep::Wrote(Err(_)) => return Written::Failed,
            WriteStep::Read(Ok(0)) => {
                pipe.end(Ok(()));
                reading = false;
            }
            WriteStep::Read(Ok(n)) => pipe.receive(&read_buf[..n]),
            WriteStep::Read(Err(error)) => {
                pipe.end(Err(error));
                reading = false;
            }
            WriteStep::Late => return Written::Abandoned,
        }
    }
}

/// The most received bytes kept for h2 while a write is stuck: the connection's window (all
/// the DATA the server may send) and as much again for other frames.
const MAX_UNREAD: usize = 2 * CONNECTION_WINDOW as usize;

/// Whether the server refused a stream without processing it, so it may go again anywhere:
/// above the last stream of its GOAWAY, or reset with `REFUSED_STREAM` (RFC 9113, 8.7).
fn refused_unprocessed(error: &h2::Error) -> bool {
    error.is_remote()
        && (error.is_go_away()
            || (error.is_reset() && error.reason() == Some(Reason::REFUSED_STREAM)))
}

/// An h2 error as an I/O error of a telling kind.
fn h2_error(error: &h2::Error) -> io::Error {
    if let Some(io) = error.get_io() {
        return io::Error::new(io.kind(), format!("HTTP/2: {io}"));
    }
    let kind = if error.is_reset() && error.is_remote() {
        io::ErrorKind::ConnectionReset
    } else if error.is_go_away() && error.is_remote() {
        io::ErrorKind::ConnectionAborted
    } else {
        io::ErrorKind::InvalidData
    };
    let what = if error.is_reset() && error.is_remote() {
        "the server reset the stream"
    } else if error.is_go_away() && error.is_remote() {
        "the server ended the connection (GOAWAY)"
    } else if error.is_library() {
        "what the server sent was refused (a frame against the protocol, or a header block \
         over the limit: --max-head, `set_max_head_len`)"
    } else {
        "protocol error"
    };
    match error.reason() {
        Some(reason) => io::Error::new(kind, format!("HTTP/2: {what}: {reason:?}")),
        None => io::Error::new(kind, format!("HTTP/2: {what}: {error}")),
    }
}

/// A request's time ran out.
fn timed_out(queued: &Queued) -> io::Error {
    let limit = queued.request.timeout.unwrap_or_default();
    io::Error::new(
        io::ErrorKind::TimedOut,
        format!("HTTP/2: no whole response within {limit:?}"),
    )
}

/// The connection closed before the response.
fn closed_early() -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "HTTP/2: the connection closed before the response",
    )
}

/// Which part of a reconnect failed.
enum Failed {
    /// TCP's connect.
    Connect(io::Error),
    /// TLS's handshake.
    Handshake(io::Error),
}

/// A TLS handshake's error, saying what it means for HTTP/2 when the server refused every
/// protocol offered in ALPN (it does not speak `h2`).
fn no_h2_named(error: io::Error) -> io::Error {
    if error.to_string().contains("NoApplicationProtocol") {
        return io::Error::new(
            io::ErrorKind::InvalidData,
            format!("HTTP/2: the server does not speak h2 over TLS (it refused ALPN h2: {error})"),
        );
    }
    // A server that refuses ALPN h2 sends its alert and closes; a reset can overtake the
    // alert (the kernel drops what it had not read yet), and only the reset is seen.
    if matches!(
        error.kind(),
        io::ErrorKind::ConnectionReset | io::ErrorKind::UnexpectedEof
    ) {
        return io::Error::new(
            error.kind(),
            format!(
                "HTTP/2: the server ended the TLS handshake ({error}): it may not speak h2 over \
                 TLS (a server that refuses ALPN h2 ends the handshake)"
            ),
        );
    }
    error
}

/// Checks that `tls` offers ALPN `h2`.
fn offers_h2(tls: &TlsConnector) -> io::Result<()> {
    if tls
        .alpn_protocols()
        .iter()
        .any(|protocol| protocol == b"h2")
    {
        return Ok(());
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        "HTTP/2 over TLS needs a TlsConnector offering ALPN `h2` (TlsConnectorBuilder::alpn)",
    ))
}

impl std::fmt::Debug for Http2Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Http2Connection")
            .field("addr", &self.target.addr)
            .field("protocol", &self.protocol())
            .field("open", &self.is_open())
            .field("in_flight", &self.in_flight())
            .field("connections_opened", &self.connections_opened)
            .field("retries", &self.retries)
            .finish()
    }
}
