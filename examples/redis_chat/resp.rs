//! Just enough RESP (the Redis protocol) for a chat: commands written as arrays of bulk
//! strings, replies read through `Framed`'s CRLF lines for the headers and its raw reads for
//! bulk payloads, which may hold CRLFs of their own.

use std::io;

use ttk::net::{FrameFormat, Framed, TcpStream};

/// The longest reply header line accepted (`$123`, `*3`, `:4`, `+OK`, an error's text).
const MAX_LINE: usize = 4096;
/// The largest bulk string accepted: a chat line, with room to spare.
const MAX_BULK: usize = 1024 * 1024;

/// A connection to Redis.
pub(crate) type Resp = Framed<TcpStream>;

/// Frames `stream` for RESP.
pub(crate) fn resp(stream: TcpStream) -> Resp {
    Framed::new(stream, FrameFormat::crlf_lines().max_frame_len(MAX_LINE))
}

/// A reply: a simple value, or an array of them (the chat needs no deeper nesting).
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Reply {
    /// `+OK`.
    Simple(String),
    /// `:4`.
    Integer(i64),
    /// `$5\r\nhello\r\n`; `None` for the null bulk string `$-1`.
    Bulk(Option<Vec<u8>>),
    /// `*3\r\n…`: its elements.
    Array(Vec<Reply>),
}

/// `command` (its words) as RESP: an array of bulk strings.
pub(crate) fn encode(command: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", command.len()).into_bytes();
    for word in command {
        out.extend_from_slice(format!("${}\r\n", word.len()).as_bytes());
        out.extend_from_slice(word);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Reads one reply. A Redis error reply (`-ERR …`) is an `Other` error with its text.
pub(crate) async fn read_reply(resp: &mut Resp) -> io::Result<Reply> {
    let header = read_header(resp).await?;
    match header {
        Header::Array(len) => {
            let mut elements = Vec::with_capacity(len.min(16));
            for _ in 0..len {
                match read_header(resp).await? {
                    Header::Array(_) => return Err(invalid("a nested array")),
                    Header::Scalar(reply) => elements.push(reply),
                    Header::Bulk(len) => elements.push(read_bulk(resp, len).await?),
                }
            }
            Ok(Reply::Array(elements))
        }
        Header::Bulk(len) => read_bulk(resp, len).await,
        Header::Scalar(reply) => Ok(reply),
    }
}

/// A reply's first line, read.
enum Header {
    /// `*N`: N elements follow.
    Array(usize),
    /// `$N`: N bytes and a CRLF follow; `$-1` is [`Reply::Bulk(None)`] at once.
    Bulk(Option<usize>),
    /// A reply whole on its line.
    Scalar(Reply),
}

async fn read_header(resp: &mut Resp) -> io::Result<Header> {
    let Some(line) = resp.read_frame().await? else {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "Redis closed the connection",
        ));
    };
    let (kind, rest) = line
        .split_first()
        .ok_or_else(|| invalid("an empty reply line"))?;
    let rest = std::str::from_utf8(rest).map_err(|_| invalid("a reply line not in UTF-8"))?;
    match kind {
        b'+' => Ok(Header::Scalar(Reply::Simple(rest.to_owned()))),
        b'-' => Err(io::Error::other(format!("Redis answered: {rest}"))),
        b':' => Ok(Header::Scalar(Reply::Integer(number(rest)?))),
        b'$' => match number(rest)? {
            -1 => Ok(Header::Bulk(None)),
            len => Ok(Header::Bulk(Some(length(len, MAX_BULK)?))),
        },
        b'*' => Ok(Header::Array(length(number(rest)?, MAX_LINE)?)),
        other => Err(invalid(&format!(
            "a reply of type {:?}",
            char::from(*other)
        ))),
    }
}

/// The payload of a bulk string of `len` bytes (`None`: null), read raw with its CRLF.
async fn read_bulk(resp: &mut Resp, len: Option<usize>) -> io::Result<Reply> {
    let Some(len) = len else {
        return Ok(Reply::Bulk(None));
    };
    let raw = resp.read_raw_exact(len + 2).await?;
    if !raw.ends_with(b"\r\n") {
        return Err(invalid("a bulk string not ended by CRLF"));
    }
    Ok(Reply::Bulk(Some(raw[..len].to_vec())))
}

fn number(text: &str) -> io::Result<i64> {
    text.parse()
        .map_err(|_| invalid(&format!("`{text}` is not a number")))
}

/// A length from the peer: checked before anything is allocated for it.
fn length(len: i64, max: usize) -> io::Result<usize> {
    usize::try_from(len)
        .ok()
        .filter(|&len| len <= max)
        .ok_or_else(|| invalid(&format!("a length of {len} (at most {max})")))
}

/// An `InvalidData` error: Redis said something the chat does not expect.
pub(crate) fn invalid(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_owned())
}
