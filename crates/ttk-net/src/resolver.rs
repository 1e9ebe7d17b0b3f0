//! The process-wide resolver: what turns a host name into addresses.

use std::io;
use std::net::{SocketAddr, ToSocketAddrs as _};
use std::sync::{Arc, PoisonError, RwLock};

use ttk_core::metrics::KindedError;

/// A resolver: a host name (never an IP literal) and a port to the addresses to try, in order.
type Resolve = dyn Fn(&str, u16) -> io::Result<Vec<SocketAddr>> + Send + Sync;

/// The resolver installed with [`set_resolver`]; `None` means the system's.
static RESOLVER: RwLock<Option<Arc<Resolve>>> = RwLock::new(None);

/// Installs `resolver` for the whole process: every host name any bot (on any thread) connects
/// to or looks up from now on goes to it, in place of the system's resolver.
///
/// It is called on a helper thread, never on a loop thread, so it may block; it is given the
/// host name and port of a value like `"db.internal:5432"` or `("db.internal", 5432)`, never an
/// IP literal (those need no lookup). Its error reaches the bot unchanged; a panic reaches the
/// bot as an error of kind `Other`. Lookups already under way finish with the resolver they
/// started with.
///
/// Without it, names go to the system (`getaddrinfo`, as std's `ToSocketAddrs` does). To go
/// back to that, install `|host, port| (host, port).to_socket_addrs().map(Iterator::collect)`.
/// A resolver is also where to map made-up names for a load test, or to cache answers.
///
/// # Examples
/// ```
/// # use ttk_macros::bot;
/// # use ttk_core::Cx;
/// use std::net::{Ipv4Addr, SocketAddr, ToSocketAddrs};
/// use ttk_net::{TcpListener, TcpStream};
///
/// // Every `*.test` name is this machine; other names go to the system.
/// ttk_net::set_resolver(|host, port| {
///     if host.ends_with(".test") {
///         Ok(vec![SocketAddr::from((Ipv4Addr::LOCALHOST, port))])
///     } else {
///         (host, port).to_socket_addrs().map(Iterator::collect)
///     }
/// });
///
/// #[bot(crate = ttk_core)]
/// fn shopper(_cx: Cx, _id: usize) -> std::io::Result<bool> {
///     let listener = TcpListener::bind("127.0.0.1:0")?;
///     let port = listener.local_addr()?.port();
///     let client = ttk_core::yield_!(TcpStream::connect(("shop.test", port)))?;
///     let (_server, peer) = ttk_core::yield_!(listener.accept())?;
///     Ok(peer == client.local_addr()?)
/// }
///
/// assert!(ttk_core::run(1, shopper)[0].as_ref().unwrap());
/// ```
pub fn set_resolver(
    resolver: impl Fn(&str, u16) -> io::Result<Vec<SocketAddr>> + Send + Sync + 'static,
) {
    *RESOLVER.write().unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(resolver));
}

/// Looks `host` up with the installed resolver (blocking: call it on a helper thread).
pub(crate) fn resolve(host: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
    // Cloned out of the lock, so a slow lookup does not hold up `set_resolver`.
    let installed = RESOLVER
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    match installed {
        Some(resolver) => resolver(host, port),
        None => (host, port)
            .to_socket_addrs()
            .map(Iterator::collect)
            .map_err(|error| host_not_found(host, &error)),
    }
}

/// The kind a failed lookup of the system resolver counts under in a report (a name that
/// does not resolve, or no answer from DNS): std gives such an error no `io::ErrorKind` of
/// its own (it is `Uncategorized`). The message names the host.
///
/// # Examples
/// ```
/// # use ttk_macros::bot;
/// # use ttk_core::Cx;
/// use ttk_core::metrics::Failure;
///
/// #[bot(crate = ttk_core)]
/// fn look_up(_cx: Cx, _id: usize) -> (String, String) {
///     // `.invalid` never resolves (RFC 2606).
///     let error = ttk_core::yield_!(ttk_net::lookup_host("no-such-host.invalid:80")).unwrap_err();
///     (Failure::of(&error).kind(), error.to_string())
/// }
///
/// let (kind, message) = ttk_core::run(1, look_up).pop().unwrap();
/// assert_eq!(kind, ttk_net::HOST_NOT_FOUND);
/// assert!(message.starts_with("cannot resolve the host name `no-such-host.invalid`"), "{message}");
/// ```
pub const HOST_NOT_FOUND: &str = "HostNotFound";

/// The system resolver's failure to resolve `host`, counted as [`HOST_NOT_FOUND`] and
/// naming the host; its `io::ErrorKind` is the original's.
fn host_not_found(host: &str, error: &io::Error) -> io::Error {
    KindedError::new(
        HOST_NOT_FOUND,
        format!("cannot resolve the host name `{host}`: {error}"),
    )
    .into_io(error.kind())
}
