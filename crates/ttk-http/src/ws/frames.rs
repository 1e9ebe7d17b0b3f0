//! Where the bytes handed to tungstenite stand in the stream of frames, and how many of the
//! received bytes to hand it at once, so that [`WebSocket`](super::WebSocket) knows when
//! tungstenite holds no byte and its read buffer can be given back.
//!
//! tungstenite reads a frame into one buffer that grows to the frame's size and keeps that
//! capacity for good (it has no way to give it back). After a big frame, `WebSocket` gives it
//! back by putting a new tungstenite state machine in place of the old one, which is only right
//! when the old one holds no byte: no part of a frame, no part of a message. [`Frames`] makes
//! sure there is such a moment, and says when it is. It follows the frame headers in the bytes
//! as they are handed over (lengths, the final bit and whether a frame is data; tungstenite
//! checks everything else), and:
//!
//! - hands small frames in bulk, as many as came in one socket read, as tungstenite would read
//!   them (the path of small messages is unchanged);
//! - hands a frame whose payload is over [`BIG_FRAME`] alone: never in the same read as bytes
//!   before it or after it;
//! - from that frame on ([`Frames::is_dirty`]), hands every frame alone, until a data message
//!   has been received whole: then the bytes handed end where that message's last frame ends
//!   ([`Frames::ended_message`]), so tungstenite holds nothing once it has returned the message,
//!   and `WebSocket` replaces it ([`Frames::cleaned`]).
//!
//! Why tungstenite then holds nothing: it reads only when the frame it is on is incomplete,
//! so its buffer holds that frame and nothing after it; a frame handed alone is followed by no
//! byte until tungstenite is done with it.
//!
//! The handshake's bytes are handed as they come, as before; tungstenite keeps those it read
//! past the HTTP head as the start of the frames. `Frames` finds where the head ends as
//! httparse does (the first empty line, after any empty lines it starts with) and follows the
//! frames from there. Should tungstenite read on past the read where `Frames` saw the head end,
//! `Frames` no longer knows where the frames are and tungstenite is never replaced
//! ([`Stage::Lost`]).

/// The largest payload of a frame handed with others: a bigger one grows tungstenite's read
/// buffer (its capacity is the read size, [`READ_CHUNK`](super::duplex::READ_CHUNK)), so it is
/// handed alone and tungstenite is replaced once its message is complete.
pub(crate) const BIG_FRAME: u64 = super::duplex::READ_CHUNK as u64;

/// The longest frame header: 2 bytes, an 8-byte length, a 4-byte mask.
const MAX_HEADER: usize = 14;

/// What the bytes handed so far are.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Stage {
    /// The handshake's HTTP head. `started`: a byte other than the line ends httparse skips at
    /// the start has been seen; `last`: the last two bytes (to find the empty line).
    Head { started: bool, last: [u8; 2] },
    /// The last read handed ended the head; its last `tail` bytes came after it.
    HeadDone { tail: usize },
    /// Frames, from their first byte.
    Frames,
    /// Frames, from an unknown place: tungstenite read on after the head had ended (a head
    /// `Frames` did not end where httparse did). Bytes are handed as they come and tungstenite
    /// is never replaced.
    Lost,
}

/// Follows the frames in the bytes handed to tungstenite and says how many to hand.
#[derive(Debug)]
pub(crate) struct Frames {
    /// What the bytes handed so far are.
    stage: Stage,
    /// The start of a header cut by the end of a read, kept until the rest comes.
    header: [u8; MAX_HEADER],
    /// How many bytes of `header` have been handed (0 but while a cut header is completed).
    header_len: usize,
    /// The first byte of the header of the frame being handed (its final bit and opcode).
    first: u8,
    /// The header has been handed whole: the frame's payload is being handed.
    in_payload: bool,
    /// The payload length of the frame being handed, once `in_payload`.
    payload_len: u64,
    /// The payload bytes of the frame being handed still to hand, once `in_payload`.
    payload_left: u64,
    /// The payload bytes of the data frames of the message being handed, so far.
    message_len: u64,
    /// The last byte handed ended a data message (its final frame) of this many bytes.
    ended_message: Option<u64>,
    /// A big frame has been handed since tungstenite was last replaced: its read buffer may
    /// have grown, so every frame is handed alone until it is replaced.
    dirty: bool,
}

impl Frames {
    /// Nothing handed yet: the handshake comes first.
    pub(crate) fn new() -> Frames {
        Frames {
            stage: Stage::Head {
                started: false,
                last: [0; 2],
            },
            header: [0; MAX_HEADER],
            header_len: 0,
            first: 0,
            in_payload: false,
            payload_len: 0,
            payload_left: 0,
            message_len: 0,
            ended_message: None,
            dirty: false,
        }
    }

    /// The handshake is over; `handed` are the bytes handed, at least the last read's
    /// (tungstenite keeps what came in it after the head as the start of the frames). Frames
    /// follow.
    pub(crate) fn handshake_done(&mut self, handed: &[u8]) {
        match self.stage {
            Stage::HeadDone { tail } if tail <= handed.len() => {
                self.stage = Stage::Frames;
                self.advance(&handed[handed.len() - tail..], false);
            }
            _ => self.stage = Stage::Lost,
        }
    }

    /// How many of `bytes`, the next received bytes, to hand to tungstenite now: at least one
    /// if there are any. Records that they were handed.
    pub(crate) fn hand(&mut self, bytes: &[u8]) -> usize {
        match self.stage {
            Stage::Frames => self.advance(bytes, true),
            Stage::Head { started, last } => {
                self.stage = match head_end(started, last, bytes) {
                    Ok(end) => Stage::HeadDone {
                        tail: bytes.len() - end,
                    },
                    Err((started, last)) => Stage::Head { started, last },
                };
                bytes.len()
            }
            Stage::HeadDone { .. } | Stage::Lost => {
                self.stage = Stage::Lost;
                bytes.len()
            }
        }
    }

    /// Whether a big frame has been handed since tungstenite was last replaced.
    pub(crate) fn is_dirty(&self) -> bool {
        self.dirty
    }

    /// The length of the data message whose final frame the bytes handed end with, if they do.
    pub(crate) fn ended_message(&self) -> Option<u64> {
        self.ended_message
    }

    /// Records that tungstenite was replaced: frames are handed in bulk again.
    pub(crate) fn cleaned(&mut self) {
        self.dirty = false;
    }

    /// Follows the frames over `bytes`: as many as [`hand`](Frames::hand) may hand if `ruled`,
    /// else all of them. Returns how many it followed.
    fn advance(&mut self, bytes: &[u8], ruled: bool) -> usize {
        let mut n = 0;
        while n < bytes.len() {
            self.ended_message = None;
            if self.in_payload {
                let take = self.payload_left.min((bytes.len() - n) as u64);
                n += take as usize;
                self.payload_left -= take;
                if self.payload_left > 0 {
                    return n; // all of `bytes` followed
                }
                self.frame_done();
                if ruled && self.dirty {
                    return n; // a frame alone
                }
                continue;
            }
            n += self.take_header(&bytes[n..], ruled && n > 0);
            if !self.in_payload {
                return n; // another frame's turn, or the rest of a header to come
            }
            if self.payload_left == 0 {
                self.frame_done();
                if ruled && self.dirty {
                    return n;
                }
            }
        }
        n
    }

    /// Takes the header (or what is here of it) at the start of `bytes`; how many bytes it
    /// took. If `after_others`, bytes of other frames are handed in the same read: then a
    /// frame starting here is taken only if it is small, its header is all here and no big
    /// frame was handed (it is left for a read of its own otherwise).
    fn take_header(&mut self, bytes: &[u8], after_others: bool) -> usize {
        if self.header_len == 0 {
            // Usually the whole header is here: read where it is.
            if let Some((header_len, len)) = parse_header(bytes) {
                if after_others && (self.dirty || len > BIG_FRAME) {
                    return 0;
                }
                self.start_payload(bytes[0], len);
                return header_len;
            }
            if after_others {
                return 0;
            }
            // Part of a header, at the end of the bytes received: kept for the next read.
            self.header[..bytes.len()].copy_from_slice(bytes);
            self.header_len = bytes.len();
            return bytes.len();
        }
        // The rest of a header begun in an earlier read, a byte at a time: its length shows
        // with its second byte.
        let mut taken = 0;
        while taken < bytes.len() && self.header_len < header_len(&self.header[..self.header_len]) {
            self.header[self.header_len] = bytes[taken];
            self.header_len += 1;
            taken += 1;
        }
        if let Some((_, len)) = parse_header(&self.header[..self.header_len]) {
            self.header_len = 0;
            self.start_payload(self.header[0], len);
        }
        taken
    }

    /// The header of a frame whose first byte is `first` and whose payload is `len` bytes has
    /// been handed: its payload follows.
    fn start_payload(&mut self, first: u8, len: u64) {
        self.first = first;
        self.dirty |= len > BIG_FRAME;
        self.in_payload = true;
        self.payload_len = len;
        self.payload_left = len;
    }

    /// The frame being handed has been handed whole.
    fn frame_done(&mut self) {
        let is_data = self.first & 0x08 == 0; // control opcodes are 0x8 to 0xf
        let is_final = self.first & 0x80 != 0;
        if is_data {
            self.message_len += self.payload_len;
            if is_final {
                self.ended_message = Some(self.message_len);
                self.message_len = 0;
            }
        }
        self.in_payload = false;
    }
}

/// The length of the header that starts with `start` (2 until its second byte is known).
fn header_len(start: &[u8]) -> usize {
    let Some(second) = start.get(1) else {
        return 2;
    };
    let length_bytes = match second & 0x7f {
        126 => 2,
        127 => 8,
        _ => 0,
    };
    let mask_bytes = if second & 0x80 != 0 { 4 } else { 0 };
    2 + length_bytes + mask_bytes
}

/// The length of the header that starts `bytes` and the length of its frame's payload, if the
/// header is there whole.
fn parse_header(bytes: &[u8]) -> Option<(usize, u64)> {
    let header_len = header_len(bytes);
    if bytes.len() < header_len {
        return None;
    }
    let len = match bytes[1] & 0x7f {
        126 => u16::from_be_bytes([bytes[2], bytes[3]]).into(),
        127 => u64::from_be_bytes(bytes[2..10].try_into().expect("8 bytes")),
        len => len.into(),
    };
    Some((header_len, len))
}

/// Where the HTTP head ends in `bytes`, as httparse ends it: just after the first empty line
/// (`\n\n` or `\n\r\n`: httparse takes `\n` and `\r\n` for line ends) that follows the empty
/// lines it skips at the start. Given whether the head has `started` and its `last` two bytes
/// before `bytes`; if it does not end there, their values after `bytes`.
fn head_end(mut started: bool, mut last: [u8; 2], bytes: &[u8]) -> Result<usize, (bool, [u8; 2])> {
    for (i, &byte) in bytes.iter().enumerate() {
        if !started {
            started = !matches!(byte, b'\r' | b'\n');
        } else if byte == b'\n' && (last[1] == b'\n' || last == *b"\n\r") {
            return Ok(i + 1);
        }
        last = [last[1], byte];
    }
    Err((started, last))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A frame (final, binary, unmasked) with a payload of `len` bytes.
    fn frame(len: usize) -> Vec<u8> {
        frame_with(0x82, len)
    }

    /// A frame whose first header byte is `first`, with a payload of `len` bytes.
    fn frame_with(first: u8, len: usize) -> Vec<u8> {
        let mut bytes = vec![first];
        match len {
            0..126 => bytes.push(len as u8),
            126..65536 => {
                bytes.push(126);
                bytes.extend_from_slice(&(len as u16).to_be_bytes());
            }
            _ => {
                bytes.push(127);
                bytes.extend_from_slice(&(len as u64).to_be_bytes());
            }
        }
        bytes.resize(bytes.len() + len, 7);
        bytes
    }

    /// The 101 answer.
    const HEAD: &[u8] = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n";

    /// Frames past a handshake whose last read was `HEAD` and then `tail`.
    fn after_handshake(tail: &[u8]) -> Frames {
        let mut frames = Frames::new();
        let read = [HEAD, tail].concat();
        assert_eq!(frames.hand(&read), read.len());
        frames.handshake_done(&read);
        frames
    }

    /// Hands all of `bytes`, as tungstenite would read them; the size of each read.
    fn reads(frames: &mut Frames, mut bytes: &[u8]) -> Vec<usize> {
        let mut sizes = Vec::new();
        while !bytes.is_empty() {
            let n = frames.hand(bytes);
            assert!(n > 0, "no progress");
            sizes.push(n);
            bytes = &bytes[n..];
        }
        sizes
    }

    #[test]
    fn the_head_ends_at_its_first_empty_line_after_those_it_starts_with() {
        assert_eq!(
            head_end(false, [0; 2], b"HTTP/1.1 101 OK\r\nA: b\r\n\r\nx"),
            Ok(25)
        );
        assert_eq!(
            head_end(false, [0; 2], b"HTTP/1.1 101 OK\nA: b\n\nx"),
            Ok(22)
        );
        assert_eq!(
            head_end(false, [0; 2], b"HTTP/1.1 101 OK\nA: b\n\r\nx"),
            Ok(23)
        );
        assert_eq!(
            head_end(false, [0; 2], b"\r\n\nHTTP/1.1 101 OK\r\n\r\n"),
            Ok(22)
        );
        // Across reads.
        let Err((started, last)) = head_end(false, [0; 2], b"HTTP/1.1 101 OK\r\n") else {
            panic!("ended early")
        };
        assert_eq!(head_end(started, last, b"\r\nx"), Ok(2));
    }

    #[test]
    fn the_frames_follow_the_head_in_the_handshakes_last_read() {
        let tail = [frame(3), frame_with(0x02, 100)[..50].to_vec()].concat();
        let mut frames = after_handshake(&tail);
        assert_eq!(frames.ended_message(), None);
        // The rest of the second frame, then a continuation that ends its message.
        let rest = [frame_with(0x02, 100)[50..].to_vec(), frame_with(0x80, 10)].concat();
        assert_eq!(reads(&mut frames, &rest), [rest.len()]);
        assert_eq!(frames.ended_message(), Some(110));
    }

    #[test]
    fn a_handshake_read_on_after_the_head_loses_the_frames() {
        let mut frames = Frames::new();
        assert_eq!(frames.hand(b"HTTP/1.1 101 OK\r\n\r\n"), 19);
        assert_eq!(frames.hand(b"more"), 4);
        frames.handshake_done(b"more");
        let big = frame(100_000);
        assert_eq!(frames.hand(&big), big.len());
        assert!(!frames.is_dirty() && frames.ended_message().is_none());
    }

    #[test]
    fn small_frames_are_handed_together() {
        let mut frames = after_handshake(b"");
        let bytes = [frame(3), frame(0), frame(200), frame(8192)].concat();
        assert_eq!(reads(&mut frames, &bytes), [bytes.len()]);
        assert!(!frames.is_dirty());
        assert_eq!(frames.ended_message(), Some(8192));
    }

    #[test]
    fn a_big_frame_is_handed_alone_then_every_frame_until_cleaned() {
        let mut frames = after_handshake(b"");
        let bytes = [frame(5), frame(8193), frame(5), frame(6), frame(7)].concat();
        assert_eq!(frames.hand(&bytes), 7);
        assert_eq!(frames.hand(&bytes[7..]), 8197);
        assert!(frames.is_dirty());
        assert_eq!(frames.ended_message(), Some(8193));
        assert_eq!(frames.hand(&bytes[7 + 8197..]), 7);
        frames.cleaned();
        assert_eq!(reads(&mut frames, &bytes[7 + 8197 + 7..]), [17]);
    }

    #[test]
    fn a_header_cut_by_the_read_waits_for_the_next_unless_it_comes_first() {
        let mut frames = after_handshake(b"");
        let bytes = [frame(5), frame(70_000)].concat();
        // The second header's length is not all there: it is not handed with the first frame.
        assert_eq!(frames.hand(&bytes[..10]), 7);
        assert_eq!(frames.hand(&bytes[7..10]), 3);
        assert_eq!(frames.ended_message(), None);
        assert_eq!(frames.hand(&bytes[10..100]), 90);
        assert!(frames.is_dirty());
        assert_eq!(reads(&mut frames, &bytes[100..]), [bytes.len() - 100]);
        assert_eq!(frames.ended_message(), Some(70_000));
    }

    #[test]
    fn a_message_ends_with_its_final_data_frame_not_with_a_control_frame() {
        let mut frames = after_handshake(b"");
        let ping = frame_with(0x89, 4);
        let bytes = [frame_with(0x02, 9000), ping.clone(), frame_with(0x80, 9000)].concat();
        assert_eq!(reads(&mut frames, &bytes), [9004, ping.len(), 9004]);
        assert_eq!(frames.ended_message(), Some(18_000));
        // A ping alone ends no message.
        assert_eq!(reads(&mut frames, &ping), [ping.len()]);
        assert_eq!(frames.ended_message(), None);
    }

    #[test]
    fn masks_and_long_lengths_are_read() {
        assert_eq!(header_len(&[0x82]), 2);
        assert_eq!(header_len(&[0x82, 0x85]), 6);
        assert_eq!(header_len(&[0x82, 0xfe]), 8);
        assert_eq!(header_len(&[0x82, 0xff]), 14);
        assert_eq!(parse_header(&[0x82, 0x7e, 0x01]), None);
        assert_eq!(parse_header(&[0x82, 0x7e, 0x01, 0x00]), Some((4, 256)));
        let long = [0x82, 0xff, 0, 0, 0, 1, 0, 0, 0, 0, 1, 2, 3, 4];
        assert_eq!(parse_header(&long), Some((14, 1 << 32)));
        assert_eq!(parse_header(&long[..13]), None);
    }
}
