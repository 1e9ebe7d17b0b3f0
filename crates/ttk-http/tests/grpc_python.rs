//! `ttk_http::grpc` against a real gRPC server, Python's grpcio, running a small servicer the
//! test starts (`support/grpc_echo_server.py`): all four kinds of call, metadata both ways, a
//! status other than OK and a deadline overrun counted by code, and the server's own count of
//! calls equal to the client's successes.

mod support;

use std::io;
use std::time::Duration;

use support::grpc_server::GrpcServer;
use ttk_core::Cx;
use ttk_http::grpc::{self, Call, Code, Reply};
use ttk_http::http2::Http2Connection;
use ttk_macros::bot;

/// `ttk.test.Hello` of `support/echo.proto`.
#[derive(Clone, PartialEq, prost::Message)]
struct Hello {
    #[prost(string, tag = "1")]
    name: String,
    #[prost(int32, tag = "2")]
    count: i32,
}

/// `ttk.test.Reply`.
#[derive(Clone, PartialEq, prost::Message)]
struct EchoReply {
    #[prost(string, tag = "1")]
    message: String,
}

fn hello(name: &str, count: i32) -> Hello {
    Hello {
        name: name.to_owned(),
        count,
    }
}

/// The service's method `name`.
fn method(name: &str) -> Call {
    Call::new(&format!("ttk.test.Echo/{name}")).unwrap()
}

/// What the four kinds of call and the failures came to.
#[derive(Debug)]
struct Seen {
    unary: String,
    echoed_header: Option<String>,
    echoed_trailer: Option<String>,
    streamed: Vec<String>,
    collected: String,
    chatted: Vec<String>,
    unavailable: (Option<Code>, String),
    late: (Option<Code>, Duration),
    loaded_ok: usize,
    stats: String,
}

#[bot(crate = ttk_core)]
fn every_kind(_cx: Cx, _id: usize, addr: String) -> io::Result<Seen> {
    let mut h2c = ttk_core::yield_!(Http2Connection::connect(&format!("http://{addr}/")))?;
    let say = method("Say")
        .metadata("x-echo", "ping")
        .message(&hello("bob", 0));
    let reply = ttk_core::yield_!(grpc::call(&mut h2c, &say))?;
    let unary = reply.message::<EchoReply>()?.message;
    let echoed_header = reply.header("x-echo").map(str::to_owned);
    let echoed_trailer = reply.trailer("x-echo-trailer").map(str::to_owned);

    let count = method("Count").message(&hello("n", 5));
    let reply = ttk_core::yield_!(grpc::call(&mut h2c, &count))?;
    let streamed = texts(&reply)?;

    let collect = ["a", "b", "c"]
        .into_iter()
        .fold(method("Collect"), |call, name| {
            call.message(&hello(name, 0))
        });
    let reply = ttk_core::yield_!(grpc::call(&mut h2c, &collect))?;
    let collected = reply.message::<EchoReply>()?.message;

    let chat = ["x", "y"]
        .into_iter()
        .fold(method("Chat"), |call, name| call.message(&hello(name, 0)));
    let reply = ttk_core::yield_!(grpc::call(&mut h2c, &chat))?;
    let chatted = texts(&reply)?;

    let down = method("Unavailable").message(&hello("", 0));
    let error = ttk_core::yield_!(grpc::call(&mut h2c, &down)).unwrap_err();
    let unavailable = (grpc::code_of(&error), error.to_string());

    let started = ttk_core::now();
    let slow = method("Slow")
        .deadline(Duration::from_millis(200))
        .message(&hello("", 2_000));
    let error = ttk_core::yield_!(grpc::call(&mut h2c, &slow)).unwrap_err();
    let late = (grpc::code_of(&error), ttk_core::now() - started);

    // 200 unary calls, 20 in flight at a time.
    let request = method("Say").message(&hello("load", 0)).request();
    let mut started = 0;
    let mut loaded_ok = 0;
    while started < 20 {
        h2c.start(&request);
        started += 1;
    }
    while let Some((_, result)) = ttk_core::yield_!(h2c.next()) {
        loaded_ok += usize::from(result.and_then(Reply::from_response).is_ok());
        if started < 200 {
            h2c.start(&request);
            started += 1;
        }
    }
    let stats = method("Stats").message(&hello("", 0));
    let reply = ttk_core::yield_!(grpc::call(&mut h2c, &stats))?;
    Ok(Seen {
        unary,
        echoed_header,
        echoed_trailer,
        streamed,
        collected,
        chatted,
        unavailable,
        late,
        loaded_ok,
        stats: reply.message::<EchoReply>()?.message,
    })
}

/// The texts of a reply's messages.
fn texts(reply: &Reply) -> io::Result<Vec<String>> {
    Ok(reply
        .decode_all::<EchoReply>()?
        .into_iter()
        .map(|reply| reply.message)
        .collect())
}

#[test]
fn every_kind_of_call_against_grpcio() {
    let Some(server) = GrpcServer::start() else {
        return;
    };
    let addr = server.addr.clone();
    let seen = ttk_core::run(1, move |cx, id| every_kind(cx, id, addr.clone()))
        .remove(0)
        .unwrap();
    assert_eq!(seen.unary, "hello bob");
    assert_eq!(
        seen.echoed_header.as_deref(),
        Some("ping"),
        "metadata both ways"
    );
    assert_eq!(seen.echoed_trailer.as_deref(), Some("ping"));
    assert_eq!(seen.streamed, ["n 0", "n 1", "n 2", "n 3", "n 4"]);
    assert_eq!(seen.collected, "a,b,c");
    assert_eq!(seen.chatted, ["hi x", "hi y"]);
    assert_eq!(seen.unavailable.0, Some(Code::Unavailable), "{seen:?}");
    assert!(
        seen.unavailable.1.contains("down for maintenance: 100% é"),
        "{seen:?}"
    );
    assert_eq!(seen.late.0, Some(Code::DeadlineExceeded), "{seen:?}");
    assert!(seen.late.1 < Duration::from_secs(1), "{seen:?}");
    assert_eq!(seen.loaded_ok, 200);
    // The server's own count of the calls it served, against the client's.
    let counts: Vec<&str> = seen.stats.split(',').collect();
    for expected in [
        "Say=201",
        "Count=1",
        "Collect=1",
        "Chat=1",
        "Unavailable=1",
        "Slow=1",
    ] {
        assert!(counts.contains(&expected), "{expected} in {}", seen.stats);
    }
}

/// A bidirectional call that reads each reply before sending the next message (the server
/// answers as it goes), and a server-streaming call read a message at a time.
#[bot(crate = ttk_core)]
fn interleaved(_cx: Cx, _id: usize, addr: String) -> io::Result<(Vec<String>, Vec<String>)> {
    let mut h2c = ttk_core::yield_!(Http2Connection::connect(&format!("http://{addr}/")))?;
    // A deadline: were the replies held back to the end, this would fail, not hang.
    let chat_call = method("Chat").deadline(Duration::from_secs(5));
    let mut chat = grpc::Stream::open(&mut h2c, &chat_call);
    let mut heard = Vec::new();
    for name in ["a", "b", "c"] {
        chat.send(&mut h2c, &hello(name, 0))?;
        // The reply to this message comes before the next one is sent.
        let reply = ttk_core::yield_!(chat.recv::<EchoReply>(&mut h2c))?;
        heard.push(reply.map(|reply| reply.message).unwrap_or_default());
    }
    chat.finish(&mut h2c)?;
    assert!(ttk_core::yield_!(chat.recv::<EchoReply>(&mut h2c))?.is_none());

    let mut count = grpc::Stream::open(&mut h2c, &method("Count").message(&hello("s", 3)));
    count.finish(&mut h2c)?;
    let mut streamed = Vec::new();
    while let Some(reply) = ttk_core::yield_!(count.recv::<EchoReply>(&mut h2c))? {
        streamed.push(reply.message);
    }
    // A call given up on: reset, its stream no longer held.
    let mut given_up = grpc::Stream::open(&mut h2c, &chat_call);
    given_up.send(&mut h2c, &hello("z", 0))?;
    assert_eq!(h2c.in_flight(), 1);
    given_up.cancel(&mut h2c);
    assert_eq!(h2c.in_flight(), 0, "a cancelled call holds no stream");
    assert!(ttk_core::yield_!(given_up.recv::<EchoReply>(&mut h2c)).is_err());

    let mut down = grpc::Stream::open(&mut h2c, &method("Unavailable").message(&hello("", 0)));
    down.finish(&mut h2c)?;
    let error = ttk_core::yield_!(down.recv::<EchoReply>(&mut h2c)).unwrap_err();
    assert_eq!(grpc::code_of(&error), Some(Code::Unavailable), "{error}");
    Ok((heard, streamed))
}

#[test]
fn a_bidirectional_call_answers_as_it_goes() {
    let Some(server) = GrpcServer::start() else {
        return;
    };
    let addr = server.addr.clone();
    let (heard, streamed) = ttk_core::run(1, move |cx, id| interleaved(cx, id, addr.clone()))
        .remove(0)
        .unwrap();
    assert_eq!(heard, ["hi a", "hi b", "hi c"]);
    assert_eq!(streamed, ["s 0", "s 1", "s 2"]);
}
