//! What goes over an ENet connection: [`Delivery`] and [`EnetPacket`].

/// How ENet delivers a packet.
///
/// # Examples
/// ```
/// use ttk_net::enet::Delivery;
///
/// assert_ne!(Delivery::Reliable, Delivery::Unsequenced);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Delivery {
    /// Acknowledged and resent until it arrives; in order on its channel.
    Reliable,
    /// Sent once; on its channel, one older than the last delivered is dropped (a position
    /// update). A packet larger than the connection's MTU goes as reliable fragments, as ENet
    /// does.
    Unreliable,
    /// Sent once, delivered in whatever order it comes (and not at all if lost).
    Unsequenced,
}

impl Delivery {
    /// ENet's kind for it.
    pub(crate) fn kind(self) -> rusty_enet::PacketKind {
        match self {
            Delivery::Reliable => rusty_enet::PacketKind::Reliable,
            Delivery::Unreliable => rusty_enet::PacketKind::Unreliable { sequenced: true },
            Delivery::Unsequenced => rusty_enet::PacketKind::Unreliable { sequenced: false },
        }
    }
}

/// A packet received on an ENet connection: its channel and bytes. (How it was sent is not
/// told: the receiving side of ENet's API does not say.)
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
/// fn pair(_cx: Cx, id: usize, server: SocketAddr) -> std::io::Result<(u8, Vec<u8>)> {
/// #   if id == 0 { ttk_core::yield_!(echo(server))?; return Ok((0, Vec::new())); }
///     let config = EnetConfig { channels: 2, ..EnetConfig::default() };
///     let peer = ttk_core::yield_!(EnetPeer::connect(server, &config))?;
///     peer.send(1, b"hi", Delivery::Reliable)?;
///     let packet = ttk_core::yield_!(peer.recv())?.expect("connected");
///     Ok((packet.channel(), packet.data().to_vec()))
/// }
///
/// let outcomes = ttk_core::run(2, |cx, id| pair(cx, id, server));
/// assert_eq!(outcomes[1].as_ref().unwrap(), &(1, b"hi".to_vec()));
/// ```
pub struct EnetPacket {
    /// The channel it came on.
    channel: u8,
    /// ENet's packet (its bytes, not copied).
    packet: rusty_enet::Packet,
}

impl EnetPacket {
    /// `packet`, received on `channel`.
    pub(crate) fn new(channel: u8, packet: rusty_enet::Packet) -> EnetPacket {
        EnetPacket { channel, packet }
    }

    /// The channel it came on.
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
    /// fn channel(_cx: Cx, id: usize, server: SocketAddr) -> std::io::Result<u8> {
    /// #   if id == 0 { ttk_core::yield_!(echo(server))?; return Ok(0); }
    ///     let config = EnetConfig { channels: 2, ..EnetConfig::default() };
    ///     let peer = ttk_core::yield_!(EnetPeer::connect(server, &config))?;
    ///     peer.send(1, b"chat", Delivery::Reliable)?;
    ///     Ok(ttk_core::yield_!(peer.recv())?.expect("connected").channel())
    /// }
    ///
    /// let outcomes = ttk_core::run(2, |cx, id| channel(cx, id, server));
    /// assert_eq!(outcomes[1].as_ref().unwrap(), &1);
    /// ```
    pub fn channel(&self) -> u8 {
        self.channel
    }

    /// Its bytes.
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
    /// fn data(_cx: Cx, id: usize, server: SocketAddr) -> std::io::Result<Vec<u8>> {
    /// #   if id == 0 { ttk_core::yield_!(echo(server))?; return Ok(Vec::new()); }
    ///     let peer = ttk_core::yield_!(EnetPeer::connect(server, &EnetConfig::default()))?;
    ///     peer.send(0, b"hello", Delivery::Unsequenced)?;
    ///     Ok(ttk_core::yield_!(peer.recv())?.expect("connected").data().to_vec())
    /// }
    ///
    /// let outcomes = ttk_core::run(2, |cx, id| data(cx, id, server));
    /// assert_eq!(outcomes[1].as_ref().unwrap(), b"hello");
    /// ```
    pub fn data(&self) -> &[u8] {
        self.packet.data()
    }
}

impl std::fmt::Debug for EnetPacket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnetPacket")
            .field("channel", &self.channel)
            .field("len", &self.data().len())
            .finish()
    }
}
