//! Writing requests, and writing them again on a new connection when a reused one took them
//! and closed without a byte of answer.
//!
//! Servers close kept-alive connections they kept idle too long (nginx after 75 s by default,
//! Node.js and Apache after 5 s), and a client learns of it only when its next request on that
//! connection meets the close: end of stream or a reset before any answer. The server never
//! saw that request, so well-kept clients (Go's `net/http`, browsers) send it again on a new
//! connection, once, when it is safe to repeat. So does this one, under the same rule: the
//! connection had carried a complete response (a new connection that fails is a real
//! failure), not a byte of answer came (a response that started is never repeated), and every
//! request waiting may be repeated ([`Request::retries_on_reuse`](crate::Request)).
//!
//! And one more, which a load test needs and a browser does not: the server had not got the
//! request. A close that crosses a request on the wire was sent before the request arrived,
//! so it comes within about a round trip of the request's write, and a server that closed
//! outright answers the request's bytes with a reset, never an acknowledgement. So a graceful
//! close (the end of the stream) that comes later than that, after the server's TCP
//! acknowledged every byte written, means the server took the request and dropped it: that is
//! the request's failure (`UnexpectedEof`), not sent again, or a server that drops requests
//! would pass for one that answers them all. A server that drops a request at once cannot be
//! told from a close crossing it: that request is sent again (and counted as such).

use std::io;

use ttk_net::ByteStream;

use super::HttpConnection;

impl HttpConnection {
    /// How many requests were sent again on a new connection because the reused one they went
    /// out on closed before answering (see
    /// [`Request::retry_on_reuse`](crate::Request::retry_on_reuse)); each is also counted in
    /// [`connections_opened`](HttpConnection::connections_opened).
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
    /// #     // Each connection answers one request and is closed, as if idle too long.
    /// #     for socket in listener.incoming() {
    /// #         let mut socket = socket.unwrap();
    /// #         let mut request = [0; 1024];
    /// #         let _ = socket.read(&mut request).unwrap();
    /// #         socket.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok").unwrap();
    /// #     }
    /// # });
    /// #[bot(crate = ttk_core)]
    /// fn twice(_cx: Cx, _id: usize, addr: String) -> std::io::Result<(u64, u64)> {
    ///     let mut http = ttk_core::yield_!(HttpConnection::connect(&addr))?;
    ///     for _ in 0..2 {
    ///         // The second finds the connection closed and is sent again on a new one.
    ///         assert_eq!(ttk_core::yield_!(http.send(&Request::get("/")))?.body(), b"ok");
    ///     }
    ///     Ok((http.retries(), http.connections_opened()))
    /// }
    ///
    /// let counts = ttk_core::run(1, |cx, id| twice(cx, id, addr.clone())).pop().unwrap()?;
    /// assert_eq!(counts, (1, 2));
    /// # Ok(())
    /// # }
    /// ```
    pub fn retries(&self) -> u64 {
        self.retries
    }

    /// How many times the connection was given up before a request because the server had sent
    /// bytes after its last answer that no request asked for (a body longer than its
    /// `Content-Length`, a second response to one request): read as the next request's
    /// response, they would fail it for the server's fault. The request goes on a new
    /// connection instead, and this counts the server's fault.
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
    /// #     // Each answer says 2 bytes and sends 6.
    /// #     for socket in listener.incoming() {
    /// #         let mut socket = socket.unwrap();
    /// #         let mut request = [0; 1024];
    /// #         while socket.read(&mut request).unwrap_or(0) > 0 {
    /// #             let _ = socket.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokXXXX");
    /// #         }
    /// #     }
    /// # });
    /// #[bot(crate = ttk_core)]
    /// fn overlong(_cx: Cx, _id: usize, addr: String) -> std::io::Result<(u64, u64)> {
    ///     let mut http = ttk_core::yield_!(HttpConnection::connect(&addr))?;
    ///     for _ in 0..3 {
    ///         assert_eq!(ttk_core::yield_!(http.send(&Request::get("/")))?.body(), b"ok");
    ///     }
    ///     Ok((http.dropped_for_unasked_bytes(), http.connections_opened()))
    /// }
    ///
    /// let counts = ttk_core::run(1, |cx, id| overlong(cx, id, addr.clone())).pop().unwrap()?;
    /// assert_eq!(counts, (2, 3));
    /// # Ok(())
    /// # }
    /// ```
    pub fn dropped_for_unasked_bytes(&self) -> u64 {
        self.unasked
    }

    /// Writes what `write_buf` holds after `flushed`, connecting first if need be.
    pub(super) async fn write_queued(&mut self) -> io::Result<()> {
        if self.flushed == 0
            && self.stream.is_some()
            && self.buffered == self.awaiting.len()
            && self.end > self.next
        {
            // Bytes after the last answer, and every request waiting is still to be written:
            // nothing asked for them, and read as an answer they would fail a request for the
            // server's fault.
            self.unasked += 1;
            self.stream = None;
            self.end = 0;
            self.next = 0;
        }
        if self.stream.is_none() {
            // Boxed: connecting (a TLS handshake's state included) takes about 3 KB of future,
            // which, held inline, every request's write and read would carry and move.
            Box::pin(self.reconnect()).await?;
        }
        if self.flushed == 0 {
            // The first bytes of a batch: silent until something is read (bytes already in
            // the buffer are an answer to something).
            self.silent = self.end == self.next;
        }
        let stream = self.stream.as_ref().expect("connected above");
        ByteStream::write_all(stream, &self.write_buf[self.flushed..]).await?;
        self.flushed = self.write_buf.len();
        self.written_at = Some(ttk_core::now());
        Ok(())
    }

    /// Whether, after `error` writing or waiting for an answer, the requests waiting are to be
    /// written again on a new connection.
    pub(super) fn may_resend(&self, error: &io::Error) -> bool {
        self.closed_unanswered(error)
            && self.awaiting.iter().all(|expect| expect.retry)
            && !self.server_took_them(error)
    }

    /// Whether `error` is the server's close or reset of a reused connection before a byte of
    /// answer to the requests written on it.
    pub(super) fn closed_unanswered(&self, error: &io::Error) -> bool {
        // A TLS failure (a record cut short, a close in a handshake) carries a kind of its own:
        // the server answered something, or the new connection failed; never an idle close.
        ttk_tls::closed_by_peer(error)
            && self.served > 0
            && self.silent
            && self.buffered == self.awaiting.len()
    }

    /// Whether the server closed (`error` is the end of the stream, not a reset) after it had
    /// the requests written ([`TcpStream::delivered_before_close`](ttk_net::TcpStream::delivered_before_close)).
    pub(super) fn server_took_them(&self, error: &io::Error) -> bool {
        if error.kind() != io::ErrorKind::UnexpectedEof {
            return false;
        }
        let (Some(stream), Some(written_at)) = (self.stream.as_ref(), self.written_at) else {
            return false;
        };
        stream.get_ref().delivered_before_close(written_at)
    }

    /// Writes every request waiting again, on a new connection (which has served nothing, so
    /// is never resent from).
    pub(super) async fn resend(&mut self) -> io::Result<()> {
        self.retries += 1;
        self.stream = None;
        self.flushed = 0;
        self.write_queued().await
    }
}
