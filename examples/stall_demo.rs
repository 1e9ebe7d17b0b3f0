//! Coordinated omission, shown: the same stalling server measured by the closed and the open
//! model.
//!
//! The target (started in this process) answers every line at once, except that for the last
//! second of every five it holds all replies until the second is over. Run
//!
//! ```text
//! cargo run --release --example stall_demo -- --bots 10 --duration 10s     # closed model
//! cargo run --release --example stall_demo -- --rate 200/s --duration 10s  # open model
//! ```
//!
//! In the closed model, ten bots each wait for their reply before sending again: during a
//! stall each has one request held, then they carry on, so the stalls are ten slow samples
//! among tens of thousands and p99 stays at microseconds. In the open model, sessions keep
//! arriving during the stall, each timed from when it was meant to start, and p99 shows the
//! stall (about a second). The README quotes both runs.

use std::io;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use ttk::Cx;
use ttk::cli::{LoadTest, Session};
use ttk::net::TcpStream;
use ttk_examples::reply_target::{ReplyPolicy, ReplyTarget};
use ttk_examples::storm_setup::{StormFlags, prepare};

/// A session: connect, then one request per iteration, each timed as `request`.
#[ttk::bot]
fn client(cx: Cx, session: Session, target: SocketAddr) -> io::Result<()> {
    let stream = ttk::yield_!(TcpStream::connect(target))?;
    stream.set_nodelay(true)?;
    for _ in session.iterations() {
        ttk::yield_!(cx.time("request", request(&stream)))?;
    }
    Ok(())
}

/// One line out, the same line back.
#[ttk::bot]
fn request(stream: &TcpStream) -> io::Result<()> {
    let mut reply = [0; 5];
    ttk::yield_!(stream.write_all(b"ping\n"))?;
    ttk::yield_!(stream.read_exact(&mut reply))?;
    match &reply {
        b"ping\n" => Ok(()),
        _ => Err(io::Error::new(io::ErrorKind::InvalidData, "a wrong reply")),
    }
}

fn main() -> ExitCode {
    let mut test: LoadTest<StormFlags> = LoadTest::from_env_with("stall_demo");
    let policy = ReplyPolicy::Stalls {
        period: Duration::from_secs(5),
        stall: Duration::from_secs(1),
    };
    let mut own_target = None;
    let started = prepare(&mut test, "stall_demo", || {
        let target = ReplyTarget::spawn(policy)?;
        let addr = target.addr();
        own_target = Some(target);
        Ok(addr)
    });
    let addr = match started {
        Ok(addr) => addr,
        Err(code) => return code,
    };
    let outcome = test.run(|cx, session| client(cx, session, addr));
    if let Some(target) = own_target {
        println!("the target served {} replies", target.served());
        target.stop();
    }
    outcome.exit_code()
}
