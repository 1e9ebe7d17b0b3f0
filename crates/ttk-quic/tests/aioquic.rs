//! QUIC against aioquic's server (a QUIC stack no one here wrote, from PyPI): streams both
//! ways and datagrams echoed and counted by the server, through an emulated lossy network too;
//! certificates, ALPN and datagram refusals named by kind; sessions resumed.

mod support;

use std::io;
use std::time::Duration;

use support::aioquic::{Aioquic, Certificate};
use ttk_core::Cx;
use ttk_core::metrics::Failure;
use ttk_macros::bot;
use ttk_net::UdpSocket;
use ttk_quic::{QuicConnection, QuicConnector};
use ttk_tls::TlsConnector;

const ALPN: &str = "ttk-echo";

/// A connector trusting `server`'s CA only.
fn connector(server: &Aioquic) -> QuicConnector {
    let tls = TlsConnector::builder()
        .system_roots(false)
        .ca_pem(&server.ca_pem)
        .unwrap()
        .build()
        .unwrap();
    QuicConnector::new(&tls, &[ALPN]).unwrap()
}

/// Runs `bots` of `bot` against `server`, each with a connector of its own (its own session
/// cache, trusting the server's CA): their outcomes, each unwrapped.
fn run_bots<T, F>(
    server: &Aioquic,
    bots: usize,
    bot: impl Fn(Cx, usize, std::net::SocketAddr, QuicConnector) -> F + 'static,
) -> Vec<T>
where
    F: std::future::Future<Output = io::Result<T>> + 'static,
    T: 'static,
{
    let connector = connector(server);
    let addr = server.addr;
    ttk_core::run(bots, move |cx, id| {
        bot(cx, id, addr, connector.for_one_client())
    })
    .into_iter()
    .map(|outcome| outcome.unwrap())
    .collect()
}

/// What one bot sent and got back.
#[derive(Debug, Default)]
struct Sent {
    bi_bytes: u64,
    uni_bytes: u64,
    datagrams: u64,
    datagrams_back: u64,
}

/// One player's session: three bidirectional streams of 10 KiB echoed exactly (in turn), two
/// unidirectional streams of 5,000 bytes, five datagrams echoed; then a close. With `profile`,
/// its socket goes through that emulated network.
#[bot(crate = ttk_core)]
fn session(
    _cx: Cx,
    id: usize,
    addr: std::net::SocketAddr,
    connector: QuicConnector,
    profile: Option<&'static str>,
) -> io::Result<Sent> {
    let mut socket = UdpSocket::bind("127.0.0.1:0")?;
    if let Some(profile) = profile {
        socket.set_conditions(&profile.parse().unwrap());
    }
    let connection = ttk_core::yield_!(QuicConnection::connect_on(
        socket,
        addr,
        "localhost",
        &connector
    ))?;
    assert_eq!(connection.alpn_protocol().as_deref(), Some(ALPN.as_bytes()));
    let mut sent = Sent::default();
    for round in 0..3u8 {
        let data: Vec<u8> = (0..10 * 1024)
            .map(|i| (i as u8) ^ round ^ id as u8)
            .collect();
        let mut stream = ttk_core::yield_!(connection.open_bi())?;
        ttk_core::yield_!(stream.write_all(&data))?;
        stream.finish()?;
        let echoed = ttk_core::yield_!(stream.read_to_end(1 << 20))?;
        assert!(echoed == data, "stream {} came back changed", stream.id());
        sent.bi_bytes += data.len() as u64;
    }
    let mut uploads = Vec::new();
    for _ in 0..2 {
        let mut stream = ttk_core::yield_!(connection.open_uni())?;
        ttk_core::yield_!(stream.write_all(&[7; 5_000]))?;
        stream.finish()?;
        sent.uni_bytes += 5_000;
        uploads.push(stream);
    }
    for turn in 0..5u8 {
        connection.send_datagram(&[id as u8, turn])?;
        sent.datagrams += 1;
        // A datagram may be lost (under a lossy profile): its echo is waited for a while.
        let back = ttk_core::yield_!(ttk_core::timeout(
            Duration::from_secs(2),
            connection.recv_datagram()
        ));
        if let Ok(back) = back {
            assert_eq!(back?[0], id as u8);
            sent.datagrams_back += 1;
        }
    }
    // What the unidirectional streams carried arrived before the close drops it.
    for upload in &mut uploads {
        ttk_core::yield_!(upload.delivered())?;
    }
    ttk_core::yield_!(connection.close(7, b"done"));
    // The connection's last handles (its streams hold it too).
    drop((uploads, connection));
    // The run goes on a while (others' bots would): what the link still holds of this one —
    // its close — leaves, though the connection is gone. (A timed action still pending when a
    // run ends is dropped with it.)
    ttk_core::yield_!(ttk_core::sleep(Duration::from_millis(100)));
    Ok(sent)
}

fn run_sessions(server: &Aioquic, bots: usize, profile: Option<&'static str>) -> Vec<Sent> {
    let connector = connector(server);
    let addr = server.addr;
    ttk_core::run(bots, move |cx, id| {
        session(cx, id, addr, connector.for_one_client(), profile)
    })
    .into_iter()
    .map(|outcome| outcome.unwrap())
    .collect()
}

#[test]
fn streams_and_datagrams_echo_and_the_servers_counts_equal_the_bots() {
    let Some(server) = Aioquic::start(ALPN, "", Certificate::Good) else {
        return;
    };
    let bots = 20;
    let sent = run_sessions(&server, bots, None);
    let counts = server.finish();
    let sum = |f: fn(&Sent) -> u64| sent.iter().map(f).sum::<u64>();
    assert_eq!(counts["handshakes"], bots as u64);
    assert_eq!(counts["bi_streams"], 3 * bots as u64);
    assert_eq!(counts["bi_bytes"], sum(|s| s.bi_bytes));
    assert_eq!(counts["uni_streams"], 2 * bots as u64);
    assert_eq!(counts["uni_bytes"], sum(|s| s.uni_bytes));
    // On loopback, nothing is lost.
    assert_eq!(counts["datagrams"], sum(|s| s.datagrams));
    assert_eq!(sum(|s| s.datagrams_back), sum(|s| s.datagrams));
    assert_eq!(counts["closed"], bots as u64, "every bot closed");
    assert_eq!(counts["closed_with_7"], bots as u64, "with the bot's code");
}

#[test]
fn streams_arrive_whole_through_a_lossy_slow_network() {
    let Some(server) = Aioquic::start(ALPN, "", Certificate::Good) else {
        return;
    };
    let bots = 8;
    let sent = run_sessions(&server, bots, Some("delay=20ms±5ms loss=5%"));
    let counts = server.finish();
    let sum = |f: fn(&Sent) -> u64| sent.iter().map(f).sum::<u64>();
    // Streams are reliable: every byte, through 5 % loss each way.
    assert_eq!(counts["handshakes"], bots as u64);
    assert_eq!(counts["bi_bytes"], sum(|s| s.bi_bytes));
    assert_eq!(counts["uni_bytes"], sum(|s| s.uni_bytes));
    assert_eq!(counts["uni_streams"], 2 * bots as u64);
    // Datagrams are not: some may be lost, none made up.
    assert!(counts["datagrams"] <= sum(|s| s.datagrams));
    assert!(sum(|s| s.datagrams_back) <= counts["datagrams"]);
    // Closes are sent once (a closed connection is not kept to answer): through 5 % loss a
    // few may be lost, not most.
    assert!(
        counts
            .get("closed_with_7")
            .is_some_and(|&n| n * 2 >= bots as u64),
        "{counts:?}"
    );
}

#[test]
fn a_close_held_back_by_a_slow_link_still_leaves_after_the_bot_is_done() {
    let Some(server) = Aioquic::start(ALPN, "", Certificate::Good) else {
        return;
    };
    let bots = 4;
    run_sessions(&server, bots, Some("delay=30ms"));
    let counts = server.finish();
    // Each bot's close was held back 30 ms by the link, and its connection was dropped at
    // once: the socket lives until the close left, so the server saw each with the bot's
    // code, not its own idle timeout.
    assert_eq!(
        counts.get("closed_with_7"),
        Some(&(bots as u64)),
        "{counts:?}"
    );
}

/// The kind a connection to `server` with `connector` as `name` fails with.
fn failure_kind(server: &Aioquic, connector: QuicConnector, name: &'static str) -> String {
    #[bot(crate = ttk_core)]
    fn connects(
        _cx: Cx,
        _id: usize,
        addr: std::net::SocketAddr,
        connector: QuicConnector,
        name: &'static str,
    ) -> String {
        match ttk_core::yield_!(QuicConnection::connect(addr, name, &connector)) {
            Ok(_) => "connected".to_owned(),
            Err(error) => {
                eprintln!("{error}");
                Failure::of(&error).kind().to_owned()
            }
        }
    }
    let addr = server.addr;
    ttk_core::run(1, move |cx, id| {
        connects(cx, id, addr, connector.clone(), name)
    })
    .pop()
    .unwrap()
}

#[test]
fn certificates_and_alpn_fail_by_kind() {
    let Some(server) = Aioquic::start(ALPN, "", Certificate::Good) else {
        return;
    };
    // Trusting one certificate only, of another name than the server's issuer.
    let other = ttk_tls::TestPki::new().unwrap();
    let other = other.server_certificate(&["elsewhere.example"]).unwrap();
    let end = "-----END CERTIFICATE-----";
    let leaf = &other.chain_pem()[..other.chain_pem().find(end).unwrap() + end.len()];
    let untrusting = TlsConnector::builder()
        .system_roots(false)
        .ca_pem(leaf)
        .unwrap()
        .build()
        .unwrap();
    let unknown = QuicConnector::new(&untrusting, &[ALPN]).unwrap();
    assert_eq!(
        failure_kind(&server, unknown, "localhost"),
        "TlsUnknownIssuer"
    );
    // A CA of the same name but another key: the signature fails, as over TCP.
    let same_name = ttk_tls::TestPki::new().unwrap();
    let forged = TlsConnector::builder()
        .system_roots(false)
        .ca_pem(same_name.ca_pem())
        .unwrap()
        .build()
        .unwrap();
    let forged = QuicConnector::new(&forged, &[ALPN]).unwrap();
    assert_eq!(
        failure_kind(&server, forged, "localhost"),
        "TlsBadCertificate"
    );
    assert_eq!(
        failure_kind(&server, connector(&server), "wrong.example"),
        "TlsWrongHost"
    );
    let trusting = TlsConnector::builder()
        .system_roots(false)
        .ca_pem(&server.ca_pem)
        .unwrap()
        .build()
        .unwrap();
    let h3 = QuicConnector::new(&trusting, &["h3"]).unwrap();
    assert_eq!(failure_kind(&server, h3, "localhost"), "TlsAlert");
    let counts = server.finish();
    assert_eq!(counts["handshakes"], 0, "no handshake finished");

    let Some(expired) = Aioquic::start(ALPN, "", Certificate::Expired) else {
        return;
    };
    let connector = connector(&expired);
    assert_eq!(failure_kind(&expired, connector, "localhost"), "TlsExpired");
}

#[test]
fn a_server_without_datagrams_refuses_them_by_kind_and_pushed_streams_are_read() {
    let Some(server) = Aioquic::start(ALPN, "nodatagrams,push", Certificate::Good) else {
        return;
    };
    #[bot(crate = ttk_core)]
    fn pushed(
        _cx: Cx,
        _id: usize,
        addr: std::net::SocketAddr,
        connector: QuicConnector,
    ) -> io::Result<(String, usize)> {
        let connection = ttk_core::yield_!(QuicConnection::connect(addr, "localhost", &connector))?;
        assert_eq!(connection.max_datagram_size(), None);
        let refused = connection.send_datagram(b"x").unwrap_err();
        // A stream reset after its finish was not delivered, whatever quinn forgot of it.
        let mut abandoned = ttk_core::yield_!(connection.open_uni())?;
        ttk_core::yield_!(abandoned.write_all(b"never mind"))?;
        abandoned.finish()?;
        abandoned.reset(3)?;
        let undelivered = ttk_core::yield_!(abandoned.delivered()).unwrap_err();
        assert_eq!(undelivered.kind(), io::ErrorKind::InvalidInput);
        let mut stream = ttk_core::yield_!(connection.accept_uni())?;
        let data = ttk_core::yield_!(stream.read_to_end(1 << 20))?;
        assert!(data.iter().all(|&b| b == b'p'));
        ttk_core::yield_!(connection.close(0, b""));
        Ok((Failure::of(&refused).kind().to_owned(), data.len()))
    }
    let outcome = run_bots(&server, 1, pushed).pop().unwrap();
    assert_eq!(outcome, ("QuicNoDatagrams".to_owned(), 3000));
}

#[test]
fn a_bots_second_connection_resumes_its_session() {
    let Some(server) = Aioquic::start(ALPN, "tickets", Certificate::Good) else {
        return;
    };
    #[bot(crate = ttk_core)]
    fn twice(
        _cx: Cx,
        _id: usize,
        addr: std::net::SocketAddr,
        connector: QuicConnector,
    ) -> io::Result<()> {
        for _ in 0..2 {
            let connection =
                ttk_core::yield_!(QuicConnection::connect(addr, "localhost", &connector))?;
            // The server's ticket comes after the handshake: it is waited for.
            let mut stream = ttk_core::yield_!(connection.open_bi())?;
            ttk_core::yield_!(stream.write_all(b"hi"))?;
            stream.finish()?;
            ttk_core::yield_!(stream.read_to_end(16))?;
            ttk_core::yield_!(connection.close(0, b""));
        }
        Ok(())
    }
    let bots = 3;
    run_bots(&server, bots, twice);
    let counts = server.finish();
    assert_eq!(counts["handshakes"], 2 * bots as u64);
    assert_eq!(
        counts["resumed"], bots as u64,
        "each bot's second connection"
    );
}

#[test]
fn a_large_upload_waits_for_flow_control_and_arrives_whole() {
    let Some(server) = Aioquic::start(ALPN, "", Certificate::Good) else {
        return;
    };
    #[bot(crate = ttk_core)]
    fn upload(
        _cx: Cx,
        _id: usize,
        addr: std::net::SocketAddr,
        connector: QuicConnector,
    ) -> io::Result<()> {
        let connection = ttk_core::yield_!(QuicConnection::connect(addr, "localhost", &connector))?;
        // Four times aioquic's 1 MiB window: the write waits for the server to open it.
        let mut stream = ttk_core::yield_!(connection.open_uni())?;
        ttk_core::yield_!(ttk_core::timeout(
            Duration::from_secs(20),
            stream.write_all(&vec![3; 2 << 20])
        ))
        .map_err(|_| io::Error::other("the upload stalled"))??;
        // The other half by partial writes, each what flow control let go.
        let half = vec![3; 2 << 20];
        let (mut sent, mut writes) = (0, 0);
        while sent < half.len() {
            sent += ttk_core::yield_!(stream.write(&half[sent..]))?;
            writes += 1;
        }
        assert!(writes > 1, "flow control let 2 MiB go at once");
        stream.finish()?;
        // Its end is acknowledged once the server has it all: an echo on a stream opened
        // after it comes back after it.
        let mut after = ttk_core::yield_!(connection.open_bi())?;
        ttk_core::yield_!(after.write_all(b"after"))?;
        after.finish()?;
        ttk_core::yield_!(after.read_to_end(16))?;
        ttk_core::yield_!(stream.delivered())?;
        ttk_core::yield_!(connection.close(0, b""));
        Ok(())
    }
    run_bots(&server, 1, upload);
    let counts = server.finish();
    assert_eq!(counts["uni_bytes"], 4 << 20);
    assert_eq!(counts["uni_streams"], 1);
}

#[test]
fn bots_sharing_one_connection_take_turns_driving_it() {
    let Some(server) = Aioquic::start(ALPN, "", Certificate::Good) else {
        return;
    };
    use std::cell::RefCell;
    use std::rc::Rc;
    type Slot = Rc<RefCell<Option<QuicConnection>>>;
    /// Bot 0 connects; all four then echo five streams each on its connection at once.
    #[bot(crate = ttk_core)]
    fn sharer(
        _cx: Cx,
        id: usize,
        addr: std::net::SocketAddr,
        connector: QuicConnector,
        slot: Slot,
    ) -> io::Result<u64> {
        if id == 0 {
            let connection =
                ttk_core::yield_!(QuicConnection::connect(addr, "localhost", &connector))?;
            *slot.borrow_mut() = Some(connection);
        }
        let connection = loop {
            if let Some(connection) = slot.borrow().clone() {
                break connection;
            }
            ttk_core::yield_!(ttk_core::sleep(Duration::from_millis(5)));
        };
        let mut echoed = 0;
        for round in 0..5u8 {
            let data = vec![id as u8 ^ round; 50_000];
            let mut stream = ttk_core::yield_!(connection.open_bi())?;
            ttk_core::yield_!(stream.write_all(&data))?;
            stream.finish()?;
            let back = ttk_core::yield_!(stream.read_to_end(1 << 20))?;
            assert!(back == data, "bot {id}'s stream came back changed");
            echoed += back.len() as u64;
        }
        Ok(echoed)
    }
    let connector = connector(&server);
    let addr = server.addr;
    let slot: Slot = Rc::default();
    let outcomes = ttk_core::run(4, move |cx, id| {
        sharer(cx, id, addr, connector.clone(), Rc::clone(&slot))
    });
    let echoed: u64 = outcomes.into_iter().map(|outcome| outcome.unwrap()).sum();
    let counts = server.finish();
    assert_eq!(counts["handshakes"], 1, "one connection for the four bots");
    assert_eq!(counts["bi_streams"], 20);
    assert_eq!(counts["bi_bytes"], echoed);
    assert_eq!(echoed, 4 * 5 * 50_000);
}

/// Through a link of 30 ms each way: writes a stream, finishes it, then closes and drops the
/// connection, so that the link holds the stream's datagrams and the close behind them; then
/// lets the run go on for `linger` (none: the run ends while the link still holds them).
#[bot(crate = ttk_core)]
fn write_then_close(
    _cx: Cx,
    _id: usize,
    addr: std::net::SocketAddr,
    connector: QuicConnector,
    linger: Duration,
) -> io::Result<()> {
    let mut socket = UdpSocket::bind("127.0.0.1:0")?;
    socket.set_conditions(&"delay=30ms".parse().unwrap());
    let connection = ttk_core::yield_!(QuicConnection::connect_on(
        socket,
        addr,
        "localhost",
        &connector
    ))?;
    let mut stream = ttk_core::yield_!(connection.open_uni())?;
    ttk_core::yield_!(stream.write_all(&[5; 3_000]))?;
    stream.finish()?;
    drop(stream);
    // A little later (the stream's datagrams are in the link, due before the close).
    ttk_core::yield_!(connection.sleep(Duration::from_millis(5)))?;
    ttk_core::yield_!(connection.close(7, b"bye"));
    drop(connection);
    if !linger.is_zero() {
        ttk_core::yield_!(ttk_core::sleep(linger));
    }
    Ok(())
}

#[test]
fn a_close_right_after_writes_leaves_behind_them_through_a_slow_link() {
    let Some(server) = Aioquic::start(ALPN, "", Certificate::Good) else {
        return;
    };
    let bots = 4;
    // The run goes on while the link lets them go.
    run_bots(&server, bots, |cx, id, addr, connector| {
        write_then_close(cx, id, addr, connector, Duration::from_millis(150))
    });
    let counts = server.finish();
    assert_eq!(
        counts.get("closed_with_7"),
        Some(&(bots as u64)),
        "{counts:?}"
    );
}

#[test]
fn a_close_the_link_still_holds_when_the_run_ends_leaves_then() {
    let Some(server) = Aioquic::start(ALPN, "", Certificate::Good) else {
        return;
    };
    let bots = 4;
    // The run ends while the link still holds each bot's stream and close.
    run_bots(&server, bots, |cx, id, addr, connector| {
        write_then_close(cx, id, addr, connector, Duration::ZERO)
    });
    let counts = server.finish();
    // Sent at once when the run ended, in order: the server read each stream whole, then the
    // close with the bot's code (not its own idle timeout).
    assert_eq!(
        counts.get("closed_with_7"),
        Some(&(bots as u64)),
        "{counts:?}"
    );
    assert_eq!(
        counts.get("uni_bytes"),
        Some(&(bots as u64 * 3_000)),
        "{counts:?}"
    );
}

#[test]
fn a_server_that_goes_away_fails_the_next_stream_as_refused_at_once() {
    let Some(server) = Aioquic::start(ALPN, "", Certificate::Good) else {
        return;
    };
    #[bot(crate = ttk_core)]
    fn outlived(
        _cx: Cx,
        _id: usize,
        addr: std::net::SocketAddr,
        connector: QuicConnector,
        echoed: std::sync::mpsc::Sender<()>,
    ) -> io::Result<(String, Duration, bool)> {
        let connection = ttk_core::yield_!(QuicConnection::connect(addr, "localhost", &connector))?;
        let mut stream = ttk_core::yield_!(connection.open_bi())?;
        ttk_core::yield_!(stream.write_all(b"hello"))?;
        stream.finish()?;
        assert_eq!(ttk_core::yield_!(stream.read_to_end(1024))?, b"hello");
        // The test's thread kills the server now.
        echoed.send(()).unwrap();
        ttk_core::yield_!(ttk_core::sleep(Duration::from_millis(800)));
        let asked = std::time::Instant::now();
        let outcome = async {
            let mut stream = connection.open_bi().await?;
            stream.write_all(b"anyone?").await?;
            stream.finish()?;
            stream.read_to_end(1024).await
        };
        let failed = ttk_core::yield_!(ttk_core::timeout(Duration::from_secs(20), outcome))
            .expect("an answer before 20 s")
            .expect_err("no server to echo");
        // Ended: a client that asks before its next request makes a new connection (and
        // does not fail request after request on this one at once).
        let ended = connection.is_closed();
        Ok((
            Failure::of(&failed).kind().to_owned(),
            asked.elapsed(),
            ended,
        ))
    }
    let (addr, connector) = (server.addr, connector(&server));
    let (echoed, first_echo) = std::sync::mpsc::channel();
    let killer = std::thread::spawn(move || {
        let _ = first_echo.recv();
        drop(server);
    });
    let (kind, took, ended) = ttk_core::run(1, move |cx, id| {
        outlived(cx, id, addr, connector.for_one_client(), echoed.clone())
    })
    .pop()
    .unwrap()
    .unwrap();
    killer.join().unwrap();
    // ICMP's "port unreachable", three times over, rather than the idle timeout's wait.
    assert_eq!(kind, "QuicRefused");
    assert!(took < Duration::from_secs(3), "{took:?}");
    assert!(ended, "the connection ended with its server");
}
