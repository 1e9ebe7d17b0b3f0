//! `ws::WebSocket` as a client against tungstenite's own blocking server on threads: messages,
//! pings, the close handshake from either side, and failures.

mod util;

use std::io::{ErrorKind, Read, Write};
use std::time::Duration;

use ttk_http::ws::{self, Bytes, CloseCode, CloseFrame, Message, WebSocket};
use util::ws::{ThreadServer, in_bot};

#[test]
fn text_and_binary_messages_come_back() {
    let server = ThreadServer::echo();
    let url = server.url.clone();
    let received = in_bot(async move || {
        let mut ws = WebSocket::connect(&url).await.unwrap();
        let mut received = Vec::new();
        for i in 0..10 {
            ws.send_text(&format!("message {i}")).await.unwrap();
            received.push(ws.receive().await.unwrap());
            ws.send_binary(&[i; 3]).await.unwrap();
            received.push(ws.receive().await.unwrap());
        }
        ws.close(None).await.unwrap();
        received
    });
    for (i, pair) in received.chunks(2).enumerate() {
        assert_eq!(pair[0], Message::text(format!("message {i}")));
        assert_eq!(pair[1], Message::binary(vec![i as u8; 3]));
    }
    assert_eq!(server.report(), "close None");
}

#[test]
fn a_message_larger_than_a_read_comes_back_whole() {
    let server = ThreadServer::echo();
    let url = server.url.clone();
    let payload: Vec<u8> = (0..1_000_000).map(|i| (i % 251) as u8).collect();
    let expected = payload.clone();
    let echo = in_bot(async move || {
        let mut ws = WebSocket::connect(&url).await.unwrap();
        ws.send(Message::Binary(payload.into())).await.unwrap();
        let echo = ws.receive().await.unwrap();
        ws.close(None).await.unwrap();
        echo
    });
    assert_eq!(echo.into_data(), expected);
}

/// `len` bytes counting up from `seed` (mod 251), so a byte out of place shows.
fn pattern(len: usize, seed: usize) -> Vec<u8> {
    (0..len).map(|i| ((i + seed) % 251) as u8).collect()
}

#[test]
fn a_fragmented_message_with_a_ping_inside_and_messages_sent_together_come_whole() {
    let server = ThreadServer::start(|mut ws, _| {
        use tungstenite::protocol::frame::Frame;
        use tungstenite::protocol::frame::coding::{Data, OpCode};
        let fragment = |payload: Vec<u8>, opcode, last| {
            Message::Frame(Frame::message(payload, OpCode::Data(opcode), last))
        };
        // One message in three fragments (two over the 8 KiB read), a ping between them.
        ws.write(fragment(pattern(20_000, 0), Data::Binary, false))
            .unwrap();
        ws.write(Message::Ping(Bytes::from_static(b"between")))
            .unwrap();
        ws.write(fragment(pattern(30_000, 20_000), Data::Continue, false))
            .unwrap();
        ws.write(fragment(pattern(5, 50_000), Data::Continue, true))
            .unwrap();
        // Then small and big messages written together, so reads take several at once.
        for i in 0..20 {
            ws.write(Message::text(format!("small {i}"))).unwrap();
        }
        ws.write(Message::binary(pattern(100_000, 1))).unwrap();
        ws.write(Message::text("right after")).unwrap();
        ws.write(Message::binary(pattern(9_000, 2))).unwrap();
        ws.write(Message::binary(pattern(10, 3))).unwrap();
        ws.flush().unwrap();
        while ws.read().is_ok() {}
    });
    let url = server.url.clone();
    let received = in_bot(async move || {
        let mut ws = WebSocket::connect(&url).await.unwrap();
        let mut received = Vec::new();
        for _ in 0..26 {
            received.push(ws.receive().await.unwrap());
        }
        ws.close(None).await.unwrap();
        received
    });
    let mut expected = vec![
        Message::Ping(Bytes::from_static(b"between")),
        Message::binary(pattern(50_005, 0)),
    ];
    expected.extend((0..20).map(|i| Message::text(format!("small {i}"))));
    expected.extend([
        Message::binary(pattern(100_000, 1)),
        Message::text("right after"),
        Message::binary(pattern(9_000, 2)),
        Message::binary(pattern(10, 3)),
    ]);
    assert_eq!(received.len(), expected.len());
    for (i, (received, expected)) in received.iter().zip(&expected).enumerate() {
        assert!(
            received == expected,
            "message {i}: {received:.60} != {expected:.60}"
        );
    }
}

#[test]
fn messages_sent_with_the_handshakes_answer_come_whole() {
    use tungstenite::protocol::frame::Frame;
    use tungstenite::protocol::frame::coding::{Data, OpCode};
    // The client's first read holds the 101 answer, a small message and the start of a big one.
    let server = ThreadServer::answering_with(vec![
        Frame::message("first", OpCode::Data(Data::Text), true),
        Frame::message(pattern(70_000, 5), OpCode::Data(Data::Binary), true),
        Frame::message("next", OpCode::Data(Data::Text), true),
    ]);
    let url = server.url.clone();
    let received = in_bot(async move || {
        let mut ws = WebSocket::connect(&url).await.unwrap();
        let mut received = Vec::new();
        for _ in 0..3 {
            received.push(ws.receive().await.unwrap());
        }
        ws.close(None).await.unwrap();
        received
    });
    assert_eq!(received[0], Message::text("first"));
    assert!(received[1] == Message::binary(pattern(70_000, 5)));
    assert_eq!(received[2], Message::text("next"));
}

#[test]
fn limits_set_before_a_big_message_still_hold_after_it() {
    let server = ThreadServer::start(|mut ws, _| {
        ws.send(Message::binary(vec![1; 1_000_000])).unwrap();
        ws.send(Message::binary(vec![2; 3_000_000])).unwrap();
        while ws.read().is_ok() {}
    });
    let url = server.url.clone();
    let (first, second) = in_bot(async move || {
        let mut ws = WebSocket::connect(&url).await.unwrap();
        ws.set_max_message_len(2_000_000);
        let first = ws.receive().await.unwrap();
        (first.len(), ws.receive().await.unwrap_err())
    });
    assert_eq!(first, 1_000_000);
    assert_eq!(second.kind(), ErrorKind::InvalidData, "{second}");
    assert!(second.to_string().contains("2000000"), "{second}");
}

#[test]
fn queued_messages_go_out_on_flush() {
    let server = ThreadServer::echo();
    let url = server.url.clone();
    let received = in_bot(async move || {
        let mut ws = WebSocket::connect(&url).await.unwrap();
        let shared = Message::Text("same".into());
        for _ in 0..3 {
            ws.queue(shared.clone()).unwrap();
        }
        ws.flush().await.unwrap();
        let mut received = Vec::new();
        for _ in 0..3 {
            received.push(ws.receive().await.unwrap());
        }
        ws.close(None).await.unwrap();
        received
    });
    assert_eq!(received, vec![Message::text("same"); 3]);
}

#[test]
fn a_ping_is_answered_with_its_payload() {
    let server = ThreadServer::echo();
    let url = server.url.clone();
    let pong = in_bot(async move || {
        let mut ws = WebSocket::connect(&url).await.unwrap();
        ws.ping(b"t=1").await.unwrap();
        let pong = ws.receive().await.unwrap();
        ws.close(None).await.unwrap();
        pong
    });
    assert_eq!(pong, Message::Pong(Bytes::from_static(b"t=1")));
}

#[test]
fn a_ping_payload_over_125_bytes_is_refused() {
    let server = ThreadServer::echo();
    let url = server.url.clone();
    let error = in_bot(async move || {
        let mut ws = WebSocket::connect(&url).await.unwrap();
        let error = ws.ping(&[0; 126]).await.unwrap_err();
        ws.close(None).await.unwrap();
        error
    });
    assert_eq!(error.kind(), ErrorKind::InvalidInput);
    assert!(error.to_string().contains("125"), "{error}");
}

#[test]
fn the_servers_ping_is_returned_and_answered() {
    let server = ThreadServer::start(|mut ws, report| {
        ws.send(Message::Ping(Bytes::from_static(b"hb"))).unwrap();
        loop {
            match ws.read().unwrap() {
                Message::Pong(payload) => {
                    report.send(format!("pong {payload:?}")).unwrap();
                    break;
                }
                _ => continue,
            }
        }
        ws.send(Message::text("after")).unwrap();
        while ws.read().is_ok() {}
    });
    let url = server.url.clone();
    let received = in_bot(async move || {
        let mut ws = WebSocket::connect(&url).await.unwrap();
        let ping = ws.receive().await.unwrap();
        let after = ws.receive().await.unwrap();
        ws.close(None).await.unwrap();
        (ping, after)
    });
    assert_eq!(received.0, Message::Ping(Bytes::from_static(b"hb")));
    assert_eq!(received.1, Message::text("after"));
    assert_eq!(server.report(), "pong b\"hb\"");
}

#[test]
fn the_client_closes_with_a_code_and_reason() {
    let server = ThreadServer::echo();
    let url = server.url.clone();
    let (closed, after) = in_bot(async move || {
        let mut ws = WebSocket::connect(&url).await.unwrap();
        let frame = CloseFrame {
            code: CloseCode::Away,
            reason: "bot done".into(),
        };
        let closed = ws.close(Some(frame)).await;
        let after = ws.send_text("too late").await.unwrap_err();
        // Closing again is not an error.
        ws.close(None).await.unwrap();
        (closed, after)
    });
    closed.unwrap();
    assert!(server.report().contains("Away"));
    assert_eq!(after.kind(), ErrorKind::NotConnected, "{after}");
}

#[test]
fn the_server_closes_and_the_client_completes_the_handshake() {
    let server = ThreadServer::start(|mut ws, report| {
        ws.send(Message::text("bye soon")).unwrap();
        let frame = CloseFrame {
            code: CloseCode::Normal,
            reason: "server done".into(),
        };
        ws.close(Some(frame)).unwrap();
        let end = loop {
            match ws.read() {
                Ok(message) => report.send(format!("got {message:?}")).unwrap(),
                Err(error) => break error,
            }
        };
        report.send(format!("ended: {end}")).unwrap();
    });
    let url = server.url.clone();
    let (first, close, next, closed) = in_bot(async move || {
        let mut ws = WebSocket::connect(&url).await.unwrap();
        let first = ws.receive().await.unwrap();
        let close = ws.receive().await.unwrap();
        // The close was answered: the server ends the connection, which ends this receive.
        let next = ws.receive().await.unwrap_err();
        let closed = ws.close(None).await;
        (first, close, next, closed)
    });
    assert_eq!(first, Message::text("bye soon"));
    let Message::Close(Some(frame)) = close else {
        panic!("not a close: {close:?}")
    };
    assert_eq!(
        (frame.code, frame.reason.as_str()),
        (CloseCode::Normal, "server done")
    );
    assert_eq!(next.kind(), ErrorKind::ConnectionAborted, "{next}");
    closed.unwrap();
    assert!(
        server.report().starts_with("got Close(Some("),
        "the server saw the answer"
    );
    assert_eq!(server.report(), "ended: Connection closed normally");
}

#[test]
fn a_server_that_drops_the_connection_is_unexpected_eof() {
    let server = ThreadServer::start(|mut ws, _| {
        ws.send(Message::text("one")).unwrap();
        drop(ws); // no close handshake
    });
    let url = server.url.clone();
    let (first, error) = in_bot(async move || {
        let mut ws = WebSocket::connect(&url).await.unwrap();
        let first = ws.receive().await.unwrap();
        (first, ws.receive().await.unwrap_err())
    });
    assert_eq!(first, Message::text("one"));
    assert_eq!(error.kind(), ErrorKind::UnexpectedEof, "{error}");
    assert!(
        error
            .to_string()
            .contains("without a WebSocket close handshake"),
        "{error}"
    );
}

#[test]
fn a_message_over_the_limit_is_invalid_data_naming_both_sizes() {
    let server = ThreadServer::start(|mut ws, _| {
        ws.send(Message::binary(vec![7; 2048])).unwrap();
        while ws.read().is_ok() {}
    });
    let url = server.url.clone();
    let error = in_bot(async move || {
        let mut ws = WebSocket::connect(&url).await.unwrap();
        ws.set_max_message_len(1024);
        ws.receive().await.unwrap_err()
    });
    assert_eq!(error.kind(), ErrorKind::InvalidData, "{error}");
    let text = error.to_string();
    assert!(text.contains("2048") && text.contains("1024"), "{text}");
}

#[test]
fn a_frame_over_the_limit_is_refused_from_its_header() {
    let server = ThreadServer::start(|mut ws, _| {
        ws.send(Message::binary(vec![7; 4096])).unwrap();
        while ws.read().is_ok() {}
    });
    let url = server.url.clone();
    let error = in_bot(async move || {
        let mut ws = WebSocket::connect(&url).await.unwrap();
        ws.set_max_frame_len(100);
        ws.receive().await.unwrap_err()
    });
    assert_eq!(error.kind(), ErrorKind::InvalidData, "{error}");
    assert!(error.to_string().contains("4096"), "{error}");
    let inner = error
        .get_ref()
        .unwrap()
        .downcast_ref::<ws::Error>()
        .unwrap();
    assert!(matches!(
        inner.tungstenite(),
        ws::TungsteniteError::Capacity(_)
    ));
}

#[test]
fn a_refused_handshake_names_the_status() {
    let server = ThreadServer::raw(|mut socket, _| {
        let mut request = [0; 4096];
        let _ = socket.read(&mut request).unwrap();
        socket
            .write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found")
            .unwrap();
    });
    let url = server.url.clone();
    let error = in_bot(async move || WebSocket::connect(&url).await.unwrap_err());
    assert_eq!(error.kind(), ErrorKind::InvalidData, "{error}");
    assert!(error.to_string().contains("404 Not Found"), "{error}");
    let inner = error
        .get_ref()
        .unwrap()
        .downcast_ref::<ws::Error>()
        .unwrap();
    let ws::TungsteniteError::Http(response) = inner.tungstenite() else {
        panic!("not an HTTP error: {inner:?}")
    };
    assert_eq!(response.status(), 404);
}

#[test]
fn a_server_that_closes_during_the_handshake_is_unexpected_eof() {
    let server = ThreadServer::raw(|mut socket, _| {
        let mut request = [0; 4096];
        let _ = socket.read(&mut request).unwrap();
    });
    let url = server.url.clone();
    let error = in_bot(async move || WebSocket::connect(&url).await.unwrap_err());
    assert_eq!(error.kind(), ErrorKind::UnexpectedEof, "{error}");
    assert!(error.to_string().contains("handshake"), "{error}");
}

#[test]
fn bad_urls_are_invalid_input() {
    // (wss:// is a good URL: see tests/wss.rs.)
    for (url, says) in [
        ("http://127.0.0.1:1/", "starts with ws://"),
        ("ws://", "invalid WebSocket URL"),
        ("not a url", "invalid WebSocket URL"),
    ] {
        let error = in_bot(async move || WebSocket::connect(url).await.unwrap_err());
        assert_eq!(error.kind(), ErrorKind::InvalidInput, "{url}: {error}");
        assert!(error.to_string().contains(says), "{url}: {error}");
    }
}

#[test]
fn headers_of_ones_own_reach_the_server_and_one_request_serves_many_connections() {
    let server = ThreadServer::raw(|socket, report| {
        let mut seen = String::new();
        // tungstenite's callback type, not ours, has the large error.
        #[allow(clippy::result_large_err)]
        let callback = |request: &ws::Request, response| {
            let header = |name| request.headers()[name].to_str().unwrap().to_string();
            seen = format!(
                "{} {}",
                header("Authorization"),
                header("Sec-WebSocket-Key")
            );
            Ok(response)
        };
        let mut ws = tungstenite::accept_hdr(socket, callback).unwrap();
        report.send(seen).unwrap();
        while ws.read().is_ok() {}
    });
    let mut request = ws::request(&server.url).unwrap();
    request
        .headers_mut()
        .insert("Authorization", "Bearer abc".parse().unwrap());
    in_bot(async move || {
        for _ in 0..2 {
            let mut ws = WebSocket::connect_with(&request).await.unwrap();
            ws.close(None).await.unwrap();
        }
    });
    let (first, second) = (server.report(), server.report());
    assert!(first.starts_with("Bearer abc "), "{first}");
    assert!(second.starts_with("Bearer abc "), "{second}");
    assert_ne!(first, second, "each connection has its own key");
}

#[test]
fn a_receive_given_up_by_a_timeout_leaves_the_connection_usable() {
    let server = ThreadServer::echo();
    let url = server.url.clone();
    let (timed_out, echo) = in_bot(async move || {
        let mut ws = WebSocket::connect(&url).await.unwrap();
        let timed_out = ttk_core::timeout(Duration::from_millis(50), ws.receive())
            .await
            .is_err();
        ws.send_text("still here").await.unwrap();
        let echo = ws.receive().await.unwrap();
        ws.close(None).await.unwrap();
        (timed_out, echo)
    });
    assert!(timed_out);
    assert_eq!(echo, Message::text("still here"));
}

#[test]
fn many_bots_talk_at_once() {
    let server = ThreadServer::echo();
    let url = server.url.clone();
    let outcomes = ttk_core::run(50, |_cx: ttk_core::Cx, id| {
        let url = url.clone();
        async move {
            let mut ws = WebSocket::connect(&url).await?;
            for i in 0..20 {
                let text = format!("{id}:{i}");
                ws.send_text(&text).await?;
                assert_eq!(ws.receive().await?, Message::text(text));
            }
            ws.close(None).await
        }
    });
    for outcome in outcomes {
        outcome.unwrap();
    }
}

#[test]
// tungstenite's callback returns its own (large) error type.
#[allow(clippy::result_large_err)]
fn an_extension_the_server_agrees_to_is_refused_at_the_handshake() {
    // The client asked for permessage-deflate by hand; the server agrees. ttk compresses
    // nothing: every compressed frame would fail, so the handshake does, saying why.
    let server = ThreadServer::raw(|socket, _| {
        let _ = tungstenite::accept_hdr(
            socket,
            |_: &tungstenite::handshake::server::Request,
             mut response: tungstenite::handshake::server::Response| {
                response.headers_mut().insert(
                    "Sec-WebSocket-Extensions",
                    "permessage-deflate".parse().unwrap(),
                );
                Ok(response)
            },
        );
    });
    let url = server.url.clone();
    let error = in_bot(async move || {
        let mut request = ws::request(&url).unwrap();
        request.headers_mut().insert(
            "Sec-WebSocket-Extensions",
            "permessage-deflate".parse().unwrap(),
        );
        WebSocket::connect_with(&request).await.unwrap_err()
    });
    assert_eq!(error.kind(), ErrorKind::InvalidData, "{error}");
    assert!(error.to_string().contains("permessage-deflate"), "{error}");
    assert!(
        error
            .to_string()
            .contains("leave Sec-WebSocket-Extensions out"),
        "{error}"
    );
}
