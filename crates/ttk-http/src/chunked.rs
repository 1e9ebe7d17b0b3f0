//! Decoding a chunked body in place, as its bytes arrive.

use std::io;

use crate::error::invalid;

/// The longest chunk-size line (with its extensions) or trailer line accepted.
const MAX_LINE: usize = 4 * 1024;

/// The most trailer bytes accepted after the last chunk.
const MAX_TRAILERS: usize = 16 * 1024;

/// Where a chunked body's decoding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Expecting a chunk-size line.
    Size,
    /// Inside a chunk's data, with this many bytes of it to come.
    Data(usize),
    /// Expecting the CRLF after a chunk's data.
    DataEnd,
    /// After the last chunk: trailer lines until an empty one.
    Trailers,
    /// The body is complete.
    Done,
}

/// Decodes a chunked body inside the read buffer itself: chunk data is moved down to follow the
/// data before it, so the decoded body ends up contiguous at `body_start..written` and the
/// bytes not decoded yet wait at `pos..end`. Nothing is allocated.
#[derive(Debug)]
pub(crate) struct Dechunker {
    /// Where the body starts in the buffer.
    body_start: usize,
    /// End of the decoded body so far.
    written: usize,
    /// Start of the raw bytes not decoded yet (never before `written`).
    pos: usize,
    /// Where decoding is.
    state: State,
    /// The largest decoded body accepted.
    max_body: usize,
    /// Trailer bytes seen so far.
    trailer_len: usize,
}

impl Dechunker {
    /// A decoder for a body starting at `body_start`, at most `max_body` bytes decoded.
    pub(crate) fn new(body_start: usize, max_body: usize) -> Dechunker {
        Dechunker {
            body_start,
            written: body_start,
            pos: body_start,
            state: State::Size,
            max_body,
            trailer_len: 0,
        }
    }

    /// Decodes what it can of `buf[pos..end]`: `Ok(Some(next))` when the body is complete
    /// (decoded at [`Dechunker::body`], the next response starting at `next`), `Ok(None)` when
    /// more bytes are needed.
    ///
    /// # Errors
    /// `InvalidData` for a malformed chunk or trailer, or a body over the limit.
    pub(crate) fn advance(&mut self, buf: &mut [u8], end: usize) -> io::Result<Option<usize>> {
        loop {
            match self.state {
                State::Size => {
                    let Some(line) = self.line(buf, end, "chunk-size")? else {
                        return Ok(None);
                    };
                    let size = chunk_size(&buf[line.clone()])?;
                    self.pos = line.end + 2;
                    let so_far = self.written - self.body_start;
                    if size > self.max_body - so_far {
                        return Err(invalid(format_args!(
                            "the chunked response body is over the limit of {} bytes \
                             ({so_far} bytes so far, then a chunk of {size})",
                            self.max_body
                        )));
                    }
                    self.state = if size == 0 {
                        State::Trailers
                    } else {
                        State::Data(size)
                    };
                }
                State::Data(remaining) => {
                    let available = (end - self.pos).min(remaining);
                    if available == 0 {
                        return Ok(None);
                    }
                    buf.copy_within(self.pos..self.pos + available, self.written);
                    self.pos += available;
                    self.written += available;
                    self.state = match remaining - available {
                        0 => State::DataEnd,
                        left => State::Data(left),
                    };
                }
                State::DataEnd => {
                    if end - self.pos < 2 {
                        return Ok(None);
                    }
                    if &buf[self.pos..self.pos + 2] != b"\r\n" {
                        return Err(invalid("a chunk's data is not followed by CRLF"));
                    }
                    self.pos += 2;
                    self.state = State::Size;
                }
                State::Trailers => {
                    let Some(line) = self.line(buf, end, "trailer")? else {
                        return Ok(None);
                    };
                    self.trailer_len += line.len() + 2;
                    if self.trailer_len > MAX_TRAILERS {
                        return Err(invalid(format_args!(
                            "the chunked response's trailers are over {MAX_TRAILERS} bytes"
                        )));
                    }
                    self.pos = line.end + 2;
                    if line.is_empty() {
                        self.state = State::Done;
                    }
                }
                State::Done => return Ok(Some(self.pos)),
            }
        }
    }

    /// The next CRLF-terminated line at `pos` (without its CRLF), or `None` if it has not all
    /// arrived.
    fn line(
        &self,
        buf: &[u8],
        end: usize,
        what: &str,
    ) -> io::Result<Option<std::ops::Range<usize>>> {
        let pending = &buf[self.pos..end];
        match pending.windows(2).position(|w| w == b"\r\n") {
            Some(len) if len <= MAX_LINE => Ok(Some(self.pos..self.pos + len)),
            None if pending.len() <= MAX_LINE + 1 => Ok(None),
            _ => Err(invalid(format_args!(
                "a {what} line in the chunked response body is over {MAX_LINE} bytes"
            ))),
        }
    }

    /// Moves the raw bytes not decoded yet down to the end of the decoded body, to make room
    /// for more; returns the new end of the bytes read.
    pub(crate) fn compact(&mut self, buf: &mut [u8], end: usize) -> usize {
        buf.copy_within(self.pos..end, self.written);
        let new_end = self.written + (end - self.pos);
        self.pos = self.written;
        new_end
    }

    /// The decoded body so far.
    pub(crate) fn body(&self) -> std::ops::Range<usize> {
        self.body_start..self.written
    }

    /// Forgets the body decoded so far (it was handed on or discarded), so that what is decoded
    /// next is written from the body's start again: a body read piece by piece needs no more
    /// room than one read.
    pub(crate) fn clear_body(&mut self) {
        self.written = self.body_start;
    }
}

/// The size on a chunk-size line: hex digits, then optional whitespace and extensions
/// (`;name=value`), which are ignored.
fn chunk_size(line: &[u8]) -> io::Result<usize> {
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    let rest = &line[digits..];
    let rest_ok = rest
        .iter()
        .position(|&b| b == b';')
        .map_or(rest, |semi| &rest[..semi])
        .iter()
        .all(|&b| b == b' ' || b == b'\t');
    if digits == 0 || !rest_ok {
        return Err(invalid(format_args!(
            "malformed chunk-size line {:?}",
            String::from_utf8_lossy(line)
        )));
    }
    line[..digits].iter().try_fold(0usize, |size, &digit| {
        let value = (digit as char).to_digit(16).unwrap_or(0) as usize;
        size.checked_mul(16)
            .and_then(|s| s.checked_add(value))
            .ok_or_else(|| invalid("a chunk size does not fit in a usize"))
    })
}

#[cfg(test)]
mod tests {
    use super::{Dechunker, chunk_size};

    /// Decodes `raw` fed in pieces of `step` bytes; the body and where the rest starts.
    fn decode(raw: &[u8], step: usize, max: usize) -> std::io::Result<(Vec<u8>, Vec<u8>)> {
        let mut buf = vec![0; raw.len()];
        let mut dechunker = Dechunker::new(0, max);
        let mut end = 0;
        let mut fed = 0;
        loop {
            if let Some(next) = dechunker.advance(&mut buf, end)? {
                let rest = buf[next..end].to_vec();
                return Ok((buf[dechunker.body()].to_vec(), rest));
            }
            end = dechunker.compact(&mut buf, end);
            let take = step.min(raw.len() - fed);
            assert!(take > 0, "ran out of input");
            buf[end..end + take].copy_from_slice(&raw[fed..fed + take]);
            fed += take;
            end += take;
        }
    }

    const RAW: &[u8] =
        b"5;name=value\r\nhello\r\n1\r\n \r\nA \r\n0123456789\r\n0\r\nX-T: 1\r\n\r\nNEXT";

    #[test]
    fn decodes_whole_and_byte_by_byte() {
        for step in [RAW.len(), 1, 2, 3, 7] {
            let (body, rest) = decode(RAW, step, 1 << 20).unwrap();
            assert_eq!(body, b"hello 0123456789", "step {step}");
            assert!(b"NEXT".starts_with(&rest), "step {step}");
        }
    }

    #[test]
    fn refuses_a_body_over_the_limit() {
        let error = decode(RAW, RAW.len(), 10).unwrap_err();
        assert!(
            error.to_string().contains("over the limit of 10"),
            "{error}"
        );
    }

    #[test]
    fn refuses_malformed_sizes() {
        for line in [&b""[..], b"x", b"5x", b"fffffffffffffffffffffff"] {
            assert!(chunk_size(line).is_err(), "{line:?}");
        }
        assert_eq!(chunk_size(b"1F ; a=b").unwrap(), 31);
    }

    #[test]
    fn a_body_cleared_piece_by_piece_needs_no_more_room_than_a_read() {
        let mut buf = vec![0; RAW.len()];
        let mut dechunker = Dechunker::new(0, usize::MAX);
        let (mut body, mut end, mut fed) = (Vec::new(), 0, 0);
        let rest = loop {
            let done = dechunker.advance(&mut buf, end).unwrap();
            let piece = dechunker.body();
            assert!(piece.len() <= 3, "{piece:?}");
            body.extend_from_slice(&buf[piece]);
            dechunker.clear_body();
            if let Some(next) = done {
                break buf[next..end].to_vec();
            }
            // Three more raw bytes, as a read would bring them.
            end = dechunker.compact(&mut buf, end);
            let take = 3.min(RAW.len() - fed);
            buf[end..end + take].copy_from_slice(&RAW[fed..fed + take]);
            (fed, end) = (fed + take, end + take);
        };
        assert_eq!(body, b"hello 0123456789");
        assert!(b"NEXT".starts_with(&rest));
    }

    #[test]
    fn refuses_data_without_crlf() {
        assert!(decode(b"1\r\nab\r\n0\r\n\r\n", 64, 100).is_err());
    }
}
