//! Pipelining: `queue` several requests, one write, `receive` the responses in order.

mod util;

use std::io::{self, ErrorKind};
use std::time::Duration;

use ttk_core::Cx;
use ttk_http::{HttpConnection, Request};
use ttk_macros::bot;
use util::Server;

/// Queues `paths` (each request limited to 2 s), receives as many responses, then (if
/// `close_first`) sends one more request; the outcomes as `Ok(body)` or `Err(kind)`, and the connections opened.
#[bot(crate = ttk_core)]
fn pipeline(
    _cx: Cx,
    _id: usize,
    addr: String,
    paths: Vec<&'static str>,
    close_first: bool,
) -> io::Result<(Vec<Result<String, ErrorKind>>, u64)> {
    let mut http = ttk_core::yield_!(HttpConnection::connect(&addr))?;
    for (i, path) in paths.iter().enumerate() {
        let mut request = Request::get(*path).timeout(Duration::from_secs(2));
        if close_first && i == 0 {
            request = request.header("Connection", "close");
        }
        http.queue(&request);
    }
    assert_eq!(http.pending(), paths.len());
    let mut outcomes = Vec::new();
    for _ in 0..paths.len() + usize::from(close_first) {
        let outcome = if http.pending() > 0 {
            ttk_core::yield_!(http.receive())
        } else {
            ttk_core::yield_!(http.send(&Request::get("/after")))
        };
        outcomes.push(
            outcome
                .map(|response| response.text().unwrap().to_string())
                .map_err(|error| error.kind()),
        );
    }
    Ok((outcomes, http.connections_opened()))
}

fn run(
    addr: &str,
    paths: Vec<&'static str>,
    close_first: bool,
) -> (Vec<Result<String, ErrorKind>>, u64) {
    let addr = addr.to_string();
    ttk_core::run(1, move |cx, id| {
        pipeline(cx, id, addr.clone(), paths.clone(), close_first)
    })
    .pop()
    .unwrap()
    .unwrap()
}

/// Answers with the request's path, after reading `batch` requests (so a client that waited
/// for each response before sending the next would time out).
fn path_server(batch: usize) -> Server {
    Server::start(move |mut peer, _| {
        loop {
            let mut replies = Vec::new();
            for _ in 0..batch {
                let Some((head, _)) = peer.next_request() else {
                    return;
                };
                let path = head.split(' ').nth(1).unwrap().to_string();
                let close = head.contains("Connection: close");
                let connection = if close { "close" } else { "keep-alive" };
                replies.extend_from_slice(
                    format!(
                        "HTTP/1.1 200 OK\r\nConnection: {connection}\r\nContent-Length: {}\r\n\r\n{path}",
                        path.len()
                    )
                    .as_bytes(),
                );
                if close {
                    peer.send(&replies);
                    return;
                }
            }
            peer.send(&replies); // all in one write
        }
    })
}

#[test]
fn queued_requests_are_written_together_and_answered_in_order() {
    let server = path_server(3);
    let (outcomes, opened) = run(&server.addr, vec!["/a", "/b", "/c"], false);
    let bodies: Vec<_> = outcomes.into_iter().take(3).map(Result::unwrap).collect();
    assert_eq!(bodies, ["/a", "/b", "/c"]);
    assert_eq!(opened, 1);
}

#[test]
fn requests_after_a_closing_response_fail_and_the_next_reconnects() {
    let server = path_server(1);
    let (outcomes, opened) = run(&server.addr, vec!["/a", "/b", "/c"], true);
    assert_eq!(
        outcomes,
        [
            Ok("/a".to_string()),
            Err(ErrorKind::UnexpectedEof),
            Err(ErrorKind::UnexpectedEof),
            Ok("/after".to_string()),
        ]
    );
    assert_eq!(opened, 2);
}

#[bot(crate = ttk_core)]
fn misuse(_cx: Cx, _id: usize, addr: String) -> io::Result<(ErrorKind, ErrorKind, u16)> {
    let mut http = ttk_core::yield_!(HttpConnection::connect(&addr))?;
    let nothing_waiting = ttk_core::yield_!(http.receive()).unwrap_err().kind();
    http.queue(&Request::get("/queued"));
    let send_while_pending = ttk_core::yield_!(http.send(&Request::get("/")))
        .unwrap_err()
        .kind();
    let status = ttk_core::yield_!(http.receive())?.status();
    Ok((nothing_waiting, send_while_pending, status))
}

#[test]
fn receiving_with_nothing_waiting_and_sending_with_responses_due_are_invalid_input() {
    let server = path_server(1);
    let addr = server.addr.clone();
    let outcome = ttk_core::run(1, move |cx, id| misuse(cx, id, addr.clone()))
        .pop()
        .unwrap()
        .unwrap();
    assert_eq!(
        outcome,
        (ErrorKind::InvalidInput, ErrorKind::InvalidInput, 200)
    );
}
