//! `ttk quic`: QUIC connections, each a bot, sending a message on a stream of its own (or as a
//! datagram) and reading the answer, again and again.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use ttk::Cx;
use ttk::cli::Session;
use ttk::quic::{QuicConnection, QuicConnector};

use crate::host_port::parse_host_port;
use crate::line_load::{check_reply, server_name};
use crate::load_flags::{LoadFlags, finish};
use crate::pace::{Pace, Turns, Unsent};
use crate::tls_flags::TlsFlags;
use crate::udp_load::{open, resolve};

/// How long a request on a stream may take without `--timeout`: the stream is reliable, but a
/// server that stopped answering must not hold a bot until the run's grace is over.
const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a datagram's answer is waited for without `--timeout`, as `ttk udp`'s: a lost
/// datagram is not sent again, and a bot waiting 10 s for it would fall behind its `--rate`.
const DEFAULT_DATAGRAM_TIMEOUT: Duration = Duration::from_secs(1);

/// The longest answer read on a stream: past it, the request fails.
const LONGEST_ANSWER: usize = 16 << 20;

/// `ttk quic`'s flags.
#[derive(Args, Clone, Debug)]
#[command(
    after_help = "Each connection is a bot with a QUIC connection of its own (its own UDP \
    socket): it connects (TLS 1.3, the protocol of --alpn; timed as `connect`), then, for each \
    request, opens a bidirectional stream, sends the message, ends the stream and reads the \
    answer to its end (timed as `request`); with --datagram, it sends the message as a QUIC \
    datagram and waits for one back instead (unreliable: a lost one fails the request after \
    --timeout, 1s if not given, as ttk udp's; a stream's request, 10s). With --expect, an \
    answer without that text fails the request. A connection that ends (closed by the server, idle, lost; a server gone, as \
    ICMP says three times in a row: QuicRefused) is made again for the next request. At the \
    end each bot closes its connection (code 0). Failures count by kind: \
    TLS's (TlsUnknownIssuer, TlsWrongHost, TlsAlert for a protocol the server does not \
    speak…) and QUIC's (QuicHandshakeTimedOut, QuicRefused, QuicClosed…). Exit code 1 if no \
    request succeeded.\n\n\
    Example:\n  \
    ttk quic 127.0.0.1:4433 --alpn echo --send ping --expect ping --cacert ca.pem -c 20 -d 10s"
)]
pub(crate) struct QuicArgs {
    /// HOST:PORT (UDP)
    #[arg(value_name = "ADDR", value_parser = parse_host_port)]
    addr: String,

    /// The application protocol offered (ALPN: QUIC requires one), e.g. h3 or hq-interop
    #[arg(long, value_name = "PROTOCOL")]
    alpn: String,

    /// The message to send
    #[arg(long, value_name = "TEXT")]
    send: String,

    /// An answer must contain this text
    #[arg(long, value_name = "TEXT")]
    expect: Option<String>,

    /// Send the message as a QUIC datagram and wait for one back, instead of on a stream
    #[arg(long)]
    datagram: bool,

    /// The server's name, sent in TLS (SNI) and checked against its certificate [default:
    /// ADDR's host]
    #[arg(long, value_name = "NAME")]
    server_name: Option<String>,

    #[command(flatten)]
    tls: TlsFlags,

    #[command(flatten)]
    pub(crate) load: LoadFlags,
}

/// What every bot of a run shares.
#[derive(Debug)]
struct QuicPlan {
    args: QuicArgs,
    connector: QuicConnector,
    server_name: String,
    pace: Option<Pace>,
}

impl QuicArgs {
    /// Runs the load; the exit code.
    pub(crate) fn run(mut self) -> u8 {
        self.load.choose_sources(server_name(&self.addr));
        let Ok(tls) = self.tls.connector(&[], None) else {
            return 2;
        };
        let connector = match QuicConnector::new(&tls, &[self.alpn.as_str()]) {
            Ok(connector) => match self.load.timeout {
                Some(limit) => connector.with_handshake_timeout(limit),
                None => connector,
            },
            Err(error) => {
                eprintln!("error: {error}");
                return 2;
            }
        };
        let test = match self.load.load_test("ttk quic", &self.addr, 1) {
            Ok(test) => test,
            Err(code) => return code,
        };
        let server_name = self
            .server_name
            .clone()
            .unwrap_or_else(|| server_name(&self.addr).to_owned());
        let pace = self
            .load
            .rate()
            .cloned()
            .map(|rate| Pace::new(rate, self.load.connections, self.load.load_duration()));
        let plan = Arc::new(QuicPlan {
            args: self,
            connector,
            server_name,
            pace,
        });
        finish(test.run_parallel(move |cx, session| quic_bot(cx, session, Arc::clone(&plan))))
    }
}

/// One connection: made (again, when it ended), then a request each iteration.
#[ttk::bot]
fn quic_bot(cx: Cx, session: Session, plan: Arc<QuicPlan>) -> io::Result<()> {
    let source = plan.args.load.source_for(session.id());
    let target = ttk::yield_!(resolve(&plan.args.addr, source))?;
    let limit = plan.args.load.timeout.unwrap_or(match plan.args.datagram {
        true => DEFAULT_DATAGRAM_TIMEOUT,
        false => DEFAULT_REQUEST_TIMEOUT,
    });
    // Each bot resumes its own sessions, as a browser does.
    let connector = plan.connector.for_one_client();
    let mut connection: Option<QuicConnection> = None;
    let turns = Turns::new(plan.pace.as_ref(), session.id());
    let mut unsent = Unsent::new(&cx, turns);
    for k in session.iterations() {
        let Some(send_at) = ttk::yield_!(turns.wait(k)) else {
            break;
        };
        unsent.next = k + 1;
        if let Some(at) = send_at {
            cx.measure_from(at);
        }
        if connection.as_ref().is_none_or(QuicConnection::is_closed) {
            let connect = cx.transaction("connect");
            let made = match open(target, source) {
                Ok(socket) => ttk::yield_!(QuicConnection::connect_on(
                    socket,
                    target,
                    &plan.server_name,
                    &connector
                )),
                Err(error) => Err(error),
            };
            match made {
                Ok(made) => {
                    connect.ok();
                    connection = Some(made);
                }
                Err(error) => {
                    connect.fail_with(&error);
                    ttk::yield_!(turns.pause_after_failure());
                    continue;
                }
            }
        }
        let Some(open) = connection.as_ref() else {
            continue;
        };
        let request = cx.transaction("request");
        let exchange = exchange(open, &plan.args);
        let exchanged = match ttk::yield_!(ttk::timeout(limit, exchange)) {
            Ok(done) => done,
            Err(elapsed) => Err(elapsed.into()),
        };
        match exchanged {
            Ok(()) => {
                request.ok();
            }
            Err(error) => {
                request.fail_with(&error);
                if open.is_closed() {
                    // Made again for the next request.
                    connection = None;
                    ttk::yield_!(turns.pause_after_failure());
                }
            }
        }
    }
    if let Some(connection) = connection {
        ttk::yield_!(connection.close(0, b""));
    }
    Ok(())
}

/// One request on `connection`: the message out, the answer back and checked.
async fn exchange(connection: &QuicConnection, args: &QuicArgs) -> io::Result<()> {
    let answer = match args.datagram {
        true => {
            connection.send_datagram(args.send.as_bytes())?;
            connection.recv_datagram().await?
        }
        false => {
            let mut stream = connection.open_bi().await?;
            stream.write_all(args.send.as_bytes()).await?;
            stream.finish()?;
            stream.read_to_end(LONGEST_ANSWER).await?
        }
    };
    check_reply(&answer, args.expect.as_deref())
}
