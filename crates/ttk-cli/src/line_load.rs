//! `ttk tcp`: connections sending a line and reading the reply line.

use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use ttk::Cx;
use ttk::cli::Session;
use ttk::metrics::KindedError;
use ttk::net::{FrameFormat, Framed, PeerEnd};
use ttk::tls::{MaybeTls, TlsConnector};

use crate::host_port::parse_host_port;
use crate::line_pipeline::pipelined_connection;
use crate::load_flags::{LoadFlags, finish};
use crate::pace::{Pace, Turns, Unsent};
use crate::resp;
use crate::tls_flags::{TlsFlags, connect_timed};

/// `ttk tcp`'s flags.
#[derive(Args, Clone, Debug)]
#[command(
    after_help = "Each connection is a bot that writes the line, reads one reply \
    (a line; with --resp, a whole RESP value), and writes again (with --pipeline N, N lines, \
    then their N replies); with --expect, a reply without that text fails the request. Lines \
    read before a line is written (a server's push, the rest of a reply of several lines) are \
    not its reply: they are skipped and counted as `lines skipped (not a reply)`. \
    A connection the server closes is opened again: a line written into a close (a server \
    that ends connections after a reply) is written again on a new connection, once, and \
    counted; a connection refused with a line (redis past maxclients: the line, then a close \
    with the request unread) fails its request. Transactions: `connect` and `request`, with \
    --tls `tls`, each TLS handshake, and with --greeting `greeting`, the wait for the server's \
    banner. Exit code 1 if no request succeeded.\n\n\
    Examples:\n  \
    ttk tcp 127.0.0.1:6379 --send PING --expect PONG --crlf -c 50 -d 10s\n  \
    ttk tcp 127.0.0.1:6379 --send 'GET greeting' --expect hello --resp\n  \
    ttk tcp 127.0.0.1:2525 --greeting '220 ' --send NOOP --expect 250 --crlf\n  \
    ttk tcp 127.0.0.1:6380 --tls --cacert ca.pem --send PING --expect PONG --crlf\n  \
    ttk tcp 127.0.0.1:7000 --send hello --expect hello --rate 5000"
)]
pub(crate) struct TcpArgs {
    /// HOST:PORT
    #[arg(value_name = "ADDR", value_parser = parse_host_port)]
    addr: String,

    /// The line to send (the line ending is added)
    #[arg(long, value_name = "TEXT")]
    send: String,

    /// A reply must contain this text (a reply line; with --resp, anywhere in its value)
    #[arg(long, value_name = "TEXT")]
    expect: Option<String>,

    /// Lines end in CRLF (Redis inline commands, IRC, SMTP), not LF
    #[arg(long)]
    crlf: bool,

    /// Replies are redis's RESP (implies --crlf): a bulk string or an array is one reply however
    /// many lines it takes, and --expect looks in its whole value; an error reply (`-ERR …`,
    /// `-NOAUTH …`) fails its request, counted under its code. Without it, every line is a
    /// reply and a bulk string's value is skipped as a line that is not one
    #[arg(long)]
    pub(crate) resp: bool,

    /// After connecting, wait for a line containing this text before the first line is sent:
    /// a server's banner (SMTP's and FTP's `220 `: with its space, the last line of a banner
    /// of several, `220-…` lines, is the one matched); the lines before it are skipped. Timed
    /// as `greeting`, within --timeout (10 s without it)
    #[arg(long, value_name = "TEXT")]
    greeting: Option<String>,

    /// Write this many lines at once, then read their replies, as redis-benchmark's -P does:
    /// each line is a request, timed from the write to its reply. Each reply must be one line
    /// (or a RESP value, with --resp): replies of several lines fail their batch as
    /// `RepliesOfSeveralLines`. Not with --rate
    #[arg(long, short = 'P', value_name = "N", default_value_t = 1)]
    pub(crate) pipeline: usize,

    /// The longest reply line accepted, in bytes (with --resp, also the longest bulk string,
    /// and the most of a value kept to look for --expect in)
    #[arg(long, value_name = "BYTES", default_value_t = 64 * 1024)]
    max_line: usize,

    /// Speak TLS: the lines go over a TLS connection to HOST (its certificate checked for
    /// HOST, unless --insecure)
    #[arg(long)]
    tls: bool,

    #[command(flatten)]
    pub(crate) load: LoadFlags,

    #[command(flatten)]
    tls_flags: TlsFlags,
}

/// The most lines `--pipeline` writes at once.
const MOST_PIPELINED: usize = 10_000;

/// What every connection of a run shares.
#[derive(Debug)]
pub(crate) struct LinePlan {
    pub(crate) args: TcpArgs,
    /// With --tls: how TLS connections are made (each connection gets its own session cache).
    pub(crate) tls: Option<TlsConnector>,
    format: FrameFormat,
    pace: Option<Pace>,
    /// The line with its ending, --pipeline times over: `n` lines are its first `n *
    /// line_len` bytes.
    pub(crate) lines: Vec<u8>,
    /// The length of one line with its ending.
    pub(crate) line_len: usize,
}

impl TcpArgs {
    /// Runs the load; the exit code.
    pub(crate) fn run(mut self) -> u8 {
        if !(1..=MOST_PIPELINED).contains(&self.pipeline) {
            eprintln!("error: --pipeline is from 1 (a line, then its reply) to {MOST_PIPELINED}");
            return 2;
        }
        if self.pipeline > 1 && self.load.rate().is_some() {
            eprintln!(
                "error: --pipeline writes lines as replies come, not on a schedule: give \
                 --rate or --pipeline, not both"
            );
            return 2;
        }
        if self.send.contains(['\r', '\n']) {
            eprintln!("error: --send is one line: it has a line break (the ending is added)");
            return 2;
        }
        let tls = if self.tls {
            match self.tls_flags.connector(&[], self.load.timeout) {
                Ok(connector) => Some(connector),
                Err(code) => return code,
            }
        } else {
            if self.tls_flags.any_given() {
                eprintln!("warning: the TLS flags do nothing without --tls");
            }
            None
        };
        self.load.choose_sources(server_name(&self.addr));
        let test = match self.load.load_test("ttk tcp", &self.addr, 1) {
            Ok(test) => test,
            Err(code) => return code,
        };
        let format = if self.crlf || self.resp {
            FrameFormat::crlf_lines()
        } else {
            FrameFormat::lines()
        }
        .max_frame_len(self.max_line);
        let pace = self
            .load
            .rate()
            .cloned()
            .map(|rate| Pace::new(rate, self.load.connections, self.load.load_duration()));
        let mut line = Vec::new();
        if let Err(error) = format.encode(self.send.as_bytes(), &mut line) {
            eprintln!("error: --send: {error}");
            return 2;
        }
        let plan = Arc::new(LinePlan {
            lines: line.repeat(self.pipeline),
            line_len: line.len(),
            args: self,
            tls,
            format,
            pace,
        });
        if plan.args.pipeline > 1 {
            return finish(test.run_parallel(move |cx, session| {
                pipelined_connection(cx, session, Arc::clone(&plan))
            }));
        }
        finish(
            test.run_parallel(move |cx, session| line_connection(cx, session, Arc::clone(&plan))),
        )
    }
}

/// A connection and what it has carried.
pub(crate) struct Line {
    pub(crate) framed: Framed<MaybeTls>,
    /// Replies read on it: a connection that replied before may meet a close crossing the
    /// next line; a new one that fails has failed.
    pub(crate) replies: u64,
    /// When its last line was written.
    written_at: Option<Instant>,
    /// With --resp: the reply read whole, its lines and values one after another (kept for
    /// the next).
    text: Vec<u8>,
    /// How many lines the last write carried.
    batch: usize,
}

/// What a line brought back.
pub(crate) struct Reply {
    /// `--expect`'s verdict on it.
    pub(crate) verdict: io::Result<()>,
    /// How it began, kept for a connection's first reply only: to name it if the server turns
    /// out to have refused the connection.
    pub(crate) first: Option<String>,
}

/// One connection: connects, then exchanges a line for each of its iterations.
#[ttk::bot]
fn line_connection(cx: Cx, session: Session, plan: Arc<LinePlan>) {
    let mut line: Option<Line> = None;
    let turns = Turns::new(plan.pace.as_ref(), session.id());
    let tls = plan.tls.as_ref().map(TlsConnector::for_one_client);
    let mut unsent = Unsent::new(&cx, turns);
    for k in session.iterations() {
        let Some(send_at) = ttk::yield_!(turns.wait(k)) else {
            break;
        };
        unsent.next = k + 1;
        // Only a connection left idle (on a schedule: without one, the next line goes as the
        // last reply comes) may have been closed for it.
        if send_at.is_some()
            && let Some(connection) = line.as_mut()
            && !ttk::yield_!(connection.framed.still_open())
        {
            // The server closed it while it was idle (redis's `timeout`): the next one is
            // opened, and timed, as a connect; the request is not written into the close.
            line = None;
        }
        if !ttk::yield_!(ensure_open(
            &mut line,
            &cx,
            &plan,
            &session,
            tls.as_ref(),
            &turns
        )) {
            continue;
        }
        if let Some(at) = send_at {
            cx.measure_from(at);
        }
        let request = cx.transaction("request");
        // A connection that fails its first request was refused (a server at its limit, a TLS
        // 1.3 server that wanted a client certificate, which says so only after the client's
        // handshake): the next is paused as after a refused connect, not made at once.
        let fresh = line.as_ref().is_some_and(Line::is_new);
        let mut skipped = 0;
        let mut resent = false;
        // --timeout bounds the request, a line sent again included.
        let deadline = plan.args.load.timeout.map(|limit| ttk::now() + limit);
        let exchanged = loop {
            let Some(connection) = line.as_mut() else {
                unreachable!("a connection is open or opened above")
            };
            let exchange = exchange(connection, &plan, &mut skipped);
            let exchanged = ttk::yield_!(by_deadline(deadline, &plan, exchange));
            match exchanged {
                Err(error) if !resent && closed_under_it(&error, connection) => {
                    // The server had ended the connection (after a reply, or idle): the line
                    // went into the close, and it never saw it. Once more, on a new one (a
                    // connect that fails is its own failure, and the request's).
                    resent = true;
                    match ttk::yield_!(open(&cx, &plan, &session, tls.as_ref())) {
                        Ok(opened) => {
                            cx.count(RESENT, 1);
                            line = Some(opened);
                        }
                        Err(error) => {
                            line = None;
                            break Err(error);
                        }
                    }
                }
                other => break other,
            }
        };
        let mut answered = None;
        let verdict = match exchanged {
            Ok(reply) => {
                answered = Some(ttk::now());
                let mut end = None;
                if let Some(connection) = line.as_mut()
                    && let Some(first) = reply.first.as_deref()
                {
                    end = ttk::yield_!(first_reply_end(connection, first, &mut skipped));
                }
                match end {
                    // The server's last word: the next line goes on a new connection.
                    Some(ended) => {
                        line = None;
                        ended.and(reply.verdict)
                    }
                    None => reply.verdict,
                }
            }
            Err(error) => {
                // The connection's state is unknown (a reply may still come): start over.
                line = None;
                Err(error)
            }
        };
        if skipped > 0 {
            cx.count(LINES_SKIPPED, skipped);
        }
        match (verdict, answered) {
            (Ok(()), Some(answered)) => {
                // Timed to the reply, not to the look after it.
                request.ok_at(answered);
            }
            (Ok(()), None) => unreachable!("a success is a reply"),
            (Err(error), _) => {
                request.fail_with(&error);
                if fresh && line.is_none() && refused_on_arrival(&error) {
                    ttk::yield_!(turns.pause_after_failure());
                }
            }
        }
    }
}

impl Line {
    /// Whether it has answered nothing yet: a failure on it is the server's refusal of it.
    pub(crate) fn is_new(&self) -> bool {
        self.replies == 0
    }
}

/// Whether `error`, failing a connection that had answered nothing, is the server refusing it
/// (the next connection then waits as after a refused connect): any error but a first reply
/// slow past `--timeout`.
pub(crate) fn refused_on_arrival(error: &io::Error) -> bool {
    error.kind() != io::ErrorKind::TimedOut
}

/// The counter of lines written again on a new connection because the server had closed the
/// one they went on.
pub(crate) const RESENT: &str =
    "requests sent again (the server closed the connection before replying)";

/// Opens a connection into `line` if it has none ([`open`]); after a failure (its own
/// transaction's), pauses as `turns` says and answers `false`: the request is not made.
pub(crate) async fn ensure_open(
    line: &mut Option<Line>,
    cx: &Cx,
    plan: &LinePlan,
    session: &Session,
    tls: Option<&TlsConnector>,
    turns: &Turns<'_>,
) -> bool {
    if line.is_some() {
        return true;
    }
    match open(cx, plan, session, tls).await {
        Ok(opened) => {
            *line = Some(opened);
            true
        }
        Err(_) => {
            turns.pause_after_failure().await;
            false
        }
    }
}

/// `exchange`, given up at `deadline` (if any) as --timeout's failure.
pub(crate) async fn by_deadline<T>(
    deadline: Option<Instant>,
    plan: &LinePlan,
    exchange: impl Future<Output = io::Result<T>>,
) -> io::Result<T> {
    let Some(deadline) = deadline else {
        return exchange.await;
    };
    let left = deadline.saturating_duration_since(ttk::now());
    match ttk::timeout(left, exchange).await {
        Ok(done) => done,
        Err(_) => Err(timed_out(plan)),
    }
}

/// Connects (with --tls, and the handshake) and waits for --greeting: a connection ready for
/// its first line. Each step is timed as its own transaction, which records its failure.
pub(crate) async fn open(
    cx: &Cx,
    plan: &LinePlan,
    session: &Session,
    tls: Option<&TlsConnector>,
) -> io::Result<Line> {
    let host = server_name(&plan.args.addr);
    let stream = connect_timed(
        cx,
        &plan.args.addr,
        plan.args.load.source_for(session.id()),
        tls.map(|tls| (tls, host)),
        plan.args.load.timeout,
    )
    .await?;
    let mut framed = Framed::new(stream, plan.format);
    if let Some(greeting) = &plan.args.greeting {
        let waited = wait_for(&mut framed, greeting);
        let limit = plan.args.load.timeout.unwrap_or(GREETING_LIMIT);
        cx.time_within("greeting", limit, waited).await?;
    }
    Ok(Line {
        framed,
        replies: 0,
        written_at: None,
        text: Vec::new(),
        batch: 0,
    })
}

/// Whether `error`, met by a line on `connection`, is the server's close crossing the line:
/// the end of the stream or a reset, before a byte of reply, on a connection that had replied
/// before (a new one that fails has failed), and not a close that came after the server had
/// taken the line
/// ([`TcpStream::delivered_before_close`](ttk::net::TcpStream::delivered_before_close)): a
/// server that reads a line and then closes without a reply has dropped it, and that is the
/// line's failure. A server that drops a line at once cannot be told from a close crossing
/// it: that line is sent again (and counted).
pub(crate) fn closed_under_it(error: &io::Error, connection: &Line) -> bool {
    let taken = error.kind() == io::ErrorKind::UnexpectedEof
        && connection.written_at.is_some_and(|at| {
            connection
                .framed
                .get_ref()
                .get_ref()
                .delivered_before_close(at)
        });
    ttk::tls::closed_by_peer(error)
        && connection.replies > 0
        && connection.framed.buffered().is_empty()
        && !taken
}

/// How long a connection's first reply is watched for the server's close right after it.
const FIRST_REPLY_WATCH: Duration = Duration::from_millis(1);

/// After a connection's first reply, `first`: whether the server closed the connection right
/// after it (`None` if not). Closed gracefully, the reply stands: a server that answers one
/// line and closes. Reset, the reply was not one: a server that refuses a connection (redis
/// past `maxclients`, an IRC server past its limit) writes its reason and closes with the line
/// unread, which resets the connection, and the line failed (a server that answers and then
/// resets, closing with `SO_LINGER` 0, is taken for one that refuses). The kernel is asked
/// first (a close already there costs no wait); then the connection is watched for
/// [`FIRST_REPLY_WATCH`], for a close a moment after the reply. Once per connection; lines
/// that come meanwhile are no reply (counted in `skipped`).
pub(crate) async fn first_reply_end(
    connection: &mut Line,
    first: &str,
    skipped: &mut u64,
) -> Option<io::Result<()>> {
    let refused = || refusal(first);
    match connection.framed.get_ref().get_ref().peer_end() {
        Ok(PeerEnd::Ended) => return Some(Ok(())),
        Ok(PeerEnd::Reset) => return Some(Err(refused())),
        Ok(PeerEnd::Open) | Err(_) => {}
    }
    let until = ttk::now() + FIRST_REPLY_WATCH;
    loop {
        let left = until.saturating_duration_since(ttk::now());
        match ttk::timeout(left, connection.framed.read_frame()).await {
            Err(_elapsed) => return None,
            // A second line of a refusal, a push: no reply; the watch goes on.
            Ok(Ok(Some(_))) => *skipped += 1,
            Ok(Ok(None)) => return Some(Ok(())),
            Ok(Err(error))
                if matches!(
                    error.kind(),
                    io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted
                ) =>
            {
                return Some(Err(refused()));
            }
            // Another failure (a line over --max-line): the reply stands, and the next
            // exchange meets the failure again, and fails with it.
            Ok(Err(_)) => return None,
        }
    }
}

/// The failure of a request given up at `--timeout` (the whole of it: a line sent again on a
/// new connection shares it).
pub(crate) fn timed_out(plan: &LinePlan) -> io::Error {
    let limit = plan.args.load.timeout.unwrap_or_default();
    io::Error::new(
        io::ErrorKind::TimedOut,
        format!("timed out after {limit:?} (--timeout)"),
    )
}

/// `error`, met in the middle of a reply: a close there is no close before the reply (the server
/// had the request), so it is given a kind of its own (counted under the same name), and the
/// request is not sent again ([`closed_under_it`]).
fn begun_reply(error: io::Error) -> io::Error {
    if !ttk::tls::closed_by_peer(&error) {
        return error;
    }
    let kind = match error.kind() {
        io::ErrorKind::UnexpectedEof => "UnexpectedEof",
        io::ErrorKind::ConnectionReset => "ConnectionReset",
        io::ErrorKind::ConnectionAborted => "ConnectionAborted",
        _ => "BrokenPipe",
    };
    KindedError::new(kind, format!("{error}, in the middle of a reply")).into_io(error.kind())
}

/// The failure of a request on a connection refused with `first`, its line: a kind of its own
/// (counted as `ConnectionReset`), so that it is not taken for a close that crossed a request
/// ([`closed_under_it`]), and the request not sent again.
pub(crate) fn refusal(first: &str) -> io::Error {
    KindedError::new(
        "ConnectionReset",
        format!(
            "the server reset the connection right after its first line `{first}`: it closed \
             with the request unread, as a server refusing a connection does (redis past \
             maxclients, an IRC server past its limit)"
        ),
    )
    .into_io(io::ErrorKind::ConnectionReset)
}

/// The counter of lines read that were not a reply: they came before the line was written.
pub(crate) const LINES_SKIPPED: &str = "lines skipped (not a reply)";

/// How long a server may take to greet without `--timeout` (as a TLS handshake may).
const GREETING_LIMIT: Duration = Duration::from_secs(10);

/// Reads lines until one contains `greeting` (those before it skipped); `UnexpectedEof` if the
/// server closes first.
async fn wait_for(framed: &mut Framed<MaybeTls>, greeting: &str) -> io::Result<()> {
    loop {
        let Some(line) = framed.read_frame().await? else {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("the server closed the connection before its greeting ({greeting:?})"),
            ));
        };
        if check_reply(line, Some(greeting)).is_ok() {
            return Ok(());
        }
    }
}

/// Writes the line and reads the reply line, judged by `--expect` ([`send_lines`], then
/// [`read_reply`]).
async fn exchange(connection: &mut Line, plan: &LinePlan, skipped: &mut u64) -> io::Result<Reply> {
    send_lines(connection, plan, 1, skipped).await?;
    read_reply(connection, plan, skipped).await
}

/// Writes `n` lines at once (one write). What was read before they are written is not their
/// reply, and is skipped (counted in `skipped`): the whole lines already read — the rest of a
/// reply of several lines (a RESP bulk string's `$5`, then `hello`, without --resp), a push
/// (an IRC server's `PING`) — and a line begun before the write (a reply's line longer than one
/// read), once it is whole. Read as a reply, each would have put every reply after it one
/// request late. A line the server sends entirely after the write cannot be told from a reply,
/// and is read as one. An over-long line among those skipped fails with `InvalidData` before
/// the lines are written.
pub(crate) async fn send_lines(
    connection: &mut Line,
    plan: &LinePlan,
    n: usize,
    skipped: &mut u64,
) -> io::Result<()> {
    let framed = &mut connection.framed;
    while framed.next_buffered_frame()?.is_some() {
        *skipped += 1;
    }
    let begun = !framed.buffered().is_empty();
    framed.write_raw(&plan.lines[..n * plan.line_len]).await?;
    connection.written_at = Some(ttk::now());
    connection.batch = n;
    if begun {
        // The line that was coming: its end was the first thing to read.
        if framed.read_frame().await?.is_some() {
            *skipped += 1;
        }
    }
    Ok(())
}

/// Reads the next reply (with --resp, a whole RESP value), judged by `--expect`, and counts it
/// in the connection's replies.
pub(crate) async fn read_reply(
    connection: &mut Line,
    plan: &LinePlan,
    skipped: &mut u64,
) -> io::Result<Reply> {
    let framed = &mut connection.framed;
    // A line the server sent before it had the request (its TCP had not acknowledged it yet)
    // is no reply: a refusal, or a banner not waited for with --greeting. Asked of a
    // connection's first reply only (a syscall), where such lines come, after a write of one
    // line (of several, a reply to the first may come while the later ones are unacknowledged).
    let mut early: Option<String> = None;
    loop {
        let read = match framed.read_frame().await {
            // After a line sent early, the close (a reset, too) is the server's refusal: named
            // by that line.
            Err(error) => {
                return Err(match early {
                    Some(early) if ttk::tls::closed_by_peer(&error) => io::Error::new(
                        error.kind(),
                        format!(
                            "{error} (the server's line `{early}` came before it had the request)"
                        ),
                    ),
                    _ => error,
                });
            }
            Ok(read) => read,
        };
        let Some(reply) = read else {
            let closed = "the server closed the connection instead of replying";
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                match early {
                    Some(early) => {
                        format!("{closed} (its line `{early}` came before it had the request)")
                    }
                    None => closed.to_owned(),
                },
            ));
        };
        let first = (connection.replies == 0)
            .then(|| String::from_utf8_lossy(&reply[..reply.len().min(80)]).into_owned());
        let verdict = if plan.args.resp {
            let text = &mut connection.text;
            text.clear();
            text.extend_from_slice(reply);
            // The value's parts are kept only to look for --expect in (a blob error's, to
            // name it).
            let keep = plan.args.expect.is_some() || text.first() == Some(&b'!');
            let nested_error = resp::read_rest(framed, text, plan.args.max_line, keep)
                .await
                .map_err(begun_reply)?;
            if text.first() == Some(&b'>') {
                // A push (RESP3), no reply: the next value is.
                *skipped += 1;
                continue;
            }
            // An error inside an array fails the request as a whole error would (redis counts
            // the command among its failed calls).
            let error = resp::error_reply(text)
                .or_else(|| nested_error.as_deref().and_then(resp::error_reply));
            match error {
                Some(error) => Err(error),
                None => check_reply(text, plan.args.expect.as_deref()),
            }
        } else {
            check_reply(reply, plan.args.expect.as_deref())
        };
        if first.is_some()
            && connection.batch == 1
            && framed
                .get_ref()
                .get_ref()
                .unacknowledged()
                .is_ok_and(|unacknowledged| unacknowledged > 0)
        {
            *skipped += 1;
            early = first;
            continue;
        }
        connection.replies += 1;
        return Ok(Reply { verdict, first });
    }
}

/// The host of `HOST:PORT`, without brackets: the TLS server name.
pub(crate) fn server_name(addr: &str) -> &str {
    let host = addr.rsplit_once(':').map_or(addr, |(host, _)| host);
    host.trim_start_matches('[').trim_end_matches(']')
}

/// Whether `reply` contains `expect` (any reply does without one); the error shows the reply.
pub(crate) fn check_reply(reply: &[u8], expect: Option<&str>) -> io::Result<()> {
    let Some(expect) = expect else {
        return Ok(());
    };
    let expect = expect.as_bytes();
    if expect.is_empty() || reply.windows(expect.len()).any(|window| window == expect) {
        return Ok(());
    }
    let shown = String::from_utf8_lossy(&reply[..reply.len().min(80)]);
    Err(io::Error::new(
        io::ErrorKind::InvalidData,
        format!("the reply `{shown}` lacks the expected text"),
    ))
}

#[cfg(test)]
mod tests {
    use super::{check_reply, server_name};

    #[test]
    fn the_server_name_is_the_host() {
        assert_eq!(server_name("localhost:6380"), "localhost");
        assert_eq!(server_name("[::1]:6380"), "::1");
    }

    #[test]
    fn a_reply_must_contain_the_expected_text() {
        assert!(check_reply(b"+PONG", Some("PONG")).is_ok());
        assert!(check_reply(b"anything", None).is_ok());
        let error = check_reply(b"-ERR unknown", Some("PONG")).unwrap_err();
        assert_eq!(
            error.to_string(),
            "the reply `-ERR unknown` lacks the expected text"
        );
    }
}
