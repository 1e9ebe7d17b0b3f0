//! `ttk tcp --resp`: replies read as redis's RESP values. A bulk string (`$5`, then `hello`) or
//! an array is one reply however many lines it takes, so its value can be checked with
//! `--expect` and none of it is taken for the next reply; an error reply (`-ERR …`,
//! `-NOAUTH …`) fails its request, counted under its code.

use std::io;

use ttk::metrics::KindedError;
use ttk::net::{ByteStream, Framed};

/// The codes redis's own error replies start with, counted under their name; another error
/// reply is counted as `RedisError`.
const CODES: &[&str] = &[
    "ERR",
    "WRONGTYPE",
    "NOAUTH",
    "WRONGPASS",
    "NOPERM",
    "OOM",
    "BUSY",
    "BUSYKEY",
    "BUSYGROUP",
    "NOGROUP",
    "NOSCRIPT",
    "NOTBUSY",
    "UNKILLABLE",
    "READONLY",
    "LOADING",
    "MASTERDOWN",
    "MISCONF",
    "NOREPLICAS",
    "EXECABORT",
    "MOVED",
    "ASK",
    "TRYAGAIN",
    "CROSSSLOT",
    "CLUSTERDOWN",
    "UNBLOCKED",
    "NOPROTO",
];

/// Reads the rest of the RESP value whose first line `text` holds: the payload of a bulk string
/// (up to `most` bytes; it may hold line breaks), each element of an array, set, map or push
/// (nested ones too), an attribute and the value it comes before. With `keep` (there is an
/// `--expect` to look for), each part is appended to `text` after a line feed, so that
/// `--expect` is looked for in the whole value, up to `most` bytes of it; without, they are
/// read and let go. The first error among the elements (a script's table holding
/// `redis.error_reply`, which redis counts among its `failed_calls`) is given back, as
/// [`error_reply`] reads it, once the whole value is read (so the next reply starts where it
/// should).
///
/// # Errors
/// `InvalidData` for a length that is not one, a bulk string over `most` bytes, a payload not
/// ended by CRLF, or a value kept over `most` bytes; those of the reads.
pub(crate) async fn read_rest<S: ByteStream>(
    framed: &mut Framed<S>,
    text: &mut Vec<u8>,
    most: usize,
    keep: bool,
) -> io::Result<Option<Vec<u8>>> {
    let first = Parts::of(text)?;
    let mut nested_error: Option<Vec<u8>> = None;
    // Values still to read whole.
    let mut pending = first.values;
    if let Some(len) = first.bulk {
        read_bulk(framed, len, text, most, keep).await?;
    }
    while pending > 0 {
        let Some(line) = framed.read_frame().await? else {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the server closed the connection in the middle of a reply",
            ));
        };
        let parts = Parts::of(line)?;
        let error_kind = match line.first() {
            Some(b'-') => Some(ErrorKind::Simple),
            Some(b'!') => Some(ErrorKind::Blob),
            _ => None,
        }
        .filter(|_| nested_error.is_none());
        if error_kind == Some(ErrorKind::Simple) {
            nested_error = Some(line.to_vec());
        }
        let blob_error = (error_kind == Some(ErrorKind::Blob)).then(|| line.to_vec());
        if keep {
            text.push(b'\n');
            text.extend_from_slice(line);
        }
        pending = (pending - 1)
            .checked_add(parts.values)
            .ok_or_else(|| invalid("a RESP value of more elements than can be counted".into()))?;
        if let Some(len) = parts.bulk {
            match blob_error {
                // Its payload is the error's text: kept to name it, whether or not the value is.
                Some(mut error) => {
                    let start = error.len();
                    read_bulk(framed, len, &mut error, most, true).await?;
                    if keep {
                        text.extend_from_slice(&error[start..]);
                    }
                    nested_error = Some(error);
                }
                None => read_bulk(framed, len, text, most, keep).await?,
            }
        }
        if keep && text.len() > most {
            return Err(invalid(format!(
                "a reply over --max-line ({most} bytes) to look for --expect in"
            )));
        }
    }
    Ok(nested_error)
}

/// The two kinds of error values: a line (`-ERR …`) and a blob (`!21`, then its text).
#[derive(Clone, Copy, PartialEq, Eq)]
enum ErrorKind {
    Simple,
    Blob,
}

/// What a RESP value's first line says follows it.
struct Parts {
    /// Values that follow as its elements (an array's, a map's keys and values, an attribute's
    /// and the value it comes before).
    values: u64,
    /// The bytes of its payload, for a bulk string (not a null one).
    bulk: Option<usize>,
}

impl Parts {
    /// What follows `line`, a RESP value's first line.
    fn of(line: &[u8]) -> io::Result<Parts> {
        let nothing = Parts {
            values: 0,
            bulk: None,
        };
        let values = |n: Option<u64>, per: u64, more: u64| {
            n.map_or(Some(0), |n| n.checked_mul(per)?.checked_add(more))
                .map(|values| Parts { values, bulk: None })
                .ok_or_else(|| invalid(format!("a RESP count too large: {}", shown(line))))
        };
        match line.first() {
            // An array, a set, a push: that many values follow; a map: twice that.
            Some(b'*' | b'~' | b'>') => values(count(line)?, 1, 0),
            Some(b'%') => values(count(line)?, 2, 0),
            // An attribute: its pairs, then the value it is about.
            Some(b'|') => values(count(line)?, 2, 1),
            // A bulk string, a blob error, a verbatim string: that many bytes and a CRLF.
            Some(b'$' | b'!' | b'=') => Ok(match count(line)? {
                Some(len) => Parts {
                    values: 0,
                    bulk: Some(usize::try_from(len).unwrap_or(usize::MAX)),
                },
                None => nothing,
            }),
            _ => Ok(nothing),
        }
    }
}

/// Reads a bulk string's payload of `len` bytes and its CRLF (appended to `text` with `keep`).
async fn read_bulk<S: ByteStream>(
    framed: &mut Framed<S>,
    len: usize,
    text: &mut Vec<u8>,
    most: usize,
    keep: bool,
) -> io::Result<()> {
    if len > most {
        return Err(invalid(format!(
            "a bulk string of {len} bytes, over --max-line ({most})"
        )));
    }
    let payload = framed.read_raw_exact(len + 2).await?;
    if &payload[len..] != b"\r\n" {
        return Err(invalid(format!(
            "a bulk string of {len} bytes not ended by CRLF"
        )));
    }
    if keep {
        text.push(b'\n');
        text.extend_from_slice(&payload[..len]);
    }
    Ok(())
}

/// The count after a RESP line's type byte (`*3`, `$5`); `None` for -1, a null.
fn count(line: &[u8]) -> io::Result<Option<u64>> {
    let digits = std::str::from_utf8(&line[1..]).unwrap_or("");
    match digits.trim().parse::<i64>() {
        Ok(-1) => Ok(None),
        Ok(n) if n >= 0 => Ok(Some(n.unsigned_abs())),
        _ => Err(invalid(format!("{} is not a RESP length", shown(line)))),
    }
}

/// `line`'s start, for a message.
fn shown(line: &[u8]) -> String {
    format!("`{}`", String::from_utf8_lossy(&line[..line.len().min(40)]))
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
    use super::{count, error_reply, read_rest};
    use std::io::Write;
    use ttk::metrics::Failure;
    use ttk::net::{FrameFormat, Framed, TcpStream};

    /// Reads `values` (RESP, back to back, each then `+END`) from a real connection, each
    /// whole, kept (with `keep`) or not: their texts, and that each left nothing of itself
    /// behind.
    fn read_all(values: &'static [u8], count: usize) -> Vec<String> {
        read_each(values, count, true)
            .into_iter()
            .map(|(text, _)| text)
            .collect()
    }

    /// [`read_all`], each text with the error [`read_rest`] found among its elements.
    fn read_each(values: &'static [u8], count: usize, keep: bool) -> Vec<(String, Option<String>)> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            let (mut socket, _) = listener.accept().unwrap();
            // Byte by byte: every value arrives over many reads.
            for byte in values {
                socket.write_all(&[*byte]).unwrap();
            }
        });
        #[ttk::bot]
        fn reader(
            _cx: ttk::Cx,
            _id: usize,
            addr: std::net::SocketAddr,
            count: usize,
            keep: bool,
        ) -> Vec<(String, Option<String>)> {
            let stream = ttk::yield_!(TcpStream::connect(addr)).unwrap();
            let mut framed = Framed::new(stream, FrameFormat::crlf_lines());
            let mut texts = Vec::new();
            for _ in 0..count {
                let mut text = ttk::yield_!(framed.read_frame()).unwrap().unwrap().to_vec();
                let nested = ttk::yield_!(read_rest(&mut framed, &mut text, 1024, keep)).unwrap();
                let nested = nested.map(|error| String::from_utf8(error).unwrap());
                texts.push((String::from_utf8(text).unwrap(), nested));
                let end = ttk::yield_!(framed.read_frame()).unwrap().unwrap().to_vec();
                assert_eq!(end, b"+END", "after {:?}", texts.last());
            }
            texts
        }
        ttk::run(1, move |cx, id| reader(cx, id, addr, count, keep))
            .pop()
            .unwrap()
    }

    #[test]
    fn whole_values_are_read_and_nothing_of_them_is_left() {
        let values = b"$0\r\n\r\n+END\r\n\
            $-1\r\n+END\r\n\
            *-1\r\n+END\r\n\
            $5\r\nhe\r\nl\r\n+END\r\n\
            *3\r\n$1\r\na\r\n$0\r\n\r\n*1\r\n:7\r\n+END\r\n\
            %1\r\n+key\r\n$3\r\nval\r\n+END\r\n\
            |1\r\n+ttl\r\n:3\r\n+OK\r\n+END\r\n";
        let texts = read_all(values, 7);
        assert_eq!(
            texts,
            [
                "$0\n",
                "$-1",
                "*-1",
                "$5\nhe\r\nl",
                "*3\n$1\na\n$0\n\n*1\n:7",
                "%1\n+key\n$3\nval",
                "|1\n+ttl\n:3\n+OK",
            ]
        );
    }

    /// A script's table holding errors (redis counts the call among its failed ones): the
    /// first error is found, kept or not, and the whole value is read.
    #[test]
    fn an_error_inside_an_array_is_found_after_the_whole_value() {
        let values = b"*3\r\n:1\r\n-BOOM x\r\n-LATER y\r\n+END\r\n\
            *2\r\n*1\r\n!8\r\nERR a\r\nb\r\n$2\r\nok\r\n+END\r\n\
            *1\r\n$4\r\n-ERR\r\n+END\r\n";
        for keep in [true, false] {
            let read = read_each(values, 3, keep);
            let nested: Vec<_> = read.iter().map(|(_, nested)| nested.as_deref()).collect();
            assert_eq!(
                nested,
                [Some("-BOOM x"), Some("!8\nERR a\r\nb"), None],
                "keep {keep}: a bulk string's text is no error"
            );
            let kinds: Vec<_> = nested
                .iter()
                .map(|nested| nested.and_then(|text| error_reply(text.as_bytes())))
                .map(|error| error.map(|error| Failure::of(&error).kind().to_owned()))
                .collect();
            assert_eq!(kinds, [Some("RedisError".into()), Some("ERR".into()), None]);
        }
        assert_eq!(
            read_all(values, 3)[1],
            "*2\n*1\n!8\nERR a\r\nb\n$2\nok",
            "the blob error's text kept with the value"
        );
    }

    #[test]
    fn lengths_and_nulls_are_read() {
        assert_eq!(count(b"*3").unwrap(), Some(3));
        assert_eq!(count(b"$0").unwrap(), Some(0));
        assert_eq!(count(b"$-1").unwrap(), None);
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
