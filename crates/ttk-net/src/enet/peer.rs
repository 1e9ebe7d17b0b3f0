//! One ENet connection: [`EnetPeer`].

use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use rusty_enet::error::PeerSendError;
use rusty_enet::{Packet, PeerID};

use super::config::EnetConfig;
use super::host::{Ending, EnetHost, Figures, Shared, SlotState};
use super::packet::{Delivery, EnetPacket};
use super::socket::EnetSocket;
use super::waiters::Interest;

/// The data a peer disconnects with by default.
const DEFAULT_DISCONNECT_DATA: u32 = 0;

/// One ENet connection, to a server ([`EnetPeer::connect`], [`EnetHost::connect`]) or from a
/// client ([`EnetHost::accept`]).
///
/// Packets go on a channel, with a [`Delivery`]: [`send`](Self::send) queues one and sends it
/// at once; [`recv`](Self::recv) waits for the next, servicing the connection meanwhile;
/// [`sleep`](Self::sleep) keeps it serviced while the bot thinks.
/// [`disconnect`](Self::disconnect) ends it gracefully and waits for the peer to acknowledge.
/// Dropping it ends it too: after what was sent arrives if its host lives on (serviced by the
/// bots of its other connections, as a server's is), at once otherwise (ENet's
/// `enet_peer_disconnect_now`: what the peer has not acknowledged is lost — ENet drops the
/// packets a peer has received but not yet handed over when the disconnect comes).
///
/// # Examples
/// ```
/// # use ttk_macros::bot;
/// # use ttk_core::Cx;
/// use ttk_net::enet::{Delivery, EnetConfig, EnetHost, EnetPeer};
///
/// #[bot(crate = ttk_core)]
/// fn game(_cx: Cx, id: usize, server: std::net::SocketAddr) -> std::io::Result<usize> {
///     if id == 0 {
///         // The server: echoes one packet from each player, then waits for it to leave.
///         let config = EnetConfig { channels: 2, peers: 4, ..EnetConfig::default() };
///         let host = EnetHost::bind(server, &config)?;
///         let player = ttk_core::yield_!(host.accept())?;
///         let packet = ttk_core::yield_!(player.recv())?.expect("connected");
///         player.send(packet.channel(), packet.data(), Delivery::Reliable)?;
///         assert!(ttk_core::yield_!(player.recv())?.is_none());
///         return Ok(0);
///     }
///     let config = EnetConfig { channels: 2, ..EnetConfig::default() };
///     let peer = ttk_core::yield_!(EnetPeer::connect(server, &config))?;
///     peer.send(1, b"move north", Delivery::Reliable)?;
///     let echo = ttk_core::yield_!(peer.recv())?.expect("connected");
///     ttk_core::yield_!(peer.disconnect())?;
///     Ok(echo.data().len())
/// }
///
/// let server = std::net::UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
/// let outcomes = ttk_core::run(2, |cx, id| game(cx, id, server));
/// assert_eq!(outcomes[1].as_ref().unwrap(), &10);
/// ```
pub struct EnetPeer {
    /// Its host.
    host: EnetHost,
    /// The peer's address (its slot's next connection has another).
    addr: Option<SocketAddr>,
    /// ENet's id of its peer slot.
    id: usize,
    /// Which of the slot's connections it is.
    generation: u64,
}

impl EnetPeer {
    /// The connection in `id`'s slot, its `generation`th.
    pub(crate) fn new(host: EnetHost, id: usize, generation: u64) -> EnetPeer {
        host.shared.slots.borrow_mut()[id].held = true;
        let addr = host.shared.host.borrow().peer(PeerID(id)).address();
        EnetPeer {
            host,
            addr,
            id,
            generation,
        }
    }

    /// Connects to the ENet host at `addr` from a host of its own (one connection, on a
    /// socket bound to any local address and port and connected to `addr`: the run's
    /// `--local-ips` pool chooses the address, its `--net` conditions apply, and a server that
    /// is down is known at once — unless `--net` delays what the socket sends: the kernel's
    /// refusal then answers a send of the loop's, and the connection times out): a player's
    /// client.
    ///
    /// # Errors
    /// As [`EnetHost::connect`]'s (`ConnectionRefused` when nothing listens at `addr`);
    /// `InvalidInput` for `config`'s settings out of range.
    ///
    /// # Examples
    /// See [`EnetPeer`].
    ///
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use ttk_net::enet::{EnetConfig, EnetPeer};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn nobody_there(_cx: Cx, _id: usize) -> std::io::ErrorKind {
    ///     // Port 1 on loopback: nothing listens, and the kernel says so.
    ///     let addr = "127.0.0.1:1".parse().unwrap();
    ///     ttk_core::yield_!(EnetPeer::connect(addr, &EnetConfig::default())).unwrap_err().kind()
    /// }
    ///
    /// assert_eq!(ttk_core::run(1, nobody_there)[0], std::io::ErrorKind::ConnectionRefused);
    /// ```
    pub async fn connect(addr: SocketAddr, config: &EnetConfig) -> io::Result<EnetPeer> {
        let any: SocketAddr = match addr {
            SocketAddr::V4(_) => (std::net::Ipv4Addr::UNSPECIFIED, 0).into(),
            SocketAddr::V6(_) => (std::net::Ipv6Addr::UNSPECIFIED, 0).into(),
        };
        let config = EnetConfig {
            peers: 1,
            ..config.clone()
        };
        let socket = crate::UdpSocket::bind(any)?;
        // Connected: the kernel then reports an ICMP "port unreachable" to it.
        socket.connect(addr)?;
        EnetHost::on(socket, &config)?.connect(addr).await
    }

    /// Waits until the connection is made.
    ///
    /// # Errors
    /// `TimedOut` after [`connect_timeout`](EnetConfig::connect_timeout) (counted from
    /// [`EnetHost::start_connect`]); `ConnectionRefused` if nothing listens there (ICMP) or the
    /// host turned it down; `NotConnected` if it ended meanwhile.
    ///
    /// # Examples
    /// See [`EnetHost::start_connect`].
    ///
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// # use std::net::SocketAddr;
    /// # use ttk_net::enet::{Delivery, EnetConfig, EnetHost, EnetPeer};
    /// # /// An ENet server for one player: echoes its packets until it leaves.
    /// # async fn echo(addr: SocketAddr) -> std::io::Result<()> {
    /// #     let host = EnetHost::bind(addr, &EnetConfig { channels: 2, ..EnetConfig::default() })?;
    /// #     let player = host.accept().await?;
    /// #     while let Some(packet) = player.recv().await? {
    /// #         player.send(packet.channel(), packet.data(), Delivery::Reliable)?;
    /// #     }
    /// #     Ok(())
    /// # }
    /// # let server = std::net::UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    /// #[bot(crate = ttk_core)]
    /// fn connects(_cx: Cx, id: usize, server: SocketAddr) -> std::io::Result<bool> {
    /// #   if id == 0 { ttk_core::yield_!(echo(server))?; return Ok(false); }
    ///     let client = EnetHost::bind("127.0.0.1:0", &EnetConfig::default())?;
    ///     let peer = client.start_connect(server)?;
    ///     let before = peer.is_connected();
    ///     ttk_core::yield_!(peer.connected())?;
    ///     Ok(!before && peer.is_connected())
    /// }
    ///
    /// let outcomes = ttk_core::run(2, |cx, id| connects(cx, id, server));
    /// assert!(outcomes[1].as_ref().unwrap());
    /// ```
    pub async fn connected(&self) -> io::Result<()> {
        let shared = &self.host.shared;
        let deadline = match self.state() {
            Some(SlotState::Connecting(started)) => Some(started + shared.config.connect_timeout),
            _ => None,
        };
        let waited = shared
            .wait_until(Interest::Peer(self.id), deadline, |_| {
                match self.state() {
                    Some(SlotState::Connected) => Some(Ok(())),
                    Some(SlotState::Connecting(_)) => None,
                    Some(SlotState::Closed(Ending::Refused)) => Some(Err(self.refused())),
                    Some(SlotState::Closed(Ending::StoppedAnswering)) if deadline.is_some() => {
                        // ENet gave up on the handshake: the host did not answer.
                        Some(Err(self.stopped_answering()))
                    }
                    Some(SlotState::Closed(Ending::Disconnected(_))) if deadline.is_some() => {
                        // ENet gave up on the handshake, or the host turned it down.
                        Some(Err(self.refused()))
                    }
                    _ => Some(Err(self.not_connected())),
                }
            })
            .await;
        match waited {
            Err(error) if error.kind() == io::ErrorKind::TimedOut => {
                self.end(Ending::ConnectTimedOut);
                Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "no ENet connection to {} within {:?}",
                        self.address_text(),
                        shared.config.connect_timeout
                    ),
                ))
            }
            other => other,
        }
    }

    /// Queues `data` on `channel` (0 to the channels the connection has − 1) with `delivery`;
    /// it goes out as soon as the bot yields, with what else the bots queued on the host
    /// meanwhile (ENet packs them into as few datagrams as they fit). A packet larger than the connection's
    /// MTU goes in fragments.
    ///
    /// # Errors
    /// `NotConnected` before the connection is made ([`connected`](Self::connected) waits for
    /// it) and once it ended; `InvalidInput` for a channel it does not
    /// have, or a packet larger than ENet takes (32 MiB).
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// # use std::net::SocketAddr;
    /// # use ttk_net::enet::{Delivery, EnetConfig, EnetHost, EnetPeer};
    /// # /// An ENet server for one player: echoes its packets until it leaves.
    /// # async fn echo(addr: SocketAddr) -> std::io::Result<()> {
    /// #     let host = EnetHost::bind(addr, &EnetConfig { channels: 2, ..EnetConfig::default() })?;
    /// #     let player = host.accept().await?;
    /// #     while let Some(packet) = player.recv().await? {
    /// #         player.send(packet.channel(), packet.data(), Delivery::Reliable)?;
    /// #     }
    /// #     Ok(())
    /// # }
    /// # let server = std::net::UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    /// #[bot(crate = ttk_core)]
    /// fn big(_cx: Cx, id: usize, server: SocketAddr) -> std::io::Result<usize> {
    /// #   if id == 0 { ttk_core::yield_!(echo(server))?; return Ok(0); }
    ///     let config = EnetConfig { channels: 2, ..EnetConfig::default() };
    ///     let peer = ttk_core::yield_!(EnetPeer::connect(server, &config))?;
    ///     // 100 KB: many fragments, put together again.
    ///     peer.send(1, &vec![7; 100_000], Delivery::Reliable)?;
    ///     assert!(peer.send(9, b"no such channel", Delivery::Reliable).is_err());
    ///     Ok(ttk_core::yield_!(peer.recv())?.expect("connected").data().len())
    /// }
    ///
    /// let outcomes = ttk_core::run(2, |cx, id| big(cx, id, server));
    /// assert_eq!(outcomes[1].as_ref().unwrap(), &100_000);
    /// ```
    pub fn send(&self, channel: u8, data: &[u8], delivery: Delivery) -> io::Result<()> {
        let shared = &self.host.shared;
        match self.state() {
            Some(SlotState::Connected) => {}
            Some(SlotState::Connecting(_)) => {
                return Err(io::Error::new(
                    io::ErrorKind::NotConnected,
                    format!(
                        "the ENet connection to {} is not made yet: wait for `connected` first",
                        self.address_text()
                    ),
                ));
            }
            _ => return Err(self.not_connected()),
        }
        let sent = self.enet_peer(|peer| peer.send(channel, &Packet::new(data, delivery.kind())));
        // The host is free again: the errors below name the peer.
        sent.map_err(|error| match error {
            PeerSendError::NotConnected => self.not_connected(),
            other => io::Error::new(io::ErrorKind::InvalidInput, format!("ENet: {other}")),
        })?;
        Shared::flush_soon(shared);
        shared.mark_busy();
        Ok(())
    }

    /// The next packet received: `None` once the connection ended (the peer disconnected).
    /// Services the connection while it waits. Wait with a limit through `ttk::timeout`.
    ///
    /// # Errors
    /// `TimedOut` once the peer stopped answering (a server that died: ENet gave up waiting
    /// for its acknowledgements, after the timeout [`set_timeout`](Self::set_timeout) sets);
    /// `InvalidData` if more than [`max_queued`](EnetConfig::max_queued) packets waited
    /// (the connection was then reset); the socket's errors.
    ///
    /// # Examples
    /// See [`EnetPeer`].
    ///
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// # use std::net::SocketAddr;
    /// # use ttk_net::enet::{Delivery, EnetConfig, EnetHost, EnetPeer};
    /// # /// An ENet server for one player: echoes its packets until it leaves.
    /// # async fn echo(addr: SocketAddr) -> std::io::Result<()> {
    /// #     let host = EnetHost::bind(addr, &EnetConfig { channels: 2, ..EnetConfig::default() })?;
    /// #     let player = host.accept().await?;
    /// #     while let Some(packet) = player.recv().await? {
    /// #         player.send(packet.channel(), packet.data(), Delivery::Reliable)?;
    /// #     }
    /// #     Ok(())
    /// # }
    /// # let server = std::net::UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    /// #[bot(crate = ttk_core)]
    /// fn quiet(_cx: Cx, id: usize, server: SocketAddr) -> std::io::Result<bool> {
    /// #   if id == 0 { ttk_core::yield_!(echo(server))?; return Ok(false); }
    ///     let peer = ttk_core::yield_!(EnetPeer::connect(server, &EnetConfig::default()))?;
    ///     // Nothing comes: the wait ends with the limit.
    ///     let limit = std::time::Duration::from_millis(50);
    ///     Ok(ttk_core::yield_!(ttk_core::timeout(limit, peer.recv())).is_err())
    /// }
    ///
    /// let outcomes = ttk_core::run(2, |cx, id| quiet(cx, id, server));
    /// assert!(outcomes[1].as_ref().unwrap());
    /// ```
    pub async fn recv(&self) -> io::Result<Option<EnetPacket>> {
        let shared = &self.host.shared;
        shared
            .wait_until(Interest::Peer(self.id), None, |_| {
                // A connection its slot forgot (it kept nothing unread) has ended.
                let Some((packet, state)) = self.take_packet() else {
                    return Some(Ok(None));
                };
                match (packet, state) {
                    (Some(packet), _) => Some(Ok(Some(packet))),
                    (None, SlotState::Connected | SlotState::Connecting(_)) => None,
                    (None, SlotState::Closed(Ending::Overflowed)) => Some(Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!(
                            "more than {} ENet packets from {} waited to be received: \
                             the connection was reset",
                            shared.config.max_queued,
                            self.address_text()
                        ),
                    ))),
                    (None, SlotState::Closed(Ending::StoppedAnswering)) => {
                        Some(Err(self.stopped_answering()))
                    }
                    (None, SlotState::Closed(_) | SlotState::Idle) => Some(Ok(None)),
                }
            })
            .await
    }

    /// Sleeps for `duration`, servicing the connection meanwhile (acknowledgements, resends,
    /// pings): a player thinking between moves. Packets that come wait for
    /// [`recv`](Self::recv).
    ///
    /// # Errors
    /// The socket's.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// # use std::net::SocketAddr;
    /// # use ttk_net::enet::{Delivery, EnetConfig, EnetHost, EnetPeer};
    /// # /// An ENet server for one player: echoes its packets until it leaves.
    /// # async fn echo(addr: SocketAddr) -> std::io::Result<()> {
    /// #     let host = EnetHost::bind(addr, &EnetConfig { channels: 2, ..EnetConfig::default() })?;
    /// #     let player = host.accept().await?;
    /// #     while let Some(packet) = player.recv().await? {
    /// #         player.send(packet.channel(), packet.data(), Delivery::Reliable)?;
    /// #     }
    /// #     Ok(())
    /// # }
    /// # let server = std::net::UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    /// #[bot(crate = ttk_core)]
    /// fn thinks(_cx: Cx, id: usize, server: SocketAddr) -> std::io::Result<Vec<u8>> {
    /// #   if id == 0 { ttk_core::yield_!(echo(server))?; return Ok(Vec::new()); }
    ///     let peer = ttk_core::yield_!(EnetPeer::connect(server, &EnetConfig::default()))?;
    ///     peer.send(0, b"my move", Delivery::Reliable)?;
    ///     // The echo comes, and is acknowledged, while the player thinks.
    ///     ttk_core::yield_!(peer.sleep(std::time::Duration::from_millis(20)))?;
    ///     Ok(ttk_core::yield_!(peer.recv())?.expect("connected").data().to_vec())
    /// }
    ///
    /// let outcomes = ttk_core::run(2, |cx, id| thinks(cx, id, server));
    /// assert_eq!(outcomes[1].as_ref().unwrap(), b"my move");
    /// ```
    pub async fn sleep(&self, duration: Duration) -> io::Result<()> {
        let deadline = ttk_core::now() + duration;
        let slept = self
            .host
            .shared
            .wait_until(Interest::Time, Some(deadline), |_| None::<io::Result<()>>)
            .await;
        match slept {
            Err(error) if error.kind() == io::ErrorKind::TimedOut => Ok(()),
            other => other,
        }
    }

    /// Ends the connection gracefully (data 0): every packet sent reliably is acknowledged
    /// first, then the disconnect, which the peer acknowledges. Waits for it.
    ///
    /// # Errors
    /// `TimedOut` if the peer did not acknowledge within
    /// [`disconnect_timeout`](EnetConfig::disconnect_timeout) (the connection is then
    /// dropped), or stopped answering before (ENet's own timeout). Under loss this happens now
    /// and then though the peer got the disconnect: it acknowledges once and forgets the
    /// connection, so a lost acknowledgement is not sent again — as with the C library.
    ///
    /// # Examples
    /// See [`EnetPeer`].
    ///
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// # use std::net::SocketAddr;
    /// # use ttk_net::enet::{Delivery, EnetConfig, EnetHost, EnetPeer};
    /// # /// An ENet server for one player: echoes its packets until it leaves.
    /// # async fn echo(addr: SocketAddr) -> std::io::Result<()> {
    /// #     let host = EnetHost::bind(addr, &EnetConfig { channels: 2, ..EnetConfig::default() })?;
    /// #     let player = host.accept().await?;
    /// #     while let Some(packet) = player.recv().await? {
    /// #         player.send(packet.channel(), packet.data(), Delivery::Reliable)?;
    /// #     }
    /// #     Ok(())
    /// # }
    /// # let server = std::net::UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    /// #[bot(crate = ttk_core)]
    /// fn leaves(_cx: Cx, id: usize, server: SocketAddr) -> std::io::Result<bool> {
    /// #   if id == 0 { ttk_core::yield_!(echo(server))?; return Ok(false); }
    ///     let peer = ttk_core::yield_!(EnetPeer::connect(server, &EnetConfig::default()))?;
    ///     // Acknowledged by the server, which then ends.
    ///     ttk_core::yield_!(peer.disconnect())?;
    ///     Ok(true)
    /// }
    ///
    /// let outcomes = ttk_core::run(2, |cx, id| leaves(cx, id, server));
    /// assert!(outcomes[1].as_ref().unwrap());
    /// ```
    pub async fn disconnect(self) -> io::Result<()> {
        self.disconnect_with(DEFAULT_DISCONNECT_DATA).await
    }

    /// [`disconnect`](Self::disconnect), telling the peer `data` (its disconnect event's).
    ///
    /// # Errors
    /// As [`disconnect`](Self::disconnect)'s.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use std::net::SocketAddr;
    /// use ttk_net::enet::{EnetConfig, EnetHost, EnetPeer};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn game(_cx: Cx, id: usize, server: SocketAddr) -> std::io::Result<Option<u32>> {
    ///     if id == 0 {
    ///         let host = EnetHost::bind(server, &EnetConfig::default())?;
    ///         let player = ttk_core::yield_!(host.accept())?;
    ///         assert!(ttk_core::yield_!(player.recv())?.is_none());
    ///         return Ok(player.disconnect_data());
    ///     }
    ///     let peer = ttk_core::yield_!(EnetPeer::connect(server, &EnetConfig::default()))?;
    ///     ttk_core::yield_!(peer.disconnect_with(42))?;
    ///     Ok(None)
    /// }
    ///
    /// let server = std::net::UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    /// let outcomes = ttk_core::run(2, |cx, id| game(cx, id, server));
    /// assert_eq!(outcomes[0].as_ref().unwrap(), &Some(42));
    /// ```
    pub async fn disconnect_with(self, data: u32) -> io::Result<()> {
        let shared = &self.host.shared;
        match self.state() {
            Some(SlotState::Connected) => {}
            Some(SlotState::Connecting(_)) => {
                // ENet ends a connection not made yet at once, with no event to wait for.
                self.end(Ending::Disconnected(data));
                return Ok(());
            }
            _ => return Ok(()),
        }
        // Once every packet sent is acknowledged (`enet_peer_disconnect_later`): ENet's
        // immediate disconnect drops what is not, and the peer drops what it received and has
        // not handed over when the disconnect comes with it.
        self.enet_peer(|peer| peer.disconnect_later(data));
        shared.mark_busy();
        let deadline = ttk_core::now() + shared.config.disconnect_timeout;
        let waited = shared
            .wait_until(Interest::Peer(self.id), Some(deadline), |_| {
                match self.state() {
                    Some(SlotState::Connected | SlotState::Connecting(_)) => None,
                    Some(SlotState::Closed(Ending::StoppedAnswering)) => {
                        Some(Err(self.stopped_answering()))
                    }
                    _ => Some(Ok(())),
                }
            })
            .await;
        match waited {
            Err(error) if error.kind() == io::ErrorKind::TimedOut => {
                self.end(Ending::Disconnected(data));
                Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "{} did not acknowledge the ENet disconnect within {:?} (it may have \
                         it: ENet does not send a lost acknowledgement of a disconnect again)",
                        self.address_text(),
                        shared.config.disconnect_timeout
                    ),
                ))
            }
            other => other,
        }
    }

    /// Whether the connection is made and has not ended.
    ///
    /// # Examples
    /// See [`EnetPeer::connected`].
    ///
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use ttk_net::enet::{EnetConfig, EnetHost};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn not_yet(_cx: Cx, _id: usize) -> std::io::Result<bool> {
    ///     let client = EnetHost::bind("127.0.0.1:0", &EnetConfig::default())?;
    ///     let peer = client.start_connect("127.0.0.1:9".parse().unwrap())?;
    ///     Ok(peer.is_connected())
    /// }
    ///
    /// assert!(!ttk_core::run(1, not_yet)[0].as_ref().unwrap());
    /// ```
    pub fn is_connected(&self) -> bool {
        self.state() == Some(SlotState::Connected)
    }

    /// The data the peer disconnected with, once it did (`None` before, or if it ended
    /// otherwise).
    ///
    /// # Examples
    /// See [`EnetPeer::disconnect_with`].
    ///
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// # use std::net::SocketAddr;
    /// # use ttk_net::enet::{Delivery, EnetConfig, EnetHost, EnetPeer};
    /// # /// An ENet server for one player: echoes its packets until it leaves.
    /// # async fn echo(addr: SocketAddr) -> std::io::Result<()> {
    /// #     let host = EnetHost::bind(addr, &EnetConfig { channels: 2, ..EnetConfig::default() })?;
    /// #     let player = host.accept().await?;
    /// #     while let Some(packet) = player.recv().await? {
    /// #         player.send(packet.channel(), packet.data(), Delivery::Reliable)?;
    /// #     }
    /// #     Ok(())
    /// # }
    /// # let server = std::net::UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    /// #[bot(crate = ttk_core)]
    /// fn still_there(_cx: Cx, id: usize, server: SocketAddr) -> std::io::Result<Option<u32>> {
    /// #   if id == 0 { ttk_core::yield_!(echo(server))?; return Ok(None); }
    ///     let peer = ttk_core::yield_!(EnetPeer::connect(server, &EnetConfig::default()))?;
    ///     Ok(peer.disconnect_data())
    /// }
    ///
    /// let outcomes = ttk_core::run(2, |cx, id| still_there(cx, id, server));
    /// assert_eq!(outcomes[1].as_ref().unwrap(), &None);
    /// ```
    pub fn disconnect_data(&self) -> Option<u32> {
        match self.state() {
            Some(SlotState::Closed(Ending::Disconnected(data))) => Some(data),
            _ => None,
        }
    }

    /// The peer's address.
    ///
    /// # Examples
    /// See [`EnetHost::accept`].
    ///
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use ttk_net::enet::{EnetConfig, EnetHost};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn address(_cx: Cx, _id: usize) -> std::io::Result<bool> {
    ///     let client = EnetHost::bind("127.0.0.1:0", &EnetConfig::default())?;
    ///     let peer = client.start_connect("127.0.0.1:9".parse().unwrap())?;
    ///     Ok(peer.peer_addr() == Some("127.0.0.1:9".parse().unwrap()))
    /// }
    ///
    /// assert!(ttk_core::run(1, address)[0].as_ref().unwrap());
    /// ```
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.addr
    }

    /// ENet's estimate of the round-trip time (its mean over recent acknowledgements; 500 ms
    /// before the first).
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// # use std::net::SocketAddr;
    /// # use ttk_net::enet::{Delivery, EnetConfig, EnetHost, EnetPeer};
    /// # /// An ENet server for one player: echoes its packets until it leaves.
    /// # async fn echo(addr: SocketAddr) -> std::io::Result<()> {
    /// #     let host = EnetHost::bind(addr, &EnetConfig { channels: 2, ..EnetConfig::default() })?;
    /// #     let player = host.accept().await?;
    /// #     while let Some(packet) = player.recv().await? {
    /// #         player.send(packet.channel(), packet.data(), Delivery::Reliable)?;
    /// #     }
    /// #     Ok(())
    /// # }
    /// # let server = std::net::UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    /// #[bot(crate = ttk_core)]
    /// fn rtt(_cx: Cx, id: usize, server: SocketAddr) -> std::io::Result<std::time::Duration> {
    /// #   if id == 0 { ttk_core::yield_!(echo(server))?; return Ok(Default::default()); }
    ///     let peer = ttk_core::yield_!(EnetPeer::connect(server, &EnetConfig::default()))?;
    ///     for _ in 0..20 {
    ///         peer.send(0, b"tick", Delivery::Reliable)?;
    ///         ttk_core::yield_!(peer.recv())?;
    ///     }
    ///     Ok(peer.round_trip_time())
    /// }
    ///
    /// let outcomes = ttk_core::run(2, |cx, id| rtt(cx, id, server));
    /// // Loopback: far under ENet's first guess of 500 ms.
    /// assert!(outcomes[1].as_ref().unwrap() < &std::time::Duration::from_millis(500));
    /// ```
    pub fn round_trip_time(&self) -> Duration {
        self.figures().round_trip_time
    }

    /// ENet's counts of the connection's packets: (sent, lost) — the datagrams ENet sent, and
    /// how many of those it resent as lost, in ENet's current window (it starts them again
    /// every 10 s, to reckon its packet loss).
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// # use std::net::SocketAddr;
    /// # use ttk_net::enet::{Delivery, EnetConfig, EnetHost, EnetPeer};
    /// # /// An ENet server for one player: echoes its packets until it leaves.
    /// # async fn echo(addr: SocketAddr) -> std::io::Result<()> {
    /// #     let host = EnetHost::bind(addr, &EnetConfig { channels: 2, ..EnetConfig::default() })?;
    /// #     let player = host.accept().await?;
    /// #     while let Some(packet) = player.recv().await? {
    /// #         player.send(packet.channel(), packet.data(), Delivery::Reliable)?;
    /// #     }
    /// #     Ok(())
    /// # }
    /// # let server = std::net::UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    /// #[bot(crate = ttk_core)]
    /// fn counts(_cx: Cx, id: usize, server: SocketAddr) -> std::io::Result<(u32, u32)> {
    /// #   if id == 0 { ttk_core::yield_!(echo(server))?; return Ok((0, 0)); }
    ///     let peer = ttk_core::yield_!(EnetPeer::connect(server, &EnetConfig::default()))?;
    ///     peer.send(0, b"one", Delivery::Reliable)?;
    ///     ttk_core::yield_!(peer.recv())?;
    ///     Ok(peer.packet_counts())
    /// }
    ///
    /// let outcomes = ttk_core::run(2, |cx, id| counts(cx, id, server));
    /// let (sent, lost) = outcomes[1].as_ref().unwrap();
    /// assert!(*sent >= 2 && *lost == 0, "{sent} {lost}");
    /// ```
    pub fn packet_counts(&self) -> (u32, u32) {
        let figures = self.figures();
        (figures.packets_sent, figures.packets_lost)
    }

    /// How long ENet waits for acknowledgements before it ends the connection (ENet's
    /// `enet_peer_timeout`): a packet's resend timeout doubles until it is `limit` times the
    /// first (0: ENet's 32); the connection ends once a packet went unacknowledged for
    /// `minimum` at that limit (0: 5 s), or for `maximum` in any case (0: 30 s). No effect once
    /// the connection ended.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// # use std::net::SocketAddr;
    /// # use ttk_net::enet::{Delivery, EnetConfig, EnetHost, EnetPeer};
    /// # /// An ENet server for one player: echoes its packets until it leaves.
    /// # async fn echo(addr: SocketAddr) -> std::io::Result<()> {
    /// #     let host = EnetHost::bind(addr, &EnetConfig { channels: 2, ..EnetConfig::default() })?;
    /// #     let player = host.accept().await?;
    /// #     while let Some(packet) = player.recv().await? {
    /// #         player.send(packet.channel(), packet.data(), Delivery::Reliable)?;
    /// #     }
    /// #     Ok(())
    /// # }
    /// # let server = std::net::UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    /// #[bot(crate = ttk_core)]
    /// fn patient(_cx: Cx, id: usize, server: SocketAddr) -> std::io::Result<bool> {
    /// #   if id == 0 { ttk_core::yield_!(echo(server))?; return Ok(false); }
    ///     let peer = ttk_core::yield_!(EnetPeer::connect(server, &EnetConfig::default()))?;
    ///     // Give up on the server after 2 s without acknowledgements, whatever the round-trip time.
    ///     let seconds = std::time::Duration::from_secs;
    ///     peer.set_timeout(32, seconds(2), seconds(2));
    ///     peer.send(0, b"still there?", Delivery::Reliable)?;
    ///     Ok(ttk_core::yield_!(peer.recv())?.is_some())
    /// }
    ///
    /// let outcomes = ttk_core::run(2, |cx, id| patient(cx, id, server));
    /// assert!(outcomes[1].as_ref().unwrap());
    /// ```
    pub fn set_timeout(&self, limit: u32, minimum: Duration, maximum: Duration) {
        if self.is_current() {
            self.enet_peer(|peer| peer.set_timeout(limit, millis(minimum), millis(maximum)));
        }
    }

    /// How often ENet pings the peer while nothing else goes (ENet's default: 500 ms): pings
    /// keep the connection alive and its round-trip time fresh. No effect once the connection
    /// ended.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// # use std::net::SocketAddr;
    /// # use ttk_net::enet::{Delivery, EnetConfig, EnetHost, EnetPeer};
    /// # /// An ENet server for one player: echoes its packets until it leaves.
    /// # async fn echo(addr: SocketAddr) -> std::io::Result<()> {
    /// #     let host = EnetHost::bind(addr, &EnetConfig { channels: 2, ..EnetConfig::default() })?;
    /// #     let player = host.accept().await?;
    /// #     while let Some(packet) = player.recv().await? {
    /// #         player.send(packet.channel(), packet.data(), Delivery::Reliable)?;
    /// #     }
    /// #     Ok(())
    /// # }
    /// # let server = std::net::UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    /// #[bot(crate = ttk_core)]
    /// fn pings(_cx: Cx, id: usize, server: SocketAddr) -> std::io::Result<bool> {
    /// #   if id == 0 { ttk_core::yield_!(echo(server))?; return Ok(false); }
    ///     let peer = ttk_core::yield_!(EnetPeer::connect(server, &EnetConfig::default()))?;
    ///     // A ping every 100 ms (ENet's default is 500 ms) keeps the round-trip time fresh.
    ///     peer.set_ping_interval(std::time::Duration::from_millis(100));
    ///     ttk_core::yield_!(peer.sleep(std::time::Duration::from_millis(300)))?;
    ///     Ok(peer.packet_counts().0 >= 3)
    /// }
    ///
    /// let outcomes = ttk_core::run(2, |cx, id| pings(cx, id, server));
    /// assert!(outcomes[1].as_ref().unwrap());
    /// ```
    pub fn set_ping_interval(&self, interval: Duration) {
        if self.is_current() {
            self.enet_peer(|peer| peer.set_ping_interval(millis(interval)));
        }
    }

    /// ENet's throttle of unreliable packets (`enet_peer_throttle_configure`, told to the
    /// peer too): over each `interval` it compares round-trip times with their mean, and raises
    /// the chance an unreliable packet is sent by `acceleration` (of 32) when they fall, lowers
    /// it by `deceleration` when they rise (ENet's defaults: 5 s, 2, 2). A deceleration of 0
    /// never drops one. No effect before the connection is made or once it ended.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// # use std::net::SocketAddr;
    /// # use ttk_net::enet::{Delivery, EnetConfig, EnetHost, EnetPeer};
    /// # /// An ENet server for one player: echoes its packets until it leaves.
    /// # async fn echo(addr: SocketAddr) -> std::io::Result<()> {
    /// #     let host = EnetHost::bind(addr, &EnetConfig { channels: 2, ..EnetConfig::default() })?;
    /// #     let player = host.accept().await?;
    /// #     while let Some(packet) = player.recv().await? {
    /// #         player.send(packet.channel(), packet.data(), Delivery::Reliable)?;
    /// #     }
    /// #     Ok(())
    /// # }
    /// # let server = std::net::UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    /// #[bot(crate = ttk_core)]
    /// fn steady(_cx: Cx, id: usize, server: SocketAddr) -> std::io::Result<Vec<u8>> {
    /// #   if id == 0 { ttk_core::yield_!(echo(server))?; return Ok(Vec::new()); }
    ///     let peer = ttk_core::yield_!(EnetPeer::connect(server, &EnetConfig::default()))?;
    ///     // Measure over 1 s; never drop an unreliable packet for a slower round trip.
    ///     peer.set_throttle(std::time::Duration::from_secs(1), 2, 0);
    ///     peer.send(0, b"position", Delivery::Unreliable)?;
    ///     Ok(ttk_core::yield_!(peer.recv())?.expect("connected").data().to_vec())
    /// }
    ///
    /// let outcomes = ttk_core::run(2, |cx, id| steady(cx, id, server));
    /// assert_eq!(outcomes[1].as_ref().unwrap(), b"position");
    /// ```
    pub fn set_throttle(&self, interval: Duration, acceleration: u32, deceleration: u32) {
        // Told to the peer: not before the handshake is done (ENet would break it).
        if self.is_connected() {
            self.enet_peer(|peer| peer.set_throttle(millis(interval), acceleration, deceleration));
            Shared::flush_soon(&self.host.shared);
        }
    }

    /// The host the connection belongs to.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use ttk_net::enet::{EnetConfig, EnetHost};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn from(_cx: Cx, _id: usize) -> std::io::Result<bool> {
    ///     let client = EnetHost::bind("127.0.0.1:0", &EnetConfig::default())?;
    ///     let peer = client.start_connect("127.0.0.1:9".parse().unwrap())?;
    ///     Ok(peer.host().local_addr()? == client.local_addr()?)
    /// }
    ///
    /// assert!(ttk_core::run(1, from)[0].as_ref().unwrap());
    /// ```
    pub fn host(&self) -> &EnetHost {
        &self.host
    }

    /// Runs `act` on ENet's peer of the connection (the host borrowed for just that long).
    fn enet_peer<R>(&self, act: impl FnOnce(&mut rusty_enet::Peer<EnetSocket>) -> R) -> R {
        act(self.host.shared.host.borrow_mut().peer_mut(PeerID(self.id)))
    }

    /// Whether the connection is its slot's current one, and lasts.
    fn is_current(&self) -> bool {
        matches!(
            self.state(),
            Some(SlotState::Connected | SlotState::Connecting(_))
        )
    }

    /// Where the connection stands (`None` for a handle whose connection's slot holds
    /// another and kept nothing of it).
    fn state(&self) -> Option<SlotState> {
        let shared = &self.host.shared;
        let slots = shared.slots.borrow();
        let slot = &slots[self.id];
        if slot.generation == self.generation {
            return Some(slot.state);
        }
        let retired = shared.retired.borrow();
        retired
            .get(&(self.id, self.generation))
            .map(|old| old.state)
    }

    /// The next packet of the connection, if one waits, and where the connection stands.
    fn take_packet(&self) -> Option<(Option<EnetPacket>, SlotState)> {
        let shared = &self.host.shared;
        let mut slots = shared.slots.borrow_mut();
        let slot = &mut slots[self.id];
        if slot.generation == self.generation {
            return Some((slot.inbox.pop_front(), slot.state));
        }
        let mut retired = shared.retired.borrow_mut();
        let old = retired.get_mut(&(self.id, self.generation))?;
        Some((old.inbox.pop_front(), old.state))
    }

    /// ENet's figures of the connection: live while it lasts; once it ended, as ttk last saw
    /// them (at its last packet, or when it ended it itself: ENet resets them as it ends one).
    fn figures(&self) -> Figures {
        let shared = &self.host.shared;
        let slots = shared.slots.borrow();
        let slot = &slots[self.id];
        if slot.generation == self.generation {
            return match slot.state {
                SlotState::Connected | SlotState::Connecting(_) => {
                    Figures::of(&shared.host.borrow(), self.id)
                }
                _ => slot.last_figures.unwrap_or_default(),
            };
        }
        let retired = shared.retired.borrow();
        retired
            .get(&(self.id, self.generation))
            .and_then(|old| old.last_figures)
            .unwrap_or_default()
    }

    /// Resets ENet's peer and marks the connection ended as `ending`.
    fn end(&self, ending: Ending) {
        let shared: &Shared = &self.host.shared;
        if self.state().is_none() {
            return;
        }
        let mut host = shared.host.borrow_mut();
        let mut slots = shared.slots.borrow_mut();
        if slots[self.id].generation != self.generation {
            return;
        }
        slots[self.id].close(Some(Figures::of(&host, self.id)), ending);
        host.peer_mut(PeerID(self.id)).reset();
        shared.waiters.borrow_mut().wake_peer(self.id);
    }

    /// The peer's address, for messages.
    fn address_text(&self) -> String {
        self.peer_addr()
            .map_or_else(|| "the ENet peer".to_string(), |addr| addr.to_string())
    }

    /// `NotConnected`, naming the peer.
    fn not_connected(&self) -> io::Error {
        io::Error::new(
            io::ErrorKind::NotConnected,
            format!("the ENet connection to {} has ended", self.address_text()),
        )
    }

    /// `TimedOut`: the peer stopped answering (ENet's timeout), naming it.
    fn stopped_answering(&self) -> io::Error {
        io::Error::new(
            io::ErrorKind::TimedOut,
            format!(
                "{} stopped answering: ENet gave up waiting for its acknowledgements (the \
                 peer is gone, the network lost everything, or this host was not serviced \
                 for that long; see EnetPeer::set_timeout)",
                self.address_text()
            ),
        )
    }

    /// `ConnectionRefused`, naming the peer.
    fn refused(&self) -> io::Error {
        io::Error::new(
            io::ErrorKind::ConnectionRefused,
            format!(
                "ENet connection to {} refused (nothing listens there, or the host turned it down)",
                self.address_text()
            ),
        )
    }
}

impl Drop for EnetPeer {
    fn drop(&mut self) {
        let shared: &Shared = &self.host.shared;
        let current = shared.slots.borrow()[self.id].generation == self.generation;
        if !current {
            // Its slot went to another connection: what it kept aside goes.
            shared
                .retired
                .borrow_mut()
                .remove(&(self.id, self.generation));
            return;
        }
        let state = self.state();
        if matches!(state, Some(SlotState::Connected | SlotState::Connecting(_))) {
            let mut host = shared.host.borrow_mut();
            // What the bot queued goes first (a flush the loop was asked for may find the
            // host gone).
            host.flush();
            let peer = host.peer_mut(PeerID(self.id));
            match Rc::strong_count(&self.host.shared) > 1 {
                // The host lives on (other handles keep it): what was sent arrives, then the
                // disconnect (`enet_peer_disconnect_later`) — as a TCP close after a write. If
                // nothing waits for acknowledgement, the disconnect goes now.
                true => {
                    peer.disconnect_later(DEFAULT_DISCONNECT_DATA);
                    host.flush();
                    drop(host);
                    shared.mark_busy();
                }
                // The host goes too: told to the peer once, unreliably
                // (`enet_peer_disconnect_now`); what the peer has not acknowledged is lost.
                false => {
                    peer.disconnect_now(DEFAULT_DISCONNECT_DATA);
                    host.flush();
                }
            }
        }
        let mut slots = shared.slots.borrow_mut();
        let slot = &mut slots[self.id];
        slot.state = SlotState::Idle;
        slot.inbox.clear();
        slot.held = false;
        slot.last_figures = None;
        // The slot's next connection is another.
        slot.generation += 1;
    }
}

impl std::fmt::Debug for EnetPeer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnetPeer")
            .field("peer_addr", &self.peer_addr())
            .field("state", &self.state())
            .finish()
    }
}

/// `duration` in ENet's whole milliseconds (at least 1 for a duration above zero, as 0 means
/// "ENet's default").
fn millis(duration: Duration) -> u32 {
    match duration.as_millis() {
        0 if !duration.is_zero() => 1,
        ms => u32::try_from(ms).unwrap_or(u32::MAX),
    }
}
