//! Sockets shared between bots, and waits that end early.

mod util;

use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use ttk_core::{BotErrorKind, Cx, Runtime};
use ttk_macros::bot;
use ttk_net::{TcpStream, UdpSocket};

/// The socket bot 0 shares through the world.
type Shared = Option<Rc<UdpSocket>>;

#[bot(crate = ttk_core)]
fn share(cx: Cx<(), Shared>, id: usize) -> io::Result<usize> {
    if id == 0 {
        let socket = Rc::new(UdpSocket::bind("127.0.0.1:0")?);
        cx.world(|shared| *shared = Some(socket));
        return Ok(0);
    }
    ttk_core::yield_!();
    let server = cx.world(|shared| shared.clone()).expect("bot 0 shared it");
    if id == 3 {
        ttk_core::yield_!();
        let client = UdpSocket::bind("127.0.0.1:0")?;
        for datagram in [b"one".as_slice(), b"two"] {
            ttk_core::yield_!(client.send_to(datagram, server.local_addr()?))?;
        }
        return Ok(0);
    }
    let mut buf = [0; 8];
    let (n, _) = ttk_core::yield_!(server.recv_from(&mut buf))?;
    Ok(n)
}

#[test]
fn two_bots_receiving_on_one_socket_both_get_a_datagram() {
    let outcomes = Runtime::new().world(None).run(4, share);
    let received: Vec<usize> = outcomes.into_iter().map(Result::unwrap).collect();
    assert_eq!(received, [0, 3, 3, 0]);
}

#[bot(crate = ttk_core)]
fn gives_up_then_waits_for_mail(cx: Cx<u8>, _id: usize, addr: SocketAddr) -> io::Result<()> {
    let stream = ttk_core::yield_!(TcpStream::connect(addr))?;
    let mut buf = [0; 4];
    let read = ttk_core::yield_!(ttk_core::timeout(
        Duration::from_millis(50),
        stream.read(&mut buf)
    ));
    assert!(read.is_err(), "the silent server said something");
    // Nobody will ever send: with the abandoned read forgotten, the run reports a stall
    // instead of waiting on the socket forever.
    ttk_core::yield_!(cx.recv());
    drop(stream);
    Ok(())
}

#[test]
fn an_abandoned_read_does_not_hide_a_deadlock() {
    let addr = util::spawn_server(util::silent);
    let outcomes = ttk_core::try_run(1, |cx, id| gives_up_then_waits_for_mail(cx, id, addr));
    let error = outcomes[0].as_ref().unwrap_err();
    assert_eq!(error.kind(), &BotErrorKind::Stalled);
}

#[bot(crate = ttk_core)]
fn keeps_sockets(
    cx: Cx<(), Vec<ttk_net::TcpListener>>,
    _id: usize,
) -> io::Result<ttk_net::TcpListener> {
    let kept = ttk_net::TcpListener::bind("127.0.0.1:0")?;
    let stored = ttk_net::TcpListener::bind("127.0.0.1:0")?;
    cx.world(|world| world.push(stored));
    Ok(kept)
}

#[test]
fn sockets_may_outlive_their_run_in_results_and_in_the_world() {
    let (results, world) = Runtime::new()
        .world(Vec::new())
        .run_with_world(1, keeps_sockets);
    let kept = results.into_iter().next().unwrap().unwrap();
    assert!(kept.local_addr().unwrap().port() > 0);
    assert_eq!(world.len(), 1);
    assert!(world[0].local_addr().unwrap().port() > 0);
}
