//! Turning a [`ToSocketAddrs`] into addresses without blocking the loop: literals at once, host
//! names on a helper thread while the bot waits.

use std::any::Any;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

use crate::helper_threads;
use crate::resolver;
use crate::to_socket_addrs::ToSocketAddrs;
use crate::to_socket_addrs::sealed::{Addrs, Resolution};

/// The addresses `addr` names; wait for them with `yield_!(lookup_host(addr))`.
///
/// An IP literal is answered at once, with no lookup and no thread. A host name is looked up
/// by the process-wide resolver ([`set_resolver`](crate::set_resolver); the system's by
/// default) on a helper thread, while this bot waits and the other bots run. Use it to bind or
/// send to a named host: [`TcpListener::bind`](crate::TcpListener::bind) and
/// [`UdpSocket::bind`](crate::UdpSocket::bind) take only literals, because they cannot wait.
///
/// # Errors
/// `InvalidInput` if `addr` is malformed (`"host"` without a port, a bad port); if the lookup
/// fails, an installed resolver's error unchanged, or the system resolver's counted as
/// [`HOST_NOT_FOUND`](crate::HOST_NOT_FOUND) and naming the host; `Other` if the resolver
/// panicked.
///
/// # Examples
/// ```
/// # use ttk_macros::bot;
/// # use ttk_core::Cx;
/// #[bot(crate = ttk_core)]
/// fn look_up(_cx: Cx, _id: usize) -> std::io::Result<(bool, String)> {
///     let named = ttk_core::yield_!(ttk_net::lookup_host("localhost:8080"))?;
///     let literal = ttk_core::yield_!(ttk_net::lookup_host(("::1", 8080)))?;
///     Ok((named.iter().any(|a| a.ip().is_loopback()), literal[0].to_string()))
/// }
///
/// let (loopback, literal) = ttk_core::run(1, look_up).pop().unwrap().unwrap();
/// assert!(loopback);
/// assert_eq!(literal, "[::1]:8080");
/// ```
pub async fn lookup_host(addr: impl ToSocketAddrs) -> io::Result<Vec<SocketAddr>> {
    Ok(resolve(&addr).await?.collect())
}

/// The addresses `addr` names, looking a host name up on a helper thread.
pub(crate) async fn resolve<A: ToSocketAddrs + ?Sized>(addr: &A) -> io::Result<Addrs> {
    match addr.resolution() {
        Resolution::Known(addrs) => addrs,
        Resolution::Name(host, port) => HostLookup::start(host, port).await.map(Addrs::from),
    }
}

/// The addresses `addr` names if it is made of IP literals, for `operation`, which cannot wait
/// for a lookup.
///
/// # Errors
/// `InvalidInput` for a host name (saying to use [`lookup_host`]) or a malformed `addr`.
pub(crate) fn literal<A: ToSocketAddrs + ?Sized>(addr: &A, operation: &str) -> io::Result<Addrs> {
    match addr.resolution() {
        Resolution::Known(addrs) => addrs,
        Resolution::Name(host, port) => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "{operation} takes an IP address, not a host name ({host:?}): a lookup would \
                 block the loop; look it up first with `yield_!(lookup_host((\"{host}\", {port})))`"
            ),
        )),
    }
}

/// A lookup running on a helper thread; dropping it abandons the lookup (its answer is
/// discarded, and a lookup not yet begun is skipped).
#[derive(Debug)]
struct HostLookup {
    /// Shared with the helper thread's job.
    slot: Arc<Mutex<Slot>>,
}

/// Where the helper thread leaves the answer and finds whom to wake.
#[derive(Debug, Default)]
struct Slot {
    /// The answer, once there is one.
    answer: Option<io::Result<Vec<SocketAddr>>>,
    /// The waiting bot's waker, once it has waited.
    waker: Option<Waker>,
}

impl HostLookup {
    /// Queues the lookup of `host` on a helper thread.
    fn start(host: &str, port: u16) -> HostLookup {
        let slot = Arc::new(Mutex::new(Slot::default()));
        let theirs = Arc::clone(&slot);
        let host = host.to_owned();
        let job = move || {
            // The bot dropped the lookup before it began: nobody wants the answer.
            if Arc::strong_count(&theirs) == 1 {
                return;
            }
            // The job must not panic (it would end the helper thread), and a resolver's panic
            // is better reported to the bot than left to hang it.
            let answer = panic::catch_unwind(AssertUnwindSafe(|| resolver::resolve(&host, port)))
                .unwrap_or_else(|panic| Err(panicked(&host, &*panic)));
            let waker = {
                let mut slot = lock(&theirs);
                slot.answer = Some(answer);
                slot.waker.take()
            };
            if let Some(waker) = waker {
                waker.wake();
            }
        };
        if let Err(error) = helper_threads::execute(Box::new(job)) {
            lock(&slot).answer = Some(Err(error));
        }
        HostLookup { slot }
    }
}

impl Future for HostLookup {
    type Output = io::Result<Vec<SocketAddr>>;

    fn poll(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<Self::Output> {
        let mut slot = lock(&self.slot);
        match slot.answer.take() {
            Some(answer) => Poll::Ready(answer),
            None => {
                // A clone of ttk's waker can wake the bot from the helper thread.
                slot.waker = Some(context.waker().clone());
                Poll::Pending
            }
        }
    }
}

impl Drop for HostLookup {
    fn drop(&mut self) {
        // Let go of the bot's waker now: while a clone is alive the loop counts on it to wake a
        // bot, and would wait for the helper instead of reporting a stall.
        let waker = lock(&self.slot).waker.take();
        drop(waker);
    }
}

/// Locks a slot. Nothing panics while holding it; a poisoned lock is used as is.
fn lock(slot: &Mutex<Slot>) -> MutexGuard<'_, Slot> {
    slot.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The error a bot gets when the resolver panicked looking up `host`.
fn panicked(host: &str, panic: &(dyn Any + Send)) -> io::Error {
    let message = panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)");
    io::Error::other(format!(
        "the resolver panicked looking up {host:?}: {message}"
    ))
}
