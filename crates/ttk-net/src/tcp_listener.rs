//! A bot's TCP server socket.

use std::io;
use std::net::SocketAddr;

use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use ttk_core::io::IoSource;

use crate::limits;
use crate::lookup;
use crate::tcp_stream::TcpStream;
use crate::to_socket_addrs::ToSocketAddrs;

/// The accept backlog asked for; the kernel caps it at `net.core.somaxconn`. A storm of bots
/// connecting at once overflows a small backlog, and each overflowed SYN waits a second.
const BACKLOG: i32 = 65_535;

/// A listening TCP socket registered with the bot's loop: bots can host servers, and a test can
/// run its target inside the same program.
///
/// # Examples
/// ```
/// # use ttk_macros::bot;
/// # use ttk_core::Cx;
/// use ttk_net::{TcpListener, TcpStream};
///
/// #[bot(crate = ttk_core)]
/// fn host(_cx: Cx, _id: usize) -> std::io::Result<bool> {
///     let listener = TcpListener::bind("127.0.0.1:0")?;
///     let client = ttk_core::yield_!(TcpStream::connect(listener.local_addr()?))?;
///     let (_server, peer) = ttk_core::yield_!(listener.accept())?;
///     Ok(peer == client.local_addr()?)
/// }
///
/// assert!(ttk_core::run(1, host)[0].as_ref().unwrap());
/// ```
#[derive(Debug)]
pub struct TcpListener {
    /// The registered socket.
    io: IoSource<mio::net::TcpListener>,
}

impl TcpListener {
    /// The registered mio socket (for its descriptor).
    pub(crate) fn mio(&self) -> &mio::net::TcpListener {
        self.io.get_ref()
    }

    /// Binds and listens on the first address of `addr` that works (`SO_REUSEADDR` set).
    ///
    /// `addr` must be an IP literal (`"127.0.0.1:0"`, a `SocketAddr`): binding cannot wait, and
    /// looking up a host name would block the loop. Look a name up first with
    /// [`lookup_host`](crate::lookup_host).
    ///
    /// # Errors
    /// `InvalidInput` for a host name or a malformed `addr`; `AddrInUse`; a
    /// [`LimitReached`](crate::LimitReached) error if descriptors ran out; the OS's other
    /// errors.
    ///
    /// # Panics
    /// Outside a running ttk loop.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use ttk_net::TcpListener;
    ///
    /// #[bot(crate = ttk_core)]
    /// fn listens(_cx: Cx, _id: usize) -> std::io::Result<bool> {
    ///     let listener = TcpListener::bind("127.0.0.1:0")?;
    ///     // A host name is refused: looking it up would block the loop.
    ///     assert!(TcpListener::bind("localhost:0").is_err());
    ///     Ok(listener.local_addr()?.port() != 0)
    /// }
    ///
    /// assert!(ttk_core::run(1, listens)[0].as_ref().unwrap());
    /// ```
    pub fn bind(addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
        let mut last_error = None;
        for addr in lookup::literal(&addr, "TcpListener::bind")? {
            match listen(addr) {
                Ok(listener) => {
                    return Ok(TcpListener {
                        io: IoSource::new(mio::net::TcpListener::from_std(listener))?,
                    });
                }
                Err(error) => last_error = Some(error),
            }
        }
        Err(last_error
            .unwrap_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no address to bind")))
    }

    /// Waits for a connection; wait for it with `yield_!(listener.accept())`.
    ///
    /// # Errors
    /// A [`LimitReached`](crate::LimitReached) error if descriptors ran out (the connection
    /// stays queued; accepting again after closing something takes it); the OS's other errors.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use ttk_net::{TcpListener, TcpStream};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn accepts(_cx: Cx, _id: usize) -> std::io::Result<bool> {
    ///     let listener = TcpListener::bind("127.0.0.1:0")?;
    ///     let client = ttk_core::yield_!(TcpStream::connect(listener.local_addr()?))?;
    ///     let (_server, peer) = ttk_core::yield_!(listener.accept())?;
    ///     Ok(peer == client.local_addr()?)
    /// }
    ///
    /// assert!(ttk_core::run(1, accepts)[0].as_ref().unwrap());
    /// ```
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let (stream, peer) = self
            .io
            .read_with(|listener| listener.accept())
            .await
            .map_err(|error| limits::explain(error, None))?;
        Ok((TcpStream::from_mio(stream)?, peer))
    }

    /// The address it listens on (with the port the OS chose for port 0).
    ///
    /// # Errors
    /// The OS's.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use ttk_net::TcpListener;
    ///
    /// #[bot(crate = ttk_core)]
    /// fn address(_cx: Cx, _id: usize) -> std::io::Result<String> {
    ///     let listener = TcpListener::bind("127.0.0.1:0")?;
    ///     Ok(listener.local_addr()?.ip().to_string())
    /// }
    ///
    /// assert_eq!(ttk_core::run(1, address)[0].as_ref().unwrap(), "127.0.0.1");
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }
}

/// A non-blocking listening std socket on `addr`.
fn listen(addr: SocketAddr) -> io::Result<std::net::TcpListener> {
    let explain = |error| limits::explain(error, None);
    let socket = Socket::new(
        Domain::for_address(addr),
        Type::STREAM.nonblocking(),
        Some(Protocol::TCP),
    )
    .map_err(explain)?;
    socket.set_reuse_address(true)?;
    socket.bind(&SockAddr::from(addr))?;
    socket.listen(BACKLOG)?;
    Ok(socket.into())
}
