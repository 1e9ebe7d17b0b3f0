//! A canned QUIC server for the documentation's examples: quinn-proto's server side, driven by
//! a plain thread on a blocking socket. It echoes bidirectional streams and datagrams, takes
//! in unidirectional streams, and opens two streams to each client it welcomes: a
//! bidirectional one with `welcome`, and a unidirectional one with 4 KiB and its end. Not a
//! server to test against (the tests use aioquic, a QUIC stack no one here wrote).

use std::collections::HashMap;
use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use quinn_proto::crypto::rustls::QuicServerConfig;
use quinn_proto::{
    Connection, ConnectionHandle, DatagramEvent, Dir, Endpoint, EndpointConfig, Event,
    ServerConfig, StreamEvent, StreamId, Transmit,
};

/// The protocols (ALPN) the server agrees to: those of the examples.
const PROTOCOLS: [&str; 3] = ["echo", "h3", "game"];
/// What the server's unidirectional stream to each client carries.
const PUSHED: usize = 4 * 1024;
/// The longest the server waits for a datagram when no connection has a timer sooner.
const MOST_WAIT: Duration = Duration::from_millis(50);

/// Starts the canned server on loopback: its address, and the PEM text of the CA its
/// certificate (for `localhost` and `127.0.0.1`) is signed by. It serves until the process
/// ends.
///
/// # Errors
/// Making the certificate or binding a loopback port.
#[doc(hidden)]
pub fn echo_quic_server() -> io::Result<(SocketAddr, String)> {
    let pki = ttk_tls::TestPki::new()?;
    let certified = pki.server_certificate(&["localhost", "127.0.0.1"])?;
    let tls = ttk_tls::TlsAcceptor::from_pem(certified.chain_pem(), certified.key_pem())?
        .with_alpn(&PROTOCOLS[..]);
    let crypto = QuicServerConfig::try_from(tls.rustls_config()).map_err(io::Error::other)?;
    let config = ServerConfig::with_crypto(Arc::new(crypto));
    let socket = UdpSocket::bind("127.0.0.1:0")?;
    let addr = socket.local_addr()?;
    std::thread::spawn(move || {
        if let Err(error) = Server::new(socket, config).serve() {
            // A doc test would only see its handshake time out: say why here.
            eprintln!("echo_quic_server: {error}");
        }
    });
    Ok((addr, pki.ca_pem().to_owned()))
}

/// The server's state: its endpoint and connections.
struct Server {
    socket: UdpSocket,
    endpoint: Endpoint,
    connections: HashMap<ConnectionHandle, Served>,
    /// Datagrams to send are written here.
    out: Vec<u8>,
}

impl Server {
    fn new(socket: UdpSocket, config: ServerConfig) -> Server {
        // Path MTU discovery on: the server's datagrams may grow as the client's do, and a
        // datagram as large as the client may send is echoed.
        let endpoint = Endpoint::new(
            Arc::new(EndpointConfig::default()),
            Some(Arc::new(config)),
            true,
            None,
        );
        Server {
            socket,
            endpoint,
            connections: HashMap::new(),
            out: Vec::new(),
        }
    }

    /// Takes in datagrams and runs the connections' timers, for ever (until the socket fails).
    fn serve(mut self) -> io::Result<()> {
        let mut buf = vec![0; 65_536];
        loop {
            let now = Instant::now();
            let wait = self
                .connections
                .values_mut()
                .filter_map(|served| served.connection.poll_timeout())
                .min()
                .map_or(MOST_WAIT, |at| at.saturating_duration_since(now))
                .clamp(Duration::from_millis(1), MOST_WAIT);
            self.socket.set_read_timeout(Some(wait))?;
            match self.socket.recv_from(&mut buf) {
                Ok((len, from)) => self.take_in(from, BytesMut::from(&buf[..len])),
                Err(error)
                    if matches!(
                        error.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) => {}
                // Windows reports an ICMP answer to something sent (a client gone) on the next
                // read: it concerns that client only.
                Err(error)
                    if matches!(
                        error.kind(),
                        io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionRefused
                    ) => {}
                Err(error) => return Err(error),
            }
            self.settle(Instant::now());
        }
    }

    /// Hands a datagram to the endpoint: a new connection is accepted.
    fn take_in(&mut self, from: SocketAddr, data: BytesMut) {
        let now = Instant::now();
        self.out.clear();
        match self
            .endpoint
            .handle(now, from, None, None, data, &mut self.out)
        {
            Some(DatagramEvent::NewConnection(incoming)) => {
                self.out.clear();
                match self.endpoint.accept(incoming, now, &mut self.out, None) {
                    Ok((handle, connection)) => {
                        let served = Served {
                            connection,
                            unsent: HashMap::new(),
                        };
                        self.connections.insert(handle, served);
                    }
                    Err(refused) => {
                        if let Some(transmit) = refused.response {
                            self.send(&transmit);
                        }
                    }
                }
            }
            Some(DatagramEvent::ConnectionEvent(handle, event)) => {
                if let Some(served) = self.connections.get_mut(&handle) {
                    served.connection.handle_event(event);
                }
            }
            Some(DatagramEvent::Response(transmit)) => self.send(&transmit),
            None => {}
        }
    }

    /// Runs each connection's due timer, serves its events, and sends what it has to send;
    /// forgets the connections that ended.
    fn settle(&mut self, now: Instant) {
        let handles: Vec<ConnectionHandle> = self.connections.keys().copied().collect();
        for handle in handles {
            let Some(mut served) = self.connections.remove(&handle) else {
                continue;
            };
            if served.connection.poll_timeout().is_some_and(|at| at <= now) {
                served.connection.handle_timeout(now);
            }
            served.serve_events();
            let connection = &mut served.connection;
            while let Some(event) = connection.poll_endpoint_events() {
                if let Some(back) = self.endpoint.handle_event(handle, event) {
                    connection.handle_event(back);
                }
            }
            loop {
                self.out.clear();
                let Some(transmit) = connection.poll_transmit(now, 1, &mut self.out) else {
                    break;
                };
                self.send(&transmit);
            }
            if !connection.is_drained() {
                self.connections.insert(handle, served);
            }
        }
    }

    /// Sends the datagram `transmit` describes (in `out`).
    fn send(&self, transmit: &Transmit) {
        // A datagram the socket cannot take is lost, as on a network: QUIC sends it again.
        let _ = self
            .socket
            .send_to(&self.out[..transmit.size], transmit.destination);
    }
}

/// A connection and what it still has to send: bytes its streams' windows held back, and
/// whether each stream's end goes after them.
struct Served {
    connection: Connection,
    unsent: HashMap<StreamId, (Vec<u8>, bool)>,
}

impl Served {
    /// Serves the connection's events: welcomes it with its two streams, echoes what comes on
    /// bidirectional streams and in datagrams, and takes in what comes on unidirectional ones.
    fn serve_events(&mut self) {
        while let Some(event) = self.connection.poll() {
            match event {
                Event::Connected => self.welcome(),
                Event::Stream(StreamEvent::Opened { dir }) => {
                    while let Some(id) = self.connection.streams().accept(dir) {
                        self.serve_stream(id);
                    }
                }
                Event::Stream(StreamEvent::Readable { id }) => self.serve_stream(id),
                Event::Stream(StreamEvent::Writable { id }) => self.send_more(id),
                Event::DatagramReceived => {
                    while let Some(datagram) = self.connection.datagrams().recv() {
                        // Datagrams are unreliable: one too large for the path is dropped.
                        let _ = self.connection.datagrams().send(datagram, true);
                    }
                }
                _ => {}
            }
        }
    }

    /// Opens the server's two streams to a new client.
    fn welcome(&mut self) {
        if let Some(id) = self.connection.streams().open(Dir::Bi) {
            self.send(id, b"welcome".to_vec(), false);
        }
        if let Some(id) = self.connection.streams().open(Dir::Uni) {
            self.send(id, vec![b'p'; PUSHED], true);
        }
    }

    /// Reads what came on stream `id`: echoed back on a bidirectional stream (its end too),
    /// taken in on a unidirectional one. A stream whose echo the client's window holds back is
    /// not read meanwhile: what it does not read, the client may not send.
    fn serve_stream(&mut self, id: StreamId) {
        if self.unsent.contains_key(&id) {
            return;
        }
        let mut came = Vec::new();
        let mut ended = false;
        {
            let mut stream = self.connection.recv_stream(id);
            let Ok(mut chunks) = stream.read(true) else {
                return;
            };
            loop {
                match chunks.next(usize::MAX) {
                    Ok(Some(chunk)) => came.extend_from_slice(&chunk.bytes),
                    Ok(None) => {
                        ended = true;
                        break;
                    }
                    Err(_) => break,
                }
            }
            let _ = chunks.finalize();
        }
        if id.dir() == Dir::Bi && (!came.is_empty() || ended) {
            self.send(id, came, ended);
        }
    }

    /// Sends `data` on stream `id`, then its end if `end`: what the window takes now, the rest
    /// when it opens ([`Served::send_more`]).
    fn send(&mut self, id: StreamId, mut data: Vec<u8>, end: bool) {
        let taken = self.connection.send_stream(id).write(&data).unwrap_or(0);
        data.drain(..taken);
        if data.is_empty() {
            if end {
                let _ = self.connection.send_stream(id).finish();
            }
            // What came meanwhile, now that it can be echoed.
            if id.dir() == Dir::Bi {
                self.serve_stream(id);
            }
        } else {
            self.unsent.insert(id, (data, end));
        }
    }

    /// Stream `id`'s window opened: sends what it held back.
    fn send_more(&mut self, id: StreamId) {
        if let Some((data, end)) = self.unsent.remove(&id) {
            self.send(id, data, end);
        }
    }
}
