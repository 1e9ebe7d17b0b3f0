//! One HTTP/2 connection shared by the bots of one loop, as a browser's tabs share one:
//! [`SharedHttp2Connection`].

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::future::poll_fn;
use std::io;
use std::rc::Rc;
use std::task::{Poll, Waker};

use ttk_tls::TlsConnector;

use super::connection::Http2Connection;
use super::response::Http2Response;
use crate::request::Request;

/// An HTTP/2 connection the bots of one loop share: each [`send`](Self::send)s its requests
/// and awaits its own responses, and all of them go as streams of one connection.
///
/// There is no task behind it: one of the waiting bots drives the connection (see
/// [`Http2Connection`]), handing the others their responses as they come; a bot that hands
/// a request to a connection another bot drives wakes that bot to start it. When the driving
/// bot has its own response it stops driving and wakes a waiting bot to take over. The
/// connection is made by the first bot that sends (and made again as
/// [`Http2Connection`] does). Clones share the connection; it is not `Send` (it belongs to
/// the loop of the bots that use it).
///
/// # Examples
/// ```
/// # use ttk_macros::bot;
/// # use ttk_core::Cx;
/// use ttk_http::Request;
/// use ttk_http::http2::SharedHttp2Connection;
///
/// #[bot(crate = ttk_core)]
/// fn tab(_cx: Cx, _id: usize, shared: SharedHttp2Connection) -> std::io::ErrorKind {
///     // Port 1 on loopback: nothing listens; every tab sees the refusal.
///     ttk_core::yield_!(shared.send(&Request::get("/"))).unwrap_err().kind()
/// }
///
/// let shared = SharedHttp2Connection::new("http://127.0.0.1:1/", None).unwrap();
/// let kinds = ttk_core::run(3, |cx, id| tab(cx, id, shared.clone()));
/// assert!(kinds.iter().all(|kind| *kind == std::io::ErrorKind::ConnectionRefused));
/// assert_eq!(shared.connections_opened(), 0);
/// ```
#[derive(Clone)]
pub struct SharedHttp2Connection {
    /// What the bots share.
    inner: Rc<Inner>,
}

/// What the bots share.
struct Inner {
    /// `http://` or `https://` and the authority.
    url: String,
    /// For `https://`: the connector (offering ALPN `h2`).
    tls: Option<TlsConnector>,
    /// The connection, when made and not being driven (the driving bot holds it).
    connection: RefCell<Option<Http2Connection>>,
    /// Requests handed over and not yet started: `(id, request)`.
    pending: RefCell<VecDeque<(u64, Request)>>,
    /// The id of each request started, by its ticket's number.
    started: RefCell<HashMap<u64, u64>>,
    /// Results for bots that wait, by request id.
    results: RefCell<HashMap<u64, io::Result<Http2Response>>>,
    /// The bots waiting for their results (not driving), by request id.
    waiting: RefCell<HashMap<u64, Waker>>,
    /// Requests whose bot stopped waiting (dropped): their results are dropped as they come.
    abandoned: RefCell<std::collections::HashSet<u64>>,
    /// The driving bot's waker, to wake it with a new request.
    driver: RefCell<Option<Waker>>,
    /// Whether a bot drives the connection.
    driving: Cell<bool>,
    /// Set when a request was handed to the driving bot: its wait ends to start it.
    interrupt: Rc<Cell<bool>>,
    /// The next request id.
    next_id: Cell<u64>,
}

impl SharedHttp2Connection {
    /// A connection to `url`'s authority, made when a bot first sends: `https://` over TLS
    /// made by `tls` (or the system's roots, if `None`) with ALPN `h2`; `http://` as h2c.
    ///
    /// # Errors
    /// `InvalidInput` for a URL that is not `http://` or `https://`, or a connector that does
    /// not offer ALPN `h2`.
    ///
    /// # Examples
    /// See [`SharedHttp2Connection`].
    pub fn new(url: &str, tls: Option<TlsConnector>) -> io::Result<SharedHttp2Connection> {
        let lower = url.to_ascii_lowercase();
        if !lower.starts_with("http://") && !lower.starts_with("https://") {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("`{url}`: an HTTP/2 connection is to http:// or https://"),
            ));
        }
        if let Some(tls) = &tls
            && !tls
                .alpn_protocols()
                .iter()
                .any(|protocol| protocol == b"h2")
        {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "HTTP/2 over TLS needs a TlsConnector offering ALPN `h2`",
            ));
        }
        Ok(SharedHttp2Connection {
            inner: Rc::new(Inner {
                url: url.to_owned(),
                tls,
                connection: RefCell::new(None),
                pending: RefCell::new(VecDeque::new()),
                started: RefCell::new(HashMap::new()),
                results: RefCell::new(HashMap::new()),
                waiting: RefCell::new(HashMap::new()),
                abandoned: RefCell::new(std::collections::HashSet::new()),
                driver: RefCell::new(None),
                driving: Cell::new(false),
                interrupt: Rc::new(Cell::new(false)),
                next_id: Cell::new(0),
            }),
        })
    }

    /// Connections made so far (none before the first send).
    ///
    /// # Examples
    /// See [`SharedHttp2Connection`].
    pub fn connections_opened(&self) -> u64 {
        // While a bot drives, the connection is in its hands: the count is read between.
        self.inner
            .connection
            .borrow()
            .as_ref()
            .map_or(0, Http2Connection::connections_opened)
    }

    /// Sends `request` on the shared connection and awaits its whole response, while the
    /// requests of the other bots go on it too.
    ///
    /// # Errors
    /// As [`Http2Connection::send`]; connecting, for the bot that makes the connection.
    ///
    /// # Examples
    /// See [`SharedHttp2Connection`].
    pub async fn send(&self, request: &Request) -> io::Result<Http2Response> {
        let inner = &*self.inner;
        let id = inner.next_id.get();
        inner.next_id.set(id + 1);
        inner.pending.borrow_mut().push_back((id, request.clone()));
        let mut waiter = Waiter {
            inner,
            id,
            answered: false,
        };
        loop {
            let result = inner.results.borrow_mut().remove(&id);
            if let Some(result) = result {
                waiter.answered = true;
                return result;
            }
            if !inner.driving.get() {
                let result = Driving::start(inner).drive_for(id).await;
                waiter.answered = true;
                return result;
            }
            // Someone drives: it is told of the request, and hands the result back (or the
            // driving over, when it has its own).
            inner.interrupt.set(true);
            if let Some(driver) = inner.driver.borrow().as_ref() {
                driver.wake_by_ref();
            }
            waiter.wait().await;
        }
    }
}

/// A bot waiting for its result. Dropped, its entry leaves the waiting list; if it was not
/// answered (its bot stopped), its request is dropped or its result will be; and if nobody
/// drives, a bot still waiting is woken to.
struct Waiter<'a> {
    inner: &'a Inner,
    id: u64,
    /// Whether the bot got its result.
    answered: bool,
}

impl Waiter<'_> {
    /// Waits until the result is there or nobody drives.
    async fn wait(&mut self) {
        poll_fn(|cx| {
            let inner = self.inner;
            if inner.results.borrow().contains_key(&self.id) || !inner.driving.get() {
                inner.waiting.borrow_mut().remove(&self.id);
                return Poll::Ready(());
            }
            inner
                .waiting
                .borrow_mut()
                .insert(self.id, cx.waker().clone());
            Poll::Pending
        })
        .await;
    }
}

impl Drop for Waiter<'_> {
    fn drop(&mut self) {
        let inner = self.inner;
        inner.waiting.borrow_mut().remove(&self.id);
        if !self.answered {
            let mut pending = inner.pending.borrow_mut();
            let before = pending.len();
            pending.retain(|(id, _)| *id != self.id);
            let started = pending.len() == before;
            drop(pending);
            if inner.results.borrow_mut().remove(&self.id).is_none() && started {
                inner.abandoned.borrow_mut().insert(self.id);
            }
        }
        if !inner.driving.get() {
            wake_next_driver(inner);
        }
    }
}

/// Wakes a bot that waits for a result not yet come, to drive the connection (nobody does).
fn wake_next_driver(inner: &Inner) {
    let results = inner.results.borrow();
    let waiting = inner.waiting.borrow();
    if let Some((_, waker)) = waiting.iter().find(|(id, _)| !results.contains_key(id)) {
        waker.wake_by_ref();
    }
}

/// The bot that drives the connection, holding it; dropped (done, or its bot stopped), it
/// puts the connection back and wakes a waiting bot to drive on.
struct Driving<'a> {
    inner: &'a Inner,
    connection: Option<Http2Connection>,
}

impl<'a> Driving<'a> {
    /// Takes the driving over.
    fn start(inner: &'a Inner) -> Driving<'a> {
        inner.driving.set(true);
        Driving {
            inner,
            connection: inner.connection.borrow_mut().take(),
        }
    }

    /// Drives until request `id`'s result comes, handing the others theirs.
    async fn drive_for(mut self, id: u64) -> io::Result<Http2Response> {
        let inner = self.inner;
        if self.connection.is_none() {
            // Boxed: connecting (with a TLS handshake) is a large future.
            let connected = match &inner.tls {
                Some(tls) => {
                    let authority = authority_of(&inner.url);
                    Box::pin(Http2Connection::connect_tls(authority, tls)).await
                }
                None => Box::pin(Http2Connection::connect(&inner.url)).await,
            };
            match connected {
                Ok(mut connection) => {
                    connection.interrupt = Some(Rc::clone(&inner.interrupt));
                    self.connection = Some(connection);
                }
                Err(error) => {
                    // This request fails; the others try again when they drive.
                    inner
                        .pending
                        .borrow_mut()
                        .retain(|(pending, _)| *pending != id);
                    return Err(error);
                }
            }
        }
        loop {
            let connection = self.connection.as_mut().expect("connected above");
            inner.interrupt.set(false);
            for (pending, request) in inner.pending.borrow_mut().drain(..) {
                let ticket = connection.start(&request);
                inner.started.borrow_mut().insert(ticket.number(), pending);
            }
            // Known to the bots that hand requests over, so they can wake this one (once per
            // turn at the wheel: a clone of the loop's waker is an allocation).
            if inner.driver.borrow().is_none() {
                poll_fn(|cx| {
                    *inner.driver.borrow_mut() = Some(cx.waker().clone());
                    Poll::Ready(())
                })
                .await;
            }
            let Some((ticket, result)) = connection.next_or_interrupted().await else {
                continue;
            };
            let Some(owner) = inner.started.borrow_mut().remove(&ticket.number()) else {
                continue;
            };
            if owner == id {
                return result;
            }
            if inner.abandoned.borrow_mut().remove(&owner) {
                continue;
            }
            inner.results.borrow_mut().insert(owner, result);
            if let Some(waiter) = inner.waiting.borrow().get(&owner) {
                waiter.wake_by_ref();
            }
        }
    }
}

impl Drop for Driving<'_> {
    fn drop(&mut self) {
        let inner = self.inner;
        if let Some(connection) = self.connection.take() {
            *inner.connection.borrow_mut() = Some(connection);
        }
        inner.driving.set(false);
        inner.driver.borrow_mut().take();
        // A bot still waiting for its result drives on.
        wake_next_driver(inner);
    }
}

/// `https://host:port/…` → `host:port`.
fn authority_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest.split(['/', '?', '#']).next().unwrap_or(rest)
}

impl std::fmt::Debug for SharedHttp2Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedHttp2Connection")
            .field("url", &self.inner.url)
            .field("driving", &self.inner.driving.get())
            .field("pending", &self.inner.pending.borrow().len())
            .field("waiting", &self.inner.waiting.borrow().len())
            .finish()
    }
}
