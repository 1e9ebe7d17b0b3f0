//! The target of `hold`: `hold_target --processes K --for 2m [--addr 127.0.0.1:0]` starts K
//! worker processes (this program again, with `--worker`) that listen on one port with
//! `SO_REUSEPORT`, each serving its share of the connections on one thread with mio and echoing
//! lines.
//!
//! Standard output: once every worker listens, the address (`127.0.0.1:PORT`); then, every
//! second, `connections N`: the connections the workers hold open, summed (each worker reports
//! its own count every second).
//!
//! It stops by itself after `--for`, or as soon as its standard input closes (so it never
//! outlives whoever started it); each worker does the same with the pipe from this process, and
//! reports on standard error what it held. Each accepted connection is a descriptor in a
//! worker, so the workers' open-file limits add up: the kernel spreads connections evenly but
//! not exactly, so give each worker room (`cargo xtask hold` plans 15,000 per worker under a
//! limit of 20,000).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::process::{Child, ChildStdout, Command, ExitCode, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How often workers report their count, and the parent the sum.
const REPORT_EVERY: Duration = Duration::from_secs(1);

/// What the parent waits for.
enum Event {
    /// Worker `index` holds this many connections.
    Open(usize, u64),
    /// The parent's standard input closed: stop.
    StdinClosed,
}

use ttk::cli::clap::{self, Parser};
use ttk_examples::reuseport_target::{SharedPortServer, reserve};

/// The command line.
#[derive(Parser, Debug)]
#[command(about = "A line echo target of several processes sharing one port (SO_REUSEPORT)")]
struct Flags {
    /// Worker processes listening on the port.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    processes: u32,

    /// Stop after this long (`90s`, `5m`).
    #[arg(long = "for", value_name = "TIME", value_parser = humantime::parse_duration)]
    run_for: Duration,

    /// The address to listen on (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    addr: SocketAddr,

    /// Run as one worker on `--addr` (started by the parent).
    #[arg(long, hide = true)]
    worker: Option<u32>,
}

fn main() -> ExitCode {
    let flags = Flags::parse();
    let deadline = Instant::now() + flags.run_for;
    let outcome = match flags.worker {
        Some(index) => worker(index, flags.addr, deadline),
        None => parent(&flags, deadline),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("hold_target: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Reserves the port, starts the workers, prints the address once they all listen, and waits
/// for the deadline or the end of standard input; then stops the workers and waits for them.
fn parent(flags: &Flags, deadline: Instant) -> Result<(), String> {
    let (_reserved, addr) =
        reserve(flags.addr).map_err(|error| format!("cannot bind {}: {error}", flags.addr))?;
    let exe = std::env::current_exe().map_err(|error| format!("cannot find myself: {error}"))?;
    let mut workers = Vec::new();
    for index in 0..flags.processes {
        let remaining = deadline.saturating_duration_since(Instant::now());
        let child = Command::new(&exe)
            .arg("--worker")
            .arg(index.to_string())
            .arg("--addr")
            .arg(addr.to_string())
            .arg("--for")
            .arg(format!("{}ms", remaining.as_millis().max(1)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn();
        match child {
            Ok(child) => workers.push(child),
            Err(error) => {
                stop(workers);
                return Err(format!("cannot start worker {index}: {error}"));
            }
        }
    }
    let (events, received) = mpsc::channel();
    let pipes: Vec<Option<ChildStdout>> = workers
        .iter_mut()
        .map(|worker| worker.stdout.take())
        .collect();
    for (index, pipe) in pipes.into_iter().enumerate() {
        let Some(mut stdout) = pipe.map(BufReader::new) else {
            return Err(stopped(workers, format!("no pipe from worker {index}")));
        };
        if let Err(error) = wait_ready(&mut stdout) {
            return Err(stopped(
                workers,
                format!("worker {index} did not start: {error}"),
            ));
        }
        let events = events.clone();
        std::thread::spawn(move || {
            for line in stdout.lines() {
                let Ok(line) = line else { break };
                if let Some(Ok(open)) = line.strip_prefix("open ").map(str::parse) {
                    let _ = events.send(Event::Open(index, open));
                }
            }
        });
    }
    println!("{addr}");
    let _ = std::io::stdout().flush();

    std::thread::spawn(move || {
        let _ = std::io::stdin().read_to_end(&mut Vec::new());
        let _ = events.send(Event::StdinClosed);
    });
    let mut open = vec![0; workers.len()];
    let mut next_report = Instant::now() + REPORT_EVERY;
    loop {
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        if now >= next_report {
            // Whoever started it may have stopped reading: that is no reason to stop serving.
            let mut stdout = std::io::stdout().lock();
            let _ = writeln!(stdout, "connections {}", open.iter().sum::<u64>());
            let _ = stdout.flush();
            next_report += REPORT_EVERY;
        }
        match received.recv_timeout(next_report.min(deadline).saturating_duration_since(now)) {
            Ok(Event::Open(index, count)) => open[index] = count,
            Ok(Event::StdinClosed) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    stop(workers);
    Ok(())
}

/// Stops the workers and returns `error`, for a start that failed.
fn stopped(workers: Vec<Child>, error: String) -> String {
    stop(workers);
    error
}

/// Reads the worker's first line, which it writes once it listens.
fn wait_ready(stdout: &mut BufReader<ChildStdout>) -> Result<(), String> {
    let mut line = String::new();
    stdout
        .read_line(&mut line)
        .map_err(|error| error.to_string())?;
    match line.trim() {
        "listening" => Ok(()),
        _ => Err("it exited before listening".to_owned()),
    }
}

/// Closes each worker's standard input (it stops) and waits for them all.
fn stop(workers: Vec<Child>) {
    let mut workers = workers;
    for worker in &mut workers {
        drop(worker.stdin.take());
    }
    for mut worker in workers {
        let _ = worker.wait();
    }
}

/// One worker: listens on `addr` beside the others and serves until `deadline` or until its
/// standard input closes, then reports what it held on standard error.
fn worker(index: u32, addr: SocketAddr, deadline: Instant) -> Result<(), String> {
    let mut server = SharedPortServer::bind(addr)
        .map_err(|error| format!("worker {index} cannot listen on {addr}: {error}"))?;
    let stopper = server.stopper();
    std::thread::spawn(move || {
        let _ = std::io::stdin().read_to_end(&mut Vec::new());
        let _ = stopper.stop();
    });
    println!("listening");
    let _ = std::io::stdout().flush();
    let mut next_report = Instant::now();
    loop {
        next_report += REPORT_EVERY;
        let stopped = server
            .serve_until(next_report.min(deadline))
            .map_err(|error| format!("worker {index}: {error}"))?;
        if stopped || Instant::now() >= deadline {
            break;
        }
        println!("open {}", server.open());
        let _ = std::io::stdout().flush();
    }
    let stats = server.stats();
    let mut line = format!(
        "hold_target worker {index}: held {} connections at most, accepted {}, echoed {} lines",
        stats.peak_connections, stats.accepted, stats.lines
    );
    if stats.emfile > 0 {
        line += &format!(
            "; {} accepts failed with EMFILE (open-file limit reached: those connections \
             waited unserved in the backlog)",
            stats.emfile
        );
    }
    if stats.accept_errors > 0 {
        line += &format!("; {} accepts failed otherwise", stats.accept_errors);
    }
    // One write, newline included: the workers share the parent's standard error, and a line
    // written in pieces (as `eprintln!` may) interleaves with another worker's.
    line.push('\n');
    let _ = std::io::stderr().write_all(line.as_bytes());
    Ok(())
}
