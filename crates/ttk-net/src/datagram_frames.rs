//! Frames over UDP: one frame per datagram.

use std::io;
use std::net::SocketAddr;

use crate::frame_format::FrameFormat;
use crate::udp_socket::UdpSocket;

/// The largest UDP payload over IPv4 (and so the largest datagram read).
const MAX_DATAGRAM: usize = 65_507;

/// A [`UdpSocket`] that sends and receives one frame of a [`FrameFormat`] per datagram: a
/// length prefix or a line ending inside each datagram, checked on receipt, and the format's
/// size limit on both sides. A datagram that is not exactly one whole frame — cut short, with
/// bytes after the frame, or over the limit — is an `InvalidData` error for that datagram only:
/// the next one is read as usual.
///
/// # Examples
/// ```
/// # use ttk_macros::bot;
/// # use ttk_core::Cx;
/// use ttk_net::{DatagramFrames, FrameFormat, UdpSocket};
///
/// #[bot(crate = ttk_core)]
/// fn ping(_cx: Cx, _id: usize) -> std::io::Result<(Vec<u8>, Vec<u8>)> {
///     let server = UdpSocket::bind("127.0.0.1:0")?;
///     let client = UdpSocket::bind("127.0.0.1:0")?;
///     client.connect(server.local_addr()?)?;
///     let mut client = DatagramFrames::new(client, FrameFormat::u16_be());
///     let mut server = DatagramFrames::new(server, FrameFormat::u16_be());
///     ttk_core::yield_!(client.send_frame(b"ping"))?;
///     let (frame, from) = ttk_core::yield_!(server.recv_frame_from())?;
///     let got = frame.to_vec();
///     ttk_core::yield_!(server.send_frame_to(b"pong", from))?;
///     Ok((got, ttk_core::yield_!(client.recv_frame())?.to_vec()))
/// }
///
/// let (got, reply) = ttk_core::run(1, ping).pop().unwrap().unwrap();
/// assert_eq!((got.as_slice(), reply.as_slice()), (&b"ping"[..], &b"pong"[..]));
/// ```
#[derive(Debug)]
pub struct DatagramFrames {
    socket: UdpSocket,
    format: FrameFormat,
    /// The datagram being encoded or the last one received, reused (no allocation per frame
    /// once it has grown).
    buf: Vec<u8>,
}

impl DatagramFrames {
    /// Frames `socket`'s datagrams with `format`.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use ttk_net::{DatagramFrames, FrameFormat, UdpSocket};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn framed(_cx: Cx, _id: usize) -> std::io::Result<bool> {
    ///     let socket = UdpSocket::bind("127.0.0.1:0")?;
    ///     let frames = DatagramFrames::new(socket, FrameFormat::u16_be().max_frame_len(512));
    ///     Ok(frames.get_ref().local_addr()?.port() != 0)
    /// }
    ///
    /// assert!(ttk_core::run(1, framed)[0].as_ref().unwrap());
    /// ```
    pub fn new(socket: UdpSocket, format: FrameFormat) -> DatagramFrames {
        DatagramFrames {
            socket,
            format,
            buf: Vec::new(),
        }
    }

    /// Sends `payload` as one frame in one datagram to the connected peer.
    ///
    /// # Errors
    /// `InvalidInput` if the payload is over the format's maximum or the frame over a
    /// datagram's; those of [`UdpSocket::send`].
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use ttk_net::{DatagramFrames, FrameFormat, UdpSocket};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn send(_cx: Cx, _id: usize) -> std::io::Result<Vec<u8>> {
    ///     let server = UdpSocket::bind("127.0.0.1:0")?;
    ///     let client = UdpSocket::bind("127.0.0.1:0")?;
    ///     client.connect(server.local_addr()?)?;
    ///     let mut client = DatagramFrames::new(client, FrameFormat::u16_be());
    ///     ttk_core::yield_!(client.send_frame(b"ping"))?;
    ///     let mut datagram = [0; 16];
    ///     let n = ttk_core::yield_!(server.recv(&mut datagram))?;
    ///     Ok(datagram[..n].to_vec())
    /// }
    ///
    /// assert_eq!(ttk_core::run(1, send)[0].as_ref().unwrap(), b"\x00\x04ping");
    /// ```
    pub async fn send_frame(&mut self, payload: &[u8]) -> io::Result<()> {
        self.encode(payload)?;
        self.socket.send(&self.buf).await.map(drop)
    }

    /// Sends `payload` as one frame in one datagram to `target`.
    ///
    /// # Errors
    /// As [`DatagramFrames::send_frame`], and those of [`UdpSocket::send_to`].
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use ttk_net::{DatagramFrames, FrameFormat, UdpSocket};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn send_to(_cx: Cx, _id: usize) -> std::io::Result<Vec<u8>> {
    ///     let server = UdpSocket::bind("127.0.0.1:0")?;
    ///     let socket = UdpSocket::bind("127.0.0.1:0")?;
    ///     let mut client = DatagramFrames::new(socket, FrameFormat::lines());
    ///     ttk_core::yield_!(client.send_frame_to(b"hello", server.local_addr()?))?;
    ///     let mut datagram = [0; 16];
    ///     let (n, _) = ttk_core::yield_!(server.recv_from(&mut datagram))?;
    ///     Ok(datagram[..n].to_vec())
    /// }
    ///
    /// assert_eq!(ttk_core::run(1, send_to)[0].as_ref().unwrap(), b"hello\n");
    /// ```
    pub async fn send_frame_to(&mut self, payload: &[u8], target: SocketAddr) -> io::Result<()> {
        self.encode(payload)?;
        self.socket.send_to(&self.buf, target).await.map(drop)
    }

    /// Receives the next datagram from the connected peer, as one frame.
    ///
    /// # Errors
    /// `InvalidData` if the datagram is not exactly one whole frame within the limit; those of
    /// [`UdpSocket::recv`].
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use ttk_net::{DatagramFrames, FrameFormat, UdpSocket};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn receive(_cx: Cx, _id: usize) -> std::io::Result<Vec<u8>> {
    ///     let server = UdpSocket::bind("127.0.0.1:0")?;
    ///     let client = UdpSocket::bind("127.0.0.1:0")?;
    ///     client.connect(server.local_addr()?)?;
    ///     ttk_core::yield_!(server.send_to(b"\x00\x02ok", client.local_addr()?))?;
    ///     let mut client = DatagramFrames::new(client, FrameFormat::u16_be());
    ///     Ok(ttk_core::yield_!(client.recv_frame())?.to_vec())
    /// }
    ///
    /// assert_eq!(ttk_core::run(1, receive)[0].as_ref().unwrap(), b"ok");
    /// ```
    pub async fn recv_frame(&mut self) -> io::Result<&[u8]> {
        self.buf.resize(MAX_DATAGRAM, 0);
        let n = self.socket.recv(&mut self.buf).await?;
        self.frame_of(n)
    }

    /// Receives the next datagram from anyone, as one frame, with its sender.
    ///
    /// # Errors
    /// As [`DatagramFrames::recv_frame`], and those of [`UdpSocket::recv_from`].
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use ttk_net::{DatagramFrames, FrameFormat, UdpSocket};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn receive_from(_cx: Cx, _id: usize) -> std::io::Result<bool> {
    ///     let socket = UdpSocket::bind("127.0.0.1:0")?;
    ///     let mut server = DatagramFrames::new(socket, FrameFormat::lines());
    ///     let client = UdpSocket::bind("127.0.0.1:0")?;
    ///     ttk_core::yield_!(client.send_to(b"hi\n", server.get_ref().local_addr()?))?;
    ///     let (frame, from) = ttk_core::yield_!(server.recv_frame_from())?;
    ///     Ok(frame == b"hi" && from == client.local_addr()?)
    /// }
    ///
    /// assert!(ttk_core::run(1, receive_from)[0].as_ref().unwrap());
    /// ```
    pub async fn recv_frame_from(&mut self) -> io::Result<(&[u8], SocketAddr)> {
        self.buf.resize(MAX_DATAGRAM, 0);
        let (n, from) = self.socket.recv_from(&mut self.buf).await?;
        Ok((self.frame_of(n)?, from))
    }

    /// The socket.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use ttk_net::{DatagramFrames, FrameFormat, UdpSocket};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn address(_cx: Cx, _id: usize) -> std::io::Result<bool> {
    ///     let frames = DatagramFrames::new(UdpSocket::bind("127.0.0.1:0")?, FrameFormat::lines());
    ///     Ok(frames.get_ref().local_addr()?.ip().is_loopback())
    /// }
    ///
    /// assert!(ttk_core::run(1, address)[0].as_ref().unwrap());
    /// ```
    pub fn get_ref(&self) -> &UdpSocket {
        &self.socket
    }

    /// The socket back.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use ttk_net::{DatagramFrames, FrameFormat, UdpSocket};
    ///
    /// #[bot(crate = ttk_core)]
    /// fn unframed(_cx: Cx, _id: usize) -> std::io::Result<Vec<u8>> {
    ///     let server = UdpSocket::bind("127.0.0.1:0")?;
    ///     let frames = DatagramFrames::new(UdpSocket::bind("127.0.0.1:0")?, FrameFormat::lines());
    ///     let socket = frames.into_inner();
    ///     // Back to plain datagrams: no newline added.
    ///     ttk_core::yield_!(socket.send_to(b"raw", server.local_addr()?))?;
    ///     let mut buf = [0; 8];
    ///     let n = ttk_core::yield_!(server.recv(&mut buf))?;
    ///     Ok(buf[..n].to_vec())
    /// }
    ///
    /// assert_eq!(ttk_core::run(1, unframed)[0].as_ref().unwrap(), b"raw");
    /// ```
    pub fn into_inner(self) -> UdpSocket {
        self.socket
    }

    /// Encodes `payload` into the buffer, as one datagram.
    fn encode(&mut self, payload: &[u8]) -> io::Result<()> {
        self.buf.clear();
        self.format.encode(payload, &mut self.buf)?;
        if self.buf.len() > MAX_DATAGRAM {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "a frame of {} bytes does not fit in one datagram ({MAX_DATAGRAM} bytes)",
                    self.buf.len()
                ),
            ));
        }
        Ok(())
    }

    /// The frame that the `n` bytes received make, all of them.
    fn frame_of(&self, n: usize) -> io::Result<&[u8]> {
        let datagram = &self.buf[..n];
        match self.format.decode(datagram)? {
            Some((payload, used)) if used == n => Ok(&datagram[payload]),
            Some((_, used)) => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("a datagram of {n} bytes holds a frame of {used} and more bytes after it"),
            )),
            None => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("a datagram of {n} bytes holds only part of a frame"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sends `raw` from a plain socket to a framed one and returns what the framed one made of
    /// it, then of a good frame after it.
    #[ttk_macros::bot(crate = ttk_core)]
    fn receive(_cx: ttk_core::Cx, _id: usize, raw: Vec<u8>) -> (io::Result<Vec<u8>>, Vec<u8>) {
        let receiver = UdpSocket::bind("127.0.0.1:0").unwrap();
        let sender = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let to = receiver.local_addr().unwrap();
        let mut framed = DatagramFrames::new(receiver, FrameFormat::u16_be().max_frame_len(8));
        sender.send_to(&raw, to).unwrap();
        sender.send_to(b"\x00\x02ok", to).unwrap();
        let first = ttk_core::yield_!(framed.recv_frame_from()).map(|(frame, _)| frame.to_vec());
        let second = ttk_core::yield_!(framed.recv_frame_from())
            .unwrap()
            .0
            .to_vec();
        (first, second)
    }

    #[test]
    fn a_datagram_that_is_not_one_frame_is_refused_and_the_next_one_is_read() {
        for (raw, expected) in [
            (&b"\x00\x05hi"[..], "only part of a frame"),
            (&b"\x00\x01hi"[..], "more bytes after it"),
            (&b"\x00\x09123456789"[..], "limit"),
        ] {
            let (first, second) = ttk_core::run(1, move |cx, id| receive(cx, id, raw.to_vec()))
                .pop()
                .unwrap();
            let error = first.unwrap_err();
            assert_eq!(error.kind(), io::ErrorKind::InvalidData);
            assert!(error.to_string().contains(expected), "{error}");
            assert_eq!(second, b"ok", "the next datagram is read as usual");
        }
    }
}
