//! A bot's TCP connection.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::time::Duration;

use ttk_core::io::IoSource;

use crate::conditions::NetProfile;
use crate::conditions::mix::profile_of_running_bot;
use crate::conditions::shared_io::SharedIo;
use crate::conditions::tcp::ConditionedStream;
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
    /// The registered socket (shared with the loop's writes of bytes held back, if it has
    /// conditions).
    io: SharedIo<mio::net::TcpStream>,
    /// Emulated network conditions, if the stream has any (the run's `--net`, or
    /// [`TcpStream::set_conditions`]).
    conditions: Option<Box<ConditionedStream>>,
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
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use ttk_net::{TcpListener, TcpStream};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn connects(_cx: Cx, _id: usize) -> std::io::Result<std::io::ErrorKind> {
    ///     let listener = TcpListener::bind("127.0.0.1:0")?;
    ///     let addr = listener.local_addr()?;
    ///     let _stream = ttk_core::yield_!(TcpStream::connect(addr))?;
    ///     drop(listener);
    ///     // Nothing listens there any more.
    ///     Ok(ttk_core::yield_!(TcpStream::connect(addr)).unwrap_err().kind())
    /// }
    ///
    /// let refused = ttk_core::run(1, connects).pop().unwrap().unwrap();
    /// assert_eq!(refused, std::io::ErrorKind::ConnectionRefused);
    /// ```
    pub async fn connect(addr: impl ToSocketAddrs) -> io::Result<TcpStream> {
        tcp_socket::connect_any(addr).await
    }

    /// Like [`TcpStream::connect`], from the source address `source` (port 0: any port, chosen
    /// at connect time per destination), to the first of the addresses of its family that
    /// accepts: how a run holds more connections to one server than one source address has
    /// ports (28,232 on Linux by default), each bot leaving from another address of the machine.
    ///
    /// # Errors
    /// Those of [`TcpStream::connect`]; the OS's if `source` is not an address of this machine
    /// (`AddrNotAvailable`); `InvalidInput` if the server has no address of its family.
    ///
    /// # Panics
    /// Outside a running ttk loop.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use ttk_net::{TcpListener, TcpStream};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn from(_cx: Cx, id: usize) -> std::io::Result<String> {
    ///     let listener = TcpListener::bind("127.0.0.1:0")?;
    ///     let source = format!("127.0.0.{}:0", 2 + id).parse().unwrap();
    ///     let stream = ttk_core::yield_!(TcpStream::connect_from(source, listener.local_addr()?))?;
    ///     Ok(stream.local_addr()?.ip().to_string())
    /// }
    ///
    /// let sources = ttk_core::run(2, from);
    /// assert_eq!(sources[1].as_ref().unwrap(), "127.0.0.3");
    /// ```
    pub async fn connect_from(
        source: SocketAddr,
        addr: impl ToSocketAddrs,
    ) -> io::Result<TcpStream> {
        tcp_socket::connect_any_from(Some(source), addr).await
    }

    /// Registers a connected (or connecting) non-blocking std stream with the running loop.
    pub(crate) fn from_std(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        Self::from_mio(mio::net::TcpStream::from_std(stream))
    }

    /// Registers a mio stream with the running loop.
    pub(crate) fn from_mio(stream: mio::net::TcpStream) -> io::Result<TcpStream> {
        let mut stream = TcpStream {
            io: SharedIo::Owned(IoSource::new(stream)?),
            conditions: None,
        };
        if let Some(profile) = profile_of_running_bot() {
            stream.set_conditions(&profile);
        }
        Ok(stream)
    }

    /// Waits the round trip of the stream's emulated network, if it has one: a connect's
    /// SYN and SYN-ACK cross it as any bytes do.
    pub(crate) async fn handshake_delay(&self) {
        if let Some(conditions) = &self.conditions {
            let round_trip = conditions.round_trip();
            if !round_trip.is_zero() {
                ttk_core::sleep(round_trip).await;
            }
        }
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
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use ttk_net::{TcpListener, TcpStream};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn reads(_cx: Cx, _id: usize) -> std::io::Result<(Vec<u8>, usize)> {
    ///     let listener = TcpListener::bind("127.0.0.1:0")?;
    ///     let client = ttk_core::yield_!(TcpStream::connect(listener.local_addr()?))?;
    ///     let (server, _) = ttk_core::yield_!(listener.accept())?;
    ///     ttk_core::yield_!(server.write_all(b"bye"))?;
    ///     drop(server);
    ///     let mut buf = [0; 16];
    ///     let n = ttk_core::yield_!(client.read(&mut buf))?;
    ///     // Then 0: the peer closed.
    ///     Ok((buf[..n].to_vec(), ttk_core::yield_!(client.read(&mut buf))?))
    /// }
    ///
    /// let (got, after) = ttk_core::run(1, reads).pop().unwrap().unwrap();
    /// assert_eq!((got.as_slice(), after), (&b"bye"[..], 0));
    /// ```
    pub async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(conditions) = &self.conditions {
            return conditions.read(self.io.shared(), buf).await;
        }
        let n = self.io.read_with(|mut stream| stream.read(buf)).await?;
        if n > 0 && n < buf.len() {
            // The queue is empty: the next read waits for the event of the next bytes instead
            // of failing with `WouldBlock` first (a syscall saved per request/reply).
            self.io.clear_read_ready();
        }
        Ok(n)
    }

    /// Whether a read might find something now, known without a read (see
    /// [`ByteStream::read_ready`](crate::ByteStream::read_ready)): `false` after a read that
    /// found the socket's queue empty, until the next bytes, the peer's close or an error. With
    /// [conditions](TcpStream::set_conditions), also what the link holds for the bot.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use ttk_net::{TcpListener, TcpStream};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn answered(_cx: Cx, _id: usize) -> std::io::Result<(bool, bool)> {
    ///     let listener = TcpListener::bind("127.0.0.1:0")?;
    ///     let client = ttk_core::yield_!(TcpStream::connect(listener.local_addr()?))?;
    ///     let (server, _) = ttk_core::yield_!(listener.accept())?;
    ///     ttk_core::yield_!(server.write_all(b"hi"))?;
    ///     let mut buf = [0; 16];
    ///     ttk_core::yield_!(client.read(&mut buf))?;
    ///     let quiet = client.read_ready(); // the short read found the queue empty
    ///     ttk_core::yield_!(server.write_all(b"more"))?;
    ///     ttk_core::yield_!(ttk_core::sleep(std::time::Duration::from_millis(10)));
    ///     Ok((quiet, client.read_ready()))
    /// }
    ///
    /// assert_eq!(ttk_core::run(1, answered)[0].as_ref().unwrap(), &(false, true));
    /// ```
    pub fn read_ready(&self) -> bool {
        match &self.conditions {
            Some(conditions) => conditions.read_ready(&self.io),
            None => self.io.read_ready(),
        }
    }

    /// Reads exactly `buf.len()` bytes.
    ///
    /// # Errors
    /// `UnexpectedEof` if the peer closed before `buf` was full; those of [`TcpStream::read`].
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use ttk_net::{TcpListener, TcpStream};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn exact(_cx: Cx, _id: usize) -> std::io::Result<std::io::ErrorKind> {
    ///     let listener = TcpListener::bind("127.0.0.1:0")?;
    ///     let client = ttk_core::yield_!(TcpStream::connect(listener.local_addr()?))?;
    ///     let (server, _) = ttk_core::yield_!(listener.accept())?;
    ///     ttk_core::yield_!(server.write_all(b"12345"))?;
    ///     drop(server);
    ///     let mut header = [0; 4];
    ///     ttk_core::yield_!(client.read_exact(&mut header))?;
    ///     assert_eq!(&header, b"1234");
    ///     // One byte is left, and the peer closed: four more cannot come.
    ///     Ok(ttk_core::yield_!(client.read_exact(&mut header)).unwrap_err().kind())
    /// }
    ///
    /// let short = ttk_core::run(1, exact).pop().unwrap().unwrap();
    /// assert_eq!(short, std::io::ErrorKind::UnexpectedEof);
    /// ```
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
    /// `BrokenPipe` or `ConnectionReset` if the peer is gone — its message then shows the line
    /// of text the peer sent before it went, if no one read it (a server's reason for refusing
    /// the connection), which a read still gets; the OS's other errors.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use ttk_net::{TcpListener, TcpStream};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn writes(_cx: Cx, _id: usize) -> std::io::Result<usize> {
    ///     let listener = TcpListener::bind("127.0.0.1:0")?;
    ///     let client = ttk_core::yield_!(TcpStream::connect(listener.local_addr()?))?;
    ///     let (_server, _) = ttk_core::yield_!(listener.accept())?;
    ///     // A small write into an empty send buffer is taken whole.
    ///     ttk_core::yield_!(client.write(b"hello"))
    /// }
    ///
    /// assert_eq!(ttk_core::run(1, writes)[0].as_ref().unwrap(), &5);
    /// ```
    pub async fn write(&self, buf: &[u8]) -> io::Result<usize> {
        let written = match &self.conditions {
            Some(conditions) => conditions.write(self.io.shared(), buf).await,
            None => self.io.write_with(|mut stream| stream.write(buf)).await,
        };
        written.map_err(|error| self.with_what_the_peer_said(error))
    }

    /// `error` of a write, saying what the peer sent before it ended the connection, when the
    /// next bytes no one read are a line of text: a server refusing a connection says why (an
    /// IRC server's `ERROR :Connection limit reached`, redis's `-ERR max number of clients
    /// reached`), then closes, and a bot writing its next line meets the close (`BrokenPipe`,
    /// `ConnectionReset`) before it reads the reason. The bytes are looked at, not taken: a read
    /// after the error still gets them.
    fn with_what_the_peer_said(&self, error: io::Error) -> io::Error {
        // Under conditions, what came is held above the kernel, and the kernel's bytes are not
        // yet the bot's: nothing to say.
        if self.conditions.is_some()
            || !matches!(
                error.kind(),
                io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset
            )
        {
            return error;
        }
        const SHOWN: usize = 160;
        let mut unread = [0u8; SHOWN];
        let Ok(peeked) = self.io.get_ref().peek(&mut unread) else {
            return error;
        };
        let line = unread[..peeked]
            .split(|&byte| byte == b'\n')
            .next()
            .unwrap_or_default();
        let whole = line.len() < peeked || peeked < SHOWN;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        // Up to a character cut by the end of what was looked at; bytes that are no UTF-8
        // inside it are no text.
        let (text, cut) = match std::str::from_utf8(line) {
            Ok(text) => (text, false),
            Err(error) if error.error_len().is_none() => (
                std::str::from_utf8(&line[..error.valid_up_to()]).unwrap_or_default(),
                true,
            ),
            Err(_) => return error,
        };
        // Text only: a TLS record or a binary protocol's bytes say nothing to a reader.
        if text.is_empty() || text.chars().any(|c| c.is_control() && c != '\t') {
            return error;
        }
        let more = if whole && !cut { "" } else { "…" };
        io::Error::new(
            error.kind(),
            format!("{error}; the peer had sent `{text}{more}`, unread"),
        )
    }

    /// Writes all of `buf`.
    ///
    /// # Errors
    /// Those of [`TcpStream::write`]; `WriteZero` if the socket takes nothing.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use ttk_net::{TcpListener, TcpStream};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn bulk(_cx: Cx, _id: usize) -> std::io::Result<usize> {
    ///     let listener = TcpListener::bind("127.0.0.1:0")?;
    ///     let client = ttk_core::yield_!(TcpStream::connect(listener.local_addr()?))?;
    ///     let (server, _) = ttk_core::yield_!(listener.accept())?;
    ///     let block = vec![7u8; 8 * 1024];
    ///     ttk_core::yield_!(client.write_all(&block))?;
    ///     let mut got = vec![0; block.len()];
    ///     ttk_core::yield_!(server.read_exact(&mut got))?;
    ///     Ok(got.iter().filter(|&&byte| byte == 7).count())
    /// }
    ///
    /// assert_eq!(ttk_core::run(1, bulk)[0].as_ref().unwrap(), &(8 * 1024));
    /// ```
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
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use std::net::Shutdown;
    /// use ttk_net::{TcpListener, TcpStream};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn half_close(_cx: Cx, _id: usize) -> std::io::Result<usize> {
    ///     let listener = TcpListener::bind("127.0.0.1:0")?;
    ///     let client = ttk_core::yield_!(TcpStream::connect(listener.local_addr()?))?;
    ///     let (server, _) = ttk_core::yield_!(listener.accept())?;
    ///     client.shutdown(Shutdown::Write)?;
    ///     // The server sees the end of the stream.
    ///     let mut buf = [0; 8];
    ///     ttk_core::yield_!(server.read(&mut buf))
    /// }
    ///
    /// assert_eq!(ttk_core::run(1, half_close)[0].as_ref().unwrap(), &0);
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        if let Some(conditions) = &self.conditions {
            return conditions.shutdown(self.io.shared(), how);
        }
        self.io.get_ref().shutdown(how)
    }

    /// Emulates `profile`'s network on this stream from now on (replacing the run's `--net`
    /// profile, if any): bytes written and read are delayed and paced as it says, in order; a
    /// lost segment arrives a retransmission timeout (200 ms) late, as TCP resends it (see
    /// [`conditions`](crate::conditions)). A stream in use keeps its order: what is held
    /// still goes when due, and what comes after it goes after it (a clear profile passes
    /// bytes on at once from then on). Bytes are delayed from when they came (the kernel's
    /// stamp of the latest segment of a read), however late the bot reads.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use std::time::Duration;
    /// use ttk_net::{TcpListener, TcpStream};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn far(_cx: Cx, _id: usize) -> std::io::Result<Duration> {
    ///     let listener = TcpListener::bind("127.0.0.1:0")?;
    ///     let mut client = ttk_core::yield_!(TcpStream::connect(listener.local_addr()?))?;
    ///     let (server, _) = ttk_core::yield_!(listener.accept())?;
    ///     client.set_conditions(&"delay=30ms".parse().unwrap());
    ///     let sent = ttk_core::now();
    ///     ttk_core::yield_!(client.write_all(b"ping"))?;
    ///     let mut buf = [0; 4];
    ///     ttk_core::yield_!(server.read_exact(&mut buf))?;
    ///     Ok(ttk_core::now() - sent)
    /// }
    ///
    /// let took = ttk_core::run(1, far).pop().unwrap().unwrap();
    /// assert!(took >= Duration::from_millis(30), "{took:?}");
    /// ```
    pub fn set_conditions(&mut self, profile: &NetProfile) {
        let seed = ttk_core::io::next_bot_seed();
        match &self.conditions {
            // What is held keeps its place: the new links carry what comes after it.
            Some(conditions) => conditions.set_profile(profile, seed),
            None if profile.is_clear() => {}
            None => {
                self.io.share();
                crate::conditions::stamp_arrivals(self.io.get_ref());
                self.conditions = Some(Box::new(ConditionedStream::new(profile, seed)));
            }
        }
    }

    /// The remote address.
    ///
    /// # Errors
    /// `NotConnected` once the connection is gone.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use ttk_net::{TcpListener, TcpStream};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn peer(_cx: Cx, _id: usize) -> std::io::Result<bool> {
    ///     let listener = TcpListener::bind("127.0.0.1:0")?;
    ///     let client = ttk_core::yield_!(TcpStream::connect(listener.local_addr()?))?;
    ///     Ok(client.peer_addr()? == listener.local_addr()?)
    /// }
    ///
    /// assert!(ttk_core::run(1, peer)[0].as_ref().unwrap());
    /// ```
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
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
    /// use ttk_net::{TcpListener, TcpStream};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn local(_cx: Cx, _id: usize) -> std::io::Result<bool> {
    ///     let listener = TcpListener::bind("127.0.0.1:0")?;
    ///     let client = ttk_core::yield_!(TcpStream::connect(listener.local_addr()?))?;
    ///     let (server, _) = ttk_core::yield_!(listener.accept())?;
    ///     Ok(client.local_addr()? == server.peer_addr()?)
    /// }
    ///
    /// assert!(ttk_core::run(1, local)[0].as_ref().unwrap());
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// Sets `TCP_NODELAY` (disables Nagle's algorithm, for small request/response messages).
    ///
    /// # Errors
    /// The OS's.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use ttk_net::{TcpListener, TcpStream};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn no_delay(_cx: Cx, _id: usize) -> std::io::Result<bool> {
    ///     let listener = TcpListener::bind("127.0.0.1:0")?;
    ///     let client = ttk_core::yield_!(TcpStream::connect(listener.local_addr()?))?;
    ///     client.set_nodelay(true)?;
    ///     client.nodelay()
    /// }
    ///
    /// assert!(ttk_core::run(1, no_delay)[0].as_ref().unwrap());
    /// ```
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.io.get_ref().set_nodelay(nodelay)
    }

    /// Whether `TCP_NODELAY` is set.
    ///
    /// # Errors
    /// The OS's.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use ttk_net::{TcpListener, TcpStream};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn toggled(_cx: Cx, _id: usize) -> std::io::Result<(bool, bool)> {
    ///     let listener = TcpListener::bind("127.0.0.1:0")?;
    ///     let client = ttk_core::yield_!(TcpStream::connect(listener.local_addr()?))?;
    ///     client.set_nodelay(true)?;
    ///     let on = client.nodelay()?;
    ///     client.set_nodelay(false)?;
    ///     Ok((on, client.nodelay()?))
    /// }
    ///
    /// assert_eq!(ttk_core::run(1, toggled)[0].as_ref().unwrap(), &(true, false));
    /// ```
    pub fn nodelay(&self) -> io::Result<bool> {
        self.io.get_ref().nodelay()
    }

    /// Sets `SO_LINGER` (see [`TcpSocket::set_linger`](crate::TcpSocket::set_linger)).
    ///
    /// # Errors
    /// The OS's.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use std::time::Duration;
    /// use ttk_net::{TcpListener, TcpStream};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn reset_on_close(_cx: Cx, _id: usize) -> std::io::Result<std::io::ErrorKind> {
    ///     let listener = TcpListener::bind("127.0.0.1:0")?;
    ///     let client = ttk_core::yield_!(TcpStream::connect(listener.local_addr()?))?;
    ///     let (server, _) = ttk_core::yield_!(listener.accept())?;
    ///     client.set_linger(Some(Duration::ZERO))?;
    ///     drop(client);
    ///     // Closed with a reset, not a FIN.
    ///     let mut buf = [0; 1];
    ///     Ok(ttk_core::yield_!(server.read(&mut buf)).unwrap_err().kind())
    /// }
    ///
    /// let seen = ttk_core::run(1, reset_on_close).pop().unwrap().unwrap();
    /// assert_eq!(seen, std::io::ErrorKind::ConnectionReset);
    /// ```
    pub fn set_linger(&self, linger: Option<std::time::Duration>) -> io::Result<()> {
        socket2::SockRef::from(self.io.get_ref()).set_linger(linger)
    }

    /// Bytes written to this stream that the peer's TCP has not acknowledged: sent and not yet
    /// acknowledged, or still queued on this side (in the kernel, or held by the stream's
    /// network conditions). 0 once the peer's kernel has all of them, read by its program or
    /// not. A client that meets the server's close after a request tells by it whether the
    /// server got the request (0: a server whose program closes with bytes unread resets the
    /// connection instead) or had closed before it came (more: it never will be).
    ///
    /// # Errors
    /// The OS's; `Unsupported` where it cannot tell (off Linux, from `SIOCOUTQ`).
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use ttk_net::{TcpListener, TcpStream};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn delivered(_cx: Cx, _id: usize) -> std::io::Result<usize> {
    ///     let listener = TcpListener::bind("127.0.0.1:0")?;
    ///     let client = ttk_core::yield_!(TcpStream::connect(listener.local_addr()?))?;
    ///     let (server, _) = ttk_core::yield_!(listener.accept())?;
    ///     ttk_core::yield_!(client.write_all(b"GET / HTTP/1.1\r\n\r\n"))?;
    ///     // Once the server's kernel has the bytes (read or not), none is unacknowledged.
    ///     let mut buf = [0; 64];
    ///     ttk_core::yield_!(server.read(&mut buf))?;
    ///     ttk_core::yield_!(ttk_core::sleep(std::time::Duration::from_millis(10)));
    ///     client.unacknowledged()
    /// }
    ///
    /// assert_eq!(ttk_core::run(1, delivered).pop().unwrap().unwrap(), 0);
    /// ```
    pub fn unacknowledged(&self) -> io::Result<usize> {
        let held = self.conditions.as_ref().map_or(0, |c| c.held_out());
        Ok(held + kernel_unacknowledged(self.io.get_ref())?)
    }

    /// The kernel's smoothed estimate of the round trip to the peer, from the connection's
    /// own acknowledgements (`TCP_INFO`'s `tcpi_rtt`; under network conditions, the real link's
    /// alone: the emulated delay is added above the kernel). A client uses it as a yardstick
    /// for "soon": a server's close that crossed a request on the wire comes within about a
    /// round trip of the request.
    ///
    /// # Errors
    /// The OS's; `Unsupported` where it cannot tell (off Linux).
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use std::time::Duration;
    /// use ttk_net::{TcpListener, TcpStream};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn measured(_cx: Cx, _id: usize) -> std::io::Result<Duration> {
    ///     let listener = TcpListener::bind("127.0.0.1:0")?;
    ///     let client = ttk_core::yield_!(TcpStream::connect(listener.local_addr()?))?;
    ///     let _server = ttk_core::yield_!(listener.accept())?;
    ///     client.round_trip_estimate()
    /// }
    ///
    /// let rtt = ttk_core::run(1, measured).pop().unwrap().unwrap();
    /// assert!(rtt < Duration::from_secs(1), "loopback: {rtt:?}");
    /// ```
    pub fn round_trip_estimate(&self) -> io::Result<Duration> {
        kernel_round_trip(self.io.get_ref())
    }
}

/// The kernel's smoothed round-trip time of `socket` (`TCP_INFO`'s `tcpi_rtt`).
#[cfg(target_os = "linux")]
fn kernel_round_trip(socket: &mio::net::TcpStream) -> io::Result<Duration> {
    Ok(Duration::from_micros(u64::from(
        crate::tcp_info::tcp_info(socket)?.tcpi_rtt,
    )))
}

/// Off Linux there is no `TCP_INFO` to ask.
#[cfg(not(target_os = "linux"))]
fn kernel_round_trip(_socket: &mio::net::TcpStream) -> io::Result<Duration> {
    Err(io::ErrorKind::Unsupported.into())
}

/// What `SIOCOUTQ` says of `socket`: for TCP, the bytes written that the peer has not
/// acknowledged (sent or not).
#[cfg(target_os = "linux")]
fn kernel_unacknowledged(socket: &mio::net::TcpStream) -> io::Result<usize> {
    use std::os::fd::AsRawFd;
    let mut queued: libc::c_int = 0;
    // SAFETY: `SIOCOUTQ` (`TIOCOUTQ`) writes one `c_int` through the pointer, which points at
    // `queued`, alive and writable for the call; the descriptor is the socket's own, open for
    // as long as `socket` is borrowed.
    let done = unsafe { libc::ioctl(socket.as_raw_fd(), libc::TIOCOUTQ, &mut queued) };
    if done < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(usize::try_from(queued).unwrap_or(0))
}

/// Off Linux there is no `SIOCOUTQ` to ask.
#[cfg(not(target_os = "linux"))]
fn kernel_unacknowledged(_socket: &mio::net::TcpStream) -> io::Result<usize> {
    Err(io::ErrorKind::Unsupported.into())
}
