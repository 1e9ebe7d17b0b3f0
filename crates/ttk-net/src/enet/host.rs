//! An ENet host on a bot's UDP socket: [`EnetHost`], and how bots take turns servicing it.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::future::{Future, poll_fn};
use std::io;
use std::net::SocketAddr;
use std::pin::pin;
use std::rc::Rc;
use std::task::Poll;
use std::time::{Duration, Instant};

use rusty_enet::{EventNoRef, Host, HostSettings, PeerID};

use super::config::EnetConfig;
use super::packet::EnetPacket;
use super::peer::EnetPeer;
use super::socket::EnetSocket;
use super::waiters::{Interest, Waiters};
use crate::UdpSocket;
use crate::to_socket_addrs::ToSocketAddrs;

/// ENet's most peers per host.
const MOST_PEERS: usize = PeerID::MAX;
/// How long a host stays busy (serviced every `service_interval`) after a bot sent, connected
/// or disconnected, at the least and at the most: for a host of one connection, four of ENet's
/// first resend timeouts (round-trip time and four deviations) — time for its acknowledgement
/// and a resend or two; for a host of many, the most.
const BUSY_LEAST: Duration = Duration::from_millis(20);
const BUSY_MOST: Duration = Duration::from_secs(1);
/// Where the host's clock starts: ENet's C code reads its clock as a count of milliseconds
/// since long ago, and treats some early values as "never".
const CLOCK_START: Duration = Duration::from_secs(3_600);

/// An ENet host — ENet's endpoint, one UDP socket with its connections — registered with the
/// bot's loop: a client's (one connection, [`EnetPeer::connect`] makes one) or a server's
/// ([`EnetHost::accept`]).
///
/// ENet is the reliable-UDP protocol under Godot's multiplayer and many game engines: channels,
/// reliable, unreliable and unsequenced packets, acknowledgements and resends, fragments,
/// round-trip time and throttling. The protocol is rusty_enet's, a translation of the C
/// library (and tested against Debian's `libenet`); it runs on ttk's loop and clock, on a ttk
/// socket, so a run's `--net` conditions and `--local-ips` apply to it.
///
/// There is no task behind a host: the bots waiting on it take turns servicing it (one at a
/// time, handing over when it has what it waited for), so it is serviced while a bot waits on
/// it and not otherwise — as a C program's host is serviced when it calls `enet_host_service`.
/// A bot that thinks between moves should sleep with [`EnetPeer::sleep`], which services the
/// connection meanwhile. Clones share the host; it is not `Send` (it belongs to the loop of the
/// bots that use it).
///
/// # Examples
/// A game server and a player, each a bot:
/// ```
/// # use ttk_macros::bot;
/// # use ttk_core::Cx;
/// use std::net::SocketAddr;
/// use ttk_net::enet::{Delivery, EnetConfig, EnetHost};
///
/// #[bot(crate = ttk_core)]
/// fn game(_cx: Cx, id: usize, server: SocketAddr) -> std::io::Result<Vec<u8>> {
///     if id == 0 {
///         let host = EnetHost::bind(server, &EnetConfig { peers: 8, ..EnetConfig::default() })?;
///         let player = ttk_core::yield_!(host.accept())?;
///         let ping = ttk_core::yield_!(player.recv())?.expect("connected");
///         player.send(0, ping.data(), Delivery::Reliable)?;
///         // Until the player leaves.
///         while ttk_core::yield_!(player.recv())?.is_some() {}
///         return Ok(Vec::new());
///     }
///     let client = EnetHost::bind("127.0.0.1:0", &EnetConfig::default())?;
///     let to_server = ttk_core::yield_!(client.connect(server))?;
///     to_server.send(0, b"ping", Delivery::Reliable)?;
///     let pong = ttk_core::yield_!(to_server.recv())?.expect("connected");
///     ttk_core::yield_!(to_server.disconnect())?;
///     Ok(pong.data().to_vec())
/// }
///
/// let server = std::net::UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
/// let outcomes = ttk_core::run(2, |cx, id| game(cx, id, server));
/// assert_eq!(outcomes[1].as_ref().unwrap(), b"ping");
/// ```
#[derive(Clone)]
pub struct EnetHost {
    /// What its handles share.
    pub(crate) shared: Rc<Shared>,
}

/// What the handles of one host share.
pub(crate) struct Shared {
    /// The socket (also inside the host, which sends and receives on it).
    socket: Rc<UdpSocket>,
    /// ENet's host.
    pub(crate) host: RefCell<Host<EnetSocket>>,
    /// What the bots know of each peer slot, by ENet's peer id.
    pub(crate) slots: RefCell<Vec<Slot>>,
    /// Connections made to this host and not yet accepted: slot and generation.
    accepted: RefCell<VecDeque<(usize, u64)>>,
    /// Ended connections whose slot went to another while their handle lives: what they had,
    /// by slot and generation.
    pub(crate) retired: RefCell<HashMap<(usize, u64), Retired>>,
    /// The bots waiting on the host.
    pub(crate) waiters: RefCell<Waiters>,
    /// The key of the bot servicing the host, if one is.
    driver: Cell<Option<u64>>,
    /// The settings.
    pub(crate) config: EnetConfig,
    /// Until when the host is busy (serviced on the short tick).
    busy_until: Cell<Option<Instant>>,
    /// When it was last serviced.
    last_service: Cell<Instant>,
    /// Whether a flush is asked of the loop (sends of one step go out together).
    flush_asked: Cell<bool>,
}

/// What the bots know of one peer slot.
#[derive(Debug, Default)]
pub(crate) struct Slot {
    /// Counts the connections the slot has held, so a handle of an old one does not see the
    /// next.
    pub(crate) generation: u64,
    /// Where its connection stands.
    pub(crate) state: SlotState,
    /// Packets received and not yet taken.
    pub(crate) inbox: VecDeque<EnetPacket>,
    /// Whether a handle ([`EnetPeer`]) of its connection lives.
    pub(crate) held: bool,
    /// The connection's figures when it ended.
    pub(crate) last_figures: Option<Figures>,
}

/// What an ended connection had, kept for its handle once its slot holds another.
#[derive(Debug)]
pub(crate) struct Retired {
    pub(crate) state: SlotState,
    pub(crate) inbox: VecDeque<EnetPacket>,
    pub(crate) last_figures: Option<Figures>,
}

/// ENet's figures of a connection: round-trip time, packets sent and lost.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Figures {
    pub(crate) round_trip_time: Duration,
    pub(crate) packets_sent: u32,
    pub(crate) packets_lost: u32,
}

impl Figures {
    /// The figures of the peer in `id`'s slot, now.
    pub(crate) fn of(host: &Host<EnetSocket>, id: usize) -> Figures {
        let peer = host.peer(PeerID(id));
        Figures {
            round_trip_time: peer.round_trip_time(),
            packets_sent: peer.packets_sent(),
            packets_lost: peer.packets_lost(),
        }
    }
}

impl Slot {
    /// Ends the slot's connection as `ending`, keeping `figures` if given (taken before ENet
    /// resets the peer), else the last ones seen.
    pub(crate) fn close(&mut self, figures: Option<Figures>, ending: Ending) {
        if figures.is_some() {
            self.last_figures = figures;
        }
        self.state = SlotState::Closed(ending);
    }
}

/// Where a slot's connection stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum SlotState {
    /// No connection.
    #[default]
    Idle,
    /// Connecting to a peer, since then.
    Connecting(Instant),
    /// Connected.
    Connected,
    /// Ended, and how.
    Closed(Ending),
}

/// How a connection ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ending {
    /// The peer disconnected (or was disconnected), with this data.
    Disconnected(u32),
    /// The peer stopped answering: ENet gave up waiting for its acknowledgements (its
    /// timeout), with nothing from the peer in the service that ended it.
    StoppedAnswering,
    /// An ICMP "port unreachable" came back while it was connecting.
    Refused,
    /// It was not made within the connect timeout.
    ConnectTimedOut,
    /// The bot did not take its packets: more than `max_queued` waited.
    Overflowed,
}

impl EnetHost {
    /// A host on a UDP socket bound to `addr` (an IP literal; port 0 for any, as a client's),
    /// with `config`'s settings.
    ///
    /// # Errors
    /// `InvalidInput` for settings out of range or an address that is not an IP literal; the
    /// socket's errors (see [`UdpSocket::bind`]).
    ///
    /// # Panics
    /// Outside a running ttk loop.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use ttk_net::enet::{EnetConfig, EnetHost};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn binds(_cx: Cx, _id: usize) -> std::io::Result<bool> {
    ///     let server = EnetHost::bind("127.0.0.1:0", &EnetConfig { peers: 100, ..EnetConfig::default() })?;
    ///     // ENet's channels are 1 to 255.
    ///     assert!(EnetHost::bind("127.0.0.1:0", &EnetConfig { channels: 0, ..EnetConfig::default() }).is_err());
    ///     Ok(server.local_addr()?.port() != 0)
    /// }
    ///
    /// assert!(ttk_core::run(1, binds)[0].as_ref().unwrap());
    /// ```
    pub fn bind(addr: impl ToSocketAddrs, config: &EnetConfig) -> io::Result<EnetHost> {
        check(config)?;
        EnetHost::on(UdpSocket::bind(addr)?, config)
    }

    /// A host on `socket` (bound, with its conditions, if any), with `config`'s settings.
    ///
    /// # Errors
    /// `InvalidInput` for settings out of range.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use ttk_net::UdpSocket;
    /// use ttk_net::enet::{EnetConfig, EnetHost};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn far_away(_cx: Cx, _id: usize) -> std::io::Result<bool> {
    ///     let mut socket = UdpSocket::bind("127.0.0.1:0")?;
    ///     socket.set_conditions(&"intercontinental".parse().unwrap());
    ///     let host = EnetHost::on(socket, &EnetConfig::default())?;
    ///     Ok(host.local_addr()?.ip().is_loopback())
    /// }
    ///
    /// assert!(ttk_core::run(1, far_away)[0].as_ref().unwrap());
    /// ```
    pub fn on(socket: UdpSocket, config: &EnetConfig) -> io::Result<EnetHost> {
        check(config)?;
        let socket = Rc::new(socket);
        let epoch = ttk_core::now();
        let settings = HostSettings {
            peer_limit: config.peers,
            channel_limit: config.channels,
            incoming_bandwidth_limit: config.incoming_bandwidth,
            outgoing_bandwidth_limit: config.outgoing_bandwidth,
            compressor: None,
            checksum: None,
            // The loop's clock (virtual under a virtual clock), not the wall's.
            time: Box::new(move || CLOCK_START + ttk_core::now().saturating_duration_since(epoch)),
            // Deterministic under `--seed`.
            seed: Some(ttk_core::io::next_bot_seed() as u32),
        };
        let host = Host::new(EnetSocket::new(Rc::clone(&socket)), settings)
            .map_err(|error| io::Error::new(io::ErrorKind::InvalidInput, error.to_string()))?;
        let slots = (0..config.peers).map(|_| Slot::default()).collect();
        Ok(EnetHost {
            shared: Rc::new(Shared {
                socket,
                host: RefCell::new(host),
                slots: RefCell::new(slots),
                accepted: RefCell::default(),
                retired: RefCell::default(),
                waiters: RefCell::default(),
                driver: Cell::new(None),
                config: config.clone(),
                busy_until: Cell::new(None),
                last_service: Cell::new(epoch),
                flush_asked: Cell::new(false),
            }),
        })
    }

    /// The local address of the host's socket.
    ///
    /// # Errors
    /// The OS's.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use ttk_net::enet::{EnetConfig, EnetHost};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn local(_cx: Cx, _id: usize) -> std::io::Result<String> {
    ///     let host = EnetHost::bind("127.0.0.1:0", &EnetConfig::default())?;
    ///     Ok(host.local_addr()?.ip().to_string())
    /// }
    ///
    /// assert_eq!(ttk_core::run(1, local)[0].as_ref().unwrap(), "127.0.0.1");
    /// ```
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.shared.socket.local_addr()
    }

    /// Starts a connection to the ENet host at `addr` and returns it at once, connecting: wait
    /// for it with [`EnetPeer::connected`] before sending.
    ///
    /// # Errors
    /// `QuotaExceeded` if the host's [`peers`](EnetConfig::peers) are all in use.
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
    /// fn connecting(_cx: Cx, id: usize, server: SocketAddr) -> std::io::Result<bool> {
    /// #   if id == 0 { ttk_core::yield_!(echo(server))?; return Ok(false); }
    ///     let client = EnetHost::bind("127.0.0.1:0", &EnetConfig::default())?;
    ///     let peer = client.start_connect(server)?;
    ///     // The host has one peer: no second connection while the first lasts.
    ///     let second = client.start_connect(server).unwrap_err();
    ///     assert_eq!(second.kind(), std::io::ErrorKind::QuotaExceeded);
    ///     ttk_core::yield_!(peer.connected())?;
    ///     Ok(peer.is_connected())
    /// }
    ///
    /// let outcomes = ttk_core::run(2, |cx, id| connecting(cx, id, server));
    /// assert!(outcomes[1].as_ref().unwrap());
    /// ```
    pub fn start_connect(&self, addr: SocketAddr) -> io::Result<EnetPeer> {
        let shared = &self.shared;
        let mut host = shared.host.borrow_mut();
        let peer = host
            .connect(addr, shared.config.channels, shared.config.connect_data)
            .map_err(|_| {
                io::Error::new(
                    io::ErrorKind::QuotaExceeded,
                    format!(
                        "the ENet host's {} peers are all in use (EnetConfig::peers)",
                        shared.config.peers
                    ),
                )
            })?;
        let id = peer.id().0;
        host.flush();
        drop(host);
        let generation = {
            let mut slots = shared.slots.borrow_mut();
            let slot = &mut slots[id];
            let generation = shared.renew(id, slot);
            slot.state = SlotState::Connecting(ttk_core::now());
            generation
        };
        shared.mark_busy();
        Ok(EnetPeer::new(self.clone(), id, generation))
    }

    /// Connects to the ENet host at `addr`: the connection, once the host accepted it.
    ///
    /// # Errors
    /// `TimedOut` after [`connect_timeout`](EnetConfig::connect_timeout);
    /// `ConnectionRefused` if the host turned the connection down, or — on a socket connected
    /// to `addr`, as [`EnetPeer::connect`]'s is — if nothing listens there (ICMP);
    /// `QuotaExceeded` if this host's peers are all in use.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use std::time::Duration;
    /// use ttk_net::enet::{EnetConfig, EnetHost};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn silent(_cx: Cx, _id: usize) -> std::io::ErrorKind {
    ///     // A UDP socket that never answers: no ENet host behind it.
    ///     let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    ///     let config = EnetConfig { connect_timeout: Duration::from_millis(200), ..EnetConfig::default() };
    ///     let client = EnetHost::bind("127.0.0.1:0", &config).unwrap();
    ///     let addr = silent.local_addr().unwrap();
    ///     ttk_core::yield_!(client.connect(addr)).unwrap_err().kind()
    /// }
    ///
    /// assert_eq!(ttk_core::run(1, silent)[0], std::io::ErrorKind::TimedOut);
    /// ```
    pub async fn connect(&self, addr: SocketAddr) -> io::Result<EnetPeer> {
        let peer = self.start_connect(addr)?;
        peer.connected().await?;
        Ok(peer)
    }

    /// The next connection made to this host, once connected.
    ///
    /// # Errors
    /// The socket's.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use std::net::SocketAddr;
    /// use ttk_net::enet::{EnetConfig, EnetHost, EnetPeer};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn game(_cx: Cx, id: usize, server: SocketAddr) -> std::io::Result<bool> {
    ///     if id == 0 {
    ///         let host = EnetHost::bind(server, &EnetConfig { peers: 64, ..EnetConfig::default() })?;
    ///         let player = ttk_core::yield_!(host.accept())?;
    ///         let from_loopback = player.peer_addr().is_some_and(|addr| addr.ip().is_loopback());
    ///         while ttk_core::yield_!(player.recv())?.is_some() {}
    ///         return Ok(from_loopback);
    ///     }
    ///     let peer = ttk_core::yield_!(EnetPeer::connect(server, &EnetConfig::default()))?;
    ///     ttk_core::yield_!(peer.disconnect())?;
    ///     Ok(true)
    /// }
    ///
    /// let server = std::net::UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    /// let outcomes = ttk_core::run(2, |cx, id| game(cx, id, server));
    /// assert!(outcomes[0].as_ref().unwrap());
    /// ```
    pub async fn accept(&self) -> io::Result<EnetPeer> {
        let (slot, generation) = self
            .shared
            .wait_until(Interest::Accept, None, |shared| {
                let mut accepted = shared.accepted.borrow_mut();
                let slots = shared.slots.borrow();
                while let Some((slot, generation)) = accepted.pop_front() {
                    // One disconnected (and its slot taken again) before it was accepted is
                    // passed over.
                    if slots[slot].generation == generation {
                        return Some(Ok((slot, generation)));
                    }
                }
                None
            })
            .await?;
        Ok(EnetPeer::new(self.clone(), slot, generation))
    }
}

impl std::fmt::Debug for EnetHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnetHost")
            .field("local_addr", &self.local_addr().ok())
            .field("peers", &self.shared.config.peers)
            .finish()
    }
}

/// `InvalidInput` for settings ENet cannot take.
fn check(config: &EnetConfig) -> io::Result<()> {
    let invalid = |what: String| Err(io::Error::new(io::ErrorKind::InvalidInput, what));
    if !(1..=255).contains(&config.channels) {
        return invalid(format!(
            "ENet channels are 1 to 255, not {}",
            config.channels
        ));
    }
    if !(1..=MOST_PEERS).contains(&config.peers) {
        return invalid(format!(
            "ENet peers are 1 to {MOST_PEERS} per host, not {}",
            config.peers
        ));
    }
    if config.service_interval.is_zero() || config.idle_service_interval.is_zero() {
        return invalid("an ENet service interval of zero would spin the loop".into());
    }
    if config.max_queued == 0 {
        return invalid(
            "an ENet max_queued of 0 would reset every connection at its first packet".into(),
        );
    }
    if config.incoming_bandwidth == Some(0) || config.outgoing_bandwidth == Some(0) {
        return invalid("an ENet bandwidth of 0 bytes/s: use None for no limit".into());
    }
    Ok(())
}

impl Shared {
    /// Marks the host busy for a while (serviced on the short tick), waking the bot servicing
    /// it if it was idle, so that its wait is timed by the short tick from now.
    pub(crate) fn mark_busy(&self) {
        let now = ttk_core::now();
        let was_idle = self.busy_until.get().is_none_or(|until| until <= now);
        let busy = match self.config.peers {
            1 => {
                let host = self.host.borrow();
                let peer = host.peer(PeerID(0));
                let first_resend = peer.round_trip_time() + 4 * peer.round_trip_time_variance();
                (4 * first_resend).clamp(BUSY_LEAST, BUSY_MOST)
            }
            _ => BUSY_MOST,
        };
        self.busy_until.set(Some(now + busy));
        if was_idle && let Some(driver) = self.driver.get() {
            self.waiters.borrow_mut().poke(driver);
        }
    }

    /// Sends what the bots queued, soon: once the running bot yields, in one pass over the
    /// host's peers for all the packets queued meanwhile (each peer's in as few datagrams as
    /// they fit), as a game flushes its host once a frame — rather than a pass per packet.
    pub(crate) fn flush_soon(shared: &Rc<Shared>) {
        if shared.flush_asked.replace(true) {
            return;
        }
        let shared = Rc::downgrade(shared);
        ttk_core::io::run_at(ttk_core::now(), move || {
            if let Some(shared) = shared.upgrade() {
                shared.flush_asked.set(false);
                shared.host.borrow_mut().flush();
            }
        });
    }

    /// Gives `slot` (`id`'s) to a new connection: its generation. The old connection's handle,
    /// if it lives, keeps what it had (its end, unread packets and figures) aside.
    fn renew(&self, id: usize, slot: &mut Slot) -> u64 {
        if slot.held {
            let retired = Retired {
                state: slot.state,
                inbox: std::mem::take(&mut slot.inbox),
                last_figures: slot.last_figures.take(),
            };
            self.retired
                .borrow_mut()
                .insert((id, slot.generation), retired);
        }
        slot.generation += 1;
        slot.held = false;
        slot.state = SlotState::Idle;
        slot.inbox.clear();
        slot.last_figures = None;
        slot.generation
    }

    /// The service's tick now.
    fn interval(&self, now: Instant) -> Duration {
        match self.busy_until.get().is_some_and(|until| until > now) {
            true => self.config.service_interval,
            false => self.config.idle_service_interval,
        }
    }

    /// Services the host until it has no event left, and hands each event to the slot it
    /// concerns (waking the bots waiting for it).
    fn service(&self) -> io::Result<()> {
        let mut host = self.host.borrow_mut();
        host.socket_mut().begin_service();
        // One service (its sends and receives pass over every peer, as `enet_host_service`'s
        // do), then the events it queued, then a flush: a service that met an event returns
        // before it sends what the event called for (the acknowledgement of a connection's
        // last handshake step, say), and a bot may act on the event before the next service.
        let serviced = match host.service() {
            Ok(Some(event)) => {
                let event = event.no_ref();
                self.dispatch(&mut host, event);
                self.dispatch_queued(&mut host);
                host.flush();
                // And what the flush itself ended (a disconnect it completed).
                self.dispatch_queued(&mut host);
                Ok(())
            }
            Ok(None) => Ok(()),
            Err(error) => {
                // What the service queued before it failed is told now, while what it heard
                // is known (a disconnect among it).
                self.dispatch_queued(&mut host);
                Err(error)
            }
        };
        if host.socket_mut().take_refused() {
            self.refuse_connecting(&mut host);
        }
        self.last_service.set(ttk_core::now());
        serviced
    }

    /// Hands on every event ENet has queued, in order.
    fn dispatch_queued(&self, host: &mut Host<EnetSocket>) {
        while let Some(event) = host.check_events() {
            let event = event.no_ref();
            self.dispatch(host, event);
        }
    }

    /// Hands `event` to its slot.
    fn dispatch(&self, host: &mut Host<EnetSocket>, event: EventNoRef) {
        let mut slots = self.slots.borrow_mut();
        let mut waiters = self.waiters.borrow_mut();
        match event {
            EventNoRef::Connect { peer, .. } => {
                let slot = &mut slots[peer.0];
                if !matches!(slot.state, SlotState::Connecting(_)) {
                    // A connection made to this host.
                    let generation = self.renew(peer.0, slot);
                    self.accepted.borrow_mut().push_back((peer.0, generation));
                    waiters.wake_accepting();
                }
                slot.state = SlotState::Connected;
                waiters.wake_peer(peer.0);
            }
            EventNoRef::Disconnect { peer, data } => {
                // A disconnect (or its acknowledgement) is a datagram from the peer, received
                // in the service that tells of it; ENet's timeout comes of none.
                let heard = host.socket().heard_from(peer.0);
                let ending = match heard {
                    true => Ending::Disconnected(data),
                    false => Ending::StoppedAnswering,
                };
                // ENet reset the peer before it told: its figures are the last seen.
                slots[peer.0].close(None, ending);
                waiters.wake_peer(peer.0);
            }
            EventNoRef::Receive {
                peer,
                channel_id,
                packet,
            } => {
                let slot = &mut slots[peer.0];
                if slot.state != SlotState::Connected {
                    return;
                }
                slot.last_figures = Some(Figures::of(host, peer.0));
                if slot.inbox.len() >= self.config.max_queued {
                    slot.close(None, Ending::Overflowed);
                    host.peer_mut(peer).reset();
                    slot.inbox.clear();
                } else {
                    slot.inbox.push_back(EnetPacket::new(channel_id, packet));
                }
                waiters.wake_peer(peer.0);
            }
        }
    }

    /// Ends the connections still connecting, refused: an ICMP "port unreachable" came back
    /// (it does not say for which, and a host connecting to several servers is rare).
    fn refuse_connecting(&self, host: &mut Host<EnetSocket>) {
        let mut slots = self.slots.borrow_mut();
        let mut waiters = self.waiters.borrow_mut();
        for (id, slot) in slots.iter_mut().enumerate() {
            if matches!(slot.state, SlotState::Connecting(_)) {
                slot.close(Some(Figures::of(host, id)), Ending::Refused);
                host.peer_mut(PeerID(id)).reset();
                waiters.wake_peer(id);
            }
        }
    }

    /// Waits until `ready` has an answer, servicing the host meanwhile if no other bot is
    /// (and handing the service on to another waiting bot when done); `TimedOut` at `deadline`.
    pub(crate) async fn wait_until<T>(
        &self,
        interest: Interest,
        deadline: Option<Instant>,
        mut ready: impl FnMut(&Shared) -> Option<io::Result<T>>,
    ) -> io::Result<T> {
        let key = self.waiters.borrow_mut().enlist(interest);
        let _enlisted = Enlisted { shared: self, key };
        loop {
            if let Some(answer) = ready(self) {
                return answer;
            }
            let now = ttk_core::now();
            if deadline.is_some_and(|deadline| deadline <= now) {
                return Err(io::ErrorKind::TimedOut.into());
            }
            if self.driver.get().is_some() {
                // Another bot services the host: it wakes this one when there is news.
                let woken = poll_fn(|cx| match self.waiters.borrow_mut().look(key, cx.waker()) {
                    true => Poll::Ready(()),
                    false => Poll::Pending,
                });
                match deadline {
                    None => woken.await,
                    Some(deadline) => _ = ttk_core::timeout(deadline - now, woken).await,
                }
                continue;
            }
            self.driver.set(Some(key));
            let _driving = Driving { shared: self, key };
            loop {
                self.service()?;
                if let Some(answer) = ready(self) {
                    return answer;
                }
                let now = ttk_core::now();
                if deadline.is_some_and(|deadline| deadline <= now) {
                    return Err(io::ErrorKind::TimedOut.into());
                }
                if !self.host.borrow().socket().drained() {
                    // ENet left datagrams in the kernel (or returned before it read): service
                    // again, once the other bots had their turn.
                    ttk_core::__private::yield_now().await;
                    continue;
                }
                let tick = self.last_service.get() + self.interval(now);
                let until = deadline.map_or(tick, |deadline| deadline.min(tick));
                self.datagram_or_poke(key, until - now).await;
            }
        }
    }

    /// Waits up to `wait` for a datagram, or for a poke (the host turned busy).
    async fn datagram_or_poke(&self, key: u64, wait: Duration) {
        let mut readable = pin!(self.socket.readable());
        let either = poll_fn(|cx| {
            if self.waiters.borrow_mut().look(key, cx.waker()) {
                return Poll::Ready(());
            }
            readable.as_mut().poll(cx)
        });
        _ = ttk_core::timeout(wait, either).await;
    }
}

/// A waiting bot's place on the list, given up when it stops waiting.
struct Enlisted<'a> {
    shared: &'a Shared,
    key: u64,
}

impl Drop for Enlisted<'_> {
    fn drop(&mut self) {
        let mut waiters = self.shared.waiters.borrow_mut();
        waiters.leave(self.key);
        if !self.shared.accepted.borrow().is_empty() {
            // It may have been woken for a connection it did not take: another takes it.
            waiters.wake_accepting();
        }
        if self.shared.driver.get().is_none() {
            // It may have been the one woken to service the host next (and, woken by its own
            // news as well, left without servicing): the turn goes on to another.
            waiters.wake_one_besides(self.key);
        }
    }
}

/// The service, held by one bot; when it stops, another waiting bot is woken to take it.
struct Driving<'a> {
    shared: &'a Shared,
    key: u64,
}

impl Drop for Driving<'_> {
    fn drop(&mut self) {
        self.shared.driver.set(None);
        self.shared.waiters.borrow_mut().wake_one_besides(self.key);
    }
}
