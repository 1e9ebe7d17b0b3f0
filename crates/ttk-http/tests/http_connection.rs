//! `HttpConnection` against an in-process server: framing, keep-alive, limits and failures.

mod util;

use std::io::ErrorKind;
use std::time::Duration;

use ttk_http::Request;
use util::{Limits, Server, exchange, exchange_with, one};

const OK: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Server: test\r\n\r\nhello";

#[test]
fn keeps_one_connection_alive_for_many_requests() {
    let server = Server::canned(OK);
    let (outcomes, opened) = exchange(&server.addr, vec![Request::get("/"); 20]);
    for outcome in outcomes {
        let outcome = outcome.unwrap();
        assert_eq!((outcome.status, &outcome.body[..]), (200, &b"hello"[..]));
    }
    assert_eq!((opened, server.accepted()), (1, 1));
}

#[test]
fn sends_host_body_and_content_length() {
    let server = Server::start(|mut peer, _| {
        while let Some((head, body)) = peer.next_request() {
            let reply = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{head}{}",
                head.len() + body.len(),
                String::from_utf8(body).unwrap()
            );
            peer.send(reply.as_bytes());
        }
    });
    let request = Request::post("/scores").header("X-Bot", "7").body("42");
    let echoed = one(&server.addr, request, Limits::default()).unwrap().body;
    let expected = format!(
        "POST /scores HTTP/1.1\r\nX-Bot: 7\r\nHost: {}\r\nContent-Length: 2\r\n\
         Connection: keep-alive\r\n\r\n42",
        server.addr
    );
    assert_eq!(String::from_utf8(echoed).unwrap(), expected);
}

#[test]
fn reads_a_content_length_body_split_across_reads() {
    let server = Server::in_pieces(&[
        b"HTTP/1.1 200 OK\r\nConte",
        b"nt-Length: 11\r\n\r\nhello",
        b" worl",
        b"d",
    ]);
    let (outcomes, _) = exchange(&server.addr, vec![Request::get("/"); 2]);
    for outcome in outcomes {
        assert_eq!(outcome.unwrap().body, b"hello world");
    }
}

#[test]
fn decodes_chunked_bodies_with_extensions_split_across_reads() {
    let server = Server::in_pieces(&[
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhel",
        b"lo\r\n6\r",
        b"\n world\r\n0\r\nX-Trailer: yes\r\n",
        b"\r\n",
    ]);
    let (outcomes, opened) = exchange(&server.addr, vec![Request::get("/"); 3]);
    for outcome in outcomes {
        let outcome = outcome.unwrap();
        assert_eq!(
            (outcome.status, &outcome.body[..]),
            (200, &b"hello world"[..])
        );
    }
    assert_eq!(opened, 1);
}

#[test]
fn a_large_chunked_body_grows_the_buffer() {
    let body: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let mut wire = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n".to_vec();
    for chunk in body.chunks(30_000) {
        wire.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        wire.extend_from_slice(chunk);
        wire.extend_from_slice(b"\r\n");
    }
    wire.extend_from_slice(b"0\r\n\r\n");
    let wire: &'static [u8] = wire.leak();
    let server = Server::canned(wire);
    let (outcomes, _) = exchange(&server.addr, vec![Request::get("/"); 2]);
    for outcome in outcomes {
        assert!(outcome.unwrap().body == body);
    }
}

#[test]
fn a_malformed_status_line_is_invalid_data() {
    let server = Server::canned(b"HTTP/1.1 two hundred OK\r\nContent-Length: 0\r\n\r\n");
    let error = one(&server.addr, Request::get("/"), Limits::default()).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidData);
    assert!(
        error.to_string().contains("malformed response head"),
        "{error}"
    );
}

#[test]
fn a_head_over_the_limit_is_invalid_data() {
    let server = Server::start(|mut peer, _| {
        peer.next_request();
        peer.send(b"HTTP/1.1 200 OK\r\n");
        for _ in 0..100 {
            peer.send(b"X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
        }
        peer.send(b"Content-Length: 0\r\n\r\n");
    });
    let limits = Limits {
        head: Some(1024),
        body: None,
    };
    let error = one(&server.addr, Request::get("/"), limits).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidData);
    assert!(
        error.to_string().contains("head is over the limit of 1024"),
        "{error}"
    );
}

#[test]
fn a_hundred_headers_are_read_and_the_head_is_limited_by_bytes() {
    // 100 `Set-Cookie` lines (about 2 KB): more than fit on the stack, read from the spare
    // array, again and again on one connection.
    let mut wire = b"HTTP/1.1 200 OK\r\n".to_vec();
    for i in 0..100 {
        wire.extend_from_slice(format!("Set-Cookie: c{i}=v{i}\r\n").as_bytes());
    }
    wire.extend_from_slice(b"Content-Length: 2\r\n\r\nok");
    let head_len = wire.len() - 2;
    let server = Server::canned(wire.leak());
    let (outcomes, opened) = exchange(&server.addr, vec![Request::get("/"); 3]);
    for outcome in outcomes {
        let outcome = outcome.unwrap();
        let cookies: Vec<_> = outcome
            .headers
            .iter()
            .filter(|(name, _)| name == "Set-Cookie")
            .map(|(_, value)| String::from_utf8(value.clone()).unwrap())
            .collect();
        assert_eq!(cookies.len(), 100);
        assert_eq!((&cookies[0][..], &cookies[99][..]), ("c0=v0", "c99=v99"));
        assert_eq!(outcome.body, b"ok");
    }
    assert_eq!(opened, 1);

    // The same head with a limit one byte short of it.
    let limits = Limits {
        head: Some(head_len - 1),
        body: None,
    };
    let error = one(&server.addr, Request::get("/"), limits).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidData);
    assert!(
        error
            .to_string()
            .contains(&format!("head is over the limit of {}", head_len - 1)),
        "{error}"
    );
}

#[test]
fn thousands_of_tiny_headers_are_refused_by_the_byte_limit_not_a_count() {
    // 30,000 headers of 4 bytes (120 KB): over the default 80 KiB limit however counted.
    let mut wire = b"HTTP/1.1 200 OK\r\n".to_vec();
    for _ in 0..30_000 {
        wire.extend_from_slice(b"a:\r\n");
    }
    wire.extend_from_slice(b"Content-Length: 0\r\n\r\n");
    let server = Server::canned(wire.leak());
    let error = one(&server.addr, Request::get("/"), Limits::default()).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidData);
    assert!(
        error
            .to_string()
            .contains("head is over the limit of 81920"),
        "{error}"
    );
}

#[test]
fn a_body_over_the_limit_is_invalid_data() {
    let limits = Limits {
        head: None,
        body: Some(4),
    };
    let by_length = Server::canned(OK);
    let error = one(&by_length.addr, Request::get("/"), limits).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidData);
    assert!(error.to_string().contains("over the limit of 4"), "{error}");

    let chunked = Server::canned(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n",
    );
    let error = one(&chunked.addr, Request::get("/"), limits).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidData);
    assert!(error.to_string().contains("over the limit of 4"), "{error}");
}

#[test]
fn the_server_closing_mid_body_is_unexpected_eof() {
    for cut in [
        &b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this"[..],
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nabc",
        b"HTTP/1.1 200 OK\r\nContent-Le",
    ] {
        let server = Server::start(move |mut peer, _| {
            peer.next_request();
            peer.send(cut);
        });
        let error = one(&server.addr, Request::get("/"), Limits::default()).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::UnexpectedEof, "{error}");
        assert!(error.to_string().contains("in the middle"), "{error}");
    }
}

#[test]
fn connection_close_makes_the_next_request_reconnect() {
    let server =
        Server::canned(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok");
    let (outcomes, opened) = exchange(&server.addr, vec![Request::get("/"); 3]);
    assert!(outcomes.iter().all(|o| o.as_ref().unwrap().body == b"ok"));
    assert_eq!((opened, server.accepted()), (3, 3));
}

#[test]
fn an_http_1_0_body_runs_until_the_close() {
    let server = Server::start(|mut peer, _| {
        peer.next_request();
        peer.send(b"HTTP/1.0 200 OK\r\n\r\nall of this");
    });
    let (outcomes, opened) = exchange(&server.addr, vec![Request::get("/"); 2]);
    for outcome in outcomes {
        assert_eq!(outcome.unwrap().body, b"all of this");
    }
    assert_eq!(opened, 2);
}

#[test]
fn head_204_and_304_have_no_body_and_1xx_is_skipped() {
    let server = Server::start(|mut peer, _| {
        let mut answers = [
            &b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"[..],
            b"HTTP/1.1 204 No Content\r\n\r\n",
            b"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n",
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 1\r\n\r\nx",
        ]
        .into_iter();
        while peer.next_request().is_some() {
            peer.send(answers.next().unwrap());
        }
    });
    let requests = vec![
        Request::head("/"),
        Request::get("/"),
        Request::get("/"),
        Request::post("/"),
    ];
    let (outcomes, opened) = exchange(&server.addr, requests);
    let got: Vec<_> = outcomes
        .into_iter()
        .map(|o| {
            let o = o.unwrap();
            (o.status, o.body)
        })
        .collect();
    assert_eq!(
        got,
        [
            (200, vec![]),
            (204, vec![]),
            (304, vec![]),
            (201, b"x".to_vec())
        ]
    );
    assert_eq!(opened, 1);
}

#[test]
fn redirects_are_not_followed() {
    let server =
        Server::canned(b"HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\nContent-Length: 0\r\n\r\n");
    let outcome = one(&server.addr, Request::get("/"), Limits::default()).unwrap();
    assert_eq!(outcome.status, 302);
    assert!(
        outcome
            .headers
            .contains(&("Location".to_string(), b"/elsewhere".to_vec()))
    );
}

#[test]
fn a_request_timeout_is_timed_out_and_the_next_request_reconnects() {
    // The first connection never answers; later ones do.
    let server = Server::start(|mut peer, number| {
        while peer.next_request().is_some() {
            if number == 0 {
                std::thread::sleep(Duration::from_secs(5));
                return;
            }
            peer.send(OK);
        }
    });
    let requests = vec![
        Request::get("/slow").timeout(Duration::from_millis(50)),
        Request::get("/").timeout(Duration::from_secs(5)),
    ];
    let (outcomes, opened) = exchange_with(&server.addr, requests, Limits::default());
    let error = outcomes[0].as_ref().unwrap_err();
    assert_eq!(error.kind(), ErrorKind::TimedOut, "{error}");
    assert_eq!(outcomes[1].as_ref().unwrap().body, b"hello");
    assert_eq!(opened, 2);
}

#[test]
fn a_large_post_body_is_written_whole() {
    let server = Server::start(|mut peer, _| {
        while let Some((_, body)) = peer.next_request() {
            let sum: u64 = body.iter().map(|&b| u64::from(b)).sum();
            let reply = format!("{} {sum}", body.len());
            peer.send(
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{reply}",
                    reply.len()
                )
                .as_bytes(),
            );
        }
    });
    let body: Vec<u8> = (0..3_000_000u32).map(|i| (i % 7) as u8).collect();
    let sum: u64 = body.iter().map(|&b| u64::from(b)).sum();
    let outcome = one(
        &server.addr,
        Request::post("/upload").body(body),
        Limits::default(),
    )
    .unwrap();
    assert_eq!(outcome.body, format!("3000000 {sum}").into_bytes());
}

#[test]
fn a_host_name_is_looked_up_and_sent_as_host() {
    let server = Server::start(|mut peer, _| {
        while let Some((head, _)) = peer.next_request() {
            let host = head
                .lines()
                .find_map(|line| line.strip_prefix("Host: "))
                .unwrap()
                .to_string();
            peer.send(
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{host}",
                    host.len()
                )
                .as_bytes(),
            );
        }
    });
    let port = server.addr.rsplit_once(':').unwrap().1;
    let authority = format!("localhost:{port}");
    let outcome = one(&authority, Request::get("/"), Limits::default()).unwrap();
    assert_eq!(outcome.body, authority.into_bytes());
}
