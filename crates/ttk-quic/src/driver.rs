//! One QUIC connection on its own endpoint and UDP socket, and how the bots that wait on it
//! drive it: quinn-proto is a state machine that reads no clock and owns no socket, so the
//! bot waiting on the connection feeds it the datagrams that came, its timers when due (on the
//! loop's clock), and sends what it has to send. No task and no thread: one waiting bot drives
//! at a time, wakes the others when there is news, and hands the driving on when it stops.

use std::cell::{Cell, RefCell};
use std::future::{Future, poll_fn};
use std::io;
use std::net::SocketAddr;
use std::pin::pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::Poll;
use std::time::Instant;

use bytes::BytesMut;
use quinn_proto::{
    Connection, ConnectionError, ConnectionHandle, DatagramEvent, Endpoint, EndpointConfig, Event,
};
use ttk_net::UdpSocket;

use crate::errors;
use crate::waiters::Waiters;

/// Datagrams read per pass before the driver lets the other bots run.
const RECEIVE_BATCH: usize = 64;
/// The most datagrams quinn-proto puts in one transmit (sent one by one: ttk's sockets do no
/// segmentation offload).
const TRANSMIT_BATCH: usize = 10;
/// The largest UDP payload read.
const LARGEST_DATAGRAM: usize = 65_535;

thread_local! {
    /// The endpoint settings of this loop's connections (its stateless-reset key made once).
    static ENDPOINT_CONFIG: Arc<EndpointConfig> = Arc::new(EndpointConfig::default());
    /// Where datagrams are read into, shared by this loop's connections (one is driven at a
    /// time).
    static RECEIVED: RefCell<Vec<u8>> = RefCell::new(vec![0; LARGEST_DATAGRAM]);
    /// Where quinn-proto writes what to send, likewise shared.
    static TO_SEND: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Where a connection stands.
#[derive(Debug)]
pub(crate) enum State {
    /// The handshake is under way.
    Connecting,
    /// Made.
    Connected,
    /// Ended, as quinn-proto says.
    Lost(ConnectionError),
    /// ICMP said nothing listens there: during the handshake, or, once made, to
    /// [`GONE_AFTER`] datagrams in a row with none from the server between them (it went
    /// away: a restarted or killed server, whose clients would otherwise wait out their
    /// timeouts).
    Refused,
}

/// How many ICMP "port unreachable" in a row, with no datagram from the server between them,
/// end a connection that was made: one could be a packet of the past; several say the server
/// is gone.
const GONE_AFTER: u32 = 3;

/// What the handles of one connection share.
pub(crate) struct Shared {
    pub(crate) socket: Rc<UdpSocket>,
    pub(crate) peer: SocketAddr,
    endpoint: RefCell<Endpoint>,
    handle: ConnectionHandle,
    pub(crate) conn: RefCell<Connection>,
    pub(crate) state: RefCell<State>,
    /// The application protocol the server chose.
    pub(crate) alpn: RefCell<Option<Vec<u8>>>,
    /// Whether this side closed the connection.
    pub(crate) closed_here: Cell<bool>,
    waiters: RefCell<Waiters>,
    /// The key of the bot driving the connection, if one is.
    driver: Cell<Option<u64>>,
    /// Whether a flush is asked of the loop (what a step queued goes out together).
    flush_asked: Cell<bool>,
    /// The loop's time at the latest pass.
    last_pass: Cell<Instant>,
    /// Whether a bot's act inside a wait changed what the connection has to send (a write
    /// that went in after waiting for flow control, a read that opened the window).
    dirty: Cell<bool>,
    /// When the timed pass of an undriven connection is set for (quinn's next deadline).
    armed_at: Cell<Option<Instant>>,
    /// ICMP "port unreachable" met since the server's last datagram.
    unreachable: Cell<u32>,
    /// Itself, for the timed actions it asks of the loop.
    me: std::rc::Weak<Shared>,
}

impl Shared {
    /// A connection to `peer` on `socket`, its handshake started (its first datagram not yet
    /// sent: [`Shared::flush_soon`]).
    pub(crate) fn connect(
        socket: UdpSocket,
        peer: SocketAddr,
        server_name: &str,
        client: quinn_proto::ClientConfig,
    ) -> io::Result<Rc<Shared>> {
        // Deterministic under `--seed`: the endpoint's randomness and its connections'.
        let seed = ttk_core::io::next_bot_seed();
        let mut seed_bytes = [0u8; 32];
        for (i, chunk) in seed_bytes.chunks_mut(8).enumerate() {
            let word =
                seed.rotate_left(17 * i as u32) ^ (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            chunk.copy_from_slice(&word.to_le_bytes());
        }
        let config = ENDPOINT_CONFIG.with(Arc::clone);
        let mut endpoint = Endpoint::new(config, None, false, Some(seed_bytes));
        let (handle, conn) = endpoint
            .connect(ttk_core::now(), client, peer, server_name)
            .map_err(|error| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("no QUIC connection to {peer} as {server_name:?}: {error}"),
                )
            })?;
        Ok(Rc::new_cyclic(|me| Shared {
            socket: Rc::new(socket),
            peer,
            endpoint: RefCell::new(endpoint),
            handle,
            conn: RefCell::new(conn),
            state: RefCell::new(State::Connecting),
            alpn: RefCell::new(None),
            closed_here: Cell::new(false),
            waiters: RefCell::default(),
            driver: Cell::new(None),
            flush_asked: Cell::new(false),
            last_pass: Cell::new(ttk_core::now()),
            dirty: Cell::new(false),
            armed_at: Cell::new(None),
            unreachable: Cell::new(0),
            me: me.clone(),
        }))
    }

    /// The connection's end as an error, if it ended.
    pub(crate) fn failure(&self) -> Option<io::Error> {
        match &*self.state.borrow() {
            State::Connecting | State::Connected => self
                .closed_here
                .get()
                .then(|| errors::connection_error(&ConnectionError::LocallyClosed, self.peer)),
            State::Lost(error) => Some(errors::connection_error(error, self.peer)),
            State::Refused => Some(errors::refused(self.peer)),
        }
    }

    /// Settles the connection after a bot's act that must go out now (a close): sends, and
    /// wakes the waiting bots to look again.
    pub(crate) fn settle_now(&self, now: Instant) {
        self.settle(now);
        self.waiters.borrow_mut().wake_all_besides(None);
    }

    /// Sends what a bot's act queued (a write, a read that opened the flow-control window, a
    /// datagram, a close), soon: once the running bot yields, for all it queued meanwhile.
    pub(crate) fn flush_soon(shared: &Rc<Shared>) {
        if shared.flush_asked.replace(true) {
            return;
        }
        let shared = Rc::downgrade(shared);
        ttk_core::io::run_at(ttk_core::now(), move || {
            if let Some(shared) = shared.upgrade() {
                shared.flush_asked.set(false);
                let news = shared.settle(ttk_core::now());
                let mut waiters = shared.waiters.borrow_mut();
                if news {
                    waiters.wake_all_besides(None);
                } else if let Some(driver) = shared.driver.get() {
                    // Its timers may have changed: the driver times its wait again.
                    waiters.poke(driver);
                }
                drop(waiters);
                shared.arm_if_undriven();
            }
        });
    }

    /// Marks that a bot's act inside a wait left something to send: the wait sends it.
    pub(crate) fn mark_dirty(&self) {
        self.dirty.set(true);
    }

    /// While no bot drives the connection (its bots think under `ttk::sleep`, or do other
    /// work), a timed action of the loop makes a pass at quinn's next deadline — resends,
    /// acknowledgements, keep-alives, the idle timeout — and reads what came meanwhile.
    pub(crate) fn arm_if_undriven(&self) {
        if self.driver.get().is_some() || self.conn.borrow().is_drained() {
            return;
        }
        let Some(due) = self.conn.borrow_mut().poll_timeout() else {
            return;
        };
        if self.armed_at.get().is_some_and(|armed| armed <= due) {
            return;
        }
        self.armed_at.set(Some(due));
        let me = self.me.clone();
        ttk_core::io::run_at(due, move || {
            let Some(shared) = me.upgrade() else {
                return;
            };
            if shared.armed_at.get() != Some(due) {
                // Set again for another time since.
                return;
            }
            shared.armed_at.set(None);
            if shared.driver.get().is_none() {
                let (_, news) = shared.drive();
                if news {
                    shared.waiters.borrow_mut().wake_all_besides(None);
                }
            }
            shared.arm_if_undriven();
        });
    }

    /// One pass: reads the datagrams that came, runs the timers due, then settles. Returns
    /// whether the socket was drained, and whether there was news for the bots.
    fn drive(&self) -> (bool, bool) {
        let now = ttk_core::now();
        let was_refused = matches!(*self.state.borrow(), State::Refused);
        let drained = self.receive(now);
        {
            let mut conn = self.conn.borrow_mut();
            if conn.poll_timeout().is_some_and(|due| due <= now) {
                conn.handle_timeout(now);
            }
        }
        let news = self.settle(now);
        // A connection just ended by ICMP is news for every bot waiting on it.
        let refused = !was_refused && matches!(*self.state.borrow(), State::Refused);
        (drained, news || refused)
    }

    /// Notes an ICMP "port unreachable" (on a read or a send): fatal while connecting, and
    /// once made after [`GONE_AFTER`] in a row.
    fn unreachable(&self) {
        if self.closed_here.get() {
            // Answers to this side's close: the connection's end is its own.
            return;
        }
        let count = self.unreachable.get() + 1;
        self.unreachable.set(count);
        let mut state = self.state.borrow_mut();
        match *state {
            State::Connecting => *state = State::Refused,
            State::Connected if count >= GONE_AFTER => *state = State::Refused,
            _ => {}
        }
    }

    /// Feeds the connection the datagrams in the socket, up to a batch: whether it drained them.
    fn receive(&self, now: Instant) -> bool {
        RECEIVED.with(|scratch| {
            let mut scratch = scratch.borrow_mut();
            let mut endpoint = self.endpoint.borrow_mut();
            for _ in 0..RECEIVE_BATCH {
                let (size, from) = match self.socket.try_recv_from(&mut scratch) {
                    Ok(received) => received,
                    Err(error) if error.kind() == io::ErrorKind::WouldBlock => return true,
                    Err(error) if error.kind() == io::ErrorKind::ConnectionRefused => {
                        // An answer to an earlier datagram: nothing listens there.
                        self.unreachable();
                        continue;
                    }
                    // Another error of a UDP read concerns that datagram only.
                    Err(_) => continue,
                };
                if from == self.peer {
                    self.unreachable.set(0);
                }
                let mut response = Vec::new();
                let data = BytesMut::from(&scratch[..size]);
                match endpoint.handle(now, from, None, None, data, &mut response) {
                    Some(DatagramEvent::ConnectionEvent(handle, event))
                        if handle == self.handle =>
                    {
                        self.conn.borrow_mut().handle_event(event);
                    }
                    Some(DatagramEvent::Response(transmit)) => {
                        // A stateless reset or version negotiation of the endpoint's own.
                        let _ = self
                            .socket
                            .try_send_to(&response[..transmit.size], transmit.destination);
                    }
                    Some(DatagramEvent::NewConnection(incoming)) => {
                        // A client's endpoint takes no connections.
                        endpoint.ignore(incoming);
                    }
                    _ => {}
                }
            }
            false
        })
    }

    /// Passes the connection's news on: to the endpoint, to the connection's state, and what
    /// it has to send to the socket. Returns whether there was news for the bots.
    fn settle(&self, now: Instant) -> bool {
        self.last_pass.set(now);
        let mut conn = self.conn.borrow_mut();
        let mut endpoint = self.endpoint.borrow_mut();
        while let Some(event) = conn.poll_endpoint_events() {
            if let Some(back) = endpoint.handle_event(self.handle, event) {
                conn.handle_event(back);
            }
        }
        drop(endpoint);
        let mut news = false;
        while let Some(event) = conn.poll() {
            news = true;
            match event {
                Event::HandshakeDataReady => {
                    let data = conn.crypto_session().handshake_data();
                    let protocol = data
                        .and_then(|data| {
                            data.downcast::<quinn_proto::crypto::rustls::HandshakeData>()
                                .ok()
                        })
                        .and_then(|data| data.protocol);
                    *self.alpn.borrow_mut() = protocol;
                }
                Event::Connected => {
                    let mut state = self.state.borrow_mut();
                    if matches!(*state, State::Connecting) {
                        *state = State::Connected;
                    }
                }
                Event::ConnectionLost { reason } => {
                    let mut state = self.state.borrow_mut();
                    if !matches!(*state, State::Refused) {
                        *state = State::Lost(reason);
                    }
                }
                Event::Stream(_) | Event::DatagramReceived | Event::DatagramsUnblocked => {}
            }
        }
        self.transmit(&mut conn, now);
        news
    }

    /// Sends what the connection has to send.
    fn transmit(&self, conn: &mut Connection, now: Instant) {
        TO_SEND.with(|buffer| {
            let mut buffer = buffer.borrow_mut();
            loop {
                buffer.clear();
                let Some(transmit) = conn.poll_transmit(now, TRANSMIT_BATCH, &mut buffer) else {
                    return;
                };
                let segment = transmit.segment_size.unwrap_or(transmit.size).max(1);
                for datagram in buffer[..transmit.size].chunks(segment) {
                    // A datagram the socket cannot take now is lost, as on a network: QUIC
                    // sends it again. An ICMP "port unreachable" of an earlier datagram
                    // comes back on a send too.
                    if let Err(error) = self.socket.try_send_to(datagram, transmit.destination)
                        && error.kind() == io::ErrorKind::ConnectionRefused
                    {
                        self.unreachable();
                    }
                }
            }
        });
    }

    /// Waits until `ready` has an answer, driving the connection meanwhile if no other bot
    /// does (and handing the driving on when done); `None` at `deadline`.
    pub(crate) async fn wait_until<T>(
        &self,
        deadline: Option<Instant>,
        mut ready: impl FnMut(&Shared) -> Option<io::Result<T>>,
    ) -> Option<io::Result<T>> {
        let key = self.waiters.borrow_mut().enlist();
        let _enlisted = Enlisted { shared: self, key };
        loop {
            if let Some(answer) = ready(self) {
                return Some(answer);
            }
            let now = ttk_core::now();
            self.send_what_acts_left(Some(key), now);
            if deadline.is_some_and(|deadline| deadline <= now) {
                return None;
            }
            if self.driver.get().is_some() {
                // Another bot drives: it wakes this one when there is news.
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
                let (drained, news) = self.drive();
                if news {
                    self.waiters.borrow_mut().wake_all_besides(Some(key));
                }
                if let Some(answer) = ready(self) {
                    return Some(answer);
                }
                let now = ttk_core::now();
                self.send_what_acts_left(Some(key), now);
                if deadline.is_some_and(|deadline| deadline <= now) {
                    return None;
                }
                if !drained {
                    // More datagrams wait: drive again once the other bots had their turn.
                    ttk_core::__private::yield_now().await;
                    continue;
                }
                let due = self.conn.borrow_mut().poll_timeout();
                let until = match (due, deadline) {
                    (Some(due), Some(deadline)) => Some(due.min(deadline)),
                    (due, deadline) => due.or(deadline),
                };
                self.datagram_poke_or_until(key, until).await;
            }
        }
    }

    /// Sends what a waiting bot's act left to send (see [`Shared::mark_dirty`]), and has the
    /// driver, if another bot, time its wait again.
    fn send_what_acts_left(&self, key: Option<u64>, now: Instant) {
        if !self.dirty.take() {
            return;
        }
        let news = self.settle(now);
        let mut waiters = self.waiters.borrow_mut();
        if news {
            waiters.wake_all_besides(key);
        }
        if let Some(driver) = self.driver.get().filter(|driver| Some(*driver) != key) {
            waiters.poke(driver);
        }
    }

    /// Waits for a datagram, a poke (a bot's act changed the timers), or `until`.
    async fn datagram_poke_or_until(&self, key: u64, until: Option<Instant>) {
        let mut readable = pin!(self.socket.readable());
        let either = poll_fn(|cx| {
            if self.waiters.borrow_mut().look(key, cx.waker()) {
                return Poll::Ready(());
            }
            readable.as_mut().poll(cx)
        });
        match until {
            None => either.await,
            Some(until) => {
                let wait = until.saturating_duration_since(ttk_core::now());
                _ = ttk_core::timeout(wait, either).await;
            }
        }
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        if !ttk_core::io::in_loop() {
            // Dropped after its run ended (a bot's output): no loop to send on.
            return;
        }
        // The last handle is gone: the server is told (code 0), as quinn's endpoint does for a
        // dropped connection, rather than left to its idle timeout. On the clock of the last
        // pass.
        let now = self.last_pass.get();
        let conn = self.conn.get_mut();
        if !conn.is_closed() {
            conn.close(now, 0u32.into(), bytes::Bytes::new());
            let mut conn = self.conn.borrow_mut();
            self.transmit(&mut conn, now);
        }
        // Under `--net`, the close (this one or the bot's) may be held back on its way out:
        // the socket lives until it has left.
        keep_until_sent(Rc::clone(&self.socket));
    }
}

/// Keeps `socket` until its conditions hold nothing back on the way out. Looked at again after
/// each due time (the send due then may have been asked after this look, or refused and tried
/// again later), at least a millisecond apart.
fn keep_until_sent(socket: Rc<UdpSocket>) {
    if let Some(until) = socket.held_until() {
        let at = until.max(ttk_core::now() + std::time::Duration::from_millis(1));
        ttk_core::io::run_at(at, move || keep_until_sent(socket));
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
        if self.shared.driver.get().is_none() {
            // It may have been the one woken to drive next, and left without driving.
            waiters.wake_one_besides(self.key);
        }
    }
}

/// The driving, held by one bot; when it stops, another waiting bot is woken to take it.
struct Driving<'a> {
    shared: &'a Shared,
    key: u64,
}

impl Drop for Driving<'_> {
    fn drop(&mut self) {
        self.shared.driver.set(None);
        self.shared.waiters.borrow_mut().wake_one_besides(self.key);
        // No bot may take it: its timers are the loop's until one does.
        self.shared.arm_if_undriven();
    }
}
