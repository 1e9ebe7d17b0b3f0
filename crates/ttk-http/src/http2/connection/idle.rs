//! Noticing, before a request, that the server ended a connection while it was idle (its
//! keep-alive timeout: nginx sends GOAWAY and closes), so that a load test opens and times the
//! next connection itself rather than inside a request.

use ttk_core::io::try_now;
use ttk_net::ByteStream;

use super::Http2Connection;

impl Http2Connection {
    /// Whether the connection is open ([`Http2Connection::is_open`]) and the server has not
    /// ended it while it was idle. With requests under way it is not idle: `true` while open.
    /// The look reads nothing unless the socket was readable since the last read
    /// ([`ByteStream::read_ready`]: no syscall while the loop keeps polling, one non-blocking
    /// poll after it slept); only then does it read what is there, without waiting, and hand
    /// it to h2: a GOAWAY, the end of the stream or a reset end the connection, and
    /// the next request opens a new one.
    ///
    /// A load test asks it before starting requests on a connection with none under way and,
    /// when it says `false`, opens (and times) the next connection itself, rather than inside
    /// a request (one on a schedule is still timed from when it was due).
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use std::time::Duration;
    /// use ttk_http::http2::Http2Connection;
    /// use ttk_net::{TcpListener, TcpStream};
    /// use ttk_tls::MaybeTls;
    ///
    /// #[bot(crate = ttk_core)]
    /// fn hung_up(_cx: Cx, _id: usize) -> std::io::Result<(bool, bool)> {
    ///     let listener = TcpListener::bind("127.0.0.1:0")?;
    ///     let tcp = ttk_core::yield_!(TcpStream::connect(listener.local_addr()?))?;
    ///     let (server, _) = ttk_core::yield_!(listener.accept())?;
    ///     let mut h2c = Http2Connection::over(MaybeTls::Plain(tcp), "localhost", None)?;
    ///     let before = ttk_core::yield_!(h2c.still_open());
    ///     drop(server); // the server ends the idle connection
    ///     ttk_core::yield_!(ttk_core::sleep(Duration::from_millis(10)));
    ///     Ok((before, ttk_core::yield_!(h2c.still_open())))
    /// }
    ///
    /// assert_eq!(ttk_core::run(1, hung_up)[0].as_ref().unwrap(), &(true, false));
    /// ```
    pub async fn still_open(&mut self) -> bool {
        // A write abandoned part way ends the connection first.
        self.recover_abandoned_write();
        if !self.is_open() {
            return false;
        }
        if self.in_flight > 0 || !self.waiting.is_empty() {
            return true;
        }
        if self.wakes.take_connection() {
            // What h2 asked when the last request finished (its stream's release) is served
            // now: with a GOAWAY taken in before it, it ends the session.
            self.step();
            if !self.is_open() {
                return false;
            }
        }
        let Some(session) = self.session.as_ref() else {
            return false;
        };
        if !ByteStream::read_ready(&session.stream) {
            return true;
        }
        // One try, without waiting: a read that would wait means nothing came.
        match try_now(session.stream.read(&mut self.read_buf)).await {
            None => return true,
            Some(Ok(0)) => session.pipe.end(Ok(())),
            Some(Ok(n)) => session.pipe.receive(&self.read_buf[..n]),
            Some(Err(error)) => session.pipe.end(Err(error)),
        }
        // h2 takes it in: a GOAWAY or the end ends the session.
        self.step();
        self.is_open()
    }
}
