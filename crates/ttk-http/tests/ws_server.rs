//! `ws::WebSocket` on both sides: ttk bots accept (`WebSocket::accept`) and ttk bots connect,
//! on one loop or on two.

mod util;

use std::cell::Cell;
use std::io::{self, ErrorKind};
use std::pin::Pin;
use std::rc::Rc;

use ttk_core::Cx;
use ttk_http::ws::{Bytes, CloseCode, CloseFrame, Message, WebSocket};
use ttk_macros::bot;
use ttk_net::TcpListener;
use ttk_tls::MaybeTls;
use util::ws::ttk_echo_server;

#[test]
fn bots_talk_to_an_echo_server_of_bots_on_another_loop() {
    let url = ttk_echo_server();
    let outcomes = ttk_core::run(100, |_cx: Cx, id| {
        let url = url.clone();
        async move {
            let mut ws = WebSocket::connect(&url).await?;
            for i in 0..10 {
                let text = format!("{id}:{i}");
                ws.send_text(&text).await?;
                assert_eq!(ws.receive().await?, Message::text(text));
                ws.send_binary(&[id as u8, i]).await?;
                assert_eq!(ws.receive().await?, Message::binary(vec![id as u8, i]));
            }
            ws.ping(b"p").await?;
            assert_eq!(ws.receive().await?, Message::Pong(Bytes::from_static(b"p")));
            ws.close(None).await
        }
    });
    for outcome in outcomes {
        outcome.unwrap();
    }
}

#[test]
fn big_messages_cross_between_bots_both_ways() {
    let url = ttk_echo_server();
    // Sizes around the 8 KiB chunks a payload is written in and read in.
    let sizes = [8_191, 8_192, 8_193, 8_200, 65_535, 65_536, 300_001];
    let outcomes = ttk_core::run(sizes.len(), |_cx: Cx, id| {
        let url = url.clone();
        let len = sizes[id];
        async move {
            let payload: Vec<u8> = (0..len).map(|i| ((i + id) % 253) as u8).collect();
            let mut ws = WebSocket::connect(&url).await?;
            ws.send_binary(&payload).await?;
            assert!(ws.receive().await?.into_data() == payload[..]);
            let text = String::from_utf8(payload.iter().map(|b| b'a' + b % 26).collect()).unwrap();
            ws.send_text(&text).await?;
            assert!(ws.receive().await? == Message::text(text.clone()));
            // Queued together: one write of both, then both echoes.
            ws.queue(Message::binary(payload.clone()))?;
            ws.queue(Message::text(text.clone()))?;
            ws.flush().await?;
            assert!(ws.receive().await?.into_data() == payload[..]);
            assert!(ws.receive().await? == Message::text(text));
            ws.close(None).await
        }
    });
    for outcome in outcomes {
        outcome.unwrap();
    }
}

#[test]
fn raw_frames_sent_by_a_bot_make_one_message() {
    use tungstenite::protocol::frame::Frame;
    use tungstenite::protocol::frame::coding::{Data, OpCode};
    let url = ttk_echo_server();
    let echo = ttk_core::run(1, |_cx: Cx, _id| {
        let url = url.clone();
        async move {
            let mut ws = WebSocket::connect(&url).await?;
            let fragment = |payload: &[u8], opcode, last| {
                Message::Frame(Frame::message(payload.to_vec(), OpCode::Data(opcode), last))
            };
            ws.send(fragment(&[1; 20_000], Data::Binary, false)).await?;
            ws.send(fragment(&[2; 3], Data::Continue, false)).await?;
            ws.send(fragment(&[3; 10_000], Data::Continue, true))
                .await?;
            let echo = ws.receive().await?;
            ws.close(None).await?;
            io::Result::Ok(echo.into_data())
        }
    })
    .pop()
    .unwrap()
    .unwrap();
    let expected = [vec![1; 20_000], vec![2; 3], vec![3; 10_000]].concat();
    assert!(echo == expected[..]);
}

/// One side of a conversation: given its socket, says what it saw.
type Side = fn(WebSocket) -> Pin<Box<dyn Future<Output = io::Result<String>>>>;

/// Bot 0 serves one connection with `serve`; bot 1 connects and runs `client`.
#[bot(crate = ttk_core)]
fn pair(_cx: Cx, id: usize, port: Rc<Cell<u16>>, serve: Side, client: Side) -> io::Result<String> {
    if id == 0 {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        port.set(listener.local_addr()?.port());
        let (stream, _) = ttk_core::yield_!(listener.accept())?;
        // Of the same type as the client's: plain TCP in a `MaybeTls`.
        let ws = ttk_core::yield_!(WebSocket::accept(MaybeTls::Plain(stream)))?;
        ttk_core::yield_!(serve(ws))
    } else {
        let url = format!("ws://127.0.0.1:{}/", port.get());
        let ws = ttk_core::yield_!(WebSocket::connect(&url))?;
        ttk_core::yield_!(client(ws))
    }
}

/// Runs `serve` and `client` as [`pair`] on one loop; returns what each said.
fn on_one_loop(serve: Side, client: Side) -> (String, String) {
    let port = Rc::new(Cell::new(0));
    let mut outcomes = ttk_core::run(2, |cx, id| pair(cx, id, port.clone(), serve, client));
    let client = outcomes.pop().unwrap().unwrap();
    let server = outcomes.pop().unwrap().unwrap();
    (server, client)
}

#[test]
fn the_client_closes_and_the_server_bot_sees_it() {
    let (server, client) = on_one_loop(
        |mut ws| {
            Box::pin(async move {
                let mut seen = Vec::new();
                loop {
                    match ws.receive().await? {
                        Message::Close(frame) => {
                            seen.push(format!("close {frame:?}"));
                            break;
                        }
                        message => seen.push(message.into_text().unwrap().to_string()),
                    }
                }
                // A server's socket is done once the close is answered.
                let after = ws.receive().await.unwrap_err();
                seen.push(format!("{:?}", after.kind()));
                Ok(seen.join("; "))
            })
        },
        |mut ws| {
            Box::pin(async move {
                ws.send_text("a").await?;
                ws.send_text("b").await?;
                let frame = CloseFrame {
                    code: CloseCode::Normal,
                    reason: "done".into(),
                };
                ws.close(Some(frame)).await?;
                Ok("closed".to_string())
            })
        },
    );
    assert_eq!(client, "closed");
    assert!(
        server.starts_with("a; b; close Some(CloseFrame { code: Normal"),
        "{server}"
    );
    assert!(server.ends_with("; NotConnected"), "{server}");
}

#[test]
fn the_server_bot_closes_and_pings() {
    let (server, client) = on_one_loop(
        |mut ws| {
            Box::pin(async move {
                ws.ping(b"are you there").await?;
                let pong = ws.receive().await?;
                ws.close(Some(CloseFrame {
                    code: CloseCode::Away,
                    reason: "restart".into(),
                }))
                .await?;
                Ok(format!("{pong:?}"))
            })
        },
        |mut ws| {
            Box::pin(async move {
                let mut seen = Vec::new();
                loop {
                    match ws.receive().await {
                        Ok(message) => seen.push(format!("{message:?}")),
                        Err(error) => {
                            seen.push(format!("{:?}", error.kind()));
                            break;
                        }
                    }
                }
                Ok(seen.join("; "))
            })
        },
    );
    assert_eq!(server, r#"Pong(b"are you there")"#);
    assert!(client.starts_with(r#"Ping(b"are you there"); Close(Some(CloseFrame { code: Away"#));
    // The server bot returned and dropped its socket, which ended the client's wait.
    assert!(client.ends_with("; ConnectionAborted"), "{client}");
}

#[test]
fn a_client_that_is_not_a_websocket_is_refused_by_accept() {
    let port = Rc::new(Cell::new(0));
    let outcomes = ttk_core::run(2, |_cx: Cx, id| {
        let port = port.clone();
        async move {
            if id == 0 {
                let listener = TcpListener::bind("127.0.0.1:0")?;
                port.set(listener.local_addr()?.port());
                let (stream, _) = listener.accept().await?;
                WebSocket::accept(stream).await.map(|_| ())
            } else {
                let stream = ttk_net::TcpStream::connect(("127.0.0.1", port.get())).await?;
                stream
                    .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                    .await?;
                Ok(())
            }
        }
    });
    let error = outcomes[0].as_ref().unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidData, "{error}");
    assert!(
        error.to_string().contains("WebSocket protocol error"),
        "{error}"
    );
}
