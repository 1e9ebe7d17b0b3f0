//! [`QuicConnection`]: a client's QUIC connection — its streams, its datagrams, its end.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::rc::Rc;
use std::time::Duration;

use bytes::Bytes;
use quinn_proto::{Dir, SendDatagramError, VarInt};
use ttk_net::UdpSocket;

use crate::connector::QuicConnector;
use crate::driver::{Shared, State};
use crate::errors;
use crate::streams::{QuicRecvStream, QuicSendStream, QuicStream};

/// A QUIC connection from a bot to a server: bidirectional and unidirectional streams, and
/// datagrams (RFC 9221), over TLS 1.3, on a ttk UDP socket of its own — so a run's `--net`
/// conditions, `--local-ips` and `--seed` apply to it.
///
/// The protocol is quinn-proto's state machine, driven by the bots that wait on the
/// connection (a read, an accept, a datagram, [`QuicConnection::sleep`]): one drives at a time
/// and hands the driving on, so there is no task and no thread behind a connection. A bot that
/// thinks between moves should sleep with [`QuicConnection::sleep`], which keeps
/// acknowledging and resending meanwhile. Clones share the connection (bots of one loop may
/// share it); it is not `Send`. The last handle dropped closes the connection (code 0).
///
/// # Examples
/// ```
/// # use ttk_macros::bot;
/// # use ttk_core::Cx;
/// use ttk_quic::{QuicConnection, QuicConnector};
///
/// #[bot(crate = ttk_core)]
/// fn echo(_cx: Cx, _id: usize) -> std::io::Result<Vec<u8>> {
///     let (server, ca) = ttk_quic::echo_quic_server()?; // a QUIC server in this process, for the example
///     let tls = ttk_tls::TlsConnector::builder().ca_pem(ca)?.build()?;
///     let connector = QuicConnector::new(&tls, &["echo"])?;
///     let connection = ttk_core::yield_!(QuicConnection::connect(server, "localhost", &connector))?;
///     let mut stream = ttk_core::yield_!(connection.open_bi())?;
///     ttk_core::yield_!(stream.write_all(b"ping"))?;
///     stream.finish()?;
///     let answer = ttk_core::yield_!(stream.read_to_end(1024))?;
///     ttk_core::yield_!(connection.close(0, b"done"));
///     Ok(answer)
/// }
///
/// assert_eq!(ttk_core::run(1, echo)[0].as_ref().unwrap(), b"ping");
/// ```
#[derive(Clone)]
pub struct QuicConnection {
    pub(crate) shared: Rc<Shared>,
}

impl QuicConnection {
    /// Connects to the QUIC server at `addr` as `server_name` (sent as SNI and checked against
    /// its certificate), from a UDP socket of its own (bound as the run's source pool says):
    /// the connection, once its handshake is done.
    ///
    /// # Errors
    /// `QuicHandshakeTimedOut` (`TimedOut`) past the connector's handshake limit;
    /// `QuicRefused` (`ConnectionRefused`) if ICMP says nothing listens there; TLS failures
    /// under TLS's kinds (`TlsUnknownIssuer`, `TlsWrongHost`, `TlsExpired`, `TlsAlert` — a
    /// server that speaks none of the protocols offered —, `TlsHandshake`); `QuicVersion`;
    /// `InvalidInput` for a server name that is neither a DNS name nor an IP address.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use std::time::Duration;
    /// use ttk_quic::{QuicConnection, QuicConnector};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn silent(_cx: Cx, _id: usize) -> String {
    ///     // A UDP socket that never answers: no QUIC server behind it.
    ///     let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    ///     let tls = ttk_tls::TlsConnector::new().unwrap();
    ///     let connector = QuicConnector::new(&tls, &["h3"]).unwrap()
    ///         .with_handshake_timeout(Duration::from_millis(300));
    ///     let addr = silent.local_addr().unwrap();
    ///     let error = ttk_core::yield_!(QuicConnection::connect(addr, "localhost", &connector)).unwrap_err();
    ///     ttk_core::metrics::Failure::of(&error).kind().to_owned()
    /// }
    ///
    /// assert_eq!(ttk_core::run(1, silent)[0], "QuicHandshakeTimedOut");
    /// ```
    pub async fn connect(
        addr: SocketAddr,
        server_name: &str,
        connector: &QuicConnector,
    ) -> io::Result<QuicConnection> {
        let any: SocketAddr = match addr {
            SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
            SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
        };
        let socket = UdpSocket::bind(any)?;
        // Connected: the kernel then reports an ICMP "port unreachable" to it.
        socket.connect(addr)?;
        QuicConnection::connect_on(socket, addr, server_name, connector).await
    }

    /// [`QuicConnection::connect`] from `socket` (bound, with its conditions, if any): for a
    /// socket set up by hand.
    ///
    /// # Errors
    /// See [`QuicConnection::connect`].
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use std::time::Duration;
    /// use ttk_net::UdpSocket;
    /// use ttk_quic::{QuicConnection, QuicConnector};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn refused(_cx: Cx, _id: usize) -> std::io::ErrorKind {
    ///     // A port nothing listens on: ICMP says so at once, on a connected socket.
    ///     let addr = std::net::UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    ///     let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    ///     socket.connect(addr).unwrap();
    ///     let tls = ttk_tls::TlsConnector::new().unwrap();
    ///     let connector = QuicConnector::new(&tls, &["h3"]).unwrap();
    ///     let started = ttk_core::now();
    ///     let error = ttk_core::yield_!(QuicConnection::connect_on(socket, addr, "localhost", &connector)).unwrap_err();
    ///     assert!(ttk_core::now() - started < Duration::from_secs(5), "not the handshake limit");
    ///     error.kind()
    /// }
    ///
    /// assert_eq!(ttk_core::run(1, refused)[0], std::io::ErrorKind::ConnectionRefused);
    /// ```
    pub async fn connect_on(
        socket: UdpSocket,
        addr: SocketAddr,
        server_name: &str,
        connector: &QuicConnector,
    ) -> io::Result<QuicConnection> {
        let shared = Shared::connect(socket, addr, server_name, connector.client.clone())?;
        Shared::flush_soon(&shared);
        let deadline = ttk_core::now() + connector.handshake_timeout();
        let made = shared
            .wait_until(Some(deadline), |shared| match &*shared.state.borrow() {
                State::Connected => Some(Ok(())),
                State::Connecting => None,
                State::Lost(_) | State::Refused => shared.failure().map(Err),
            })
            .await;
        match made {
            Some(Ok(())) => Ok(QuicConnection { shared }),
            Some(Err(error)) => Err(error),
            None => {
                shared.close_now(0, b"");
                Err(errors::handshake_timed_out(
                    addr,
                    connector.handshake_timeout(),
                ))
            }
        }
    }

    /// The server's address.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// # use ttk_quic::{QuicConnection, QuicConnector};
    /// #[bot(crate = ttk_core)]
    /// fn to(_cx: Cx, _id: usize) -> std::io::Result<bool> {
    ///     let (server, ca) = ttk_quic::echo_quic_server()?; // a QUIC server in this process, for the example
    ///     let tls = ttk_tls::TlsConnector::builder().ca_pem(ca)?.build()?;
    ///     let connector = QuicConnector::new(&tls, &["echo"])?;
    ///     let connection = ttk_core::yield_!(QuicConnection::connect(server, "localhost", &connector))?;
    ///     Ok(connection.remote_addr() == server)
    /// }
    ///
    /// assert!(ttk_core::run(1, to)[0].as_ref().unwrap());
    /// ```
    pub fn remote_addr(&self) -> SocketAddr {
        self.shared.peer
    }

    /// The local address of the connection's socket.
    ///
    /// # Errors
    /// The OS's.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// # use ttk_quic::{QuicConnection, QuicConnector};
    /// #[bot(crate = ttk_core)]
    /// fn from(_cx: Cx, _id: usize) -> std::io::Result<std::net::SocketAddr> {
    ///     let (server, ca) = ttk_quic::echo_quic_server()?; // a QUIC server in this process, for the example
    ///     let tls = ttk_tls::TlsConnector::builder().ca_pem(ca)?.build()?;
    ///     let connector = QuicConnector::new(&tls, &["echo"])?;
    ///     let connection = ttk_core::yield_!(QuicConnection::connect(server, "localhost", &connector))?;
    ///     connection.local_addr()
    /// }
    ///
    /// assert_ne!(ttk_core::run(1, from)[0].as_ref().unwrap().port(), 0);
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.shared.socket.local_addr()
    }

    /// The application protocol the server chose (ALPN).
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// # use ttk_quic::{QuicConnection, QuicConnector};
    /// #[bot(crate = ttk_core)]
    /// fn agreed(_cx: Cx, _id: usize) -> std::io::Result<Option<Vec<u8>>> {
    ///     let (server, ca) = ttk_quic::echo_quic_server()?; // a QUIC server in this process, for the example
    ///     let tls = ttk_tls::TlsConnector::builder().ca_pem(ca)?.build()?;
    ///     // This server speaks `echo`, `h3` and `game`: of the two offered, `game`.
    ///     let offering = QuicConnector::new(&tls, &["chess", "game"])?;
    ///     let connection = ttk_core::yield_!(QuicConnection::connect(server, "localhost", &offering))?;
    ///     Ok(connection.alpn_protocol())
    /// }
    ///
    /// assert_eq!(ttk_core::run(1, agreed)[0].as_ref().unwrap().as_deref(), Some(&b"game"[..]));
    /// ```
    pub fn alpn_protocol(&self) -> Option<Vec<u8>> {
        self.shared.alpn.borrow().clone()
    }

    /// The connection's smoothed round-trip time, as QUIC estimates it.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// # use ttk_quic::{QuicConnection, QuicConnector};
    /// #[bot(crate = ttk_core)]
    /// fn figures(_cx: Cx, _id: usize) -> std::io::Result<()> {
    ///     let (server, ca) = ttk_quic::echo_quic_server()?; // a QUIC server in this process, for the example
    ///     let tls = ttk_tls::TlsConnector::builder().ca_pem(ca)?.build()?;
    ///     let connector = QuicConnector::new(&tls, &["h3"])?;
    ///     let connection = ttk_core::yield_!(QuicConnection::connect(server, "localhost", &connector))?;
    ///     assert_eq!(connection.remote_addr(), server);
    ///     assert!(connection.local_addr()?.port() != 0);
    ///     assert_eq!(connection.alpn_protocol().as_deref(), Some(&b"h3"[..]));
    ///     let stats = connection.stats();
    ///     println!("rtt {:?}, {} packets sent, {} lost", connection.rtt(), stats.sent_packets, stats.lost_packets);
    ///     Ok(())
    /// }
    ///
    /// ttk_core::run(1, figures)[0].as_ref().unwrap();
    /// ```
    pub fn rtt(&self) -> Duration {
        self.shared.conn.borrow().rtt()
    }

    /// The connection's counts so far.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// # use ttk_quic::{QuicConnection, QuicConnector};
    /// #[bot(crate = ttk_core)]
    /// fn counted(_cx: Cx, _id: usize) -> std::io::Result<(u64, u64)> {
    ///     let (server, ca) = ttk_quic::echo_quic_server()?; // a QUIC server in this process, for the example
    ///     let tls = ttk_tls::TlsConnector::builder().ca_pem(ca)?.build()?;
    ///     let connector = QuicConnector::new(&tls, &["echo"])?;
    ///     let connection = ttk_core::yield_!(QuicConnection::connect(server, "localhost", &connector))?;
    ///     let mut stream = ttk_core::yield_!(connection.open_bi())?;
    ///     ttk_core::yield_!(stream.write_all(b"ping"))?;
    ///     stream.finish()?;
    ///     ttk_core::yield_!(stream.read_to_end(1024))?;
    ///     let stats = connection.stats();
    ///     Ok((stats.sent_packets, stats.lost_packets))
    /// }
    ///
    /// let (sent, lost) = *ttk_core::run(1, counted)[0].as_ref().unwrap();
    /// assert!(sent >= 2 && lost <= sent);
    /// ```
    pub fn stats(&self) -> QuicStats {
        let stats = self.shared.conn.borrow().stats();
        QuicStats {
            sent_packets: stats.path.sent_packets,
            lost_packets: stats.path.lost_packets,
            sent_datagrams: stats.udp_tx.datagrams,
            received_datagrams: stats.udp_rx.datagrams,
            sent_bytes: stats.udp_tx.bytes,
            received_bytes: stats.udp_rx.bytes,
        }
    }

    /// Opens a bidirectional stream, once the server's stream limit allows one more.
    ///
    /// # Errors
    /// The connection's end, if it ended.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// # use ttk_quic::{QuicConnection, QuicConnector};
    /// #[bot(crate = ttk_core)]
    /// fn asked(_cx: Cx, _id: usize) -> std::io::Result<Vec<u8>> {
    ///     let (server, ca) = ttk_quic::echo_quic_server()?; // a QUIC server in this process, for the example
    ///     let tls = ttk_tls::TlsConnector::builder().ca_pem(ca)?.build()?;
    ///     let connector = QuicConnector::new(&tls, &["echo"])?;
    ///     let connection = ttk_core::yield_!(QuicConnection::connect(server, "localhost", &connector))?;
    ///     let mut stream = ttk_core::yield_!(connection.open_bi())?;
    ///     ttk_core::yield_!(stream.write_all(b"who is there?"))?;
    ///     stream.finish()?;
    ///     ttk_core::yield_!(stream.read_to_end(1024))
    /// }
    ///
    /// assert_eq!(ttk_core::run(1, asked)[0].as_ref().unwrap(), b"who is there?"); // echoed
    /// ```
    pub async fn open_bi(&self) -> io::Result<QuicStream> {
        let id = self.open(Dir::Bi).await?;
        Ok(QuicStream::new(self.clone(), id))
    }

    /// Opens a unidirectional stream (this side sends), once the server's stream limit allows.
    ///
    /// # Errors
    /// The connection's end, if it ended.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// # use ttk_quic::{QuicConnection, QuicConnector};
    /// #[bot(crate = ttk_core)]
    /// fn report(_cx: Cx, _id: usize) -> std::io::Result<()> {
    ///     let (server, ca) = ttk_quic::echo_quic_server()?; // a QUIC server in this process, for the example
    ///     let tls = ttk_tls::TlsConnector::builder().ca_pem(ca)?.build()?;
    ///     let connector = QuicConnector::new(&tls, &["h3"])?;
    ///     let connection = ttk_core::yield_!(QuicConnection::connect(server, "localhost", &connector))?;
    ///     let mut stream = ttk_core::yield_!(connection.open_uni())?;
    ///     ttk_core::yield_!(stream.write_all(b"score 42"))?;
    ///     stream.finish()
    /// }
    ///
    /// ttk_core::run(1, report)[0].as_ref().unwrap();
    /// ```
    pub async fn open_uni(&self) -> io::Result<QuicSendStream> {
        let id = self.open(Dir::Uni).await?;
        Ok(QuicSendStream::new(self.clone(), id))
    }

    async fn open(&self, dir: Dir) -> io::Result<quinn_proto::StreamId> {
        let shared = &self.shared;
        let opened = shared
            .wait_until(None, |shared| {
                if let Some(error) = shared.failure() {
                    return Some(Err(error));
                }
                shared.conn.borrow_mut().streams().open(dir).map(Ok)
            })
            .await;
        opened.unwrap_or_else(|| Err(io::ErrorKind::TimedOut.into()))
    }

    /// Waits for a bidirectional stream the server opens.
    ///
    /// # Errors
    /// The connection's end, if it ended.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// # use ttk_quic::{QuicConnection, QuicConnector};
    /// #[bot(crate = ttk_core)]
    /// fn pushed(_cx: Cx, _id: usize) -> std::io::Result<Vec<u8>> {
    ///     let (server, ca) = ttk_quic::echo_quic_server()?; // a QUIC server in this process, for the example
    ///     let tls = ttk_tls::TlsConnector::builder().ca_pem(ca)?.build()?;
    ///     let connector = QuicConnector::new(&tls, &["h3"])?;
    ///     let connection = ttk_core::yield_!(QuicConnection::connect(server, "localhost", &connector))?;
    ///     let mut from_server = ttk_core::yield_!(connection.accept_uni())?;
    ///     let mut both_ways = ttk_core::yield_!(connection.accept_bi())?;
    ///     ttk_core::yield_!(both_ways.write_all(b"hello"))?;
    ///     both_ways.finish()?;
    ///     assert_eq!(ttk_core::yield_!(from_server.read_to_end(64 * 1024))?.len(), 4096);
    ///     // This server's stream begins `welcome`, then echoes what it is sent, to its end.
    ///     ttk_core::yield_!(both_ways.read_to_end(1024))
    /// }
    ///
    /// assert_eq!(ttk_core::run(1, pushed)[0].as_ref().unwrap(), b"welcomehello");
    /// ```
    pub async fn accept_bi(&self) -> io::Result<QuicStream> {
        let id = self.accept(Dir::Bi).await?;
        Ok(QuicStream::new(self.clone(), id))
    }

    /// Waits for a unidirectional stream the server opens (and sends on).
    ///
    /// # Errors
    /// The connection's end, if it ended.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// # use ttk_quic::{QuicConnection, QuicConnector};
    /// #[bot(crate = ttk_core)]
    /// fn fed(_cx: Cx, _id: usize) -> std::io::Result<usize> {
    ///     let (server, ca) = ttk_quic::echo_quic_server()?; // a QUIC server in this process, for the example
    ///     let tls = ttk_tls::TlsConnector::builder().ca_pem(ca)?.build()?;
    ///     let connector = QuicConnector::new(&tls, &["echo"])?;
    ///     let connection = ttk_core::yield_!(QuicConnection::connect(server, "localhost", &connector))?;
    ///     // This server opens a unidirectional stream to each client, with 4 KiB.
    ///     let mut feed = ttk_core::yield_!(connection.accept_uni())?;
    ///     Ok(ttk_core::yield_!(feed.read_to_end(64 * 1024))?.len())
    /// }
    ///
    /// assert_eq!(*ttk_core::run(1, fed)[0].as_ref().unwrap(), 4096);
    /// ```
    pub async fn accept_uni(&self) -> io::Result<QuicRecvStream> {
        let id = self.accept(Dir::Uni).await?;
        Ok(QuicRecvStream::new(self.clone(), id))
    }

    async fn accept(&self, dir: Dir) -> io::Result<quinn_proto::StreamId> {
        let accepted = self
            .shared
            .wait_until(None, |shared| {
                if let Some(id) = shared.conn.borrow_mut().streams().accept(dir) {
                    return Some(Ok(id));
                }
                shared.failure().map(Err)
            })
            .await;
        accepted.unwrap_or_else(|| Err(io::ErrorKind::TimedOut.into()))
    }

    /// The largest datagram the server takes now (`None`: it takes none).
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// # use ttk_quic::{QuicConnection, QuicConnector};
    /// #[bot(crate = ttk_core)]
    /// fn room(_cx: Cx, _id: usize) -> std::io::Result<Option<usize>> {
    ///     let (server, ca) = ttk_quic::echo_quic_server()?; // a QUIC server in this process, for the example
    ///     let tls = ttk_tls::TlsConnector::builder().ca_pem(ca)?.build()?;
    ///     let connector = QuicConnector::new(&tls, &["echo"])?;
    ///     let connection = ttk_core::yield_!(QuicConnection::connect(server, "localhost", &connector))?;
    ///     Ok(connection.max_datagram_size())
    /// }
    ///
    /// assert!(ttk_core::run(1, room)[0].as_ref().unwrap().is_some_and(|size| size > 1_000));
    /// ```
    pub fn max_datagram_size(&self) -> Option<usize> {
        self.shared.conn.borrow_mut().datagrams().max_size()
    }

    /// Sends `data` as an unreliable datagram (RFC 9221): it may be lost, and is not resent.
    /// If datagrams queue faster than the connection sends them, the oldest are dropped.
    ///
    /// # Errors
    /// `QuicNoDatagrams` (`Unsupported`) if the server takes none; `InvalidInput` for one
    /// larger than [`QuicConnection::max_datagram_size`]; the connection's end, if it ended.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// # use ttk_quic::{QuicConnection, QuicConnector};
    /// #[bot(crate = ttk_core)]
    /// fn positions(_cx: Cx, _id: usize) -> std::io::Result<Vec<u8>> {
    ///     let (server, ca) = ttk_quic::echo_quic_server()?; // a QUIC server in this process, for the example
    ///     let tls = ttk_tls::TlsConnector::builder().ca_pem(ca)?.build()?;
    ///     let connector = QuicConnector::new(&tls, &["game"])?;
    ///     let connection = ttk_core::yield_!(QuicConnection::connect(server, "localhost", &connector))?;
    ///     assert!(connection.max_datagram_size().is_some_and(|size| size >= 8));
    ///     connection.send_datagram(b"x=3 y=4")?;
    ///     ttk_core::yield_!(connection.recv_datagram())
    /// }
    ///
    /// assert_eq!(ttk_core::run(1, positions)[0].as_ref().unwrap(), b"x=3 y=4");
    /// ```
    pub fn send_datagram(&self, data: &[u8]) -> io::Result<()> {
        if let Some(error) = self.shared.failure() {
            return Err(error);
        }
        let sent = self
            .shared
            .conn
            .borrow_mut()
            .datagrams()
            .send(Bytes::copy_from_slice(data), true);
        match sent {
            Ok(()) => {
                Shared::flush_soon(&self.shared);
                Ok(())
            }
            Err(SendDatagramError::UnsupportedByPeer | SendDatagramError::Disabled) => {
                Err(ttk_core::metrics::KindedError::new(
                    errors::kinds::NO_DATAGRAMS,
                    format!("{} takes no QUIC datagrams", self.shared.peer),
                )
                .into_io(io::ErrorKind::Unsupported))
            }
            Err(SendDatagramError::TooLarge) => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "a QUIC datagram of {} bytes is larger than the {} the connection takes",
                    data.len(),
                    self.max_datagram_size().unwrap_or(0)
                ),
            )),
            // Only when the oldest may not be dropped, which ttk always allows.
            Err(SendDatagramError::Blocked(_)) => Err(io::ErrorKind::WouldBlock.into()),
        }
    }

    /// Waits for a datagram from the server.
    ///
    /// # Errors
    /// The connection's end, if it ended.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// # use ttk_quic::{QuicConnection, QuicConnector};
    /// #[bot(crate = ttk_core)]
    /// fn answered(_cx: Cx, _id: usize) -> std::io::Result<Vec<u8>> {
    ///     let (server, ca) = ttk_quic::echo_quic_server()?; // a QUIC server in this process, for the example
    ///     let tls = ttk_tls::TlsConnector::builder().ca_pem(ca)?.build()?;
    ///     let connector = QuicConnector::new(&tls, &["echo"])?;
    ///     let connection = ttk_core::yield_!(QuicConnection::connect(server, "localhost", &connector))?;
    ///     connection.send_datagram(b"where are you?")?;
    ///     ttk_core::yield_!(connection.recv_datagram())
    /// }
    ///
    /// assert_eq!(ttk_core::run(1, answered)[0].as_ref().unwrap(), b"where are you?"); // echoed
    /// ```
    pub async fn recv_datagram(&self) -> io::Result<Vec<u8>> {
        let received = self
            .shared
            .wait_until(None, |shared| {
                if let Some(datagram) = shared.conn.borrow_mut().datagrams().recv() {
                    return Some(Ok(datagram.to_vec()));
                }
                shared.failure().map(Err)
            })
            .await;
        received.unwrap_or_else(|| Err(io::ErrorKind::TimedOut.into()))
    }

    /// Waits `duration` while driving the connection (acknowledging, resending, answering
    /// the server's pings): how a bot thinks between moves without its connection going quiet.
    ///
    /// # Errors
    /// The connection's end, if it ends meanwhile.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// # use ttk_quic::{QuicConnection, QuicConnector};
    /// #[bot(crate = ttk_core)]
    /// fn player(_cx: Cx, _id: usize) -> std::io::Result<()> {
    ///     let (server, ca) = ttk_quic::echo_quic_server()?; // a QUIC server in this process, for the example
    ///     let tls = ttk_tls::TlsConnector::builder().ca_pem(ca)?.build()?;
    ///     let connector = QuicConnector::new(&tls, &["game"])?;
    ///     let connection = ttk_core::yield_!(QuicConnection::connect(server, "localhost", &connector))?;
    ///     for turn in 0..10u8 {
    ///         connection.send_datagram(&[turn])?;
    ///         ttk_core::yield_!(connection.sleep(std::time::Duration::from_millis(50)))?;
    ///     }
    ///     Ok(())
    /// }
    ///
    /// ttk_core::run(1, player)[0].as_ref().unwrap();
    /// ```
    pub async fn sleep(&self, duration: Duration) -> io::Result<()> {
        let until = ttk_core::now() + duration;
        let ended = self
            .shared
            .wait_until(Some(until), |shared| shared.failure().map(Err::<(), _>))
            .await;
        ended.unwrap_or(Ok(()))
    }

    /// Closes the connection with the application's `code` and `reason`, sending the close
    /// at once. Streams and datagrams in flight are dropped; what the server should have in
    /// full, wait for first (a stream's answer, say).
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// # use ttk_quic::{QuicConnection, QuicConnector};
    /// #[bot(crate = ttk_core)]
    /// fn done(_cx: Cx, _id: usize) -> std::io::Result<bool> {
    ///     let (server, ca) = ttk_quic::echo_quic_server()?; // a QUIC server in this process, for the example
    ///     let tls = ttk_tls::TlsConnector::builder().ca_pem(ca)?.build()?;
    ///     let connector = QuicConnector::new(&tls, &["echo"])?;
    ///     let connection = ttk_core::yield_!(QuicConnection::connect(server, "localhost", &connector))?;
    ///     let mut stream = ttk_core::yield_!(connection.open_bi())?;
    ///     ttk_core::yield_!(stream.write_all(b"last words"))?;
    ///     stream.finish()?;
    ///     // The answer is in: nothing the server should have is in flight.
    ///     ttk_core::yield_!(stream.read_to_end(1024))?;
    ///     ttk_core::yield_!(connection.close(0, b"bye"));
    ///     Ok(connection.is_closed())
    /// }
    ///
    /// assert!(*ttk_core::run(1, done)[0].as_ref().unwrap());
    /// ```
    pub async fn close(&self, code: u32, reason: &[u8]) {
        self.shared.close_now(code, reason);
    }

    /// Whether the connection ended (closed by either side, lost, or refused: ICMP said
    /// nothing listens where the server was).
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// # use ttk_quic::{QuicConnection, QuicConnector};
    /// #[bot(crate = ttk_core)]
    /// fn ends(_cx: Cx, _id: usize) -> std::io::Result<bool> {
    ///     let (server, ca) = ttk_quic::echo_quic_server()?; // a QUIC server in this process, for the example
    ///     let tls = ttk_tls::TlsConnector::builder().ca_pem(ca)?.build()?;
    ///     let connector = QuicConnector::new(&tls, &["h3"])?;
    ///     let connection = ttk_core::yield_!(QuicConnection::connect(server, "localhost", &connector))?;
    ///     ttk_core::yield_!(connection.close(0, b"bye"));
    ///     Ok(connection.is_closed())
    /// }
    ///
    /// assert!(*ttk_core::run(1, ends)[0].as_ref().unwrap());
    /// ```
    pub fn is_closed(&self) -> bool {
        // Refused is the driver's own end (a server gone): quinn-proto still waits for it.
        matches!(*self.shared.state.borrow(), State::Lost(_) | State::Refused)
            || self.shared.conn.borrow().is_closed()
    }
}

impl std::fmt::Debug for QuicConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QuicConnection")
            .field("remote_addr", &self.shared.peer)
            .field("state", &*self.shared.state.borrow())
            .finish()
    }
}

/// A QUIC connection's counts so far ([`QuicConnection::stats`]).
///
/// # Examples
/// ```
/// # use ttk_macros::bot;
/// # use ttk_core::Cx;
/// # use ttk_quic::{QuicConnection, QuicConnector};
/// #[bot(crate = ttk_core)]
/// fn counted(_cx: Cx, _id: usize) -> std::io::Result<ttk_quic::QuicStats> {
///     let (server, ca) = ttk_quic::echo_quic_server()?; // a QUIC server in this process, for the example
///     let tls = ttk_tls::TlsConnector::builder().ca_pem(ca)?.build()?;
///     let connector = QuicConnector::new(&tls, &["echo"])?;
///     let connection = ttk_core::yield_!(QuicConnection::connect(server, "localhost", &connector))?;
///     let mut stream = ttk_core::yield_!(connection.open_bi())?;
///     ttk_core::yield_!(stream.write_all(b"count me"))?;
///     stream.finish()?;
///     ttk_core::yield_!(stream.read_to_end(1024))?;
///     Ok(connection.stats())
/// }
///
/// let stats = *ttk_core::run(1, counted)[0].as_ref().unwrap();
/// // UDP datagrams, the handshake's included; bytes on the wire, not the streams' alone.
/// assert!(stats.sent_datagrams >= 2 && stats.received_bytes > 8);
/// assert!(stats.lost_packets <= stats.sent_packets);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct QuicStats {
    /// QUIC packets sent.
    pub sent_packets: u64,
    /// QUIC packets declared lost (and their frames sent again if they must be).
    pub lost_packets: u64,
    /// UDP datagrams sent.
    pub sent_datagrams: u64,
    /// UDP datagrams received.
    pub received_datagrams: u64,
    /// UDP payload bytes sent.
    pub sent_bytes: u64,
    /// UDP payload bytes received.
    pub received_bytes: u64,
}

impl Shared {
    /// Closes the connection with `code` and `reason` and sends the close at once.
    pub(crate) fn close_now(&self, code: u32, reason: &[u8]) {
        self.closed_here.set(true);
        let now = ttk_core::now();
        self.conn
            .borrow_mut()
            .close(now, VarInt::from_u32(code), Bytes::copy_from_slice(reason));
        self.settle_now(now);
    }
}
