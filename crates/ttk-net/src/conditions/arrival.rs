//! When a datagram arrived, as the kernel stamped it (`SO_TIMESTAMPNS`): a conditioned socket
//! is read when its bot reads, which may be long after the datagram came; its emulated delay
//! runs from its arrival, not from the read. On the loop's clock: the loop's now less the real
//! time since the kernel's stamp (so under a virtual clock too).

use std::io;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Asks the kernel to stamp each datagram `socket` receives; a kernel that cannot is no
/// failure (arrivals are then taken as the time of the read).
pub(crate) fn stamp_arrivals(socket: &mio::net::UdpSocket) {
    #[cfg(target_os = "linux")]
    {
        let on: libc::c_int = 1;
        // SAFETY: `socket` is an open datagram socket for the length of the call; the option's
        // value is a c_int on the stack, passed with its exact size; setsockopt only reads it.
        let _ = unsafe {
            libc::setsockopt(
                socket.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_TIMESTAMPNS,
                (&on as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
    }
    #[cfg(not(target_os = "linux"))]
    let _ = socket;
}

/// Receives one datagram into `buf`: its length, sender, and when it arrived on the loop's
/// clock (`now` if the kernel gave no stamp, or one not in the past).
pub(crate) fn recv_stamped(
    socket: &mio::net::UdpSocket,
    buf: &mut [u8],
    now: Instant,
) -> io::Result<(usize, SocketAddr, Instant)> {
    #[cfg(target_os = "linux")]
    {
        let (n, from, stamp) = recvmsg(socket, buf)?;
        let arrived = stamp
            .and_then(|stamp| SystemTime::now().duration_since(stamp).ok())
            .and_then(|ago| now.checked_sub(ago))
            .unwrap_or(now);
        Ok((n, from, arrived))
    }
    #[cfg(not(target_os = "linux"))]
    {
        let (n, from) = socket.recv_from(buf)?;
        Ok((n, from, now))
    }
}

/// `recvmsg` of one datagram with its `SCM_TIMESTAMPNS` control message, if any.
#[cfg(target_os = "linux")]
fn recvmsg(
    socket: &mio::net::UdpSocket,
    buf: &mut [u8],
) -> io::Result<(usize, SocketAddr, Option<SystemTime>)> {
    // Room for one control message of a timespec, aligned as the kernel writes it.
    let mut control = [0u64; 8];
    let mut storage: libc::sockaddr_storage = unsafe_zeroed_storage();
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: msghdr is plain old data; all zeroes is a valid (empty) value, filled in below.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_name = (&mut storage as *mut libc::sockaddr_storage).cast();
    msg.msg_namelen = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&control);
    // SAFETY: every pointer in `msg` points at a live buffer of this frame (`storage`, `iov`
    // over `buf`, `control`) of the length given with it; the kernel writes within those
    // lengths and nowhere else; the socket is open for the call.
    let n = unsafe { libc::recvmsg(socket.as_raw_fd(), &mut msg, libc::MSG_DONTWAIT) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let from = sender(&storage, msg.msg_namelen)?;
    let control_len = (msg.msg_controllen).min(std::mem::size_of_val(&control));
    let mut bytes = [0u8; 64];
    for (chunk, word) in bytes.chunks_exact_mut(8).zip(control) {
        chunk.copy_from_slice(&word.to_ne_bytes());
    }
    Ok((n as usize, from, timestamp(&bytes[..control_len])))
}

/// An all-zero `sockaddr_storage`.
#[cfg(target_os = "linux")]
fn unsafe_zeroed_storage() -> libc::sockaddr_storage {
    // SAFETY: sockaddr_storage is plain old data; all zeroes is a valid (unspecified) address.
    unsafe { std::mem::zeroed() }
}

/// The sender's address, from what `recvmsg` wrote.
#[cfg(target_os = "linux")]
fn sender(storage: &libc::sockaddr_storage, _len: libc::socklen_t) -> io::Result<SocketAddr> {
    use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV6};
    match libc::c_int::from(storage.ss_family) {
        libc::AF_INET => {
            // SAFETY: the family says the storage holds a sockaddr_in, which it is large and
            // aligned enough for (that is what sockaddr_storage is for).
            let v4 =
                unsafe { &*(storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
            let ip = Ipv4Addr::from(u32::from_be(v4.sin_addr.s_addr));
            Ok(SocketAddr::from((ip, u16::from_be(v4.sin_port))))
        }
        libc::AF_INET6 => {
            // SAFETY: as above, for a sockaddr_in6.
            let v6 = unsafe {
                &*(storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>()
            };
            Ok(SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::from(v6.sin6_addr.s6_addr),
                u16::from_be(v6.sin6_port),
                v6.sin6_flowinfo,
                v6.sin6_scope_id,
            )))
        }
        _ => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "a datagram from no IP address",
        )),
    }
}

/// The `SCM_TIMESTAMPNS` stamp among the control messages in `control`, read field by field
/// from their bytes (Linux's layout: a `cmsghdr` of length, level and type, then the data,
/// each aligned to the word).
#[cfg(target_os = "linux")]
fn timestamp(control: &[u8]) -> Option<SystemTime> {
    const WORD: usize = std::mem::size_of::<usize>();
    let header = WORD + 2 * std::mem::size_of::<libc::c_int>();
    let mut at = 0;
    while at + header <= control.len() {
        let word = |offset: usize| -> Option<u64> {
            let bytes = control.get(at + offset..at + offset + 8)?;
            Some(u64::from_ne_bytes(bytes.try_into().ok()?))
        };
        let int = |offset: usize| -> Option<i32> {
            let bytes = control.get(at + offset..at + offset + 4)?;
            Some(i32::from_ne_bytes(bytes.try_into().ok()?))
        };
        let len = usize::try_from(word(0)?).ok()?;
        if len < header {
            return None;
        }
        let (level, kind) = (int(WORD)?, int(WORD + 4)?);
        if level == libc::SOL_SOCKET && kind == libc::SCM_TIMESTAMPNS {
            let seconds = word(header)?;
            let nanos = word(header + 8)?;
            return UNIX_EPOCH.checked_add(Duration::new(seconds, u32::try_from(nanos).ok()?));
        }
        at += len.div_ceil(WORD) * WORD;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_datagram_read_late_is_stamped_when_it_came() {
        let receiver = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        receiver.set_nonblocking(true).unwrap();
        let receiver = mio::net::UdpSocket::from_std(receiver);
        stamp_arrivals(&receiver);
        // Linux turns its receive stamps on a moment after a socket first asks for them.
        std::thread::sleep(Duration::from_millis(50));
        let sender = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        sender
            .send_to(b"early", receiver.local_addr().unwrap())
            .unwrap();
        let sent = Instant::now();
        std::thread::sleep(Duration::from_millis(100));
        let mut buf = [0; 16];
        let now = Instant::now();
        let (n, from, arrived) = recv_stamped(&receiver, &mut buf, now).unwrap();
        assert_eq!(
            (&buf[..n], from),
            (&b"early"[..], sender.local_addr().unwrap())
        );
        // Came within a few ms of being sent, not at the read 100 ms later.
        let after_send = arrived.saturating_duration_since(sent);
        assert!(after_send < Duration::from_millis(20), "{after_send:?}");
        assert!(
            now - arrived >= Duration::from_millis(80),
            "{:?}",
            now - arrived
        );
        let error = recv_stamped(&receiver, &mut buf, now).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::WouldBlock);
    }

    #[test]
    fn control_messages_without_a_stamp_give_none() {
        assert_eq!(timestamp(&[]), None);
        assert_eq!(timestamp(&[0; 16]), None);
    }
}
