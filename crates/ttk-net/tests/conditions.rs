//! Network conditions on UDP sockets, measured against a real echo server on loopback (a
//! thread with the standard library's socket, timestamping what arrives): round trips take the
//! profile's delay each way, with its jitter's spread; losses come at their rate and are the
//! same for the same seed; a datagram held back goes out when due while its bot sleeps; a
//! capped link paces what it sends.

use std::net::{SocketAddr, UdpSocket as StdUdpSocket};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ttk_core::{Cx, Runtime};
use ttk_macros::bot;
use ttk_net::{NetProfile, UdpSocket};

/// What arrived, and when.
type Arrivals = Vec<(Instant, Vec<u8>)>;

/// An echo server: answers every datagram, and notes when each arrived, until dropped.
struct Echo {
    addr: SocketAddr,
    arrivals: Arc<Mutex<Arrivals>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Echo {
    fn start() -> Echo {
        let socket = StdUdpSocket::bind("127.0.0.1:0").unwrap();
        // Short waits, so that a stop is seen soon whatever the socket's queue holds.
        socket
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let addr = socket.local_addr().unwrap();
        let arrivals = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (noted, stopping) = (Arc::clone(&arrivals), Arc::clone(&stop));
        let thread = std::thread::spawn(move || {
            let mut buf = [0; 2048];
            while !stopping.load(std::sync::atomic::Ordering::Relaxed) {
                let Ok((n, from)) = socket.recv_from(&mut buf) else {
                    continue;
                };
                noted
                    .lock()
                    .unwrap()
                    .push((Instant::now(), buf[..n].to_vec()));
                let _ = socket.send_to(&buf[..n], from);
            }
        });
        Echo {
            addr,
            arrivals,
            stop,
            thread: Some(thread),
        }
    }

    fn arrivals(&self) -> Arrivals {
        self.arrivals.lock().unwrap().clone()
    }
}

impl Drop for Echo {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// `pings` round trips through `profile`, each waited for up to `patience`: the round-trip
/// times of those answered (milliseconds), and the numbers of those that were not.
#[bot(crate = ttk_core)]
fn pinger(
    _cx: Cx,
    _id: usize,
    server: SocketAddr,
    profile: NetProfile,
    pings: u32,
    patience: Duration,
) -> (Vec<f64>, Vec<u32>) {
    let mut socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.set_conditions(&profile);
    let (mut times, mut lost) = (Vec::new(), Vec::new());
    let mut buf = [0; 64];
    for ping in 0..pings {
        let sent = ttk_core::now();
        ttk_core::yield_!(socket.send_to(&ping.to_be_bytes(), server)).unwrap();
        // An answer to an earlier ping that came late is not this one's.
        loop {
            match ttk_core::yield_!(ttk_core::timeout(patience, socket.recv_from(&mut buf))) {
                Ok(Ok((4, _))) if buf[..4] == ping.to_be_bytes() => {
                    times.push((ttk_core::now() - sent).as_secs_f64() * 1e3);
                    break;
                }
                Ok(_) => continue,
                Err(_) => {
                    lost.push(ping);
                    break;
                }
            }
        }
    }
    (times, lost)
}

/// The `q` quantile of sorted `values`.
fn quantile(values: &[f64], q: f64) -> f64 {
    values[((values.len() - 1) as f64 * q).round() as usize]
}

#[test]
fn round_trips_take_the_delay_each_way_with_its_spread() {
    let echo = Echo::start();
    let profile: NetProfile = "delay=20ms±5ms".parse().unwrap();
    let server = echo.addr;
    let results = Runtime::new().seed(1).run(50, move |cx, id| {
        pinger(cx, id, server, profile.clone(), 12, Duration::from_secs(1))
    });
    let mut times: Vec<f64> = results
        .iter()
        .flat_map(|(times, _)| times.clone())
        .collect();
    times.sort_by(f64::total_cmp);
    assert_eq!(times.len(), 600, "no loss was asked for");
    // Two uniform delays of 15..25 ms: a triangle on 30..50 ms, its median 40 ms, its 99th
    // percentile 50 - 10·√0.02 = 48.6 ms; loopback and the loop add a fraction of a ms.
    let (p50, p99) = (quantile(&times, 0.5), quantile(&times, 0.99));
    // (Margins: 600 round trips put the median within a few tenths of 40 ms either way, and a
    // loaded machine's scheduling adds; past them a wrong spread would show.)
    assert!((39.0..45.0).contains(&p50), "p50 {p50:.2} ms");
    assert!((47.6..60.0).contains(&p99), "p99 {p99:.2} ms");
    assert!(times[0] >= 30.0, "fastest {:.2} ms", times[0]);
}

#[test]
fn losses_come_at_their_rate_and_the_same_for_the_same_seed() {
    let echo = Echo::start();
    let server = echo.addr;
    let lost_with = |seed: u64| {
        let profile: NetProfile = "loss=10%".parse().unwrap();
        Runtime::new().seed(seed).run(20, move |cx, id| {
            pinger(
                cx,
                id,
                server,
                profile.clone(),
                50,
                Duration::from_millis(100),
            )
        })
    };
    let first = lost_with(9);
    let lost: usize = first.iter().map(|(_, lost)| lost.len()).sum();
    // Each way 10 %: 19 % of 1,000 round trips lost (a standard deviation of 12).
    assert!((140..240).contains(&lost), "{lost} of 1000 lost");
    let again = lost_with(9);
    let losses = |results: &[(Vec<f64>, Vec<u32>)]| -> Vec<Vec<u32>> {
        results.iter().map(|(_, lost)| lost.clone()).collect()
    };
    assert_eq!(
        losses(&first),
        losses(&again),
        "one seed, one pattern of losses"
    );
    assert_ne!(losses(&first), losses(&lost_with(10)));
}

/// Sends one datagram through a 50 ms delay, then sleeps 300 ms.
#[bot(crate = ttk_core)]
fn sender_that_sleeps(_cx: Cx, _id: usize, server: SocketAddr) -> Instant {
    let mut socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.set_conditions(&"delay=50ms".parse().unwrap());
    let sent = Instant::now();
    ttk_core::yield_!(socket.send_to(b"late", server)).unwrap();
    ttk_core::yield_!(ttk_core::sleep(Duration::from_millis(300)));
    sent
}

#[test]
fn a_held_datagram_goes_out_when_due_while_its_bot_sleeps() {
    let echo = Echo::start();
    let server = echo.addr;
    let sent = ttk_core::run(1, move |cx, id| sender_that_sleeps(cx, id, server))[0];
    let arrivals = echo.arrivals();
    assert_eq!(arrivals.len(), 1);
    let after = arrivals[0].0 - sent;
    assert!(
        (Duration::from_millis(50)..Duration::from_millis(80)).contains(&after),
        "arrived {after:?} after it was sent"
    );
}

/// Bot 0 sends its last datagram through a 50 ms delay and ends, its socket closed with it;
/// bot 1 keeps the run going for 300 ms.
#[bot(crate = ttk_core)]
fn last_word_then_gone(_cx: Cx, id: usize, server: SocketAddr) -> Instant {
    let sent = Instant::now();
    if id == 0 {
        let mut socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket.set_conditions(&"delay=50ms".parse().unwrap());
        ttk_core::yield_!(socket.send_to(b"LEAVE", server)).unwrap();
    } else {
        ttk_core::yield_!(ttk_core::sleep(Duration::from_millis(300)));
    }
    sent
}

/// A datagram sent is on its way though its socket closed right after (a player's last
/// `LEAVE`): it leaves when due, not with the socket (which lost it: 0 of 200 at a game
/// server).
#[test]
fn a_held_datagram_leaves_when_due_though_its_socket_closed() {
    let echo = Echo::start();
    let server = echo.addr;
    let sent = ttk_core::run(2, move |cx, id| last_word_then_gone(cx, id, server))[0];
    let arrivals = echo.arrivals();
    assert_eq!(arrivals.len(), 1, "the LEAVE arrived");
    assert_eq!(arrivals[0].1, b"LEAVE");
    let after = arrivals[0].0 - sent;
    assert!(
        after >= Duration::from_millis(50),
        "arrived {after:?} after it was sent: not when due"
    );
}

/// Sends 20 datagrams of 1,250 bytes at once through a 1 Mbit/s link.
#[bot(crate = ttk_core)]
fn burst(_cx: Cx, _id: usize, server: SocketAddr) -> Instant {
    let mut socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.set_conditions(&"up=1mbit".parse().unwrap());
    let sent = Instant::now();
    for k in 0..20u8 {
        ttk_core::yield_!(socket.send_to(&[k; 1250], server)).unwrap();
    }
    ttk_core::yield_!(ttk_core::sleep(Duration::from_millis(400)));
    sent
}

#[test]
fn a_capped_link_paces_its_datagrams() {
    let echo = Echo::start();
    let server = echo.addr;
    let sent = ttk_core::run(1, move |cx, id| burst(cx, id, server))[0];
    let arrivals = echo.arrivals();
    assert_eq!(arrivals.len(), 20);
    // 10 ms of the link each, in order: the last at 200 ms.
    for (k, (at, data)) in arrivals.iter().enumerate() {
        assert_eq!(data[0] as usize, k, "in order");
        let expected = Duration::from_millis(10 * (k as u64 + 1));
        let after = *at - sent;
        assert!(
            after >= expected && after < expected + Duration::from_millis(60),
            "datagram {k} after {after:?}, due at {expected:?}"
        );
    }
}

/// A TCP server on a thread: for each connection, echoes until the client closes, or (if the
/// client's first byte is `b'S'`) sends `stream_bytes` and closes.
fn tcp_server(stream_bytes: usize) -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            std::thread::spawn(move || {
                use std::io::{Read as _, Write as _};
                let mut buf = [0; 4096];
                loop {
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) if buf[0] == b'S' => {
                            let _ = n;
                            let _ = stream.write_all(&vec![7; stream_bytes]);
                            return;
                        }
                        Ok(n) => {
                            if stream.write_all(&buf[..n]).is_err() {
                                return;
                            }
                        }
                    }
                }
            });
        }
    });
    addr
}

/// 20 round trips of 16 bytes over a stream through `profile`: their times (ms).
#[bot(crate = ttk_core)]
fn stream_pinger(_cx: Cx, _id: usize, server: SocketAddr, profile: NetProfile) -> Vec<f64> {
    let mut stream = ttk_core::yield_!(ttk_net::TcpStream::connect(server)).unwrap();
    stream.set_conditions(&profile);
    let mut times = Vec::new();
    let mut buf = [0; 16];
    for ping in 0..20u8 {
        let sent = ttk_core::now();
        ttk_core::yield_!(stream.write_all(&[ping; 16])).unwrap();
        ttk_core::yield_!(stream.read_exact(&mut buf)).unwrap();
        assert_eq!(buf, [ping; 16]);
        times.push((ttk_core::now() - sent).as_secs_f64() * 1e3);
    }
    times
}

#[test]
fn a_streams_round_trips_take_the_delay_each_way_in_order() {
    let server = tcp_server(0);
    let profile: NetProfile = "delay=25ms±10ms".parse().unwrap();
    let results = ttk_core::run(10, move |cx, id| {
        stream_pinger(cx, id, server, profile.clone())
    });
    let mut times: Vec<f64> = results.concat();
    times.sort_by(f64::total_cmp);
    // Each way 15..35 ms (a stream keeps order, so a byte never beats the one before).
    assert!(times[0] >= 30.0, "fastest {:.2} ms", times[0]);
    let p50 = quantile(&times, 0.5);
    assert!((45.0..57.0).contains(&p50), "p50 {p50:.2} ms");
    assert!(
        times[times.len() - 1] < 80.0,
        "slowest {:.2}",
        times[times.len() - 1]
    );
}

/// Asks the server for its stream and reads it to its end through a 1 Mbit/s link: how long
/// it took, and how many bytes came.
#[bot(crate = ttk_core)]
fn download(_cx: Cx, _id: usize, server: SocketAddr) -> (Duration, usize) {
    let mut stream = ttk_core::yield_!(ttk_net::TcpStream::connect(server)).unwrap();
    stream.set_conditions(&"down=1mbit delay=20ms".parse().unwrap());
    let started = ttk_core::now();
    ttk_core::yield_!(stream.write_all(b"S")).unwrap();
    let mut buf = vec![0; 8192];
    let mut got = 0;
    loop {
        match ttk_core::yield_!(stream.read(&mut buf)).unwrap() {
            0 => return (ttk_core::now() - started, got),
            n => got += n,
        }
    }
}

#[test]
fn a_capped_stream_downloads_at_its_rate_and_ends_after_its_last_byte() {
    // 125,000 bytes are a megabit: a second at 1 Mbit/s, plus 20 ms each way.
    let server = tcp_server(125_000);
    let (took, got) = ttk_core::run(1, move |cx, id| download(cx, id, server))[0];
    assert_eq!(got, 125_000);
    assert!(
        (Duration::from_millis(1_000)..Duration::from_millis(1_600)).contains(&took),
        "took {took:?}"
    );
}

/// Sends a datagram every millisecond for two seconds through a jittery link (each new
/// earliest datagram asks the loop for an earlier send): the most timed actions pending at once.
#[bot(crate = ttk_core)]
fn steady_sender(_cx: Cx, _id: usize, server: SocketAddr) -> usize {
    let mut socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.set_conditions(&"delay=20ms±15ms".parse().unwrap());
    let mut most = 0;
    for _ in 0..2_000 {
        ttk_core::yield_!(socket.send_to(b"tick", server)).unwrap();
        most = most.max(ttk_core::io::pending_actions());
        ttk_core::yield_!(ttk_core::sleep(Duration::from_millis(1)));
    }
    most
}

#[test]
fn a_steady_sender_keeps_few_timed_actions_pending() {
    let echo = Echo::start();
    let server = echo.addr;
    let most = Runtime::new()
        .virtual_time(true)
        .run(1, move |cx, id| steady_sender(cx, id, server))[0];
    // The send asked for, and those an earlier datagram overtook until their time passes.
    assert!(most <= 20, "{most} timed actions pending at once");
}

/// Writes 0..=255 repeatedly through `delay=30ms`, clears the profile halfway, and reads the
/// echo back: every byte, in order.
#[bot(crate = ttk_core)]
fn profile_changed_midway(_cx: Cx, _id: usize, server: SocketAddr) -> bool {
    let mut stream = ttk_core::yield_!(ttk_net::TcpStream::connect(server)).unwrap();
    stream.set_conditions(&"delay=30ms±20ms".parse().unwrap());
    let sent: Vec<u8> = (0..40_000u32).map(|k| (k % 251) as u8).collect();
    let (first, second) = sent.split_at(20_000);
    for piece in first.chunks(1_000) {
        ttk_core::yield_!(stream.write_all(piece)).unwrap();
    }
    stream.set_conditions(&NetProfile::default());
    for piece in second.chunks(1_000) {
        ttk_core::yield_!(stream.write_all(piece)).unwrap();
    }
    let mut echoed = vec![0; sent.len()];
    ttk_core::yield_!(stream.read_exact(&mut echoed)).unwrap();
    echoed == sent
}

#[test]
fn a_profile_changed_on_a_stream_in_use_keeps_every_byte_in_order() {
    let server = tcp_server(0);
    assert!(ttk_core::run(1, move |cx, id| profile_changed_midway(cx, id, server))[0]);
}

/// A datagram comes while the bot sleeps 100 ms; through `delay=50ms` it is due 50 ms after it
/// came, so the read after the sleep has it at once. Another, read as soon as it comes, waits
/// its 50 ms. Returns how long each read took (ms).
#[bot(crate = ttk_core)]
fn reads_late_and_early(_cx: Cx, _id: usize) -> (f64, f64) {
    let mut socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.set_conditions(&"delay=50ms".parse().unwrap());
    let to = socket.local_addr().unwrap();
    let pusher = StdUdpSocket::bind("127.0.0.1:0").unwrap();
    let mut buf = [0; 16];
    // Linux turns its receive stamps on a moment after a socket first asks for them.
    ttk_core::yield_!(ttk_core::sleep(Duration::from_millis(50)));
    pusher.send_to(b"pushed", to).unwrap();
    ttk_core::yield_!(ttk_core::sleep(Duration::from_millis(100)));
    let started = ttk_core::now();
    ttk_core::yield_!(socket.recv_from(&mut buf)).unwrap();
    let late = (ttk_core::now() - started).as_secs_f64() * 1e3;
    pusher.send_to(b"again", to).unwrap();
    let started = ttk_core::now();
    ttk_core::yield_!(socket.recv_from(&mut buf)).unwrap();
    let early = (ttk_core::now() - started).as_secs_f64() * 1e3;
    (late, early)
}

#[test]
fn a_datagrams_delay_runs_from_when_it_came_not_from_the_read() {
    let (late, early) = ttk_core::run(1, reads_late_and_early)[0];
    assert!(late < 10.0, "read after the sleep took {late:.1} ms");
    assert!(
        (49.0..80.0).contains(&early),
        "read at once took {early:.1} ms"
    );
}

/// Through `profile` (a delay of 50 ms), five datagrams come while the bot sleeps 100 ms and
/// three more just before it reads: the five are due as they are read, the three 50 ms later.
/// Returns what came, in order, and when (ms after the first read began).
#[bot(crate = ttk_core)]
fn reads_a_backlog(_cx: Cx, _id: usize, profile: &'static str) -> Vec<(u8, f64)> {
    let mut socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.set_conditions(&profile.parse().unwrap());
    let to = socket.local_addr().unwrap();
    let pusher = StdUdpSocket::bind("127.0.0.1:0").unwrap();
    // Linux turns its receive stamps on a moment after a socket first asks for them.
    ttk_core::yield_!(ttk_core::sleep(Duration::from_millis(50)));
    for k in 0..5u8 {
        pusher.send_to(&[k], to).unwrap();
    }
    ttk_core::yield_!(ttk_core::sleep(Duration::from_millis(100)));
    for k in 5..8u8 {
        pusher.send_to(&[k], to).unwrap();
    }
    let started = ttk_core::now();
    let mut came = Vec::new();
    let mut buf = [0; 4];
    while let Ok(Ok(_)) = ttk_core::yield_!(ttk_core::timeout(
        Duration::from_millis(300),
        socket.recv_from(&mut buf)
    )) {
        came.push((buf[0], (ttk_core::now() - started).as_secs_f64() * 1e3));
    }
    came
}

#[test]
fn a_backlog_read_late_comes_in_order_each_datagram_once_or_twice_when_duplicated() {
    for (profile, copies) in [("delay=50ms", 1), ("delay=50ms duplicate=100%", 2)] {
        let came = ttk_core::run(1, move |cx, id| reads_a_backlog(cx, id, profile)).remove(0);
        let order: Vec<u8> = came.iter().map(|&(k, _)| k).collect();
        let expected: Vec<u8> = (0..8u8)
            .flat_map(|k| std::iter::repeat_n(k, copies))
            .collect();
        assert_eq!(order, expected, "{profile}: {came:?}");
        for &(k, at) in &came {
            if k < 5 {
                assert!(
                    at < 10.0,
                    "{profile}: {k}, due before the read, after {at:.1} ms"
                );
            } else {
                assert!(
                    (45.0..90.0).contains(&at),
                    "{profile}: {k} after {at:.1} ms"
                );
            }
        }
    }
}

/// 1,200 datagrams come in three bursts 30 ms apart to a socket through `delay=100ms`: more than
/// the 1,000 it holds back at once. It receives them all the same (the last burst waits in the
/// kernel meanwhile), on a virtual clock too: how many came.
#[bot(crate = ttk_core)]
fn flooded(_cx: Cx, _id: usize) -> usize {
    let mut socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    // Room in the kernel for a burst that waits there (as far as the system allows).
    socket2::SockRef::from(&socket)
        .set_recv_buffer_size(4 << 20)
        .unwrap();
    socket.set_conditions(&"delay=100ms".parse().unwrap());
    let to = socket.local_addr().unwrap();
    std::thread::spawn(move || {
        let flood = StdUdpSocket::bind("127.0.0.1:0").unwrap();
        for burst in 0..3u32 {
            std::thread::sleep(Duration::from_millis(30));
            for k in 0..400 {
                flood.send_to(&(burst * 400 + k).to_be_bytes(), to).unwrap();
            }
        }
    });
    let mut buf = [0; 8];
    let mut came = 0;
    while let Ok(Ok(_)) = ttk_core::yield_!(ttk_core::timeout(
        Duration::from_secs(2),
        socket.recv_from(&mut buf)
    )) {
        came += 1;
    }
    came
}

#[test]
fn a_socket_holding_all_it_may_waits_instead_of_spinning() {
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let came = Runtime::new().virtual_time(true).run(1, flooded)[0];
        let _ = done.send(came);
    });
    let came = finished
        .recv_timeout(Duration::from_secs(20))
        .expect("the run hung: a full socket spun on its reads");
    assert_eq!(came, 1_200, "every datagram, the full queue waited out");
}

/// The server pushes bytes while the bot sleeps 100 ms; through `delay=50ms` they are due 50 ms
/// after they came, so the read after the sleep has them at once: how long it took (ms).
#[bot(crate = ttk_core)]
fn stream_read_late(_cx: Cx, _id: usize) -> f64 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let mut stream = ttk_core::yield_!(ttk_net::TcpStream::connect(addr)).unwrap();
    let (mut server, _) = listener.accept().unwrap();
    stream.set_conditions(&"delay=50ms".parse().unwrap());
    // Linux turns its receive stamps on a moment after a socket first asks for them.
    ttk_core::yield_!(ttk_core::sleep(Duration::from_millis(50)));
    std::io::Write::write_all(&mut server, b"pushed").unwrap();
    ttk_core::yield_!(ttk_core::sleep(Duration::from_millis(100)));
    let started = ttk_core::now();
    let mut buf = [0; 6];
    ttk_core::yield_!(stream.read_exact(&mut buf)).unwrap();
    (ttk_core::now() - started).as_secs_f64() * 1e3
}

#[test]
fn a_streams_delay_runs_from_when_its_bytes_came() {
    let took = ttk_core::run(1, stream_read_late)[0];
    assert!(took < 10.0, "read after the sleep took {took:.1} ms");
}

/// Connects to `server` through an hour's delay, writes its last words and, if `shut`, shuts
/// its writing side; ends then, handing its stream back (so that it is still open after the
/// run) or dropping it.
#[bot(crate = ttk_core)]
fn last_words(
    _cx: Cx,
    _id: usize,
    server: SocketAddr,
    shut: bool,
    keep: bool,
) -> Option<ttk_net::TcpStream> {
    let mut stream = ttk_core::yield_!(ttk_net::TcpStream::connect(server)).unwrap();
    stream.set_conditions(&"delay=3600s".parse().unwrap());
    ttk_core::yield_!(stream.write_all(b"PRIVMSG #room :bye\r\n")).unwrap();
    ttk_core::yield_!(stream.write_all(b"QUIT\r\n")).unwrap();
    if shut {
        stream.shutdown(std::net::Shutdown::Write).unwrap();
    }
    keep.then_some(stream)
}

/// What the server read on the connection of a `last_words` bot run with `shut` and `keep`,
/// up to its end or a second's silence.
fn server_heard(shut: bool, keep: bool) -> Vec<u8> {
    use std::io::Read as _;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let server = listener.local_addr().unwrap();
    let kept = ttk_core::run(1, move |cx, id| last_words(cx, id, server, shut, keep));
    let (mut accepted, _) = listener.accept().unwrap();
    accepted
        .set_read_timeout(Some(Duration::from_secs(1)))
        .unwrap();
    let mut heard = Vec::new();
    let mut buf = [0; 256];
    loop {
        match accepted.read(&mut buf) {
            Ok(0) => {
                heard.extend_from_slice(b"<end>");
                break;
            }
            Ok(n) => heard.extend_from_slice(&buf[..n]),
            Err(_) => break,
        }
    }
    drop(kept);
    heard
}

#[test]
fn what_a_stream_still_holds_when_the_run_ends_is_written_then_in_order() {
    // Dropped by its bot: its bytes go, then its close, as the kernel's buffered bytes would.
    assert_eq!(
        server_heard(false, false),
        b"PRIVMSG #room :bye\r\nQUIT\r\n<end>"
    );
    // Still open after the run: its bytes go, and its writing side is shut after them only if
    // its bot asked.
    assert_eq!(
        server_heard(true, true),
        b"PRIVMSG #room :bye\r\nQUIT\r\n<end>"
    );
    assert_eq!(server_heard(false, true), b"PRIVMSG #room :bye\r\nQUIT\r\n");
}

/// Senders a conditioned socket reports, with who sent: a stranger's datagram that came before
/// the connect, the peer's just after it, and the peer's once the socket was read empty; and
/// whether a connect to port 0 (which Linux takes, and names no peer for) succeeds.
#[bot(crate = ttk_core)]
fn senders_around_a_connect(_cx: Cx, _id: usize) -> std::io::Result<(Vec<SocketAddr>, bool)> {
    let mut socket = UdpSocket::bind("127.0.0.1:0")?;
    socket.set_conditions(&"delay=1ms".parse().unwrap());
    let stranger = StdUdpSocket::bind("127.0.0.1:0")?;
    let peer = StdUdpSocket::bind("127.0.0.1:0")?;
    let to = socket.local_addr()?;
    stranger.send_to(b"early", to)?;
    socket.connect(peer.local_addr()?)?;
    peer.send_to(b"late", to)?;
    let mut senders = vec![stranger.local_addr()?, peer.local_addr()?];
    let mut buf = [0; 16];
    // One drain takes both: the kernel is asked for each sender.
    for _ in 0..2 {
        senders.push(ttk_core::yield_!(socket.recv_from(&mut buf))?.1);
    }
    // The socket was read empty since the connect: its peer is the sender from here on.
    peer.send_to(b"later", to)?;
    senders.push(ttk_core::yield_!(socket.recv_from(&mut buf))?.1);
    let mut zero = UdpSocket::bind("127.0.0.1:0")?;
    zero.set_conditions(&"delay=1ms".parse().unwrap());
    let port_zero = zero.connect("127.0.0.1:0".parse().unwrap()).is_ok();
    Ok((senders, port_zero))
}

#[test]
fn a_datagram_from_before_the_connect_keeps_its_sender() {
    let (senders, port_zero) = ttk_core::run(1, senders_around_a_connect)
        .pop()
        .unwrap()
        .unwrap();
    let (stranger, peer) = (senders[0], senders[1]);
    assert_eq!(senders[2..], [stranger, peer, peer], "{senders:?}");
    assert!(
        port_zero,
        "a connect Linux takes is no error under conditions"
    );
}
