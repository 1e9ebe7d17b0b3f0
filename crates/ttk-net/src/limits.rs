//! Turning "out of descriptors" and "out of ports" into errors that say what to raise.

use std::fmt;
use std::io;
use std::net::SocketAddr;

/// A limit of the operating system that stopped a socket from being made.
///
/// It comes inside an [`io::Error`] of kind [`io::ErrorKind::QuotaExceeded`]
/// (`error.get_ref()` downcasts to it), and its message names the limit and what to do.
///
/// # Examples
/// ```
/// use ttk_net::LimitReached;
///
/// let error: std::io::Error = LimitReached::OpenFiles { soft: 1024, hard: 4096 }.into();
/// assert_eq!(error.kind(), std::io::ErrorKind::QuotaExceeded);
/// assert!(error.to_string().contains("ulimit -n"));
/// let limit = error.get_ref().unwrap().downcast_ref::<LimitReached>().unwrap();
/// assert_eq!(limit, &LimitReached::OpenFiles { soft: 1024, hard: 4096 });
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LimitReached {
    /// The process's open-file limit (`RLIMIT_NOFILE`, `EMFILE`).
    OpenFiles {
        /// The soft limit in force.
        soft: u64,
        /// The hard limit (the most the soft limit can be raised to without privileges).
        hard: u64,
    },
    /// The system-wide open-file table is full (`ENFILE`).
    SystemOpenFiles,
    /// No local port is left for another connection from this source address to this
    /// destination (`EADDRNOTAVAIL` on connect).
    LocalPorts {
        /// The destination.
        peer: SocketAddr,
    },
}

impl fmt::Display for LimitReached {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LimitReached::OpenFiles { soft, hard } => write!(
                f,
                "open-file limit reached: this process may hold {soft} descriptors \
                 (RLIMIT_NOFILE soft limit {soft}, hard limit {hard}) and every socket takes one; \
                 raise the soft limit (`ulimit -n`, at most the hard limit) or split the bots \
                 over more processes (shards)"
            ),
            LimitReached::SystemOpenFiles => write!(
                f,
                "the system-wide open-file table is full (ENFILE): raise fs.file-max \
                 (`sysctl fs.file-max`) or run fewer bots on this machine"
            ),
            LimitReached::LocalPorts { peer } => write!(
                f,
                "no free local port to connect to {peer} (EADDRNOTAVAIL): each source address \
                 has one ephemeral port range per destination; rotate source addresses \
                 (TcpSocket::bind to 127.0.0.2, 127.0.0.3, ... on loopback) or widen \
                 net.ipv4.ip_local_port_range"
            ),
        }
    }
}

impl std::error::Error for LimitReached {}

impl From<LimitReached> for io::Error {
    fn from(limit: LimitReached) -> io::Error {
        io::Error::new(io::ErrorKind::QuotaExceeded, limit)
    }
}

/// Replaces an error caused by an exhausted limit with one that names it; other errors pass
/// through unchanged. `peer` is the destination of a connect, if this was one.
pub(crate) fn explain(error: io::Error, peer: Option<SocketAddr>) -> io::Error {
    match error.raw_os_error() {
        Some(libc::EMFILE) => {
            let (soft, hard) = open_file_limit();
            LimitReached::OpenFiles { soft, hard }.into()
        }
        Some(libc::ENFILE) => LimitReached::SystemOpenFiles.into(),
        Some(libc::EADDRNOTAVAIL) => match peer {
            Some(peer) => LimitReached::LocalPorts { peer }.into(),
            None => error,
        },
        _ => error,
    }
}

/// The process's open-file limits (soft, hard); `u64::MAX` for "unlimited" or unknown.
fn open_file_limit() -> (u64, u64) {
    let mut limit = libc::rlimit {
        rlim_cur: libc::RLIM_INFINITY,
        rlim_max: libc::RLIM_INFINITY,
    };
    // SAFETY: `getrlimit` writes one `rlimit` through a pointer to a live, writable local.
    let status = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
    if status != 0 {
        return (u64::MAX, u64::MAX);
    }
    (limit.rlim_cur, limit.rlim_max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emfile_becomes_a_quota_error_naming_the_limit() {
        let error = explain(io::Error::from_raw_os_error(libc::EMFILE), None);
        assert_eq!(error.kind(), io::ErrorKind::QuotaExceeded);
        assert!(error.to_string().contains("RLIMIT_NOFILE"), "{error}");
    }

    #[test]
    fn other_errors_pass_through() {
        let error = explain(io::Error::from_raw_os_error(libc::ECONNREFUSED), None);
        assert_eq!(error.kind(), io::ErrorKind::ConnectionRefused);
    }
}
