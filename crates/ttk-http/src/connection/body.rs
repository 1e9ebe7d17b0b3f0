//! A body read piece by piece, into the caller's buffer ([`HttpConnection::read_body`]) or
//! counted and dropped ([`Request::discard_body`](crate::Request::discard_body)): the head
//! stays at the start of the read buffer and each piece of body is dropped before the next is
//! read, so the body takes no more room than a read brings, whatever its size.

use std::io;
use std::ops::Range;

use super::HttpConnection;
use super::reading::Framing;
use crate::chunked::Dechunker;
use crate::error::closed_early;

/// How a body read piece by piece ends.
#[derive(Debug)]
enum Delimiter {
    /// After this many more bytes (`Content-Length`).
    Length(usize),
    /// After the last chunk, decoded in place by the [`Dechunker`].
    Chunked(Dechunker),
    /// When the server closes the connection.
    UntilClose,
}

/// A body being read piece by piece. In the read buffer, the head is at `..start` and the
/// body's bytes not dropped yet follow it: the current piece at `piece`, then (for a length or
/// a close) raw bytes read after it or (chunked) those the [`Dechunker`] has not decoded yet.
#[derive(Debug)]
pub(super) struct BodyProgress {
    /// Where the body ends.
    delimiter: Delimiter,
    /// Where the body's bytes start in the read buffer: the head's length.
    start: usize,
    /// The decoded bytes of the current piece not handed on yet (they end where the piece
    /// does; the piece's bytes before them were handed on).
    piece: Range<usize>,
    /// Whether the server closes the connection after this response.
    close: bool,
    /// How many bytes of body (decoded) were made into pieces so far.
    read: u64,
}

/// What [`HttpConnection::next_piece`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Piece {
    /// The next piece, at [`BodyProgress::piece`] (not empty).
    Ready,
    /// The body has ended; the server closes the connection after it if `close`.
    Ended { close: bool },
}

/// What [`BodyProgress::decode`] made of the bytes read so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// A piece is ready.
    Piece,
    /// More bytes are needed.
    More,
    /// The body has ended; the next response starts at `start`.
    End,
}

impl BodyProgress {
    /// A body delimited as `framing` says (not [`Framing::Empty`]), starting at `start`, after
    /// which the server closes the connection if `close`.
    pub(super) fn new(framing: Framing, start: usize, close: bool) -> BodyProgress {
        let delimiter = match framing {
            Framing::Length(len) => Delimiter::Length(len),
            Framing::Chunked => Delimiter::Chunked(Dechunker::new(start, usize::MAX)),
            Framing::Empty => Delimiter::Length(0),
            Framing::UntilClose => Delimiter::UntilClose,
        };
        BodyProgress {
            delimiter,
            start,
            piece: start..start,
            close,
            read: 0,
        }
    }

    /// Drops the current piece, handed on or not, and makes the next one of the bytes at
    /// `buf[start..*end]` if they hold one; `*end` moves down with the bytes kept.
    fn decode(&mut self, buf: &mut [u8], end: &mut usize) -> io::Result<Step> {
        let start = self.start;
        let step = match &mut self.delimiter {
            Delimiter::Length(remaining) => {
                drop_piece(buf, end, start, self.piece.end);
                let available = (*end - start).min(*remaining);
                *remaining -= available;
                self.piece = start..start + available;
                match (available, *remaining) {
                    (0, 0) => Step::End,
                    (0, _) => Step::More,
                    _ => Step::Piece,
                }
            }
            Delimiter::UntilClose => {
                drop_piece(buf, end, start, self.piece.end);
                self.piece = start..*end;
                if self.piece.is_empty() {
                    Step::More
                } else {
                    Step::Piece
                }
            }
            Delimiter::Chunked(dechunker) => {
                dechunker.clear_body();
                let done = dechunker.advance(buf, *end)?.is_some();
                self.piece = dechunker.body();
                if !self.piece.is_empty() {
                    Step::Piece
                } else {
                    // The bytes not decoded yet (the next response's, once done) move down
                    // to the body's start.
                    *end = dechunker.compact(buf, *end);
                    if done { Step::End } else { Step::More }
                }
            }
        };
        self.read += self.piece.len() as u64;
        Ok(step)
    }
}

/// Drops the piece at `start..piece_end` from `buf[..*end]`, moving the bytes after it down.
fn drop_piece(buf: &mut [u8], end: &mut usize, start: usize, piece_end: usize) {
    if piece_end > start {
        buf.copy_within(piece_end..*end, start);
        *end -= piece_end - start;
    }
}

impl HttpConnection {
    /// Reads the next bytes of the body of the response [`send_streaming`] returned into
    /// `buf`, decoded from chunks if it was chunked; how many, 0 once the body has ended (and
    /// for an empty `buf`). A call waits only for what one read of the socket brings, and the
    /// connection holds no more of the body than that; the caller's buffer size sets how
    /// much each call returns. Once it returned 0 the connection is ready for the next request
    /// on the same socket (or a new one if the server said it closes after this response).
    /// With no streamed body (after [`send`](HttpConnection::send), or once the body ended)
    /// it returns 0.
    ///
    /// Not limited by the request's [`Request::timeout`](crate::Request::timeout): wrap it
    /// in [`ttk_core::timeout`] to limit it. A request sent, queued or flushed before the body
    /// was read to its end abandons the rest and opens a new connection.
    ///
    /// [`send_streaming`]: HttpConnection::send_streaming
    ///
    /// # Errors
    /// `UnexpectedEof` if the server closes the connection before the body's end;
    /// `InvalidData` for a malformed chunk; the socket's errors. The next request then opens
    /// a new connection.
    ///
    /// # Examples
    /// See [`HttpConnection::send_streaming`].
    pub async fn read_body(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let Some(progress) = self.body.as_mut() else {
                return Ok(0);
            };
            if !progress.piece.is_empty() || buf.is_empty() {
                let n = progress.piece.len().min(buf.len());
                let from = progress.piece.start;
                buf[..n].copy_from_slice(&self.read_buf[from..from + n]);
                progress.piece.start += n;
                return Ok(n);
            }
            if let Piece::Ended { close } = self.next_piece().await? {
                self.complete(close);
                return Ok(0);
            }
        }
    }

    /// Reads the rest of the body being read piece by piece, dropping it; whether the server
    /// closes the connection after it.
    pub(super) async fn skip_body(&mut self) -> io::Result<bool> {
        loop {
            if let Piece::Ended { close } = self.next_piece().await? {
                return Ok(close);
            }
        }
    }

    /// Drops the current piece of the body and reads the next one, or finds the body's end:
    /// then the response is described with its body's length, the next one starts after its
    /// head, and the body is no longer being read.
    async fn next_piece(&mut self) -> io::Result<Piece> {
        loop {
            let progress = self.body.as_mut().expect("a body is being read");
            match progress.decode(&mut self.read_buf, &mut self.end)? {
                Step::Piece => return Ok(Piece::Ready),
                Step::More => {}
                Step::End => return Ok(self.body_ended()),
            }
            if self.fill().await? == 0 {
                let progress = self.body.as_ref().expect("a body is being read");
                if let Delimiter::UntilClose = progress.delimiter {
                    return Ok(self.body_ended());
                }
                return Err(closed_early(format_args!(
                    "the server closed the connection in the middle of the response body \
                     ({} bytes of it received)",
                    progress.read
                )));
            }
        }
    }

    /// Ends the body being read: the response has no body in the buffer, its length is what
    /// was read, and the next response starts where the body did.
    fn body_ended(&mut self) -> Piece {
        let progress = self.body.take().expect("a body is being read");
        self.head.body = progress.start..progress.start;
        self.head.body_len = progress.read;
        self.next = progress.start;
        Piece::Ended {
            close: progress.close,
        }
    }
}
