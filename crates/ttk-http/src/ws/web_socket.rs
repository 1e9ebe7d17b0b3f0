//! A WebSocket connection for one bot: tungstenite's protocol over a [`ByteStream`].

use std::io;

use tungstenite::client::IntoClientRequest;
use tungstenite::handshake::client::{ClientHandshake, generate_key};
use tungstenite::handshake::server::{NoCallback, ServerHandshake};
use tungstenite::handshake::{HandshakeError, HandshakeRole, MidHandshake};
use tungstenite::http::HeaderValue;
use tungstenite::protocol::frame::FrameHeader;
use tungstenite::protocol::frame::coding::{Data, OpCode};
use tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tungstenite::{Bytes, Message};

use ttk_net::{ByteStream, TcpStream};
use ttk_tls::{MaybeTls, TlsConnector};

use super::duplex::{Duplex, READ_CHUNK, WRITE_CHUNK};
use super::error::{is_closed, to_io};
use super::mask::extend_masked;

/// The client's handshake request (an `http::Request<()>`): see [`request`].
pub type Request = tungstenite::handshake::client::Request;

/// The default [`WebSocket::set_max_message_len`].
const DEFAULT_MAX_MESSAGE: usize = 16 * 1024 * 1024;

/// The default [`WebSocket::set_max_frame_len`].
const DEFAULT_MAX_FRAME: usize = 16 * 1024 * 1024;

/// The largest payload of a control frame (ping, pong, close), by RFC 6455.
const MAX_CONTROL_PAYLOAD: usize = 125;

/// tungstenite's configuration for a bot's socket: a small read buffer (tungstenite's default,
/// 128 KiB allocated up front, is too much for thousands of bots), frames handed to the
/// [`Duplex`] at once (it is memory; the socket write happens once per operation), and the
/// limits. (Text and binary frames do not go through tungstenite's write buffer at all: see
/// [`WebSocket::write_frame`].)
fn config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(READ_CHUNK)
        .write_buffer_size(0)
        .max_message_size(Some(DEFAULT_MAX_MESSAGE))
        .max_frame_size(Some(DEFAULT_MAX_FRAME))
}

/// Builds the handshake request for `url` (`ws://host[:port]/path?query`, or `wss://` for
/// WebSocket over TLS), to add headers to before [`WebSocket::connect_with`] or
/// [`WebSocket::handshake`].
///
/// # Errors
/// `InvalidInput` if `url` is not a valid `ws://` or `wss://` URL.
///
/// # Examples
/// ```
/// use ttk_http::ws;
///
/// # fn main() -> std::io::Result<()> {
/// let mut request = ws::request("ws://127.0.0.1:9001/chat")?;
/// request.headers_mut().insert("Authorization", "Bearer token".parse().unwrap());
/// assert_eq!(request.uri().path(), "/chat");
///
/// let error = ws::request("http://example.com/").unwrap_err();
/// assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
/// assert!(error.to_string().contains("ws://"));
/// # Ok(())
/// # }
/// ```
pub fn request(url: &str) -> io::Result<Request> {
    let uri: tungstenite::http::Uri = url
        .parse()
        .map_err(|error| invalid_input(format!("invalid WebSocket URL {url:?}: {error}")))?;
    check_scheme(&uri)?;
    uri.into_client_request().map_err(to_io)
}

/// Fails unless `uri` is a `ws://` or `wss://` URL with a host; whether it is `wss://`.
fn check_scheme(uri: &tungstenite::http::Uri) -> io::Result<bool> {
    let secure = match uri.scheme_str() {
        Some("ws") => false,
        Some("wss") => true,
        _ => {
            return Err(invalid_input(format!(
                "{uri}: a WebSocket URL starts with ws:// or wss://"
            )));
        }
    };
    match uri.host() {
        Some(host) if !host.is_empty() => Ok(secure),
        _ => Err(invalid_input(format!(
            "{uri}: a WebSocket URL needs a host"
        ))),
    }
}

/// An `InvalidInput` error.
fn invalid_input(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}

/// A WebSocket connection for one bot, client or server side, over a [`ByteStream`]
/// ([`MaybeTls`] — TCP, or TLS over TCP for `wss://` — unless another is given).
///
/// The protocol is [tungstenite]'s: the handshake, framing, masking, automatic answers to pings
/// and to a close. tungstenite works on two buffers in memory, never on the socket; each
/// operation runs it, then writes what it produced with one `write_all`, and when it needs more
/// bytes, awaits one `read` (of up to 8 KiB) and runs it again. So a bot waiting for a message
/// costs nothing until bytes arrive, and [`ttk_core::timeout`] can bound any operation.
///
/// Messages are [`Message`]s, which own their payload ([`Bytes`]): a received message's
/// payload is split off tungstenite's read buffer, not copied. A text or binary payload is sent
/// from where it is (the `Message` given to [`send`](WebSocket::send), the slice given to
/// [`send_text`](WebSocket::send_text) or [`send_binary`](WebSocket::send_binary)), never
/// copied whole: a server's goes to the socket as it is, a client's is masked into the write
/// buffer 8 KiB at a time. So sending allocates nothing, and a message in flight costs about
/// its own size. To send the same payload again and again, build the `Message` once and `send`
/// clones of it (cloning `Bytes` counts a reference).
///
/// The buffers stay small: 8 KiB for the socket's reads, 8 KiB for tungstenite's, and a write
/// buffer that keeps at most 8 KiB once written. A received frame over 8 KiB grows
/// tungstenite's read buffer to its size; once its message has been received, that buffer is
/// given back (to the message, which holds it until dropped) and a new small one takes its
/// place, so a bot idle after a big message holds no big buffer.
///
/// If an operation fails while writing, or its future is dropped part way through a write (a
/// [`ttk_core::timeout`]), the connection's state is unknown and later operations fail with
/// `NotConnected`. Dropping a [`receive`](WebSocket::receive) while it waits for bytes is safe.
///
/// # Examples
/// A bot against an echo server (here tungstenite's own, on a thread):
/// ```
/// use ttk_core::Cx;
/// use ttk_http::ws::{Message, WebSocket};
///
/// # fn main() -> std::io::Result<()> {
/// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
/// # let url = format!("ws://{}/echo", listener.local_addr()?);
/// # std::thread::spawn(move || {
/// #     let (socket, _) = listener.accept().unwrap();
/// #     let mut ws = tungstenite::accept(socket).unwrap();
/// #     while let Ok(message) = ws.read() {
/// #         if message.is_text() || message.is_binary() { ws.send(message).unwrap(); }
/// #     }
/// # });
/// #[ttk_macros::bot(crate = ttk_core)]
/// fn chat(_cx: Cx, _id: usize, url: String) -> std::io::Result<String> {
///     let mut ws = ttk_core::yield_!(WebSocket::connect(&url))?;
///     ttk_core::yield_!(ws.send_text("hello"))?;
///     let echo = ttk_core::yield_!(ws.receive())?;
///     ttk_core::yield_!(ws.close(None))?;
///     Ok(echo.into_text().unwrap().to_string())
/// }
///
/// let echo = ttk_core::run(1, |cx, id| chat(cx, id, url.clone())).pop().unwrap()?;
/// assert_eq!(echo, "hello");
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct WebSocket<S = MaybeTls> {
    /// The transport.
    stream: S,
    /// tungstenite's state machine, on its in-memory duplex.
    socket: tungstenite::WebSocket<Duplex>,
    /// Client or server: a client masks what it sends.
    role: Role,
    /// An operation failed or was abandoned while writing: the connection's state is unknown.
    broken: bool,
}

impl WebSocket<MaybeTls> {
    /// Connects to `url` (`ws://host[:port]/path`, port 80 if none is given; `wss://` for TLS,
    /// port 443, the server's certificate checked against the system's roots) and does the
    /// client handshake. A host name is looked up without blocking the loop; the first of its
    /// addresses that accepts is used. The socket has `TCP_NODELAY` set. `wss://` uses the
    /// process's shared connector ([`TlsConnector::system_default`]), whose session cache all
    /// bots share; for a CA of one's own, a client certificate, no certificate check, or each
    /// bot resuming its own sessions ([`TlsConnector::for_one_client`]), use
    /// [`WebSocket::connect_tls`].
    ///
    /// # Errors
    /// `InvalidInput` for a URL that is not `ws://` or `wss://`; the errors of
    /// [`ttk_net::lookup_host`] and [`TcpStream::connect`]; for `wss://`, those of
    /// [`TlsConnector::connect`]; those of [`WebSocket::handshake`].
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use ttk_http::ws::WebSocket;
    ///
    /// #[bot(crate = ttk_core)]
    /// fn refused(_cx: Cx, _id: usize) -> std::io::ErrorKind {
    ///     // Port 1 on loopback: nothing listens.
    ///     ttk_core::yield_!(WebSocket::connect("ws://127.0.0.1:1/")).unwrap_err().kind()
    /// }
    ///
    /// assert_eq!(ttk_core::run(1, refused)[0], std::io::ErrorKind::ConnectionRefused);
    /// ```
    pub async fn connect(url: &str) -> io::Result<WebSocket> {
        WebSocket::connect_with(&request(url)?).await
    }

    /// Connects to `request`'s URL and does the client handshake with it: a request built once
    /// with [`request`] and given headers of one's own (cookies, authorization, a subprotocol).
    /// Each connection gets a fresh `Sec-WebSocket-Key`, so one request can serve many.
    ///
    /// # Errors
    /// Those of [`WebSocket::connect`].
    ///
    /// # Examples
    /// ```
    /// # use ttk_core::Cx;
    /// use ttk_http::ws::{self, WebSocket};
    ///
    /// # fn main() -> std::io::Result<()> {
    /// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let url = format!("ws://{}/", listener.local_addr()?);
    /// # std::thread::spawn(move || {
    /// #     let (socket, _) = listener.accept().unwrap();
    /// #     let mut seen = None;
    /// #     let mut ws = tungstenite::accept_hdr(socket, |request: &ws::Request, response| {
    /// #         seen = request.headers().get("X-Bot").map(|v| v.to_str().unwrap().to_string());
    /// #         Ok(response)
    /// #     }).unwrap();
    /// #     ws.send(ws::Message::text(seen.unwrap_or_default())).unwrap();
    /// #     while ws.read().is_ok() {}
    /// # });
    /// #[ttk_macros::bot(crate = ttk_core)]
    /// fn tagged(_cx: Cx, _id: usize, url: String) -> std::io::Result<String> {
    ///     let mut request = ws::request(&url)?;
    ///     request.headers_mut().insert("X-Bot", "7".parse().unwrap());
    ///     let mut ws = ttk_core::yield_!(WebSocket::connect_with(&request))?;
    ///     let greeting = ttk_core::yield_!(ws.receive())?;
    ///     ttk_core::yield_!(ws.close(None))?;
    ///     Ok(greeting.into_text().unwrap().to_string())
    /// }
    ///
    /// assert_eq!(ttk_core::run(1, |cx, id| tagged(cx, id, url.clone())).pop().unwrap()?, "7");
    /// # Ok(())
    /// # }
    /// ```
    pub async fn connect_with(request: &Request) -> io::Result<WebSocket> {
        if check_scheme(request.uri())? {
            let tls = ttk_tls::TlsConnector::system_default()?;
            WebSocket::connect_tls(request, &tls).await
        } else {
            let stream = connect_tcp(request, 80).await?;
            WebSocket::handshake(MaybeTls::Plain(stream), request).await
        }
    }

    /// Connects to `request`'s `wss://` URL (port 443 if none is given) over TLS made with
    /// `tls` (its roots, client certificate, resumption, or no certificate check: see
    /// [`TlsConnector`]), and does the client handshake. A `ws://` URL connects without TLS.
    ///
    /// # Errors
    /// Those of [`WebSocket::connect`].
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use ttk_http::ws::{self, WebSocket};
    /// use ttk_tls::TlsConnector;
    ///
    /// #[bot(crate = ttk_core)]
    /// fn refused(_cx: Cx, _id: usize, tls: TlsConnector) -> std::io::Result<std::io::ErrorKind> {
    ///     let request = ws::request("wss://127.0.0.1:1/chat")?;
    ///     Ok(ttk_core::yield_!(WebSocket::connect_tls(&request, &tls)).unwrap_err().kind())
    /// }
    ///
    /// # fn main() -> std::io::Result<()> {
    /// let tls = TlsConnector::builder().insecure(true).build()?; // a self-signed test server
    /// let kinds = ttk_core::run(1, |cx, id| refused(cx, id, tls.clone()));
    /// assert_eq!(kinds[0].as_ref().unwrap(), &std::io::ErrorKind::ConnectionRefused);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn connect_tls(request: &Request, tls: &TlsConnector) -> io::Result<WebSocket> {
        if !check_scheme(request.uri())? {
            let stream = connect_tcp(request, 80).await?;
            return WebSocket::handshake(MaybeTls::Plain(stream), request).await;
        }
        let stream = connect_tcp(request, 443).await?;
        let host = request.uri().host().unwrap_or_default();
        let stream = tls.connect(host.trim_matches(['[', ']']), stream).await?;
        WebSocket::handshake(MaybeTls::from(stream), request).await
    }
}

/// Connects to the host and port of `request`'s URL (`default_port` if it names none), with
/// `TCP_NODELAY` set.
async fn connect_tcp(request: &Request, default_port: u16) -> io::Result<TcpStream> {
    let uri = request.uri();
    let host = uri.host().unwrap_or_default().trim_matches(['[', ']']);
    let port = uri.port_u16().unwrap_or(default_port);
    let addrs = ttk_net::lookup_host((host, port)).await?;
    let stream = TcpStream::connect(addrs.as_slice()).await?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

impl<S: ByteStream> WebSocket<S> {
    /// Does the client handshake for `request` (see [`request`]) over `stream`, already
    /// connected: a transport of one's own, or a [`TcpStream`] set up by hand. The request gets
    /// a fresh `Sec-WebSocket-Key`.
    ///
    /// # Errors
    /// `InvalidData` if the server refuses the handshake (the message names the HTTP status it
    /// answered, e.g. `404 Not Found`), answers something else than a valid `101 Switching
    /// Protocols`, or agrees to an extension (`permessage-deflate`: ttk speaks none);
    /// `UnexpectedEof` if it closes the connection first; the stream's errors.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// # use std::io::{Read, Write};
    /// use ttk_http::ws::{self, WebSocket};
    /// use ttk_net::TcpStream;
    ///
    /// # fn main() -> std::io::Result<()> {
    /// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let addr = listener.local_addr()?.to_string();
    /// # std::thread::spawn(move || {
    /// #     let (mut socket, _) = listener.accept().unwrap();
    /// #     let mut request = [0; 1024];
    /// #     socket.read(&mut request).unwrap();
    /// #     socket.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n").unwrap();
    /// # });
    /// #[bot(crate = ttk_core)]
    /// fn refused(_cx: Cx, _id: usize, addr: String) -> std::io::Error {
    ///     let stream = ttk_core::yield_!(TcpStream::connect(addr.as_str())).unwrap();
    ///     let request = ws::request(&format!("ws://{addr}/missing")).unwrap();
    ///     ttk_core::yield_!(WebSocket::handshake(stream, &request)).unwrap_err()
    /// }
    ///
    /// let error = ttk_core::run(1, |cx, id| refused(cx, id, addr.clone())).pop().unwrap();
    /// assert_eq!(error.kind(), std::io::ErrorKind::InvalidData);
    /// assert!(error.to_string().contains("404 Not Found"), "{error}");
    /// # Ok(())
    /// # }
    /// ```
    pub async fn handshake(stream: S, request: &Request) -> io::Result<WebSocket<S>> {
        let mut request = request.clone();
        let key = HeaderValue::from_str(&generate_key()).expect("a base64 key is a header value");
        request.headers_mut().insert("Sec-WebSocket-Key", key);
        let asked = request.headers().contains_key("Sec-WebSocket-Extensions");
        let mid = ClientHandshake::start(Duplex::new(), request, Some(config())).map_err(to_io)?;
        let ((mut socket, response), stream) = finish_handshake(stream, mid).await?;
        if let Some(agreed) = response
            .headers()
            .get("Sec-WebSocket-Extensions")
            .filter(|agreed| !agreed.as_bytes().trim_ascii().is_empty())
        {
            // An extension agreed to (`permessage-deflate`, asked for by hand): its frames
            // (compressed, with a reserved bit set) would each fail as a protocol error.
            let what_to_do = if asked {
                "leave Sec-WebSocket-Extensions out of the request"
            } else {
                "the request asked for none: the server is at fault"
            };
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "the server agreed to the WebSocket extension {:?}, which ttk does not \
                     speak (no compression): {what_to_do}",
                    String::from_utf8_lossy(agreed.as_bytes())
                ),
            ));
        }
        socket.get_mut().handshake_done();
        let mut ws = WebSocket {
            stream,
            socket,
            role: Role::Client,
            broken: false,
        };
        ws.write_out().await?;
        Ok(ws)
    }

    /// Does the server handshake over `stream`, just accepted: reads the client's request and
    /// answers `101 Switching Protocols`. Once closed (by [`close`](WebSocket::close), or a
    /// [`receive`](WebSocket::receive) that returned the client's close), drop the
    /// `WebSocket`: the server closes the TCP connection, and a client waits for that.
    ///
    /// # Errors
    /// `InvalidData` if the request is not a valid WebSocket upgrade (tungstenite then answers
    /// nothing); `UnexpectedEof` if the client closes first; the stream's errors.
    ///
    /// # Examples
    /// A server bot and a client bot on the same loop:
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use std::cell::Cell;
    /// use std::rc::Rc;
    /// use ttk_http::ws::WebSocket;
    /// use ttk_net::TcpListener;
    ///
    /// # fn main() -> std::io::Result<()> {
    /// #[bot(crate = ttk_core)]
    /// fn peer(_cx: Cx, id: usize, port: Rc<Cell<u16>>) -> std::io::Result<String> {
    ///     if id == 0 {
    ///         // The server: takes one message, then closes.
    ///         let listener = TcpListener::bind("127.0.0.1:0")?;
    ///         port.set(listener.local_addr()?.port());
    ///         let (stream, _) = ttk_core::yield_!(listener.accept())?;
    ///         let mut ws = ttk_core::yield_!(WebSocket::accept(stream))?;
    ///         let message = ttk_core::yield_!(ws.receive())?;
    ///         ttk_core::yield_!(ws.close(None))?;
    ///         Ok(message.into_text().unwrap().to_string())
    ///     } else {
    ///         let url = format!("ws://127.0.0.1:{}/", port.get());
    ///         let mut ws = ttk_core::yield_!(WebSocket::connect(&url))?;
    ///         ttk_core::yield_!(ws.send_text("hi"))?;
    ///         let answer = ttk_core::yield_!(ws.receive())?;
    ///         Ok(format!("{answer:?}"))
    ///     }
    /// }
    ///
    /// let port = Rc::new(Cell::new(0));
    /// let results = ttk_core::run(2, |cx, id| peer(cx, id, port.clone()));
    /// assert_eq!(results[0].as_ref().unwrap(), "hi");
    /// assert_eq!(results[1].as_ref().unwrap(), "Close(None)");
    /// # Ok(())
    /// # }
    /// ```
    pub async fn accept(stream: S) -> io::Result<WebSocket<S>> {
        let mid = ServerHandshake::start(Duplex::new(), NoCallback, Some(config()));
        let (mut socket, stream) = finish_handshake(stream, mid).await?;
        socket.get_mut().handshake_done();
        let mut ws = WebSocket {
            stream,
            socket,
            role: Role::Server,
            broken: false,
        };
        ws.write_out().await?; // the 101 answer
        Ok(ws)
    }

    /// Sets the longest message accepted (its payload, all fragments together), 16 MiB by
    /// default; a longer one fails [`receive`](WebSocket::receive) with `InvalidData` naming the
    /// size and the limit.
    ///
    /// # Examples
    /// ```
    /// # fn f(ws: &mut ttk_http::ws::WebSocket) {
    /// ws.set_max_message_len(64 * 1024);
    /// # }
    /// ```
    pub fn set_max_message_len(&mut self, limit: usize) {
        self.socket
            .set_config(|config| config.max_message_size = Some(limit));
    }

    /// Sets the longest frame accepted (its payload), 16 MiB by default; a longer one fails
    /// [`receive`](WebSocket::receive) with `InvalidData` naming the size and the limit, as
    /// soon as its header arrives.
    ///
    /// # Examples
    /// ```
    /// # fn f(ws: &mut ttk_http::ws::WebSocket) {
    /// ws.set_max_frame_len(64 * 1024);
    /// # }
    /// ```
    pub fn set_max_frame_len(&mut self, limit: usize) {
        self.socket
            .set_config(|config| config.max_frame_size = Some(limit));
    }

    /// The transport.
    ///
    /// # Examples
    /// ```
    /// # fn f(ws: &ttk_http::ws::WebSocket) -> std::io::Result<()> {
    /// // The `MaybeTls`, then the TCP stream below any TLS.
    /// println!("talking to {}", ws.get_ref().get_ref().peer_addr()?);
    /// # Ok(())
    /// # }
    /// ```
    pub fn get_ref(&self) -> &S {
        &self.stream
    }

    /// Sends `message` (text, binary, ping, pong or close) and writes it to the socket at once.
    /// Sending [`Message::Close`] starts the close handshake without waiting for its end: see
    /// [`close`](WebSocket::close) for that.
    ///
    /// # Errors
    /// `NotConnected` once the close handshake has started or the connection is closed; the
    /// socket's errors.
    ///
    /// # Examples
    /// ```
    /// use ttk_http::ws::{Bytes, Message, WebSocket};
    ///
    /// # async fn f(ws: &mut WebSocket) -> std::io::Result<()> {
    /// // Built once; each send clones it without copying the payload.
    /// let update = Message::Binary(Bytes::from_static(&[1, 2, 3]));
    /// for _ in 0..10 {
    ///     ws.send(update.clone()).await?;
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub async fn send(&mut self, message: Message) -> io::Result<()> {
        self.ready()?;
        if let Some((header, payload)) = data_frame(&message)
            && self.socket.can_write()
        {
            return self.write_frame(header, payload).await;
        }
        // Control messages, and the error of a connection that cannot send.
        let queued = self.socket.send(message);
        self.write_out().await?;
        queued.map_err(to_io)
    }

    /// Sends a text message, written from `text` (no `Message` is made).
    ///
    /// # Errors
    /// Those of [`send`](WebSocket::send).
    ///
    /// # Examples
    /// ```
    /// # async fn f(ws: &mut ttk_http::ws::WebSocket) -> std::io::Result<()> {
    /// ws.send_text(r#"{"op":"join","room":"lobby"}"#).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn send_text(&mut self, text: &str) -> io::Result<()> {
        self.send_data(Data::Text, text.as_bytes()).await
    }

    /// Sends a binary message, written from `data` (no `Message` is made).
    ///
    /// # Errors
    /// Those of [`send`](WebSocket::send).
    ///
    /// # Examples
    /// ```
    /// # async fn f(ws: &mut ttk_http::ws::WebSocket) -> std::io::Result<()> {
    /// ws.send_binary(&[0x01, 0x02, 0x03]).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn send_binary(&mut self, data: &[u8]) -> io::Result<()> {
        self.send_data(Data::Binary, data).await
    }

    /// Sends a ping with `payload` (at most 125 bytes). The peer's pong comes back as a
    /// [`Message::Pong`] from [`receive`](WebSocket::receive).
    ///
    /// # Errors
    /// `InvalidInput` for a payload over 125 bytes; those of [`send`](WebSocket::send).
    ///
    /// # Examples
    /// ```
    /// use ttk_http::ws::{Message, WebSocket};
    ///
    /// # async fn f(ws: &mut WebSocket) -> std::io::Result<()> {
    /// ws.ping(b"are you there?").await?;
    /// loop {
    ///     if let Message::Pong(payload) = ws.receive().await? {
    ///         assert_eq!(&payload[..], b"are you there?");
    ///         break;
    ///     }
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub async fn ping(&mut self, payload: &[u8]) -> io::Result<()> {
        if payload.len() > MAX_CONTROL_PAYLOAD {
            return Err(invalid_input(format!(
                "a ping's payload is at most {MAX_CONTROL_PAYLOAD} bytes, not {}",
                payload.len()
            )));
        }
        self.send(Message::Ping(Bytes::copy_from_slice(payload)))
            .await
    }

    /// Encodes `message` into the write buffer without writing it: [`flush`](WebSocket::flush)
    /// (or the next [`send`](WebSocket::send)) writes everything queued with one `write_all`.
    ///
    /// # Errors
    /// `NotConnected` once the close handshake has started or the connection is closed.
    ///
    /// # Examples
    /// ```
    /// use ttk_http::ws::{Message, WebSocket};
    ///
    /// # async fn f(ws: &mut WebSocket) -> std::io::Result<()> {
    /// for i in 0..3 {
    ///     ws.queue(Message::text(format!("move {i}")))?;
    /// }
    /// ws.flush().await?; // three frames, one write
    /// # Ok(())
    /// # }
    /// ```
    pub fn queue(&mut self, message: Message) -> io::Result<()> {
        self.ready()?;
        if let Some((header, payload)) = data_frame(&message)
            && self.socket.can_write()
        {
            let mask = self.mask(&header);
            let outgoing = &mut self.socket.get_mut().outgoing;
            write_header(&header, mask, payload.len(), outgoing);
            extend_masked(outgoing, payload, mask, 0);
            return Ok(());
        }
        self.socket.write(message).map_err(to_io)
    }

    /// Writes what is queued: messages given to [`queue`](WebSocket::queue), and an answer to a
    /// ping or close not yet written.
    ///
    /// # Errors
    /// The socket's errors.
    ///
    /// # Examples
    /// See [`queue`](WebSocket::queue).
    pub async fn flush(&mut self) -> io::Result<()> {
        self.ready()?;
        let flushed = match self.socket.flush() {
            Err(error) if is_closed(&error) => Ok(()),
            other => other,
        };
        self.write_out().await?;
        flushed.map_err(to_io)
    }

    /// Receives the next message, waiting for it.
    ///
    /// Every message is returned, control frames included: a [`Message::Ping`] after its pong
    /// was written (pings are answered automatically), a [`Message::Pong`], and a
    /// [`Message::Close`] when the peer starts the close handshake, after the answering close
    /// was written. After that the connection is closing: a client's next `receive` waits for
    /// the server to close the TCP connection and then fails with `ConnectionAborted`. Fragmented
    /// messages are returned whole.
    ///
    /// # Errors
    /// `UnexpectedEof` if the peer closes the connection without a close handshake;
    /// `ConnectionAborted` once the close handshake is complete; `NotConnected` after that;
    /// `InvalidData` for a protocol violation or a message over the limits
    /// ([`set_max_message_len`](WebSocket::set_max_message_len)); the socket's errors.
    ///
    /// # Examples
    /// ```
    /// use ttk_http::ws::{Message, WebSocket};
    ///
    /// /// The next data message, skipping control frames.
    /// async fn next_data(ws: &mut WebSocket) -> std::io::Result<Option<Message>> {
    ///     loop {
    ///         match ws.receive().await? {
    ///             Message::Close(_) => return Ok(None),
    ///             Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
    ///             data => return Ok(Some(data)),
    ///         }
    ///     }
    /// }
    /// ```
    pub async fn receive(&mut self) -> io::Result<Message> {
        self.receive_raw().await.map_err(to_io)
    }

    /// Completes the close handshake: sends a close with `frame` (a code and a reason; `None`
    /// sends none) unless one was sent already, then waits for the peer's close, dropping any
    /// message that comes before it. A client then waits for the server to close the TCP
    /// connection, as RFC 6455 asks (bound the wait with [`ttk_core::timeout`] if the server
    /// may not); a server returns at once and should drop the `WebSocket`. Closing again, or
    /// after the peer's close was received, is not an error.
    ///
    /// # Errors
    /// `UnexpectedEof` if the peer closes the connection without answering; the socket's
    /// errors.
    ///
    /// # Examples
    /// ```
    /// use ttk_http::ws::{CloseCode, CloseFrame, WebSocket};
    ///
    /// # async fn f(mut ws: WebSocket) -> std::io::Result<()> {
    /// ws.close(Some(CloseFrame { code: CloseCode::Away, reason: "bot done".into() })).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn close(&mut self, frame: Option<CloseFrame>) -> io::Result<()> {
        self.ready()?;
        let started = self.socket.close(frame);
        self.write_out().await?;
        match started {
            Err(error) if !is_closed(&error) => return Err(to_io(error)),
            _ => {}
        }
        loop {
            match self.receive_raw().await {
                Ok(_) => {}
                Err(error) if is_closed(&error) => return Ok(()),
                Err(error) => return Err(to_io(error)),
            }
        }
    }

    /// [`receive`](WebSocket::receive) with tungstenite's error.
    async fn receive_raw(&mut self) -> tungstenite::Result<Message> {
        self.ready()?;
        loop {
            let result = self.socket.read().and_then(|message| {
                if matches!(message, Message::Ping(_) | Message::Close(_)) {
                    // Have the answer (the pong, the close) written before returning.
                    match self.socket.flush() {
                        Err(error) if !is_closed(&error) => return Err(error),
                        _ => {}
                    }
                }
                Ok(message)
            });
            self.write_out().await?;
            match result {
                Err(tungstenite::Error::Io(error)) if error.kind() == io::ErrorKind::WouldBlock => {
                    let duplex = self.socket.get_mut();
                    debug_assert!(duplex.is_drained());
                    let n = self.stream.read(&mut duplex.incoming).await?;
                    duplex.filled(n);
                }
                Ok(message @ (Message::Text(_) | Message::Binary(_))) => {
                    self.release_read_buffer(message.len());
                    return Ok(message);
                }
                other => return other,
            }
        }
    }

    /// After a text or binary message of `len` bytes was received: if a big frame may have
    /// grown tungstenite's read buffer, and tungstenite holds no byte (the bytes handed to it
    /// end with that message's last frame, see [`Frames`](super::frames::Frames); the length
    /// checks it is that message), and the connection is open (no close under way), puts a new
    /// tungstenite in its place, with this one's duplex and configuration. Dropping the old one
    /// gives its read buffer back, to the message, which holds it until dropped; tungstenite
    /// offers no other way to.
    fn release_read_buffer(&mut self, len: usize) {
        let frames = &self.socket.get_ref().frames;
        if !(frames.is_dirty()
            && frames.ended_message() == Some(len as u64)
            && self.socket.can_write())
        {
            return;
        }
        let config = *self.socket.get_config();
        let mut fresh =
            tungstenite::WebSocket::from_raw_socket(Duplex::placeholder(), self.role, Some(config));
        std::mem::swap(fresh.get_mut(), self.socket.get_mut());
        self.socket = fresh;
        self.socket.get_mut().frames.cleaned();
    }

    /// Sends a text or binary message whose payload is `payload`.
    async fn send_data(&mut self, data: Data, payload: &[u8]) -> io::Result<()> {
        self.ready()?;
        if !self.socket.can_write() {
            // The error of a connection that cannot send, as tungstenite says it.
            let message = Message::Binary(Bytes::new());
            return self.send(message).await;
        }
        self.write_frame(data_header(data), payload).await
    }

    /// The mask a frame with `header` is sent with: a client's is a new random one each time
    /// (RFC 6455 §5.3), as tungstenite's are; a server sends the frame's own (none, unless a
    /// raw [`Message::Frame`] has one).
    fn mask(&self, header: &FrameHeader) -> Option<[u8; 4]> {
        match self.role {
            Role::Client => Some(rand::random()),
            Role::Server => header.mask,
        }
    }

    /// Writes a text, binary or raw frame: what is queued and the frame's header, then its
    /// payload, from `payload` itself. tungstenite would copy the whole frame into its write
    /// buffer, keep that buffer's capacity for good, and the duplex would copy it again; here a
    /// payload that fits in the write buffer's [`WRITE_CHUNK`] goes out with one write, and a
    /// bigger one a chunk at a time (a client's masked into the write buffer; a server's, once
    /// the write buffer is full, straight from `payload`). tungstenite keeps no state about the
    /// data frames sent, so bypassing it changes nothing else.
    async fn write_frame(&mut self, header: FrameHeader, payload: &[u8]) -> io::Result<()> {
        let mask = self.mask(&header);
        let outgoing = &mut self.socket.get_mut().outgoing;
        write_header(&header, mask, payload.len(), outgoing);
        if outgoing.len() + payload.len() <= WRITE_CHUNK {
            extend_masked(outgoing, payload, mask, 0);
            return self.write_out().await;
        }
        self.broken = true;
        let mut sent = 0;
        while sent < payload.len() {
            let outgoing = &mut self.socket.get_mut().outgoing;
            let take = WRITE_CHUNK
                .saturating_sub(outgoing.len())
                .min(payload.len() - sent);
            extend_masked(outgoing, &payload[sent..sent + take], mask, sent);
            sent += take;
            self.stream.write_all(outgoing).await?;
            outgoing.clear();
            if mask.is_none() && sent < payload.len() {
                self.stream.write_all(&payload[sent..]).await?;
                sent = payload.len();
            }
        }
        self.socket.get_mut().written();
        self.broken = false;
        Ok(())
    }

    /// Fails if an earlier operation left the connection in an unknown state.
    fn ready(&self) -> io::Result<()> {
        if self.broken {
            return Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "the WebSocket connection is unusable: an earlier operation failed or was \
                 abandoned while writing",
            ));
        }
        Ok(())
    }

    /// Writes what tungstenite wrote into the duplex.
    async fn write_out(&mut self) -> io::Result<()> {
        let outgoing = &mut self.socket.get_mut().outgoing;
        if outgoing.is_empty() {
            return Ok(());
        }
        self.broken = true;
        self.stream.write_all(outgoing).await?;
        self.socket.get_mut().written();
        self.broken = false;
        Ok(())
    }
}

/// The header and payload of a text, binary or raw frame, which [`WebSocket::write_frame`]
/// writes; `None` for control messages, which tungstenite writes.
fn data_frame(message: &Message) -> Option<(FrameHeader, &[u8])> {
    let (data, payload) = match message {
        Message::Text(text) => (Data::Text, text.as_bytes()),
        Message::Binary(payload) => (Data::Binary, &payload[..]),
        Message::Frame(frame) => return Some((frame.header().clone(), frame.payload())),
        Message::Ping(_) | Message::Pong(_) | Message::Close(_) => return None,
    };
    Some((data_header(data), payload))
}

/// The header of a whole (final) text or binary message.
fn data_header(data: Data) -> FrameHeader {
    FrameHeader {
        opcode: OpCode::Data(data),
        ..FrameHeader::default()
    }
}

/// Appends `header`, with `mask`, for a payload of `len` bytes.
fn write_header(header: &FrameHeader, mask: Option<[u8; 4]>, len: usize, out: &mut Vec<u8>) {
    let header = FrameHeader {
        mask,
        ..header.clone()
    };
    header
        .format(len as u64, out)
        .expect("writing to a Vec cannot fail");
}

/// Runs a handshake to its end over `stream`: writes what it wrote, reads when it needs more.
/// Gives the stream back with the result. What the handshake's last round wrote (a server's
/// `101` answer) is still in the result's duplex, which has yet to be told the handshake is
/// over ([`Duplex::handshake_done`]).
async fn finish_handshake<S: ByteStream, R>(
    stream: S,
    mut mid: MidHandshake<R>,
) -> io::Result<(R::FinalResult, S)>
where
    R: HandshakeRole<InternalStream = Duplex>,
{
    loop {
        match mid.handshake() {
            Ok(done) => return Ok((done, stream)),
            Err(HandshakeError::Failure(error)) => return Err(to_io(error)),
            Err(HandshakeError::Interrupted(next)) => {
                // Writes to the duplex never block: it is waiting for bytes.
                mid = next;
                let duplex = mid.get_mut().get_mut();
                if !duplex.outgoing.is_empty() {
                    stream.write_all(&duplex.outgoing).await?;
                    duplex.outgoing.clear();
                }
                debug_assert!(duplex.is_drained());
                let n = stream.read(&mut duplex.incoming).await?;
                duplex.filled(n);
            }
        }
    }
}
