//! Property tests of WebSocket frame reading as ttk feeds it: a real server on loopback answers
//! the handshake and writes frames, cut at arbitrary points (the `101` answer included), and a
//! `WebSocket` bot receives them — through `Frames`, which follows the frame headers to decide
//! what to hand tungstenite, and tungstenite itself. Any frames, however hostile (lengths of
//! 2^63, reserved bits and opcodes, masks, truncation), end in messages or an error without a
//! panic and within a bounded allocation; messages cut in fragments, with pings between them,
//! arrive whole and in order. And `ws::request`, which reads the URL a bot connects to: any
//! text is a request or an `InvalidInput` error.

// The property-test settings and the counting allocator, shared with ttk-report's tests.
#[path = "../../ttk-report/tests/props/mod.rs"]
mod props;
mod util;

use std::io::{Read, Write};
use std::net::Shutdown;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use proptest::prelude::*;
use ttk_http::ws::{self, Message, WebSocket};
use util::ws::{ThreadServer, in_bot};

#[global_allocator]
static ALLOCATOR: props::Counting = props::Counting;

/// The longest message and frame the client takes in these tests.
const MAX_MESSAGE: usize = 64 * 1024;

/// What receiving one case's frames may allocate at most: the messages' bytes (the generated
/// ones are small), tungstenite's buffers and the run of one bot; never what a header declares.
const MOST_PER_CASE: usize = 2 << 20;

/// A server that answers each handshake with the current case's bytes after the `101` head,
/// the whole cut in the case's pieces, then closes its side and waits for the client's.
struct Feeder {
    /// The server's `ws://` URL (the server runs on, its reports unread).
    url: String,
    case: Arc<Mutex<(Vec<u8>, Vec<prop::sample::Index>)>>,
}

impl Feeder {
    fn start() -> Feeder {
        let case = Arc::new(Mutex::new((Vec::new(), Vec::new())));
        let current = Arc::clone(&case);
        let server = ThreadServer::raw(move |mut socket, _| {
            let mut request = Vec::new();
            let mut buf = [0; 1024];
            while !request.ends_with(b"\r\n\r\n") {
                match socket.read(&mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            let request = String::from_utf8_lossy(&request).into_owned();
            let Some(key) = request
                .lines()
                .find_map(|line| line.strip_prefix("Sec-WebSocket-Key: "))
            else {
                return;
            };
            let accept = tungstenite::handshake::derive_accept_key(key.trim().as_bytes());
            let mut bytes = format!(
                "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n\
                 Upgrade: websocket\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
            )
            .into_bytes();
            let (frames, cuts) = current.lock().unwrap().clone();
            bytes.extend(frames);
            for piece in cut(&bytes, &cuts) {
                if socket.write_all(piece).is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_micros(20));
            }
            let _ = socket.shutdown(Shutdown::Write);
            socket
                .set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            while matches!(socket.read(&mut buf), Ok(n) if n > 0) {}
        });
        Feeder {
            url: server.url,
            case,
        }
    }

    /// Connects, receives until an error, and returns the messages received (pings and pongs
    /// left out), the error and the most bytes allocated at once.
    fn receive(
        &self,
        frames: Vec<u8>,
        cuts: Vec<prop::sample::Index>,
    ) -> (Vec<Message>, std::io::Error, usize) {
        *self.case.lock().unwrap() = (frames, cuts);
        let url = self.url.clone();
        let ((messages, error), peak) = props::peak_of(|| {
            in_bot(async move || {
                let mut ws = match WebSocket::connect(&url).await {
                    Ok(ws) => ws,
                    Err(error) => return (Vec::new(), error),
                };
                ws.set_max_message_len(MAX_MESSAGE);
                ws.set_max_frame_len(MAX_MESSAGE);
                let mut messages = Vec::new();
                loop {
                    match ws.receive().await {
                        Ok(Message::Ping(_) | Message::Pong(_)) => {}
                        Ok(message) => messages.push(message),
                        Err(error) => return (messages, error),
                    }
                }
            })
        });
        (messages, error, peak)
    }
}

/// `bytes` cut at arbitrary points.
fn cut<'a>(bytes: &'a [u8], cuts: &[prop::sample::Index]) -> Vec<&'a [u8]> {
    let mut at: Vec<usize> = cuts.iter().map(|cut| cut.index(bytes.len() + 1)).collect();
    at.push(0);
    at.push(bytes.len());
    at.sort_unstable();
    at.windows(2).map(|w| &bytes[w[0]..w[1]]).collect()
}

/// A server's frame (unmasked): `first` is the FIN bit, reserved bits and opcode.
fn frame(first: u8, payload: &[u8]) -> Vec<u8> {
    let mut bytes = vec![first];
    match payload.len() {
        len @ 0..126 => bytes.push(len as u8),
        len @ 126..65_536 => {
            bytes.push(126);
            bytes.extend_from_slice(&(len as u16).to_be_bytes());
        }
        len => {
            bytes.push(127);
            bytes.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    bytes.extend_from_slice(payload);
    bytes
}

/// A frame as a hostile server writes it: any first byte, a mask or not, a length in any of
/// the three encodings (2^63, `u64::MAX`, lengths that disagree with the payload), a payload.
fn hostile_frame() -> impl Strategy<Value = Vec<u8>> {
    let length = prop_oneof![
        (0u8..126).prop_map(|len| vec![len]),
        any::<u16>().prop_map(|len| [&[126][..], &len.to_be_bytes()].concat()),
        prop_oneof![
            prop::sample::select(vec![
                0u64,
                125,
                126,
                65_535,
                65_536,
                1 << 20,
                1 << 63,
                u64::MAX
            ]),
            any::<u64>(),
        ]
        .prop_map(|len| [&[127][..], &len.to_be_bytes()].concat()),
    ];
    (
        prop_oneof![
            prop::sample::select(vec![
                0x81u8, 0x82, 0x01, 0x02, 0x00, 0x80, 0x88, 0x89, 0x8a, 0x09
            ]),
            any::<u8>(),
        ],
        any::<bool>(),
        length,
        prop::collection::vec(any::<u8>(), 0..300),
    )
        .prop_map(|(first, masked, mut length, payload)| {
            if masked {
                length[0] |= 0x80;
            }
            let mut bytes = vec![first];
            bytes.extend(length);
            if masked {
                bytes.extend_from_slice(&[1, 2, 3, 4]);
            }
            bytes.extend(payload);
            bytes
        })
}

/// A message and the frames that carry it: its payload cut in fragments, a ping after some.
fn fragmented() -> impl Strategy<Value = (Message, Vec<u8>)> {
    let payload = prop_oneof![
        "\\PC{0,300}".prop_map(|text| (true, text.into_bytes())),
        prop::collection::vec(any::<u8>(), 0..3_000).prop_map(|bytes| (false, bytes)),
    ];
    (
        payload,
        prop::collection::vec(any::<prop::sample::Index>(), 0..4),
        prop::collection::vec(any::<bool>(), 4),
    )
        .prop_map(|((text, payload), cuts, pings)| {
            let fragments = cut(&payload, &cuts);
            let last = fragments.len() - 1;
            let mut bytes = Vec::new();
            for (i, fragment) in fragments.iter().enumerate() {
                let opcode = match (i, text) {
                    (0, true) => 0x1,
                    (0, false) => 0x2,
                    _ => 0x0,
                };
                let fin = if i == last { 0x80 } else { 0 };
                bytes.extend(frame(fin | opcode, fragment));
                if pings[i % pings.len()] {
                    bytes.extend(frame(0x89, b"ping"));
                }
            }
            let message = match text {
                true => Message::text(String::from_utf8(payload).unwrap()),
                false => Message::binary(payload),
            };
            (message, bytes)
        })
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
    fn any_frames_end_in_messages_or_an_error_within_bounds(
        frames in prop::collection::vec(hostile_frame(), 0..6),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..7),
    ) {
        let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
        let (messages, _, peak) = feeder().receive(frames.concat(), cuts);
        prop_assert!(peak < MOST_PER_CASE, "{peak} bytes");
        prop_assert!(messages.iter().all(|message| message.len() <= MAX_MESSAGE));
    }

}

proptest! {
    // Each case carries a few KB through a real socket in pieces, pauses between them: fewer.
    #![proptest_config(props::cases(1_000))]

    #[test]
    fn fragmented_messages_arrive_whole_and_in_order(
        sent in prop::collection::vec(fragmented(), 0..5),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..7),
    ) {
        let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
        let frames: Vec<u8> = sent.iter().flat_map(|(_, bytes)| bytes.clone()).collect();
        let (messages, error, _) = feeder().receive(frames, cuts);
        let expected: Vec<Message> = sent.into_iter().map(|(message, _)| message).collect();
        prop_assert_eq!(messages, expected);
        // The server closed without a close handshake.
        prop_assert_eq!(error.kind(), std::io::ErrorKind::UnexpectedEof, "{}", error);
    }
}

proptest! {
    #![proptest_config(props::cases(2_000))]

    #[test]
    fn any_text_is_a_websocket_url_or_refused(
        url in prop_oneof![
            "(ws|wss|http|WS)?(://)?[a-z0-9.:\\[\\]@%-]{0,20}(/[ -~]{0,20})?",
            "\\PC{0,40}",
        ],
    ) {
        if let Err(error) = ws::request(&url) {
            prop_assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
        }
    }

    #[test]
    fn a_well_formed_websocket_url_is_taken_as_written(
        secure in any::<bool>(),
        host in "[a-z][a-z0-9-]{0,10}(\\.[a-z][a-z0-9-]{0,10}){0,3}",
        port in prop::option::of(1u16..),
        path in "(/[A-Za-z0-9._~-]{0,10}){0,4}",
        query in prop::option::of("[A-Za-z0-9=&-]{0,20}"),
    ) {
        let scheme = if secure { "wss" } else { "ws" };
        let port_part = port.map(|port| format!(":{port}")).unwrap_or_default();
        let query_part = query.as_ref().map(|query| format!("?{query}")).unwrap_or_default();
        let url = format!("{scheme}://{host}{port_part}{path}{query_part}");
        let request = ws::request(&url).unwrap();
        prop_assert_eq!(request.uri().host(), Some(host.as_str()));
        prop_assert_eq!(request.uri().port_u16(), port);
        let expected_path = if path.is_empty() { "/" } else { path.as_str() };
        prop_assert_eq!(request.uri().path(), expected_path);
        prop_assert_eq!(request.uri().query(), query.as_deref());
    }
}
