//! A socket's registered source, owned by the socket — or shared with the loop's timed
//! actions once the socket emulates a network (they send what it holds back when due; a
//! stream's actions keep it open until its bytes are written, while the run lasts). A socket
//! without conditions pays nothing for the possibility: no allocation, no indirection.

use std::ops::Deref;
use std::rc::Rc;

use mio::event::Source;
use ttk_core::io::IoSource;

/// The source, owned or shared.
#[derive(Debug)]
pub(crate) enum SharedIo<S: Source> {
    /// The socket's own.
    Owned(IoSource<S>),
    /// Shared with timed actions.
    Shared(Rc<IoSource<S>>),
    /// Only inside [`SharedIo::share`], between the two.
    Moving,
}

impl<S: Source> SharedIo<S> {
    /// Shares the source (once), and returns it.
    pub(crate) fn share(&mut self) -> &Rc<IoSource<S>> {
        if let SharedIo::Owned(_) = self
            && let SharedIo::Owned(owned) = std::mem::replace(self, SharedIo::Moving)
        {
            *self = SharedIo::Shared(Rc::new(owned));
        }
        match self {
            SharedIo::Shared(shared) => shared,
            _ => unreachable!("shared just above"),
        }
    }

    /// The shared source: a socket with conditions has shared it.
    pub(crate) fn shared(&self) -> &Rc<IoSource<S>> {
        match self {
            SharedIo::Shared(shared) => shared,
            _ => unreachable!("a socket with conditions shares its source"),
        }
    }
}

impl<S: Source> Deref for SharedIo<S> {
    type Target = IoSource<S>;

    fn deref(&self) -> &IoSource<S> {
        match self {
            SharedIo::Owned(owned) => owned,
            SharedIo::Shared(shared) => shared,
            SharedIo::Moving => unreachable!("only inside share"),
        }
    }
}
