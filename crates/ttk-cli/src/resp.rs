//! `ttk tcp --resp`: replies read as redis's RESP values. A bulk string (`$5`, then `hello`) or
//! an array is one reply however many lines it takes, so its value can be checked with
//! `--expect` and none of it is taken for the next reply; an error reply (`-ERR …`,
//! `-NOAUTH …`) fails its request, counted under its code.

use std::io;

use ttk::metrics::KindedError;
use ttk::net::{ByteStream, Framed};

/// The codes redis's own error replies start with, counted under their name; another error
/// reply is counted as `RedisError`.
const CODES: [&str; 20] = [
    "ERR",
    "WRONGTYPE",
    "NOAUTH",
    "WRONGPASS",
    "NOPERM",
    "OOM",
    "BUSY",
    "BUSYKEY",
    "NOSCRIPT",
    "READONLY",
    "LOADING",
    "MASTERDOWN",
    "MISCONF",
    "NOREPLICAS",
    "EXECABORT",
    "MOVED",
    "ASK",
    "TRYAGAIN",
    "CLUSTERDOWN",
    "NOPROTO",
];

/// Reads the rest of the RESP value whose first line `text` holds: the payload of a bulk string
/// (up to `most` bytes; it may hold line breaks), each element of an array, set, map or push
/// (nested ones too), appended to `text` after a line feed, so that `--expect` is looked for in
/// the whole value.
///
/// # Errors
/// `InvalidData` for a length that is not one, or a bulk string over `most` bytes; those of
/// the reads.
pub(crate) async fn read_rest<S: ByteStream>(
    framed: &mut Framed<S>,
    text: &mut Vec<u8>,
    most: usize,
) -> io::Result<()> {
    // Values still to read whole; the first line (in `text`) is the first value's.
    let mut pending: u64 = 1;
    let mut line_at = 0;
    loop {
        let line = &text[line_at..];
        pending -= 1;
        match line.first() {
            // An array, a set, a push: that many values follow; a map, an attribute: twice.
            Some(b'*' | b'~' | b'>') => pending += count(line)?,
            Some(b'%' | b'|') => pending += 2 * count(line)?,
            // A bulk string, a blob error, a verbatim string: that many bytes and a CRLF.
            Some(b'$' | b'!' | b'=') => {
                let len = count(line)?;
                if len > 0 {
                    let len = usize::try_from(len)
                        .ok()
                        .filter(|&len| len <= most)
                        .ok_or_else(|| {
                            invalid(format!("a bulk string of {len} bytes, over --max-line"))
                        })?;
                    let payload = framed.read_raw_exact(len + 2).await?;
                    text.push(b'\n');
                    text.extend_from_slice(&payload[..len]);
                }
            }
            _ => {}
        }
        if pending == 0 {
            return Ok(());
        }
        let Some(next) = framed.read_frame().await? else {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the server closed the connection in the middle of a reply",
            ));
        };
        text.push(b'\n');
        line_at = text.len();
        text.extend_from_slice(next);
    }
}

/// The count after a RESP line's type byte (`*3`, `$5`); -1 (a null) reads as 0.
fn count(line: &[u8]) -> io::Result<u64> {
    let digits = std::str::from_utf8(&line[1..]).unwrap_or("");
    match digits.trim().parse::<i64>() {
        Ok(-1) => Ok(0),
        Ok(n) if n >= 0 => Ok(n.unsigned_abs()),
        _ => Err(invalid(format!(
            "`{}` is not a RESP length",
            String::from_utf8_lossy(&line[..line.len().min(40)])
        ))),
    }
}

/// The failure for a RESP error reply (`-NOAUTH Authentication required.`, or a blob error),
/// whose whole text is `text`; `None` for any other reply.
pub(crate) fn error_reply(text: &[u8]) -> Option<io::Error> {
    let message = match text.first()? {
        b'-' => &text[1..],
        // `!21`, a line feed, then the error.
        b'!' => text.splitn(2, |&b| b == b'\n').nth(1).unwrap_or(b""),
        _ => return None,
    };
    let code = message.split(|&b| b == b' ').next().unwrap_or(b"");
    let kind = CODES
        .iter()
        .find(|known| known.as_bytes() == code)
        .copied()
        .unwrap_or("RedisError");
    let shown = String::from_utf8_lossy(&message[..message.len().min(120)]).into_owned();
    Some(KindedError::new(kind, format!("redis answered `{shown}`")).into_io(io::ErrorKind::Other))
}

/// An `InvalidData` error saying `what`.
fn invalid(what: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what)
}

#[cfg(test)]
mod tests {
    use super::{count, error_reply};
    use ttk::metrics::Failure;

    #[test]
    fn lengths_and_nulls_are_read() {
        assert_eq!(count(b"*3").unwrap(), 3);
        assert_eq!(count(b"$-1").unwrap(), 0);
        assert!(count(b"$x").is_err());
        assert!(count(b"*-2").is_err());
    }

    #[test]
    fn error_replies_are_counted_under_their_code() {
        let error = error_reply(b"-NOAUTH Authentication required.").unwrap();
        assert_eq!(Failure::of(&error).kind(), "NOAUTH");
        assert_eq!(
            Failure::of(&error).message(),
            "redis answered `NOAUTH Authentication required.`"
        );
        let odd = error_reply(b"-SOMETHING else").unwrap();
        assert_eq!(Failure::of(&odd).kind(), "RedisError");
        let blob = error_reply(b"!21\nSYNTAX invalid syntax").unwrap();
        assert_eq!(Failure::of(&blob).kind(), "RedisError");
        assert!(error_reply(b"+PONG").is_none());
        assert!(error_reply(b"$5\nhello").is_none());
    }
}
