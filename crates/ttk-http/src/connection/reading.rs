//! Reading a response: its head, then its body as the headers delimit it, kept whole in the
//! connection's read buffer (bodies discarded or streamed are read in `body.rs`).

use std::io;

use ttk_net::ByteStream;

use super::body::BodyProgress;
use super::{BodyMode, Expect, HttpConnection, READ_CHUNK};
use crate::chunked::Dechunker;
use crate::error::{closed_early, invalid};
use crate::response::ContentLength;

/// How the response body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Framing {
    /// No body (a `HEAD` request; a 1xx, 204 or 304 status).
    Empty,
    /// `Content-Length` bytes.
    Length(usize),
    /// Chunked transfer coding.
    Chunked,
    /// Everything until the server closes the connection.
    UntilClose,
}

impl HttpConnection {
    /// Reads the next response into the read buffer, skipping interim (1xx) ones, its body as
    /// `expect` says: `Some(close)` once the response is complete (`close`: the server will
    /// close the connection after it), `None` once its head is, when its body is streamed
    /// (left in the connection's `body` for `read_body`).
    pub(super) async fn read_response(&mut self, expect: Expect) -> io::Result<Option<bool>> {
        loop {
            self.discard_current();
            let head_len = self.read_head().await?;
            let status = self.head.status;
            if (100..200).contains(&status) && status != 101 {
                self.next = head_len;
                continue;
            }
            let framing = self.framing(expect.is_head)?;
            let close = framing == Framing::UntilClose
                || expect.asks_close
                || if self.head.minor_version == 0 {
                    !self.head.framing.keep_alive
                } else {
                    self.head.framing.close
                };
            match (framing, expect.body) {
                (Framing::Empty, _) => self.next = head_len,
                (Framing::Length(len), BodyMode::Keep) => self.read_length(head_len, len).await?,
                (Framing::Chunked, BodyMode::Keep) => self.read_chunked(head_len).await?,
                (Framing::UntilClose, BodyMode::Keep) => self.read_until_close(head_len).await?,
                (_, BodyMode::Discard) => {
                    self.body = Some(BodyProgress::new(framing, head_len, close));
                    return self.skip_body().await.map(Some);
                }
                (_, BodyMode::Stream) => {
                    self.body = Some(BodyProgress::new(framing, head_len, close));
                    return Ok(None);
                }
            }
            self.head.body_len = self.head.body.len() as u64;
            return Ok(Some(close));
        }
    }

    /// Moves the bytes after the current response to the start of the buffer.
    fn discard_current(&mut self) {
        self.read_buf.copy_within(self.next..self.end, 0);
        self.end -= self.next;
        self.next = 0;
    }

    /// Reads until the buffer holds a whole response head; returns its length.
    async fn read_head(&mut self) -> io::Result<usize> {
        loop {
            // An empty buffer holds no head: read first (the usual case after a request).
            if self.end > 0
                && let Some(len) = self.head.parse(&self.read_buf[..self.end], self.max_head)?
            {
                if len > self.max_head {
                    return Err(self.head_too_long());
                }
                return Ok(len);
            }
            if self.end > self.max_head {
                return Err(self.head_too_long());
            }
            if self.fill().await? == 0 {
                return Err(if self.end == 0 {
                    closed_early("the server closed the connection without responding")
                } else {
                    closed_early(format_args!(
                        "the server closed the connection in the middle of the response head \
                         ({} bytes of it received)",
                        self.end
                    ))
                });
            }
        }
    }

    /// The error for a response head over the limit.
    fn head_too_long(&self) -> io::Error {
        invalid(format_args!(
            "the response head is over the limit of {} bytes",
            self.max_head
        ))
    }

    /// How the body of the response just parsed is delimited.
    fn framing(&self, is_head: bool) -> io::Result<Framing> {
        let status = self.head.status;
        if is_head || (100..200).contains(&status) || status == 204 || status == 304 {
            return Ok(Framing::Empty);
        }
        let headers = &self.head.framing;
        if let Some(coding) = &headers.transfer_encoding {
            let coding = &self.read_buf[coding.clone()];
            let last = coding.rsplit(|&b| b == b',').next().unwrap_or(b"");
            return Ok(if last.trim_ascii().eq_ignore_ascii_case(b"chunked") {
                Framing::Chunked
            } else {
                Framing::UntilClose
            });
        }
        match &headers.content_length {
            ContentLength::Absent => Ok(Framing::UntilClose),
            ContentLength::Length(len) => Ok(Framing::Length(*len)),
            ContentLength::Malformed(value) => Err(invalid(format_args!(
                "malformed Content-Length {:?}",
                String::from_utf8_lossy(&self.read_buf[value.clone()])
            ))),
            ContentLength::Conflicting => Err(invalid(
                "the response has conflicting Content-Length headers",
            )),
        }
    }

    /// Reads a body of `len` bytes after a head of `head_len`.
    async fn read_length(&mut self, head_len: usize, len: usize) -> io::Result<()> {
        if len > self.max_body {
            return Err(self.body_too_long(len));
        }
        // Without a limit (`usize::MAX`), a declared length can still be past any buffer.
        let Some(total) = head_len.checked_add(len) else {
            return Err(self.body_too_long(len));
        };
        while self.end < total {
            if self.fill().await? == 0 {
                return Err(closed_early(format_args!(
                    "the server closed the connection in the middle of the response body \
                     ({} of {len} bytes received)",
                    self.end - head_len
                )));
            }
        }
        self.head.body = head_len..total;
        self.next = total;
        Ok(())
    }

    /// The error for a body of `len` bytes, over the limit.
    fn body_too_long(&self, len: usize) -> io::Error {
        invalid(format_args!(
            "the response body ({len} bytes) is over the limit of {} bytes",
            self.max_body
        ))
    }

    /// Reads and decodes a chunked body after a head of `head_len`.
    async fn read_chunked(&mut self, head_len: usize) -> io::Result<()> {
        let mut dechunker = Dechunker::new(head_len, self.max_body);
        loop {
            if let Some(next) = dechunker.advance(&mut self.read_buf, self.end)? {
                self.head.body = dechunker.body();
                self.next = next;
                return Ok(());
            }
            self.end = dechunker.compact(&mut self.read_buf, self.end);
            if self.fill().await? == 0 {
                return Err(closed_early(format_args!(
                    "the server closed the connection in the middle of the chunked response \
                     body ({} bytes of it decoded)",
                    dechunker.body().len()
                )));
            }
        }
    }

    /// Reads a body that ends when the server closes the connection.
    async fn read_until_close(&mut self, head_len: usize) -> io::Result<()> {
        loop {
            let closed = self.fill().await? == 0;
            if self.end - head_len > self.max_body {
                return Err(self.body_too_long(self.end - head_len));
            }
            if closed {
                self.head.body = head_len..self.end;
                self.next = self.end;
                return Ok(());
            }
        }
    }

    /// Reads what the socket has after the bytes already read, growing the buffer when it has
    /// less than [`READ_CHUNK`] free; returns how many bytes came (0: the server closed).
    pub(super) async fn fill(&mut self) -> io::Result<usize> {
        if self.read_buf.len() - self.end < READ_CHUNK {
            let grown = (self.read_buf.len() * 2).max(self.end + READ_CHUNK);
            self.read_buf.resize(grown, 0);
        }
        let Some(stream) = self.stream.as_ref() else {
            return Ok(0);
        };
        let n = stream.read(&mut self.read_buf[self.end..]).await?;
        self.end += n;
        if n > 0 {
            // An answer started: what was written is not written again.
            self.silent = false;
        }
        Ok(n)
    }
}
