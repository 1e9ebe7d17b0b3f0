//! A line echo target for many connections: one thread, one mio `Poll`, no thread per
//! connection, listening with `SO_REUSEPORT` so that several processes share one port and the
//! kernel spreads the connections over them (the way past one process's open-file limit on
//! the target's side too). `hold_target` runs several of them.

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token, Waker};
use socket2::{Domain, Socket, Type};

/// The listener's token; connections use their index in the table.
const LISTENER: Token = Token(usize::MAX);
/// The token of the waker that stops the server.
const STOP: Token = Token(usize::MAX - 1);
/// The listen backlog asked for (the kernel caps it at `net.core.somaxconn`).
const BACKLOG: i32 = 65_535;
/// Events taken from one `epoll_wait`.
const EVENTS: usize = 4_096;
/// Bytes read from a connection at once.
const READ_BUFFER: usize = 64 * 1024;

/// Binds `addr` with `SO_REUSEPORT` without listening: this reserves the port (port 0 picks
/// one) so that listeners of other processes can share it, and never takes a connection.
///
/// # Errors
/// If the address cannot be bound.
///
/// # Examples
/// ```
/// use ttk_examples::reuseport_target::{SharedPortServer, reserve};
///
/// let (_reserved, addr) = reserve("127.0.0.1:0".parse().unwrap()).unwrap();
/// let first = SharedPortServer::bind(addr).unwrap();
/// let second = SharedPortServer::bind(addr).unwrap(); // the same port, another listener
/// assert_eq!(first.local_addr().unwrap(), second.local_addr().unwrap());
/// ```
pub fn reserve(addr: SocketAddr) -> io::Result<(Socket, SocketAddr)> {
    let socket = shared_socket(addr)?;
    let local = socket
        .local_addr()?
        .as_socket()
        .ok_or_else(|| io::Error::other("the reserved address is not an IP address"))?;
    Ok((socket, local))
}

/// A non-blocking TCP socket with `SO_REUSEPORT` (and `SO_REUSEADDR`), bound to `addr`.
fn shared_socket(addr: SocketAddr) -> io::Result<Socket> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM.nonblocking(), None)?;
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    socket.bind(&addr.into())?;
    Ok(socket)
}

/// What a server did, for its report when it stops.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ServerStats {
    /// Connections open at once, at most.
    pub peak_connections: usize,
    /// Connections accepted.
    pub accepted: u64,
    /// Lines echoed (newlines written back).
    pub lines: u64,
    /// Accepts that failed because the open-file limit was reached (`EMFILE`): those
    /// connections wait in the backlog, unserved.
    pub emfile: u64,
    /// Accepts that failed for another reason.
    pub accept_errors: u64,
}

/// One connection: what was read but not yet written back waits in `pending`.
#[derive(Debug)]
struct Connection {
    /// The socket.
    stream: TcpStream,
    /// Bytes to write back before reading more (empty nearly always: replies are small).
    pending: Vec<u8>,
}

/// A line echo server on one thread; see the [module docs](self).
#[derive(Debug)]
pub struct SharedPortServer {
    /// The poll every socket is registered with.
    poll: Poll,
    /// The listener (one of the group sharing the port).
    listener: TcpListener,
    /// Wakes the poll to stop the server.
    waker: Arc<Waker>,
    /// Connections by token; `None` for a free place.
    connections: Vec<Option<Connection>>,
    /// Free places in `connections`.
    free: Vec<usize>,
    /// Connections open now.
    open: usize,
    /// What it did so far.
    stats: ServerStats,
    /// Where reads land before they are written back (one for every connection).
    buf: Box<[u8]>,
    /// Whether a [`Stopper`] stopped it.
    stopped: bool,
}

/// Stops a [`SharedPortServer`] from another thread.
#[derive(Clone, Debug)]
pub struct Stopper {
    /// The server's waker.
    waker: Arc<Waker>,
}

impl Stopper {
    /// Makes the server's [`serve_until`](SharedPortServer::serve_until) return, now and
    /// whenever it is called again.
    ///
    /// # Errors
    /// If the server's poll cannot be woken.
    pub fn stop(&self) -> io::Result<()> {
        self.waker.wake()
    }
}

impl SharedPortServer {
    /// Listens on `addr` with `SO_REUSEPORT`, beside any other listener on it.
    ///
    /// # Errors
    /// If the address cannot be bound (another user's socket holds it, or one without
    /// `SO_REUSEPORT`) or the poll cannot be made.
    ///
    /// # Examples
    /// ```
    /// use std::io::{Read, Write};
    /// use std::time::{Duration, Instant};
    /// use ttk_examples::reuseport_target::SharedPortServer;
    ///
    /// let mut server = SharedPortServer::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    /// let addr = server.local_addr().unwrap();
    /// let client = std::thread::spawn(move || {
    ///     let mut stream = std::net::TcpStream::connect(addr).unwrap();
    ///     stream.write_all(b"hold\n").unwrap();
    ///     let mut reply = [0; 5];
    ///     stream.read_exact(&mut reply).unwrap();
    ///     reply
    /// });
    /// let stopped = server.serve_until(Instant::now() + Duration::from_millis(500)).unwrap();
    /// assert!(!stopped); // the deadline came
    /// assert_eq!(&client.join().unwrap(), b"hold\n");
    /// assert_eq!((server.stats().accepted, server.stats().lines), (1, 1));
    /// assert_eq!(server.open(), 0); // the client closed its end
    /// let stopper = server.stopper();
    /// stopper.stop().unwrap();
    /// assert!(server.serve_until(Instant::now() + Duration::from_secs(60)).unwrap());
    /// ```
    pub fn bind(addr: SocketAddr) -> io::Result<SharedPortServer> {
        let socket = shared_socket(addr)?;
        socket.listen(BACKLOG)?;
        let mut listener = TcpListener::from_std(socket.into());
        let poll = Poll::new()?;
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)?;
        let waker = Arc::new(Waker::new(poll.registry(), STOP)?);
        Ok(SharedPortServer {
            poll,
            listener,
            waker,
            connections: Vec::new(),
            free: Vec::new(),
            open: 0,
            stats: ServerStats::default(),
            buf: vec![0; READ_BUFFER].into_boxed_slice(),
            stopped: false,
        })
    }

    /// The address it listens on.
    ///
    /// # Errors
    /// The OS's.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// A handle that stops the server from another thread.
    pub fn stopper(&self) -> Stopper {
        Stopper {
            waker: self.waker.clone(),
        }
    }

    /// Serves until `deadline` or until stopped (by a [`Stopper`], now or earlier); returns
    /// whether it was stopped. Connections stay open across calls, so a worker can serve in
    /// slices and report between them; they close when the server is dropped.
    ///
    /// # Errors
    /// If the poll fails.
    pub fn serve_until(&mut self, deadline: Instant) -> io::Result<bool> {
        let mut events = Events::with_capacity(EVENTS);
        while !self.stopped {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            match self.poll.poll(&mut events, Some(deadline - now)) {
                Ok(()) => {}
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => return Err(error),
            }
            for event in &events {
                match event.token() {
                    LISTENER => self.accept_all(),
                    STOP => self.stopped = true,
                    Token(index) => self.serve(index),
                }
            }
        }
        Ok(self.stopped)
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.open
    }

    /// What it did so far.
    pub fn stats(&self) -> ServerStats {
        self.stats
    }

    /// Accepts every queued connection. Out of descriptors it stops: the next connection to
    /// arrive tries again, and those queued meanwhile wait in the backlog (counted in
    /// [`ServerStats::emfile`]).
    fn accept_all(&mut self) {
        loop {
            let mut stream = match self.listener.accept() {
                Ok((stream, _)) => stream,
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => return,
                Err(error) if error.raw_os_error() == Some(EMFILE) => {
                    self.stats.emfile += 1;
                    return;
                }
                Err(_) => {
                    self.stats.accept_errors += 1;
                    return;
                }
            };
            let index = self.free.pop().unwrap_or_else(|| {
                self.connections.push(None);
                self.connections.len() - 1
            });
            let interest = Interest::READABLE | Interest::WRITABLE;
            if self
                .poll
                .registry()
                .register(&mut stream, Token(index), interest)
                .is_err()
            {
                self.free.push(index);
                continue;
            }
            let _ = stream.set_nodelay(true);
            self.connections[index] = Some(Connection {
                stream,
                pending: Vec::new(),
            });
            self.open += 1;
            self.stats.accepted += 1;
            self.stats.peak_connections = self.stats.peak_connections.max(self.open);
            // Data may have come before registration; edge-triggered events would not say so.
            self.serve(index);
        }
    }

    /// Echoes what connection `index` has to echo; closes it once its peer has.
    fn serve(&mut self, index: usize) {
        let Some(Some(connection)) = self.connections.get_mut(index) else {
            return;
        };
        if !echo(connection, &mut self.buf, &mut self.stats.lines) {
            let mut closed = self.connections[index].take().expect("checked above");
            let _ = self.poll.registry().deregister(&mut closed.stream);
            self.free.push(index);
            self.open -= 1;
        }
    }
}

/// `EMFILE`, the errno of a process out of descriptors (the same on every Unix).
const EMFILE: i32 = 24;

/// Echoes what can be echoed now, counting the newlines written back in `lines`; false once
/// the connection is finished.
fn echo(connection: &mut Connection, buf: &mut [u8], lines: &mut u64) -> bool {
    loop {
        while !connection.pending.is_empty() {
            match connection.stream.write(&connection.pending) {
                Ok(0) => return false,
                Ok(n) => {
                    *lines += newlines(&connection.pending[..n]);
                    connection.pending.drain(..n);
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => return true,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return false,
            }
        }
        let n = match connection.stream.read(buf) {
            Ok(0) => return false,
            Ok(n) => n,
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => return true,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return false,
        };
        match connection.stream.write(&buf[..n]) {
            Ok(written) => {
                *lines += newlines(&buf[..written]);
                connection.pending.extend_from_slice(&buf[written..n]);
            }
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                connection.pending.extend_from_slice(&buf[..n]);
            }
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {
                connection.pending.extend_from_slice(&buf[..n]);
            }
            Err(_) => return false,
        }
    }
}

/// How many newlines `bytes` holds.
fn newlines(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|&&byte| byte == b'\n').count() as u64
}
