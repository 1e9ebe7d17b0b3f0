//! Both sides on ttk's loop: a `TlsAcceptor` bot and `TlsConnector` bots, with large transfers
//! both ways (partial reads and writes, many records), resumption against ttk's own server,
//! ALPN, and a record cut short after the handshake.

mod util;

use std::cell::Cell;
use std::io;
use std::rc::Rc;

use ttk_core::Cx;
use ttk_macros::bot;
use ttk_net::{ByteStream, TcpListener, TcpStream};
use ttk_tls::{TestPki, TlsAcceptor, TlsConnector, TlsStream};
use util::kind;

/// The bytes each client sends: 1 MiB of a pattern, so a misplaced byte shows.
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 251) as u8).collect()
}

const LEN: usize = 1 << 20;

/// Listens on a free port, tells it through `port`, and accepts one TLS connection.
async fn accept_one(port: &Cell<u16>, acceptor: &TlsAcceptor) -> io::Result<TlsStream> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    port.set(listener.local_addr()?.port());
    let (tcp, _) = listener.accept().await?;
    acceptor.accept(tcp).await
}

/// Connects to `port` over TLS as "localhost".
async fn connect_one(port: u16, connector: &TlsConnector) -> io::Result<TlsStream> {
    let tcp = TcpStream::connect(("127.0.0.1", port)).await?;
    connector.connect("localhost", tcp).await
}

/// What a client saw.
#[derive(Debug, PartialEq)]
struct Seen {
    echoed_ok: bool,
    resumed: bool,
    alpn: Option<Vec<u8>>,
}

/// Bot 0 serves `clients` connections: echoes `LEN` bytes back on each. Bot 1 connects
/// `clients` times, one after the other, sends `LEN` bytes and reads them back each time.
#[bot(crate = ttk_core)]
fn peer(
    _cx: Cx,
    id: usize,
    port: Rc<Cell<u16>>,
    acceptor: TlsAcceptor,
    connector: TlsConnector,
    clients: usize,
) -> io::Result<Vec<Seen>> {
    if id == 0 {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        port.set(listener.local_addr()?.port());
        for _ in 0..clients {
            let (tcp, _) = ttk_core::yield_!(listener.accept())?;
            let tls = ttk_core::yield_!(acceptor.accept(tcp))?;
            let mut got = vec![0; LEN];
            let mut filled = 0;
            while filled < LEN {
                let n = ttk_core::yield_!(tls.read(&mut got[filled..]))?;
                assert!(n > 0, "the client closed early");
                filled += n;
            }
            ttk_core::yield_!(tls.write_all(&got))?;
        }
        return Ok(Vec::new());
    }
    let mut seen = Vec::new();
    for _ in 0..clients {
        seen.push(ttk_core::yield_!(echo(&connector, port.get()))?);
    }
    Ok(seen)
}

/// Connects, sends `LEN` bytes and reads them back.
async fn echo(connector: &TlsConnector, port: u16) -> io::Result<Seen> {
    let tls = connect_one(port, connector).await?;
    let data = pattern(LEN);
    tls.write_all(&data).await?;
    let mut back = vec![0; LEN];
    let mut filled = 0;
    while filled < LEN {
        let n = tls.read(&mut back[filled..]).await?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    Ok(Seen {
        echoed_ok: back == data,
        resumed: tls.is_resumed(),
        alpn: tls.alpn_protocol(),
    })
}

/// Runs `pair` as a server bot (0) and a client bot (1) with fresh [`parties`]; the client's
/// output.
fn client_of<B: std::future::Future>(
    pair: impl Fn(Cx, usize, Rc<Cell<u16>>, TlsAcceptor, TlsConnector) -> B,
) -> B::Output {
    let (acceptor, connector) = parties();
    let port = Rc::new(Cell::new(0));
    ttk_core::run(2, |cx, id| {
        pair(cx, id, port.clone(), acceptor.clone(), connector.clone())
    })
    .pop()
    .unwrap()
}

fn parties() -> (TlsAcceptor, TlsConnector) {
    let pki = TestPki::new().unwrap();
    let server = pki.server_certificate(&["localhost"]).unwrap();
    let acceptor = TlsAcceptor::from_pem(server.chain_pem(), server.key_pem())
        .unwrap()
        .with_alpn(&["ttk-test"]);
    let connector = TlsConnector::builder()
        .ca_pem(pki.ca_pem())
        .unwrap()
        .alpn(&["ttk-test"])
        .build()
        .unwrap();
    (acceptor, connector)
}

#[test]
fn a_mebibyte_each_way_on_three_connections_of_one_client() {
    let (acceptor, connector) = parties();
    let connector = connector.for_one_client();
    let port = Rc::new(Cell::new(0));
    let results = ttk_core::run(2, |cx, id| {
        peer(cx, id, port.clone(), acceptor.clone(), connector.clone(), 3)
    });
    let seen: Vec<Seen> = results
        .into_iter()
        .flat_map(|result| result.unwrap())
        .collect();
    assert_eq!(seen.len(), 3);
    assert!(seen.iter().all(|seen| seen.echoed_ok), "{seen:?}");
    assert!(
        seen.iter()
            .all(|seen| seen.alpn.as_deref() == Some(&b"ttk-test"[..]))
    );
    // The first made a full handshake; the later ones resumed the session it left.
    assert_eq!(
        seen.iter().map(|seen| seen.resumed).collect::<Vec<_>>(),
        [false, true, true]
    );
}

/// Bot 0 completes a handshake, then writes half a record on the raw socket and closes; bot 1
/// reads.
#[bot(crate = ttk_core)]
fn cut_short(
    _cx: Cx,
    id: usize,
    port: Rc<Cell<u16>>,
    acceptor: TlsAcceptor,
    connector: TlsConnector,
) -> io::Result<usize> {
    if id == 0 {
        let tls = ttk_core::yield_!(accept_one(&port, &acceptor))?;
        ttk_core::yield_!(tls.get_ref().write_all(&[23, 3, 3, 0, 64, 1, 2, 3]))?;
        return Ok(0);
    }
    let tls = ttk_core::yield_!(connect_one(port.get(), &connector))?;
    let mut buf = [0; 64];
    ttk_core::yield_!(tls.read(&mut buf))
}

#[test]
fn a_record_cut_short_after_the_handshake_is_an_error_not_an_end() {
    let error = client_of(cut_short).unwrap_err();
    assert_eq!(kind(&error), "TlsProtocol", "{error}");
    assert_eq!(error.kind(), io::ErrorKind::UnexpectedEof, "{error}");
}

/// Bot 0 completes a handshake, sends "bye", a `close_notify`, then 6 KiB of junk on the raw
/// socket; bot 1 waits until all of it has arrived, then reads.
#[bot(crate = ttk_core)]
fn junk_after_close(
    _cx: Cx,
    id: usize,
    port: Rc<Cell<u16>>,
    acceptor: TlsAcceptor,
    connector: TlsConnector,
) -> io::Result<Vec<u8>> {
    if id == 0 {
        let tls = ttk_core::yield_!(accept_one(&port, &acceptor))?;
        ttk_core::yield_!(tls.write_all(b"bye"))?;
        ttk_core::yield_!(tls.close_notify())?;
        ttk_core::yield_!(tls.get_ref().write_all(&[23; 6 * 1024]))?;
        ttk_core::yield_!(ttk_core::sleep(std::time::Duration::from_millis(500)));
        return Ok(Vec::new());
    }
    let tls = ttk_core::yield_!(connect_one(port.get(), &connector))?;
    ttk_core::yield_!(ttk_core::sleep(std::time::Duration::from_millis(100)));
    let mut got = Vec::new();
    let mut buf = [0; 64];
    loop {
        match ttk_core::yield_!(tls.read(&mut buf))? {
            0 => return Ok(got),
            n => got.extend_from_slice(&buf[..n]),
        }
    }
}

#[test]
fn bytes_after_close_notify_are_ignored_not_spun_on() {
    // The loop runs on a thread of its own, so that a spin fails the test instead of hanging it.
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let got = client_of(junk_after_close).map_err(|error| error.to_string());
        let _ = done.send(got);
    });
    let got = finished
        .recv_timeout(std::time::Duration::from_secs(20))
        .expect("the reader spun or hung on the bytes after close_notify");
    assert_eq!(got.unwrap(), b"bye");
}

/// Bot 1 reads the record bot 0 cut short (as in `cut_short`), then reads and writes again.
#[bot(crate = ttk_core)]
fn after_a_failure(
    _cx: Cx,
    id: usize,
    port: Rc<Cell<u16>>,
    acceptor: TlsAcceptor,
    connector: TlsConnector,
) -> io::Result<Vec<String>> {
    if id == 0 {
        let tls = ttk_core::yield_!(accept_one(&port, &acceptor))?;
        ttk_core::yield_!(tls.get_ref().write_all(&[23, 3, 3, 0, 64, 1, 2, 3]))?;
        return Ok(Vec::new());
    }
    let tls = ttk_core::yield_!(connect_one(port.get(), &connector))?;
    let mut buf = [0; 64];
    let mut kinds = Vec::new();
    for _ in 0..2 {
        let error = ttk_core::yield_!(tls.read(&mut buf)).unwrap_err();
        kinds.push(kind(&error));
    }
    let error = ttk_core::yield_!(tls.write_all(b"more")).unwrap_err();
    kinds.push(kind(&error));
    Ok(kinds)
}

#[test]
fn a_failure_is_the_answer_to_every_later_operation() {
    assert_eq!(
        client_of(after_a_failure).unwrap(),
        ["TlsProtocol", "TlsProtocol", "TlsProtocol"]
    );
}

/// Bot 1 writes 64 MiB to bot 0, which never reads, within 200 ms; then tries again.
#[bot(crate = ttk_core)]
fn abandoned_write(
    _cx: Cx,
    id: usize,
    port: Rc<Cell<u16>>,
    acceptor: TlsAcceptor,
    connector: TlsConnector,
) -> io::Result<Option<(io::ErrorKind, String)>> {
    if id == 0 {
        let _tls = ttk_core::yield_!(accept_one(&port, &acceptor))?;
        ttk_core::yield_!(ttk_core::sleep(std::time::Duration::from_secs(1)));
        return Ok(None);
    }
    let tls = ttk_core::yield_!(connect_one(port.get(), &connector))?;
    // Far more than loopback's socket buffers hold, so the write is still under way.
    let big = vec![7; 64 << 20];
    let limit = std::time::Duration::from_millis(200);
    assert!(ttk_core::yield_!(ttk_core::timeout(limit, tls.write_all(&big))).is_err());
    let error = ttk_core::yield_!(tls.write_all(b"next")).unwrap_err();
    Ok(Some((error.kind(), error.to_string())))
}

#[test]
fn a_write_abandoned_part_way_ends_the_connection_with_a_reason() {
    let (kind, message) = client_of(abandoned_write).unwrap().unwrap();
    assert_eq!(kind, io::ErrorKind::NotConnected);
    assert!(message.contains("abandoned"), "{message}");
}

/// Bot 0 writes records of 16 KiB, 100 B, 100 B and 16 KiB (one write each) before bot 1
/// reads any: more decrypted bytes than rustls holds arrive in one read of the socket.
#[bot(crate = ttk_core)]
fn mixed_records(
    _cx: Cx,
    id: usize,
    port: Rc<Cell<u16>>,
    acceptor: TlsAcceptor,
    connector: TlsConnector,
) -> io::Result<Vec<u8>> {
    let sizes = [16 * 1024, 100, 100, 16 * 1024, 100, 16 * 1024];
    if id == 0 {
        let tls = ttk_core::yield_!(accept_one(&port, &acceptor))?;
        let data = pattern(sizes.iter().sum());
        let mut at = 0;
        for size in sizes {
            ttk_core::yield_!(tls.write_all(&data[at..at + size]))?;
            at += size;
        }
        ttk_core::yield_!(ttk_core::sleep(std::time::Duration::from_millis(300)));
        return Ok(Vec::new());
    }
    let tls = ttk_core::yield_!(connect_one(port.get(), &connector))?;
    ttk_core::yield_!(ttk_core::sleep(std::time::Duration::from_millis(100)));
    let mut got = Vec::new();
    let mut buf = vec![0; 64 * 1024];
    while got.len() < sizes.iter().sum() {
        match ttk_core::yield_!(tls.read(&mut buf))? {
            0 => break,
            n => got.extend_from_slice(&buf[..n]),
        }
    }
    Ok(got)
}

#[test]
fn more_plaintext_than_rustls_holds_in_one_read_is_all_delivered() {
    let got = client_of(mixed_records).unwrap();
    assert_eq!(got, pattern(got.len()));
    assert_eq!(got.len(), 3 * 16 * 1024 + 300);
}

/// Bot 0 writes 1,000 bytes in one record and holds the connection; bot 1 reads 10 of them,
/// then asks whether a read would find more (the other 990 wait decrypted in rustls, with
/// nothing left in the socket), reads the rest, and asks again.
#[bot(crate = ttk_core)]
fn partly_read(
    _cx: Cx,
    id: usize,
    port: Rc<Cell<u16>>,
    acceptor: TlsAcceptor,
    connector: TlsConnector,
) -> io::Result<(bool, usize, bool)> {
    if id == 0 {
        let tls = ttk_core::yield_!(accept_one(&port, &acceptor))?;
        ttk_core::yield_!(tls.write_all(&pattern(1_000)))?;
        ttk_core::yield_!(ttk_core::sleep(std::time::Duration::from_millis(300)));
        return Ok((false, 0, false));
    }
    let tls = ttk_core::yield_!(connect_one(port.get(), &connector))?;
    let mut first = [0; 10];
    let mut n = ttk_core::yield_!(tls.read(&mut first))?;
    let held = tls.read_ready();
    let mut rest = [0; 2_000];
    while n < 1_000 {
        n += ttk_core::yield_!(tls.read(&mut rest))?;
    }
    // Everything read, the server quiet: nothing to find.
    Ok((held, n, tls.read_ready()))
}

#[test]
fn plaintext_rustls_holds_makes_the_stream_read_ready() {
    let (held, read, after) = client_of(partly_read).unwrap();
    assert!(held, "990 decrypted bytes wait, yet read_ready said no");
    assert_eq!(read, 1_000);
    assert!(!after, "all read, yet read_ready said yes");
}
