//! The kernel's `TCP_INFO` of a socket: its state and round-trip estimate, among others.

use std::io;
use std::os::fd::AsRawFd;

/// `TCP_INFO` of `socket`.
///
/// # Errors
/// The OS's.
pub(crate) fn tcp_info(socket: &mio::net::TcpStream) -> io::Result<libc::tcp_info> {
    // SAFETY: `tcp_info` is plain old data (integers only), so all zeros is a valid value.
    let mut info: libc::tcp_info = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::tcp_info>() as libc::socklen_t;
    // SAFETY: `TCP_INFO` writes at most `len` bytes through the pointer, which points at
    // `info`, alive, writable and `len` bytes long for the call; the descriptor is the
    // socket's own, open for as long as `socket` is borrowed.
    let done = unsafe {
        libc::getsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            (&raw mut info).cast(),
            &mut len,
        )
    };
    if done < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(info)
}
