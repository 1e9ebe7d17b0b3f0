//! What the harness reports against the truth: a server whose reply delays are known counts
//! what it served and measures how long it held each reply; ttk's figures must agree.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use ttk::Cx;
use ttk::cli::{LoadTest, Session};
use ttk::net::TcpStream;
use ttk_examples::reply_target::{ReplyPolicy, ReplyTarget};

#[ttk::bot]
fn client(cx: Cx, session: Session, target: SocketAddr) -> io::Result<()> {
    let stream = ttk::yield_!(TcpStream::connect(target))?;
    stream.set_nodelay(true)?;
    let mut reply = [0; 4];
    for _ in session.iterations() {
        ttk::yield_!(cx.time("request", request(&stream, &mut reply)))?;
    }
    Ok(())
}

#[ttk::bot]
fn request(stream: &TcpStream, reply: &mut [u8; 4]) -> io::Result<()> {
    ttk::yield_!(stream.write_all(b"abc\n"))?;
    ttk::yield_!(stream.read_exact(reply))
}

/// Within `tolerance` (a fraction) of `truth`.
fn close_to(measured: u64, truth: u64, tolerance: f64) -> bool {
    (measured as f64 - truth as f64).abs() <= truth as f64 * tolerance
}

#[test]
fn percentiles_and_counts_match_what_the_server_saw() {
    // 90 % of replies after 5 ms, 10 % after 50 ms.
    let target = ReplyTarget::spawn(ReplyPolicy::KnownDelays {
        fast: Duration::from_millis(5),
        slow: Duration::from_millis(50),
    })
    .unwrap();
    let addr = target.addr();
    let test = LoadTest::try_from_args(
        "accuracy",
        ["accuracy", "--bots", "20", "--iterations", "100", "--quiet"],
    )
    .unwrap();
    let outcome = test.run(|cx, session| client(cx, session, addr));
    assert_eq!(outcome.code, 0);
    target.stop();

    let request = outcome.report.transaction("request").unwrap();
    let measured = request.latency();
    let truth = target.held();
    assert_eq!(request.ok, 2_000);
    assert_eq!(
        request.ok,
        target.served(),
        "ttk's successes = the server's replies"
    );
    assert_eq!(request.failed + request.abandoned + request.stopped, 0);
    let (true_p50, true_p99) = (truth.value_at_quantile(0.5), truth.value_at_quantile(0.99));
    eprintln!(
        "p50 ttk {} / server {true_p50} us, p99 ttk {} / server {true_p99} us",
        measured.p50_us, measured.p99_us
    );
    assert!(
        close_to(measured.p50_us, true_p50, 0.05),
        "p50: ttk {} us, server {true_p50} us",
        measured.p50_us
    );
    assert!(
        close_to(measured.p99_us, true_p99, 0.05),
        "p99: ttk {} us, server {true_p99} us",
        measured.p99_us
    );
}
