//! A semaphore paces connects through a listen backlog of ten, for real (its scheduling among
//! bots is tested in ttk-core's `semaphore.rs`).

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ttk::net::TcpStream;
use ttk::{Cx, RunEnd, Runtime, Semaphore};

// ---- Pacing connects through a small listen backlog, for real ----

/// The listen backlog of the server: its kernel queue holds about this many connections it
/// has not accepted yet, and drops further handshakes.
const BACKLOG: i32 = 10;
/// How long a bot waits for its connect, and then for the answer.
const LIMIT: Duration = Duration::from_millis(500);

/// A slow server on loopback: a listener with a backlog of [`BACKLOG`], whose thread accepts at
/// most one connection per millisecond, answers `ok` to its `hi`, and holds it open 20 ms.
struct SlowServer {
    /// Where it listens.
    addr: SocketAddr,
    /// Tells the thread to stop.
    stop: Arc<AtomicBool>,
    /// Connections answered.
    served: Arc<AtomicUsize>,
    /// The thread.
    thread: Option<JoinHandle<()>>,
}

impl SlowServer {
    fn start() -> SlowServer {
        use socket2::{Domain, Socket, Type};
        let socket = Socket::new(Domain::IPV4, Type::STREAM, None).expect("a socket");
        let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
        socket.bind(&addr.into()).expect("bind a loopback port");
        socket.listen(BACKLOG).expect("listen");
        let listener = TcpListener::from(socket);
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let served = Arc::new(AtomicUsize::new(0));
        let thread = std::thread::spawn({
            let (stop, served) = (Arc::clone(&stop), Arc::clone(&served));
            move || serve_slowly(&listener, &stop, &served)
        });
        SlowServer {
            addr,
            stop,
            served,
            thread: Some(thread),
        }
    }
}

impl Drop for SlowServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The server thread's loop.
fn serve_slowly(listener: &TcpListener, stop: &AtomicBool, served: &AtomicUsize) {
    let mut held = std::collections::VecDeque::new();
    while !stop.load(Ordering::Relaxed) {
        while held
            .front()
            .is_some_and(|(since, _)| Instant::elapsed(since) > Duration::from_millis(20))
        {
            held.pop_front();
        }
        let Ok((mut stream, _)) = listener.accept() else {
            std::thread::sleep(Duration::from_millis(1));
            continue;
        };
        let _ = stream.set_nonblocking(false);
        let _ = stream.set_read_timeout(Some(Duration::from_millis(100)));
        let mut request = [0; 2];
        if stream.read_exact(&mut request).is_ok()
            && &request == b"hi"
            && stream.write_all(b"ok").is_ok()
        {
            served.fetch_add(1, Ordering::Relaxed);
        }
        held.push_back((Instant::now(), stream));
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Connects (within [`LIMIT`]), says `hi`, reads `ok` (within [`LIMIT`]) — holding a permit of
/// `sem` throughout, if given one.
#[ttk::bot]
fn exchange(_cx: Cx, _id: usize, addr: SocketAddr, sem: Option<Semaphore>) -> io::Result<()> {
    let _permit = match &sem {
        Some(sem) => Some(ttk::yield_!(sem.acquire())),
        None => None,
    };
    let stream = ttk::yield_!(ttk::timeout(LIMIT, TcpStream::connect(addr)))??;
    ttk::yield_!(stream.write_all(b"hi"))?;
    let mut answer = [0; 2];
    ttk::yield_!(ttk::timeout(LIMIT, stream.read_exact(&mut answer)))??;
    assert_eq!(&answer, b"ok");
    Ok(())
}

/// Runs 1,000 bots against a slow server; returns how many failed.
fn thousand_connects(sem: Option<Semaphore>) -> usize {
    const BOTS: usize = 1_000;
    let server = SlowServer::start();
    let started = Instant::now();
    let report = Runtime::new()
        .deadline(Duration::from_secs(30))
        .execute(BOTS, |cx, id| exchange(cx, id, server.addr, sem.clone()));
    assert_ne!(report.end, RunEnd::DeadlineReached, "the run hung");
    let failed = report
        .outcomes
        .iter()
        .filter(|outcome| !matches!(outcome, Ok(Ok(()))))
        .count();
    let served = server.served.load(Ordering::Relaxed);
    drop(server);
    eprintln!(
        "{BOTS} connects, paced: {}: {failed} failed, {served} served, in {:?}",
        sem.is_some(),
        started.elapsed()
    );
    failed
}

/// The two pacing tests share the loopback; one at a time keeps each one's timing its own.
fn one_flood_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[test]
fn ten_permits_pace_a_thousand_connects_through_a_backlog_of_ten() {
    let _alone = one_flood_at_a_time();
    let sem = Semaphore::new(10);
    assert_eq!(thousand_connects(Some(sem.clone())), 0);
    assert_eq!((sem.available(), sem.waiting()), (10, 0));
}

#[test]
fn without_pacing_a_thousand_connects_overflow_the_backlog() {
    // The control: what the semaphore is for. Handshakes the full backlog drops are retried by
    // the kernel after a second, far past the limit.
    let _alone = one_flood_at_a_time();
    let failed = thousand_connects(None);
    assert!(
        failed > 100,
        "only {failed} of 1,000 failed: the backlog did not overflow"
    );
}
