//! Custom transports: register any [`mio::event::Source`] with the running loop and wait for it.
//!
//! `ttk-net`'s sockets are built on this module alone, so a transport it lacks (a Unix socket, a
//! serial line, a pipe to a child process) can be written the same way outside ttk.
//!
//! # Examples
//! A pipe, read by a bot while another thread writes to it:
//! ```
//! # use ttk_macros::bot;
//! # use ttk_core::Cx;
//! use std::io::{Read, Write};
//! use ttk_core::io::IoSource;
//!
//! #[bot(crate = ttk_core)]
//! fn reads_a_pipe(_cx: Cx, _id: usize) -> std::io::Result<Vec<u8>> {
//!     let (mut sender, receiver) = mio::unix::pipe::new()?;
//!     let receiver = IoSource::new(receiver)?;
//!     let writer = std::thread::spawn(move || sender.write_all(b"from a thread"));
//!     let mut buf = [0; 32];
//!     let n = ttk_core::yield_!(receiver.read_with(|mut pipe| pipe.read(&mut buf)))?;
//!     writer.join().unwrap()?;
//!     Ok(buf[..n].to_vec())
//! }
//!
//! assert_eq!(ttk_core::run(1, reads_a_pipe)[0].as_ref().unwrap(), b"from a thread");
//! ```

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::rc::Rc;
use std::task::Poll;

use mio::Token;
use mio::event::Source;

pub use crate::deferred::{at_run_end, bot_seed, in_loop, next_bot_seed, pending_actions, run_at};
pub use crate::extensions::extension;
pub use crate::loop_local::loop_local;
pub use crate::real_clock::RealClock;
pub use crate::time_queue::TimeQueue;
pub use crate::try_now::try_now;

use crate::context::{self, with_loop};
use crate::io_table::Direction;
use crate::loop_state::LoopState;

/// An I/O source registered with the loop of the bot that created it.
///
/// The source is registered once, edge-triggered. Operations try the syscall first; only when it
/// returns `WouldBlock` does the bot park until the selector reports the source ready, so a
/// request/response round trip costs one write, one read and a share of one `epoll_wait`.
/// Dropping an `IoSource` deregisters the source (and drops it, closing its descriptor).
///
/// A source belongs to the run whose bot made it: it cannot leave the run's thread (it is not
/// `Send`), and waited on in another run it fails with an error naming the mistake instead of
/// parking that run's bots on this one's selector.
///
/// # Examples
/// A Unix socket pair, which `ttk-net` does not offer:
/// ```
/// # use ttk_macros::bot;
/// # use ttk_core::Cx;
/// use std::io::{Read, Write};
/// use mio::net::UnixStream;
/// use ttk_core::io::IoSource;
///
/// #[bot(crate = ttk_core)]
/// fn pair(_cx: Cx, _id: usize) -> std::io::Result<Vec<u8>> {
///     let (left, right) = UnixStream::pair()?;
///     let (left, right) = (IoSource::new(left)?, IoSource::new(right)?);
///     ttk_core::yield_!(left.write_with(|mut s| s.write(b"ping")))?;
///     let mut buf = [0; 4];
///     let n = ttk_core::yield_!(right.read_with(|mut s| s.read(&mut buf)))?;
///     Ok(buf[..n].to_vec())
/// }
///
/// assert_eq!(ttk_core::run(1, pair)[0].as_ref().unwrap(), b"ping");
/// ```
pub struct IoSource<S: Source> {
    /// The source; `Option` only so [`IoSource::into_inner`] can take it out before `Drop`.
    source: Option<S>,
    /// Its token in the loop's I/O table.
    token: Token,
    /// The loop it is registered with.
    state: Rc<LoopState>,
}

impl<S: Source> IoSource<S> {
    /// Registers `source` with the running loop, for reading and writing.
    ///
    /// # Errors
    /// What the selector's registration returns (e.g. the source is already registered).
    ///
    /// # Panics
    /// Outside a running loop.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use ttk_core::io::IoSource;
    ///
    /// #[bot(crate = ttk_core)]
    /// fn register(_cx: Cx, _id: usize) -> std::io::Result<bool> {
    ///     let udp = mio::net::UdpSocket::bind("127.0.0.1:0".parse().unwrap())?;
    ///     let udp = IoSource::new(udp)?;
    ///     Ok(udp.get_ref().local_addr()?.ip().is_loopback())
    /// }
    ///
    /// assert!(ttk_core::run(1, register)[0].as_ref().unwrap());
    /// ```
    pub fn new(mut source: S) -> io::Result<Self> {
        let state = with_loop(Rc::clone);
        let token = state.register(&mut source)?;
        Ok(IoSource {
            source: Some(source),
            token,
            state,
        })
    }

    /// The source.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use ttk_core::io::IoSource;
    ///
    /// #[bot(crate = ttk_core)]
    /// fn address(_cx: Cx, _id: usize) -> std::io::Result<bool> {
    ///     let udp = IoSource::new(mio::net::UdpSocket::bind("127.0.0.1:0".parse().unwrap())?)?;
    ///     Ok(udp.get_ref().local_addr()?.port() != 0)
    /// }
    ///
    /// assert!(ttk_core::run(1, address)[0].as_ref().unwrap());
    /// ```
    pub fn get_ref(&self) -> &S {
        self.source
            .as_ref()
            .expect("the source is present until into_inner")
    }

    /// The source, mutably (to set options; do not register it elsewhere).
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use std::io::Write;
    /// use ttk_core::io::IoSource;
    ///
    /// #[bot(crate = ttk_core)]
    /// fn flush(_cx: Cx, _id: usize) -> std::io::Result<()> {
    ///     let (left, _right) = mio::net::UnixStream::pair()?;
    ///     let mut left = IoSource::new(left)?;
    ///     // `Write` takes `&mut self`.
    ///     left.get_mut().write_all(b"x")?;
    ///     left.get_mut().flush()
    /// }
    ///
    /// assert!(ttk_core::run(1, flush)[0].is_ok());
    /// ```
    pub fn get_mut(&mut self) -> &mut S {
        self.source
            .as_mut()
            .expect("the source is present until into_inner")
    }

    /// Deregisters the source and gives it back.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use ttk_core::io::IoSource;
    ///
    /// #[bot(crate = ttk_core)]
    /// fn unregister(_cx: Cx, _id: usize) -> std::io::Result<mio::net::UdpSocket> {
    ///     let udp = IoSource::new(mio::net::UdpSocket::bind("127.0.0.1:0".parse().unwrap())?)?;
    ///     // No longer the loop's: the socket can leave the run.
    ///     Ok(udp.into_inner())
    /// }
    ///
    /// let socket = ttk_core::run(1, unregister).pop().unwrap().unwrap();
    /// assert!(socket.local_addr().unwrap().ip().is_loopback());
    /// ```
    pub fn into_inner(mut self) -> S {
        let mut source = self
            .source
            .take()
            .expect("the source is present until into_inner");
        self.state.deregister(&mut source, self.token);
        source
    }

    /// Runs `op` on the source until it does not return `WouldBlock`, parking the bot until the
    /// source is readable in between. Wait for it with `yield_!(io.read_with(|s| ...))`.
    ///
    /// Use it for every operation that waits for input: reads, receives, accepts.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use std::io::{Read, Write};
    /// use ttk_core::io::IoSource;
    ///
    /// #[bot(crate = ttk_core)]
    /// fn late_reply(_cx: Cx, _id: usize) -> std::io::Result<Vec<u8>> {
    ///     let (left, mut right) = mio::net::UnixStream::pair()?;
    ///     let left = IoSource::new(left)?;
    ///     let writer = std::thread::spawn(move || {
    ///         std::thread::sleep(std::time::Duration::from_millis(5));
    ///         right.write_all(b"late").unwrap();
    ///         right
    ///     });
    ///     // Parks the bot until the bytes come.
    ///     let mut buf = [0; 8];
    ///     let n = ttk_core::yield_!(left.read_with(|mut s| s.read(&mut buf)))?;
    ///     drop(writer.join());
    ///     Ok(buf[..n].to_vec())
    /// }
    ///
    /// assert_eq!(ttk_core::run(1, late_reply)[0].as_ref().unwrap(), b"late");
    /// ```
    pub async fn read_with<R>(&self, mut op: impl FnMut(&S) -> io::Result<R>) -> io::Result<R> {
        let mut waiting = Waiting::new(&self.state, self.token, Direction::Read);
        poll_fn(|_| waiting.attempt(|| op(self.get_ref()))).await
    }

    /// Runs `op` on the source until it does not return `WouldBlock`, parking the bot until the
    /// source is writable in between. Use it for writes, sends and finishing a connect.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use ttk_core::io::IoSource;
    ///
    /// #[bot(crate = ttk_core)]
    /// fn datagram(_cx: Cx, _id: usize) -> std::io::Result<usize> {
    ///     let any = "127.0.0.1:0".parse().unwrap();
    ///     let (a, b) = (mio::net::UdpSocket::bind(any)?, std::net::UdpSocket::bind(any)?);
    ///     let a = IoSource::new(a)?;
    ///     let to = b.local_addr()?;
    ///     ttk_core::yield_!(a.write_with(|socket| socket.send_to(b"hello", to)))
    /// }
    ///
    /// assert_eq!(ttk_core::run(1, datagram)[0].as_ref().unwrap(), &5);
    /// ```
    pub async fn write_with<R>(&self, mut op: impl FnMut(&S) -> io::Result<R>) -> io::Result<R> {
        let mut waiting = Waiting::new(&self.state, self.token, Direction::Write);
        poll_fn(|_| waiting.attempt(|| op(self.get_ref()))).await
    }

    /// Marks the source not readable until the selector's next read event, sparing the next
    /// read a syscall that would fail with `WouldBlock`. Call it after a read from a stream
    /// socket returned fewer bytes than it asked for: the kernel's queue was empty then, and
    /// on Linux's edge-triggered epoll every byte that arrives later brings an event. Once an
    /// event said the peer closed (or the source failed), it has no effect: that event does
    /// not come twice. For a datagram socket only after a read that proves the queue empty (a
    /// `recvmmsg` that took fewer datagrams than it asked for): a short datagram says nothing
    /// of the queue.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use std::io::{self, Read, Write};
    /// use ttk_core::io::IoSource;
    ///
    /// /// Reads once, the way `ttk_net::TcpStream::read` does.
    /// async fn read(io: &IoSource<mio::net::UnixStream>, buf: &mut [u8]) -> io::Result<usize> {
    ///     let n = io.read_with(|mut stream| stream.read(buf)).await?;
    ///     if n > 0 && n < buf.len() {
    ///         io.clear_read_ready();
    ///     }
    ///     Ok(n)
    /// }
    ///
    /// #[bot(crate = ttk_core)]
    /// fn pair(_cx: Cx, _id: usize) -> io::Result<Vec<u8>> {
    ///     let (a, mut b) = mio::net::UnixStream::pair()?;
    ///     let a = IoSource::new(a)?;
    ///     b.write_all(b"ping")?;
    ///     let mut buf = [0; 16];
    ///     let n = ttk_core::yield_!(read(&a, &mut buf))?;
    ///     // The next read waits for the selector's event rather than failing first.
    ///     b.write_all(b"pong")?;
    ///     let m = ttk_core::yield_!(read(&a, &mut buf[n..]))?;
    ///     Ok(buf[..n + m].to_vec())
    /// }
    ///
    /// assert_eq!(ttk_core::run(1, pair)[0].as_ref().unwrap(), b"pingpong");
    /// ```
    pub fn clear_read_ready(&self) {
        if context::current_loop_id() == self.state.id() {
            self.state.io_clear_read(self.token);
        }
    }

    /// Whether a read might find something, without a read: `false` from a read that found
    /// the source empty (`WouldBlock`, or [`IoSource::clear_read_ready`]) until the selector's
    /// next event for it — bytes, the peer's close or an error. So a client can tell whether a
    /// connection kept idle heard anything since its last answer (a server's close of an idle
    /// keep-alive connection), and read only then. No syscall while the loop keeps asking the
    /// selector (whenever bots run); after a wait that did not (a sleep with no bot waiting on
    /// I/O), the first such question asks it once, without waiting. `true` when it cannot know
    /// (outside the loop the source belongs to, or before any read).
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use std::io::{self, Read, Write};
    /// use std::time::Duration;
    /// use ttk_core::io::IoSource;
    ///
    /// #[bot(crate = ttk_core)]
    /// fn idle(_cx: Cx, _id: usize) -> io::Result<(bool, bool)> {
    ///     let (left, mut right) = mio::net::UnixStream::pair()?;
    ///     let left = IoSource::new(left)?;
    ///     right.write_all(b"answer")?;
    ///     let mut buf = [0; 64];
    ///     ttk_core::yield_!(left.read_with(|mut s| s.read(&mut buf)))?;
    ///     left.clear_read_ready(); // a short read: nothing more was queued
    ///     let quiet = left.read_ready();
    ///     drop(right); // the peer closes while this side is idle
    ///     ttk_core::yield_!(ttk_core::sleep(Duration::from_millis(10)));
    ///     Ok((quiet, left.read_ready()))
    /// }
    ///
    /// assert_eq!(ttk_core::run(1, idle)[0].as_ref().unwrap(), &(false, true));
    /// ```
    pub fn read_ready(&self) -> bool {
        context::current_loop_id() != self.state.id() || self.state.io_read_ready(self.token)
    }

    /// Like [`IoSource::read_with`], for operations that need `&mut S`.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use std::io::{Read, Write};
    /// use ttk_core::io::IoSource;
    ///
    /// #[bot(crate = ttk_core)]
    /// fn read_mut(_cx: Cx, _id: usize) -> std::io::Result<Vec<u8>> {
    ///     let (left, mut right) = mio::net::UnixStream::pair()?;
    ///     let mut left = IoSource::new(left)?;
    ///     right.write_all(b"abc")?;
    ///     let mut buf = [0; 8];
    ///     // `Read::read` on the stream itself takes `&mut self`.
    ///     let n = ttk_core::yield_!(left.read_with_mut(|s| s.read(&mut buf)))?;
    ///     Ok(buf[..n].to_vec())
    /// }
    ///
    /// assert_eq!(ttk_core::run(1, read_mut)[0].as_ref().unwrap(), b"abc");
    /// ```
    pub async fn read_with_mut<R>(
        &mut self,
        mut op: impl FnMut(&mut S) -> io::Result<R>,
    ) -> io::Result<R> {
        let state = Rc::clone(&self.state);
        let mut waiting = Waiting::new(&state, self.token, Direction::Read);
        poll_fn(|_| waiting.attempt(|| op(self.get_mut()))).await
    }

    /// Like [`IoSource::write_with`], for operations that need `&mut S`.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use std::io::{Read, Write};
    /// use ttk_core::io::IoSource;
    ///
    /// #[bot(crate = ttk_core)]
    /// fn write_mut(_cx: Cx, _id: usize) -> std::io::Result<Vec<u8>> {
    ///     let (left, mut right) = mio::net::UnixStream::pair()?;
    ///     let mut left = IoSource::new(left)?;
    ///     ttk_core::yield_!(left.write_with_mut(|s| s.write(b"xyz")))?;
    ///     let mut buf = [0; 3];
    ///     right.read_exact(&mut buf)?;
    ///     Ok(buf.to_vec())
    /// }
    ///
    /// assert_eq!(ttk_core::run(1, write_mut)[0].as_ref().unwrap(), b"xyz");
    /// ```
    pub async fn write_with_mut<R>(
        &mut self,
        mut op: impl FnMut(&mut S) -> io::Result<R>,
    ) -> io::Result<R> {
        let state = Rc::clone(&self.state);
        let mut waiting = Waiting::new(&state, self.token, Direction::Write);
        poll_fn(|_| waiting.attempt(|| op(self.get_mut()))).await
    }

    /// Waits for the next readiness event for reading. Call it only after an operation on the
    /// source returned `WouldBlock` (edge-triggered: an event comes only when state changes);
    /// [`IoSource::read_with`] does this for you.
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use std::io::{ErrorKind, Read, Write};
    /// use ttk_core::io::IoSource;
    ///
    /// #[bot(crate = ttk_core)]
    /// fn wait_then_read(_cx: Cx, _id: usize) -> std::io::Result<Vec<u8>> {
    ///     let (left, mut right) = mio::net::UnixStream::pair()?;
    ///     let left = IoSource::new(left)?;
    ///     let mut buf = [0; 8];
    ///     // Nothing yet: the read would block, so wait for the next event.
    ///     let early = (&*left.get_ref()).read(&mut buf);
    ///     assert_eq!(early.unwrap_err().kind(), ErrorKind::WouldBlock);
    ///     let writer = std::thread::spawn(move || right.write_all(b"now").map(|()| right));
    ///     ttk_core::yield_!(left.readable());
    ///     let n = (&*left.get_ref()).read(&mut buf)?;
    ///     drop(writer.join());
    ///     Ok(buf[..n].to_vec())
    /// }
    ///
    /// assert_eq!(ttk_core::run(1, wait_then_read)[0].as_ref().unwrap(), b"now");
    /// ```
    pub async fn readable(&self) {
        self.next_event(Direction::Read).await;
    }

    /// Waits for the next readiness event for writing; see [`IoSource::readable`].
    ///
    /// # Examples
    /// ```
    /// # use ttk_macros::bot;
    /// # use ttk_core::Cx;
    /// use std::io::{Read, Write};
    /// use ttk_core::io::IoSource;
    ///
    /// #[bot(crate = ttk_core)]
    /// fn fill_then_wait(_cx: Cx, _id: usize) -> std::io::Result<bool> {
    ///     // The reader's end blocks: it is read by a thread.
    ///     let (left, mut right) = std::os::unix::net::UnixStream::pair()?;
    ///     left.set_nonblocking(true)?;
    ///     let left = IoSource::new(mio::net::UnixStream::from_std(left))?;
    ///     // Fill the socket's buffer until a write would block.
    ///     let block = [0u8; 4096];
    ///     while (&*left.get_ref()).write(&block).is_ok() {}
    ///     let reader = std::thread::spawn(move || {
    ///         let mut sink = [0u8; 65536];
    ///         while right.read(&mut sink).map_or(false, |n| n > 0) {}
    ///     });
    ///     ttk_core::yield_!(left.writable());
    ///     let wrote = (&*left.get_ref()).write(&block[..1]).is_ok();
    ///     drop(left);
    ///     let _ = reader.join();
    ///     Ok(wrote)
    /// }
    ///
    /// assert!(ttk_core::run(1, fill_then_wait)[0].as_ref().unwrap());
    /// ```
    pub async fn writable(&self) {
        self.next_event(Direction::Write).await;
    }

    /// Parks the bot until an event says `direction` is ready.
    ///
    /// # Panics
    /// Outside the run that made the source.
    async fn next_event(&self, direction: Direction) {
        if context::current_loop_id() != self.state.id() {
            panic!("{}", foreign_loop_error());
        }
        let mut waiting = Waiting::new(&self.state, self.token, direction);
        poll_fn(|_| {
            if waiting.parked.is_some() && self.state.io_ready(self.token, direction) {
                waiting.done();
                return Poll::Ready(());
            }
            waiting.park();
            Poll::Pending
        })
        .await;
    }
}

/// The error of a source waited on outside the run that made it.
fn foreign_loop_error() -> io::Error {
    io::Error::other(
        "a ttk socket (I/O source) was used outside the run that made it: it belongs to that \
         run's loop; make sockets inside the bots of the run that uses them",
    )
}

/// One operation's wait on one half of a source.
///
/// It tries the syscall first and parks the bot only on `WouldBlock`; while the readiness bit
/// is clear it skips the syscall (it would fail again). If the operation is dropped while
/// parked (a `timeout` ran out, a bot was dropped), it un-parks itself: a stale waiter would
/// make a deadlocked run wait for I/O forever instead of reporting the stall. Its id keeps it
/// apart from another operation of the same bot on the same half.
struct Waiting<'a> {
    /// The loop.
    state: &'a LoopState,
    /// The source.
    token: Token,
    /// The half waited on.
    direction: Direction,
    /// This operation's id.
    op: u32,
    /// The bot parked by the last poll, if it returned `Pending`.
    parked: Option<u32>,
}

impl<'a> Waiting<'a> {
    /// A wait that has not parked yet.
    fn new(state: &'a LoopState, token: Token, direction: Direction) -> Self {
        Waiting {
            state,
            token,
            direction,
            op: state.next_op_id(),
            parked: None,
        }
    }

    /// Tries `op` unless the source is known not to be ready; parks on `WouldBlock`.
    fn attempt<R>(&mut self, mut op: impl FnMut() -> io::Result<R>) -> Poll<io::Result<R>> {
        if context::current_loop_id() != self.state.id() {
            return Poll::Ready(Err(foreign_loop_error()));
        }
        if !self.state.io_ready(self.token, self.direction) {
            self.park();
            return Poll::Pending;
        }
        loop {
            match op() {
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                    self.park();
                    return Poll::Pending;
                }
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                result => {
                    self.done();
                    return Poll::Ready(result);
                }
            }
        }
    }

    /// Parks the running bot (clearing the readiness bit).
    fn park(&mut self) {
        let bot = self.state.current();
        self.state
            .park_on_io(self.token, self.direction, bot, self.op);
        self.parked = Some(bot);
    }

    /// The operation is over: forget its registration, if an event has not already.
    fn done(&mut self) {
        if let Some(bot) = self.parked.take() {
            self.state
                .unpark_io(self.token, self.direction, bot, self.op);
        }
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.done();
    }
}

impl<S: Source> Drop for IoSource<S> {
    fn drop(&mut self) {
        if let Some(source) = &mut self.source {
            self.state.deregister(source, self.token);
        }
    }
}

impl<S: Source + fmt::Debug> fmt::Debug for IoSource<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IoSource")
            .field("source", &self.source)
            .field("token", &self.token)
            .finish()
    }
}
