//! Setting TCP options before connecting: buffer sizes, linger, a source address.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use crate::limits;
use crate::lookup;
use crate::source_pool;
use crate::tcp_stream::TcpStream;
use crate::to_socket_addrs::ToSocketAddrs;

/// A TCP socket not yet connected: set options, optionally bind a source address, then
/// `yield_!(socket.connect(addr))`.
///
/// A single source address reaches one destination from at most one ephemeral port range
/// (28,232 ports by default on Linux); runs with more connections bind each bot to another
/// loopback source (`127.0.0.2`, `127.0.0.3`, ...). Binding with port 0 sets
/// `IP_BIND_ADDRESS_NO_PORT` where the OS has it, so the port is chosen at connect time per
/// destination instead of being reserved for every destination at bind time.
///
/// # Examples
/// ```
/// # use ttk_macros::bot;
/// # use ttk_core::Cx;
/// use std::time::Duration;
/// use ttk_net::{TcpListener, TcpSocket};
///
/// #[bot(crate = ttk_core)]
/// fn tuned(_cx: Cx, _id: usize) -> std::io::Result<String> {
///     let listener = TcpListener::bind("127.0.0.1:0")?;
///     let socket = TcpSocket::new_v4()?;
///     socket.set_recv_buffer_size(64 * 1024)?;
///     socket.set_linger(Some(Duration::ZERO))?;
///     socket.bind("127.0.0.2:0".parse().unwrap())?;
///     let stream = ttk_core::yield_!(socket.connect(listener.local_addr()?))?;
///     Ok(stream.local_addr()?.ip().to_string())
/// }
///
/// assert_eq!(ttk_core::run(1, tuned)[0].as_ref().unwrap(), "127.0.0.2");
/// ```
#[derive(Debug)]
pub struct TcpSocket {
    /// The socket, non-blocking from the start.
    socket: Socket,
}

impl TcpSocket {
    /// The socket (for its descriptor).
    pub(crate) fn socket2(&self) -> &Socket {
        &self.socket
    }

    /// A new IPv4 TCP socket.
    ///
    /// # Errors
    /// The OS's, with the open-file limit named if that is what was hit.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use ttk_net::{TcpListener, TcpSocket};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn v4(_cx: Cx, _id: usize) -> std::io::Result<bool> {
    ///     let listener = TcpListener::bind("127.0.0.1:0")?;
    ///     let stream = ttk_core::yield_!(TcpSocket::new_v4()?.connect(listener.local_addr()?))?;
    ///     Ok(stream.local_addr()?.is_ipv4())
    /// }
    ///
    /// assert!(ttk_core::run(1, v4)[0].as_ref().unwrap());
    /// ```
    pub fn new_v4() -> io::Result<TcpSocket> {
        TcpSocket::new(Domain::IPV4)
    }

    /// A new IPv6 TCP socket.
    ///
    /// # Errors
    /// The OS's, with the open-file limit named if that is what was hit.
    ///
    /// # Examples
    /// ```
    /// use ttk_net::TcpSocket;
    ///
    /// // Options can be set before the socket is connected to an IPv6 address.
    /// let socket = TcpSocket::new_v6().unwrap();
    /// socket.set_nodelay(true).unwrap();
    /// ```
    pub fn new_v6() -> io::Result<TcpSocket> {
        TcpSocket::new(Domain::IPV6)
    }

    /// A new socket for the family of `addr`.
    fn for_addr(addr: SocketAddr) -> io::Result<TcpSocket> {
        TcpSocket::new(Domain::for_address(addr))
    }

    /// A new non-blocking socket of `domain`.
    fn new(domain: Domain) -> io::Result<TcpSocket> {
        let socket = Socket::new(domain, Type::STREAM.nonblocking(), Some(Protocol::TCP))
            .map_err(|error| limits::explain(error, None))?;
        Ok(TcpSocket { socket })
    }

    /// Sets `SO_RCVBUF` (the kernel may round or double it).
    ///
    /// # Errors
    /// The OS's.
    ///
    /// # Examples
    /// ```
    /// use ttk_net::TcpSocket;
    ///
    /// let socket = TcpSocket::new_v4().unwrap();
    /// socket.set_recv_buffer_size(256 * 1024).unwrap();
    /// ```
    pub fn set_recv_buffer_size(&self, bytes: usize) -> io::Result<()> {
        self.socket.set_recv_buffer_size(bytes)
    }

    /// Sets `SO_SNDBUF` (the kernel may round or double it).
    ///
    /// # Errors
    /// The OS's.
    ///
    /// # Examples
    /// ```
    /// use ttk_net::TcpSocket;
    ///
    /// let socket = TcpSocket::new_v4().unwrap();
    /// socket.set_send_buffer_size(256 * 1024).unwrap();
    /// ```
    pub fn set_send_buffer_size(&self, bytes: usize) -> io::Result<()> {
        self.socket.set_send_buffer_size(bytes)
    }

    /// Sets `SO_LINGER`: `Some(Duration::ZERO)` makes closing send a reset instead of a FIN,
    /// which frees the port at once (no `TIME_WAIT`) — useful for churn tests.
    ///
    /// # Errors
    /// The OS's.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// use ttk_net::TcpSocket;
    ///
    /// // Closing will reset the connection: its port is free at once.
    /// let socket = TcpSocket::new_v4().unwrap();
    /// socket.set_linger(Some(Duration::ZERO)).unwrap();
    /// ```
    pub fn set_linger(&self, linger: Option<Duration>) -> io::Result<()> {
        self.socket.set_linger(linger)
    }

    /// Sets `TCP_NODELAY` (disables Nagle's algorithm).
    ///
    /// # Errors
    /// The OS's.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use ttk_net::{TcpListener, TcpSocket};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn no_delay(_cx: Cx, _id: usize) -> std::io::Result<bool> {
    ///     let listener = TcpListener::bind("127.0.0.1:0")?;
    ///     let socket = TcpSocket::new_v4()?;
    ///     socket.set_nodelay(true)?;
    ///     let stream = ttk_core::yield_!(socket.connect(listener.local_addr()?))?;
    ///     stream.nodelay()
    /// }
    ///
    /// assert!(ttk_core::run(1, no_delay)[0].as_ref().unwrap());
    /// ```
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.socket.set_tcp_nodelay(nodelay)
    }

    /// Binds the source address. With port 0, the port is picked at connect time
    /// (`IP_BIND_ADDRESS_NO_PORT` on Linux).
    ///
    /// # Errors
    /// The OS's (e.g. the address is not local).
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use ttk_net::{TcpListener, TcpSocket};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn from_source(_cx: Cx, id: usize) -> std::io::Result<String> {
    ///     let listener = TcpListener::bind("127.0.0.1:0")?;
    ///     let socket = TcpSocket::new_v4()?;
    ///     // Each bot connects from its own loopback address.
    ///     socket.bind(format!("127.0.0.{}:0", id + 2).parse().unwrap())?;
    ///     let stream = ttk_core::yield_!(socket.connect(listener.local_addr()?))?;
    ///     Ok(stream.local_addr()?.ip().to_string())
    /// }
    ///
    /// let sources = ttk_core::run(2, from_source);
    /// assert_eq!(sources[1].as_ref().unwrap(), "127.0.0.3");
    /// ```
    pub fn bind(&self, source: SocketAddr) -> io::Result<()> {
        if source.port() == 0 {
            // A kernel without the option (before Linux 4.2, some sandboxes) reserves a port
            // at bind time instead: fewer connections per source, but they still connect.
            let _ = self.bind_address_no_port();
        }
        self.socket
            .bind(&SockAddr::from(source))
            .map_err(|error| limits::explain(error, None))
    }

    /// Sets `IP_BIND_ADDRESS_NO_PORT` where the OS has it.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    fn bind_address_no_port(&self) -> io::Result<()> {
        use std::os::fd::AsRawFd;
        let enable: libc::c_int = 1;
        // SAFETY: the descriptor is open (owned by `self.socket`), and the option value points
        // to a live `c_int` whose size is passed alongside it.
        let status = unsafe {
            libc::setsockopt(
                self.socket.as_raw_fd(),
                libc::IPPROTO_IP,
                libc::IP_BIND_ADDRESS_NO_PORT,
                (&raw const enable).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if status == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }

    /// Without `IP_BIND_ADDRESS_NO_PORT`, binding port 0 reserves a port at bind time.
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    fn bind_address_no_port(&self) -> io::Result<()> {
        Ok(())
    }

    /// Connects to `addr` without blocking the loop; wait for it with
    /// `yield_!(socket.connect(addr))`.
    ///
    /// # Errors
    /// `ConnectionRefused` if nothing listens, a [`LimitReached`](crate::LimitReached) error
    /// if the local ports for this destination ran out, and the OS's other errors.
    ///
    /// # Panics
    /// Outside a running ttk loop.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use ttk_net::{TcpListener, TcpSocket};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn connects(_cx: Cx, _id: usize) -> std::io::Result<bool> {
    ///     let listener = TcpListener::bind("127.0.0.1:0")?;
    ///     let stream = ttk_core::yield_!(TcpSocket::new_v4()?.connect(listener.local_addr()?))?;
    ///     Ok(stream.peer_addr()? == listener.local_addr()?)
    /// }
    ///
    /// assert!(ttk_core::run(1, connects)[0].as_ref().unwrap());
    /// ```
    pub async fn connect(self, addr: SocketAddr) -> io::Result<TcpStream> {
        match self.socket.connect(&SockAddr::from(addr)) {
            Ok(()) => {}
            Err(error) if error.raw_os_error() == Some(libc::EINPROGRESS) => {}
            Err(error) => return Err(limits::explain(error, Some(addr))),
        }
        let stream = TcpStream::from_std(self.socket.into())?;
        stream.finish_connect().await?;
        // On an emulated network the handshake takes its round trip too.
        stream.handshake_delay().await;
        Ok(stream)
    }
}

/// Connects to the first address of `addrs` that accepts (see [`TcpStream::connect`]).
pub(crate) async fn connect_any(addrs: impl ToSocketAddrs) -> io::Result<TcpStream> {
    connect_any_from(None, addrs).await
}

/// Connects to the first address of `addrs` that accepts, from `source` if given: then only
/// to addresses of its family (see [`TcpStream::connect_from`]).
pub(crate) async fn connect_any_from(
    source: Option<SocketAddr>,
    addrs: impl ToSocketAddrs,
) -> io::Result<TcpStream> {
    let mut last_error = None;
    for addr in lookup::resolve(&addrs).await? {
        let socket = TcpSocket::for_addr(addr)?;
        if let Some(source) = source {
            if source.is_ipv4() != addr.is_ipv4() {
                continue;
            }
            socket.bind(source)?;
        } else if let Some(pooled) = source_pool::default_source_for(addr) {
            // The process's pool (`--local-ips`): each connection from its next address.
            socket.bind(pooled)?;
        }
        match socket.connect(addr).await {
            Ok(stream) => return Ok(stream),
            Err(error) => last_error = Some(error),
        }
    }
    Err(last_error.unwrap_or_else(|| match source {
        Some(source) => io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "no address to connect to from {}: the server has no {} address",
                source.ip(),
                if source.is_ipv4() { "IPv4" } else { "IPv6" }
            ),
        ),
        None => io::Error::new(io::ErrorKind::InvalidInput, "no address to connect to"),
    }))
}
