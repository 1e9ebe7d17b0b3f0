//! What a `ws::WebSocket` costs in memory, counted by an allocator that keeps, per thread, the
//! bytes allocated and not yet freed, and their peak: a big message in flight costs about its
//! size, once, on either side, and leaves no big buffer behind; small messages allocate nothing
//! once the buffers have grown.
//!
//! Each test measures one side on the test's thread; the peer runs on a thread of its own (its
//! allocations are counted apart).

mod util;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use ttk_http::ws::{Message, WebSocket};
use ttk_net::{TcpListener, TcpStream};
use util::ws::{ThreadServer, in_bot, ttk_echo_server};

thread_local! {
    /// Bytes allocated by this thread and not yet freed (by it: a peer's are its own).
    static LIVE: Cell<isize> = const { Cell::new(0) };
    /// The most `LIVE` has been since the last [`reset_peak`].
    static PEAK: Cell<isize> = const { Cell::new(0) };
    /// Allocations (and reallocations) made by this thread.
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

/// Records that this thread's live bytes changed by `change`, by an allocation if `allocated`.
fn record(change: isize, allocated: bool) {
    let live = LIVE.with(|live| {
        live.set(live.get() + change);
        live.get()
    });
    PEAK.with(|peak| peak.set(peak.get().max(live)));
    if allocated {
        ALLOCATIONS.with(|count| count.set(count.get() + 1));
    }
}

/// The system allocator, counting per thread.
struct Counting;

// SAFETY: every call is forwarded unchanged to the system allocator, which upholds the
// `GlobalAlloc` contract; the counters are thread-local `Cell`s that never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        record(layout.size() as isize, true);
        // SAFETY: the caller's `layout` obligations are passed on as they are.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        record(-(layout.size() as isize), false);
        // SAFETY: `ptr` was allocated by `System` with `layout` (every allocation goes there).
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        record(new_size as isize - layout.size() as isize, true);
        // SAFETY: as for `dealloc`, and the caller's `new_size` obligations are passed on.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Bytes this thread has allocated and not freed.
fn live() -> isize {
    LIVE.with(Cell::get)
}

/// Starts a new peak at the live bytes now.
fn reset_peak() {
    PEAK.with(|peak| peak.set(live()));
}

/// The most bytes live since the last [`reset_peak`].
fn peak() -> isize {
    PEAK.with(Cell::get)
}

/// Allocations so far on this thread.
fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

/// The size of the big message.
const BIG: usize = 1 << 20;
/// The most a big message in flight may cost beyond itself: a quarter of its size (the read
/// buffer it is received into rounds up a little; before, it cost three times its size).
const BIG_SLACK: isize = BIG as isize / 4;
/// The most a connection may keep once a big message is gone: its write buffer grown to one
/// write's chunk (8 KiB) and some change (before, it kept three buffers of the message's size).
const LEFT_AFTER_BIG: isize = 16 * 1024;

/// A tungstenite client on a thread of its own: connects to `url`, sends each of `messages` and
/// reads its echo, then closes. Its reads time out, so a server that goes wrong fails the
/// test instead of hanging it.
fn blocking_client(url: String, messages: Vec<Message>) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        let (mut ws, _) = tungstenite::connect(url).unwrap();
        if let tungstenite::stream::MaybeTlsStream::Plain(socket) = ws.get_ref() {
            socket
                .set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
        }
        for message in messages {
            ws.send(message.clone()).unwrap();
            assert_eq!(ws.read().unwrap(), message);
        }
        ws.close(None).unwrap();
        while ws.read().is_ok() {}
    })
}

/// A server bot on this thread for one `blocking_client` sending `messages`: accepts, then
/// runs `serve` on the connection. Returns what `serve` returned.
fn serve_one<T: 'static>(
    messages: Vec<Message>,
    serve: impl AsyncFnOnce(&mut WebSocket<TcpStream>) -> T + 'static,
) -> T {
    let (client_tx, client_rx) = mpsc::channel();
    let outcome = in_bot(async move || {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("ws://{}/", listener.local_addr().unwrap());
        client_tx.send(blocking_client(url, messages)).unwrap();
        let (stream, _) = listener.accept().await.unwrap();
        let mut ws = WebSocket::accept(stream).await.unwrap();
        let outcome = serve(&mut ws).await;
        assert!(ws.receive().await.unwrap().is_close());
        outcome
    });
    client_rx.recv().unwrap().join().unwrap();
    outcome
}

/// Asserts what a big message cost: at most `BIG_SLACK` beyond itself at its peak, at most
/// `LEFT_AFTER_BIG` once gone.
fn assert_cost(side: &str, (peak, left): (isize, isize)) {
    assert!(
        peak <= BIG as isize + BIG_SLACK,
        "the {side}'s peak with a {BIG}-byte message in flight was {peak} bytes ({:.2}x)",
        peak as f64 / BIG as f64
    );
    assert!(
        left <= LEFT_AFTER_BIG,
        "the {side} kept {left} bytes once the {BIG}-byte message was gone"
    );
}

#[test]
fn a_client_sending_and_receiving_a_big_message_holds_it_once_and_keeps_no_big_buffer() {
    let url = ttk_echo_server();
    let cost = in_bot(async move || {
        let mut ws = WebSocket::connect(&url).await.unwrap();
        ws.send_text("warm up").await.unwrap();
        ws.receive().await.unwrap();
        let before = live();
        reset_peak();
        let message = Message::Binary(vec![7; BIG].into());
        ws.send(message).await.unwrap();
        let echo = ws.receive().await.unwrap().into_data();
        assert!(echo.len() == BIG && echo.iter().all(|byte| *byte == 7));
        drop(echo);
        let cost = (peak() - before, live() - before);
        // Still a working connection.
        ws.send_text("after").await.unwrap();
        assert_eq!(ws.receive().await.unwrap(), Message::text("after"));
        ws.close(None).await.unwrap();
        cost
    });
    assert_cost("client", cost);
}

#[test]
fn a_server_echoing_a_big_message_holds_it_once_and_keeps_no_big_buffer() {
    let messages = vec![
        Message::text("warm up"),
        Message::Binary(vec![9; BIG].into()),
        Message::text("after"),
    ];
    let cost = serve_one(messages, async |ws| {
        let warm_up = ws.receive().await.unwrap();
        ws.send(warm_up).await.unwrap();
        let before = live();
        reset_peak();
        let big = ws.receive().await.unwrap();
        assert_eq!(big.len(), BIG);
        ws.send(big).await.unwrap();
        let cost = (peak() - before, live() - before);
        let after = ws.receive().await.unwrap();
        ws.send(after).await.unwrap();
        cost
    });
    assert_cost("server", cost);
}

#[test]
fn a_big_fragmented_message_sent_with_the_handshakes_answer_leaves_no_big_buffer() {
    use tungstenite::protocol::frame::Frame;
    use tungstenite::protocol::frame::coding::{Data, OpCode};
    // The client's first read holds the 101 answer, a ping and the start of a message in two
    // big fragments, with another ping between them.
    let half = |opcode, last| Frame::message(vec![5; BIG / 2], OpCode::Data(opcode), last);
    let server = ThreadServer::answering_with(vec![
        Frame::ping(vec![1]),
        half(Data::Binary, false),
        Frame::ping(vec![2]),
        half(Data::Continue, true),
        Frame::message("after", OpCode::Data(Data::Text), true),
    ]);
    let url = server.url.clone();
    let cost = in_bot(async move || {
        let mut ws = WebSocket::connect(&url).await.unwrap();
        let before = live();
        reset_peak();
        assert!(ws.receive().await.unwrap().is_ping());
        assert!(ws.receive().await.unwrap().is_ping());
        let big = ws.receive().await.unwrap().into_data();
        assert!(big.len() == BIG && big.iter().all(|byte| *byte == 5));
        drop(big);
        let cost = (peak() - before, live() - before);
        assert_eq!(ws.receive().await.unwrap(), Message::text("after"));
        ws.close(None).await.unwrap();
        cost
    });
    // Received in fragments, the message is put together in a buffer that doubles as it grows.
    assert!(cost.0 <= 2 * BIG as isize + BIG_SLACK, "peak {}", cost.0);
    assert!(cost.1 <= LEFT_AFTER_BIG, "kept {} bytes", cost.1);
}

/// Rounds counted after the warm-up.
const ROUNDS: u64 = 1_000;

#[test]
fn a_client_sending_and_receiving_small_messages_allocates_nothing() {
    let url = ttk_echo_server();
    let during = in_bot(async move || {
        let mut ws = WebSocket::connect(&url).await.unwrap();
        let shared = Message::text("a message built once");
        let from_str = Message::text("from a str");
        let mut during = 0;
        for round in 0..ROUNDS + 10 {
            let before = allocations();
            ws.send(shared.clone()).await.unwrap();
            assert_eq!(ws.receive().await.unwrap(), shared);
            ws.send_text("from a str").await.unwrap();
            assert_eq!(ws.receive().await.unwrap(), from_str);
            ws.send_binary(&[1, 2, 3]).await.unwrap();
            assert_eq!(ws.receive().await.unwrap().into_data(), [1, 2, 3][..]);
            if round >= 10 {
                during += allocations() - before;
            }
        }
        ws.close(None).await.unwrap();
        during
    });
    // A structure of the loop growing once is not a cost per message; one per message is 1,000.
    assert!(during <= 3, "{during} allocations in {ROUNDS} rounds");
}

#[test]
fn a_server_echoing_small_messages_allocates_nothing() {
    let messages = (0..ROUNDS + 10)
        .map(|i| Message::binary(i.to_be_bytes().to_vec()))
        .collect();
    let during = serve_one(messages, async |ws| {
        let mut during = 0;
        for round in 0..ROUNDS + 10 {
            let before = allocations();
            let message = ws.receive().await.unwrap();
            ws.send(message).await.unwrap();
            if round >= 10 {
                during += allocations() - before;
            }
        }
        during
    });
    assert!(during <= 3, "{during} allocations in {ROUNDS} rounds");
}

#[test]
fn the_counting_allocator_counts_what_this_thread_holds() {
    let before = live();
    reset_peak();
    let held = vec![0_u8; 1000];
    assert!(live() - before >= 1000 && peak() - before >= 1000);
    drop(held);
    assert_eq!(live(), before);
}
