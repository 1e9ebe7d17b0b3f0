//! `ttk udp`: bots sending a datagram and waiting for the reply datagram.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use ttk::Cx;
use ttk::cli::Session;
use ttk::net::UdpSocket;

use crate::hex_bytes::HexBytes;
use crate::host_port::parse_host_port;
use crate::line_load::check_reply;
use crate::load_flags::{LoadFlags, finish};
use crate::pace::{Pace, Turns, Unsent};

/// How long a bot waits for a reply datagram without `--timeout`: UDP loses datagrams, and a
/// bot must not wait for a lost one until the run's grace is over.
const DEFAULT_REPLY_TIMEOUT: Duration = Duration::from_secs(1);

/// `ttk udp`'s flags.
#[derive(Args, Clone, Debug)]
#[command(
    after_help = "Each bot has its own socket, sends the datagram to ADDR and waits for \
    one reply datagram from it (up to --timeout, 1s if not given: a lost datagram fails the \
    request, and the bot goes on from a new socket so that a late reply is not taken for the \
    next one), then sends again. Datagrams that came before a request was sent (a second \
    reply to the last one, a duplicate) are not its reply: they are skipped and counted as \
    `datagrams skipped (not a reply)`; one that comes after it cannot be told from its reply. \
    With --expect, a reply without that text fails the request. A binary protocol's datagram \
    (DNS, memcached's UDP frames) is given in hexadecimal with --send-hex, and the bytes a reply \
    must hold with --expect-hex. \
    Transactions: `request`. Exit code 1 if no request succeeded.\n\n\
    Example:\n  \
    ttk udp 127.0.0.1:9000 --send ping --expect pong -c 20 --rate 10000 -d 10s\n  \
    ttk udp 127.0.0.1:53 --send-hex '1234 0100 0001 0000 0000 0000 076578616d706c65 03636f6d 00 0001 0001' --expect-hex 1234"
)]
pub(crate) struct UdpArgs {
    /// HOST:PORT
    #[arg(value_name = "ADDR", value_parser = parse_host_port)]
    addr: String,

    /// The datagram to send
    #[arg(
        long,
        value_name = "TEXT",
        required_unless_present = "send_hex",
        conflicts_with = "send_hex"
    )]
    send: Option<String>,

    /// The datagram to send, as hexadecimal bytes (`0001 abcd`; spaces and colons allowed), for
    /// a binary protocol: DNS, memcached's UDP frames, a game's packets
    #[arg(long, value_name = "HEX")]
    send_hex: Option<HexBytes>,

    /// A reply datagram must contain this text
    #[arg(long, value_name = "TEXT", conflicts_with = "expect_hex")]
    expect: Option<String>,

    /// A reply datagram must contain these bytes, in hexadecimal (as --send-hex)
    #[arg(long, value_name = "HEX")]
    expect_hex: Option<HexBytes>,

    #[command(flatten)]
    pub(crate) load: LoadFlags,
}

/// What every bot of a run shares.
#[derive(Debug)]
struct UdpPlan {
    args: UdpArgs,
    pace: Option<Pace>,
    /// The datagram sent (`--send`'s text or `--send-hex`'s bytes).
    datagram: Vec<u8>,
}

impl UdpArgs {
    /// Runs the load; the exit code.
    pub(crate) fn run(mut self) -> u8 {
        self.load
            .choose_sources(crate::line_load::server_name(&self.addr));
        let test = match self.load.load_test("ttk udp", &self.addr, 1) {
            Ok(test) => test,
            Err(code) => return code,
        };
        let pace = self
            .load
            .rate()
            .cloned()
            .map(|rate| Pace::new(rate, self.load.connections, self.load.load_duration()));
        // Clap requires one of them.
        let datagram = match (&self.send, &self.send_hex) {
            (_, Some(bytes)) => bytes.0.clone(),
            (Some(text), None) => text.as_bytes().to_vec(),
            (None, None) => Vec::new(),
        };
        let plan = Arc::new(UdpPlan {
            args: self,
            pace,
            datagram,
        });
        finish(test.run_parallel(move |cx, session| datagram_bot(cx, session, Arc::clone(&plan))))
    }
}

/// One bot: a socket of its own, a datagram and its reply for each iteration.
#[ttk::bot]
fn datagram_bot(cx: Cx, session: Session, plan: Arc<UdpPlan>) -> io::Result<()> {
    let source = plan.args.load.source_for(session.id());
    let target = ttk::yield_!(resolve(&plan.args.addr, source))?;
    let limit = plan.args.load.timeout.unwrap_or(DEFAULT_REPLY_TIMEOUT);
    let mut reply = vec![0; 64 * 1024];
    let mut socket: Option<UdpSocket> = None;
    let turns = Turns::new(plan.pace.as_ref(), session.id());
    let mut unsent = Unsent::new(&cx, turns);
    let mut stale = 0;
    for k in session.iterations() {
        let Some(send_at) = ttk::yield_!(turns.wait(k)) else {
            break;
        };
        unsent.next = k + 1;
        if let Some(at) = send_at {
            cx.measure_from(at);
        }
        let request = cx.transaction("request");
        let opened = match socket.take() {
            Some(open) => Ok(open),
            None => open(target, source),
        };
        let exchanged = match opened {
            Ok(open) => {
                let exchange = async {
                    stale += take_stale(&open, &mut reply)?;
                    open.send(&plan.datagram).await?;
                    let len = open.recv(&mut reply).await?;
                    match &plan.args.expect_hex {
                        Some(bytes) => check_bytes(&reply[..len], bytes),
                        None => check_reply(&reply[..len], plan.args.expect.as_deref()),
                    }
                };
                let exchanged = match ttk::yield_!(ttk::timeout(limit, exchange)) {
                    Ok(done) => done,
                    Err(elapsed) => Err(elapsed.into()),
                };
                // After a failure the socket is dropped: a reply that comes after its time
                // must not pass for the next request's (a datagram says nothing of which
                // request it answers), and a new socket, on a new port, gets only the replies
                // to what it sends.
                if exchanged.is_ok() {
                    socket = Some(open);
                }
                exchanged
            }
            Err(error) => Err(error),
        };
        if stale > 0 {
            cx.count(DATAGRAMS_SKIPPED, std::mem::take(&mut stale));
        }
        match exchanged {
            Ok(()) => {
                request.ok();
            }
            Err(error) => {
                let timed_out = error.kind() == io::ErrorKind::TimedOut;
                request.fail_with(&error);
                // Refused at once (ICMP), or no socket; a timeout has waited already.
                if !timed_out {
                    ttk::yield_!(turns.pause_after_failure());
                }
            }
        }
    }
    Ok(())
}

/// Whether `reply` contains `expect`'s bytes; the error shows the reply's first bytes in
/// hexadecimal.
fn check_bytes(reply: &[u8], expect: &HexBytes) -> io::Result<()> {
    let expect = &expect.0;
    if reply
        .windows(expect.len())
        .any(|window| window == expect.as_slice())
    {
        return Ok(());
    }
    let shown = HexBytes(reply[..reply.len().min(32)].to_vec());
    let more = if reply.len() > 32 { " …" } else { "" };
    Err(io::Error::new(
        io::ErrorKind::InvalidData,
        format!("the reply `{shown}{more}` lacks the expected bytes"),
    ))
}

/// The counter of datagrams that came before their bot sent its request.
const DATAGRAMS_SKIPPED: &str = "datagrams skipped (not a reply)";

/// Takes the datagrams `socket` has received and not read, into `buf`, and lets them go: how
/// many. Sent before the request about to go, they answer none of it (a second reply to the
/// last request, a duplicate the network made), and read after it they would pass for its
/// reply, at once. Costs no syscall more than the receive after the send would: the read that
/// finds the socket empty is made here instead, and that receive then waits for the selector.
/// An ICMP error waiting on the socket answers an earlier datagram: it is let go too, and this
/// request goes (its own answer, or error, follows). At most [`MOST_STALE`] a time, so that a
/// peer flooding the socket does not keep its bot from ever sending (under such a flood, a
/// datagram past them can still pass for the reply).
fn take_stale(socket: &UdpSocket, buf: &mut [u8]) -> io::Result<u64> {
    let mut taken = 0;
    while taken < MOST_STALE {
        match socket.try_recv_from(buf) {
            Ok(_) => taken += 1,
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => break,
            Err(error) if error.kind() == io::ErrorKind::ConnectionRefused => {}
            Err(error) => return Err(error),
        }
    }
    Ok(taken)
}

/// The most datagrams [`take_stale`] lets go before a send.
const MOST_STALE: u64 = 256;

/// The address `addr` names (looked up once per bot, off the loop): the first, or the first
/// of `source`'s family.
pub(crate) async fn resolve(addr: &str, source: Option<SocketAddr>) -> io::Result<SocketAddr> {
    ttk::net::lookup_host(addr)
        .await?
        .into_iter()
        .find(|target| source.is_none_or(|source| source.is_ipv4() == target.is_ipv4()))
        .ok_or_else(|| {
            let family = match source {
                Some(source) => format!(" reachable from {}", source.ip()),
                None => String::new(),
            };
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("`{addr}` names no address{family}"),
            )
        })
}

/// A socket bound to `source` (or any address of `target`'s family), on an ephemeral port,
/// and connected to `target`.
pub(crate) fn open(target: SocketAddr, source: Option<SocketAddr>) -> io::Result<UdpSocket> {
    let local: SocketAddr = match (source, target) {
        (Some(source), _) => source,
        (None, SocketAddr::V4(_)) => ([0, 0, 0, 0], 0).into(),
        (None, SocketAddr::V6(_)) => (std::net::Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let socket = UdpSocket::bind(local)?;
    socket.connect(target)?;
    Ok(socket)
}
