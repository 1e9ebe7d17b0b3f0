//! WebSocket probes that `cargo xtask bench` runs; each prints one JSON line.
//!
//! - `ws_probe memory BOTS BYTES`: BOTS bots each send a message of BYTES bytes to an echo
//!   server of ttk bots in a child process (this binary, `serve memory`) and receive it back.
//!   Barriers make every bot of a side hold its message at the same time, so each side's peak
//!   is BOTS messages in flight at once. For each side it prints the RSS before any bot ran
//!   (`baseline`), once every bot is connected (`connected`), while every bot holds its message
//!   (`holding`), once every message is dropped with the connections still open (`idle`, after
//!   `malloc_trim`, so memory the allocator keeps free is not counted) and the peak (`VmHWM`).
//! - `ws_probe echo BOTS SECONDS BYTES`: BOTS bots do echo round trips of BYTES-byte messages
//!   (each send a clone of a message built once) against the child echo server for SECONDS;
//!   prints the round trips and the CPU time (user + sys) of each process.
//! - `ws_probe serve memory|echo BOTS`: the child: prints the address it listens on, serves
//!   BOTS connections, then prints its JSON line.
//!
//! Every operation runs under a timeout, so a probe that goes wrong ends, with an error.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::io::{self, BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::rc::Rc;
use std::time::{Duration, Instant};

use ttk::net::{ByteStream, TcpListener, TcpStream};
use ttk::ws::{Bytes, Message, WebSocket};
use ttk::{Barrier, Cx};

/// The longest any one operation may take.
const TIMEOUT: Duration = Duration::from_secs(60);

/// RSS samples of one process, in bytes, each taken while every bot waits at a meeting.
#[derive(Default)]
struct Samples {
    /// Every bot connected.
    connected: Cell<u64>,
    /// Every bot holds its message.
    holding: Cell<u64>,
    /// Every bot dropped its message; the connections are open.
    idle: Cell<u64>,
}

impl Samples {
    /// The samples and the peak, above `baseline`, as JSON fields.
    fn json(&self, baseline: u64) -> String {
        let peak = ttk_benches::peak_rss_bytes().unwrap_or(0);
        format!(
            "\"baseline\": {baseline}, \"connected\": {}, \"holding\": {}, \"idle\": {}, \
             \"peak\": {peak}",
            self.connected.get(),
            self.holding.get(),
            self.idle.get()
        )
    }
}

/// The RSS now, in bytes.
fn rss() -> u64 {
    ttk_benches::rss_bytes().unwrap_or(0)
}

/// The RSS once the allocator has given its free memory back to the system, in bytes.
fn rss_trimmed() -> u64 {
    // SAFETY: `malloc_trim` only returns free memory to the system; it takes no pointer.
    unsafe { libc::malloc_trim(0) };
    rss()
}

/// Bots meeting between the steps of the memory probe: the last to arrive samples the RSS
/// while the others wait, then all go on.
#[derive(Clone)]
struct Meeting {
    /// Where they wait.
    barrier: Barrier,
    /// How many have arrived in this round.
    arrived: Rc<Cell<usize>>,
}

impl Meeting {
    /// A meeting of `parties` bots.
    fn new(parties: usize) -> Meeting {
        Meeting {
            barrier: Barrier::new(parties),
            arrived: Rc::new(Cell::new(0)),
        }
    }

    /// Arrives; the last to arrive records `sample()` in `cell` before anyone goes on.
    async fn meet(&self, cell: &Cell<u64>, sample: fn() -> u64) -> io::Result<()> {
        self.arrived.set(self.arrived.get() + 1);
        if self.arrived.get() == self.barrier.parties() {
            self.arrived.set(0);
            cell.set(sample());
        }
        ttk::timeout(TIMEOUT, self.barrier.wait())
            .await?
            .map_err(io::Error::other)?;
        Ok(())
    }
}

/// The next text or binary message, skipping pings and pongs.
async fn next_data<S: ByteStream>(ws: &mut WebSocket<S>) -> io::Result<Message> {
    loop {
        match ttk::timeout(TIMEOUT, ws.receive()).await?? {
            Message::Ping(_) | Message::Pong(_) => {}
            message => return Ok(message),
        }
    }
}

/// The error for a probe that saw something else than it expected.
fn unexpected(what: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what)
}

/// A client of the memory probe: connect, send a message of `bytes` bytes, receive it back,
/// drop it, close; the barriers line the bots up between the steps.
#[ttk::bot]
fn memory_client(
    _cx: Cx,
    id: usize,
    url: Rc<str>,
    bytes: usize,
    meeting: Meeting,
    samples: Rc<Samples>,
) -> io::Result<()> {
    let mut ws = ttk::yield_!(ttk::timeout(TIMEOUT, WebSocket::connect(&url)))??;
    ttk::yield_!(meeting.meet(&samples.connected, rss))?;
    let fill = id as u8;
    let message = Message::Binary(vec![fill; bytes].into());
    ttk::yield_!(ttk::timeout(TIMEOUT, ws.send(message)))??;
    let echo = ttk::yield_!(next_data(&mut ws))?;
    let payload = echo.into_data();
    if payload.len() != bytes || payload.iter().any(|byte| *byte != fill) {
        return Err(unexpected(format!(
            "bot {id}: an echo of {} bytes that is not what it sent",
            payload.len()
        )));
    }
    ttk::yield_!(meeting.meet(&samples.holding, rss))?;
    drop(payload);
    ttk::yield_!(meeting.meet(&samples.idle, rss_trimmed))?;
    ttk::yield_!(ttk::timeout(TIMEOUT, ws.close(None)))?
}

/// A client of the echo probe: round trips of clones of one message until `until`.
#[ttk::bot]
fn echo_client(
    _cx: Cx,
    _id: usize,
    url: Rc<str>,
    message: Message,
    until: Instant,
    done: Rc<Cell<u64>>,
) -> io::Result<()> {
    let mut ws = ttk::yield_!(ttk::timeout(TIMEOUT, WebSocket::connect(&url)))??;
    while ttk::now() < until {
        ttk::yield_!(ttk::timeout(TIMEOUT, ws.send(message.clone())))??;
        let echo = ttk::yield_!(next_data(&mut ws))?;
        if echo != message {
            return Err(unexpected(format!(
                "an echo that is not the message: {echo:.40}"
            )));
        }
        done.set(done.get() + 1);
    }
    ttk::yield_!(ttk::timeout(TIMEOUT, ws.close(None)))?
}

/// What the server does with each connection.
#[derive(Clone, Copy, PartialEq)]
enum Serve {
    /// One message, held until every bot holds one, sent back, then the close.
    Memory,
    /// Every message sent back until the close.
    Echo,
}

/// Bot 0 listens (and prints its address) and accepts `connections` connections and starts a bot for each; the others each serve
/// one as `serve` says.
#[ttk::bot]
fn server(
    _cx: Cx,
    id: usize,
    connections: usize,
    serve: Serve,
    accepted: Rc<RefCell<VecDeque<TcpStream>>>,
    meeting: Meeting,
    samples: Rc<Samples>,
) -> io::Result<()> {
    if id == 0 {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        println!("{}", listener.local_addr()?);
        for _ in 0..connections {
            let (stream, _) = ttk::yield_!(ttk::timeout(TIMEOUT, listener.accept()))??;
            stream.set_nodelay(true)?;
            accepted.borrow_mut().push_back(stream);
            ttk::start_bots(1);
        }
        return Ok(());
    }
    let stream = accepted
        .borrow_mut()
        .pop_front()
        .expect("a connection per bot");
    let mut ws = ttk::yield_!(ttk::timeout(TIMEOUT, WebSocket::accept(stream)))??;
    if serve == Serve::Memory {
        ttk::yield_!(meeting.meet(&samples.connected, rss))?;
        let message = ttk::yield_!(next_data(&mut ws))?;
        ttk::yield_!(meeting.meet(&samples.holding, rss))?;
        ttk::yield_!(ttk::timeout(TIMEOUT, ws.send(message)))??;
        ttk::yield_!(meeting.meet(&samples.idle, rss_trimmed))?;
    }
    loop {
        match ttk::yield_!(next_data(&mut ws))? {
            Message::Close(_) => return Ok(()),
            message => ttk::yield_!(ttk::timeout(TIMEOUT, ws.send(message)))??,
        }
    }
}

/// The first error among `outcomes`, and how many there are.
fn errors<T>(outcomes: &[io::Result<T>]) -> (usize, String) {
    let first = outcomes.iter().find_map(|outcome| outcome.as_ref().err());
    (
        outcomes.iter().filter(|outcome| outcome.is_err()).count(),
        first.map(ToString::to_string).unwrap_or_default(),
    )
}

/// The child: serves `connections` connections, then prints its JSON line.
fn serve(serve: Serve, connections: usize) -> io::Result<()> {
    let baseline = ttk_benches::peak_rss_bytes().unwrap_or(0);
    let accepted = Rc::new(RefCell::new(VecDeque::new()));
    let meeting = Meeting::new(connections);
    let samples = Rc::new(Samples::default());
    let outcomes = ttk::run(1, |cx, id| {
        server(
            cx,
            id,
            connections,
            serve,
            accepted.clone(),
            meeting.clone(),
            samples.clone(),
        )
    });
    let (errors, first_error) = errors(&outcomes);
    println!(
        "{{{}, \"cpu_seconds\": {}, \"errors\": {errors}, \"first_error\": {first_error:?}}}",
        samples.json(baseline),
        ttk_benches::cpu_seconds()
    );
    Ok(())
}

/// The child server, started with `args`; the address it listens on.
struct Child {
    /// The process.
    process: std::process::Child,
    /// `ws://IP:PORT/`.
    url: Rc<str>,
}

impl Child {
    /// Starts `ws_probe serve MODE CONNECTIONS` and reads its address.
    fn start(mode: &str, connections: usize) -> io::Result<Child> {
        let mut process = Command::new(std::env::current_exe()?)
            .args(["serve", mode, &connections.to_string()])
            .stdout(Stdio::piped())
            .spawn()?;
        let mut addr = String::new();
        let stdout = process.stdout.as_mut().expect("piped");
        // One byte at a time: the rest of the output is read after the run.
        let mut byte = [0];
        while stdout.read(&mut byte)? == 1 && byte[0] != b'\n' {
            addr.push(byte[0] as char);
        }
        Ok(Child {
            process,
            url: format!("ws://{}/", addr.trim()).into(),
        })
    }

    /// Waits for the child to end; the JSON line it printed.
    fn finish(mut self) -> io::Result<String> {
        let mut line = String::new();
        BufReader::new(self.process.stdout.take().expect("piped")).read_line(&mut line)?;
        self.process.wait()?;
        Ok(line.trim().to_owned())
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        // Only a child that has not finished is still running.
        if self.process.stdout.is_some() {
            let _ = self.process.kill();
            let _ = self.process.wait();
        }
    }
}

/// The memory probe: see the module's documentation.
fn memory(bots: usize, bytes: usize) -> io::Result<()> {
    let baseline = ttk_benches::peak_rss_bytes().unwrap_or(0);
    let child = Child::start("memory", bots)?;
    let url = child.url.clone();
    let meeting = Meeting::new(bots);
    let samples = Rc::new(Samples::default());
    let outcomes = ttk::run(bots, |cx, id| {
        memory_client(cx, id, url.clone(), bytes, meeting.clone(), samples.clone())
    });
    let (errors, first_error) = errors(&outcomes);
    let server = child.finish()?;
    println!(
        "{{\"bots\": {bots}, \"bytes\": {bytes}, \"client\": {{{}, \"errors\": {errors}, \
         \"first_error\": {first_error:?}}}, \"server\": {server}}}",
        samples.json(baseline)
    );
    Ok(())
}

/// The echo probe: see the module's documentation.
fn echo(bots: usize, seconds: f64, bytes: usize) -> io::Result<()> {
    let child = Child::start("echo", bots)?;
    let url = child.url.clone();
    let message = Message::Binary(Bytes::from(vec![7; bytes]));
    let done = Rc::new(Cell::new(0));
    let cpu_before = ttk_benches::cpu_seconds();
    let started = Instant::now();
    let until = started + Duration::from_secs_f64(seconds);
    let outcomes = ttk::run(bots, |cx, id| {
        echo_client(cx, id, url.clone(), message.clone(), until, done.clone())
    });
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = ttk_benches::cpu_seconds() - cpu_before;
    let (errors, first_error) = errors(&outcomes);
    let server = child.finish()?;
    println!(
        "{{\"bots\": {bots}, \"bytes\": {bytes}, \"round_trips\": {}, \"seconds\": {elapsed}, \
         \"client\": {{\"cpu_seconds\": {cpu}, \"errors\": {errors}, \
         \"first_error\": {first_error:?}}}, \"server\": {server}}}",
        done.get()
    );
    Ok(())
}

/// Prints the usage and exits with status 2.
fn usage() -> ! {
    eprintln!(
        "usage: ws_probe memory BOTS BYTES | ws_probe echo BOTS SECONDS BYTES \
         | ws_probe serve memory|echo BOTS"
    );
    std::process::exit(2);
}

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = |i: usize| -> usize {
        args.get(i)
            .and_then(|arg| arg.parse().ok())
            .unwrap_or_else(|| usage())
    };
    match args.first().map(String::as_str) {
        Some("memory") if args.len() == 3 => memory(number(1), number(2)),
        Some("echo") if args.len() == 4 => {
            let seconds = args[2].parse().unwrap_or_else(|_| usage());
            echo(number(1), seconds, number(3))
        }
        Some("serve") if args.len() == 3 => match args[1].as_str() {
            "memory" => serve(Serve::Memory, number(2)),
            "echo" => serve(Serve::Echo, number(2)),
            _ => usage(),
        },
        _ => usage(),
    }
}
