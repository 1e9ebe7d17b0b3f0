//! A bot's UDP socket.

use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Instant;

use ttk_core::io::IoSource;

use crate::conditions::NetProfile;
use crate::conditions::mix::profile_of_running_bot;
use crate::conditions::shared_io::SharedIo;
use crate::conditions::udp::Conditioned;
use crate::limits;
use crate::lookup;
use crate::source_pool;
use crate::to_socket_addrs::ToSocketAddrs;

/// A UDP socket registered with the bot's loop. Names follow std and tokio.
///
/// # Examples
/// ```
/// # use ttk_macros::bot;
/// # use ttk_core::Cx;
/// use ttk_net::UdpSocket;
///
/// #[bot(crate = ttk_core)]
/// fn datagrams(_cx: Cx, _id: usize) -> std::io::Result<(Vec<u8>, bool)> {
///     let server = UdpSocket::bind("127.0.0.1:0")?;
///     let client = UdpSocket::bind("127.0.0.1:0")?;
///     client.connect(server.local_addr()?)?;
///     ttk_core::yield_!(client.send(b"move north"))?;
///     let mut buf = [0; 64];
///     let (n, from) = ttk_core::yield_!(server.recv_from(&mut buf))?;
///     Ok((buf[..n].to_vec(), from == client.local_addr()?))
/// }
///
/// let (payload, from_client) = ttk_core::run(1, datagrams).pop().unwrap().unwrap();
/// assert_eq!(payload, b"move north");
/// assert!(from_client);
/// ```
#[derive(Debug)]
pub struct UdpSocket {
    /// The registered socket (shared with the loop's sends of datagrams held back, if it has
    /// conditions).
    io: SharedIo<mio::net::UdpSocket>,
    /// Emulated network conditions, if the socket has any (the run's `--net`, or
    /// [`UdpSocket::set_conditions`]).
    conditions: Option<Box<Conditioned>>,
}

impl UdpSocket {
    /// The registered mio socket (for its descriptor).
    pub(crate) fn mio(&self) -> &mio::net::UdpSocket {
        self.io.get_ref()
    }

    /// Binds to the first address of `addr` that works.
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
    /// use ttk_net::UdpSocket;
    ///
    /// #[bot(crate = ttk_core)]
    /// fn binds(_cx: Cx, _id: usize) -> std::io::Result<bool> {
    ///     let socket = UdpSocket::bind("127.0.0.1:0")?;
    ///     // A host name is refused: looking it up would block the loop.
    ///     assert!(UdpSocket::bind("localhost:0").is_err());
    ///     Ok(socket.local_addr()?.port() != 0)
    /// }
    ///
    /// assert!(ttk_core::run(1, binds)[0].as_ref().unwrap());
    /// ```
    pub fn bind(addr: impl ToSocketAddrs) -> io::Result<UdpSocket> {
        let mut last_error = None;
        for addr in lookup::literal(&addr, "UdpSocket::bind")? {
            // Any address and any port: the process's pool (`--local-ips`) chooses the address.
            let addr = match addr.ip().is_unspecified() && addr.port() == 0 {
                true => source_pool::default_datagram_source(addr).unwrap_or(addr),
                false => addr,
            };
            match std::net::UdpSocket::bind(addr) {
                Ok(socket) => {
                    socket.set_nonblocking(true)?;
                    let mut socket = UdpSocket {
                        io: SharedIo::Owned(IoSource::new(mio::net::UdpSocket::from_std(socket))?),
                        conditions: None,
                    };
                    if let Some(profile) = profile_of_running_bot() {
                        socket.set_conditions(&profile);
                    }
                    return Ok(socket);
                }
                Err(error) => last_error = Some(limits::explain(error, None)),
            }
        }
        Err(last_error
            .unwrap_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no address to bind")))
    }

    /// Sets the default destination of [`UdpSocket::send`] and filters [`UdpSocket::recv`] to
    /// datagrams from it. Immediate: UDP has no handshake. Datagrams that came before the
    /// connect, from anyone, are still received, with their own senders. Connect through this
    /// method rather than the raw descriptor: a socket under network conditions learns its
    /// peer here.
    ///
    /// # Errors
    /// The OS's.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use ttk_net::UdpSocket;
    ///
    /// #[bot(crate = ttk_core)]
    /// fn connected(_cx: Cx, _id: usize) -> std::io::Result<bool> {
    ///     let server = UdpSocket::bind("127.0.0.1:0")?;
    ///     let client = UdpSocket::bind("127.0.0.1:0")?;
    ///     client.connect(server.local_addr()?)?;
    ///     Ok(client.peer_addr()? == server.local_addr()?)
    /// }
    ///
    /// assert!(ttk_core::run(1, connected)[0].as_ref().unwrap());
    /// ```
    pub fn connect(&self, addr: SocketAddr) -> io::Result<()> {
        self.io.get_ref().connect(addr)?;
        if let Some(conditions) = &self.conditions {
            // As the kernel has it (it may differ from `addr`: an IPv4-mapped address), or
            // none it can name (port 0, which Linux connects to): senders are then asked.
            conditions.connected_to(self.io.get_ref().peer_addr().ok());
        }
        Ok(())
    }

    /// Sends a datagram to the connected address.
    ///
    /// # Errors
    /// `ConnectionRefused` if an earlier datagram was refused (ICMP); the OS's other errors.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use ttk_net::UdpSocket;
    ///
    /// #[bot(crate = ttk_core)]
    /// fn sends(_cx: Cx, _id: usize) -> std::io::Result<Vec<u8>> {
    ///     let server = UdpSocket::bind("127.0.0.1:0")?;
    ///     let client = UdpSocket::bind("127.0.0.1:0")?;
    ///     client.connect(server.local_addr()?)?;
    ///     ttk_core::yield_!(client.send(b"ping"))?;
    ///     let mut buf = [0; 8];
    ///     let (n, _) = ttk_core::yield_!(server.recv_from(&mut buf))?;
    ///     Ok(buf[..n].to_vec())
    /// }
    ///
    /// assert_eq!(ttk_core::run(1, sends)[0].as_ref().unwrap(), b"ping");
    /// ```
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        if let Some(conditions) = &self.conditions {
            return conditions.send(self.io.shared(), buf, None).await;
        }
        self.io.write_with(|socket| socket.send(buf)).await
    }

    /// Receives a datagram from the connected address; the rest of a datagram longer than
    /// `buf` is lost.
    ///
    /// # Errors
    /// `ConnectionRefused` if the peer's port is closed (ICMP); the OS's other errors.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use ttk_net::UdpSocket;
    ///
    /// #[bot(crate = ttk_core)]
    /// fn receives(_cx: Cx, _id: usize) -> std::io::Result<Vec<u8>> {
    ///     let server = UdpSocket::bind("127.0.0.1:0")?;
    ///     let client = UdpSocket::bind("127.0.0.1:0")?;
    ///     client.connect(server.local_addr()?)?;
    ///     ttk_core::yield_!(server.send_to(b"pong", client.local_addr()?))?;
    ///     let mut buf = [0; 8];
    ///     let n = ttk_core::yield_!(client.recv(&mut buf))?;
    ///     Ok(buf[..n].to_vec())
    /// }
    ///
    /// assert_eq!(ttk_core::run(1, receives)[0].as_ref().unwrap(), b"pong");
    /// ```
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(conditions) = &self.conditions {
            return Ok(conditions.recv(self.io.shared(), buf).await?.0);
        }
        self.io.read_with(|socket| socket.recv(buf)).await
    }

    /// Sends a datagram to `target`.
    ///
    /// # Errors
    /// The OS's.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use ttk_net::UdpSocket;
    ///
    /// #[bot(crate = ttk_core)]
    /// fn sends_to(_cx: Cx, _id: usize) -> std::io::Result<usize> {
    ///     let server = UdpSocket::bind("127.0.0.1:0")?;
    ///     let client = UdpSocket::bind("127.0.0.1:0")?;
    ///     ttk_core::yield_!(client.send_to(b"hello", server.local_addr()?))
    /// }
    ///
    /// assert_eq!(ttk_core::run(1, sends_to)[0].as_ref().unwrap(), &5);
    /// ```
    pub async fn send_to(&self, buf: &[u8], target: SocketAddr) -> io::Result<usize> {
        if let Some(conditions) = &self.conditions {
            return conditions.send(self.io.shared(), buf, Some(target)).await;
        }
        self.io
            .write_with(|socket| socket.send_to(buf, target))
            .await
    }

    /// Receives a datagram and the address it came from.
    ///
    /// # Errors
    /// The OS's.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use ttk_net::UdpSocket;
    ///
    /// #[bot(crate = ttk_core)]
    /// fn echo(_cx: Cx, _id: usize) -> std::io::Result<Vec<u8>> {
    ///     let server = UdpSocket::bind("127.0.0.1:0")?;
    ///     let client = UdpSocket::bind("127.0.0.1:0")?;
    ///     ttk_core::yield_!(client.send_to(b"echo me", server.local_addr()?))?;
    ///     let mut buf = [0; 16];
    ///     let (n, from) = ttk_core::yield_!(server.recv_from(&mut buf))?;
    ///     ttk_core::yield_!(server.send_to(&buf[..n], from))?;
    ///     let n = ttk_core::yield_!(client.recv(&mut buf))?;
    ///     Ok(buf[..n].to_vec())
    /// }
    ///
    /// assert_eq!(ttk_core::run(1, echo)[0].as_ref().unwrap(), b"echo me");
    /// ```
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        if let Some(conditions) = &self.conditions {
            return conditions.recv(self.io.shared(), buf).await;
        }
        self.io.read_with(|socket| socket.recv_from(buf)).await
    }

    /// Sends a datagram to `target` without waiting (for a transport whose state machine does
    /// not wait, such as ENet's or QUIC's): `WouldBlock` if the socket's buffer is full. Under
    /// conditions the datagram is held and sent when due, as with [`UdpSocket::send_to`].
    ///
    /// # Errors
    /// `WouldBlock` if the socket cannot take it now; the OS's.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use ttk_net::UdpSocket;
    ///
    /// #[bot(crate = ttk_core)]
    /// fn state_machine(_cx: Cx, _id: usize) -> std::io::Result<Vec<u8>> {
    ///     let (a, b) = (UdpSocket::bind("127.0.0.1:0")?, UdpSocket::bind("127.0.0.1:0")?);
    ///     a.try_send_to(b"tick", b.local_addr()?)?;
    ///     let mut buf = [0; 16];
    ///     let (n, from) = loop {
    ///         match b.try_recv_from(&mut buf) {
    ///             Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {
    ///                 ttk_core::yield_!(b.readable())
    ///             }
    ///             received => break received?,
    ///         }
    ///     };
    ///     assert_eq!(from, a.local_addr()?);
    ///     Ok(buf[..n].to_vec())
    /// }
    ///
    /// assert_eq!(ttk_core::run(1, state_machine)[0].as_ref().unwrap(), b"tick");
    /// ```
    pub fn try_send_to(&self, buf: &[u8], target: SocketAddr) -> io::Result<usize> {
        match &self.conditions {
            Some(conditions) => conditions.try_send(self.io.shared(), buf, Some(target)),
            None => self.io.get_ref().send_to(buf, target),
        }
    }

    /// Receives a datagram without waiting: `WouldBlock` if none is there (then
    /// [`UdpSocket::readable`] waits for one).
    ///
    /// # Errors
    /// `WouldBlock` if no datagram is there; `ConnectionRefused` on a connected socket after
    /// ICMP said nothing listens at its peer; the OS's.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use ttk_net::UdpSocket;
    ///
    /// #[bot(crate = ttk_core)]
    /// fn nothing_yet(_cx: Cx, _id: usize) -> std::io::Result<std::io::ErrorKind> {
    ///     let socket = UdpSocket::bind("127.0.0.1:0")?;
    ///     let mut buf = [0; 16];
    ///     Ok(socket.try_recv_from(&mut buf).unwrap_err().kind())
    /// }
    ///
    /// assert_eq!(ttk_core::run(1, nothing_yet)[0].as_ref().unwrap(), &std::io::ErrorKind::WouldBlock);
    /// ```
    pub fn try_recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        if let Some(conditions) = &self.conditions {
            return conditions.try_recv(self.io.shared(), buf);
        }
        let received = self.io.get_ref().recv_from(buf);
        if received
            .as_ref()
            .is_err_and(|error| error.kind() == io::ErrorKind::WouldBlock)
        {
            // The kernel's queue is empty: the next wait is for the selector's event.
            self.io.clear_read_ready();
        }
        received
    }

    /// After [`UdpSocket::try_recv_from`] said `WouldBlock`: parks the bot until a datagram
    /// may be there (under conditions, until one is due).
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use ttk_net::UdpSocket;
    ///
    /// #[bot(crate = ttk_core)]
    /// fn woken(_cx: Cx, _id: usize) -> std::io::Result<usize> {
    ///     let (a, b) = (UdpSocket::bind("127.0.0.1:0")?, UdpSocket::bind("127.0.0.1:0")?);
    ///     a.try_send_to(b"ping", b.local_addr()?)?;
    ///     ttk_core::yield_!(b.readable());
    ///     let mut buf = [0; 16];
    ///     Ok(b.try_recv_from(&mut buf)?.0)
    /// }
    ///
    /// assert_eq!(ttk_core::run(1, woken)[0].as_ref().unwrap(), &4);
    /// ```
    pub async fn readable(&self) {
        match &self.conditions {
            Some(conditions) => conditions.readable(self.io.shared()).await,
            None => self.io.readable().await,
        }
    }

    /// When the last datagram its conditions hold back on the way out leaves (`None`: none is
    /// held, or the socket has no conditions). A socket dropped before then takes them with it,
    /// as a closed socket's queue goes: keep it until then to have them sent (a last message,
    /// a protocol's close).
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use ttk_net::UdpSocket;
    ///
    /// #[bot(crate = ttk_core)]
    /// fn last_words(_cx: Cx, _id: usize) -> std::io::Result<bool> {
    ///     let mut socket = UdpSocket::bind("127.0.0.1:0")?;
    ///     let peer = std::net::UdpSocket::bind("127.0.0.1:0")?.local_addr()?;
    ///     assert_eq!(socket.held_until(), None);
    ///     socket.set_conditions(&"delay=50ms".parse().unwrap());
    ///     socket.try_send_to(b"bye", peer)?;
    ///     let until = socket.held_until().expect("held for 50 ms");
    ///     ttk_core::yield_!(ttk_core::sleep(until - ttk_core::now()));
    ///     Ok(socket.held_until().is_none())
    /// }
    ///
    /// assert!(ttk_core::run(1, last_words)[0].as_ref().unwrap());
    /// ```
    pub fn held_until(&self) -> Option<Instant> {
        self.conditions
            .as_ref()
            .and_then(|conditions| conditions.held_until())
    }

    /// Emulates `profile`'s network on this socket from now on (replacing the run's `--net`
    /// profile, if any): datagrams sent and received are delayed, lost, duplicated, reordered
    /// and paced as it says (see [`conditions`](crate::conditions)). Its randomness comes from
    /// the run's seed and the bot. What is held keeps its place; a clear profile passes
    /// datagrams on at once from then on. A datagram's delay runs from when it came (the
    /// kernel's receive stamp), however late the bot receives it.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use std::time::Duration;
    /// use ttk_net::UdpSocket;
    ///
    /// #[bot(crate = ttk_core)]
    /// fn far(_cx: Cx, _id: usize) -> std::io::Result<Duration> {
    ///     let server = UdpSocket::bind("127.0.0.1:0")?;
    ///     let mut client = UdpSocket::bind("127.0.0.1:0")?;
    ///     client.set_conditions(&"delay=40ms".parse().unwrap());
    ///     let sent = ttk_core::now();
    ///     ttk_core::yield_!(client.send_to(b"ping", server.local_addr()?))?;
    ///     let mut buf = [0; 8];
    ///     ttk_core::yield_!(server.recv_from(&mut buf))?;
    ///     Ok(ttk_core::now() - sent)
    /// }
    ///
    /// let took = ttk_core::run(1, far).pop().unwrap().unwrap();
    /// assert!(took >= Duration::from_millis(40), "{took:?}");
    /// ```
    pub fn set_conditions(&mut self, profile: &NetProfile) {
        let seed = ttk_core::io::next_bot_seed();
        match &self.conditions {
            // What is held keeps its place: the new links carry what comes after it.
            Some(conditions) => conditions.set_profile(profile, seed),
            None if profile.is_clear() => {}
            None => {
                let io = Rc::clone(self.io.share());
                crate::conditions::stamp_arrivals(io.get_ref());
                let peer = io.get_ref().peer_addr().ok();
                self.conditions = Some(Box::new(Conditioned::new(profile, seed, peer, io)));
            }
        }
    }

    /// The local address.
    ///
    /// # Errors
    /// The OS's.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use ttk_net::UdpSocket;
    ///
    /// #[bot(crate = ttk_core)]
    /// fn local(_cx: Cx, _id: usize) -> std::io::Result<String> {
    ///     let socket = UdpSocket::bind("127.0.0.1:0")?;
    ///     Ok(socket.local_addr()?.ip().to_string())
    /// }
    ///
    /// assert_eq!(ttk_core::run(1, local)[0].as_ref().unwrap(), "127.0.0.1");
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The connected address.
    ///
    /// # Errors
    /// `NotConnected` if [`UdpSocket::connect`] was not called.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use ttk_net::UdpSocket;
    ///
    /// #[bot(crate = ttk_core)]
    /// fn peer(_cx: Cx, _id: usize) -> std::io::Result<std::io::ErrorKind> {
    ///     let socket = UdpSocket::bind("127.0.0.1:0")?;
    ///     // Not connected yet.
    ///     Ok(socket.peer_addr().unwrap_err().kind())
    /// }
    ///
    /// assert_eq!(ttk_core::run(1, peer)[0].as_ref().unwrap(), &std::io::ErrorKind::NotConnected);
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }
}
