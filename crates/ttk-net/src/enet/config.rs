//! How an ENet host behaves: [`EnetConfig`].

use std::time::Duration;

/// The settings of an ENet host and of the connections it makes.
///
/// ENet does its work — acknowledgements, resends, pings, throttling — when its host is
/// *serviced*; a C program calls `enet_host_service` once a frame. A ttk host is serviced
/// whenever a bot waits on it ([`EnetPeer::recv`](super::EnetPeer::recv),
/// [`EnetPeer::sleep`](super::EnetPeer::sleep), …): at once when a datagram comes, and on a
/// tick in between — every [`service_interval`](Self::service_interval) while the host is
/// busy (after a bot sent, connected or disconnected: for four of ENet's first resend
/// timeouts, 20 ms to 1 s, on a client's host of one connection; for a second on a host of
/// many), so that resends go when due, and every
/// [`idle_service_interval`](Self::idle_service_interval) otherwise (ENet's pings, every
/// 500 ms, keep the connection alive). A thousand idle players cost the loop little.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use ttk_net::enet::EnetConfig;
///
/// let config = EnetConfig {
///     channels: 4,
///     connect_timeout: Duration::from_secs(2),
///     ..EnetConfig::default()
/// };
/// assert_eq!(config.peers, 1);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnetConfig {
    /// Channels per connection (1 to 255): what a connection asks for, and the most a host
    /// accepts. Default 1.
    pub channels: usize,
    /// Connections the host can hold at once (1 to 4,095, ENet's most). Default 1, a player's
    /// client; a server's host needs more.
    pub peers: usize,
    /// The number sent with a connection request (the server's `event.data`). Default 0.
    pub connect_data: u32,
    /// How long a connection may take before it fails with `TimedOut`. Default 5 s.
    pub connect_timeout: Duration,
    /// How long [`EnetPeer::disconnect`](super::EnetPeer::disconnect) waits for the peer's
    /// acknowledgement before it drops the connection and fails with `TimedOut`. Default 3 s.
    pub disconnect_timeout: Duration,
    /// The tick of the service while the host is busy (after a bot sent, connected or
    /// disconnected): resends wait at most this long past their due time. Default 10 ms.
    pub service_interval: Duration,
    /// The tick of the service while the host is idle. Default 250 ms.
    pub idle_service_interval: Duration,
    /// The host's downstream bandwidth in bytes per second, told to its peers (ENet's
    /// `incomingBandwidth`); `None` for no limit. Default `None`.
    pub incoming_bandwidth: Option<u32>,
    /// The host's upstream bandwidth in bytes per second (ENet's `outgoingBandwidth`); `None`
    /// for no limit. Default `None`.
    pub outgoing_bandwidth: Option<u32>,
    /// The most packets received and not yet taken by [`EnetPeer::recv`](super::EnetPeer::recv)
    /// per connection: past it the connection is reset (a bot that never receives must not hold
    /// the run's memory). Default 65,536.
    pub max_queued: usize,
}

impl Default for EnetConfig {
    fn default() -> Self {
        EnetConfig {
            channels: 1,
            peers: 1,
            connect_data: 0,
            connect_timeout: Duration::from_secs(5),
            disconnect_timeout: Duration::from_secs(3),
            service_interval: Duration::from_millis(10),
            idle_service_interval: Duration::from_millis(250),
            incoming_bandwidth: None,
            outgoing_bandwidth: None,
            max_queued: 65_536,
        }
    }
}
