//! What `connect`, `bind` and `lookup_host` accept: addresses, or host names to look up.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::{option, vec};

use sealed::{Resolution, ToSocketAddrsPriv};

/// Names one or more socket addresses: what [`TcpStream::connect`](crate::TcpStream::connect),
/// [`lookup_host`](crate::lookup_host), [`TcpListener::bind`](crate::TcpListener::bind) and
/// [`UdpSocket::bind`](crate::UdpSocket::bind) take.
///
/// It is implemented for the types std's [`std::net::ToSocketAddrs`] is (`SocketAddr`,
/// `SocketAddrV4`, `SocketAddrV6`, `(IpAddr, u16)`, `(Ipv4Addr, u16)`, `(Ipv6Addr, u16)`,
/// `(&str, u16)`, `(String, u16)`, `str`, `String`, `&[SocketAddr]`, and `&T` for each), plus
/// `Vec<SocketAddr>`. Unlike std's, it never blocks the loop:
///
/// - an IP literal (`"127.0.0.1:7000"`, `"[::1]:7000"`, `("10.0.0.7", 80)`, a `SocketAddr`) is
///   used at once, on the bot's thread, with no lookup;
/// - a host name (`"localhost:7000"`, `("db.internal", 5432)`) is looked up on a helper thread
///   by the process-wide resolver (see [`set_resolver`](crate::set_resolver)) while the bot
///   waits and the other bots run.
///
/// The trait is sealed, so that how a value becomes addresses stays private; a type of your own
/// converts to a `SocketAddr`, a `Vec<SocketAddr>` or a `(String, u16)` first.
///
/// # Examples
/// ```
/// # use ttk_macros::bot;
/// # use ttk_core::Cx;
/// use std::net::Ipv4Addr;
/// use ttk_net::{TcpListener, TcpStream};
///
/// #[bot(crate = ttk_core)]
/// fn three_ways(_cx: Cx, _id: usize) -> std::io::Result<usize> {
///     let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
///     let addr = listener.local_addr()?;
///     let written = format!("127.0.0.1:{}", addr.port());
///     let _a = ttk_core::yield_!(TcpStream::connect(addr))?;
///     let _b = ttk_core::yield_!(TcpStream::connect(&written))?;
///     let _c = ttk_core::yield_!(TcpStream::connect(("127.0.0.1", addr.port())))?;
///     let mut accepted = 0;
///     for _ in 0..3 {
///         ttk_core::yield_!(listener.accept())?;
///         accepted += 1;
///     }
///     Ok(accepted)
/// }
///
/// assert_eq!(*ttk_core::run(1, three_ways)[0].as_ref().unwrap(), 3);
/// ```
pub trait ToSocketAddrs: ToSocketAddrsPriv {}

/// The trait's machinery, out of users' reach.
pub(crate) mod sealed {
    use super::*;

    /// How a [`ToSocketAddrs`](super::ToSocketAddrs) value becomes addresses.
    pub trait ToSocketAddrsPriv {
        /// The addresses, or the name to look up.
        fn resolution(&self) -> Resolution<'_>;
    }

    /// What a value names.
    #[derive(Debug)]
    pub enum Resolution<'a> {
        /// Addresses known without a lookup (or why the value names none).
        Known(io::Result<Addrs>),
        /// A host name and port, to look up.
        Name(&'a str, u16),
    }

    /// Addresses in the order to try them. One address, the common case, needs no allocation.
    #[derive(Debug)]
    pub struct Addrs(pub(super) Inner);

    /// The two shapes of [`Addrs`].
    #[derive(Debug)]
    pub(super) enum Inner {
        /// A single address.
        One(option::IntoIter<SocketAddr>),
        /// A list (several literals, or a lookup's answer).
        Many(vec::IntoIter<SocketAddr>),
    }

    impl Iterator for Addrs {
        type Item = SocketAddr;

        fn next(&mut self) -> Option<SocketAddr> {
            match &mut self.0 {
                Inner::One(one) => one.next(),
                Inner::Many(many) => many.next(),
            }
        }
    }

    impl From<SocketAddr> for Addrs {
        fn from(addr: SocketAddr) -> Addrs {
            Addrs(Inner::One(Some(addr).into_iter()))
        }
    }

    impl From<Vec<SocketAddr>> for Addrs {
        fn from(addrs: Vec<SocketAddr>) -> Addrs {
            Addrs(Inner::Many(addrs.into_iter()))
        }
    }
}

/// Implements the trait for address types that convert into a `SocketAddr`.
macro_rules! literal {
    ($($ty:ty),*) => {$(
        impl ToSocketAddrs for $ty {}

        impl ToSocketAddrsPriv for $ty {
            fn resolution(&self) -> Resolution<'_> {
                Resolution::Known(Ok(SocketAddr::from(*self).into()))
            }
        }
    )*};
}

literal!(
    SocketAddr,
    SocketAddrV4,
    SocketAddrV6,
    (IpAddr, u16),
    (Ipv4Addr, u16),
    (Ipv6Addr, u16)
);

impl ToSocketAddrs for (&str, u16) {}

impl ToSocketAddrsPriv for (&str, u16) {
    fn resolution(&self) -> Resolution<'_> {
        host_port(self.0, self.1)
    }
}

impl ToSocketAddrs for (String, u16) {}

impl ToSocketAddrsPriv for (String, u16) {
    fn resolution(&self) -> Resolution<'_> {
        host_port(&self.0, self.1)
    }
}

impl ToSocketAddrs for str {}

impl ToSocketAddrsPriv for str {
    fn resolution(&self) -> Resolution<'_> {
        if let Ok(addr) = self.parse::<SocketAddr>() {
            return Resolution::Known(Ok(addr.into()));
        }
        // Not a literal: `HOST:PORT`, split at the last colon as std does.
        let Some((host, port)) = self.rsplit_once(':') else {
            return invalid(format!(
                "invalid socket address {self:?}: expected HOST:PORT"
            ));
        };
        match port.parse() {
            Ok(port) => host_port(host, port),
            Err(_) => invalid(format!("invalid port value in {self:?}")),
        }
    }
}

impl ToSocketAddrs for String {}

impl ToSocketAddrsPriv for String {
    fn resolution(&self) -> Resolution<'_> {
        self.as_str().resolution()
    }
}

impl ToSocketAddrs for [SocketAddr] {}

impl ToSocketAddrsPriv for [SocketAddr] {
    fn resolution(&self) -> Resolution<'_> {
        match self {
            [one] => Resolution::Known(Ok((*one).into())),
            many => Resolution::Known(Ok(many.to_vec().into())),
        }
    }
}

impl ToSocketAddrs for Vec<SocketAddr> {}

impl ToSocketAddrsPriv for Vec<SocketAddr> {
    fn resolution(&self) -> Resolution<'_> {
        self.as_slice().resolution()
    }
}

impl<T: ToSocketAddrs + ?Sized> ToSocketAddrs for &T {}

impl<T: ToSocketAddrsPriv + ?Sized> ToSocketAddrsPriv for &T {
    fn resolution(&self) -> Resolution<'_> {
        (**self).resolution()
    }
}

/// `host` with `port`: known at once if `host` is an IP literal, a name to look up otherwise.
fn host_port(host: &str, port: u16) -> Resolution<'_> {
    match host.parse::<IpAddr>() {
        Ok(ip) => Resolution::Known(Ok(SocketAddr::new(ip, port).into())),
        Err(_) => Resolution::Name(host, port),
    }
}

/// A value that names no address, for the reason `message` gives (std's kind for it).
fn invalid(message: String) -> Resolution<'static> {
    Resolution::Known(Err(io::Error::new(io::ErrorKind::InvalidInput, message)))
}
