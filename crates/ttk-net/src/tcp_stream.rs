//! A bot's TCP connection.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr};

use ttk_core::io::IoSource;

use crate::tcp_socket;
use crate::to_socket_addrs::ToSocketAddrs;

/// A TCP connection registered with the bot's loop. Names follow std and tokio.
///
/// Reads and writes try the syscall first and park the bot only on `WouldBlock`, so a
/// request/response round trip costs one write and one read. Dropping the stream closes it.
///
/// # Examples
/// ```
/// # use ttk_macros::bot;
/// # use ttk_core::Cx;
/// use ttk_net::{TcpListener, TcpStream};
///
/// #[bot(crate = ttk_core)]
/// fn round_trip(_cx: Cx, _id: usize) -> std::io::Result<Vec<u8>> {
///     let listener = TcpListener::bind("127.0.0.1:0")?;
///     let client = ttk_core::yield_!(TcpStream::connect(listener.local_addr()?))?;
///     let (server, _) = ttk_core::yield_!(listener.accept())?;
///     ttk_core::yield_!(client.write_all(b"ping"))?;
///     let mut buf = [0; 4];
///     ttk_core::yield_!(server.read_exact(&mut buf))?;
///     Ok(buf.to_vec())
/// }
///
/// assert_eq!(ttk_core::run(1, round_trip)[0].as_ref().unwrap(), b"ping");
/// ```
#[derive(Debug)]
pub struct TcpStream {
    /// The registered socket.
    io: IoSource<mio::net::TcpStream>,
}

impl TcpStream {
    /// The registered mio socket (for its descriptor).
    pub(crate) fn mio(&self) -> &mio::net::TcpStream {
        self.io.get_ref()
    }

    /// Connects to `addr` (the first address that accepts, if it names several); wait for it
    /// with `yield_!(TcpStream::connect(addr))`. Use [`TcpSocket`](crate::TcpSocket) to set
    /// options or a source address first.
    ///
    /// An IP literal (`"127.0.0.1:7000"`, a `SocketAddr`) is connected to at once; a host name
    /// (`"localhost:7000"`) is first looked up on a helper thread while the other bots run (see
    /// [`ToSocketAddrs`](crate::ToSocketAddrs)).
    ///
    /// # Errors
    /// `ConnectionRefused` if nothing listens; a [`LimitReached`](crate::LimitReached) error if
    /// descriptors or local ports ran out; those of [`lookup_host`](crate::lookup_host) for a
    /// host name; the OS's other errors.
    ///
    /// # Panics
    /// Outside a running ttk loop.
    pub async fn connect(addr: impl ToSocketAddrs) -> io::Result<TcpStream> {
        tcp_socket::connect_any(addr).await
    }

    /// Registers a connected (or connecting) non-blocking std stream with the running loop.
    pub(crate) fn from_std(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        Self::from_mio(mio::net::TcpStream::from_std(stream))
    }

    /// Registers a mio stream with the running loop.
    pub(crate) fn from_mio(stream: mio::net::TcpStream) -> io::Result<TcpStream> {
        Ok(TcpStream {
            io: IoSource::new(stream)?,
        })
    }

    /// Waits until a non-blocking connect has finished, and reports how.
    pub(crate) async fn finish_connect(&self) -> io::Result<()> {
        self.io
            .write_with(|stream| {
                if let Some(error) = stream.take_error()? {
                    return Err(error);
                }
                match stream.peer_addr() {
                    Ok(_) => Ok(()),
                    Err(error) if error.kind() == io::ErrorKind::NotConnected => {
                        Err(io::ErrorKind::WouldBlock.into())
                    }
                    Err(error) => Err(error),
                }
            })
            .await
    }

    /// Reads what is available into `buf`, waiting until something is; `Ok(0)` means the peer
    /// closed its side.
    ///
    /// # Errors
    /// `ConnectionReset` if the peer reset the connection; the OS's other errors.
    pub async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.io.read_with(|mut stream| stream.read(buf)).await?;
        if n > 0 && n < buf.len() {
            // The queue is empty: the next read waits for the event of the next bytes instead
            // of failing with `WouldBlock` first (a syscall saved per request/reply).
            self.io.clear_read_ready();
        }
        Ok(n)
    }

    /// Reads exactly `buf.len()` bytes.
    ///
    /// # Errors
    /// `UnexpectedEof` if the peer closed before `buf` was full; those of [`TcpStream::read`].
    pub async fn read_exact(&self, mut buf: &mut [u8]) -> io::Result<()> {
        while !buf.is_empty() {
            match self.read(buf).await? {
                0 => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!(
                            "the peer closed the connection with {} bytes still expected",
                            buf.len()
                        ),
                    ));
                }
                n => buf = &mut buf[n..],
            }
        }
        Ok(())
    }

    /// Writes some of `buf`, waiting until the socket can take any; returns how much.
    ///
    /// # Errors
    /// `BrokenPipe` or `ConnectionReset` if the peer is gone; the OS's other errors.
    pub async fn write(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.write_with(|mut stream| stream.write(buf)).await
    }

    /// Writes all of `buf`.
    ///
    /// # Errors
    /// Those of [`TcpStream::write`]; `WriteZero` if the socket takes nothing.
    pub async fn write_all(&self, mut buf: &[u8]) -> io::Result<()> {
        while !buf.is_empty() {
            match self.write(buf).await? {
                0 => return Err(io::ErrorKind::WriteZero.into()),
                n => buf = &buf[n..],
            }
        }
        Ok(())
    }

    /// Shuts down the read half, the write half (sends FIN) or both.
    ///
    /// # Errors
    /// The OS's (e.g. `NotConnected`).
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.get_ref().shutdown(how)
    }

    /// The remote address.
    ///
    /// # Errors
    /// `NotConnected` once the connection is gone.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// The local address.
    ///
    /// # Errors
    /// The OS's.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// Sets `TCP_NODELAY` (disables Nagle's algorithm, for small request/response messages).
    ///
    /// # Errors
    /// The OS's.
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.io.get_ref().set_nodelay(nodelay)
    }

    /// Whether `TCP_NODELAY` is set.
    ///
    /// # Errors
    /// The OS's.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.io.get_ref().nodelay()
    }

    /// Sets `SO_LINGER` (see [`TcpSocket::set_linger`](crate::TcpSocket::set_linger)).
    ///
    /// # Errors
    /// The OS's.
    pub fn set_linger(&self, linger: Option<std::time::Duration>) -> io::Result<()> {
        socket2::SockRef::from(self.io.get_ref()).set_linger(linger)
    }
}
