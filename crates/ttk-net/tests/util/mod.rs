//! Real servers on loopback for the integration tests: a healthy echo server and misbehaving
//! ones, each a std thread per connection.

// Each test binary includes this module and uses only part of it.
#![allow(dead_code)]

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::thread;

use ttk_core::Cx;
use ttk_macros::bot;

/// Starts a server on `127.0.0.1:0` that runs `behave` on every connection (a thread each),
/// and returns its address. It lives until the test process exits.
pub(crate) fn spawn_server(behave: fn(TcpStream)) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            thread::spawn(move || behave(stream));
        }
    });
    addr
}

/// Echoes until the client closes.
pub(crate) fn echo(mut stream: TcpStream) {
    let mut buf = [0; 4096];
    while let Ok(n @ 1..) = stream.read(&mut buf) {
        if stream.write_all(&buf[..n]).is_err() {
            return;
        }
    }
}

/// Accepts and never answers: holds the connection until the client leaves.
pub(crate) fn silent(mut stream: TcpStream) {
    let mut sink = Vec::new();
    let _ = stream.read_to_end(&mut sink);
}

/// An address where nothing listens (bound, then released).
pub(crate) fn closed_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

/// A well-behaved bot's work: `rounds` echo round trips; returns how many succeeded.
#[bot(crate = ttk_core)]
pub(crate) fn echo_rounds(addr: SocketAddr, rounds: usize) -> io::Result<usize> {
    let stream = ttk_core::yield_!(ttk_net::TcpStream::connect(addr))?;
    let mut buf = [0; 5];
    for _ in 0..rounds {
        ttk_core::yield_!(stream.write_all(b"hello"))?;
        ttk_core::yield_!(stream.read_exact(&mut buf))?;
        assert_eq!(&buf, b"hello");
    }
    Ok(rounds)
}

/// Healthy bots around one misbehaving bot: bot 0 runs `faulty`, bots 1..=3 do 20 echo round
/// trips each against a healthy server. Returns bot 0's error after checking the others.
pub(crate) fn run_beside_healthy_bots<F>(faulty: impl Fn() -> F) -> io::Error
where
    F: std::future::Future<Output = io::Result<()>> + 'static,
{
    let healthy = spawn_server(echo);
    let outcomes = ttk_core::run(4, |_cx: Cx, id| {
        let work: std::pin::Pin<Box<dyn std::future::Future<Output = io::Result<usize>>>> =
            if id == 0 {
                let faulty = faulty();
                Box::pin(async move { faulty.await.map(|()| 0) })
            } else {
                Box::pin(echo_rounds(healthy, 20))
            };
        work
    });
    for (id, outcome) in outcomes.iter().enumerate().skip(1) {
        assert_eq!(
            outcome.as_ref().ok(),
            Some(&20),
            "healthy bot {id} was disturbed"
        );
    }
    match outcomes.into_iter().next().unwrap() {
        Ok(_) => panic!("the faulty bot succeeded"),
        Err(error) => error,
    }
}
