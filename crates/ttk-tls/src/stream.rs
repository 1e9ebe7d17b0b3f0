//! [`TlsStream`]: rustls's connection state machine, fed from and drained into the bot's own
//! reads and writes on the stream below it.

use std::cell::RefCell;
use std::fmt;
use std::io::{self, Read, Write};
use std::task::{Poll, Waker};
use std::time::Duration;

use rustls::Connection;
use ttk_net::{ByteStream, TcpStream};

use ttk_core::metrics::KindedError;

use crate::errors::{closed_in_handshake, handshake_timed_out, kinds, tls_error, truncated_record};
use crate::records::RecordBoundaries;

/// The size of the buffer a read of ciphertext fills: half a full record, so an idle
/// connection holds little, while a large body still takes few reads.
const READ_CHUNK: usize = 8 * 1024;

/// The capacity the write buffer keeps after a write larger than it: a request or message
/// bigger than this reallocates it, and an idle connection holds no more.
const KEPT_WRITE_BUFFER: usize = 16 * 1024;

/// How long the alert that explains a failure may take to go out before it is given up.
const ALERT_TIME: Duration = Duration::from_secs(1);

/// A TLS connection over a byte stream `S` ([`TcpStream`] by default), itself a
/// [`ByteStream`]: [`Framed`](ttk_net::Framed), HTTP and WebSocket run over it unchanged.
///
/// Made by [`TlsConnector::connect`](crate::TlsConnector::connect) (the client side) or
/// [`TlsAcceptor::accept`](crate::TlsAcceptor::accept) (the server side), which return once the
/// handshake is complete. rustls does the protocol; this stream only moves bytes: a read of
/// ciphertext from `S` is handed to rustls, and what rustls has to send is written to `S`, by
/// the bot's own awaited reads and writes on its loop: no thread, no second runtime.
///
/// A peer that closes the connection between records reads as the end of the stream (`Ok(0)`),
/// with or without a `close_notify` alert first (HTTP servers often skip it); one that closes in
/// the middle of a record is an error. The first TLS failure, or a write to the stream below
/// that failed or was abandoned part way (records half sent), ends the connection: every later
/// operation fails, saying why. One read at a time; writes take turns.
///
/// # Examples
/// A server bot and a client bot on the same loop, speaking lines over TLS:
/// ```
/// # use ttk_macros::bot;
/// # use ttk_core::Cx;
/// use std::cell::Cell;
/// use std::rc::Rc;
/// use ttk_net::{FrameFormat, Framed, TcpListener, TcpStream};
/// use ttk_tls::{TestPki, TlsAcceptor, TlsConnector};
///
/// # fn main() -> std::io::Result<()> {
/// let pki = TestPki::new()?; // a CA, and a certificate for "localhost" signed by it
/// let server = pki.server_certificate(&["localhost"])?;
/// let acceptor = TlsAcceptor::from_pem(server.chain_pem(), server.key_pem())?;
/// let connector = TlsConnector::builder().ca_pem(pki.ca_pem())?.build()?;
///
/// #[bot(crate = ttk_core)]
/// fn peer(_cx: Cx, id: usize, port: Rc<Cell<u16>>, acceptor: TlsAcceptor,
///         connector: TlsConnector) -> std::io::Result<Vec<u8>> {
///     if id == 0 {
///         let listener = TcpListener::bind("127.0.0.1:0")?;
///         port.set(listener.local_addr()?.port());
///         let (tcp, _) = ttk_core::yield_!(listener.accept())?;
///         let tls = ttk_core::yield_!(acceptor.accept(tcp))?;
///         let mut lines = Framed::new(tls, FrameFormat::crlf_lines());
///         Ok(ttk_core::yield_!(lines.read_frame())?.expect("a line").to_vec())
///     } else {
///         let tcp = ttk_core::yield_!(TcpStream::connect(("127.0.0.1", port.get())))?;
///         let tls = ttk_core::yield_!(connector.connect("localhost", tcp))?;
///         let mut lines = Framed::new(tls, FrameFormat::crlf_lines());
///         ttk_core::yield_!(lines.write_frame(b"PING :secret"))?;
///         Ok(Vec::new())
///     }
/// }
///
/// let port = Rc::new(Cell::new(0));
/// let results = ttk_core::run(2, |cx, id| {
///     peer(cx, id, port.clone(), acceptor.clone(), connector.clone())
/// });
/// assert_eq!(results[0].as_ref().unwrap(), b"PING :secret");
/// # Ok(())
/// # }
/// ```
pub struct TlsStream<S = TcpStream> {
    /// The stream the records travel on.
    io: S,
    /// The protocol state and the buffers; borrowed only between awaits, never across one.
    tls: RefCell<Tls>,
}

/// A [`TlsStream`]'s state.
struct Tls {
    /// rustls's state machine.
    conn: Connection,
    /// The buffer ciphertext is read into (taken out while a read awaits): bytes at
    /// `unfed..filled` were read but not yet given to rustls.
    incoming: Vec<u8>,
    /// The first byte of `incoming` not yet given to rustls.
    unfed: usize,
    /// The end of the bytes read into `incoming`.
    filled: usize,
    /// The buffer ciphertext is written from; taken out while a write awaits.
    outgoing: Vec<u8>,
    /// Where the received bytes stand among records.
    records: RecordBoundaries,
    /// The stream below has reached its end.
    eof: bool,
    /// rustls may hold decrypted bytes not yet read: a read of them would find something
    /// without the stream below (whose own readiness says nothing of them).
    plaintext_held: bool,
    /// The peer's `close_notify` came: a read returns at once.
    close_notified: bool,
    /// A read of the stream below is under way.
    reading: bool,
    /// A write to the stream below is under way: what rustls has to send waits for it, so
    /// that records go out in order.
    writing: bool,
    /// Writes waiting for their turn.
    write_waiters: Vec<Waker>,
    /// The first fatal error (a TLS failure, a write failed or abandoned part way): every
    /// later operation fails with it.
    failed: Option<(io::ErrorKind, KindedError)>,
    /// The peer's name, for error messages.
    peer: Box<str>,
}

/// How much [`TlsStream::send_pending`] sends.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Sending {
    /// What rustls holds, and again while more comes: a write's own data.
    UntilDone,
    /// One batch: a read answering a key update does not stay to send other writes' data.
    OneBatch,
}

impl<S: ByteStream> TlsStream<S> {
    /// A stream over `io` with a handshake to do.
    pub(crate) fn new(io: S, conn: Connection, peer: &str) -> TlsStream<S> {
        TlsStream {
            io,
            tls: RefCell::new(Tls {
                conn,
                incoming: Vec::new(),
                unfed: 0,
                filled: 0,
                outgoing: Vec::new(),
                records: RecordBoundaries::default(),
                eof: false,
                plaintext_held: false,
                close_notified: false,
                reading: false,
                writing: false,
                write_waiters: Vec::new(),
                failed: None,
                peer: peer.into(),
            }),
        }
    }

    /// Runs the handshake to its end, within `limit` if one is given.
    pub(crate) async fn handshake(&self, limit: Option<Duration>) -> io::Result<()> {
        match limit {
            None => self.complete_handshake().await,
            Some(limit) => match ttk_core::timeout(limit, self.complete_handshake()).await {
                Ok(done) => done,
                Err(_) => {
                    let mut tls = self.tls.borrow_mut();
                    let error = handshake_timed_out(&tls.peer, limit);
                    Err(tls.fail(error))
                }
            },
        }
    }

    /// Sends and receives handshake messages until the handshake is complete.
    async fn complete_handshake(&self) -> io::Result<()> {
        loop {
            self.send_pending(Sending::UntilDone).await?;
            if !self.tls.borrow().conn.is_handshaking() {
                return Ok(());
            }
            if self.receive().await? == 0 {
                let mut tls = self.tls.borrow_mut();
                let error = closed_in_handshake(&tls.peer);
                return Err(tls.fail(error));
            }
        }
    }

    /// Writes what rustls has to send (handshake messages, alerts, encrypted data). With a
    /// write already under way it returns at once: that write sends what rustls holds when it
    /// is done, so records never interleave.
    async fn send_pending(&self, sending: Sending) -> io::Result<()> {
        loop {
            let mut out = {
                let mut tls = self.tls.borrow_mut();
                tls.check()?;
                if tls.writing || !tls.conn.wants_write() {
                    return Ok(());
                }
                let mut out = std::mem::take(&mut tls.outgoing);
                while tls.conn.wants_write() {
                    if let Err(error) = tls.conn.write_tls(&mut out) {
                        return Err(tls.fail(error));
                    }
                }
                tls.writing = true;
                out
            };
            let mut under_way = WriteUnderWay {
                tls: &self.tls,
                finished: false,
            };
            let written = self.io.write_all(&out).await;
            under_way.finished = true;
            drop(under_way);
            out.clear();
            let mut tls = self.tls.borrow_mut();
            if tls.outgoing.capacity() == 0 {
                tls.outgoing = out;
            }
            if let Err(error) = written {
                return Err(tls.fail_write(error));
            }
            if sending == Sending::OneBatch {
                return Ok(());
            }
        }
    }

    /// Waits until no other write of this stream is under way.
    fn write_turn(&self) -> impl Future<Output = ()> + '_ {
        std::future::poll_fn(move |context| {
            let mut tls = self.tls.borrow_mut();
            if tls.writing {
                tls.write_waiters.push(context.waker().clone());
                Poll::Pending
            } else {
                Poll::Ready(())
            }
        })
    }

    /// Hands rustls ciphertext: bytes read before and not yet given, else a new read of the
    /// stream below; returns how many bytes were handed over (0: the stream ended). A protocol
    /// error is sent to the peer as an alert, then returned.
    async fn receive(&self) -> io::Result<usize> {
        let earlier = {
            let mut tls = self.tls.borrow_mut();
            tls.check()?;
            let unfed = tls.filled - tls.unfed;
            (unfed > 0).then(|| tls.feed().map(|()| unfed))
        };
        if let Some(fed) = earlier {
            if fed.is_err() {
                self.send_alert().await;
            }
            return fed;
        }
        let mut buf = {
            let mut tls = self.tls.borrow_mut();
            if tls.reading {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "another read of this TLS stream is under way: read it from one place",
                ));
            }
            tls.reading = true;
            std::mem::take(&mut tls.incoming)
        };
        if buf.len() < READ_CHUNK {
            buf.resize(READ_CHUNK, 0);
        }
        let under_way = ReadUnderWay { tls: &self.tls };
        let read = self.io.read(&mut buf).await;
        drop(under_way);
        let fed = {
            let mut tls = self.tls.borrow_mut();
            match read {
                Ok(0) => {
                    tls.incoming = buf;
                    tls.take_end();
                    return Ok(0);
                }
                Ok(n) => {
                    tls.records.track(&buf[..n]);
                    tls.incoming = buf;
                    tls.unfed = 0;
                    tls.filled = n;
                    tls.feed().map(|()| n)
                }
                Err(error) => {
                    tls.incoming = buf;
                    return Err(error);
                }
            }
        };
        if fed.is_err() {
            self.send_alert().await;
        }
        fed
    }

    /// After a TLS failure, tells the peer why (the alert rustls queued), if no write is under
    /// way, within a second: best effort, the failure stays what the caller sees.
    async fn send_alert(&self) {
        let out = {
            let mut tls = self.tls.borrow_mut();
            if tls.writing || tls.failed.is_none() || !tls.conn.wants_write() {
                return;
            }
            let mut out = Vec::new();
            while tls.conn.wants_write() {
                if tls.conn.write_tls(&mut out).is_err() {
                    return;
                }
            }
            tls.writing = true;
            out
        };
        let mut under_way = WriteUnderWay {
            tls: &self.tls,
            finished: false,
        };
        let _ = ttk_core::timeout(ALERT_TIME, self.io.write_all(&out)).await;
        under_way.finished = true;
    }

    /// The stream below.
    ///
    /// # Examples
    /// ```
    /// # fn f(stream: &ttk_tls::TlsStream) -> std::io::Result<()> {
    /// println!("TLS with {}", stream.get_ref().peer_addr()?);
    /// # Ok(())
    /// # }
    /// ```
    pub fn get_ref(&self) -> &S {
        &self.io
    }

    /// The application protocol agreed by ALPN (`b"h2"`, `b"http/1.1"`), if any.
    ///
    /// # Examples
    /// ```
    /// # fn f(stream: &ttk_tls::TlsStream) {
    /// let http2 = stream.alpn_protocol().as_deref() == Some(&b"h2"[..]);
    /// # }
    /// ```
    pub fn alpn_protocol(&self) -> Option<Vec<u8>> {
        self.tls.borrow().conn.alpn_protocol().map(<[u8]>::to_vec)
    }

    /// The protocol version agreed: `"TLSv1.3"` or `"TLSv1.2"` (`None` before the handshake).
    ///
    /// # Examples
    /// ```
    /// # fn f(stream: &ttk_tls::TlsStream) {
    /// println!("{}", stream.protocol_version().unwrap_or("no TLS yet"));
    /// # }
    /// ```
    pub fn protocol_version(&self) -> Option<&'static str> {
        match self.tls.borrow().conn.protocol_version()? {
            rustls::ProtocolVersion::TLSv1_3 => Some("TLSv1.3"),
            rustls::ProtocolVersion::TLSv1_2 => Some("TLSv1.2"),
            _ => Some("TLS (older)"),
        }
    }

    /// Whether the handshake resumed an earlier session (an abbreviated handshake) rather than
    /// making a new one. Always false on the server side.
    ///
    /// # Examples
    /// ```
    /// # fn f(stream: &ttk_tls::TlsStream) {
    /// let kind = if stream.is_resumed() { "resumed" } else { "full" };
    /// # }
    /// ```
    pub fn is_resumed(&self) -> bool {
        match &self.tls.borrow().conn {
            Connection::Client(client) => {
                client.handshake_kind() == Some(rustls::HandshakeKind::Resumed)
            }
            Connection::Server(_) => false,
        }
    }

    /// Whether the reads so far found that the peer ended the stream (its `close_notify`, or
    /// the end of the stream below), without a read now: a client that read a response and
    /// the server's `close_notify` behind it in one read knows not to write its next request
    /// on the connection.
    ///
    /// # Examples
    /// ```
    /// # fn f(stream: &ttk_tls::TlsStream) {
    /// let reusable = !stream.peer_closed();
    /// # }
    /// ```
    pub fn peer_closed(&self) -> bool {
        let tls = self.tls.borrow();
        tls.close_notified || tls.eof
    }

    /// Sends a `close_notify` alert: the peer reads the end of the stream. The stream below
    /// stays open (drop the `TlsStream` to close it). While another write of this stream is
    /// under way, the alert goes out with it, after what it is sending.
    ///
    /// # Errors
    /// Those of the stream below's `write_all`.
    ///
    /// # Examples
    /// ```
    /// # async fn f(stream: &ttk_tls::TlsStream) -> std::io::Result<()> {
    /// stream.close_notify().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn close_notify(&self) -> io::Result<()> {
        self.tls.borrow_mut().conn.send_close_notify();
        self.send_pending(Sending::UntilDone).await
    }
}

impl Tls {
    /// Fails unless no fatal error happened.
    fn check(&self) -> io::Result<()> {
        match &self.failed {
            None => Ok(()),
            Some((kind, error)) => Err(error.clone().into_io(*kind)),
        }
    }

    /// Records `error` as the stream's fatal error if it is a TLS failure (one with a kind of
    /// its own) and none was recorded; gives it back.
    fn fail(&mut self, error: io::Error) -> io::Error {
        if self.failed.is_none()
            && let Some(kinded) = error
                .get_ref()
                .and_then(|inner| inner.downcast_ref::<KindedError>())
        {
            self.failed = Some((error.kind(), kinded.clone()));
        }
        error
    }

    /// Records that a write to the stream below failed part way: records may be half sent, so
    /// the connection cannot go on. Gives the error back as it was, for the caller to see.
    fn fail_write(&mut self, error: io::Error) -> io::Error {
        if self.failed.is_none() {
            let ended = KindedError::new(
                kinds::PROTOCOL,
                format!(
                    "TLS with {}: a write failed part way ({error}); the connection cannot go on",
                    self.peer
                ),
            );
            self.failed = Some((error.kind(), ended));
        }
        error
    }

    /// The stream below ended: rustls is told, so its reader can say how.
    fn take_end(&mut self) {
        self.eof = true;
        let _ = self.conn.read_tls(&mut &[][..]);
    }

    /// Hands rustls the bytes read and not yet given, processing each piece it takes. Stops
    /// while decrypted bytes wait to be read (rustls holds at most 16 KiB of them), and after
    /// the peer's `close_notify` (what follows it is ignored, RFC 8446 section 6.1).
    fn feed(&mut self) -> io::Result<()> {
        while self.unfed < self.filled {
            let mut unfed = &self.incoming[self.unfed..self.filled];
            let taken = match self.conn.read_tls(&mut unfed) {
                Ok(taken) => taken,
                Err(error) => {
                    let error = KindedError::new(
                        kinds::PROTOCOL,
                        format!("TLS with {}: {error}", self.peer),
                    )
                    .into_io(io::ErrorKind::InvalidData);
                    return Err(self.fail(error));
                }
            };
            self.unfed += taken;
            let state = match self.conn.process_new_packets() {
                Ok(state) => state,
                Err(error) => {
                    let client = matches!(self.conn, Connection::Client(_));
                    let handshaking = self.conn.is_handshaking();
                    let error = tls_error(&error, &self.peer, handshaking, client);
                    return Err(self.fail(error));
                }
            };
            self.plaintext_held = state.plaintext_bytes_to_read() > 0;
            // After the peer's `close_notify` a read ends at once (0): ready, whatever the
            // stream below says.
            self.close_notified |= state.peer_has_closed();
            if taken == 0 || state.peer_has_closed() {
                self.unfed = self.filled;
                break;
            }
            if self.plaintext_held && !self.conn.is_handshaking() {
                break;
            }
        }
        Ok(())
    }

    /// Reads decrypted bytes: `Some(n)` if there were any (or the stream ended), `None` if more
    /// ciphertext is needed.
    fn read_plaintext(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        match self.conn.reader().read(buf) {
            Ok(n) => {
                // rustls's reader fills `buf` from all it holds: a read that filled it may have
                // left some, a shorter one left none.
                self.plaintext_held = n > 0 && n == buf.len();
                Ok(Some(n))
            }
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                self.plaintext_held = false;
                self.check()?;
                if self.eof && self.unfed == self.filled {
                    // rustls waits for more; there is none.
                    return self.ended().map(Some);
                }
                Ok(None)
            }
            Err(error) if error.kind() == io::ErrorKind::UnexpectedEof => self.ended().map(Some),
            Err(error) => Err(self.fail(error)),
        }
    }

    /// The peer closed without `close_notify`: the end of the stream between records, an
    /// error within one or within the handshake (or after a failure, that failure).
    fn ended(&mut self) -> io::Result<usize> {
        self.check()?;
        if self.conn.is_handshaking() {
            let error = closed_in_handshake(&self.peer);
            Err(self.fail(error))
        } else if self.records.inside_record() {
            let error = truncated_record(&self.peer);
            Err(self.fail(error))
        } else {
            Ok(0)
        }
    }
}

/// A read of the stream below, under way; it ends when dropped, done or abandoned (nothing is
/// lost: the bytes are handed over only once the read is done).
struct ReadUnderWay<'a> {
    /// The stream's state.
    tls: &'a RefCell<Tls>,
}

impl Drop for ReadUnderWay<'_> {
    fn drop(&mut self) {
        self.tls.borrow_mut().reading = false;
    }
}

/// A write of ciphertext to the stream below, under way: dropped before it finished (its
/// future abandoned, e.g. by a timeout), it leaves records half sent, and the connection can
/// no longer go on. Either way the next write's turn comes.
struct WriteUnderWay<'a> {
    /// The stream's state.
    tls: &'a RefCell<Tls>,
    /// The write finished (well or with an error).
    finished: bool,
}

impl Drop for WriteUnderWay<'_> {
    fn drop(&mut self) {
        let mut tls = self.tls.borrow_mut();
        tls.writing = false;
        for waiter in tls.write_waiters.drain(..) {
            waiter.wake();
        }
        if !self.finished && tls.failed.is_none() {
            let abandoned = KindedError::new(
                kinds::PROTOCOL,
                format!(
                    "TLS with {}: a write was abandoned part way (a timeout?); the connection \
                     cannot go on",
                    tls.peer
                ),
            );
            tls.failed = Some((io::ErrorKind::NotConnected, abandoned));
        }
    }
}

impl<S: ByteStream> ByteStream for TlsStream<S> {
    async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if let Some(n) = self.tls.borrow_mut().read_plaintext(buf)? {
                return Ok(n);
            }
            // A handshake not finished yet, a key update to answer: what rustls has to send
            // goes first.
            self.send_pending(Sending::OneBatch).await?;
            self.receive().await?;
        }
    }

    /// Writes all of `buf`; while another write of this stream is under way, this one waits
    /// its turn.
    async fn write_all(&self, mut buf: &[u8]) -> io::Result<()> {
        if self.tls.borrow().conn.is_handshaking() {
            self.complete_handshake().await?;
        }
        while !buf.is_empty() {
            self.write_turn().await;
            let taken = {
                let mut tls = self.tls.borrow_mut();
                tls.check()?;
                match tls.conn.writer().write(buf) {
                    Ok(taken) => taken,
                    Err(error) => return Err(tls.fail(error)),
                }
            };
            buf = &buf[taken..];
            self.send_pending(Sending::UntilDone).await?;
            if taken == 0 && !self.tls.borrow().writing {
                // rustls took nothing, and nothing is being sent to make room.
                return Err(io::ErrorKind::WriteZero.into());
            }
        }
        let mut tls = self.tls.borrow_mut();
        if tls.outgoing.capacity() > KEPT_WRITE_BUFFER {
            // One large write (a big body) keeps no big buffer for the connection's life.
            tls.outgoing = Vec::new();
        }
        Ok(())
    }

    /// Decrypted bytes rustls may hold (a read that did not take them all), the peer's
    /// `close_notify`, records read and not yet given to rustls, the end of the stream or a
    /// failure, or the stream below's own readiness.
    fn read_ready(&self) -> bool {
        let tls = self.tls.borrow();
        tls.plaintext_held
            || tls.close_notified
            || tls.unfed < tls.filled
            || tls.eof
            || tls.failed.is_some()
            || self.io.read_ready()
    }
}

impl<S: fmt::Debug> fmt::Debug for TlsStream<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tls = self.tls.borrow();
        f.debug_struct("TlsStream")
            .field("io", &self.io)
            .field("peer", &tls.peer)
            .field("handshaking", &tls.conn.is_handshaking())
            .field("eof", &tls.eof)
            .finish()
    }
}
