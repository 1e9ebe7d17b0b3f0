//! The in-memory stream tungstenite works on: bytes already received, and bytes to send.
//!
//! tungstenite is a synchronous state machine over `Read + Write`. It never touches the socket:
//! it reads from [`Duplex`]'s received bytes (`WouldBlock` once they are used up) and appends what
//! it writes to [`Duplex`]'s outgoing bytes. [`WebSocket`](super::WebSocket) refills the one with
//! an awaited `read` and empties the other with an awaited `write_all`.
//!
//! The received bytes are handed to tungstenite as [`Frames`] says: a big frame alone, so that
//! `WebSocket` can tell when tungstenite holds no byte and give its grown read buffer back.

use std::fmt;
use std::io::{self, Read, Write};

use super::frames::Frames;

/// The size of the buffer a socket read fills.
pub(crate) const READ_CHUNK: usize = 8 * 1024;

/// The capacity `outgoing` keeps once written: a big frame is written a chunk of this size at a
/// time, and what grew larger (messages queued together) is given back once written.
pub(crate) const WRITE_CHUNK: usize = 8 * 1024;

/// Received bytes for tungstenite to read, and bytes it wrote for the socket.
pub(crate) struct Duplex {
    /// The socket's last read: the unread bytes are `incoming[start..end]`. Allocated once.
    pub(crate) incoming: Box<[u8]>,
    /// The first byte tungstenite has not read.
    pub(crate) start: usize,
    /// The end of the bytes read from the socket.
    pub(crate) end: usize,
    /// The peer closed its side: once `incoming` is used up, reads return `Ok(0)`.
    pub(crate) eof: bool,
    /// What tungstenite (or [`WebSocket`](super::WebSocket), for text and binary frames) wrote
    /// and the socket has not been given yet; cleared once written, keeping at most
    /// [`WRITE_CHUNK`] of its capacity.
    pub(crate) outgoing: Vec<u8>,
    /// Where the bytes handed to tungstenite stand in the stream of frames.
    pub(crate) frames: Frames,
}

impl Duplex {
    /// Empty buffers, for a connection whose handshake is to come.
    pub(crate) fn new() -> Duplex {
        Duplex {
            incoming: vec![0; READ_CHUNK].into_boxed_slice(),
            ..Duplex::placeholder()
        }
    }

    /// A duplex without buffers, allocating nothing: a stand-in for a moment while the real
    /// one moves from one tungstenite to another.
    pub(crate) fn placeholder() -> Duplex {
        Duplex {
            incoming: Box::default(),
            start: 0,
            end: 0,
            eof: false,
            outgoing: Vec::new(),
            frames: Frames::new(),
        }
    }

    /// Whether every received byte has been read.
    pub(crate) fn is_drained(&self) -> bool {
        self.start == self.end
    }

    /// Records that the socket read `n` bytes into `incoming` (0: the peer closed its side).
    pub(crate) fn filled(&mut self, n: usize) {
        self.start = 0;
        self.end = n;
        self.eof = n == 0;
    }

    /// Records that the handshake is over: what is handed from now on are frames.
    pub(crate) fn handshake_done(&mut self) {
        self.frames.handshake_done(&self.incoming[..self.start]);
    }

    /// Records that `outgoing` was written: empties it, and gives back its capacity over
    /// [`WRITE_CHUNK`].
    pub(crate) fn written(&mut self) {
        self.outgoing.clear();
        self.outgoing.shrink_to(WRITE_CHUNK);
    }
}

impl Read for Duplex {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.is_drained() {
            return if self.eof {
                Ok(0)
            } else {
                Err(io::ErrorKind::WouldBlock.into())
            };
        }
        let available = &self.incoming[self.start..self.end];
        let n = self
            .frames
            .hand(&available[..buf.len().min(available.len())]);
        buf[..n].copy_from_slice(&self.incoming[self.start..self.start + n]);
        self.start += n;
        Ok(n)
    }
}

impl Write for Duplex {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.outgoing.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl fmt::Debug for Duplex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Duplex")
            .field("unread", &(self.end - self.start))
            .field("eof", &self.eof)
            .field("outgoing", &self.outgoing.len())
            .field("frames", &self.frames)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_was_received_then_would_block_then_eof() {
        let mut duplex = Duplex::new();
        let mut buf = [0; 4];
        assert_eq!(
            duplex.read(&mut buf).unwrap_err().kind(),
            io::ErrorKind::WouldBlock
        );
        duplex.incoming[..6].copy_from_slice(b"abcdef");
        duplex.filled(6);
        assert_eq!(duplex.read(&mut buf).unwrap(), 4);
        assert_eq!(&buf, b"abcd");
        assert_eq!(duplex.read(&mut buf).unwrap(), 2);
        assert_eq!(&buf[..2], b"ef");
        assert!(duplex.is_drained());
        duplex.filled(0);
        assert_eq!(duplex.read(&mut buf).unwrap(), 0);
    }

    #[test]
    fn written_gives_back_what_grew_over_a_chunk() {
        let mut duplex = Duplex::new();
        duplex.write_all(&[1; 100]).unwrap();
        duplex.written();
        assert!(duplex.outgoing.is_empty() && duplex.outgoing.capacity() >= 100);
        duplex.write_all(&vec![1; 10 * WRITE_CHUNK]).unwrap();
        duplex.written();
        assert_eq!(duplex.outgoing.capacity(), WRITE_CHUNK);
    }

    #[test]
    fn writes_append() {
        let mut duplex = Duplex::new();
        duplex.write_all(b"ab").unwrap();
        duplex.write_all(b"cd").unwrap();
        assert_eq!(duplex.outgoing, b"abcd");
    }
}
