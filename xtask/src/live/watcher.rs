//! A reader of a run's live view, as a browser tab and a Prometheus make one: every second it
//! fetches `/live` and `/status` (what the page polls) and `/metrics` (a scrape), on a thread of
//! its own, until stopped. Each fetch is a plain HTTP/1.1 request on a connection of its own (the
//! live server closes each).

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The paths fetched each second.
const PATHS: [&str; 3] = ["/live", "/status", "/metrics"];
/// How long one fetch may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// What the watcher saw.
#[derive(Clone, Debug, Default)]
pub(crate) struct Watched {
    /// Fetches answered `200 OK`, of each path in [`PATHS`]' order.
    pub(crate) ok: [u64; 3],
    /// Fetches that failed (no connection, not 200), with the first reason.
    pub(crate) failed: u64,
    /// Why the first failed fetch failed.
    pub(crate) first_failure: Option<String>,
    /// The largest `/live` answer, in bytes.
    pub(crate) largest_live_bytes: usize,
}

impl Watched {
    /// Scrapes of `/metrics` answered.
    pub(crate) fn scrapes(&self) -> u64 {
        self.ok[2]
    }
}

/// A watcher running on its own thread.
pub(crate) struct Watcher {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<Watched>,
}

impl Watcher {
    /// Starts watching the live server at `addr` (`127.0.0.1:PORT`); fetches fail until it
    /// listens, which the first second's failures show.
    pub(crate) fn start(addr: String) -> Watcher {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let mut watched = Watched::default();
            // The run needs a moment to listen: the first fetches wait for it.
            let mut next = Instant::now() + Duration::from_millis(500);
            while !stopped.load(Ordering::Relaxed) {
                let now = Instant::now();
                if now < next {
                    std::thread::sleep((next - now).min(Duration::from_millis(50)));
                    continue;
                }
                next += Duration::from_secs(1);
                for (slot, path) in PATHS.iter().enumerate() {
                    match fetch(&addr, path) {
                        Ok(body) => {
                            watched.ok[slot] += 1;
                            if *path == "/live" {
                                watched.largest_live_bytes =
                                    watched.largest_live_bytes.max(body.len());
                            }
                        }
                        Err(error) => {
                            watched.failed += 1;
                            watched
                                .first_failure
                                .get_or_insert_with(|| format!("{path}: {error}"));
                        }
                    }
                }
            }
            watched
        });
        Watcher { stop, thread }
    }

    /// Stops watching; what it saw.
    pub(crate) fn stop(self) -> Watched {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().unwrap_or_default()
    }
}

/// `GET path` from `addr`: the body of a `200 OK`, else why not.
fn fetch(addr: &str, path: &str) -> Result<Vec<u8>, String> {
    let mut stream = TcpStream::connect(addr).map_err(|error| error.to_string())?;
    stream
        .set_read_timeout(Some(FETCH_TIMEOUT))
        .map_err(|error| error.to_string())?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .map_err(|error| error.to_string())?;
    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .map_err(|error| error.to_string())?;
    let head_end = response
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .ok_or("no response head")?;
    let status_line = String::from_utf8_lossy(&response[..head_end]);
    let status_line = status_line.lines().next().unwrap_or_default();
    if !status_line.starts_with("HTTP/1.1 200") {
        return Err(format!("answered {status_line:?}"));
    }
    Ok(response.split_off(head_end + 4))
}

/// A free loopback address for a run's live server: bound, let go, handed over.
pub(crate) fn free_addr() -> Result<String, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")
        .map_err(|error| format!("cannot find a free port: {error}"))?;
    let addr = listener
        .local_addr()
        .map_err(|error| format!("cannot find a free port: {error}"))?;
    Ok(addr.to_string())
}
