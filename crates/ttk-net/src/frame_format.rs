//! Frame formats: how a byte stream is cut into messages, with a size limit.

use std::io;
use std::ops::Range;

/// The width of a length prefix.
///
/// # Examples
/// ```
/// use ttk_net::{Endian, FrameFormat, PrefixWidth};
///
/// let format = FrameFormat::length_prefixed(PrefixWidth::U32, Endian::Big);
/// let mut wire = Vec::new();
/// format.encode(b"abc", &mut wire).unwrap();
/// assert_eq!(wire, b"\x00\x00\x00\x03abc");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrefixWidth {
    /// Two bytes: frames up to 65,535 bytes.
    U16,
    /// Four bytes.
    U32,
}

/// The byte order of a length prefix.
///
/// # Examples
/// ```
/// use ttk_net::{Endian, FrameFormat, PrefixWidth};
///
/// let format = FrameFormat::length_prefixed(PrefixWidth::U16, Endian::Little);
/// let mut wire = Vec::new();
/// format.encode(b"abc", &mut wire).unwrap();
/// assert_eq!(wire, b"\x03\x00abc");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endian {
    /// Most significant byte first (network order).
    Big,
    /// Least significant byte first.
    Little,
}

/// What ends a line that is sent (any line read may end in `\n` or `\r\n`).
///
/// # Examples
/// ```
/// use ttk_net::{FrameFormat, LineEnding};
///
/// let smtp = FrameFormat::lines_ending(LineEnding::CrLf);
/// let mut wire = Vec::new();
/// smtp.encode(b"HELO bot", &mut wire).unwrap();
/// assert_eq!(wire, b"HELO bot\r\n");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineEnding {
    /// `\n`.
    Lf,
    /// `\r\n`, as IRC, SMTP, Redis's inline commands and HTTP/1 heads want.
    CrLf,
}

/// How frames are delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Delimiting {
    /// A length prefix, then that many bytes.
    Length(PrefixWidth, Endian),
    /// Bytes up to `\n` (a `\r` before it is dropped too); sent with this ending.
    Lines(LineEnding),
}

/// A frame format: length-prefixed (u16/u32, big/little endian) or line-delimited, with a
/// maximum frame size. A frame over the maximum is an `InvalidData` error, found before any
/// memory is set aside for it.
///
/// # Examples
/// ```
/// use ttk_net::FrameFormat;
///
/// let format = FrameFormat::u16_be().max_frame_len(1024);
/// let mut wire = Vec::new();
/// format.encode(b"hello", &mut wire).unwrap();
/// assert_eq!(wire, b"\x00\x05hello");
/// let (payload, used) = format.decode(&wire).unwrap().unwrap();
/// assert_eq!((&wire[payload], used), (&b"hello"[..], 7));
///
/// let oversized = [0xff, 0xff];
/// let error = format.decode(&oversized).unwrap_err();
/// assert_eq!(error.kind(), std::io::ErrorKind::InvalidData);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameFormat {
    /// How frames are delimited.
    delimiting: Delimiting,
    /// The largest payload accepted, in bytes.
    max_frame_len: usize,
}

impl FrameFormat {
    /// The default maximum payload: 1 MiB.
    ///
    /// # Examples
    /// ```
    /// use ttk_net::FrameFormat;
    ///
    /// assert_eq!(FrameFormat::lines().max_len(), FrameFormat::DEFAULT_MAX_FRAME_LEN);
    /// ```
    pub const DEFAULT_MAX_FRAME_LEN: usize = 1 << 20;

    /// Length-prefixed frames.
    ///
    /// # Examples
    /// ```
    /// use ttk_net::{Endian, FrameFormat, PrefixWidth};
    ///
    /// let format = FrameFormat::length_prefixed(PrefixWidth::U16, Endian::Big);
    /// assert_eq!(format, FrameFormat::u16_be());
    /// ```
    pub fn length_prefixed(width: PrefixWidth, endian: Endian) -> FrameFormat {
        FrameFormat {
            delimiting: Delimiting::Length(width, endian),
            max_frame_len: Self::DEFAULT_MAX_FRAME_LEN,
        }
    }

    /// A big-endian `u16` length, then the payload.
    ///
    /// # Examples
    /// ```
    /// use ttk_net::FrameFormat;
    ///
    /// let mut wire = Vec::new();
    /// FrameFormat::u16_be().encode(b"hi", &mut wire).unwrap();
    /// assert_eq!(wire, b"\x00\x02hi");
    /// ```
    pub fn u16_be() -> FrameFormat {
        Self::length_prefixed(PrefixWidth::U16, Endian::Big)
    }

    /// A little-endian `u16` length, then the payload.
    ///
    /// # Examples
    /// ```
    /// use ttk_net::FrameFormat;
    ///
    /// let mut wire = Vec::new();
    /// FrameFormat::u16_le().encode(b"hi", &mut wire).unwrap();
    /// assert_eq!(wire, b"\x02\x00hi");
    /// ```
    pub fn u16_le() -> FrameFormat {
        Self::length_prefixed(PrefixWidth::U16, Endian::Little)
    }

    /// A big-endian `u32` length, then the payload.
    ///
    /// # Examples
    /// ```
    /// use ttk_net::FrameFormat;
    ///
    /// let mut wire = Vec::new();
    /// FrameFormat::u32_be().encode(b"hi", &mut wire).unwrap();
    /// assert_eq!(wire, b"\x00\x00\x00\x02hi");
    /// ```
    pub fn u32_be() -> FrameFormat {
        Self::length_prefixed(PrefixWidth::U32, Endian::Big)
    }

    /// A little-endian `u32` length, then the payload.
    ///
    /// # Examples
    /// ```
    /// use ttk_net::FrameFormat;
    ///
    /// let mut wire = Vec::new();
    /// FrameFormat::u32_le().encode(b"hi", &mut wire).unwrap();
    /// assert_eq!(wire, b"\x02\x00\x00\x00hi");
    /// ```
    pub fn u32_le() -> FrameFormat {
        Self::length_prefixed(PrefixWidth::U32, Endian::Little)
    }

    /// Lines ending in `\n` (`\r\n` accepted on input).
    ///
    /// # Examples
    /// ```
    /// use ttk_net::FrameFormat;
    ///
    /// let lines = FrameFormat::lines();
    /// let mut wire = Vec::new();
    /// lines.encode(b"GET key", &mut wire).unwrap();
    /// assert_eq!(wire, b"GET key\n");
    /// // A line that ends in `\r\n` is read too, without its `\r`.
    /// let (line, used) = lines.decode(b"OK\r\nnext").unwrap().unwrap();
    /// assert_eq!((line, used), (0..2, 4));
    /// ```
    pub fn lines() -> FrameFormat {
        Self::lines_ending(LineEnding::Lf)
    }

    /// Lines sent ending in `\r\n` (`\n` alone accepted on input): IRC, SMTP, Redis's inline
    /// commands, HTTP/1 heads.
    ///
    /// # Examples
    /// ```
    /// use ttk_net::FrameFormat;
    ///
    /// let irc = FrameFormat::crlf_lines();
    /// let mut wire = Vec::new();
    /// irc.encode(b"NICK bot7", &mut wire).unwrap();
    /// assert_eq!(wire, b"NICK bot7\r\n");
    /// let (line, used) = irc.decode(b":srv 001 bot7 :Welcome\r\nPING").unwrap().unwrap();
    /// assert_eq!((line, used), (0..22, 24));
    /// assert!(irc.encode(b"two\rlines", &mut wire).is_err());
    /// ```
    pub fn crlf_lines() -> FrameFormat {
        Self::lines_ending(LineEnding::CrLf)
    }

    /// Lines sent with `ending` (either ending accepted on input).
    ///
    /// # Examples
    /// ```
    /// use ttk_net::{FrameFormat, LineEnding};
    ///
    /// assert_eq!(FrameFormat::lines_ending(LineEnding::Lf), FrameFormat::lines());
    /// assert_eq!(FrameFormat::lines_ending(LineEnding::CrLf), FrameFormat::crlf_lines());
    /// ```
    pub fn lines_ending(ending: LineEnding) -> FrameFormat {
        FrameFormat {
            delimiting: Delimiting::Lines(ending),
            max_frame_len: Self::DEFAULT_MAX_FRAME_LEN,
        }
    }

    /// Sets the largest payload accepted (and sent), in bytes.
    ///
    /// # Examples
    /// ```
    /// use ttk_net::FrameFormat;
    ///
    /// let small = FrameFormat::u16_be().max_frame_len(4);
    /// let mut wire = Vec::new();
    /// assert!(small.encode(b"four", &mut wire).is_ok());
    /// assert!(small.encode(b"five!", &mut wire).is_err());
    /// ```
    pub fn max_frame_len(mut self, bytes: usize) -> FrameFormat {
        self.max_frame_len = bytes;
        self
    }

    /// The largest payload accepted, in bytes.
    ///
    /// # Examples
    /// ```
    /// use ttk_net::FrameFormat;
    ///
    /// assert_eq!(FrameFormat::lines().max_frame_len(100).max_len(), 100);
    /// ```
    pub fn max_len(&self) -> usize {
        self.max_frame_len
    }

    /// The most bytes one frame can take on the wire (payload plus delimiter).
    pub(crate) fn max_wire_len(&self) -> usize {
        let overhead = match self.delimiting {
            Delimiting::Length(PrefixWidth::U16, _) => 2,
            Delimiting::Length(PrefixWidth::U32, _) => 4,
            Delimiting::Lines(_) => 2,
        };
        self.max_frame_len.saturating_add(overhead)
    }

    /// Appends `payload` as one frame to `out`.
    ///
    /// # Errors
    /// `InvalidInput` if the payload is over the maximum or does not fit the prefix, or (for
    /// lines) contains `\n`.
    ///
    /// # Examples
    /// ```
    /// use ttk_net::FrameFormat;
    ///
    /// let mut wire = Vec::new();
    /// FrameFormat::lines().encode(b"one", &mut wire).unwrap();
    /// FrameFormat::lines().encode(b"two", &mut wire).unwrap();
    /// assert_eq!(wire, b"one\ntwo\n");
    /// let error = FrameFormat::lines().encode(b"a\nb", &mut wire).unwrap_err();
    /// assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
    /// ```
    pub fn encode(&self, payload: &[u8], out: &mut Vec<u8>) -> io::Result<()> {
        if payload.len() > self.max_frame_len {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "frame of {} bytes exceeds the limit of {} bytes",
                    payload.len(),
                    self.max_frame_len
                ),
            ));
        }
        match self.delimiting {
            Delimiting::Length(width, endian) => {
                let too_long = || {
                    io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!(
                            "frame of {} bytes does not fit a {width:?} prefix",
                            payload.len()
                        ),
                    )
                };
                match width {
                    PrefixWidth::U16 => {
                        let len = u16::try_from(payload.len()).map_err(|_| too_long())?;
                        out.extend_from_slice(&match endian {
                            Endian::Big => len.to_be_bytes(),
                            Endian::Little => len.to_le_bytes(),
                        });
                    }
                    PrefixWidth::U32 => {
                        let len = u32::try_from(payload.len()).map_err(|_| too_long())?;
                        out.extend_from_slice(&match endian {
                            Endian::Big => len.to_be_bytes(),
                            Endian::Little => len.to_le_bytes(),
                        });
                    }
                }
                out.extend_from_slice(payload);
            }
            Delimiting::Lines(ending) => {
                if payload.contains(&b'\n') {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        "a line frame cannot contain a newline",
                    ));
                }
                if ending == LineEnding::CrLf && payload.contains(&b'\r') {
                    // A bare CR ends a line for some peers (and smuggles commands to others).
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        "a CRLF line frame cannot contain a carriage return",
                    ));
                }
                out.extend_from_slice(payload);
                match ending {
                    LineEnding::Lf => out.push(b'\n'),
                    LineEnding::CrLf => out.extend_from_slice(b"\r\n"),
                }
            }
        }
        Ok(())
    }

    /// Looks for one whole frame at the start of `buf`: `Ok(Some((payload, used)))` gives the
    /// payload's range in `buf` and how many bytes the frame took; `Ok(None)` means more bytes
    /// are needed.
    ///
    /// # Errors
    /// `InvalidData` if the frame announces (or, for lines, already has) more than the maximum.
    ///
    /// # Examples
    /// ```
    /// use ttk_net::FrameFormat;
    ///
    /// let format = FrameFormat::u16_be();
    /// // Half a frame: more bytes are needed.
    /// assert_eq!(format.decode(b"\x00\x05he").unwrap(), None);
    /// let wire = b"\x00\x05hello\x00";
    /// let (payload, used) = format.decode(wire).unwrap().unwrap();
    /// assert_eq!((&wire[payload], used), (&b"hello"[..], 7));
    /// ```
    pub fn decode(&self, buf: &[u8]) -> io::Result<Option<(Range<usize>, usize)>> {
        match self.delimiting {
            Delimiting::Length(width, endian) => {
                let prefix = match width {
                    PrefixWidth::U16 => 2,
                    PrefixWidth::U32 => 4,
                };
                let Some(header) = buf.get(..prefix) else {
                    return Ok(None);
                };
                let len = match (width, endian) {
                    (PrefixWidth::U16, Endian::Big) => {
                        u16::from_be_bytes([header[0], header[1]]) as usize
                    }
                    (PrefixWidth::U16, Endian::Little) => {
                        u16::from_le_bytes([header[0], header[1]]) as usize
                    }
                    (PrefixWidth::U32, Endian::Big) => {
                        u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as usize
                    }
                    (PrefixWidth::U32, Endian::Little) => {
                        u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize
                    }
                };
                if len > self.max_frame_len {
                    return Err(self.oversized(len));
                }
                if buf.len() < prefix + len {
                    return Ok(None);
                }
                Ok(Some((prefix..prefix + len, prefix + len)))
            }
            Delimiting::Lines(_) => match buf.iter().position(|&byte| byte == b'\n') {
                Some(newline) => {
                    let end = if newline > 0 && buf[newline - 1] == b'\r' {
                        newline - 1
                    } else {
                        newline
                    };
                    if end > self.max_frame_len {
                        return Err(self.oversized(end));
                    }
                    Ok(Some((0..end, newline + 1)))
                }
                None if buf.len() > self.max_frame_len.saturating_add(1) => {
                    Err(self.oversized(buf.len()))
                }
                None => Ok(None),
            },
        }
    }

    /// The error for a frame of `len` bytes over the maximum.
    fn oversized(&self, len: usize) -> io::Error {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "received a frame of {len} bytes or more, over the limit of {} bytes \
                 (FrameFormat::max_frame_len)",
                self.max_frame_len
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_prefix_round_trips_and_partial_frames_need_more() {
        for format in [
            FrameFormat::u16_be(),
            FrameFormat::u16_le(),
            FrameFormat::u32_be(),
            FrameFormat::u32_le(),
            FrameFormat::lines(),
        ] {
            let mut wire = Vec::new();
            format.encode(b"abc", &mut wire).unwrap();
            format.encode(b"", &mut wire).unwrap();
            let (first, used) = format.decode(&wire).unwrap().unwrap();
            assert_eq!(&wire[first], b"abc", "{format:?}");
            let (second, rest) = format.decode(&wire[used..]).unwrap().unwrap();
            assert!(second.is_empty());
            assert_eq!(used + rest, wire.len());
            assert_eq!(
                format.decode(&wire[..used - 1]).unwrap(),
                None,
                "{format:?}"
            );
        }
    }

    #[test]
    fn little_endian_prefixes_are_little_endian() {
        let mut wire = Vec::new();
        FrameFormat::u32_le().encode(&[7; 258], &mut wire).unwrap();
        assert_eq!(&wire[..4], &[2, 1, 0, 0]);
    }

    #[test]
    fn oversized_frames_are_rejected_on_both_sides() {
        let format = FrameFormat::u32_be().max_frame_len(16);
        let error = format.decode(&[0, 0, 0, 17]).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
        assert!(error.to_string().contains("limit of 16 bytes"), "{error}");
        let error = format.encode(&[0; 17], &mut Vec::new()).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
        let lines = FrameFormat::lines().max_frame_len(4);
        assert!(lines.decode(b"abcdef").is_err());
        assert_eq!(lines.decode(b"ab\r\n").unwrap(), Some((0..2, 4)));
    }
}
