//! TCP and UDP echo servers on their own threads: targets for examples and benches.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, ToSocketAddrs};
use std::thread;

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};

/// The listener's token; connections use their slab index.
const LISTENER: Token = Token(usize::MAX);

/// Starts a TCP echo server on `addr` (port 0 for any) on a new thread and returns the address
/// it listens on. It echoes every byte back and runs until the process exits.
///
/// # Errors
/// If the address cannot be bound.
///
/// # Examples
/// ```
/// use std::io::{Read, Write};
///
/// let addr = ttk_examples::echo_target::spawn_tcp("127.0.0.1:0").unwrap();
/// let mut client = std::net::TcpStream::connect(addr).unwrap();
/// client.write_all(b"ping").unwrap();
/// let mut buf = [0; 4];
/// client.read_exact(&mut buf).unwrap();
/// assert_eq!(&buf, b"ping");
/// ```
pub fn spawn_tcp(addr: impl ToSocketAddrs) -> io::Result<SocketAddr> {
    let listener = TcpListener::from_std(listen(first_addr(addr)?)?);
    let local = listener.local_addr()?;
    thread::Builder::new()
        .name("tcp-echo-target".into())
        .spawn(move || {
            if let Err(error) = serve_tcp(listener) {
                eprintln!("tcp echo target stopped: {error}");
            }
        })?;
    Ok(local)
}

/// Starts a UDP echo server on `addr` on a new thread and returns its address. Every datagram
/// goes back to its sender.
///
/// # Errors
/// If the address cannot be bound.
///
/// # Examples
/// ```
/// let addr = ttk_examples::echo_target::spawn_udp("127.0.0.1:0").unwrap();
/// let client = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
/// client.send_to(b"ping", addr).unwrap();
/// let mut buf = [0; 16];
/// let (n, _) = client.recv_from(&mut buf).unwrap();
/// assert_eq!(&buf[..n], b"ping");
/// ```
pub fn spawn_udp(addr: impl ToSocketAddrs) -> io::Result<SocketAddr> {
    let socket = std::net::UdpSocket::bind(first_addr(addr)?)?;
    deepen_receive_buffer(&socket);
    let local = socket.local_addr()?;
    thread::Builder::new()
        .name("udp-echo-target".into())
        .spawn(move || {
            let mut buf = [0; 65_536];
            loop {
                match socket.recv_from(&mut buf) {
                    Ok((n, from)) => {
                        let _ = socket.send_to(&buf[..n], from);
                    }
                    Err(error) => eprintln!("udp echo target: {error}"),
                }
            }
        })?;
    Ok(local)
}

/// The receive buffer the UDP target asks for: a datagram in flight from each of thousands of
/// bots at once. Linux's default (208 KiB, some 270 small datagrams) overflowed under 1,000
/// bots, and every datagram dropped there left its bot waiting out its timeout instead of
/// sending: the target, not the client, set the pace.
const UDP_RECEIVE_BUFFER: usize = 4 << 20;

/// Asks for [`UDP_RECEIVE_BUFFER`], which Linux caps at `net.core.rmem_max` (4 MiB on the
/// bench machine, 208 KiB by default): a smaller buffer is no failure, only a target that
/// drops sooner.
fn deepen_receive_buffer(socket: &std::net::UdpSocket) {
    let _ = socket2::SockRef::from(socket).set_recv_buffer_size(UDP_RECEIVE_BUFFER);
}

/// A non-blocking listener with a backlog deep enough for a storm of connects (mio's default
/// of 1,024 overflows, and each overflowed SYN waits a second before it is retried).
fn listen(addr: SocketAddr) -> io::Result<std::net::TcpListener> {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM.nonblocking(), None)?;
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(65_535)?;
    Ok(socket.into())
}

/// The first address `addr` resolves to.
fn first_addr(addr: impl ToSocketAddrs) -> io::Result<SocketAddr> {
    addr.to_socket_addrs()?
        .next()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no address"))
}

/// One echo connection: bytes read but not yet written back wait in `pending`.
struct Connection {
    /// The socket.
    stream: TcpStream,
    /// Bytes to write back before reading more (backpressure).
    pending: Vec<u8>,
}

/// The echo server's event loop.
fn serve_tcp(mut listener: TcpListener) -> io::Result<()> {
    let mut poll = Poll::new()?;
    let mut events = Events::with_capacity(1024);
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)?;
    let mut connections: Vec<Option<Connection>> = Vec::new();
    let mut free: Vec<usize> = Vec::new();
    loop {
        if let Err(error) = poll.poll(&mut events, None) {
            if error.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(error);
        }
        for event in &events {
            if event.token() == LISTENER {
                accept_all(&listener, &poll, &mut connections, &mut free);
                continue;
            }
            let index = event.token().0;
            let Some(Some(connection)) = connections.get_mut(index) else {
                continue;
            };
            if !echo(connection) {
                let mut closed = connections[index].take().expect("checked above");
                let _ = poll.registry().deregister(&mut closed.stream);
                free.push(index);
            }
        }
    }
}

/// Accepts every queued connection. Out of descriptors, it stops and tries again at the next
/// event: the target must not die because its clients are too many.
fn accept_all(
    listener: &TcpListener,
    poll: &Poll,
    connections: &mut Vec<Option<Connection>>,
    free: &mut Vec<usize>,
) {
    loop {
        let (mut stream, _) = match listener.accept() {
            Ok(accepted) => accepted,
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => return,
            Err(error) => {
                eprintln!("tcp echo target: accept failed: {error}");
                return;
            }
        };
        let _ = stream.set_nodelay(true);
        let index = free.pop().unwrap_or_else(|| {
            connections.push(None);
            connections.len() - 1
        });
        let interest = Interest::READABLE | Interest::WRITABLE;
        if poll
            .registry()
            .register(&mut stream, Token(index), interest)
            .is_err()
        {
            free.push(index);
            continue;
        }
        let mut connection = Connection {
            stream,
            pending: Vec::new(),
        };
        // Data may have arrived before registration; edge-triggered events would not say so.
        if echo(&mut connection) {
            connections[index] = Some(connection);
        } else {
            free.push(index);
        }
    }
}

/// Echoes what can be echoed now; false once the connection is finished.
fn echo(connection: &mut Connection) -> bool {
    let mut buf = [0; 16 * 1024];
    loop {
        while !connection.pending.is_empty() {
            match connection.stream.write(&connection.pending) {
                Ok(0) => return false,
                Ok(n) => {
                    connection.pending.drain(..n);
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => return true,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return false,
            }
        }
        match connection.stream.read(&mut buf) {
            Ok(0) => return false,
            Ok(n) => connection.pending.extend_from_slice(&buf[..n]),
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => return true,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
}
