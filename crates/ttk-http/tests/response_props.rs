//! Property tests of what reads responses — the head parser, `Content-Length` and chunked
//! framing, the chunked decoder, `Location` resolution — fed as ttk feeds them: a real server
//! on loopback writes the response in pieces cut at arbitrary points, and an `HttpConnection`
//! reads it, its body kept, discarded or streamed. Any response, however hostile, ends in a
//! response or an error, without a panic and within a bounded allocation (whatever lengths it
//! declares); every well-formed body arrives as it was sent.

// The property-test settings and the counting allocator, shared with ttk-report's tests.
#[path = "../../ttk-report/tests/props/mod.rs"]
mod props;
mod util;

use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use proptest::prelude::*;
use ttk_http::{HttpConnection, Request};
use util::Server;
use util::ws::in_bot;

#[global_allocator]
static ALLOCATOR: props::Counting = props::Counting;

/// The longest body kept or streamed in these tests.
const MAX_BODY: usize = 64 * 1024;

/// What reading one response may allocate at most: its head (80 KiB at most) and body
/// (`MAX_BODY`) in the read buffer, grown by doubling, the header slots, and the run of one
/// bot. Nothing is sized by a length a response declares.
const MOST_PER_RESPONSE: usize = 2 << 20;

/// How the body of a response is taken.
#[derive(Clone, Copy, Debug)]
enum Taking {
    Kept,
    Discarded,
    Streamed,
}

/// One case: the pieces the server writes, and how the client takes the body.
#[derive(Clone, Debug, Default)]
struct Case {
    pieces: Vec<Vec<u8>>,
}

/// A server that answers the first request of each connection with the current case's
/// pieces, a short pause between them, then closes.
struct Feeder {
    server: Server,
    case: Arc<Mutex<Case>>,
}

impl Feeder {
    fn start() -> Feeder {
        let case = Arc::new(Mutex::new(Case::default()));
        let current = Arc::clone(&case);
        let server = Server::start(move |mut peer, _| {
            if peer.next_request().is_some() {
                let pieces = current.lock().unwrap().pieces.clone();
                for piece in pieces {
                    peer.send(&piece);
                    std::thread::sleep(Duration::from_micros(20));
                }
            }
        });
        Feeder { server, case }
    }

    /// Sends one request whose response is `pieces`, with a body limit of `max_body`; what the
    /// client made of it and the most bytes it allocated at once.
    fn exchange(
        &self,
        pieces: Vec<Vec<u8>>,
        taking: Taking,
        redirects: u8,
        max_body: usize,
    ) -> (io::Result<Seen>, usize) {
        self.case.lock().unwrap().pieces = pieces;
        let addr = self.server.addr.clone();
        props::peak_of(|| {
            in_bot(async move || {
                let mut http = HttpConnection::connect(&addr).await?;
                http.set_max_body_len(max_body);
                let request = Request::get("/a/b?c")
                    .timeout(Duration::from_secs(10))
                    .follow_redirects(redirects)
                    .discard_body(matches!(taking, Taking::Discarded));
                match taking {
                    Taking::Kept | Taking::Discarded => {
                        let response = http.send(&request).await?;
                        Ok(Seen {
                            status: response.status(),
                            body: response.body().to_vec(),
                            body_len: response.body_len(),
                        })
                    }
                    Taking::Streamed => {
                        let status = http.send_streaming(&request).await?.status();
                        let mut body = Vec::new();
                        let mut buf = [0; 1000];
                        loop {
                            let n = http.read_body(&mut buf).await?;
                            if n == 0 {
                                break;
                            }
                            body.extend_from_slice(&buf[..n]);
                        }
                        let body_len = body.len() as u64;
                        Ok(Seen {
                            status,
                            body,
                            body_len,
                        })
                    }
                }
            })
        })
    }
}

/// What the client saw of a response.
#[derive(Debug, PartialEq, Eq)]
struct Seen {
    status: u16,
    body: Vec<u8>,
    body_len: u64,
}

/// `bytes` cut at arbitrary points (up to 8 pieces).
fn cut(bytes: Vec<u8>, cuts: &[prop::sample::Index]) -> Vec<Vec<u8>> {
    let mut at: Vec<usize> = cuts.iter().map(|cut| cut.index(bytes.len() + 1)).collect();
    at.push(0);
    at.push(bytes.len());
    at.sort_unstable();
    at.windows(2).map(|w| bytes[w[0]..w[1]].to_vec()).collect()
}

/// Lengths as a hostile server declares them.
fn edgy_number() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "0",
            "1",
            "65536",
            "65537",
            "4294967296",
            "9223372036854775808",
            "18446744073709551615",
            "18446744073709551616",
            "-1",
            "+5",
            " 5",
            "0x10",
            "",
            "99999999999999999999999999",
        ])
        .prop_map(str::to_owned),
        any::<u64>().prop_map(|n| n.to_string()),
        (0u64..100_000).prop_map(|n| n.to_string()),
    ]
}

/// Chunk-size lines as a hostile server writes them.
fn edgy_chunk_size() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "ffffffffffffffff",
            "FFFFFFFFFFFFFFFF0",
            "8000000000000000",
            "10000",
            "10001",
            "-1",
            "0x5",
            " 5",
            "5 ",
            "",
            "g",
            "0000000000000000000000005",
        ])
        .prop_map(str::to_owned),
        any::<u64>().prop_map(|n| format!("{n:x}")),
        (0u32..300).prop_map(|n| format!("{n:X}")),
    ]
}

/// A header line, well-formed or not.
fn header() -> impl Strategy<Value = String> {
    prop_oneof![
        edgy_number().prop_map(|n| format!("Content-Length: {n}\r\n")),
        prop::sample::select(vec![
            "Transfer-Encoding: chunked\r\n",
            "Transfer-Encoding: gzip, chunked\r\n",
            "Transfer-Encoding: chunked, gzip\r\n",
            "Transfer-Encoding: identity\r\n",
            "Connection: close\r\n",
            "Connection: keep-alive\r\n",
            "X-Folded: a\r\n b\r\n",
            "no colon\r\n",
            ": no name\r\n",
            "\r\n",
        ])
        .prop_map(str::to_owned),
        "[ -~]{0,40}".prop_map(|location| format!("Location: {location}\r\n")),
        ("[A-Za-z-]{1,20}", "[ -~]{0,60}").prop_map(|(name, value)| format!("{name}: {value}\r\n")),
        (1usize..3_000).prop_map(|n| format!("X-Long: {}\r\n", "v".repeat(n))),
    ]
}

/// A status line, well-formed or not.
fn status_line() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            100u16, 101, 200, 204, 301, 302, 304, 307, 404, 500, 999
        ])
        .prop_map(|status| format!("HTTP/1.1 {status} Reason\r\n")),
        prop::sample::select(vec![
            "HTTP/1.0 200 OK\r\n",
            "HTTP/2 200\r\n",
            "HTTP/1.1 20 OK\r\n",
            "HTTP/1.1 200\r\n",
            "HTTP/1.1  200 OK\r\n",
            "ICY 200 OK\r\n",
            "\r\nHTTP/1.1 200 OK\r\n",
            "garbage\r\n",
        ])
        .prop_map(str::to_owned),
    ]
}

/// A body part after the head: chunks with hostile sizes, well-formed chunks, or noise.
fn body_part() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        (
            edgy_chunk_size(),
            "(;[a-z=\"]{0,20})?",
            prop::collection::vec(any::<u8>(), 0..50)
        )
            .prop_map(|(size, extension, data)| {
                let mut bytes = format!("{size}{extension}\r\n").into_bytes();
                bytes.extend(data);
                bytes.extend_from_slice(b"\r\n");
                bytes
            }),
        (prop::collection::vec(any::<u8>(), 0..300), 1usize..50)
            .prop_map(|(payload, chunk)| chunked(&payload, chunk, "", "", false)),
        prop::sample::select(vec![
            &b"0\r\n\r\n"[..],
            b"0\r\nX-T: 1\r\n\r\n",
            b"\r\n",
            b"0\r\n"
        ])
        .prop_map(<[u8]>::to_vec),
        prop::collection::vec(any::<u8>(), 0..200),
    ]
}

/// A whole response, as a hostile or broken server sends it.
fn hostile_response() -> impl Strategy<Value = Vec<u8>> {
    (
        status_line(),
        prop::collection::vec(header(), 0..8),
        prop::collection::vec(body_part(), 0..5),
        prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..3),
    )
        .prop_map(|(status, headers, body, flips)| {
            let mut bytes = status.into_bytes();
            for header in headers {
                bytes.extend_from_slice(header.as_bytes());
            }
            bytes.extend_from_slice(b"\r\n");
            for part in body {
                bytes.extend(part);
            }
            // A few bytes changed anywhere.
            for (at, byte) in flips {
                let at = at.index(bytes.len());
                bytes[at] = byte;
            }
            bytes
        })
}

/// `payload` chunked in chunks of `chunk` bytes, each size line with `extension` (sizes in
/// upper-case hex with leading zeros if `upper`), then the last chunk and `trailers`.
fn chunked(payload: &[u8], chunk: usize, extension: &str, trailers: &str, upper: bool) -> Vec<u8> {
    let size = |len: usize| match upper {
        true => format!("00{len:X}{extension}\r\n"),
        false => format!("{len:x}{extension}\r\n"),
    };
    let mut bytes = Vec::new();
    for piece in payload.chunks(chunk) {
        bytes.extend_from_slice(size(piece.len()).as_bytes());
        bytes.extend_from_slice(piece);
        bytes.extend_from_slice(b"\r\n");
    }
    bytes.extend_from_slice(size(0).as_bytes());
    bytes.extend_from_slice(format!("{trailers}\r\n").as_bytes());
    bytes
}

/// A well-formed response carrying `payload`: chunked (chunk sizes in either case, leading
/// zeros, extensions, trailers), with a `Content-Length`, or delimited by the close.
fn framed(payload: Vec<u8>) -> impl Strategy<Value = (Vec<u8>, Vec<u8>)> {
    let chunked_body = (
        1usize..2_000,
        prop::sample::select(vec!["", ";a=b", ";ext=\"q\"", " ; x"]),
        prop::sample::select(vec!["", "X-Trailer: 1\r\n", "A: b\r\nC: d\r\n"]),
        any::<bool>(),
    );
    let payload_for_chunks = payload.clone();
    let payload_for_length = payload.clone();
    prop_oneof![
        chunked_body.prop_map(move |(chunk, extension, trailers, upper)| {
            let body = chunked(&payload_for_chunks, chunk, extension, trailers, upper);
            let mut bytes = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
            bytes.extend(body);
            (bytes, payload_for_chunks.clone())
        }),
        Just({
            let mut bytes = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n",
                payload_for_length.len()
            )
            .into_bytes();
            bytes.extend_from_slice(&payload_for_length);
            (bytes, payload_for_length.clone())
        }),
        Just({
            let mut bytes = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n".to_vec();
            bytes.extend_from_slice(&payload);
            (bytes, payload.clone())
        }),
    ]
}

fn taking() -> impl Strategy<Value = Taking> {
    prop::sample::select(vec![Taking::Kept, Taking::Discarded, Taking::Streamed])
}

fn feeder() -> &'static Feeder {
    static FEEDER: std::sync::OnceLock<Feeder> = std::sync::OnceLock::new();
    FEEDER.get_or_init(Feeder::start)
}

/// The server is shared: one case at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

proptest! {
    #![proptest_config(props::cases(2_000))]

    #[test]
    fn any_response_ends_in_a_response_or_an_error_within_bounds(
        response in hostile_response(),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..7),
        taking in taking(),
        redirects in 0u8..3,
        // No limit at all: still nothing is sized by a declared length.
        max_body in prop::sample::select(vec![MAX_BODY, usize::MAX]),
    ) {
        let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
        let (seen, peak) = feeder().exchange(cut(response, &cuts), taking, redirects, max_body);
        prop_assert!(peak < MOST_PER_RESPONSE, "{peak} bytes");
        if let Ok(seen) = seen {
            prop_assert!(seen.body.len() <= max_body);
        }
    }

}

proptest! {
    // Each case carries a few KB through a real socket in pieces, pauses between them: fewer.
    #![proptest_config(props::cases(1_000))]

    #[test]
    fn every_well_framed_body_arrives_as_sent(
        (response, payload) in prop::collection::vec(any::<u8>(), 0..5_000).prop_flat_map(framed),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..7),
        taking in taking(),
    ) {
        let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
        let (seen, _) = feeder().exchange(cut(response, &cuts), taking, 0, MAX_BODY);
        let seen = seen.unwrap();
        prop_assert_eq!(seen.status, 200);
        prop_assert_eq!(seen.body_len, payload.len() as u64);
        match taking {
            Taking::Discarded => prop_assert!(seen.body.is_empty()),
            Taking::Kept | Taking::Streamed => prop_assert_eq!(seen.body, payload),
        }
    }
}

/// Found by `any_response_ends_in_a_response_or_an_error_within_bounds`: without a body limit
/// (`set_max_body_len(usize::MAX)`), a `Content-Length` of `usize::MAX` overflowed the end of
/// the body (a panic in a debug build, a body range upside down in a release one).
#[test]
fn a_content_length_past_any_buffer_is_refused_without_a_limit() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let response = b"HTTP/1.0 200 OK\r\nContent-Length: 18446744073709551615\r\n\r\n".to_vec();
    let (seen, _) = feeder().exchange(vec![response], Taking::Kept, 0, usize::MAX);
    let error = seen.unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::InvalidData);
    assert!(
        error.to_string().contains("18446744073709551615"),
        "{error}"
    );
}
