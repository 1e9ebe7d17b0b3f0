//! `--net` on a load test: every socket its bots make emulates the profile (here, a link that
//! loses everything: a real server on loopback receives nothing), the report records it, and
//! the process has no profile once the run is over.

use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

use ttk::Cx;
use ttk::harness::{LoadTest, Session};
use ttk::net::NetMix;

/// Sends five datagrams to `server`.
#[ttk::bot]
fn sender(cx: Cx, _session: Session, server: SocketAddr) -> std::io::Result<()> {
    let socket = ttk::net::UdpSocket::bind("127.0.0.1:0")?;
    for _ in 0..5 {
        ttk::yield_!(socket.send_to(b"hello?", server))?;
    }
    cx.transaction("sent").ok();
    Ok(())
}

#[test]
fn a_link_that_loses_everything_delivers_nothing_and_the_report_says_why() {
    let server = UdpSocket::bind("127.0.0.1:0").unwrap();
    server
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let addr = server.local_addr().unwrap();
    let args = [
        "net",
        "--bots",
        "4",
        "--net",
        "loss=100%",
        "--workers",
        "1",
        "-q",
    ];
    let test = LoadTest::try_from_args("net", args).unwrap();
    let outcome = test.run(move |cx, session| sender(cx, session, addr));
    assert_eq!(outcome.report.transaction("sent").unwrap().ok, 4);
    assert!(
        server.recv_from(&mut [0; 16]).is_err(),
        "a datagram got through"
    );
    assert_eq!(
        outcome.report.run.parameters.net.as_deref(),
        Some("loss=100%")
    );
    assert!(
        NetMix::default_mix().is_none(),
        "the run's profile outlived it"
    );

    // Without --net, the same bots are heard.
    let test = LoadTest::try_from_args("net", ["net", "--bots", "1", "-q"]).unwrap();
    test.run(move |cx, session| sender(cx, session, addr));
    assert!(server.recv_from(&mut [0; 16]).is_ok());
}
