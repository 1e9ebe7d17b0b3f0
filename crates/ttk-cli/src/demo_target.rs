//! The built-in HTTP target of `ttk demo`: a small keep-alive server on loopback.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;

use rustls::{ServerConfig, ServerConnection, StreamOwned};
use ttk::tls::{TestPki, TlsAcceptor};

/// The response to every request: 13 bytes of body, as in the peers benchmark.
const RESPONSE: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!";

/// The most a request head may take; a longer one gets `431` and the connection is closed.
const MAX_HEAD: usize = 16 * 1024;

/// An HTTP/1.1 server on `127.0.0.1` answering every request with `200 Hello, World!`, a
/// thread per connection, counting the requests it answered; stopped when dropped.
///
/// # Examples
/// ```
/// use std::io::{Read, Write};
///
/// let target = ttk_cli::DemoTarget::start().unwrap();
/// let mut socket = std::net::TcpStream::connect(target.addr()).unwrap();
/// socket.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
/// let mut response = String::new();
/// socket.read_to_string(&mut response).unwrap();
/// assert!(response.starts_with("HTTP/1.1 200 OK\r\n"));
/// assert!(response.ends_with("Hello, World!"));
/// assert_eq!(target.served(), 1);
/// ```
#[derive(Debug)]
pub struct DemoTarget {
    addr: SocketAddr,
    served: Arc<AtomicU64>,
    stopping: Arc<AtomicBool>,
}

impl DemoTarget {
    /// Listens on a free port of `127.0.0.1` and serves on threads of its own.
    ///
    /// # Errors
    /// Binding the listener, or starting its thread.
    pub fn start() -> io::Result<DemoTarget> {
        DemoTarget::listen(None)
    }

    /// Like [`DemoTarget::start`], serving HTTPS with a certificate for `localhost` and
    /// `127.0.0.1` signed by `pki`'s CA (which a client trusts with `--cacert`).
    ///
    /// # Errors
    /// Those of [`DemoTarget::start`]; making the certificate.
    ///
    /// # Examples
    /// ```
    /// let pki = ttk::tls::TestPki::new().unwrap();
    /// let target = ttk_cli::DemoTarget::start_tls(&pki).unwrap();
    /// assert_eq!(target.served(), 0);
    /// ```
    pub fn start_tls(pki: &TestPki) -> io::Result<DemoTarget> {
        let certificate = pki.server_certificate(&["localhost", "127.0.0.1"])?;
        let acceptor = TlsAcceptor::from_pem(certificate.chain_pem(), certificate.key_pem())?
            .with_alpn(&["http/1.1"]);
        DemoTarget::listen(Some(acceptor.rustls_config()))
    }

    /// Listens on a free port and serves, over TLS with `tls` if given.
    fn listen(tls: Option<Arc<ServerConfig>>) -> io::Result<DemoTarget> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let served = Arc::new(AtomicU64::new(0));
        let stopping = Arc::new(AtomicBool::new(false));
        let (count, stop) = (Arc::clone(&served), Arc::clone(&stopping));
        thread::Builder::new()
            .name("ttk-demo-target".into())
            .spawn(move || accept(&listener, &count, &stop, tls.as_ref()))?;
        Ok(DemoTarget {
            addr,
            served,
            stopping,
        })
    }

    /// Where it listens.
    ///
    /// # Examples
    /// ```
    /// let target = ttk_cli::DemoTarget::start().unwrap();
    /// assert!(target.addr().ip().is_loopback());
    /// ```
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Requests answered so far.
    ///
    /// # Examples
    /// See [`DemoTarget`].
    pub fn served(&self) -> u64 {
        self.served.load(Ordering::SeqCst)
    }
}

impl Drop for DemoTarget {
    /// Stops accepting (connections still open are served until their clients close them).
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        // Wake the accepting thread so that it sees the flag.
        let _ = TcpStream::connect(self.addr);
    }
}

/// Accepts connections until stopped, each served on a thread of its own.
fn accept(
    listener: &TcpListener,
    served: &Arc<AtomicU64>,
    stopping: &AtomicBool,
    tls: Option<&Arc<ServerConfig>>,
) {
    for socket in listener.incoming() {
        if stopping.load(Ordering::SeqCst) {
            return;
        }
        let Ok(socket) = socket else {
            // Out of descriptors, say: the client sees its connect fail or time out.
            continue;
        };
        let served = Arc::clone(served);
        let tls = tls.cloned();
        // TLS's handshake needs more stack than plain HTTP's few buffers.
        let stack = if tls.is_some() { 256 } else { 64 } * 1024;
        let _ = thread::Builder::new()
            .name("ttk-demo-connection".into())
            .stack_size(stack)
            .spawn(move || {
                let _ = socket.set_nodelay(true);
                let _ = match tls {
                    None => serve(socket, &served),
                    Some(config) => serve_tls(socket, config, &served),
                };
            });
    }
}

/// Answers the requests of one connection until the client closes it (or asks to).
fn serve(mut socket: TcpStream, served: &AtomicU64) -> io::Result<()> {
    answer(&mut socket, served)?;
    socket.shutdown(Shutdown::Write)
}

/// Answers the requests of one connection over TLS, with rustls's blocking stream.
fn serve_tls(socket: TcpStream, config: Arc<ServerConfig>, served: &AtomicU64) -> io::Result<()> {
    let conn = ServerConnection::new(config).map_err(io::Error::other)?;
    let mut tls = StreamOwned::new(conn, socket);
    answer(&mut tls, served)?;
    tls.conn.send_close_notify();
    tls.flush()?;
    tls.sock.shutdown(Shutdown::Write)
}

/// Answers the requests read from `socket` until the client closes it (`Ok`) or asks to be
/// closed (`Ok`, the caller closes).
fn answer(socket: &mut (impl Read + Write), served: &AtomicU64) -> io::Result<()> {
    let mut buf = vec![0; 4096];
    let mut filled = 0;
    loop {
        // Answer every whole request already read.
        let mut at = 0;
        while let Some((len, close)) = request_len(&buf[at..filled])? {
            socket.write_all(RESPONSE)?;
            served.fetch_add(1, Ordering::SeqCst);
            if close {
                return Ok(());
            }
            at += len;
        }
        buf.copy_within(at..filled, 0);
        filled -= at;
        if filled == buf.len() {
            if buf.len() >= MAX_HEAD {
                socket.write_all(b"HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")?;
                return Ok(());
            }
            buf.resize(buf.len() * 2, 0);
        }
        match socket.read(&mut buf[filled..])? {
            0 => return Ok(()),
            n => filled += n,
        }
    }
}

/// The length of the whole request at the start of `bytes` (head and `Content-Length` body),
/// and whether it asks to close; `None` if it is not all there yet.
fn request_len(bytes: &[u8]) -> io::Result<Option<(usize, bool)>> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut request = httparse::Request::new(&mut headers);
    let head = match request.parse(bytes) {
        Ok(httparse::Status::Complete(head)) => head,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(error) => return Err(io::Error::new(io::ErrorKind::InvalidData, error)),
    };
    let mut body = 0;
    let mut close = request.version == Some(0);
    for header in request.headers.iter() {
        if header.name.eq_ignore_ascii_case("content-length") {
            body = std::str::from_utf8(header.value)
                .ok()
                .and_then(|value| value.trim().parse::<usize>().ok())
                .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "bad Content-Length"))?;
        } else if header.name.eq_ignore_ascii_case("connection") {
            close = header.value.eq_ignore_ascii_case(b"close");
        }
    }
    Ok((bytes.len() >= head + body).then_some((head + body, close)))
}

#[cfg(test)]
mod tests {
    use super::request_len;

    #[test]
    fn requests_are_cut_by_head_and_body() {
        let get = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
        assert_eq!(request_len(get).unwrap(), Some((get.len(), false)));
        assert_eq!(request_len(&get[..10]).unwrap(), None);
        let post = b"POST / HTTP/1.1\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi";
        assert_eq!(request_len(post).unwrap(), Some((post.len(), true)));
        assert_eq!(request_len(&post[..post.len() - 1]).unwrap(), None);
        assert!(request_len(b"\x01\x02 nonsense\r\n\r\n").is_err());
    }
}
