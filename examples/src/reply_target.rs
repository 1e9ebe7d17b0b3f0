//! A line-reply server whose reply times are known: a target for checking what ttk measures.
//!
//! Each connection gets a thread (plain `std`, no ttk, so a ttk bug cannot hide behind a
//! matching one here). Every line received is answered with the same line once the
//! [`ReplyPolicy`] says so; the server counts what it served and measures, itself, how long
//! each reply was held, so a test can compare ttk's figures with the truth.

use std::io::{self, BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

/// When the server replies to a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplyPolicy {
    /// Every tenth request (the 10th, 20th… the server receives) after `slow`, the others
    /// after `fast`.
    KnownDelays {
        /// The delay of nine requests in ten.
        fast: Duration,
        /// The delay of the tenth.
        slow: Duration,
    },
    /// At once, except that for `stall` out of every `period` (at the end of each period,
    /// counted from the server's start) it holds every reply until the stall ends — as a
    /// server does during a garbage-collection pause or a blocked event loop.
    Stalls {
        /// How often a stall comes.
        period: Duration,
        /// How long it lasts.
        stall: Duration,
    },
}

impl ReplyPolicy {
    /// How long to hold the reply to request number `n` (from 1) received at `since_start`.
    fn hold(&self, n: u64, since_start: Duration) -> Duration {
        match *self {
            ReplyPolicy::KnownDelays { fast, slow } => match n % 10 {
                0 => slow,
                _ => fast,
            },
            ReplyPolicy::Stalls { period, stall } => {
                let into_period = Duration::from_nanos(
                    (since_start.as_nanos() % period.as_nanos().max(1)) as u64,
                );
                let stall_starts = period.saturating_sub(stall);
                match into_period >= stall_starts {
                    true => period - into_period,
                    false => Duration::ZERO,
                }
            }
        }
    }
}

/// What the server saw, shared with its threads.
#[derive(Debug)]
pub struct ReplyTarget {
    addr: SocketAddr,
    served: AtomicU64,
    received: AtomicU64,
    held: Mutex<Histogram<u64>>,
    stopped: AtomicBool,
}

impl ReplyTarget {
    /// Starts the server on 127.0.0.1 (any port) on its own threads.
    ///
    /// # Errors
    /// If it cannot listen.
    ///
    /// # Examples
    /// ```
    /// use std::io::{BufRead, BufReader, Write};
    /// use std::time::Duration;
    /// use ttk_examples::reply_target::{ReplyPolicy, ReplyTarget};
    ///
    /// let fast = Duration::from_millis(1);
    /// let target = ReplyTarget::spawn(ReplyPolicy::KnownDelays { fast, slow: fast }).unwrap();
    /// let mut client = std::net::TcpStream::connect(target.addr()).unwrap();
    /// client.write_all(b"hi\n").unwrap();
    /// let mut line = String::new();
    /// BufReader::new(&client).read_line(&mut line).unwrap();
    /// assert_eq!(line, "hi\n");
    /// assert_eq!(target.served(), 1);
    /// target.stop();
    /// ```
    pub fn spawn(policy: ReplyPolicy) -> io::Result<Arc<ReplyTarget>> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let target = Arc::new(ReplyTarget {
            addr: listener.local_addr()?,
            served: AtomicU64::new(0),
            received: AtomicU64::new(0),
            held: Mutex::new(
                Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid bounds"),
            ),
            stopped: AtomicBool::new(false),
        });
        let shared = Arc::clone(&target);
        let start = Instant::now();
        thread::Builder::new()
            .name("reply-target".into())
            .spawn(move || {
                for stream in listener.incoming() {
                    if shared.stopped.load(Ordering::SeqCst) {
                        return;
                    }
                    let Ok(stream) = stream else { continue };
                    let shared = Arc::clone(&shared);
                    let spawned = thread::Builder::new()
                        .name("reply-connection".into())
                        .stack_size(64 * 1024)
                        .spawn(move || {
                            let _ = shared.serve(stream, policy, start);
                        });
                    if spawned.is_err() {
                        eprintln!("reply target: no thread for a connection");
                    }
                }
            })?;
        Ok(target)
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Replies written in full.
    pub fn served(&self) -> u64 {
        self.served.load(Ordering::SeqCst)
    }

    /// How long the server held each reply before writing it, in microseconds, as it measured
    /// them (a reply whose write failed is in here too, though not in [`served`](Self::served)).
    pub fn held(&self) -> Histogram<u64> {
        self.held
            .lock()
            .expect("no thread panics holding it")
            .clone()
    }

    /// Stops accepting connections (those open are served until their clients close).
    pub fn stop(&self) {
        self.stopped.store(true, Ordering::SeqCst);
        // Wakes the accept loop so that it sees the flag.
        let _ = TcpStream::connect(self.addr);
    }

    fn serve(&self, stream: TcpStream, policy: ReplyPolicy, start: Instant) -> io::Result<()> {
        stream.set_nodelay(true)?;
        let mut writer = stream.try_clone()?;
        let mut reader = BufReader::new(stream);
        let mut line = Vec::new();
        loop {
            line.clear();
            if reader.read_until(b'\n', &mut line)? == 0 {
                return Ok(());
            }
            let received = Instant::now();
            let n = self.received.fetch_add(1, Ordering::SeqCst) + 1;
            let hold = policy.hold(n, received - start);
            let reply_at = received + hold;
            // Sleep may wake early on some systems: wait out the rest.
            while let Some(rest) = reply_at.checked_duration_since(Instant::now()) {
                if rest.is_zero() {
                    break;
                }
                thread::sleep(rest);
            }
            let held = u64::try_from(received.elapsed().as_micros()).unwrap_or(u64::MAX);
            // Counted before the write so that a client holding the reply always finds it
            // counted; a write that fails takes the count back.
            self.held
                .lock()
                .expect("no thread panics holding it")
                .saturating_record(held.max(1));
            self.served.fetch_add(1, Ordering::SeqCst);
            if let Err(error) = writer.write_all(&line) {
                self.served.fetch_sub(1, Ordering::SeqCst);
                return Err(error);
            }
        }
    }
}
