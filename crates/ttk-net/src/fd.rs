//! The sockets' file descriptors, for options ttk does not wrap (`TCP_QUICKACK`,
//! `SO_KEEPALIVE`, `IP_TOS`…), set with `socket2::SockRef::from(&stream)` or `libc::setsockopt`.
//!
//! ```
//! # use ttk_macros::bot;
//! # use ttk_core::Cx;
//! use std::os::fd::AsRawFd;
//! use ttk_net::{TcpListener, TcpStream};
//!
//! #[bot(crate = ttk_core)]
//! fn keepalive(_cx: Cx, _id: usize) -> std::io::Result<bool> {
//!     let listener = TcpListener::bind("127.0.0.1:0")?;
//!     let stream = ttk_core::yield_!(TcpStream::connect(listener.local_addr()?))?;
//!     assert!(stream.as_raw_fd() >= 0);
//!     let socket = socket2::SockRef::from(&stream);
//!     socket.set_keepalive(true)?;
//!     socket.keepalive()
//! }
//!
//! assert!(ttk_core::run(1, keepalive)[0].as_ref().unwrap());
//! ```

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};

use crate::{TcpListener, TcpSocket, TcpStream, UdpSocket};

/// `AsFd` and `AsRawFd` for a socket type, from the descriptor of what it wraps.
macro_rules! descriptor {
    ($socket:ty, |$me:ident| $inner:expr) => {
        impl AsFd for $socket {
            fn as_fd(&self) -> BorrowedFd<'_> {
                let $me = self;
                $inner.as_fd()
            }
        }

        impl AsRawFd for $socket {
            fn as_raw_fd(&self) -> RawFd {
                let $me = self;
                $inner.as_raw_fd()
            }
        }
    };
}

descriptor!(TcpStream, |me| me.mio());
descriptor!(TcpListener, |me| me.mio());
descriptor!(UdpSocket, |me| me.mio());
descriptor!(TcpSocket, |me| me.socket2());
