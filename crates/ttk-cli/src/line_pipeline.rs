//! `ttk tcp --pipeline N`: each connection writes N lines at once, then reads their N replies,
//! as redis-benchmark's `-P` does. Each line is a request, timed from the write to its reply.

use std::collections::VecDeque;
use std::io;
use std::sync::Arc;
use std::time::Instant;

use ttk::Cx;
use ttk::cli::Session;
use ttk::metrics::{KindedError, Transaction};
use ttk::net::PeerEnd;
use ttk::tls::TlsConnector;

use crate::line_load::{
    LINES_SKIPPED, Line, LinePlan, RESENT, Reply, by_deadline, closed_under_it, ensure_open,
    first_reply_end, open, read_reply, refusal, refused_on_arrival, send_lines,
};
use crate::pace::Turns;

/// One connection writing its lines `--pipeline` at a time.
///
/// A connection's first reply is held until the next one comes: a server that refuses a
/// connection writes one line and closes with the lines unread (a reset), and that line is
/// then no reply. A close that crossed the lines after earlier replies (a server's limit of
/// requests per connection) has the lines it left unanswered written again on a new
/// connection, as `ttk tcp` does without --pipeline: again as long as each connection answers
/// some of them, once more after one that answered none.
#[ttk::bot]
pub(crate) fn pipelined_connection(cx: Cx, session: Session, plan: Arc<LinePlan>) {
    let depth = plan.args.pipeline;
    let turns = Turns::new(None, session.id());
    let tls = plan.tls.as_ref().map(TlsConnector::for_one_client);
    let mut line: Option<Line> = None;
    let mut iterations = session.iterations();
    // The batch's requests still waiting for their reply, oldest first.
    let mut waiting: VecDeque<Transaction> = VecDeque::with_capacity(depth);
    loop {
        let n = iterations.by_ref().take(depth).count();
        if n == 0 {
            break;
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
        // A connection that fails its first batch was refused: paused after, as in
        // `line_connection`.
        let fresh = line.as_ref().is_some_and(Line::is_new);
        waiting.extend((0..n).map(|_| cx.transaction("request")));
        // The batch's replies, held until it is whole (see `exchange_batch`); here, not in
        // the exchange, so that a timeout that drops the exchange does not drop them too.
        let mut answered: Vec<Held> = Vec::with_capacity(n);
        let mut skipped = 0;
        let deadline = plan.args.load.timeout.map(|limit| ttk::now() + limit);
        let mut resent = false;
        let outcome = loop {
            let Some(connection) = line.as_mut() else {
                unreachable!("a connection is open or opened above")
            };
            let before = waiting.len();
            let batch =
                exchange_batch(connection, &plan, &mut waiting, &mut answered, &mut skipped);
            let exchanged = ttk::yield_!(by_deadline(deadline, &plan, batch));
            // A connection that answered some of the lines may close on the rest (a server's
            // limit of requests per connection, smaller than the batch): they go again as
            // long as each connection answers some; one that answers none gets one more.
            if waiting.len() < before {
                resent = false;
            }
            match exchanged {
                Err(error) if !resent && closed_under_it(&error, connection) => {
                    // The server ended the connection after earlier replies: the lines left
                    // went into its close. Again, on a new connection.
                    resent = true;
                    match ttk::yield_!(open(&cx, &plan, &session, tls.as_ref())) {
                        Ok(opened) => {
                            cx.count(RESENT, waiting.len() as u64);
                            line = Some(opened);
                        }
                        Err(error) => break Err(error),
                    }
                }
                Ok(ended) => break Ok(ended),
                Err(error) => break Err(error),
            }
        };
        // Their replies came; the exchange was given up after them (--timeout).
        finish_all(&mut answered, None);
        match outcome {
            // The server closed it right after its first reply: the next batch goes on a new
            // one.
            Ok(true) => line = None,
            Ok(false) => {}
            Err(error) => {
                // The connection's state is unknown: start over; what is still waiting failed.
                line = None;
                for request in waiting.drain(..) {
                    request.fail_with(&error);
                }
                if fresh && refused_on_arrival(&error) {
                    ttk::yield_!(turns.pause_after_failure());
                }
            }
        }
        if skipped > 0 {
            cx.count(LINES_SKIPPED, skipped);
        }
    }
}

/// Writes a line for each request `waiting` and reads their replies in order, holding each
/// request with its reply in `answered` until the batch is whole, then finishing them:
/// - a connection's first reply, followed by the server's reset instead of a second, was a
///   refusal (its line answered none of the lines), and fails;
/// - without --resp a reply is a line: lines left over once the batch has its replies (or
///   found before the next batch is written) mean replies of several lines, which one line
///   per reply misreads, and the batch fails saying so rather than count what it cannot tell;
/// - a batch that ended on a connection's first reply is watched for a close after it
///   ([`first_reply_end`]).
///
/// On an error, the requests not answered stay in `waiting`. `true` if the server closed the
/// connection right after its first reply (a server that answers once): it is not to be used
/// again.
async fn exchange_batch(
    connection: &mut Line,
    plan: &LinePlan,
    waiting: &mut VecDeque<Transaction>,
    answered: &mut Vec<Held>,
    skipped: &mut u64,
) -> io::Result<bool> {
    if !plan.args.resp {
        // Lines (or part of one) already here, before this batch is written: the rest of the
        // last batch's replies.
        if connection.framed.next_buffered_frame()?.is_some()
            || !connection.framed.buffered().is_empty()
        {
            return Err(several_lines());
        }
    }
    send_lines(connection, plan, waiting.len(), skipped).await?;
    while !waiting.is_empty() {
        let reply = match read_reply(connection, plan, skipped).await {
            Ok(reply) => reply,
            Err(error) => {
                // Closed with the lines unread (a reset), or before they came (never
                // acknowledged), right after the connection's first line: that line answered
                // none of them.
                if let [(_, _, first)] = answered.as_slice()
                    && let Some(line) = first.first.as_deref()
                {
                    let tcp = connection.framed.get_ref().get_ref();
                    let refused = ttk::tls::closed_by_peer(&error)
                        && (tcp.peer_end().ok() == Some(PeerEnd::Reset)
                            || tcp.unacknowledged().is_ok_and(|bytes| bytes > 0));
                    if refused {
                        let named = refusal(line);
                        if let Some((request, _, _)) = answered.pop() {
                            request.fail_with(&named);
                        }
                        return Err(named);
                    }
                }
                finish_all(answered, None);
                return Err(error);
            }
        };
        let request = waiting.pop_front().expect("a request waits for each reply");
        answered.push((request, ttk::now(), reply));
    }
    if !plan.args.resp && connection.framed.next_buffered_frame()?.is_some() {
        let error = several_lines();
        finish_all(answered, Some(&error));
        return Err(error);
    }
    let mut closed = false;
    if let [(_, _, first)] = answered.as_mut_slice()
        && let Some(name) = first.first.take()
    {
        // The batch ended on the connection's first reply: watch for a close after it. The
        // reply stays in `answered` meanwhile, where a timeout that drops this exchange
        // leaves it.
        let ended = first_reply_end(connection, &name, skipped).await;
        closed = ended.is_some();
        if let (Some(ended), Some((_, _, first))) = (ended, answered.first_mut()) {
            let verdict = std::mem::replace(&mut first.verdict, Ok(()));
            first.verdict = ended.and(verdict);
        }
    }
    finish_all(answered, None);
    Ok(closed)
}

/// Finishes every request of `answered` by its reply, or, given `failed`, as that failure.
fn finish_all(answered: &mut Vec<Held>, failed: Option<&io::Error>) {
    for (request, at, reply) in answered.drain(..) {
        match failed {
            Some(error) => {
                request.fail_with(error);
            }
            None => finish(request, at, reply),
        }
    }
}

/// The failure of a batch whose server sent more lines than replies.
fn several_lines() -> io::Error {
    KindedError::new(
        "RepliesOfSeveralLines",
        "the server sent more lines than the lines written: with --pipeline, each reply must be \
         one line (for redis, --resp reads whole values; or use --pipeline 1, where the rest of \
         a reply is skipped), and the batch's replies cannot be told apart",
    )
    .into_io(io::ErrorKind::InvalidData)
}

/// A reply held: its request, when it came, and the reply.
type Held = (Transaction, Instant, Reply);

/// Finishes `request` by `reply`, which came at `at`.
fn finish(request: Transaction, at: Instant, reply: Reply) {
    match reply.verdict {
        Ok(()) => {
            request.ok_at(at);
        }
        Err(error) => {
            request.fail_with(&error);
        }
    }
}
