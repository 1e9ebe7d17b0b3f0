//! `--local-ips`: the source addresses connections leave from, in turn.
//!
//! One source address reaches one server address and port from at most the ephemeral port
//! range (28,232 ports on Linux by default): a run with more connections to one server must
//! spread them over several source addresses. On Linux all of 127.0.0.0/8 is the loopback
//! interface's, so a run against a loopback target can do so with no setup.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::str::FromStr;

/// The most addresses a pool holds (a /16): more would not be used by any run.
const MOST_ADDRESSES: u64 = 65_536;

/// Connections each loopback source carries when ttk spreads a large run itself. Linux hands
/// a connect the even ports of the range first (14,116 of the default 28,232); past them it
/// searches the whole range for every connect, and a loop connecting thousands stalls for
/// seconds (measured: 1.7 s at 14,000 connections from one address, none from two).
pub(crate) const PER_LOOPBACK_SOURCE: u32 = 10_000;

/// A pool of source addresses, each an address of this machine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Sources {
    addresses: Vec<IpAddr>,
    /// As given (or as chosen), for messages.
    text: String,
}

impl Sources {
    /// The source of connection `connection` (a bot id): the pool's addresses in turn, any
    /// port.
    pub(crate) fn for_connection(&self, connection: usize) -> SocketAddr {
        SocketAddr::new(self.addresses[connection % self.addresses.len()], 0)
    }

    /// `count` loopback sources from 127.0.0.1 on.
    pub(crate) fn loopback(count: u32) -> Sources {
        let count = count.clamp(1, 254);
        let addresses: Vec<IpAddr> = (1..=count)
            .map(|last| IpAddr::V4(Ipv4Addr::new(127, 0, 0, last as u8)))
            .collect();
        let text = match count {
            1 => "127.0.0.1".to_owned(),
            _ => format!("127.0.0.1-127.0.0.{count}"),
        };
        Sources { addresses, text }
    }

    /// How many addresses the pool holds.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.addresses.len()
    }

    /// The pool as given.
    pub(crate) fn as_str(&self) -> &str {
        &self.text
    }
}

impl FromStr for Sources {
    type Err = String;

    /// A comma-separated list of addresses, ranges (`127.0.0.2-127.0.0.250`) and CIDR blocks
    /// (`127.0.0.0/24`, whose network and broadcast addresses are left out for IPv4 blocks of
    /// more than two addresses), each address checked to be this machine's.
    fn from_str(text: &str) -> Result<Sources, String> {
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
        Ok(Sources {
            addresses,
            text: text.trim().to_owned(),
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
        let sources: Sources = text.parse().unwrap();
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
        let sources: Sources = "127.0.0.2-127.0.0.3".parse().unwrap();
        let ips: Vec<String> = (0..4)
            .map(|k| sources.for_connection(k).to_string())
            .collect();
        assert_eq!(
            ips,
            ["127.0.0.2:0", "127.0.0.3:0", "127.0.0.2:0", "127.0.0.3:0"]
        );
        let chosen = Sources::loopback(3);
        assert_eq!(chosen.as_str(), "127.0.0.1-127.0.0.3");
        assert_eq!(chosen.for_connection(5).ip().to_string(), "127.0.0.3");
    }

    #[test]
    fn bad_pools_are_refused_with_the_reason() {
        let refused = |text: &str| text.parse::<Sources>().unwrap_err();
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
