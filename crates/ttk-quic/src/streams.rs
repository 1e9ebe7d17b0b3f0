//! A QUIC connection's streams: [`QuicSendStream`] (this side sends), [`QuicRecvStream`]
//! (this side reads) and [`QuicStream`] (both: a bidirectional stream).

use std::io;

use quinn_proto::{FinishError, ReadError, ReadableError, StreamId, VarInt, WriteError};

use crate::connection::QuicConnection;
use crate::driver::Shared;
use crate::errors;

/// The sending half of a QUIC stream: bytes written arrive in order, reliably, until
/// [`QuicSendStream::finish`] (or [`QuicSendStream::reset`]).
///
/// # Examples
/// ```
/// # use ttk_macros::bot;
/// # use ttk_core::Cx;
/// # use ttk_quic::{QuicConnection, QuicConnector};
/// #[bot(crate = ttk_core)]
/// fn told(_cx: Cx, _id: usize) -> std::io::Result<()> {
///     let (server, ca) = ttk_quic::echo_quic_server()?; // a QUIC server in this process, for the example
///     let tls = ttk_tls::TlsConnector::builder().ca_pem(ca)?.build()?;
///     let connector = QuicConnector::new(&tls, &["echo"])?;
///     let connection = ttk_core::yield_!(QuicConnection::connect(server, "localhost", &connector))?;
///     let mut stream = ttk_core::yield_!(connection.open_uni())?;
///     ttk_core::yield_!(stream.write_all(b"score 42"))?;
///     stream.finish()?;
///     ttk_core::yield_!(stream.delivered())
/// }
///
/// ttk_core::run(1, told)[0].as_ref().unwrap();
/// ```
pub struct QuicSendStream {
    connection: QuicConnection,
    id: StreamId,
    /// Whether it was finished or reset (else dropping it finishes it).
    ended: bool,
    /// Whether it was finished (its end sent).
    finished: bool,
}

impl QuicSendStream {
    pub(crate) fn new(connection: QuicConnection, id: StreamId) -> QuicSendStream {
        QuicSendStream {
            connection,
            id,
            ended: false,
            finished: false,
        }
    }

    /// The stream's id.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// # use ttk_quic::{QuicConnection, QuicConnector};
    /// #[bot(crate = ttk_core)]
    /// fn ids(_cx: Cx, _id: usize) -> std::io::Result<(u64, u64)> {
    ///     let (server, ca) = ttk_quic::echo_quic_server()?; // a QUIC server in this process, for the example
    ///     let tls = ttk_tls::TlsConnector::builder().ca_pem(ca)?.build()?;
    ///     let connector = QuicConnector::new(&tls, &["echo"])?;
    ///     let connection = ttk_core::yield_!(QuicConnection::connect(server, "localhost", &connector))?;
    ///     // A client's unidirectional streams are 2, 6, 10…
    ///     let (first, second) = (ttk_core::yield_!(connection.open_uni())?, ttk_core::yield_!(connection.open_uni())?);
    ///     Ok((first.id(), second.id()))
    /// }
    ///
    /// assert_eq!(*ttk_core::run(1, ids)[0].as_ref().unwrap(), (2, 6));
    /// ```
    pub fn id(&self) -> u64 {
        VarInt::from(self.id).into_inner()
    }

    /// Writes all of `data`, waiting while QUIC's flow control holds it back.
    ///
    /// # Errors
    /// `QuicStreamStopped` (`BrokenPipe`) if the server stopped the stream; `NotConnected`
    /// after [`QuicSendStream::finish`] or [`QuicSendStream::reset`]; the connection's end.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// # use ttk_quic::{QuicConnection, QuicConnector};
    /// #[bot(crate = ttk_core)]
    /// fn sent(_cx: Cx, _id: usize) -> std::io::Result<()> {
    ///     let (server, ca) = ttk_quic::echo_quic_server()?; // a QUIC server in this process, for the example
    ///     let tls = ttk_tls::TlsConnector::builder().ca_pem(ca)?.build()?;
    ///     let connector = QuicConnector::new(&tls, &["echo"])?;
    ///     let connection = ttk_core::yield_!(QuicConnection::connect(server, "localhost", &connector))?;
    ///     let mut stream = ttk_core::yield_!(connection.open_uni())?;
    ///     // Far more than one packet: it goes as the server's windows allow.
    ///     ttk_core::yield_!(stream.write_all(&[7; 200_000]))?;
    ///     stream.finish()?;
    ///     ttk_core::yield_!(stream.delivered())
    /// }
    ///
    /// ttk_core::run(1, sent)[0].as_ref().unwrap();
    /// ```
    pub async fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        let (id, peer) = (self.id, self.connection.shared.peer);
        let mut written = 0;
        let shared = &self.connection.shared;
        let done = shared
            .wait_until(None, |shared| {
                if let Some(error) = shared.failure() {
                    return Some(Err(error));
                }
                loop {
                    let wrote = shared
                        .conn
                        .borrow_mut()
                        .send_stream(id)
                        .write(&data[written..]);
                    match wrote {
                        Ok(count) => {
                            written += count;
                            shared.mark_dirty();
                        }
                        Err(WriteError::Blocked) => return None,
                        Err(WriteError::Stopped(code)) => {
                            return Some(Err(errors::stream_stopped(peer, code.into_inner())));
                        }
                        Err(WriteError::ClosedStream) => return Some(Err(errors::closed_stream())),
                    }
                    if written == data.len() {
                        return Some(Ok(()));
                    }
                }
            })
            .await;
        if written > 0 {
            Shared::flush_soon(shared);
        }
        done.unwrap_or_else(|| Err(io::ErrorKind::TimedOut.into()))
    }

    /// Writes what of `data` QUIC's flow control lets go now, waiting until that is at least
    /// a byte: how many bytes. For a bot that must know what went out if it gives up (a
    /// [`QuicSendStream::write_all`] cut short by a timeout leaves that unknown).
    ///
    /// # Errors
    /// Those of [`QuicSendStream::write_all`].
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// # use ttk_quic::{QuicConnection, QuicConnector};
    /// #[bot(crate = ttk_core)]
    /// fn upload(_cx: Cx, _id: usize) -> std::io::Result<usize> {
    ///     let (server, ca) = ttk_quic::echo_quic_server()?; // a QUIC server in this process, for the example
    ///     let tls = ttk_tls::TlsConnector::builder().ca_pem(ca)?.build()?;
    ///     let connector = QuicConnector::new(&tls, &["h3"])?;
    ///     let connection = ttk_core::yield_!(QuicConnection::connect(server, "localhost", &connector))?;
    ///     let mut stream = ttk_core::yield_!(connection.open_uni())?;
    ///     let data = vec![0; 1 << 20];
    ///     let mut sent = 0;
    ///     while sent < data.len() {
    ///         let wait = std::time::Duration::from_secs(1);
    ///         match ttk_core::yield_!(ttk_core::timeout(wait, stream.write(&data[sent..]))) {
    ///             Ok(written) => sent += written?,
    ///             Err(_) => break, // stalled for a second: give up, knowing what went out
    ///         }
    ///     }
    ///     Ok(sent)
    /// }
    ///
    /// assert_eq!(*ttk_core::run(1, upload)[0].as_ref().unwrap(), 1 << 20);
    /// ```
    pub async fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if data.is_empty() {
            return Ok(0);
        }
        let (id, peer) = (self.id, self.connection.shared.peer);
        let shared = &self.connection.shared;
        let wrote = shared
            .wait_until(None, |shared| {
                if let Some(error) = shared.failure() {
                    return Some(Err(error));
                }
                let wrote = shared.conn.borrow_mut().send_stream(id).write(data);
                match wrote {
                    Ok(count) => Some(Ok(count)),
                    Err(WriteError::Blocked) => None,
                    Err(WriteError::Stopped(code)) => {
                        Some(Err(errors::stream_stopped(peer, code.into_inner())))
                    }
                    Err(WriteError::ClosedStream) => Some(Err(errors::closed_stream())),
                }
            })
            .await;
        Shared::flush_soon(shared);
        wrote.unwrap_or_else(|| Err(io::ErrorKind::TimedOut.into()))
    }

    /// Ends the stream: the server reads to its end once what was written arrived.
    ///
    /// # Errors
    /// `QuicStreamStopped` if the server stopped the stream; `NotConnected` if it was
    /// finished or reset already.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// # use ttk_quic::{QuicConnection, QuicConnector};
    /// #[bot(crate = ttk_core)]
    /// fn ended(_cx: Cx, _id: usize) -> std::io::Result<std::io::ErrorKind> {
    ///     let (server, ca) = ttk_quic::echo_quic_server()?; // a QUIC server in this process, for the example
    ///     let tls = ttk_tls::TlsConnector::builder().ca_pem(ca)?.build()?;
    ///     let connector = QuicConnector::new(&tls, &["echo"])?;
    ///     let connection = ttk_core::yield_!(QuicConnection::connect(server, "localhost", &connector))?;
    ///     let mut stream = ttk_core::yield_!(connection.open_uni())?;
    ///     ttk_core::yield_!(stream.write_all(b"the end"))?;
    ///     stream.finish()?;
    ///     // Nothing more may go after its end.
    ///     Ok(ttk_core::yield_!(stream.write_all(b"more")).unwrap_err().kind())
    /// }
    ///
    /// assert_eq!(*ttk_core::run(1, ended)[0].as_ref().unwrap(), std::io::ErrorKind::NotConnected);
    /// ```
    pub fn finish(&mut self) -> io::Result<()> {
        self.ended = true;
        let finished = self
            .connection
            .shared
            .conn
            .borrow_mut()
            .send_stream(self.id)
            .finish();
        match finished {
            Ok(()) => {
                self.finished = true;
                Shared::flush_soon(&self.connection.shared);
                Ok(())
            }
            Err(FinishError::Stopped(code)) => Err(errors::stream_stopped(
                self.connection.shared.peer,
                code.into_inner(),
            )),
            Err(FinishError::ClosedStream) => Err(errors::closed_stream()),
        }
    }

    /// Waits until the server acknowledged all of the stream, its end included (after
    /// [`QuicSendStream::finish`]): then a bot may close the connection knowing its last writes
    /// arrived.
    ///
    /// # Errors
    /// `InvalidInput` if the stream was not finished (or was reset since); `QuicStreamStopped`
    /// if the server stopped it; the connection's end.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// # use ttk_quic::{QuicConnection, QuicConnector};
    /// #[bot(crate = ttk_core)]
    /// fn last_report(_cx: Cx, _id: usize) -> std::io::Result<()> {
    ///     let (server, ca) = ttk_quic::echo_quic_server()?; // a QUIC server in this process, for the example
    ///     let tls = ttk_tls::TlsConnector::builder().ca_pem(ca)?.build()?;
    ///     let connector = QuicConnector::new(&tls, &["h3"])?;
    ///     let connection = ttk_core::yield_!(QuicConnection::connect(server, "localhost", &connector))?;
    ///     let mut report = ttk_core::yield_!(connection.open_uni())?;
    ///     ttk_core::yield_!(report.write_all(b"final score 42"))?;
    ///     report.finish()?;
    ///     ttk_core::yield_!(report.delivered())?;
    ///     ttk_core::yield_!(connection.close(0, b"bye"));
    ///     Ok(())
    /// }
    ///
    /// ttk_core::run(1, last_report)[0].as_ref().unwrap();
    /// ```
    pub async fn delivered(&mut self) -> io::Result<()> {
        if !self.finished {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a QUIC stream is delivered once finished: finish it first",
            ));
        }
        let (id, peer) = (self.id, self.connection.shared.peer);
        let delivered = self
            .connection
            .shared
            .wait_until(None, |shared| {
                let stopped = shared.conn.borrow_mut().send_stream(id).stopped();
                match stopped {
                    // Forgotten by quinn-proto: everything was acknowledged.
                    Err(_) => Some(Ok(())),
                    Ok(Some(code)) => Some(Err(errors::stream_stopped(peer, code.into_inner()))),
                    Ok(None) => shared.failure().map(Err),
                }
            })
            .await;
        delivered.unwrap_or_else(|| Err(io::ErrorKind::TimedOut.into()))
    }

    /// Abandons the stream with the application's `code`: what was not delivered yet is not.
    ///
    /// # Errors
    /// `NotConnected` if it was finished (and all delivered) or reset already.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// # use ttk_quic::{QuicConnection, QuicConnector};
    /// #[bot(crate = ttk_core)]
    /// fn abandon(_cx: Cx, _id: usize) -> std::io::Result<()> {
    ///     let (server, ca) = ttk_quic::echo_quic_server()?; // a QUIC server in this process, for the example
    ///     let tls = ttk_tls::TlsConnector::builder().ca_pem(ca)?.build()?;
    ///     let connector = QuicConnector::new(&tls, &["h3"])?;
    ///     let connection = ttk_core::yield_!(QuicConnection::connect(server, "localhost", &connector))?;
    ///     let mut upload = ttk_core::yield_!(connection.open_uni())?;
    ///     ttk_core::yield_!(upload.write_all(&[0; 4096]))?;
    ///     upload.reset(1)
    /// }
    ///
    /// ttk_core::run(1, abandon)[0].as_ref().unwrap();
    /// ```
    pub fn reset(&mut self, code: u32) -> io::Result<()> {
        self.ended = true;
        // Quinn forgets a reset stream once the reset is acknowledged, as it does a delivered
        // one: it is not delivered.
        self.finished = false;
        let reset = self
            .connection
            .shared
            .conn
            .borrow_mut()
            .send_stream(self.id)
            .reset(VarInt::from_u32(code));
        match reset {
            Ok(()) => {
                Shared::flush_soon(&self.connection.shared);
                Ok(())
            }
            Err(_) => Err(errors::closed_stream()),
        }
    }
}

impl Drop for QuicSendStream {
    fn drop(&mut self) {
        // Dropped unended: finished, as a TCP stream is closed after its writes, so the
        // server's stream (and its count of open streams) ends too.
        if !self.ended {
            let _ = self.finish();
        }
    }
}

impl std::fmt::Debug for QuicSendStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QuicSendStream")
            .field("id", &self.id())
            .finish()
    }
}

/// The receiving half of a QUIC stream: bytes in order, reliably, to the stream's end.
///
/// # Examples
/// ```
/// # use ttk_macros::bot;
/// # use ttk_core::Cx;
/// # use ttk_quic::{QuicConnection, QuicConnector};
/// #[bot(crate = ttk_core)]
/// fn fed(_cx: Cx, _id: usize) -> std::io::Result<usize> {
///     let (server, ca) = ttk_quic::echo_quic_server()?; // a QUIC server in this process, for the example
///     let tls = ttk_tls::TlsConnector::builder().ca_pem(ca)?.build()?;
///     let connector = QuicConnector::new(&tls, &["echo"])?;
///     let connection = ttk_core::yield_!(QuicConnection::connect(server, "localhost", &connector))?;
///     // This server opens a unidirectional stream to each client, with 4 KiB.
///     let mut feed = ttk_core::yield_!(connection.accept_uni())?;
///     Ok(ttk_core::yield_!(feed.read_to_end(64 * 1024))?.len())
/// }
///
/// assert_eq!(*ttk_core::run(1, fed)[0].as_ref().unwrap(), 4096);
/// ```
pub struct QuicRecvStream {
    connection: QuicConnection,
    id: StreamId,
    /// Whether its end was read (quinn-proto forgets a stream read to its end).
    finished: bool,
    /// Whether this side stopped it.
    stopped: bool,
}

impl QuicRecvStream {
    pub(crate) fn new(connection: QuicConnection, id: StreamId) -> QuicRecvStream {
        QuicRecvStream {
            connection,
            id,
            finished: false,
            stopped: false,
        }
    }

    /// The stream's id.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// # use ttk_quic::{QuicConnection, QuicConnector};
    /// #[bot(crate = ttk_core)]
    /// fn first(_cx: Cx, _id: usize) -> std::io::Result<u64> {
    ///     let (server, ca) = ttk_quic::echo_quic_server()?; // a QUIC server in this process, for the example
    ///     let tls = ttk_tls::TlsConnector::builder().ca_pem(ca)?.build()?;
    ///     let connector = QuicConnector::new(&tls, &["echo"])?;
    ///     let connection = ttk_core::yield_!(QuicConnection::connect(server, "localhost", &connector))?;
    ///     // A server's unidirectional streams are 3, 7, 11…
    ///     let feed = ttk_core::yield_!(connection.accept_uni())?;
    ///     Ok(feed.id())
    /// }
    ///
    /// assert_eq!(*ttk_core::run(1, first)[0].as_ref().unwrap(), 3);
    /// ```
    pub fn id(&self) -> u64 {
        VarInt::from(self.id).into_inner()
    }

    /// Reads what came into `buf`: how many bytes, 0 at the stream's end (or for an empty
    /// `buf`).
    ///
    /// # Errors
    /// `QuicStreamReset` (`ConnectionReset`) if the server reset the stream; `NotConnected`
    /// after [`QuicRecvStream::stop`]; the connection's end.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// # use ttk_quic::{QuicConnection, QuicConnector};
    /// #[bot(crate = ttk_core)]
    /// fn download(_cx: Cx, _id: usize) -> std::io::Result<usize> {
    ///     let (server, ca) = ttk_quic::echo_quic_server()?; // a QUIC server in this process, for the example
    ///     let tls = ttk_tls::TlsConnector::builder().ca_pem(ca)?.build()?;
    ///     let connector = QuicConnector::new(&tls, &["h3"])?;
    ///     let connection = ttk_core::yield_!(QuicConnection::connect(server, "localhost", &connector))?;
    ///     // This server opens a unidirectional stream to each client, with 4 KiB.
    ///     let mut stream = ttk_core::yield_!(connection.accept_uni())?;
    ///     let (mut total, mut buf) = (0, vec![0; 1024]);
    ///     loop {
    ///         match ttk_core::yield_!(stream.read(&mut buf))? {
    ///             0 => return Ok(total),
    ///             n => total += n,
    ///         }
    ///     }
    /// }
    ///
    /// assert_eq!(*ttk_core::run(1, download)[0].as_ref().unwrap(), 4096);
    /// ```
    pub async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.stopped {
            return Err(errors::closed_stream());
        }
        if buf.is_empty() || self.finished {
            return Ok(0);
        }
        let (id, peer) = (self.id, self.connection.shared.peer);
        let mut finished = false;
        let mut opened_window = false;
        let shared = &self.connection.shared;
        let read = shared
            .wait_until(None, |shared| {
                let next = {
                    let mut conn = shared.conn.borrow_mut();
                    let mut stream = conn.recv_stream(id);
                    match stream.read(true) {
                        Ok(mut chunks) => {
                            let next = chunks.next(buf.len());
                            let transmit = chunks.finalize().should_transmit();
                            if transmit {
                                shared.mark_dirty();
                            }
                            opened_window |= transmit;
                            Ok(next)
                        }
                        Err(error) => Err(error),
                    }
                };
                match next {
                    Ok(Ok(Some(chunk))) => {
                        buf[..chunk.bytes.len()].copy_from_slice(&chunk.bytes);
                        Some(Ok(chunk.bytes.len()))
                    }
                    Ok(Ok(None)) => {
                        finished = true;
                        Some(Ok(0))
                    }
                    Ok(Err(ReadError::Blocked)) => shared.failure().map(Err),
                    Ok(Err(ReadError::Reset(code))) => {
                        Some(Err(errors::stream_reset(peer, code.into_inner())))
                    }
                    Err(ReadableError::ClosedStream) => {
                        Some(Err(shared.failure().unwrap_or_else(errors::closed_stream)))
                    }
                    Err(ReadableError::IllegalOrderedRead) => {
                        Some(Err(io::Error::other("a QUIC stream read out of order")))
                    }
                }
            })
            .await;
        self.finished |= finished;
        if opened_window {
            // The server may send more: it is told.
            Shared::flush_soon(shared);
        }
        read.unwrap_or_else(|| Err(io::ErrorKind::TimedOut.into()))
    }

    /// Reads to the stream's end: all of it, if at most `limit` bytes.
    ///
    /// # Errors
    /// `InvalidData` past `limit` bytes (the stream is stopped); those of
    /// [`QuicRecvStream::read`].
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// # use ttk_quic::{QuicConnection, QuicConnector};
    /// #[bot(crate = ttk_core)]
    /// fn capped(_cx: Cx, _id: usize) -> std::io::Result<std::io::ErrorKind> {
    ///     let (server, ca) = ttk_quic::echo_quic_server()?; // a QUIC server in this process, for the example
    ///     let tls = ttk_tls::TlsConnector::builder().ca_pem(ca)?.build()?;
    ///     let connector = QuicConnector::new(&tls, &["echo"])?;
    ///     let connection = ttk_core::yield_!(QuicConnection::connect(server, "localhost", &connector))?;
    ///     // The server's stream has 4 KiB: over a limit of 1 KiB, it fails.
    ///     let mut feed = ttk_core::yield_!(connection.accept_uni())?;
    ///     Ok(ttk_core::yield_!(feed.read_to_end(1024)).unwrap_err().kind())
    /// }
    ///
    /// assert_eq!(*ttk_core::run(1, capped)[0].as_ref().unwrap(), std::io::ErrorKind::InvalidData);
    /// ```
    pub async fn read_to_end(&mut self, limit: usize) -> io::Result<Vec<u8>> {
        let mut all = Vec::new();
        let mut buf = vec![0; (limit.saturating_add(1)).clamp(1, 64 * 1024)];
        loop {
            let count = self.read(&mut buf).await?;
            if count == 0 {
                return Ok(all);
            }
            all.extend_from_slice(&buf[..count]);
            if all.len() > limit {
                let _ = self.stop(0);
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("a QUIC stream longer than the {limit} bytes allowed"),
                ));
            }
        }
    }

    /// Tells the server to stop sending on the stream, with the application's `code`.
    ///
    /// # Errors
    /// `NotConnected` if it was read to its end or stopped already.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// # use ttk_quic::{QuicConnection, QuicConnector};
    /// #[bot(crate = ttk_core)]
    /// fn enough(_cx: Cx, _id: usize) -> std::io::Result<()> {
    ///     let (server, ca) = ttk_quic::echo_quic_server()?; // a QUIC server in this process, for the example
    ///     let tls = ttk_tls::TlsConnector::builder().ca_pem(ca)?.build()?;
    ///     let connector = QuicConnector::new(&tls, &["h3"])?;
    ///     let connection = ttk_core::yield_!(QuicConnection::connect(server, "localhost", &connector))?;
    ///     let mut feed = ttk_core::yield_!(connection.accept_uni())?;
    ///     let mut first = [0; 100];
    ///     ttk_core::yield_!(feed.read(&mut first))?;
    ///     feed.stop(0)
    /// }
    ///
    /// ttk_core::run(1, enough)[0].as_ref().unwrap();
    /// ```
    pub fn stop(&mut self, code: u32) -> io::Result<()> {
        if self.finished || self.stopped {
            return Err(errors::closed_stream());
        }
        self.stopped = true;
        let stopped = self
            .connection
            .shared
            .conn
            .borrow_mut()
            .recv_stream(self.id)
            .stop(VarInt::from_u32(code));
        match stopped {
            Ok(()) => {
                Shared::flush_soon(&self.connection.shared);
                Ok(())
            }
            Err(_) => Err(errors::closed_stream()),
        }
    }
}

impl Drop for QuicRecvStream {
    fn drop(&mut self) {
        // Dropped unread to its end: the server is told to stop sending, so what it would
        // still send is not buffered here.
        if !self.finished && !self.stopped {
            let _ = self.stop(0);
        }
    }
}

impl std::fmt::Debug for QuicRecvStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QuicRecvStream")
            .field("id", &self.id())
            .field("finished", &self.finished)
            .finish()
    }
}

/// A bidirectional QUIC stream: both halves, to use as one or split.
///
/// # Examples
/// ```
/// # use ttk_macros::bot;
/// # use ttk_core::Cx;
/// # use ttk_quic::{QuicConnection, QuicConnector};
/// #[bot(crate = ttk_core)]
/// fn asked(_cx: Cx, _id: usize) -> std::io::Result<Vec<u8>> {
///     let (server, ca) = ttk_quic::echo_quic_server()?; // a QUIC server in this process, for the example
///     let tls = ttk_tls::TlsConnector::builder().ca_pem(ca)?.build()?;
///     let connector = QuicConnector::new(&tls, &["echo"])?;
///     let connection = ttk_core::yield_!(QuicConnection::connect(server, "localhost", &connector))?;
///     let mut stream = ttk_core::yield_!(connection.open_bi())?;
///     ttk_core::yield_!(stream.write_all(b"who is there?"))?;
///     stream.finish()?;
///     ttk_core::yield_!(stream.read_to_end(1024))
/// }
///
/// assert_eq!(ttk_core::run(1, asked)[0].as_ref().unwrap(), b"who is there?"); // echoed
/// ```
#[derive(Debug)]
pub struct QuicStream {
    send: QuicSendStream,
    recv: QuicRecvStream,
}

impl QuicStream {
    pub(crate) fn new(connection: QuicConnection, id: StreamId) -> QuicStream {
        QuicStream {
            send: QuicSendStream::new(connection.clone(), id),
            recv: QuicRecvStream::new(connection, id),
        }
    }

    /// The stream's id (QUIC's: a client's bidirectional streams are 0, 4, 8…).
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// # use ttk_quic::{QuicConnection, QuicConnector};
    /// #[bot(crate = ttk_core)]
    /// fn ids(_cx: Cx, _id: usize) -> std::io::Result<()> {
    ///     let (server, ca) = ttk_quic::echo_quic_server()?; // a QUIC server in this process, for the example
    ///     let tls = ttk_tls::TlsConnector::builder().ca_pem(ca)?.build()?;
    ///     let connector = QuicConnector::new(&tls, &["h3"])?;
    ///     let connection = ttk_core::yield_!(QuicConnection::connect(server, "localhost", &connector))?;
    ///     let (first, second) = (ttk_core::yield_!(connection.open_bi())?, ttk_core::yield_!(connection.open_bi())?);
    ///     assert_eq!((first.id(), second.id()), (0, 4));
    ///     let uni = ttk_core::yield_!(connection.open_uni())?;
    ///     assert_eq!(uni.id(), 2);
    ///     let (send, recv) = first.into_split();
    ///     assert_eq!(send.id(), recv.id());
    ///     Ok(())
    /// }
    ///
    /// ttk_core::run(1, ids)[0].as_ref().unwrap();
    /// ```
    pub fn id(&self) -> u64 {
        self.send.id()
    }

    /// See [`QuicSendStream::write_all`].
    ///
    /// # Errors
    /// See [`QuicSendStream::write_all`].
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// # use ttk_quic::{QuicConnection, QuicConnector};
    /// #[bot(crate = ttk_core)]
    /// fn asked(_cx: Cx, _id: usize) -> std::io::Result<Vec<u8>> {
    ///     let (server, ca) = ttk_quic::echo_quic_server()?; // a QUIC server in this process, for the example
    ///     let tls = ttk_tls::TlsConnector::builder().ca_pem(ca)?.build()?;
    ///     let connector = QuicConnector::new(&tls, &["echo"])?;
    ///     let connection = ttk_core::yield_!(QuicConnection::connect(server, "localhost", &connector))?;
    ///     let mut stream = ttk_core::yield_!(connection.open_bi())?;
    ///     ttk_core::yield_!(stream.write_all(b"who is there?"))?;
    ///     stream.finish()?;
    ///     ttk_core::yield_!(stream.read_to_end(1024))
    /// }
    ///
    /// assert_eq!(ttk_core::run(1, asked)[0].as_ref().unwrap(), b"who is there?"); // echoed
    /// ```
    pub async fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        self.send.write_all(data).await
    }

    /// See [`QuicSendStream::finish`].
    ///
    /// # Errors
    /// See [`QuicSendStream::finish`].
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// # use ttk_quic::{QuicConnection, QuicConnector};
    /// #[bot(crate = ttk_core)]
    /// fn asked(_cx: Cx, _id: usize) -> std::io::Result<Vec<u8>> {
    ///     let (server, ca) = ttk_quic::echo_quic_server()?; // a QUIC server in this process, for the example
    ///     let tls = ttk_tls::TlsConnector::builder().ca_pem(ca)?.build()?;
    ///     let connector = QuicConnector::new(&tls, &["echo"])?;
    ///     let connection = ttk_core::yield_!(QuicConnection::connect(server, "localhost", &connector))?;
    ///     let mut stream = ttk_core::yield_!(connection.open_bi())?;
    ///     ttk_core::yield_!(stream.write_all(b"who is there?"))?;
    ///     stream.finish()?;
    ///     ttk_core::yield_!(stream.read_to_end(1024))
    /// }
    ///
    /// assert_eq!(ttk_core::run(1, asked)[0].as_ref().unwrap(), b"who is there?"); // echoed
    /// ```
    pub fn finish(&mut self) -> io::Result<()> {
        self.send.finish()
    }

    /// See [`QuicSendStream::delivered`].
    ///
    /// # Errors
    /// See [`QuicSendStream::delivered`].
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// # use ttk_quic::{QuicConnection, QuicConnector};
    /// #[bot(crate = ttk_core)]
    /// fn acknowledged(_cx: Cx, _id: usize) -> std::io::Result<()> {
    ///     let (server, ca) = ttk_quic::echo_quic_server()?; // a QUIC server in this process, for the example
    ///     let tls = ttk_tls::TlsConnector::builder().ca_pem(ca)?.build()?;
    ///     let connector = QuicConnector::new(&tls, &["echo"])?;
    ///     let connection = ttk_core::yield_!(QuicConnection::connect(server, "localhost", &connector))?;
    ///     let mut stream = ttk_core::yield_!(connection.open_bi())?;
    ///     ttk_core::yield_!(stream.write_all(b"move e2 e4"))?;
    ///     stream.finish()?;
    ///     ttk_core::yield_!(stream.delivered())
    /// }
    ///
    /// ttk_core::run(1, acknowledged)[0].as_ref().unwrap();
    /// ```
    pub async fn delivered(&mut self) -> io::Result<()> {
        self.send.delivered().await
    }

    /// See [`QuicRecvStream::read`].
    ///
    /// # Errors
    /// See [`QuicRecvStream::read`].
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// # use ttk_quic::{QuicConnection, QuicConnector};
    /// #[bot(crate = ttk_core)]
    /// fn first_bytes(_cx: Cx, _id: usize) -> std::io::Result<Vec<u8>> {
    ///     let (server, ca) = ttk_quic::echo_quic_server()?; // a QUIC server in this process, for the example
    ///     let tls = ttk_tls::TlsConnector::builder().ca_pem(ca)?.build()?;
    ///     let connector = QuicConnector::new(&tls, &["echo"])?;
    ///     let connection = ttk_core::yield_!(QuicConnection::connect(server, "localhost", &connector))?;
    ///     let mut stream = ttk_core::yield_!(connection.open_bi())?;
    ///     ttk_core::yield_!(stream.write_all(b"hello"))?;
    ///     let mut buf = [0; 64];
    ///     let n = ttk_core::yield_!(stream.read(&mut buf))?;
    ///     Ok(buf[..n].to_vec())
    /// }
    ///
    /// assert!(b"hello".starts_with(ttk_core::run(1, first_bytes)[0].as_ref().unwrap())); // echoed
    /// ```
    pub async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.recv.read(buf).await
    }

    /// See [`QuicRecvStream::read_to_end`].
    ///
    /// # Errors
    /// See [`QuicRecvStream::read_to_end`].
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// # use ttk_quic::{QuicConnection, QuicConnector};
    /// #[bot(crate = ttk_core)]
    /// fn big_echo(_cx: Cx, _id: usize) -> std::io::Result<usize> {
    ///     let (server, ca) = ttk_quic::echo_quic_server()?; // a QUIC server in this process, for the example
    ///     let tls = ttk_tls::TlsConnector::builder().ca_pem(ca)?.build()?;
    ///     let connector = QuicConnector::new(&tls, &["echo"])?;
    ///     let connection = ttk_core::yield_!(QuicConnection::connect(server, "localhost", &connector))?;
    ///     let mut stream = ttk_core::yield_!(connection.open_bi())?;
    ///     ttk_core::yield_!(stream.write_all(&[7; 300_000]))?;
    ///     stream.finish()?;
    ///     // Unread for a while, the echo fills this side's window for the stream (256 KiB);
    ///     // the rest comes as it is read.
    ///     ttk_core::yield_!(connection.sleep(std::time::Duration::from_millis(200)))?;
    ///     Ok(ttk_core::yield_!(stream.read_to_end(1 << 20))?.len())
    /// }
    ///
    /// assert_eq!(*ttk_core::run(1, big_echo)[0].as_ref().unwrap(), 300_000);
    /// ```
    pub async fn read_to_end(&mut self, limit: usize) -> io::Result<Vec<u8>> {
        self.recv.read_to_end(limit).await
    }

    /// The two halves, to use apart.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// # use ttk_quic::{QuicConnection, QuicConnector};
    /// #[bot(crate = ttk_core)]
    /// fn apart(_cx: Cx, _id: usize) -> std::io::Result<Vec<u8>> {
    ///     let (server, ca) = ttk_quic::echo_quic_server()?; // a QUIC server in this process, for the example
    ///     let tls = ttk_tls::TlsConnector::builder().ca_pem(ca)?.build()?;
    ///     let connector = QuicConnector::new(&tls, &["echo"])?;
    ///     let connection = ttk_core::yield_!(QuicConnection::connect(server, "localhost", &connector))?;
    ///     let (mut send, mut recv) = ttk_core::yield_!(connection.open_bi())?.into_split();
    ///     ttk_core::yield_!(send.write_all(b"split"))?;
    ///     send.finish()?;
    ///     ttk_core::yield_!(recv.read_to_end(1024))
    /// }
    ///
    /// assert_eq!(ttk_core::run(1, apart)[0].as_ref().unwrap(), b"split"); // echoed
    /// ```
    pub fn into_split(self) -> (QuicSendStream, QuicRecvStream) {
        (self.send, self.recv)
    }
}
