//! Noticing that the peer closed a connection while it was idle, before the next request goes
//! on it.

use ttk_core::io::try_now;

use super::Framed;
use crate::byte_stream::ByteStream;

/// The most reads one look makes (each without waiting): a peer that keeps sending while the
/// bot is idle is not read to its end here.
const MOST_READS: usize = 8;

impl<S: ByteStream> Framed<S> {
    /// Whether the peer has not closed the connection while it was idle. Servers close
    /// connections idle too long (redis's `timeout`, an IRC server's ping timeout); a request
    /// written on such a connection meets the close and fails, though the server never saw it.
    /// The look reads nothing unless the stream was readable since the last read
    /// ([`ByteStream::read_ready`]: no syscall while the loop keeps polling, one non-blocking
    /// poll after it slept); only then does it read what is there, without waiting.
    /// What came is kept for the next [`Framed::read_frame`] (a server's push); the end of the
    /// stream or an error means closed (what came before it is dropped with the connection).
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use std::time::Duration;
    /// use ttk_net::{FrameFormat, Framed, TcpListener, TcpStream};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn idle(_cx: Cx, _id: usize) -> std::io::Result<(bool, bool, bool)> {
    ///     let listener = TcpListener::bind("127.0.0.1:0")?;
    ///     let client = ttk_core::yield_!(TcpStream::connect(listener.local_addr()?))?;
    ///     let (server, _) = ttk_core::yield_!(listener.accept())?;
    ///     let mut client = Framed::new(client, FrameFormat::crlf_lines());
    ///     let fresh = ttk_core::yield_!(client.still_open());
    ///     ttk_core::yield_!(server.write_all(b"PING :42\r\n"))?; // a push, kept
    ///     ttk_core::yield_!(ttk_core::sleep(Duration::from_millis(10)));
    ///     let pushed = ttk_core::yield_!(client.still_open());
    ///     assert_eq!(client.buffered(), b"PING :42\r\n");
    ///     drop(server); // the server closes the idle connection
    ///     ttk_core::yield_!(ttk_core::sleep(Duration::from_millis(10)));
    ///     Ok((fresh, pushed, ttk_core::yield_!(client.still_open())))
    /// }
    ///
    /// assert_eq!(ttk_core::run(1, idle)[0].as_ref().unwrap(), &(true, true, false));
    /// ```
    pub async fn still_open(&mut self) -> bool {
        for _ in 0..MOST_READS {
            if !self.stream.read_ready() {
                return true;
            }
            self.make_room();
            match try_now(self.stream.read(&mut self.read_buf[self.end..])).await {
                None => return true,
                Some(Ok(0) | Err(_)) => return false,
                Some(Ok(n)) => self.end += n,
            }
        }
        true
    }
}
