//! Raw reads on a [`Framed`]: bytes that are not frames of its format, read in order with the
//! frames — the payload of a RESP bulk string (which may hold CRLFs) after its `$LEN` line, a
//! binary blob after a header frame.

use std::io;

use super::{Framed, READ_CHUNK};
use crate::byte_stream::ByteStream;

impl<S: ByteStream> Framed<S> {
    /// The bytes read from the stream and not yet returned, as frames or raw: what a frame read
    /// took in beyond its frame. Nothing is read.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use ttk_net::{FrameFormat, Framed, TcpListener, TcpStream};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn peek(_cx: Cx, _id: usize) -> std::io::Result<Vec<u8>> {
    ///     let listener = TcpListener::bind("127.0.0.1:0")?;
    ///     let client = ttk_core::yield_!(TcpStream::connect(listener.local_addr()?))?;
    ///     let (server, _) = ttk_core::yield_!(listener.accept())?;
    ///     ttk_core::yield_!(server.write_all(b"one\ntwo\n"))?;
    ///     let mut lines = Framed::new(client, FrameFormat::lines());
    ///     ttk_core::yield_!(lines.read_frame())?;
    ///     Ok(lines.buffered().to_vec())
    /// }
    ///
    /// assert_eq!(ttk_core::run(1, peek)[0].as_ref().unwrap(), b"two\n");
    /// ```
    pub fn buffered(&self) -> &[u8] {
        &self.read_buf[self.start..self.end]
    }

    /// Reads exactly `len` raw bytes, whatever they hold (no delimiter or prefix is looked
    /// for): first those already buffered, then from the stream. The frames after them are read
    /// as usual.
    ///
    /// The read buffer grows to `len` bytes if it must, whatever the format's maximum: check a
    /// length that came from the peer before asking for it.
    ///
    /// # Errors
    /// `UnexpectedEof` if the peer closes before `len` bytes came; those of the stream's
    /// [`ByteStream::read`].
    ///
    /// # Examples
    /// A RESP bulk string: its length on a CRLF line, then that many bytes (CRLFs included)
    /// and a CRLF.
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use ttk_net::{FrameFormat, Framed, TcpListener, TcpStream};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn bulk(_cx: Cx, _id: usize) -> std::io::Result<(Vec<u8>, Vec<u8>)> {
    ///     let listener = TcpListener::bind("127.0.0.1:0")?;
    ///     let client = ttk_core::yield_!(TcpStream::connect(listener.local_addr()?))?;
    ///     let (server, _) = ttk_core::yield_!(listener.accept())?;
    ///     ttk_core::yield_!(server.write_all(b"$7\r\nab\r\ncde\r\n+OK\r\n"))?;
    ///     let mut resp = Framed::new(client, FrameFormat::crlf_lines());
    ///     let header = ttk_core::yield_!(resp.read_frame())?.expect("a header line");
    ///     let len: usize = std::str::from_utf8(&header[1..]).unwrap().parse().unwrap();
    ///     let payload = ttk_core::yield_!(resp.read_raw_exact(len + 2))?;
    ///     let payload = payload[..len].to_vec();
    ///     let next = ttk_core::yield_!(resp.read_frame())?.expect("a reply").to_vec();
    ///     Ok((payload, next))
    /// }
    ///
    /// let (payload, next) = ttk_core::run(1, bulk).pop().unwrap().unwrap();
    /// assert_eq!(payload, b"ab\r\ncde");
    /// assert_eq!(next, b"+OK");
    /// ```
    pub async fn read_raw_exact(&mut self, len: usize) -> io::Result<&[u8]> {
        while self.end - self.start < len {
            self.make_room_for(len);
            let n = self.stream.read(&mut self.read_buf[self.end..]).await?;
            if n == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!(
                        "the peer closed the connection after {} of the {len} raw bytes \
                         asked for",
                        self.end - self.start
                    ),
                ));
            }
            self.end += n;
        }
        let raw = self.start..self.start + len;
        self.start += len;
        Ok(&self.read_buf[raw])
    }

    /// Reads raw bytes, as many as there are: those already buffered if there are any (no read
    /// then), else what one read of the stream brings. Empty once the peer closed.
    ///
    /// # Errors
    /// Those of the stream's [`ByteStream::read`].
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use ttk_net::{FrameFormat, Framed, TcpListener, TcpStream};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn rest(_cx: Cx, _id: usize) -> std::io::Result<Vec<u8>> {
    ///     let listener = TcpListener::bind("127.0.0.1:0")?;
    ///     let client = ttk_core::yield_!(TcpStream::connect(listener.local_addr()?))?;
    ///     let (server, _) = ttk_core::yield_!(listener.accept())?;
    ///     ttk_core::yield_!(server.write_all(b"HELLO\n\x00\x01\x02"))?;
    ///     drop(server);
    ///     let mut framed = Framed::new(client, FrameFormat::lines());
    ///     ttk_core::yield_!(framed.read_frame())?;
    ///     let mut rest = Vec::new();
    ///     loop {
    ///         let raw = ttk_core::yield_!(framed.read_raw())?;
    ///         if raw.is_empty() {
    ///             return Ok(rest); // the peer closed
    ///         }
    ///         rest.extend_from_slice(raw);
    ///     }
    /// }
    ///
    /// assert_eq!(ttk_core::run(1, rest)[0].as_ref().unwrap(), &[0, 1, 2]);
    /// ```
    pub async fn read_raw(&mut self) -> io::Result<&[u8]> {
        if self.start == self.end {
            self.make_room_for(1);
            let n = self.stream.read(&mut self.read_buf[self.end..]).await?;
            self.end += n;
        }
        let raw = self.start..self.end;
        self.start = self.end;
        Ok(&self.read_buf[raw])
    }

    /// Makes the read buffer hold `len` bytes from `start` on, with free space after `end`
    /// (the caller has fewer than `len` bytes buffered): moves the unconsumed bytes to the
    /// front, and grows the buffer only if that is not enough.
    fn make_room_for(&mut self, len: usize) {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
        // With fewer than `len` bytes buffered, room for `len` from `start` on leaves room
        // after `end` too.
        if self.read_buf.len() - self.start >= len {
            return;
        }
        if self.start > 0 {
            self.read_buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.read_buf.len() < len {
            // At least a read's worth, so that small raw reads do not read a byte at a time.
            self.read_buf.resize(len.max(READ_CHUNK), 0);
        }
    }
}
