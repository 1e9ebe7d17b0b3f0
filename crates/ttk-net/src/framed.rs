//! Reading and writing whole frames on a byte stream.

use std::io;

use crate::byte_stream::ByteStream;
use crate::frame_format::FrameFormat;
use crate::tcp_stream::TcpStream;

mod idle;
mod raw_reads;

/// The most bytes one read asks for; a buffer grows in steps up to one whole frame.
const READ_CHUNK: usize = 16 * 1024;

/// A byte stream — a [`TcpStream`] by default, or any [`ByteStream`] — that reads and writes
/// whole frames of a [`FrameFormat`], and raw bytes between them.
///
/// The read buffer is allocated at the first read and grows only as far as a frame needs, so an
/// idle bot holds no buffer and a hostile length prefix cannot make it allocate.
///
/// # Examples
/// ```
/// # use ttk_macros::bot;
/// # use ttk_core::Cx;
/// use ttk_net::{FrameFormat, Framed, TcpListener, TcpStream};
///
/// #[bot(crate = ttk_core)]
/// fn framed(_cx: Cx, _id: usize) -> std::io::Result<Vec<Vec<u8>>> {
///     let listener = TcpListener::bind("127.0.0.1:0")?;
///     let client = ttk_core::yield_!(TcpStream::connect(listener.local_addr()?))?;
///     let (server, _) = ttk_core::yield_!(listener.accept())?;
///     let mut client = Framed::new(client, FrameFormat::u32_be());
///     let mut server = Framed::new(server, FrameFormat::u32_be());
///     ttk_core::yield_!(client.write_frame(b"join lobby"))?;
///     ttk_core::yield_!(client.write_frame(b"say hi"))?;
///     let mut got = Vec::new();
///     for _ in 0..2 {
///         let frame = ttk_core::yield_!(server.read_frame())?.expect("a frame");
///         got.push(frame.to_vec());
///     }
///     Ok(got)
/// }
///
/// let frames = ttk_core::run(1, framed).pop().unwrap().unwrap();
/// assert_eq!(frames, [b"join lobby".to_vec(), b"say hi".to_vec()]);
/// ```
#[derive(Debug)]
pub struct Framed<S = TcpStream> {
    /// The connection.
    stream: S,
    /// How frames are cut.
    format: FrameFormat,
    /// Bytes read and not yet returned live in `read_buf[start..end]`.
    read_buf: Vec<u8>,
    /// Start of unconsumed bytes.
    start: usize,
    /// End of bytes read.
    end: usize,
    /// A frame being encoded, reused between writes (one `write` syscall per frame).
    write_buf: Vec<u8>,
}

impl<S: ByteStream> Framed<S> {
    /// Frames `stream` with `format`.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use ttk_net::{FrameFormat, Framed, TcpListener, TcpStream};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn lines(_cx: Cx, _id: usize) -> std::io::Result<Vec<u8>> {
    ///     let listener = TcpListener::bind("127.0.0.1:0")?;
    ///     let client = ttk_core::yield_!(TcpStream::connect(listener.local_addr()?))?;
    ///     let (server, _) = ttk_core::yield_!(listener.accept())?;
    ///     let mut client = Framed::new(client, FrameFormat::lines());
    ///     ttk_core::yield_!(client.write_frame(b"PING"))?;
    ///     let mut wire = [0; 5];
    ///     ttk_core::yield_!(server.read_exact(&mut wire))?;
    ///     Ok(wire.to_vec())
    /// }
    ///
    /// assert_eq!(ttk_core::run(1, lines)[0].as_ref().unwrap(), b"PING\n");
    /// ```
    pub fn new(stream: S, format: FrameFormat) -> Framed<S> {
        Framed {
            stream,
            format,
            read_buf: Vec::new(),
            start: 0,
            end: 0,
            write_buf: Vec::new(),
        }
    }

    /// Reads the next frame: `Ok(Some(payload))`, or `Ok(None)` if the peer closed the
    /// connection between frames.
    ///
    /// # Errors
    /// `InvalidData` for a frame over the format's maximum; `UnexpectedEof` if the peer closed
    /// in the middle of a frame; those of the stream's [`ByteStream::read`] ([`TcpStream::read`]).
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use ttk_net::{FrameFormat, Framed, TcpListener, TcpStream};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn replies(_cx: Cx, _id: usize) -> std::io::Result<Vec<Vec<u8>>> {
    ///     let listener = TcpListener::bind("127.0.0.1:0")?;
    ///     let client = ttk_core::yield_!(TcpStream::connect(listener.local_addr()?))?;
    ///     let (server, _) = ttk_core::yield_!(listener.accept())?;
    ///     // Two lines in one write, then the server closes.
    ///     ttk_core::yield_!(server.write_all(b"+OK\r\n+PONG\r\n"))?;
    ///     drop(server);
    ///     let mut client = Framed::new(client, FrameFormat::crlf_lines());
    ///     let mut got = Vec::new();
    ///     // `None` once the peer has closed between frames.
    ///     while let Some(line) = ttk_core::yield_!(client.read_frame())? {
    ///         got.push(line.to_vec());
    ///     }
    ///     Ok(got)
    /// }
    ///
    /// let lines = ttk_core::run(1, replies).pop().unwrap().unwrap();
    /// assert_eq!(lines, [b"+OK".to_vec(), b"+PONG".to_vec()]);
    /// ```
    pub async fn read_frame(&mut self) -> io::Result<Option<&[u8]>> {
        let payload = loop {
            if let Some(payload) = self.take_buffered_frame()? {
                break payload;
            }
            self.make_room();
            let n = self.stream.read(&mut self.read_buf[self.end..]).await?;
            if n == 0 {
                if self.start == self.end {
                    return Ok(None);
                }
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!(
                        "the peer closed the connection in the middle of a frame \
                         ({} bytes of it received)",
                        self.end - self.start
                    ),
                ));
            }
            self.end += n;
        };
        Ok(Some(&self.read_buf[payload]))
    }

    /// The next frame among the bytes already read, if they hold a whole one: nothing is read
    /// from the stream, so it never waits. A bot that sends a request and reads one reply frame
    /// takes what came before the request this way — a server's push, the rest of a reply of
    /// several frames — so that it is not read as the reply.
    ///
    /// # Errors
    /// `InvalidData` for a frame over the format's maximum.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use ttk_net::{FrameFormat, Framed, TcpListener, TcpStream};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn leftovers(_cx: Cx, _id: usize) -> std::io::Result<Vec<Vec<u8>>> {
    ///     let listener = TcpListener::bind("127.0.0.1:0")?;
    ///     let client = ttk_core::yield_!(TcpStream::connect(listener.local_addr()?))?;
    ///     let (server, _) = ttk_core::yield_!(listener.accept())?;
    ///     // A reply of two lines (a RESP bulk string), then half of a push.
    ///     ttk_core::yield_!(server.write_all(b"$5\r\nhello\r\n:PI"))?;
    ///     let mut client = Framed::new(client, FrameFormat::crlf_lines());
    ///     let mut got = vec![ttk_core::yield_!(client.read_frame())?.expect("a line").to_vec()];
    ///     while let Some(line) = client.next_buffered_frame()? {
    ///         got.push(line.to_vec());
    ///     }
    ///     assert_eq!(client.buffered(), b":PI", "half a line stays for the next read");
    ///     Ok(got)
    /// }
    ///
    /// let lines = ttk_core::run(1, leftovers).pop().unwrap().unwrap();
    /// assert_eq!(lines, [b"$5".to_vec(), b"hello".to_vec()]);
    /// ```
    pub fn next_buffered_frame(&mut self) -> io::Result<Option<&[u8]>> {
        Ok(self
            .take_buffered_frame()?
            .map(|payload| &self.read_buf[payload]))
    }

    /// Takes the next whole frame from the buffer: where its payload lies in `read_buf`.
    fn take_buffered_frame(&mut self) -> io::Result<Option<std::ops::Range<usize>>> {
        let Some((payload, used)) = self.format.decode(&self.read_buf[self.start..self.end])?
        else {
            return Ok(None);
        };
        let payload = self.start + payload.start..self.start + payload.end;
        self.start += used;
        Ok(Some(payload))
    }

    /// Makes free space at the end of the read buffer: moves unconsumed bytes to the front, and
    /// grows the buffer (up to one maximal frame) only if that is not enough.
    fn make_room(&mut self) {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
        if self.end < self.read_buf.len() {
            return;
        }
        if self.start > 0 {
            self.read_buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
            return;
        }
        let wanted = (self.read_buf.len() + READ_CHUNK).min(self.format.max_wire_len().max(1));
        // `decode` already rejected anything over the maximum, so a full buffer below it has
        // room to grow; at the maximum it would have produced a frame or an error.
        self.read_buf.resize(wanted.max(self.end + 1), 0);
    }

    /// Writes `payload` as one frame.
    ///
    /// # Errors
    /// `InvalidInput` if the payload is over the format's maximum; those of
    /// the stream's [`ByteStream::write_all`] ([`TcpStream::write_all`]).
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use ttk_net::{FrameFormat, Framed, TcpListener, TcpStream};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn prefixed(_cx: Cx, _id: usize) -> std::io::Result<Vec<u8>> {
    ///     let listener = TcpListener::bind("127.0.0.1:0")?;
    ///     let client = ttk_core::yield_!(TcpStream::connect(listener.local_addr()?))?;
    ///     let (server, _) = ttk_core::yield_!(listener.accept())?;
    ///     let mut client = Framed::new(client, FrameFormat::u16_be());
    ///     ttk_core::yield_!(client.write_frame(b"move 3 4"))?;
    ///     let mut wire = [0; 10];
    ///     ttk_core::yield_!(server.read_exact(&mut wire))?;
    ///     Ok(wire.to_vec())
    /// }
    ///
    /// assert_eq!(ttk_core::run(1, prefixed)[0].as_ref().unwrap(), b"\x00\x08move 3 4");
    /// ```
    pub async fn write_frame(&mut self, payload: &[u8]) -> io::Result<()> {
        self.write_buf.clear();
        self.format.encode(payload, &mut self.write_buf)?;
        self.stream.write_all(&self.write_buf).await
    }

    /// Writes `bytes` as they are, with no delimiter or prefix: a handshake or preamble
    /// before the frames, a protocol's binary blob between them. One write, in order with
    /// the frames.
    ///
    /// # Errors
    /// Those of the stream's [`ByteStream::write_all`].
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use ttk_net::{FrameFormat, Framed, TcpListener, TcpStream};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn raw(_cx: Cx, _id: usize) -> std::io::Result<Vec<u8>> {
    ///     let listener = TcpListener::bind("127.0.0.1:0")?;
    ///     let client = ttk_core::yield_!(TcpStream::connect(listener.local_addr()?))?;
    ///     let (server, _) = ttk_core::yield_!(listener.accept())?;
    ///     let mut client = Framed::new(client, FrameFormat::crlf_lines());
    ///     ttk_core::yield_!(client.write_raw(b"\x00\x01"))?; // a preamble
    ///     ttk_core::yield_!(client.write_frame(b"HELLO"))?;
    ///     let mut wire = [0; 9];
    ///     ttk_core::yield_!(server.read_exact(&mut wire))?;
    ///     Ok(wire.to_vec())
    /// }
    ///
    /// assert_eq!(ttk_core::run(1, raw)[0].as_ref().unwrap(), b"\x00\x01HELLO\r\n");
    /// ```
    pub async fn write_raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes).await
    }

    /// The connection.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use ttk_net::{FrameFormat, Framed, TcpListener, TcpStream};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn peer(_cx: Cx, _id: usize) -> std::io::Result<bool> {
    ///     let listener = TcpListener::bind("127.0.0.1:0")?;
    ///     let client = ttk_core::yield_!(TcpStream::connect(listener.local_addr()?))?;
    ///     let framed = Framed::new(client, FrameFormat::lines());
    ///     Ok(framed.get_ref().peer_addr()? == listener.local_addr()?)
    /// }
    ///
    /// assert!(ttk_core::run(1, peer)[0].as_ref().unwrap());
    /// ```
    pub fn get_ref(&self) -> &S {
        &self.stream
    }

    /// The connection, giving up bytes read and not yet returned as frames; use
    /// [`Framed::into_parts`] to keep them.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use ttk_net::{FrameFormat, Framed, TcpListener, TcpStream};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn unframed(_cx: Cx, _id: usize) -> std::io::Result<Vec<u8>> {
    ///     let listener = TcpListener::bind("127.0.0.1:0")?;
    ///     let client = ttk_core::yield_!(TcpStream::connect(listener.local_addr()?))?;
    ///     let (server, _) = ttk_core::yield_!(listener.accept())?;
    ///     let framed = Framed::new(client, FrameFormat::lines());
    ///     // Back to the plain stream: bytes go out as they are.
    ///     let client = framed.into_inner();
    ///     ttk_core::yield_!(client.write_all(b"raw"))?;
    ///     let mut wire = [0; 3];
    ///     ttk_core::yield_!(server.read_exact(&mut wire))?;
    ///     Ok(wire.to_vec())
    /// }
    ///
    /// assert_eq!(ttk_core::run(1, unframed)[0].as_ref().unwrap(), b"raw");
    /// ```
    pub fn into_inner(self) -> S {
        self.stream
    }

    /// The connection and the bytes read from it but not yet returned (as frames or raw): a
    /// frame read may have taken in the start of what follows, which `into_inner` would lose.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use ttk_net::{FrameFormat, Framed, TcpListener, TcpStream};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn upgrade(_cx: Cx, _id: usize) -> std::io::Result<Vec<u8>> {
    ///     let listener = TcpListener::bind("127.0.0.1:0")?;
    ///     let client = ttk_core::yield_!(TcpStream::connect(listener.local_addr()?))?;
    ///     let (server, _) = ttk_core::yield_!(listener.accept())?;
    ///     // The reply line and the first bytes of the new protocol arrive in one write.
    ///     ttk_core::yield_!(server.write_all(b"OK switching\n\x01\x02"))?;
    ///     let mut lines = Framed::new(client, FrameFormat::lines());
    ///     assert_eq!(ttk_core::yield_!(lines.read_frame())?, Some(&b"OK switching"[..]));
    ///     let (_stream, early) = lines.into_parts();
    ///     Ok(early)
    /// }
    ///
    /// assert_eq!(ttk_core::run(1, upgrade)[0].as_ref().unwrap(), &[1, 2]);
    /// ```
    pub fn into_parts(self) -> (S, Vec<u8>) {
        let buffered = self.buffered().to_vec();
        (self.stream, buffered)
    }
}
