//! What a client can learn of a server's close without reading: whether the server ended the
//! connection or reset it, and whether a close that came after a write means the server had
//! taken what was written.

use std::io;
use std::time::{Duration, Instant};

use crate::TcpStream;

/// How much later than two round trips after a write a close that crossed it may still be
/// noticed: the loop's own lag in getting to it, under load.
const CROSSING_SLACK: Duration = Duration::from_millis(50);

/// The peer's side of a TCP connection, as the kernel knows it now ([`TcpStream::peer_end`]).
///
/// # Examples
/// ```
/// use ttk_net::PeerEnd;
///
/// assert_ne!(PeerEnd::Ended, PeerEnd::Reset);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PeerEnd {
    /// The peer has not closed its side.
    Open,
    /// The peer ended its side gracefully (a FIN): what it sent before can still be read.
    Ended,
    /// The connection was reset (or is otherwise gone): a peer whose program closed with bytes
    /// unread, or aborted.
    Reset,
}

impl TcpStream {
    /// What the kernel knows now of the peer's side of the connection (`TCP_INFO`'s state),
    /// without a read: one syscall, whatever the stream's readiness says. A server that
    /// refuses a connection (redis past `maxclients`, an IRC server past its limit) writes one
    /// line and closes with the client's request unread, which resets the connection; a server
    /// that answers one request and closes ends it gracefully. A client asks this right after
    /// a first reply to tell the two apart. Under [network
    /// conditions](TcpStream::set_conditions) it is the real link's state, ahead of what the
    /// emulated link has delivered to reads. It holds while this side has not shut down its
    /// writing ([`TcpStream::shutdown`]): after that, the kernel closes the connection at the
    /// peer's end of stream as at a reset, and both read as `Reset`.
    ///
    /// # Errors
    /// The OS's; `Unsupported` where it cannot tell (off Linux).
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use std::time::Duration;
    /// use ttk_net::{PeerEnd, TcpListener, TcpStream};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn ends(_cx: Cx, _id: usize) -> std::io::Result<Vec<PeerEnd>> {
    ///     let listener = TcpListener::bind("127.0.0.1:0")?;
    ///     let pause = || ttk_core::sleep(Duration::from_millis(10));
    ///     let mut seen = Vec::new();
    ///     // A server that closes gracefully.
    ///     let client = ttk_core::yield_!(TcpStream::connect(listener.local_addr()?))?;
    ///     let (server, _) = ttk_core::yield_!(listener.accept())?;
    ///     seen.push(client.peer_end()?);
    ///     drop(server);
    ///     ttk_core::yield_!(pause());
    ///     seen.push(client.peer_end()?);
    ///     // A server that closes with the client's bytes unread: a reset.
    ///     let client = ttk_core::yield_!(TcpStream::connect(listener.local_addr()?))?;
    ///     let (server, _) = ttk_core::yield_!(listener.accept())?;
    ///     ttk_core::yield_!(client.write_all(b"PING\r\n"))?;
    ///     ttk_core::yield_!(pause());
    ///     drop(server);
    ///     ttk_core::yield_!(pause());
    ///     seen.push(client.peer_end()?);
    ///     Ok(seen)
    /// }
    ///
    /// let seen = ttk_core::run(1, ends).pop().unwrap().unwrap();
    /// assert_eq!(seen, [PeerEnd::Open, PeerEnd::Ended, PeerEnd::Reset]);
    /// ```
    pub fn peer_end(&self) -> io::Result<PeerEnd> {
        peer_end_of(self.mio())
    }

    /// Whether the peer's graceful close (the end of the stream), noticed now, came after it
    /// had taken the bytes written at `written_at`: its TCP acknowledged every byte written
    /// ([`TcpStream::unacknowledged`] is 0) and the close came more than two round trips
    /// ([`TcpStream::round_trip_estimate`]) and 50 ms after the write, later than a close
    /// that crossed the write on the wire could be noticed. A close that crossed a request was
    /// sent before the request arrived: a server that closed outright answers its bytes with a
    /// reset, never an acknowledgement; one that closes in stages (shuts its side, then reads
    /// and drops what comes, as Apache does; TLS's `close_notify` first) acknowledges them,
    /// but its close still comes within about a round trip of the write. So a client may send
    /// the request again on a new connection unless this says yes. `false` where the socket
    /// cannot tell. The round trip is the real link's: under [network
    /// conditions](TcpStream::set_conditions) whose delay is over about 25 ms each way, a
    /// crossing close from a server that acknowledges before it closes can come after the
    /// yardstick and be judged a close after delivery.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use std::time::Duration;
    /// use ttk_net::{TcpListener, TcpStream};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn took(_cx: Cx, _id: usize) -> std::io::Result<(bool, bool)> {
    ///     let listener = TcpListener::bind("127.0.0.1:0")?;
    ///     let client = ttk_core::yield_!(TcpStream::connect(listener.local_addr()?))?;
    ///     let (server, _) = ttk_core::yield_!(listener.accept())?;
    ///     ttk_core::yield_!(client.write_all(b"INCR hits\r\n"))?;
    ///     let written_at = ttk_core::now();
    ///     let mut buf = [0; 64];
    ///     ttk_core::yield_!(server.read(&mut buf))?; // the server takes the request…
    ///     let at_once = client.delivered_before_close(written_at);
    ///     ttk_core::yield_!(ttk_core::sleep(Duration::from_millis(200)));
    ///     drop(server); // …and closes, long after, without an answer
    ///     Ok((at_once, client.delivered_before_close(written_at)))
    /// }
    ///
    /// assert_eq!(ttk_core::run(1, took)[0].as_ref().unwrap(), &(false, true));
    /// ```
    pub fn delivered_before_close(&self, written_at: Instant) -> bool {
        let (Ok(0), Ok(round_trip)) = (self.unacknowledged(), self.round_trip_estimate()) else {
            return false;
        };
        let crossing = round_trip.saturating_mul(2).saturating_add(CROSSING_SLACK);
        ttk_core::now().saturating_duration_since(written_at) > crossing
    }
}

/// The peer's side of `socket` from `TCP_INFO`'s state.
#[cfg(target_os = "linux")]
fn peer_end_of(socket: &mio::net::TcpStream) -> io::Result<PeerEnd> {
    // The states of the kernel's `enum tcp_state` (include/net/tcp_states.h). A socket its
    // program holds never shows TIME_WAIT: the kernel moves such a connection to CLOSE.
    const CLOSE: u8 = 7;
    const CLOSE_WAIT: u8 = 8;
    const LAST_ACK: u8 = 9;
    const CLOSING: u8 = 11;
    Ok(match crate::tcp_info::tcp_info(socket)?.tcpi_state {
        CLOSE => PeerEnd::Reset,
        CLOSE_WAIT | LAST_ACK | CLOSING => PeerEnd::Ended,
        _ => PeerEnd::Open,
    })
}

/// Off Linux there is no `TCP_INFO` to ask.
#[cfg(not(target_os = "linux"))]
fn peer_end_of(_socket: &mio::net::TcpStream) -> io::Result<PeerEnd> {
    Err(io::ErrorKind::Unsupported.into())
}
