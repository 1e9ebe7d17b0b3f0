//! Noticing that the server closed a kept-alive connection while it was idle, before a request
//! is written on it.
//!
//! Servers close connections they kept idle too long (nginx's `keepalive_timeout`, 75 s by
//! default; Node.js and Apache after 5 s). A client that writes its next request on such a
//! connection meets the close and sends the request again on a new one, inside that request's
//! time ([`HttpConnection::retries`]). Go's client and browsers watch their idle connections
//! and open a new one instead; a load test that times its connects wants the same, so that a
//! connect shows as a connect and a request's latency is the request's.

use ttk_core::io::try_now;
use ttk_net::ByteStream;

use super::HttpConnection;

impl HttpConnection {
    /// Whether the connection is open ([`HttpConnection::is_open`]) and the server has not
    /// closed it while it was idle. The look reads nothing unless the socket was readable since
    /// the last answer ([`ByteStream::read_ready`]: no syscall while the loop keeps polling,
    /// one non-blocking poll after it slept); only then does it read what is there, without
    /// waiting. The end of the stream, a reset, or bytes no request asked for
    /// (a `408` sent before a close) end the connection, as Go's client does with its idle
    /// ones; a TLS record with no data in it (a session ticket) does not. A connection with a
    /// request under way is not idle: `true` while it is open.
    ///
    /// A load test asks it before each request and, when it says `false`, opens (and times)
    /// the next connection itself, rather than inside the request (a request on a schedule is
    /// still timed from when it was due, as its user would feel it).
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// # use std::io::{Read, Write};
    /// use std::time::Duration;
    /// use ttk_http::{HttpConnection, Request};
    ///
    /// # fn main() -> std::io::Result<()> {
    /// # let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// # let addr = listener.local_addr()?.to_string();
    /// # std::thread::spawn(move || {
    /// #     // Answers one request, then closes the connection as if idle too long.
    /// #     let (mut socket, _) = listener.accept().unwrap();
    /// #     let mut request = [0; 1024];
    /// #     let _ = socket.read(&mut request).unwrap();
    /// #     socket.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok").unwrap();
    /// #     std::thread::sleep(std::time::Duration::from_millis(300)); // then closes
    /// # });
    /// #[bot(crate = ttk_core)]
    /// fn idle(_cx: Cx, _id: usize, addr: String) -> std::io::Result<(bool, bool)> {
    ///     let mut http = ttk_core::yield_!(HttpConnection::connect(&addr))?;
    ///     ttk_core::yield_!(http.send(&Request::get("/")))?;
    ///     let kept = ttk_core::yield_!(http.still_open());
    ///     ttk_core::yield_!(ttk_core::sleep(Duration::from_millis(600))); // the server closes
    ///     Ok((kept, ttk_core::yield_!(http.still_open())))
    /// }
    ///
    /// let open = ttk_core::run(1, |cx, id| idle(cx, id, addr.clone())).pop().unwrap()?;
    /// assert_eq!(open, (true, false)); // the next request opens a new connection
    /// # Ok(())
    /// # }
    /// ```
    pub async fn still_open(&mut self) -> bool {
        if !self.is_open() {
            return false;
        }
        if !self.awaiting.is_empty() || self.body.is_some() {
            return true;
        }
        if self.end > self.next {
            // Bytes that came with the last answer, after it, and no request: nothing can be
            // read as an answer on this connection any more.
            self.unasked += 1;
            self.stream = None;
            return false;
        }
        if self
            .stream
            .as_ref()
            .is_none_or(|stream| !ByteStream::read_ready(stream))
        {
            return self.stream.is_some();
        }
        // One try, without waiting: a read that would wait means nothing came.
        match try_now(self.fill()).await {
            None => true,
            // Closed (`Ok(0)`), reset, or bytes no request asked for.
            Some(_) => {
                self.stream = None;
                false
            }
        }
    }
}
