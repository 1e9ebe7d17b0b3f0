//! A request that went out on a reused connection the server had closed, and got no byte of
//! answer, is sent again once on a new connection, when it may be repeated; nothing else is
//! sent again. Against in-process servers that close connections after answering, and a real
//! nginx that closes idle connections (`keepalive_timeout 1s`) or every connection after one
//! response (`keepalive_requests 1`).

mod support;
mod util;

use std::fs;
use std::io::{self, ErrorKind};
use std::time::Duration;

use support::nginx::Nginx;
use ttk_core::Cx;
use ttk_http::{HttpConnection, Request};
use ttk_macros::bot;
use util::Server;

const OK: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

/// What a client saw: each request's status or error kind, the connections it opened and the
/// requests it sent again.
#[derive(Debug)]
struct Seen {
    outcomes: Vec<Result<u16, ErrorKind>>,
    opened: u64,
    retries: u64,
}

/// Sends each request in turn on one connection.
#[bot(crate = ttk_core)]
fn client(_cx: Cx, _id: usize, addr: String, requests: Vec<Request>) -> io::Result<Seen> {
    let mut http = ttk_core::yield_!(HttpConnection::connect(&addr))?;
    let mut outcomes = Vec::new();
    for request in &requests {
        let outcome = ttk_core::yield_!(http.send(request));
        outcomes.push(outcome.map(|r| r.status()).map_err(|e| e.kind()));
    }
    Ok(Seen {
        outcomes,
        opened: http.connections_opened(),
        retries: http.retries(),
    })
}

fn run(addr: &str, requests: Vec<Request>) -> Seen {
    let addr = addr.to_string();
    ttk_core::run(1, move |cx, id| {
        client(cx, id, addr.clone(), requests.clone())
    })
    .pop()
    .unwrap()
    .unwrap()
}

/// A server that answers one request per connection and then closes it, as a server closes a
/// connection kept idle past its keep-alive timeout (it never reads the next request).
fn one_answer_per_connection() -> Server {
    Server::start(|mut peer, _| {
        if peer.next_request().is_some() {
            peer.send(OK);
        }
    })
}

/// Whether `outcome` is the failure of a request a closed connection took.
fn closed(outcome: &Result<u16, ErrorKind>) -> bool {
    matches!(
        outcome,
        Err(ErrorKind::UnexpectedEof | ErrorKind::ConnectionReset)
    )
}

#[test]
fn a_get_on_a_connection_the_server_closed_is_sent_again_on_a_new_one() {
    let server = one_answer_per_connection();
    let seen = run(&server.addr, vec![Request::get("/"); 5]);
    assert_eq!(seen.outcomes, vec![Ok(200); 5]);
    // Each request after the first found its connection closed and went again on a new one.
    assert_eq!((seen.opened, seen.retries), (5, 4));
    assert_eq!(server.accepted(), 5);
}

#[test]
fn the_method_idempotency_keys_and_the_override_decide_what_is_sent_again() {
    let server = one_answer_per_connection();
    let requests = vec![
        Request::get("/"),
        Request::post("/order").body("1"),
        Request::get("/"),
        Request::post("/order")
            .header("Idempotency-Key", "a1")
            .body("1"),
        Request::post("/order").header("X-Idempotency-Key", "a2"),
        Request::new("PATCH", "/me").retry_on_reuse(true),
        Request::delete("/me"),
        Request::get("/once").retry_on_reuse(false),
        Request::get("/"),
    ];
    let seen = run(&server.addr, requests);
    let o = &seen.outcomes;
    // The plain POST and the GET told not to are not sent again: their connection's close is
    // their failure, and the request after each opens a new connection.
    assert!(closed(&o[1]) && closed(&o[7]), "{o:?}");
    for i in [0, 2, 3, 4, 5, 6, 8] {
        assert_eq!(o[i], Ok(200), "request {i}: {o:?}");
    }
    assert_eq!(seen.retries, 4);
    assert_eq!(seen.opened, 7);
    assert_eq!(server.accepted(), 7);
}

#[test]
fn a_new_connection_that_fails_is_not_sent_again() {
    // Every connection is closed without an answer: the first request is a failure of its own.
    let silent = Server::start(|mut peer, _| {
        peer.next_request();
    });
    let seen = run(&silent.addr, vec![Request::get("/")]);
    assert!(closed(&seen.outcomes[0]), "{:?}", seen.outcomes);
    assert_eq!((seen.opened, seen.retries), (1, 0));
    assert_eq!(silent.accepted(), 1);

    // The first connection answers once; later ones close without answering: the request
    // that found the first closed is sent again once, and the new connection's failure is its
    // failure.
    let then_silent = Server::start(|mut peer, number| {
        if peer.next_request().is_some() && number == 0 {
            peer.send(OK);
        }
    });
    let seen = run(&then_silent.addr, vec![Request::get("/"); 2]);
    assert_eq!(seen.outcomes[0], Ok(200));
    assert!(closed(&seen.outcomes[1]), "{:?}", seen.outcomes);
    assert_eq!((seen.opened, seen.retries), (2, 1));
    assert_eq!(then_silent.accepted(), 2);
}

#[test]
fn a_response_that_started_is_not_sent_again() {
    // The second answer on a connection stops in its head: a response had started.
    let server = Server::start(|mut peer, _| {
        peer.next_request();
        peer.send(OK);
        peer.next_request();
        peer.send(b"HTTP/1.1 200 OK\r\nContent-Le");
    });
    let seen = run(&server.addr, vec![Request::get("/"); 2]);
    assert_eq!(seen.outcomes, [Ok(200), Err(ErrorKind::UnexpectedEof)]);
    assert_eq!((seen.opened, seen.retries), (1, 0));
    assert_eq!(server.accepted(), 1);
}

#[test]
fn a_request_the_server_took_and_dropped_is_a_failure_not_sent_again() {
    // The first request on each connection is answered; the second is read and, 200 ms
    // later, the connection closed without an answer: the server had it (its TCP acknowledged
    // it, its program read it), and no close that crossed it comes that late.
    let server = Server::start(move |mut peer, _| {
        if peer.next_request().is_some() {
            peer.send(OK);
        }
        if peer.next_request().is_some() {
            std::thread::sleep(Duration::from_millis(200));
        }
    });
    let seen = run(&server.addr, vec![Request::get("/"); 4]);
    let o = &seen.outcomes;
    assert_eq!(o[0], Ok(200), "{o:?}");
    assert_eq!(o[1], Err(ErrorKind::UnexpectedEof), "{o:?}");
    assert_eq!(o[2], Ok(200), "{o:?}");
    assert_eq!(o[3], Err(ErrorKind::UnexpectedEof), "{o:?}");
    assert_eq!((seen.opened, seen.retries), (2, 0));
    assert_eq!(server.accepted(), 2);
}

#[test]
fn a_close_in_stages_that_crossed_the_request_sends_it_again() {
    // Each connection answers one request, then closes as RFC 9112 advises and Apache does at
    // its keep-alive timeout: its side shut (a FIN), then what comes read and dropped for a
    // while. The FIN goes just as the next request arrives, unread (as a keep-alive timeout
    // firing then would): the server's TCP acknowledged the request, with the FIN or before
    // it. It is still sent again, not failed: the close came within a round trip of it.
    let server = Server::start(|mut peer, _| {
        if peer.next_request().is_some() {
            peer.send(OK);
            peer.wait_for_bytes();
            peer.shut_write();
            peer.drain_for(Duration::from_millis(300));
        }
    });
    let seen = run(&server.addr, vec![Request::get("/"); 3]);
    assert_eq!(seen.outcomes, vec![Ok(200); 3]);
    assert_eq!((seen.opened, seen.retries), (3, 2));
    assert_eq!(server.accepted(), 3);
}

/// Sends one request, then pipelines `paths`; the bodies or error kinds, and the connections
/// opened and requests sent again.
#[bot(crate = ttk_core)]
fn pipeline(
    _cx: Cx,
    _id: usize,
    addr: String,
    paths: Vec<&'static str>,
) -> io::Result<(Vec<Result<String, ErrorKind>>, u64, u64)> {
    let mut http = ttk_core::yield_!(HttpConnection::connect(&addr))?;
    ttk_core::yield_!(http.send(&Request::get("/first")))?;
    for path in &paths {
        http.queue(&Request::get(*path));
    }
    let mut outcomes = Vec::new();
    for _ in &paths {
        let outcome = ttk_core::yield_!(http.receive());
        outcomes.push(
            outcome
                .map(|response| response.text().unwrap().to_string())
                .map_err(|error| error.kind()),
        );
    }
    Ok((outcomes, http.connections_opened(), http.retries()))
}

#[test]
fn pipelined_requests_a_closed_connection_took_are_all_sent_again() {
    // The first connection answers once and closes; the next answers everything with the path.
    let server = Server::start(|mut peer, number| {
        while let Some((head, _)) = peer.next_request() {
            let path = head.split(' ').nth(1).unwrap().to_string();
            let reply = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{path}",
                path.len()
            );
            peer.send(reply.as_bytes());
            if number == 0 {
                return;
            }
        }
    });
    let addr = server.addr.clone();
    let (outcomes, opened, retries) = ttk_core::run(1, move |cx, id| {
        pipeline(cx, id, addr.clone(), vec!["/a", "/b", "/c"])
    })
    .pop()
    .unwrap()
    .unwrap();
    let expected: Vec<Result<String, ErrorKind>> =
        vec![Ok("/a".into()), Ok("/b".into()), Ok("/c".into())];
    assert_eq!(outcomes, expected);
    assert_eq!((opened, retries), (2, 1));
}

/// nginx serving `/hello`, with an access log; `{keepalive}` is filled in by each test.
const HTTP: &str = r#"
    default_type text/plain;
    access_log {dir}/access.log;
    {keepalive}
    server {
        listen 127.0.0.1:{port};
        location = /hello { return 200 "hello from nginx\n"; }
    }
"#;

/// The whole config: [`HTTP`] in the common frame.
fn config() -> String {
    support::nginx::config(64, HTTP)
}

/// Sends `/hello` `rounds` times, pausing `pause` after each; the successes and failures.
#[bot(crate = ttk_core)]
fn paced(
    _cx: Cx,
    _id: usize,
    addr: String,
    rounds: usize,
    pause: Duration,
) -> (usize, Vec<String>) {
    let hello = Request::get("/hello");
    let mut http = None;
    let (mut ok, mut failures) = (0, Vec::new());
    for _ in 0..rounds {
        if http.is_none() {
            match ttk_core::yield_!(HttpConnection::connect(&addr)) {
                Ok(connected) => http = Some(connected),
                Err(error) => failures.push(format!("connect: {error}")),
            }
        }
        if let Some(connection) = http.as_mut() {
            match ttk_core::yield_!(connection.send(&hello)) {
                Ok(response) if response.status() == 200 => ok += 1,
                Ok(response) => failures.push(format!("status {}", response.status())),
                Err(error) => failures.push(format!("{:?}: {error}", error.kind())),
            }
        }
        ttk_core::yield_!(ttk_core::sleep(pause));
    }
    (ok, failures)
}

/// Runs 8 bots sending 3 requests each with pauses of `pause` against nginx configured with
/// `keepalive`; asserts no request failed and the successes are the requests nginx logged.
fn no_false_failures(keepalive: &str, pause: Duration) {
    let config = config().replace("{keepalive}", keepalive);
    let Some(nginx) = Nginx::start(&config, |_| {}) else {
        return;
    };
    let addr = nginx.addr.clone();
    let outcomes = ttk_core::run(8, move |cx, id| paced(cx, id, addr.clone(), 3, pause));
    let ok: usize = outcomes.iter().map(|(ok, _)| ok).sum();
    let failures: Vec<_> = outcomes.iter().flat_map(|(_, f)| f).collect();
    assert!(failures.is_empty(), "{keepalive}: {failures:?}");
    assert_eq!(ok, 24);
    let logged = fs::read_to_string(nginx.dir.join("access.log"))
        .unwrap()
        .lines()
        .filter(|line| line.contains("\"GET /hello HTTP/1.1\" 200 "))
        .count();
    assert_eq!(ok, logged, "{keepalive}: successes against nginx's log");
}

#[test]
fn nginx_closing_idle_connections_causes_no_failure() {
    // Bots pause 2 s between requests; nginx closes a connection idle for 1 s, so every
    // request after a bot's first goes out on a connection nginx has closed.
    no_false_failures("keepalive_timeout 1s;", Duration::from_secs(2));
}

#[test]
fn nginx_closing_after_every_response_causes_no_failure() {
    no_false_failures("keepalive_requests 1;", Duration::from_millis(1200));
}
