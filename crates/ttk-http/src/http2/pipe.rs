//! The bytes between h2 and the bot's stream: h2 reads and writes memory, and the bot moves
//! that memory to and from its socket with its own reads and writes on its loop.

use std::cell::RefCell;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// One end of the pipe; h2 owns one handle, the connection's driver another.
///
/// h2 sees an ordinary transport. A read with nothing received is `Pending` *without keeping
/// the waker*: only the driver puts bytes in, and it polls h2 again right after it does, so
/// no wake is needed (and none could come from anywhere else). Writes always succeed: they
/// land in memory, and the driver writes them out before it waits for anything.
#[derive(Clone, Debug, Default)]
pub(crate) struct Pipe {
    /// The buffers, shared by both handles.
    inner: Rc<RefCell<Buffers>>,
}

/// What the pipe holds.
#[derive(Debug, Default)]
struct Buffers {
    /// Bytes received from the peer, not yet read by h2.
    incoming: Vec<u8>,
    /// How many of `incoming` h2 has read.
    read: usize,
    /// The peer's end of stream (or the error that ended it): h2 reads it once the bytes
    /// before it are read.
    end: Option<io::Result<()>>,
    /// Bytes h2 wrote, not yet sent to the peer.
    outgoing: Vec<u8>,
    /// The first bytes received (up to [`FIRST`]): what the peer spoke first.
    first: [u8; FIRST],
    /// How many of `first` came.
    first_len: usize,
    /// Whether the driver took what h2 wrote, to send it.
    taken: bool,
}

/// How many of the first bytes received are kept: enough for `HTTP/1.`.
const FIRST: usize = 8;

/// The type of a SETTINGS frame (RFC 9113, 6.5): the fourth byte of its header.
const SETTINGS: u8 = 0x4;

impl Pipe {
    /// Hands h2 `bytes` received from the peer.
    pub(crate) fn receive(&self, bytes: &[u8]) {
        let mut inner = self.inner.borrow_mut();
        if inner.read == inner.incoming.len() {
            inner.incoming.clear();
            inner.read = 0;
        }
        inner.incoming.extend_from_slice(bytes);
        let kept = inner.first_len;
        let more = bytes.len().min(FIRST - kept);
        inner.first[kept..kept + more].copy_from_slice(&bytes[..more]);
        inner.first_len += more;
    }

    /// Whether the peer's first bytes were an HTTP/1 response's (`HTTP/1.`): a server that
    /// does not speak HTTP/2 on this port, answering the preface as a bad HTTP/1.1 request.
    pub(crate) fn spoke_http1(&self) -> bool {
        let inner = self.inner.borrow();
        inner.first[..inner.first_len].starts_with(b"HTTP/1.")
    }

    /// The peer's stream ended: cleanly (`Ok`) or with an error.
    pub(crate) fn end(&self, how: io::Result<()>) {
        self.inner.borrow_mut().end.get_or_insert(how);
    }

    /// Whether the peer's end of stream (or an error) was given to the pipe.
    pub(crate) fn ended(&self) -> bool {
        self.inner.borrow().end.is_some()
    }

    /// Whether h2 wrote bytes not yet sent.
    pub(crate) fn has_outgoing(&self) -> bool {
        !self.inner.borrow().outgoing.is_empty()
    }

    /// Swaps the bytes h2 wrote with `spare` (an empty buffer, whose memory the pipe reuses):
    /// the caller sends them, clears the buffer and hands it back the next time.
    pub(crate) fn take_outgoing(&self, spare: &mut Vec<u8>) {
        debug_assert!(spare.is_empty());
        let mut inner = self.inner.borrow_mut();
        inner.taken = true;
        std::mem::swap(&mut inner.outgoing, spare);
    }

    /// Whether nothing went either way yet: what h2 wrote was never taken to be sent, and
    /// nothing was received.
    pub(crate) fn untouched(&self) -> bool {
        let inner = self.inner.borrow();
        !inner.taken && inner.first_len == 0 && inner.end.is_none()
    }

    /// Whether the peer's first bytes were an HTTP/2 frame's header, and its SETTINGS (every
    /// HTTP/2 server's first frame): the peer speaks HTTP/2.
    pub(crate) fn spoke_http2(&self) -> bool {
        let inner = self.inner.borrow();
        inner.first_len >= 4 && inner.first[3] == SETTINGS
    }

    /// Bytes received and not yet read by h2.
    pub(crate) fn unread(&self) -> usize {
        let inner = self.inner.borrow();
        inner.incoming.len() - inner.read
    }
}

impl AsyncRead for Pipe {
    fn poll_read(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let mut inner = self.inner.borrow_mut();
        let unread = inner.incoming.len() - inner.read;
        if unread == 0 {
            return match inner.end.take() {
                // Reading nothing is the end of the stream; any later read sees it again.
                Some(Ok(())) => {
                    inner.end = Some(Ok(()));
                    Poll::Ready(Ok(()))
                }
                Some(Err(error)) => {
                    let again = io::Error::new(error.kind(), error.to_string());
                    inner.end = Some(Err(again));
                    Poll::Ready(Err(error))
                }
                None => Poll::Pending,
            };
        }
        let n = unread.min(buf.remaining());
        let start = inner.read;
        buf.put_slice(&inner.incoming[start..start + n]);
        inner.read += n;
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Pipe {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.inner.borrow_mut().outgoing.extend_from_slice(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::Waker;

    fn read(pipe: &mut Pipe, max: usize) -> Poll<io::Result<Vec<u8>>> {
        let mut memory = vec![0; max];
        let mut buf = ReadBuf::new(&mut memory);
        let mut cx = Context::from_waker(Waker::noop());
        Pin::new(pipe)
            .poll_read(&mut cx, &mut buf)
            .map_ok(|()| buf.filled().to_vec())
    }

    #[test]
    fn bytes_come_out_in_order_then_the_end() {
        let mut pipe = Pipe::default();
        assert!(read(&mut pipe, 4).is_pending(), "nothing yet");
        pipe.receive(b"hello ");
        pipe.receive(b"world");
        assert_eq!(pipe.unread(), 11);
        assert_eq!(
            read(&mut pipe, 4).map(Result::unwrap),
            Poll::Ready(b"hell".to_vec())
        );
        assert_eq!(
            read(&mut pipe, 64).map(Result::unwrap),
            Poll::Ready(b"o world".to_vec())
        );
        assert!(read(&mut pipe, 4).is_pending());
        pipe.end(Ok(()));
        for _ in 0..2 {
            assert_eq!(
                read(&mut pipe, 4).map(Result::unwrap),
                Poll::Ready(Vec::new())
            );
        }
    }

    #[test]
    fn an_error_ends_the_stream_after_the_bytes_before_it() {
        let mut pipe = Pipe::default();
        pipe.receive(b"ab");
        pipe.end(Err(io::ErrorKind::ConnectionReset.into()));
        assert_eq!(
            read(&mut pipe, 8).map(Result::unwrap),
            Poll::Ready(b"ab".to_vec())
        );
        for _ in 0..2 {
            let Poll::Ready(Err(error)) = read(&mut pipe, 8) else {
                panic!("the error is read");
            };
            assert_eq!(error.kind(), io::ErrorKind::ConnectionReset);
        }
    }

    #[test]
    fn writes_wait_in_memory_for_the_driver() {
        let mut pipe = Pipe::default();
        let mut cx = Context::from_waker(Waker::noop());
        let wrote = Pin::new(&mut pipe).poll_write(&mut cx, b"frame");
        assert!(matches!(wrote, Poll::Ready(Ok(5))));
        assert!(pipe.has_outgoing());
        let mut out = Vec::new();
        pipe.take_outgoing(&mut out);
        assert_eq!(out, b"frame");
        assert!(!pipe.has_outgoing());
    }
}
