//! gRPC's bytes on HTTP/2 (grpc/grpc `doc/PROTOCOL-HTTP2.md`): length-prefixed messages, the
//! `grpc-timeout` header, the percent-encoded `grpc-message`.

use std::io;
use std::ops::Range;
use std::time::Duration;

/// Appends `message` to `out` as one length-prefixed message: a byte saying it is not
/// compressed, its length in 4 bytes big-endian, then the message.
pub(crate) fn frame(message: &[u8], out: &mut Vec<u8>) -> io::Result<()> {
    let len = u32::try_from(message.len()).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "a gRPC message is at most 4 GiB",
        )
    })?;
    out.push(0);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(message);
    Ok(())
}

/// Where each message of `body` (length-prefixed messages, back to back) lies in it.
///
/// # Errors
/// `InvalidData` for a compressed message (none was asked for), or a body that ends inside a
/// message.
pub(crate) fn unframe(body: &[u8]) -> io::Result<Vec<Range<usize>>> {
    let mut messages = Vec::new();
    let mut at = 0;
    while at < body.len() {
        let Some(prefix) = body.get(at..at + 5) else {
            return Err(invalid("the reply ends inside a message's 5-byte prefix"));
        };
        if prefix[0] != 0 {
            return Err(invalid(
                "the reply has a compressed message, and none was asked for",
            ));
        }
        let len = u32::from_be_bytes([prefix[1], prefix[2], prefix[3], prefix[4]]) as usize;
        let start = at + 5;
        let end = start
            .checked_add(len)
            .filter(|&end| end <= body.len())
            .ok_or_else(|| invalid("the reply ends inside a message"))?;
        messages.push(start..end);
        at = end;
    }
    Ok(messages)
}

/// A malformed reply.
fn invalid(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("gRPC: {what}"))
}

/// `limit` as `grpc-timeout`: at most 8 digits and a unit, in the finest unit that holds it,
/// rounded up (so a server never sees less time than the client gives).
pub(crate) fn timeout_header(limit: Duration) -> String {
    const MAX: u128 = 99_999_999;
    let nanos = limit.as_nanos();
    let units: [(u128, char); 6] = [
        (1, 'n'),
        (1_000, 'u'),
        (1_000_000, 'm'),
        (1_000_000_000, 'S'),
        (60_000_000_000, 'M'),
        (3_600_000_000_000, 'H'),
    ];
    for (size, unit) in units {
        let count = nanos.div_ceil(size);
        if count <= MAX {
            return format!("{count}{unit}");
        }
    }
    format!("{MAX}H")
}

/// `grpc-message`'s text: percent-decoded, invalid sequences and bytes kept as they were
/// (a message that says what went wrong must never fail to be read).
pub(crate) fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        let hex = |byte: u8| char::from(byte).to_digit(16);
        if bytes[at] == b'%'
            && let (Some(high), Some(low)) = (
                bytes.get(at + 1).copied().and_then(hex),
                bytes.get(at + 2).copied().and_then(hex),
            )
        {
            out.push((high * 16 + low) as u8);
            at += 3;
        } else {
            out.push(bytes[at]);
            at += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_frame_and_unframe() {
        let mut body = Vec::new();
        frame(b"one", &mut body).unwrap();
        frame(b"", &mut body).unwrap();
        frame(b"three", &mut body).unwrap();
        let messages = unframe(&body).unwrap();
        let texts: Vec<&[u8]> = messages.iter().map(|range| &body[range.clone()]).collect();
        assert_eq!(texts, [&b"one"[..], b"", b"three"]);
        assert!(
            unframe(&body[..body.len() - 1]).is_err(),
            "cut inside a message"
        );
        assert!(unframe(&body[..2]).is_err(), "cut inside a prefix");
        assert!(unframe(&[1, 0, 0, 0, 0]).is_err(), "compressed");
        assert!(unframe(&[]).unwrap().is_empty());
    }

    #[test]
    fn timeouts_take_the_finest_unit_that_holds_them() {
        assert_eq!(timeout_header(Duration::from_millis(200)), "200000u");
        assert_eq!(timeout_header(Duration::from_secs(2)), "2000000u");
        assert_eq!(timeout_header(Duration::from_secs(100)), "100000m");
        assert_eq!(timeout_header(Duration::from_secs(200_000)), "200000S");
        assert_eq!(timeout_header(Duration::from_nanos(1_500)), "1500n");
        assert_eq!(timeout_header(Duration::MAX), "99999999H");
    }

    #[test]
    fn messages_are_percent_decoded_and_never_fail() {
        assert_eq!(percent_decoded("100%25 %C3%A9"), "100% é");
        assert_eq!(percent_decoded("50%"), "50%");
        assert_eq!(percent_decoded("%zz%C3"), "%zz\u{fffd}");
    }
}
