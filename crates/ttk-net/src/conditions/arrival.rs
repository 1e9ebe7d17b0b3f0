//! When a datagram arrived, as the kernel stamped it (`SO_TIMESTAMPNS`): a conditioned socket
//! is read when its bot reads, which may be long after the datagram came; its emulated delay
//! runs from its arrival, not from the read. On the loop's clock: the loop's now less the real
//! time since the kernel's stamp ([`RealClock`], so under a virtual clock too).

use std::io;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use ttk_core::io::RealClock;

/// Asks the kernel to stamp what `socket` receives (each datagram; a stream's reads with their
/// latest segment's time); a kernel that cannot is no failure (arrivals are then taken as the
/// time of the read).
pub(crate) fn stamp_arrivals(socket: &impl AsRawFd) {
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

/// Datagrams taken at once by [`recv_batch`].
pub(crate) const BATCH: usize = 8;

/// One datagram of a batch: its length, sender and arrival on the loop's clock.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Received {
    pub(crate) len: usize,
    pub(crate) from: SocketAddr,
    pub(crate) arrived: Instant,
}

/// What [`recv_batch`] reads into, kept from call to call (one per thread): the datagrams'
/// buffers and, on Linux, the senders' addresses, the control messages and the headers
/// `recvmmsg` fills. Made afresh per call they cost more than the conditions' own work: some
/// 2 KiB zeroed and copied per call (per datagram, when they come one at a time). The headers
/// point at their buffers from the start (at the senders' storages too, unless a call for a
/// socket with a known peer took them off); a call only resets the lengths the last one
/// changed.
pub(crate) struct BatchBuffers {
    /// [`BATCH`] buffers of `slot_len` bytes, end to end (never resized: the headers point
    /// into them).
    slots: Box<[u8]>,
    /// The length of each buffer: the longest datagram kept whole.
    slot_len: usize,
    /// What the last call received, by slot (`None`: a sender of no IP address).
    received: [Option<Received>; BATCH],
    /// How many slots the last call filled.
    taken: usize,
    /// The arrays `recvmmsg` reads and fills (boxed: 2 KiB that stay put, pointed at).
    #[cfg(target_os = "linux")]
    headers: Box<LinuxHeaders>,
}

/// `recvmmsg`'s arrays.
#[cfg(target_os = "linux")]
struct LinuxHeaders {
    /// Each datagram's sender.
    storages: [libc::sockaddr_storage; BATCH],
    /// Each datagram's control messages (its receive stamp).
    controls: [[u64; 8]; BATCH],
    /// Each datagram's buffer, a slot of [`BatchBuffers::slots`].
    iovs: [libc::iovec; BATCH],
    /// The headers pointing at the above, one per datagram.
    messages: [libc::mmsghdr; BATCH],
    /// Whether the headers ask the kernel for senders (point at `storages`): not for a
    /// connected socket, whose every datagram comes from its peer.
    asking_senders: bool,
}

#[cfg(target_os = "linux")]
impl LinuxHeaders {
    /// Headers pointing at their own arrays and at the slots of `slots`, `slot_len` bytes
    /// each.
    fn pointing_at(slots: &mut [u8], slot_len: usize) -> Box<LinuxHeaders> {
        // SAFETY: every field is plain old data (addresses, control bytes, iovecs and headers
        // of pointers and lengths, a bool), for which all zeroes is a valid, empty value (the
        // bool `false`); the pointers are set just below.
        let mut headers: Box<LinuxHeaders> = Box::new(unsafe { std::mem::zeroed() });
        let LinuxHeaders {
            storages,
            controls,
            iovs,
            messages,
            ..
        } = &mut *headers;
        for (k, slot) in slots.chunks_mut(slot_len).take(BATCH).enumerate() {
            iovs[k] = libc::iovec {
                iov_base: slot.as_mut_ptr().cast(),
                iov_len: slot.len(),
            };
            let header = &mut messages[k].msg_hdr;
            header.msg_name = (&mut storages[k] as *mut libc::sockaddr_storage).cast();
            header.msg_iov = &mut iovs[k];
            header.msg_iovlen = 1;
            header.msg_control = controls[k].as_mut_ptr().cast();
        }
        headers.asking_senders = true;
        headers.reset_lengths(BATCH);
        headers
    }

    /// Points the headers at the senders' storages, or at none (the kernel then copies no
    /// address out: some 40 ns of a receive on this VM).
    fn ask_senders(&mut self, ask: bool) {
        if self.asking_senders == ask {
            return;
        }
        self.asking_senders = ask;
        for (message, storage) in self.messages.iter_mut().zip(&mut self.storages) {
            message.msg_hdr.msg_name = match ask {
                true => (storage as *mut libc::sockaddr_storage).cast(),
                false => std::ptr::null_mut(),
            };
        }
    }

    /// Gives the first `count` headers back the lengths of their buffers, which a call
    /// shortened to what it wrote (the others the kernel left alone).
    fn reset_lengths(&mut self, count: usize) {
        for k in 0..count {
            let header = &mut self.messages[k].msg_hdr;
            header.msg_namelen = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            header.msg_controllen = std::mem::size_of_val(&self.controls[k]) as _;
            header.msg_flags = 0;
        }
    }
}

impl BatchBuffers {
    /// Buffers for datagrams of up to `slot_len` bytes (longer ones are truncated, as UDP
    /// does).
    pub(crate) fn new(slot_len: usize) -> BatchBuffers {
        #[cfg_attr(not(target_os = "linux"), allow(unused_mut))]
        let mut slots = vec![0; slot_len * BATCH].into_boxed_slice();
        BatchBuffers {
            #[cfg(target_os = "linux")]
            headers: LinuxHeaders::pointing_at(&mut slots, slot_len),
            slots,
            slot_len,
            received: [None; BATCH],
            taken: 0,
        }
    }

    /// The `k`-th datagram of the last call to [`recv_batch`], with what came with it.
    pub(crate) fn datagram(&self, k: usize) -> Option<(&[u8], Received)> {
        let received = self.received[..self.taken].get(k).copied().flatten()?;
        let start = k * self.slot_len;
        Some((&self.slots[start..start + received.len], received))
    }
}

/// Receives up to [`BATCH`] datagrams in one call into `buffers` (then read with
/// [`BatchBuffers::datagram`]): how many came, and the loop's clock read then (only once one
/// came; the stamps are placed on it: the datagrams' arrivals). Fewer than [`BATCH`] means the
/// socket had no more, which spares the call that would find it empty.
/// `peer`, when every datagram the socket holds is known to come from it (a connected socket
/// whose queue was emptied since its connect), is each one's sender: the kernel is then not
/// asked for each one's.
#[cfg(target_os = "linux")]
pub(crate) fn recv_batch(
    socket: &mio::net::UdpSocket,
    buffers: &mut BatchBuffers,
    peer: Option<SocketAddr>,
) -> io::Result<(usize, Instant)> {
    debug_assert_eq!(buffers.slots.len(), buffers.slot_len * BATCH);
    let BatchBuffers {
        received,
        taken: received_count,
        headers,
        ..
    } = buffers;
    headers.ask_senders(peer.is_none());
    // The first header too after a call that failed: what it left is not relied on.
    headers.reset_lengths((*received_count).max(1));
    *received_count = 0;
    // SAFETY: the BATCH headers point at live buffers of `buffers`, which have not moved since
    // `pointing_at` set them (the slots are a boxed slice never resized, the other arrays sit
    // in the boxed headers; moving `BatchBuffers` moves only the boxes' pointers): each `iov`
    // over its slot, `storages` (or no name at all: a null `msg_name`, which the kernel takes
    // as "no sender wanted") and `controls`, with their lengths, reset above where the last
    // call shortened them (the kernel writes a header's lengths back only for a message it
    // received, and never the iovecs); the kernel writes within them and sets each `msg_len`;
    // no timeout is passed (null); the socket is open for the call. Only the kernel writes
    // through these pointers; Rust reads the arrays through `headers` after the call.
    let taken = unsafe {
        libc::recvmmsg(
            socket.as_raw_fd(),
            headers.messages.as_mut_ptr(),
            BATCH as _,
            libc::MSG_DONTWAIT as _,
            std::ptr::null_mut(),
        )
    };
    if taken < 0 {
        return Err(io::Error::last_os_error());
    }
    let taken = taken as usize;
    let clock = RealClock::now();
    let LinuxHeaders {
        storages,
        controls,
        messages,
        ..
    } = &**headers;
    for k in 0..taken {
        let header = &messages[k].msg_hdr;
        // A sender of no IP family loses its own datagram, not the batch the kernel handed over.
        let from = peer.or_else(|| sender(&storages[k], header.msg_namelen));
        received[k] = from.map(|from| Received {
            len: messages[k].msg_len as usize,
            from,
            arrived: arrival(&controls[k], header.msg_controllen as _, &clock),
        });
    }
    *received_count = taken;
    Ok((taken, clock.instant()))
}

/// [`recv_batch`] where the kernel has no `recvmmsg`: a datagram at a time, until the socket
/// is empty or the batch full (so that fewer than [`BATCH`] still means empty).
#[cfg(not(target_os = "linux"))]
pub(crate) fn recv_batch(
    socket: &mio::net::UdpSocket,
    buffers: &mut BatchBuffers,
    _peer: Option<SocketAddr>,
) -> io::Result<(usize, Instant)> {
    let mut taken = 0;
    buffers.taken = 0;
    for (k, slot) in buffers
        .slots
        .chunks_mut(buffers.slot_len)
        .take(BATCH)
        .enumerate()
    {
        match socket.recv_from(slot) {
            Ok((len, from)) => {
                buffers.received[k] = Some(Received {
                    len,
                    from,
                    arrived: RealClock::now().instant(),
                });
                taken += 1;
            }
            Err(error) if error.kind() == io::ErrorKind::WouldBlock && taken > 0 => break,
            Err(error) => return Err(error),
        }
    }
    buffers.taken = taken;
    Ok((taken, RealClock::now().instant()))
}

/// Reads what a stream has into `buf`: how many bytes, and when the latest of them arrived on
/// the loop's clock (its segment's kernel stamp; the loop's clock read after the read, without
/// one).
#[cfg(target_os = "linux")]
pub(crate) fn read_stamped(
    stream: &mio::net::TcpStream,
    buf: &mut [u8],
) -> io::Result<(usize, Instant)> {
    let mut control = [0u64; 8];
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: msghdr is plain old data; all zeroes is a valid (empty) value, filled in below.
    let mut message: libc::msghdr = unsafe { std::mem::zeroed() };
    message.msg_iov = &mut iov;
    message.msg_iovlen = 1;
    message.msg_control = control.as_mut_ptr().cast();
    message.msg_controllen = std::mem::size_of_val(&control) as _;
    // SAFETY: the message points at live buffers of this frame (`iov` over `buf`, `control`)
    // with their lengths; the kernel writes within them; the stream is open for the call.
    let read = unsafe { libc::recvmsg(stream.as_raw_fd(), &mut message, libc::MSG_DONTWAIT) };
    if read < 0 {
        return Err(io::Error::last_os_error());
    }
    // The clock read after the call: read before it, a moment the thread spent preempted in
    // between would be taken for the time since the stamp, and the bytes would arrive that
    // much too early (a request under its two delays, seen under load).
    let clock = RealClock::now();
    let arrived = arrival(&control, message.msg_controllen as usize, &clock);
    Ok((read as usize, arrived))
}

/// [`read_stamped`] without the kernel's stamps: the time of the read.
#[cfg(not(target_os = "linux"))]
pub(crate) fn read_stamped(
    mut stream: &mio::net::TcpStream,
    buf: &mut [u8],
) -> io::Result<(usize, Instant)> {
    use std::io::Read as _;
    let read = stream.read(buf)?;
    Ok((read, RealClock::now().instant()))
}

/// When a message arrived on the loop's clock: its stamp among the `len` bytes of control
/// messages in `control`, moved from the real clock onto the loop's by `clock` (read after the
/// message); the clock's now without a stamp, or with one not in the past.
#[cfg(target_os = "linux")]
fn arrival(control: &[u64; 8], len: usize, clock: &RealClock) -> Instant {
    let stamp = first_stamp(control, len).or_else(|| walked_stamp(control, len));
    stamp.map_or(clock.instant(), |stamp| clock.instant_of_real(stamp))
}

/// The stamp among the `len` bytes of control messages in `control`, wherever it is: the
/// slow way, kept out of the hot path for a kernel that ever puts it anywhere but first.
#[cfg(target_os = "linux")]
#[cold]
fn walked_stamp(control: &[u64; 8], len: usize) -> Option<Duration> {
    let mut bytes = [0u8; 64];
    for (chunk, word) in bytes.chunks_exact_mut(8).zip(control) {
        chunk.copy_from_slice(&word.to_ne_bytes());
    }
    timestamp(&bytes[..len.min(bytes.len())])
}

/// The stamp, when it is the first control message on a 64-bit Linux (the only one asked
/// for, so always): read from its words, where [`timestamp`] walks the bytes of any list.
#[cfg(target_os = "linux")]
fn first_stamp(control: &[u64; 8], len: usize) -> Option<Duration> {
    if !cfg!(target_pointer_width = "64") {
        return None;
    }
    // A cmsghdr of a word of length and two ints (level, type), then a timespec of two words.
    const STAMPED: usize = 4 * 8;
    let [length, kinds, seconds, nanos, ..] = *control;
    let kinds = kinds.to_ne_bytes();
    let level = i32::from_ne_bytes([kinds[0], kinds[1], kinds[2], kinds[3]]);
    let kind = i32::from_ne_bytes([kinds[4], kinds[5], kinds[6], kinds[7]]);
    let stamped = len >= STAMPED
        && length as usize >= STAMPED
        && level == libc::SOL_SOCKET
        && kind == libc::SCM_TIMESTAMPNS
        && nanos < 1_000_000_000;
    stamped.then(|| Duration::new(seconds, nanos as u32))
}

/// The sender's address, from what `recvmsg` wrote (`None` for no IP address). Out of line:
/// a connected socket's receives never ask for it, and it is most of `recv_batch`'s code.
#[cfg(target_os = "linux")]
#[inline(never)]
fn sender(storage: &libc::sockaddr_storage, len: libc::socklen_t) -> Option<SocketAddr> {
    use std::mem::size_of;
    use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV6};
    // Only an address the kernel wrote whole: a shorter one would leave part of an earlier
    // sender in the storage.
    let len = len as usize;
    match libc::c_int::from(storage.ss_family) {
        libc::AF_INET if len >= size_of::<libc::sockaddr_in>() => {
            // SAFETY: the family says the storage holds a sockaddr_in, which it is large and
            // aligned enough for (that is what sockaddr_storage is for).
            let v4 =
                unsafe { &*(storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
            let ip = Ipv4Addr::from(u32::from_be(v4.sin_addr.s_addr));
            Some(SocketAddr::from((ip, u16::from_be(v4.sin_port))))
        }
        libc::AF_INET6 if len >= size_of::<libc::sockaddr_in6>() => {
            // SAFETY: as above, for a sockaddr_in6.
            let v6 = unsafe {
                &*(storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>()
            };
            Some(SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::from(v6.sin6_addr.s6_addr),
                u16::from_be(v6.sin6_port),
                v6.sin6_flowinfo,
                v6.sin6_scope_id,
            )))
        }
        _ => None,
    }
}

/// The `SCM_TIMESTAMPNS` stamp among the control messages in `control`, read field by field
/// from their bytes (Linux's layout: a `cmsghdr` of length, level and type, then the data,
/// each aligned to the word).
#[cfg(target_os = "linux")]
fn timestamp(control: &[u8]) -> Option<Duration> {
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
            return Some(Duration::new(seconds, u32::try_from(nanos).ok()?));
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
        let mut buffers = BatchBuffers::new(64);
        let now = Instant::now();
        let taken = recv_batch(&receiver, &mut buffers, None).unwrap().0;
        assert_eq!(taken, 1);
        let (data, received) = buffers.datagram(0).unwrap();
        assert_eq!(
            (data, received.from),
            (&b"early"[..], sender.local_addr().unwrap())
        );
        // Came within a few ms of being sent, not at the read 100 ms later.
        let after_send = received.arrived.saturating_duration_since(sent);
        assert!(after_send < Duration::from_millis(20), "{after_send:?}");
        assert!(now - received.arrived >= Duration::from_millis(80));
        let error = recv_batch(&receiver, &mut buffers, None).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::WouldBlock);
    }

    #[test]
    fn a_batch_takes_many_datagrams_in_one_call_in_order() {
        let receiver = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        receiver.set_nonblocking(true).unwrap();
        let receiver = mio::net::UdpSocket::from_std(receiver);
        let sender = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        for k in 0..10u8 {
            sender
                .send_to(&[k; 3], receiver.local_addr().unwrap())
                .unwrap();
        }
        let mut buffers = BatchBuffers::new(64);
        assert_eq!(recv_batch(&receiver, &mut buffers, None).unwrap().0, BATCH);
        for k in 0..BATCH {
            assert_eq!(buffers.datagram(k).unwrap().0, &[k as u8; 3]);
        }
        assert_eq!(recv_batch(&receiver, &mut buffers, None).unwrap().0, 2);
        for k in 0..2 {
            assert_eq!(buffers.datagram(k).unwrap().0, &[k as u8 + 8; 3]);
        }
        assert!(
            buffers.datagram(2).is_none(),
            "nothing left from the call before"
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_stamp_read_from_words_is_the_one_read_from_bytes() {
        let receiver = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let receiver = mio::net::UdpSocket::from_std(receiver);
        stamp_arrivals(&receiver);
        let sender = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        sender
            .send_to(b"x", receiver.local_addr().unwrap())
            .unwrap();
        std::thread::sleep(Duration::from_millis(20));
        let mut buffers = BatchBuffers::new(16);
        assert_eq!(recv_batch(&receiver, &mut buffers, None).unwrap().0, 1);
        let control = buffers.headers.controls[0];
        let len: usize = buffers.headers.messages[0].msg_hdr.msg_controllen as _;
        let mut bytes = [0u8; 64];
        for (chunk, word) in bytes.chunks_exact_mut(8).zip(&control) {
            chunk.copy_from_slice(&word.to_ne_bytes());
        }
        let walked = timestamp(&bytes[..len]);
        assert!(walked.is_some(), "the kernel stamped it");
        assert_eq!(first_stamp(&control, len), walked);
        assert_eq!(first_stamp(&[0; 8], 0), None);
    }

    /// A short batch from a socket without stamps, then a full one from a socket with them,
    /// through the same buffers: every datagram of the second keeps its sender and its stamp
    /// (each header had its lengths back, not the first call's shortened ones).
    #[cfg(target_os = "linux")]
    #[test]
    fn a_batch_after_a_shorter_one_gets_whole_senders_and_stamps() {
        let socket = |stamped: bool| {
            let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            socket.set_nonblocking(true).unwrap();
            let socket = mio::net::UdpSocket::from_std(socket);
            if stamped {
                stamp_arrivals(&socket);
            }
            socket
        };
        let (plain, stamped) = (socket(false), socket(true));
        // Linux turns its receive stamps on a moment after a socket first asks for them.
        std::thread::sleep(Duration::from_millis(50));
        let sender = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        for _ in 0..2 {
            sender.send_to(b"p", plain.local_addr().unwrap()).unwrap();
        }
        for _ in 0..BATCH {
            sender.send_to(b"s", stamped.local_addr().unwrap()).unwrap();
        }
        let mut buffers = BatchBuffers::new(16);
        assert_eq!(recv_batch(&plain, &mut buffers, None).unwrap().0, 2);
        assert_eq!(recv_batch(&stamped, &mut buffers, None).unwrap().0, BATCH);
        for k in 0..BATCH {
            let (data, received) = buffers.datagram(k).unwrap();
            assert_eq!(
                (data, received.from),
                (&b"s"[..], sender.local_addr().unwrap())
            );
            let header = &buffers.headers.messages[k].msg_hdr;
            let len: usize = header.msg_controllen as _;
            assert!(
                first_stamp(&buffers.headers.controls[k], len).is_some(),
                "datagram {k} has no stamp"
            );
        }
    }

    /// A connected socket's batch names its peer without asking the kernel; the next batch,
    /// from an unconnected socket through the same buffers, has each sender from the kernel
    /// again (not the peer's, nor what an earlier call left).
    #[cfg(target_os = "linux")]
    #[test]
    fn a_connected_socket_names_its_peer_and_the_next_unconnected_one_its_senders() {
        let bound = || {
            let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            socket.set_nonblocking(true).unwrap();
            socket
        };
        let (connected, open, peer, other) = (bound(), bound(), bound(), bound());
        connected.connect(peer.local_addr().unwrap()).unwrap();
        let (connected, open) = (
            mio::net::UdpSocket::from_std(connected),
            mio::net::UdpSocket::from_std(open),
        );
        peer.send_to(b"c", connected.local_addr().unwrap()).unwrap();
        other.send_to(b"o", open.local_addr().unwrap()).unwrap();
        let mut buffers = BatchBuffers::new(16);
        let peer_addr = Some(peer.local_addr().unwrap());
        let receive = |socket, buffers: &mut BatchBuffers, from| {
            assert_eq!(recv_batch(socket, buffers, from).unwrap().0, 1);
            let (data, received) = buffers.datagram(0).unwrap();
            (data.to_vec(), received.from)
        };
        assert_eq!(
            receive(&connected, &mut buffers, peer_addr),
            (b"c".to_vec(), peer.local_addr().unwrap())
        );
        assert!(buffers.headers.messages[0].msg_hdr.msg_name.is_null());
        assert_eq!(
            receive(&open, &mut buffers, None),
            (b"o".to_vec(), other.local_addr().unwrap())
        );
    }

    #[test]
    fn control_messages_without_a_stamp_give_none() {
        assert_eq!(timestamp(&[]), None);
        assert_eq!(timestamp(&[0; 16]), None);
    }
}
