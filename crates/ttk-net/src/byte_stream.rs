//! What framing reads from and writes to: [`ByteStream`].

use std::future::Future;
use std::io;

use crate::tcp_stream::TcpStream;

/// A byte stream that [`Framed`](crate::Framed) can cut into frames: [`TcpStream`], or a
/// transport of one's own (a Unix socket, a TLS layer, a pipe) built on
/// [`ttk_core::io::IoSource`], which implements these two operations.
///
/// # Examples
/// ```
/// # use ttk_macros::bot;
/// # use ttk_core::Cx;
/// use std::io::{self, Read, Write};
/// use ttk_core::io::IoSource;
/// use ttk_net::{ByteStream, FrameFormat, Framed};
///
/// /// A Unix stream socket on the running loop.
/// struct UnixStream(IoSource<mio::net::UnixStream>);
///
/// impl ByteStream for UnixStream {
///     async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
///         self.0.read_with(|mut stream| stream.read(buf)).await
///     }
///
///     async fn write_all(&self, mut buf: &[u8]) -> io::Result<()> {
///         while !buf.is_empty() {
///             let n = self.0.write_with(|mut stream| stream.write(buf)).await?;
///             buf = &buf[n..];
///         }
///         Ok(())
///     }
/// }
///
/// #[bot(crate = ttk_core)]
/// fn over_unix(_cx: Cx, _id: usize) -> io::Result<Vec<u8>> {
///     let (a, b) = mio::net::UnixStream::pair()?;
///     let mut a = Framed::new(UnixStream(IoSource::new(a)?), FrameFormat::crlf_lines());
///     let mut b = Framed::new(UnixStream(IoSource::new(b)?), FrameFormat::crlf_lines());
///     ttk_core::yield_!(a.write_frame(b"PING :bot"))?;
///     Ok(ttk_core::yield_!(b.read_frame())?.expect("a line").to_vec())
/// }
///
/// assert_eq!(ttk_core::run(1, over_unix)[0].as_ref().unwrap(), b"PING :bot");
/// ```
pub trait ByteStream {
    /// Reads what is available into `buf`, waiting until something is; `Ok(0)` means the peer
    /// closed its side.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use ttk_net::{ByteStream, TcpListener, TcpStream};
    ///
    /// /// Reads what comes first from any byte stream.
    /// async fn first_bytes(stream: &impl ByteStream) -> std::io::Result<Vec<u8>> {
    ///     let mut buf = [0; 16];
    ///     let n = stream.read(&mut buf).await?;
    ///     Ok(buf[..n].to_vec())
    /// }
    ///
    /// #[bot(crate = ttk_core)]
    /// fn reader(_cx: Cx, _id: usize) -> std::io::Result<Vec<u8>> {
    ///     let listener = TcpListener::bind("127.0.0.1:0")?;
    ///     let client = ttk_core::yield_!(TcpStream::connect(listener.local_addr()?))?;
    ///     let (server, _) = ttk_core::yield_!(listener.accept())?;
    ///     ttk_core::yield_!(client.write_all(b"hi"))?;
    ///     ttk_core::yield_!(first_bytes(&server))
    /// }
    ///
    /// assert_eq!(ttk_core::run(1, reader)[0].as_ref().unwrap(), b"hi");
    /// ```
    fn read(&self, buf: &mut [u8]) -> impl Future<Output = io::Result<usize>>;

    /// Writes all of `buf`, waiting while the stream cannot take more.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use ttk_net::{ByteStream, TcpListener, TcpStream};
    ///
    /// /// Sends a greeting on any byte stream.
    /// async fn greet(stream: &impl ByteStream) -> std::io::Result<()> {
    ///     stream.write_all(b"hello\n").await
    /// }
    ///
    /// #[bot(crate = ttk_core)]
    /// fn greeter(_cx: Cx, _id: usize) -> std::io::Result<Vec<u8>> {
    ///     let listener = TcpListener::bind("127.0.0.1:0")?;
    ///     let client = ttk_core::yield_!(TcpStream::connect(listener.local_addr()?))?;
    ///     let (server, _) = ttk_core::yield_!(listener.accept())?;
    ///     ttk_core::yield_!(greet(&client))?;
    ///     let mut buf = [0; 6];
    ///     ttk_core::yield_!(server.read_exact(&mut buf))?;
    ///     Ok(buf.to_vec())
    /// }
    ///
    /// assert_eq!(ttk_core::run(1, greeter)[0].as_ref().unwrap(), b"hello\n");
    /// ```
    fn write_all(&self, buf: &[u8]) -> impl Future<Output = io::Result<()>>;

    /// Whether a read might find something now (bytes, the peer's close, an error), known
    /// without a read; `false` only when the last read found nothing and no event came
    /// since. A client asks it of a connection kept idle before reusing it: a server's close of
    /// an idle keep-alive connection makes it `true`. `true` by default (a transport that
    /// cannot tell).
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use std::time::Duration;
    /// use ttk_net::{ByteStream, TcpListener, TcpStream};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn hung_up(_cx: Cx, _id: usize) -> std::io::Result<(bool, bool)> {
    ///     let listener = TcpListener::bind("127.0.0.1:0")?;
    ///     let client = ttk_core::yield_!(TcpStream::connect(listener.local_addr()?))?;
    ///     let (server, _) = ttk_core::yield_!(listener.accept())?;
    ///     ttk_core::yield_!(server.write_all(b"hi"))?;
    ///     let mut buf = [0; 16];
    ///     ttk_core::yield_!(client.read(&mut buf))?; // a short read: nothing else queued
    ///     let quiet = ByteStream::read_ready(&client);
    ///     drop(server); // the server closes while the client is idle
    ///     ttk_core::yield_!(ttk_core::sleep(Duration::from_millis(10)));
    ///     Ok((quiet, ByteStream::read_ready(&client)))
    /// }
    ///
    /// assert_eq!(ttk_core::run(1, hung_up)[0].as_ref().unwrap(), &(false, true));
    /// ```
    fn read_ready(&self) -> bool {
        true
    }
}

impl ByteStream for TcpStream {
    fn read(&self, buf: &mut [u8]) -> impl Future<Output = io::Result<usize>> {
        TcpStream::read(self, buf)
    }

    fn write_all(&self, buf: &[u8]) -> impl Future<Output = io::Result<()>> {
        TcpStream::write_all(self, buf)
    }

    fn read_ready(&self) -> bool {
        TcpStream::read_ready(self)
    }
}
