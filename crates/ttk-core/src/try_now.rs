//! [`try_now`]: an operation that must not wait.

use std::future::{Future, poll_fn};
use std::pin::pin;
use std::task::Poll;

/// Polls `op` once, in the running bot's own context: its output if it is done at once,
/// `None` if it would wait (it is dropped then, and what it asked of the loop with it). For a
/// look that must not block: whether a connection kept idle has something to read. (A source
/// known empty stays so, without a syscall, until the loop takes in its next event.)
///
/// # Examples
/// ```
/// # use ttk_macros::bot;
/// # use ttk_core::Cx;
/// use std::io::{self, Read, Write};
/// use ttk_core::io::{IoSource, try_now};
///
/// #[bot(crate = ttk_core)]
/// fn looks(_cx: Cx, _id: usize) -> io::Result<(bool, Option<usize>)> {
///     let (left, mut right) = mio::net::UnixStream::pair()?;
///     let left = IoSource::new(left)?;
///     let mut buf = [0; 8];
///     let nothing = ttk_core::yield_!(try_now(left.read_with(|mut s| s.read(&mut buf))));
///     right.write_all(b"hi")?;
///     ttk_core::yield_!(left.readable()); // the loop takes in the event
///     let some = ttk_core::yield_!(try_now(left.read_with(|mut s| s.read(&mut buf))));
///     Ok((nothing.is_none(), some.transpose()?))
/// }
///
/// assert_eq!(ttk_core::run(1, looks)[0].as_ref().unwrap(), &(true, Some(2)));
/// ```
pub async fn try_now<F: Future>(op: F) -> Option<F::Output> {
    let mut op = pin!(op);
    poll_fn(|cx| match op.as_mut().poll(cx) {
        Poll::Ready(output) => Poll::Ready(Some(output)),
        Poll::Pending => Poll::Ready(None),
    })
    .await
}
