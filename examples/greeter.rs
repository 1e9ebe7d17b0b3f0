//! The harness's first example (the README's `shop`), runnable on its own: each bot connects to
//! a TCP echo target, says hello and reads the echo back, each step a transaction, and returns
//! how many greetings went through.
//!
//! `cargo run --example greeter -- --bots 20 --duration 10s` starts an echo target in this
//! process first (and says where on standard error); `--target HOST:PORT` aims at another one.
//! The run goes on one loop (`LoadTest::run`); `--processes N` makes it N processes.
//!
//! What `main` does before the run — here, start the target — is setup for a run only:
//! `greeter merge shard-*.json` merges reports without it, as `LoadTest::from_env` runs the
//! merge and exits.

use std::io;
use std::process::ExitCode;

use ttk::Cx;
use ttk::cli::{LoadTest, Session};
use ttk::net::TcpStream;
use ttk_examples::echo_target;

const HELLO: &[u8] = b"hello\n";

/// One visitor: a connection per iteration, a hello on each; how many were echoed back.
#[ttk::bot]
fn greeter(cx: Cx, session: Session) -> io::Result<u64> {
    let target = session.target().unwrap_or("127.0.0.1:8080").to_owned();
    let mut greeted = 0;
    for _ in session.iterations() {
        let stream = ttk::yield_!(cx.time("connect", TcpStream::connect(target.as_str())))?;
        ttk::yield_!(cx.time("hello", hello(&stream)))?;
        greeted += 1;
    }
    Ok(greeted)
}

/// Says hello and checks the echo.
#[ttk::bot]
fn hello(stream: &TcpStream) -> io::Result<()> {
    ttk::yield_!(stream.write_all(HELLO))?;
    let mut echo = [0; HELLO.len()];
    ttk::yield_!(stream.read_exact(&mut echo))?;
    match echo == HELLO {
        true => Ok(()),
        false => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "the echo differs",
        )),
    }
}

fn main() -> ExitCode {
    let mut test = LoadTest::from_env("greeter");
    if test.args().target.is_none() {
        match echo_target::spawn_tcp("127.0.0.1:0") {
            Ok(target) => {
                eprintln!("greeter: started an echo target on {target}");
                test.default_target(|| target.to_string());
            }
            Err(error) => {
                eprintln!("greeter: the echo target could not be started: {error}");
                return ExitCode::from(3);
            }
        }
    }
    test.run(greeter).exit_code()
}
