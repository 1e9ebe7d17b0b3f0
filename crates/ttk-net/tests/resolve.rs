//! Host names are looked up off the loop, literals not at all, and the resolver's answers and
//! errors reach the bot unchanged.
//!
//! The resolver is process-wide and these tests share a process, so every test installs the
//! same one ([`install`]), which answers by host name and records every name it is asked.

mod util;

use std::cell::Cell;
use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs as _};
use std::pin::pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, Once};
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::Duration;

use ttk_core::{BotErrorKind, Cx};
use ttk_macros::bot;
use ttk_net::{TcpListener, TcpStream, UdpSocket, lookup_host};
use util::{echo, spawn_server};

/// How long `slow.test` takes to look up.
const SLOW: Duration = Duration::from_millis(300);

/// Every host name the resolver was asked, in order.
static ASKED: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Whether the lookup of `abandoned.test` has finished.
static ABANDONED_FINISHED: AtomicBool = AtomicBool::new(false);

/// Installs the test resolver (once per process):
/// - `slow.test` is 127.0.0.1, after [`SLOW`];
/// - `abandoned.test` is 127.0.0.1, after two seconds, then sets [`ABANDONED_FINISHED`];
/// - `fail.test` fails with [`no_such_host`];
/// - `panic.test` panics;
/// - any other name goes to the system, as the default resolver does.
fn install() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        ttk_net::set_resolver(|host, port| {
            ASKED.lock().unwrap().push(host.to_owned());
            let localhost = vec![SocketAddr::from((Ipv4Addr::LOCALHOST, port))];
            match host {
                "slow.test" => {
                    thread::sleep(SLOW);
                    Ok(localhost)
                }
                "abandoned.test" => {
                    thread::sleep(Duration::from_secs(2));
                    ABANDONED_FINISHED.store(true, Ordering::SeqCst);
                    Ok(localhost)
                }
                "fail.test" => Err(no_such_host()),
                "panic.test" => panic!("the test resolver panics on purpose"),
                _ => (host, port).to_socket_addrs().map(Iterator::collect),
            }
        });
    });
}

/// The error the resolver gives for `fail.test`.
fn no_such_host() -> io::Error {
    io::Error::new(io::ErrorKind::NotFound, "fail.test: no such host")
}

/// Whether the resolver was ever asked `host`.
fn asked(host: &str) -> bool {
    ASKED.lock().unwrap().iter().any(|asked| asked == host)
}

/// Bot 0 connects to `slow.test` and echoes through the connection; the others yield, counting
/// their steps, until it has connected. Bot 0 returns how many steps they took meanwhile.
#[bot(crate = ttk_core)]
fn connect_slowly_among_others(
    _cx: Cx,
    id: usize,
    port: u16,
    steps: Rc<Cell<u64>>,
    connected: Rc<Cell<bool>>,
) -> io::Result<u64> {
    if id != 0 {
        while !connected.get() {
            steps.set(steps.get() + 1);
            ttk_core::yield_!();
        }
        return Ok(0);
    }
    let before = steps.get();
    let stream = ttk_core::yield_!(TcpStream::connect(format!("slow.test:{port}")));
    connected.set(true);
    let during = steps.get() - before;
    let stream = stream?;
    ttk_core::yield_!(stream.write_all(b"hello"))?;
    let mut buf = [0; 5];
    ttk_core::yield_!(stream.read_exact(&mut buf))?;
    assert_eq!(&buf, b"hello");
    Ok(during)
}

#[test]
fn the_other_bots_run_while_a_name_is_looked_up() {
    install();
    let port = spawn_server(echo).port();
    let (steps, connected) = (Rc::default(), Rc::default());
    let outcomes = ttk_core::run(4, |cx, id| {
        connect_slowly_among_others(cx, id, port, Rc::clone(&steps), Rc::clone(&connected))
    });
    let during = *outcomes[0].as_ref().expect("connected through slow.test");
    assert!(asked("slow.test"));
    // Had the lookup blocked the loop, nobody else would have taken a step.
    assert!(
        during >= 100,
        "the other bots took only {during} steps during the lookup"
    );
}

/// Connects to `addr` in every literal form, and looks up literals the lookup would mistake
/// for names if it did not parse them first.
#[bot(crate = ttk_core)]
fn connect_to_literals(_cx: Cx, _id: usize, addr: SocketAddr) -> io::Result<usize> {
    let port = addr.port();
    let written = format!("127.0.0.1:{port}");
    let mut connected = Vec::new();
    connected.push(ttk_core::yield_!(TcpStream::connect(addr))?);
    connected.push(ttk_core::yield_!(TcpStream::connect(written.as_str()))?);
    connected.push(ttk_core::yield_!(TcpStream::connect(&written))?);
    connected.push(ttk_core::yield_!(TcpStream::connect(("127.0.0.1", port)))?);
    connected.push(ttk_core::yield_!(TcpStream::connect((
        Ipv4Addr::LOCALHOST,
        port
    )))?);
    connected.push(ttk_core::yield_!(TcpStream::connect(vec![addr]))?);
    connected.push(ttk_core::yield_!(TcpStream::connect(&[addr][..]))?);
    for literal in ["[::1]:80", "::1:80", "10.1.2.3:80"] {
        let addrs = ttk_core::yield_!(lookup_host(literal))?;
        assert_eq!(addrs.len(), 1, "{literal}");
    }
    let addrs = ttk_core::yield_!(lookup_host(("::1".to_owned(), 80)))?;
    assert_eq!(addrs, ["[::1]:80".parse::<SocketAddr>().unwrap()]);
    let _listener = TcpListener::bind(String::from("127.0.0.1:0"))?;
    let _socket = UdpSocket::bind(("127.0.0.1", 0))?;
    Ok(connected.len())
}

#[test]
fn literals_never_reach_the_resolver() {
    install();
    let addr = spawn_server(echo);
    let outcomes = ttk_core::run(1, |cx, id| connect_to_literals(cx, id, addr));
    assert_eq!(*outcomes[0].as_ref().unwrap(), 7);
    let asked = ASKED.lock().unwrap();
    let literals: Vec<_> = asked
        .iter()
        .filter(|host| host.parse::<IpAddr>().is_ok() || host.starts_with('['))
        .collect();
    assert!(literals.is_empty(), "the resolver was asked {literals:?}");
}

#[test]
fn a_literal_is_answered_on_the_first_poll_without_a_loop_or_a_thread() {
    install();
    let mut lookup = pin!(lookup_host("127.0.0.1:7000"));
    let mut context = Context::from_waker(Waker::noop());
    match lookup.as_mut().poll(&mut context) {
        Poll::Ready(addrs) => assert_eq!(addrs.unwrap(), ["127.0.0.1:7000".parse().unwrap()]),
        Poll::Pending => panic!("a literal waited"),
    }
}

/// Connects to `addr` and echoes a word through the connection.
#[bot(crate = ttk_core)]
fn echo_through(_cx: Cx, _id: usize, addr: String) -> io::Result<()> {
    let stream = ttk_core::yield_!(TcpStream::connect(addr))?;
    ttk_core::yield_!(stream.write_all(b"hi"))?;
    let mut buf = [0; 2];
    ttk_core::yield_!(stream.read_exact(&mut buf))?;
    assert_eq!(&buf, b"hi");
    Ok(())
}

/// What [`echo_through`] `addr` came to.
fn echo_through_addr(addr: &str) -> io::Result<()> {
    let addr = addr.to_owned();
    let outcomes = ttk_core::run(1, |cx, id| echo_through(cx, id, addr.clone()));
    outcomes.into_iter().next().unwrap()
}

#[test]
fn localhost_resolves_through_the_system() {
    install();
    let port = spawn_server(echo).port();
    echo_through_addr(&format!("localhost:{port}")).expect("echo through localhost");
    assert!(asked("localhost"));
}

#[test]
fn the_resolvers_error_reaches_the_bot_unchanged() {
    install();
    let error = echo_through_addr("fail.test:80").unwrap_err();
    assert_eq!(error.kind(), no_such_host().kind());
    assert_eq!(error.to_string(), no_such_host().to_string());
}

#[test]
fn a_panicking_resolver_is_an_error_not_a_hang() {
    install();
    let error = echo_through_addr("panic.test:80").unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::Other);
    assert!(error.to_string().contains("panics on purpose"), "{error}");
}

#[test]
fn malformed_addresses_are_invalid_input_without_a_lookup() {
    install();
    for addr in [
        "malformed.test",
        "malformed.test:http",
        "malformed.test:70000",
    ] {
        let error = echo_through_addr(addr).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput, "{addr}: {error}");
    }
    assert!(!asked("malformed.test"));
}

/// Binds to a host name, which binding cannot wait to look up.
#[bot(crate = ttk_core)]
fn bind_to_names(_cx: Cx, _id: usize) -> [io::Error; 2] {
    [
        TcpListener::bind("localhost:0").unwrap_err(),
        UdpSocket::bind(("localhost", 0)).unwrap_err(),
    ]
}

#[test]
fn binding_to_a_name_is_invalid_input_that_points_to_lookup_host() {
    install();
    for error in ttk_core::run(1, bind_to_names).pop().unwrap() {
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
        assert!(error.to_string().contains("lookup_host"), "{error}");
    }
}

/// Gives up on a lookup, then waits for mail that never comes.
#[bot(crate = ttk_core)]
fn gives_up_on_a_lookup_then_waits_for_mail(cx: Cx<u8>, _id: usize) -> io::Result<()> {
    let connect = TcpStream::connect("abandoned.test:80");
    let gave_up = ttk_core::yield_!(ttk_core::timeout(Duration::from_millis(20), connect));
    assert!(gave_up.is_err(), "the lookup should still be running");
    ttk_core::yield_!(cx.recv());
    Ok(())
}

#[test]
fn an_abandoned_lookup_neither_wakes_nor_holds_up_the_loop() {
    install();
    let outcomes = ttk_core::try_run(1, gives_up_on_a_lookup_then_waits_for_mail);
    // The stall is reported at once: the loop did not wait for the helper thread's answer.
    assert_eq!(
        outcomes[0].as_ref().unwrap_err().kind(),
        &BotErrorKind::Stalled
    );
    assert!(!ABANDONED_FINISHED.load(Ordering::SeqCst));
}
