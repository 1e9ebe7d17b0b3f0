//! `--net` on a load test: every socket its bots make emulates the profile (here, a link that
//! loses everything: a real server on loopback receives nothing), the report records it, and
//! the profile is the run's own: a run beside it in the same process is heard.

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
        "the run's profile is not the process's"
    );
}

/// Sends datagrams to `server` for half a second.
#[ttk::bot]
fn chatty(_cx: Cx, _session: Session, server: SocketAddr) -> std::io::Result<()> {
    let socket = ttk::net::UdpSocket::bind("127.0.0.1:0")?;
    for _ in 0..50 {
        ttk::yield_!(socket.send_to(b"hello?", server))?;
        ttk::yield_!(ttk::sleep(Duration::from_millis(10)));
    }
    Ok(())
}

#[test]
fn a_run_beside_one_with_a_profile_keeps_its_sockets_as_they_are() {
    let server = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = server.local_addr().unwrap();
    // A lossy run, and beside it, on another thread of the same process, a clear one.
    let lossy = std::thread::spawn(move || {
        let args = [
            "lossy",
            "--bots",
            "2",
            "--net",
            "loss=100%",
            "--workers",
            "1",
            "-q",
        ];
        let test = LoadTest::try_from_args("lossy", args).unwrap();
        test.run(move |cx, session| chatty(cx, session, addr));
    });
    let clear =
        LoadTest::try_from_args("clear", ["clear", "--bots", "1", "--workers", "1", "-q"]).unwrap();
    clear.run(move |cx, session| chatty(cx, session, addr));
    lossy.join().unwrap();
    server
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut heard = 0;
    while server.recv_from(&mut [0; 16]).is_ok() {
        heard += 1;
    }
    assert_eq!(
        heard, 50,
        "the clear run's datagrams, all, and none of the lossy one's"
    );
}
