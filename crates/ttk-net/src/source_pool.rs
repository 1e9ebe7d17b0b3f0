//! Source addresses: a pool of this machine's addresses that connections leave from in turn
//! (`--local-ips`).
//!
//! One source address reaches one server address and port from at most the ephemeral port
//! range (28,232 ports on Linux by default): a run with more connections to one server must
//! spread them over several source addresses. On Linux all of 127.0.0.0/8 is the loopback
//! interface's, so a run against a loopback target can do so with no setup.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

/// The most addresses a pool holds (a /16): more would not be used by any run.
const MOST_ADDRESSES: u64 = 65_536;

/// A pool of source addresses, each an address of this machine, that connections and UDP
/// sockets leave from in turn.
///
/// # Examples
/// ```
/// use ttk_net::SourcePool;
///
/// let pool: SourcePool = "127.0.0.2-127.0.0.3".parse().unwrap();
/// assert_eq!(pool.len(), 2);
/// assert_eq!(pool.for_connection(3).to_string(), "127.0.0.3:0");
/// // An address of another machine is refused, with the reason.
/// let error = "192.0.2.1".parse::<SourcePool>().unwrap_err();
/// assert!(error.contains("not an address of this machine"));
/// ```
#[derive(Debug)]
pub struct SourcePool {
    addresses: Vec<IpAddr>,
    /// As given (or as chosen), for messages.
    text: String,
    /// The next address [`SourcePool::next`] gives.
    turn: AtomicUsize,
    /// The next address a datagram socket of the default pool takes: apart from connections',
    /// so that each spreads evenly over the pool.
    datagram_turn: AtomicUsize,
}

impl Clone for SourcePool {
    fn clone(&self) -> Self {
        SourcePool {
            addresses: self.addresses.clone(),
            text: self.text.clone(),
            turn: AtomicUsize::new(self.turn.load(Ordering::Relaxed)),
            datagram_turn: AtomicUsize::new(self.datagram_turn.load(Ordering::Relaxed)),
        }
    }
}

impl PartialEq for SourcePool {
    fn eq(&self, other: &Self) -> bool {
        self.addresses == other.addresses
    }
}

impl Eq for SourcePool {}

impl SourcePool {
    /// The source of connection `connection` (a bot id, say): the pool's addresses in turn,
    /// any port.
    ///
    /// # Examples
    /// ```
    /// let pool: ttk_net::SourcePool = "127.0.0.5,127.0.0.7".parse().unwrap();
    /// assert_eq!(pool.for_connection(0).to_string(), "127.0.0.5:0");
    /// assert_eq!(pool.for_connection(1).to_string(), "127.0.0.7:0");
    /// ```
    pub fn for_connection(&self, connection: usize) -> SocketAddr {
        SocketAddr::new(self.addresses[connection % self.addresses.len()], 0)
    }

    /// The next source address, any port: the pool's addresses in turn, whoever asks.
    ///
    /// # Examples
    /// ```
    /// let pool: ttk_net::SourcePool = "127.0.0.2-127.0.0.3".parse().unwrap();
    /// let turns: Vec<String> = (0..3).map(|_| pool.next().ip().to_string()).collect();
    /// assert_eq!(turns, ["127.0.0.2", "127.0.0.3", "127.0.0.2"]);
    /// ```
    pub fn next(&self) -> SocketAddr {
        self.for_connection(self.turn.fetch_add(1, Ordering::Relaxed))
    }

    /// Whether the pool's addresses are IPv4 ones.
    ///
    /// # Examples
    /// ```
    /// let pool: ttk_net::SourcePool = "127.0.0.2".parse().unwrap();
    /// assert!(pool.is_ipv4());
    /// ```
    pub fn is_ipv4(&self) -> bool {
        self.addresses[0].is_ipv4()
    }

    /// `count` loopback sources from 127.0.0.1 on (at most 254).
    ///
    /// # Examples
    /// ```
    /// let pool = ttk_net::SourcePool::loopback(3);
    /// assert_eq!(pool.as_str(), "127.0.0.1-127.0.0.3");
    /// ```
    pub fn loopback(count: u32) -> SourcePool {
        let count = count.clamp(1, 254);
        let addresses: Vec<IpAddr> = (1..=count)
            .map(|last| IpAddr::V4(Ipv4Addr::new(127, 0, 0, last as u8)))
            .collect();
        let text = match count {
            1 => "127.0.0.1".to_owned(),
            _ => format!("127.0.0.1-127.0.0.{count}"),
        };
        SourcePool {
            addresses,
            text,
            turn: AtomicUsize::new(0),
            datagram_turn: AtomicUsize::new(0),
        }
    }

    /// How many addresses the pool holds.
    ///
    /// # Examples
    /// ```
    /// let pool: ttk_net::SourcePool = "127.0.1.0/30".parse().unwrap();
    /// assert_eq!(pool.len(), 2); // a block's network and broadcast addresses left out
    /// ```
    pub fn len(&self) -> usize {
        self.addresses.len()
    }

    /// Whether the pool is empty: never (a pool holds an address at least).
    ///
    /// # Examples
    /// ```
    /// assert!(!ttk_net::SourcePool::loopback(1).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.addresses.is_empty()
    }

    /// The pool as given.
    ///
    /// # Examples
    /// ```
    /// let pool: ttk_net::SourcePool = " 127.0.0.2-127.0.0.9 ".parse().unwrap();
    /// assert_eq!(pool.as_str(), "127.0.0.2-127.0.0.9");
    /// ```
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Makes `pool` the process's default: from now on [`TcpStream::connect`] binds each
    /// connection to its next address (when the server has an address of the pool's family),
    /// and [`UdpSocket::bind`] of an unspecified address (`0.0.0.0:0`, `[::]:0`) binds to its next
    /// address instead. `None` takes the default away. Explicit sources
    /// ([`TcpStream::connect_from`], a socket bound to an address) are kept. A run given a
    /// pool of its own (`Runtime::extension`, as the harness's `--local-ips` does) uses that
    /// one instead.
    ///
    /// # Examples
    /// ```
    /// use ttk_net::SourcePool;
    ///
    /// let pool: SourcePool = "127.0.0.2-127.0.0.9".parse().unwrap();
    /// // In a load test's `main`, before its run: every connection from the pool.
    /// # let _ = || {
    /// SourcePool::set_default(Some(pool));
    /// # };
    /// // No pool: connections leave from the address the OS picks.
    /// SourcePool::set_default(None);
    /// assert!(SourcePool::default_pool().is_none());
    /// ```
    ///
    /// [`TcpStream::connect`]: crate::TcpStream::connect
    /// [`TcpStream::connect_from`]: crate::TcpStream::connect_from
    /// [`UdpSocket::bind`]: crate::UdpSocket::bind
    pub fn set_default(pool: Option<SourcePool>) {
        *DEFAULT
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = pool.map(Arc::new);
    }

    /// The process's default pool, if one was set ([`SourcePool::set_default`]).
    ///
    /// # Examples
    /// ```
    /// // A process that never set one has none.
    /// assert!(ttk_net::SourcePool::default_pool().is_none());
    /// ```
    pub fn default_pool() -> Option<Arc<SourcePool>> {
        DEFAULT
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }
}

/// The pool of the running bot's run (the harness's `--local-ips`), else the process's.
fn run_pool() -> Option<Arc<SourcePool>> {
    ttk_core::io::extension::<SourcePool>().or_else(SourcePool::default_pool)
}

/// The process's default pool.
static DEFAULT: RwLock<Option<Arc<SourcePool>>> = RwLock::new(None);

/// The next address of the default pool for a connection to `peer`, if there is a default
/// pool of its family.
pub(crate) fn default_source_for(peer: SocketAddr) -> Option<SocketAddr> {
    let pool = run_pool()?;
    (pool.is_ipv4() == peer.is_ipv4()).then(|| pool.next())
}

/// The next address of the default pool for a datagram socket bound to the unspecified
/// address `any`, if there is a default pool of its family.
pub(crate) fn default_datagram_source(any: SocketAddr) -> Option<SocketAddr> {
    let pool = run_pool()?;
    let turn = pool.datagram_turn.fetch_add(1, Ordering::Relaxed);
    (pool.is_ipv4() == any.is_ipv4()).then(|| pool.for_connection(turn))
}

impl FromStr for SourcePool {
    type Err = String;

    /// A comma-separated list of addresses, ranges (`127.0.0.2-127.0.0.250`) and CIDR blocks
    /// (`127.0.0.0/24`, whose network and broadcast addresses are left out for IPv4 blocks of
    /// more than two addresses), each address checked to be this machine's.
    fn from_str(text: &str) -> Result<SourcePool, String> {
        let mut addresses = Vec::new();
        for part in text.split(',').map(str::trim) {
            if part.is_empty() {
                return Err(format!("`{text}` has an empty entry"));
            }
            let (first, count) = span(part)?;
            if count > MOST_ADDRESSES - addresses.len() as u64 {
                return Err(format!(
                    "`{text}` holds more than {MOST_ADDRESSES} addresses: give fewer"
                ));
            }
            addresses.extend((0..count).map(|k| offset(first, k)));
        }
        let families: Vec<bool> = addresses.iter().map(IpAddr::is_ipv4).collect();
        if families.contains(&true) && families.contains(&false) {
            return Err(format!(
                "`{text}` mixes IPv4 and IPv6 addresses: a server is reached from one family"
            ));
        }
        for address in &addresses {
            check_local(*address)?;
        }
        Ok(SourcePool {
            addresses,
            text: text.trim().to_owned(),
            turn: AtomicUsize::new(0),
            datagram_turn: AtomicUsize::new(0),
        })
    }
}

/// The first address of one entry and how many it holds.
fn span(part: &str) -> Result<(IpAddr, u64), String> {
    let address = |text: &str| {
        text.trim()
            .parse::<IpAddr>()
            .map_err(|_| format!("`{}` is not an IP address", text.trim()))
    };
    if let Some((first, last)) = part.split_once('-') {
        let (first, last) = (address(first)?, address(last)?);
        let (low, high) = match (first, last) {
            (IpAddr::V4(a), IpAddr::V4(b)) => (u128::from(u32::from(a)), u128::from(u32::from(b))),
            (IpAddr::V6(a), IpAddr::V6(b)) => (u128::from(a), u128::from(b)),
            _ => return Err(format!("`{part}`: a range is of one family")),
        };
        if high < low {
            return Err(format!("`{part}`: the range ends before it starts"));
        }
        let count = u64::try_from((high - low).saturating_add(1)).unwrap_or(u64::MAX);
        return Ok((first, count));
    }
    if let Some((base, bits)) = part.split_once('/') {
        let base = address(base)?;
        let width = if base.is_ipv4() { 32 } else { 128 };
        let bits: u32 = bits
            .trim()
            .parse()
            .ok()
            .filter(|&bits| bits <= width)
            .ok_or_else(|| format!("`{part}`: the prefix length is 0 to {width}"))?;
        let host_bits = width - bits;
        let size = 1u128.checked_shl(host_bits).unwrap_or(u128::MAX);
        let network = match base {
            IpAddr::V4(v4) => u128::from(u32::from(v4)) & !(size - 1),
            IpAddr::V6(v6) => u128::from(v6) & !(size.wrapping_sub(1)),
        };
        let first = match base {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::from(network as u32)),
            IpAddr::V6(_) => IpAddr::V6(network.into()),
        };
        let count = u64::try_from(size).unwrap_or(u64::MAX);
        // An IPv4 block's network and broadcast addresses are not hosts'.
        return Ok(match (base.is_ipv4(), count > 2) {
            (true, true) => (offset(first, 1), count - 2),
            _ => (first, count),
        });
    }
    Ok((address(part)?, 1))
}

/// `address` plus `k`.
fn offset(address: IpAddr, k: u64) -> IpAddr {
    match address {
        IpAddr::V4(v4) => IpAddr::V4(Ipv4Addr::from(u32::from(v4).wrapping_add(k as u32))),
        IpAddr::V6(v6) => IpAddr::V6((u128::from(v6).wrapping_add(u128::from(k))).into()),
    }
}

/// Whether `address` is one of this machine's: a socket binds to it.
fn check_local(address: IpAddr) -> Result<(), String> {
    UdpSocket::bind(SocketAddr::new(address, 0))
        .map(drop)
        .map_err(|error| {
            format!(
                "{address} is not an address of this machine ({error}): --local-ips takes \
                 addresses of its interfaces (all of 127.0.0.0/8 is the loopback's)"
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(text: &str) -> Vec<String> {
        let sources: SourcePool = text.parse().unwrap();
        (0..sources.len())
            .map(|k| sources.for_connection(k).ip().to_string())
            .collect()
    }

    #[test]
    fn ranges_blocks_and_lists_are_read() {
        assert_eq!(
            listed("127.0.0.2-127.0.0.4"),
            ["127.0.0.2", "127.0.0.3", "127.0.0.4"]
        );
        assert_eq!(listed("127.0.1.0/30"), ["127.0.1.1", "127.0.1.2"]);
        assert_eq!(listed("127.0.0.9/32"), ["127.0.0.9"]);
        assert_eq!(listed("127.0.0.5, 127.0.0.7"), ["127.0.0.5", "127.0.0.7"]);
        assert_eq!(
            listed("127.0.0.255-127.0.1.0"),
            ["127.0.0.255", "127.0.1.0"]
        );
        assert_eq!(listed("127.0.0.0/16").len(), 65_534);
    }

    #[test]
    fn connections_take_the_sources_in_turn() {
        let sources: SourcePool = "127.0.0.2-127.0.0.3".parse().unwrap();
        let ips: Vec<String> = (0..4)
            .map(|k| sources.for_connection(k).to_string())
            .collect();
        assert_eq!(
            ips,
            ["127.0.0.2:0", "127.0.0.3:0", "127.0.0.2:0", "127.0.0.3:0"]
        );
        let chosen = SourcePool::loopback(3);
        assert_eq!(chosen.as_str(), "127.0.0.1-127.0.0.3");
        assert_eq!(chosen.for_connection(5).ip().to_string(), "127.0.0.3");
    }

    #[test]
    fn bad_pools_are_refused_with_the_reason() {
        let refused = |text: &str| text.parse::<SourcePool>().unwrap_err();
        assert!(refused("192.0.2.1").contains("not an address of this machine"));
        assert!(refused("127.0.0.9-127.0.0.2").contains("ends before it starts"));
        assert!(refused("127.0.0.1,::1").contains("mixes IPv4 and IPv6"));
        assert!(refused("localhost").contains("not an IP address"));
        assert!(refused("127.0.0.0/33").contains("prefix length"));
        assert!(refused("127.0.0.0/8").contains("more than 65536"));
        assert!(refused("127.0.0.1,").contains("empty entry"));
        // Counts past any pool's, without overflowing.
        assert!(refused("::1,fd00::/64").contains("more than 65536"));
        assert!(refused("::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff").contains("more than"));
    }
}
