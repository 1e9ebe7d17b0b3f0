//! `--local-ips`: the bots' TCP connections and UDP sockets leave from the pool's addresses in
//! turn — seen from the servers' side, by the peer address of each connection and datagram —
//! and an address that is not this machine's is refused before anything runs.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::time::Duration;

use ttk::Cx;
use ttk::harness::{LoadTest, Session};
use ttk::net::{SourcePool, TcpStream};

/// Bots of the run.
const BOTS: usize = 8;

/// Connects to `tcp` (and says one byte), then sends a datagram to `udp` from a socket bound
/// to any address: both from the pool, if the run has one.
#[ttk::bot]
fn pooled(cx: Cx, _session: Session, tcp: SocketAddr, udp: SocketAddr) -> std::io::Result<()> {
    let stream = ttk::yield_!(TcpStream::connect(tcp))?;
    ttk::yield_!(stream.write_all(b"x"))?;
    let socket = ttk::net::UdpSocket::bind("0.0.0.0:0")?;
    ttk::yield_!(socket.send_to(b"y", udp))?;
    cx.transaction("sent").ok();
    Ok(())
}

/// How many connections and datagrams came from each address.
fn tally(addresses: impl IntoIterator<Item = SocketAddr>) -> BTreeMap<String, usize> {
    let mut seen = BTreeMap::new();
    for address in addresses {
        *seen.entry(address.ip().to_string()).or_default() += 1;
    }
    seen
}

#[test]
fn connections_and_datagrams_leave_from_the_pools_addresses_in_turn() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    udp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let (tcp_addr, udp_addr) = (listener.local_addr().unwrap(), udp.local_addr().unwrap());
    let accepting = std::thread::spawn(move || {
        (0..BOTS)
            .map(|_| {
                let (mut stream, peer) = listener.accept().unwrap();
                let _ = stream.read(&mut [0; 1]);
                peer
            })
            .collect::<Vec<_>>()
    });
    let receiving = std::thread::spawn(move || {
        (0..BOTS)
            .map(|_| udp.recv_from(&mut [0; 8]).unwrap().1)
            .collect::<Vec<_>>()
    });
    let args = [
        "pool",
        "--bots",
        "8",
        "--local-ips",
        "127.0.0.2-127.0.0.5",
        "--workers",
        "1",
        "-q",
    ];
    let test = LoadTest::try_from_args("pool", args).unwrap();
    let outcome = test.run(move |cx, session| pooled(cx, session, tcp_addr, udp_addr));
    assert_eq!(outcome.report.transaction("sent").unwrap().ok, BOTS as u64);
    let expected: BTreeMap<String, usize> = (2..=5)
        .map(|last| (format!("127.0.0.{last}"), BOTS / 4))
        .collect();
    assert_eq!(tally(accepting.join().unwrap()), expected, "TCP peers");
    assert_eq!(tally(receiving.join().unwrap()), expected, "UDP peers");
    // The pool was the run's: the process has none after it.
    assert!(SourcePool::default_pool().is_none());
}

#[test]
fn an_address_of_another_machine_is_refused_before_the_run() {
    let error = LoadTest::try_from_args("pool", ["pool", "--local-ips", "127.0.0.2,192.0.2.1"])
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("192.0.2.1 is not an address of this machine"),
        "{error}"
    );
    let error = LoadTest::try_from_args("pool", ["pool", "--local-ips", "127.0.0.9-127.0.0.2"])
        .unwrap_err()
        .to_string();
    assert!(error.contains("ends before it starts"), "{error}");
}
