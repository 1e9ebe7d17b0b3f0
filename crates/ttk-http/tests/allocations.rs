//! A kept-alive connection allocates nothing per request once its buffers have grown.

mod util;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io;
use std::time::Duration;

use ttk_core::Cx;
use ttk_http::{HttpConnection, Request};
use ttk_macros::bot;
use util::Server;

thread_local! {
    /// Allocations made by this thread.
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

/// The system allocator, counting allocations per thread (the server's threads count apart).
struct Counting;

// SAFETY: every call is forwarded unchanged to the system allocator, which upholds the
// `GlobalAlloc` contract; the counter is a thread-local `Cell` that never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|count| count.set(count.get() + 1));
        // SAFETY: the caller's `layout` obligations are passed on as they are.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` with `layout` (every allocation goes there).
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.with(|count| count.set(count.get() + 1));
        // SAFETY: as for `dealloc`, and the caller's `new_size` obligations are passed on.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Allocations so far on this thread.
fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

/// Sends `request` 10 times to warm up, then 1,000 times counting the allocations of each
/// send and of reading its response.
#[bot(crate = ttk_core)]
fn steady(_cx: Cx, _id: usize, addr: String, request: Request) -> io::Result<u64> {
    let at_start = allocations();
    let mut http = ttk_core::yield_!(HttpConnection::connect(&addr))?;
    // Connecting allocates (the host name, the address list): the counter counts.
    assert!(allocations() > at_start);
    let mut during = 0;
    for round in 0..1_010 {
        let before = allocations();
        let response = ttk_core::yield_!(http.send(&request))?;
        assert_eq!((response.status(), response.body()), (200, &b"hello"[..]));
        assert_eq!(response.header("x-server"), Some("test"));
        if round >= 10 {
            during += allocations() - before;
        }
    }
    assert_eq!(http.connections_opened(), 1);
    Ok(during)
}

fn allocations_in_steady_state(response: &'static [u8], request: Request) -> u64 {
    let server = Server::canned(response);
    let addr = server.addr.clone();
    ttk_core::run(1, move |cx, id| {
        steady(cx, id, addr.clone(), request.clone())
    })
    .pop()
    .unwrap()
    .unwrap()
}

#[test]
fn a_content_length_exchange_allocates_nothing() {
    let response = b"HTTP/1.1 200 OK\r\nX-Server: test\r\nContent-Length: 5\r\n\r\nhello";
    assert_eq!(allocations_in_steady_state(response, Request::get("/")), 0);
}

#[test]
fn a_chunked_exchange_with_a_post_body_allocates_nothing() {
    let response =
        b"HTTP/1.1 200 OK\r\nX-Server: test\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhe\r\n3\r\nllo\r\n0\r\n\r\n";
    let request = Request::post("/score").header("X-Bot", "1").body("42");
    assert_eq!(allocations_in_steady_state(response, request), 0);
}

#[test]
fn a_request_timeout_allocates_nothing() {
    let response = b"HTTP/1.1 200 OK\r\nX-Server: test\r\nContent-Length: 5\r\n\r\nhello";
    let request = Request::get("/").timeout(Duration::from_secs(5));
    assert_eq!(allocations_in_steady_state(response, request), 0);
}
