//! What HTTP/2 costs in memory, against a real nginx over h2c: allocations per request in
//! steady state (h2 allocates per stream: its header maps, its stream state; this counts
//! them), and heap per idle connection beside HTTP/1.1's. Printed (the README quotes them) and
//! held under bounds a regression would cross.

mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::Write as _;

use support::nginx::Nginx;
use ttk_core::Cx;
use ttk_http::http2::Http2Connection;
use ttk_http::{HttpConnection, Request};
use ttk_macros::bot;

thread_local! {
    /// Allocations made by this thread.
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
    /// Bytes this thread holds (allocated minus freed by it).
    static LIVE: Cell<i64> = const { Cell::new(0) };
    /// The most [`LIVE`] has been since it was last reset.
    static PEAK: Cell<i64> = const { Cell::new(0) };
}

/// Adds `bytes` to the live count, keeping the peak.
fn live_add(bytes: i64) {
    let live = LIVE.with(|live| {
        live.set(live.get() + bytes);
        live.get()
    });
    PEAK.with(|peak| peak.set(peak.get().max(live)));
}

/// The system allocator, counting allocations and live bytes per thread (nginx is another
/// process; the test's bots run on the test's thread).
struct Counting;

// SAFETY: every call is forwarded unchanged to the system allocator, which upholds the
// `GlobalAlloc` contract; the counters are thread-local `Cell`s that never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|count| count.set(count.get() + 1));
        live_add(layout.size() as i64);
        // SAFETY: the caller's `layout` obligations are passed on as they are.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        live_add(-(layout.size() as i64));
        // SAFETY: `ptr` was allocated by `System` with `layout` (every allocation goes there).
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.with(|count| count.set(count.get() + 1));
        live_add(new_size as i64 - layout.size() as i64);
        // SAFETY: as for `dealloc`, and the caller's `new_size` obligations are passed on.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// nginx serving a 13-byte body over h2c and HTTP/1.1, on two servers of one port each.
const HTTP: &str = r#"
    default_type text/plain;
    access_log off;
    keepalive_requests 1000000;
    server {
        listen 127.0.0.1:{port} http2;
        root {dir}/www;
        location = / { return 200 "Hello, World!"; }
    }
"#;

/// Requests counted, after the warm-up.
const REQUESTS: u64 = 4_000;
/// Requests in flight.
const DEPTH: usize = 10;
/// Idle connections held at once.
const IDLE: usize = 200;

/// Allocations per request over h2c with [`DEPTH`] in flight, after a warm-up.
#[bot(crate = ttk_core)]
fn per_request(_cx: Cx, _id: usize, url: String) -> std::io::Result<f64> {
    let mut h2c = ttk_core::yield_!(Http2Connection::connect(&url))?;
    ttk_core::yield_!(run(&mut h2c, 500))?;
    let before = ALLOCATIONS.with(Cell::get);
    ttk_core::yield_!(run(&mut h2c, REQUESTS))?;
    let after = ALLOCATIONS.with(Cell::get);
    Ok((after - before) as f64 / REQUESTS as f64)
}

/// Sends `count` requests on `h2c`, [`DEPTH`] in flight.
async fn run(h2c: &mut Http2Connection, count: u64) -> std::io::Result<()> {
    let request = Request::get("/").discard_body(true);
    let mut started = 0;
    while started < (DEPTH as u64).min(count) {
        h2c.start(&request);
        started += 1;
    }
    while let Some((_, result)) = h2c.next().await {
        result?;
        if started < count {
            h2c.start(&request);
            started += 1;
        }
    }
    Ok(())
}

/// Heap bytes per idle connection: [`IDLE`] connections each answered once, then held.
#[bot(crate = ttk_core)]
fn per_idle_connection(_cx: Cx, _id: usize, addr: String, http2: bool) -> std::io::Result<f64> {
    let request = Request::get("/").discard_body(true);
    let before = LIVE.with(Cell::get);
    let mut twos = Vec::new();
    let mut ones = Vec::new();
    for _ in 0..IDLE {
        if http2 {
            let mut h2c = ttk_core::yield_!(Http2Connection::connect(&format!("http://{addr}/")))?;
            ttk_core::yield_!(h2c.send(&request))?;
            twos.push(h2c);
        } else {
            let mut http = ttk_core::yield_!(HttpConnection::connect(&addr))?;
            ttk_core::yield_!(http.send(&request))?;
            ones.push(http);
        }
    }
    let held = LIVE.with(Cell::get) - before;
    Ok(held as f64 / IDLE as f64)
}

/// The size of the large file.
const LARGE: usize = 64 * 1024 * 1024;

/// Fetches the large file twice: discarded as it comes (its length, and the most heap held
/// above the start meanwhile), then kept (over the 16 MiB limit: its error's kind).
#[bot(crate = ttk_core)]
fn large(_cx: Cx, _id: usize, url: String) -> std::io::Result<(u64, i64, std::io::ErrorKind)> {
    let mut h2c = ttk_core::yield_!(Http2Connection::connect(&url))?;
    let start = LIVE.with(Cell::get);
    PEAK.with(|peak| peak.set(start));
    let discarded = ttk_core::yield_!(h2c.send(&Request::get("/large.bin").discard_body(true)))?;
    let held = PEAK.with(Cell::get) - start;
    let kept = ttk_core::yield_!(h2c.send(&Request::get("/large.bin")));
    Ok((discarded.body_len(), held, kept.unwrap_err().kind()))
}

#[test]
fn a_large_body_is_counted_in_bounded_memory_or_refused_over_the_limit() {
    let Some(nginx) = Nginx::start(&support::nginx::config(1024, HTTP), |dir| {
        std::fs::write(dir.join("www/large.bin"), vec![7u8; LARGE]).unwrap();
    }) else {
        return;
    };
    let url = format!("http://{}/", nginx.addr);
    let (len, held, kept) = ttk_core::run(1, move |cx, id| large(cx, id, url.clone()))
        .remove(0)
        .unwrap();
    assert_eq!(len, LARGE as u64);
    // The windows let the server run 16 MiB ahead; the driver reads as bytes come, so far
    // less is held at once.
    assert!(
        held < 4 * 1024 * 1024,
        "{held} bytes held for a discarded 64 MiB body"
    );
    assert_eq!(
        kept,
        std::io::ErrorKind::InvalidData,
        "over the 16 MiB limit"
    );
    let _ = writeln!(
        std::io::stderr(),
        "a discarded 64 MiB body over h2c: at most {:.0} KiB of heap held",
        held as f64 / 1024.0
    );
}

#[test]
fn allocations_per_request_and_memory_per_idle_connection() {
    let Some(nginx) = Nginx::start(&support::nginx::config(1024, HTTP), |_| {}) else {
        return;
    };
    let url = format!("http://{}/", nginx.addr);
    let per_request = ttk_core::run(1, move |cx, id| per_request(cx, id, url.clone()))
        .remove(0)
        .unwrap();
    let addr = nginx.addr.clone();
    let idle_h2 = ttk_core::run(1, move |cx, id| {
        per_idle_connection(cx, id, addr.clone(), true)
    })
    .remove(0)
    .unwrap();
    drop(nginx);
    // HTTP/1.1 beside it: the same nginx config without http2.
    let plain = HTTP.replace(" http2;", ";");
    let Some(nginx) = Nginx::start(&support::nginx::config(1024, &plain), |_| {}) else {
        return;
    };
    let addr = nginx.addr.clone();
    let idle_h1 = ttk_core::run(1, move |cx, id| {
        per_idle_connection(cx, id, addr.clone(), false)
    })
    .remove(0)
    .unwrap();
    let _ = writeln!(
        std::io::stderr(),
        "HTTP/2 (h2c, {DEPTH} in flight): {per_request:.1} allocations per request; heap per \
         idle connection: HTTP/2 {:.1} KiB, HTTP/1.1 {:.1} KiB",
        idle_h2 / 1024.0,
        idle_h1 / 1024.0
    );
    // Bounds a regression would cross (measured: see the README's HTTP/2 section).
    assert!(per_request < 40.0, "{per_request} allocations per request");
    assert!(
        idle_h2 < 64.0 * 1024.0,
        "{idle_h2} bytes per idle HTTP/2 connection"
    );
    assert!(idle_h1 > 0.0);
}
