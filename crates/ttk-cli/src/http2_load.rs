//! `ttk http --http 2`: connections that keep `--streams` requests in flight each.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use ttk::Cx;
use ttk::Transaction;
use ttk::cli::Session;
use ttk::http::HttpConnection;
use ttk::http::Request;
use ttk::http::grpc::{self, Code};

use crate::grpc_load::GrpcPlan;
use ttk::http::http2::{Http2Connection, Http2Response};
use ttk::tls::TlsConnector;

use crate::http_load::{HttpPlan, RESENT, UNASKED};

/// The counter of the reply messages of streaming gRPC calls (server-streaming and
/// bidirectional) that succeeded.
const STREAMED: &str = "messages received (streaming calls)";

/// The counter of requests an HTTP/2 server refused unprocessed (above the last stream of its
/// GOAWAY, or reset with REFUSED_STREAM), sent again on a new connection.
const REFUSED: &str = "requests sent again (refused unprocessed: GOAWAY, REFUSED_STREAM)";

/// The counter of connections made inside requests, after a server ended one.
const REOPENED: &str = "connections made again (the server ended one: GOAWAY, close)";
use crate::pace::{Turns, Unsent};
use crate::status::failure_reason;
use crate::tls_flags::{connect_timed, count_handshakes, record_reconnects};

/// The counter of connections by the protocol they speak: shows what was negotiated.
fn protocol_counter(protocol: &str) -> String {
    format!("connections over {protocol}")
}

/// Counts the connections of `connection` the server spoke its protocol on since
/// `counted` (h2c to a server of HTTP/1.1 alone: none), as `connections over …`.
fn count_spoken(cx: &Cx, connection: &Connection, counted: &mut u64) {
    let spoken = connection.counts().spoken;
    if spoken > *counted {
        cx.count(&protocol_counter(connection.protocol()), spoken - *counted);
        *counted = spoken;
    }
}

/// One connection keeping up to `--streams` requests in flight: each request is started when
/// due (at once, or on the `--rate` schedule) and a slot is free, and timed from when it was
/// due, so a request held back by the stream limit shows as latency.
#[ttk::bot]
pub(crate) fn h2_connection(cx: Cx, session: Session, plan: Arc<HttpPlan>) {
    // This connection's own TLS sessions: it resumes its own, as a browser does.
    let tls = plan.tls.as_ref().map(TlsConnector::for_one_client);
    let turns = Turns::new(plan.pace.as_ref(), session.id());
    let mut iterations = session.iterations();
    // A request taken from the iterations but not yet due (on a schedule).
    let mut pending: Option<u64> = None;
    // No request is left to start (the duration or the schedule is over).
    let mut ended = false;
    let mut wire: Option<Connection> = None;
    // Of `wire`'s connections the server spoke the protocol on, those counted.
    let mut spoken_counted = 0;
    let mut open: HashMap<u64, Transaction> = HashMap::new();
    // Whether a connection the connection made again on its own failed: nothing more starts
    // on it.
    let mut broken = false;
    // Whether the connection's turns on the schedule are over (not its session's iterations).
    let mut schedule_over = false;
    // The first request number not sent: those from it that were due are counted at the end.
    let mut unsent = Unsent::new(&cx, turns);
    loop {
        // Start what is due while slots are free.
        let mut next_due: Option<Instant> = None;
        while !ended
            && !broken
            && open.len()
                < wire
                    .as_ref()
                    .map_or(plan.streams, |c| c.capacity(plan.streams))
        {
            // Taken only when a slot is free: none starts after the duration.
            let Some(k) = pending.take().or_else(|| iterations.next()) else {
                ended = true;
                break;
            };
            unsent.next = k;
            let Some(due) = turns.at(k) else {
                ended = true;
                schedule_over = true;
                break;
            };
            if let Some(at) = due
                && at > ttk::now()
            {
                pending = Some(k);
                next_due = Some(at);
                break;
            }
            // Only a connection left idle (on a schedule: without one, the next request goes
            // as the last one ends) may have been ended for it.
            if due.is_some()
                && open.is_empty()
                && let Some(connection) = wire.as_mut()
                && !ttk::yield_!(connection.still_open())
            {
                // The server ended it while it was idle (GOAWAY at its keep-alive timeout):
                // the next one is opened, and timed, as a connect, not inside a request.
                wire = None;
            }
            if wire.is_none() {
                let source = plan.load.source_for(session.id());
                match ttk::yield_!(Box::pin(connect(&cx, &plan, source, tls.as_ref()))) {
                    Ok(connected) => {
                        spoken_counted = 0;
                        // Over TLS (ALPN) and HTTP/1.1, known at once.
                        count_spoken(&cx, &connected, &mut spoken_counted);
                        wire = Some(connected);
                    }
                    Err(failed) => {
                        // Refused or timed out (counted as a failed connect): this request is
                        // not sent, as over HTTP/1.1, so that on a schedule the next one's due
                        // time paces the retries (without one, a pause does). Made, but not
                        // in HTTP/2: it could not go, and fails, named.
                        if let ConnectFailed::Protocol(error) = failed {
                            if let Some(at) = due {
                                cx.measure_from(at);
                            }
                            cx.transaction(plan.transaction).fail_with(&error);
                        }
                        unsent.next = k + 1;
                        ttk::yield_!(turns.pause_after_failure());
                        continue;
                    }
                }
            }
            let Some(connection) = wire.as_mut() else {
                break;
            };
            if let Some(at) = due {
                cx.measure_from(at);
            }
            let transaction = cx.transaction(plan.transaction);
            let ticket = connection.start(&plan.request);
            open.insert(ticket, transaction);
            unsent.next = k + 1;
        }
        if open.is_empty() {
            if ended {
                break;
            }
            if let Some(at) = next_due {
                ttk::yield_!(ttk::sleep_until(at));
            }
            continue;
        }
        let Some(connection) = wire.as_mut() else {
            // Requests in flight always have their connection.
            break;
        };
        let before = connection.counts();
        let grpc = plan.grpc.as_ref();
        let finished = match next_due.filter(|_| !ended) {
            Some(at) => ttk::yield_!(connection.next_before(at, grpc)),
            None => ttk::yield_!(connection.next(grpc)),
        };
        let after = connection.counts();
        if after.refused > before.refused {
            cx.count(REFUSED, after.refused - before.refused);
        }
        if after.resent > before.resent {
            cx.count(RESENT, after.resent - before.resent);
        }
        if after.unasked > before.unasked {
            cx.count(UNASKED, after.unasked - before.unasked);
        }
        if after.opened > before.opened {
            cx.count(REOPENED, after.opened - before.opened);
        }
        count_spoken(&cx, connection, &mut spoken_counted);
        if connection.record_reconnects(&cx) {
            // The server is gone or refuses for now: the requests waiting for the connection
            // failed with it. No more start on it (each would try again at once, and fail all
            // others with it); once those under way are over, the next goes through a paused,
            // timed `connect`, as after a refused one.
            broken = true;
        }
        if let Some(tls) = tls.as_ref() {
            // Handshakes of connections made again inside requests (GOAWAY).
            count_handshakes(
                &cx,
                tls,
                after.handshakes.0 - before.handshakes.0,
                after.handshakes.1 - before.handshakes.1,
            );
        }
        if let Some((ticket, result)) = finished
            && let Some(transaction) = open.remove(&ticket)
        {
            match result {
                Verdict::Ok => {
                    transaction.ok();
                }
                Verdict::Streamed(messages) => {
                    transaction.ok();
                    cx.count(STREAMED, messages);
                }
                Verdict::Status(status) => {
                    transaction.fail(failure_reason(status));
                }
                Verdict::Failed(error) => {
                    transaction.fail_with(&error);
                }
            }
        }
        // Ended by the server (GOAWAY, a close) with nothing left on it: the next request
        // goes through a new, timed `connect`.
        if open.is_empty() && wire.as_ref().is_some_and(|c| !c.is_open()) {
            wire = None;
        }
        if open.is_empty() && broken {
            broken = false;
            wire = None;
            // Not once the load is over: nothing follows to pace.
            if !ended {
                ttk::yield_!(turns.pause_after_failure());
            }
        }
    }
    if let Some(connection) = wire.as_ref() {
        count_spoken(&cx, connection, &mut spoken_counted);
    }
    if schedule_over {
        ttk::yield_!(turns.until_over());
    }
}

/// Why [`connect`] made no connection.
enum ConnectFailed {
    /// The connect or the TLS handshake failed: timed and counted already.
    Counted,
    /// Made, but the server speaks no HTTP/2 on it (it chose another protocol in ALPN, or none):
    /// counted by no transaction yet.
    Protocol(io::Error),
}

/// A connection of `--http 2` (or of `--http auto` where the server chose HTTP/1.1 in ALPN:
/// one request at a time, as HTTP/1.1 allows).
pub(crate) enum Connection {
    /// HTTP/2.
    Two(Http2Connection),
    /// HTTP/1.1, one request at a time.
    One {
        /// The connection.
        http: HttpConnection,
        /// The request it sends.
        request: Request,
        /// The number of the request under way, until it is answered.
        under_way: Option<u64>,
        /// The number of the next request.
        next: u64,
    },
}

/// How a request went.
enum Verdict {
    /// It succeeded.
    Ok,
    /// A streaming gRPC call (server-streaming, bidirectional) succeeded, with this many reply
    /// messages.
    Streamed(u64),
    /// An HTTP status of 400 or more.
    Status(u16),
    /// An error, or a gRPC status other than OK (named by its code).
    Failed(io::Error),
}

impl Verdict {
    /// The verdict on an HTTP/2 response: by its gRPC status for `grpc`'s calls, else by its
    /// HTTP status.
    fn of_h2(result: io::Result<Http2Response>, grpc: Option<&GrpcPlan>) -> Verdict {
        match (result, grpc) {
            (Ok(response), Some(plan)) => match grpc::Reply::from_response(response) {
                // A unary or client-streaming call has one reply message (gRPC clients say
                // UNIMPLEMENTED otherwise).
                Ok(reply) if plan.one_reply && reply.len() != 1 => {
                    Verdict::Failed(grpc::status_error(
                        Code::Unimplemented,
                        &format!("a unary reply has one message, this one {}", reply.len()),
                    ))
                }
                // A stream's messages are counted: a call's worth depends on how many came.
                Ok(reply) if !plan.one_reply => Verdict::Streamed(reply.len() as u64),
                Ok(_) => Verdict::Ok,
                Err(error) => Verdict::Failed(error),
            },
            (Err(error), Some(plan)) => Verdict::Failed(grpc::local_failure(&plan.call, error)),
            (Ok(response), None) => Verdict::of_status(response.status()),
            (Err(error), None) => Verdict::Failed(error),
        }
    }

    /// The verdict on an HTTP status.
    fn of_status(status: u16) -> Verdict {
        if status < 400 {
            Verdict::Ok
        } else {
            Verdict::Status(status)
        }
    }
}

/// What a connection counted so far: requests sent again and TLS handshakes inside them.
#[derive(Clone, Copy, Debug)]
struct Counts {
    /// Requests sent again after a connection broke (or, over HTTP/1.1, was closed idle).
    resent: u64,
    /// Requests an HTTP/2 server refused unprocessed, sent again.
    refused: u64,
    /// Over HTTP/1.1, connections given up for bytes no request asked for.
    unasked: u64,
    opened: u64,
    /// Connections the server spoke the protocol on.
    spoken: u64,
    handshakes: (u64, u64),
}

impl Connection {
    /// Starts the plan's request (over HTTP/1.1 the bot starts one at a time: nothing else is
    /// under way); its number on this connection.
    fn start(&mut self, request: &Request) -> u64 {
        match self {
            Connection::Two(h2) => h2.start(request).number(),
            Connection::One {
                under_way, next, ..
            } => {
                *under_way = Some(*next);
                *next += 1;
                *next - 1
            }
        }
    }

    /// Awaits the next response: its request's number and how it went (`grpc`: the call
    /// whose replies these are).
    async fn next(&mut self, grpc: Option<&GrpcPlan>) -> Option<(u64, Verdict)> {
        match self {
            Connection::Two(h2) => h2
                .next()
                .await
                .map(|(ticket, result)| (ticket.number(), Verdict::of_h2(result, grpc))),
            Connection::One {
                http,
                request,
                under_way,
                ..
            } => {
                let number = under_way.take()?;
                let verdict = match http.send(request).await {
                    Ok(response) => Verdict::of_status(response.status()),
                    Err(error) => Verdict::Failed(error),
                };
                Some((number, verdict))
            }
        }
    }

    /// As [`Connection::next`], giving up at `until`.
    async fn next_before(
        &mut self,
        until: Instant,
        grpc: Option<&GrpcPlan>,
    ) -> Option<(u64, Verdict)> {
        match self {
            Connection::Two(h2) => h2
                .next_before(until)
                .await
                .map(|(ticket, result)| (ticket.number(), Verdict::of_h2(result, grpc))),
            // One at a time: the next request waits for this one whatever its due time.
            Connection::One { .. } => Box::pin(self.next(grpc)).await,
        }
    }

    /// Its counts.
    fn counts(&self) -> Counts {
        match self {
            Connection::Two(h2) => Counts {
                resent: h2.retries() - h2.refused(),
                refused: h2.refused(),
                unasked: 0,
                opened: h2.connections_opened(),
                spoken: h2.connections_spoken(),
                handshakes: h2.tls_handshakes(),
            },
            Connection::One { http, .. } => Counts {
                resent: http.retries(),
                refused: 0,
                unasked: http.dropped_for_unasked_bytes(),
                opened: http.connections_opened(),
                spoken: http.connections_opened(),
                handshakes: http.tls_handshakes(),
            },
        }
    }

    /// How many requests it may have in flight: `streams` over HTTP/2, one over HTTP/1.1.
    fn capacity(&self, streams: usize) -> usize {
        match self {
            Connection::Two(_) => streams,
            Connection::One { .. } => 1,
        }
    }

    /// Whether new requests can go on it.
    fn is_open(&self) -> bool {
        match self {
            Connection::Two(h2) => h2.is_open(),
            Connection::One { http, .. } => http.is_open(),
        }
    }

    /// Whether new requests can go on it, the server not having ended it while it was idle
    /// (see `still_open` of each).
    async fn still_open(&mut self) -> bool {
        match self {
            Connection::Two(h2) => h2.still_open().await,
            Connection::One { http, .. } => http.still_open().await,
        }
    }

    /// The protocol it speaks, for the counter of connections by protocol.
    fn protocol(&self) -> &'static str {
        match self {
            Connection::Two(h2) => h2.protocol(),
            Connection::One { .. } => "http/1.1",
        }
    }

    /// Times the connections it made again on its own inside requests, as `connect` and
    /// `tls`; whether one of them failed.
    fn record_reconnects(&mut self, cx: &Cx) -> bool {
        match self {
            Connection::Two(h2) => record_reconnects(cx, h2.take_reconnects()),
            Connection::One { http, .. } => record_reconnects(cx, http.take_reconnects()),
        }
    }
}

/// Connects, timed as `connect`, then for https makes the handshake, timed as `tls`; the
/// protocol is HTTP/2 unless, with `--http auto`, the server chose HTTP/1.1 in ALPN.
async fn connect(
    cx: &Cx,
    plan: &HttpPlan,
    source: Option<SocketAddr>,
    tls: Option<&TlsConnector>,
) -> Result<Connection, ConnectFailed> {
    let name = plan.target.host();
    let stream = connect_timed(
        cx,
        &plan.socket_authority,
        source,
        tls.map(|tls| (tls, name)),
        plan.load.timeout,
    )
    .await
    .map_err(|_| ConnectFailed::Counted)?;
    let h2 = stream
        .tls()
        .is_none_or(|tls| tls.alpn_protocol().as_deref() == Some(b"h2"));
    // Only `--http auto` falls back; otherwise `over` names the server's refusal of h2.
    if h2 || !plan.http1_fallback {
        let mut connection =
            Http2Connection::over(stream, &plan.target.authority, tls).map_err(|error| {
                // What to do, for `ttk http` (gRPC has no other protocol to ask for).
                let refused_h2 = !h2 && plan.grpc.is_none();
                ConnectFailed::Protocol(match refused_h2 {
                    true => io::Error::new(
                        error.kind(),
                        format!("{error}: for a server of HTTP/1.1, use --http auto or --http 1.1"),
                    ),
                    false => error,
                })
            })?;
        connection.set_max_head_len(plan.max_head);
        if let Some(source) = source {
            connection.set_source(source);
        }
        return Ok(Connection::Two(connection));
    }
    let mut http = HttpConnection::over(stream, &plan.target.authority, tls)
        .map_err(ConnectFailed::Protocol)?;
    http.set_max_head_len(plan.max_head);
    if let Some(source) = source {
        http.set_source(source);
    }
    Ok(Connection::One {
        http,
        request: plan.request.clone(),
        under_way: None,
        next: 0,
    })
}
