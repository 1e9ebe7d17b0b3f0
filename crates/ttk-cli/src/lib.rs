//! The `ttk` command: HTTP, TCP and UDP load without writing code, on ttk's bots.
//!
//! ```text
//! ttk http http://127.0.0.1:8080/ -c 100 -d 10s          # like wrk -c 100 -d 10s
//! ttk http http://127.0.0.1:8080/api -m POST -b '{"x":1}' -H 'Content-Type: application/json'
//! ttk http http://127.0.0.1:8080/ -c 50 --rate 2000      # 2,000 requests/s, on schedule
//! ttk tcp 127.0.0.1:6379 --send PING --expect PONG --crlf
//! ttk udp 127.0.0.1:9000 --send ping --expect pong
//! ttk merge shard-*.json --html all.html
//! ttk report run.json --html run.html
//! ttk demo                                              # a built-in target, and load on it
//! ```
//!
//! Each connection is a bot on ttk's loop: the live progress, the summary, the JSON and HTML
//! reports and the thresholds are the load-test harness's ([`ttk::cli`]).
//!
//! The binary's `main` is [`run`]; the crate is a library so that its tests and other programs
//! can run the command in process.

mod command;
mod demo;
mod demo_target;
mod given;
mod grpc_load;
mod hex_bytes;
mod host_port;
mod http2_load;
mod http_load;
mod http_target;
mod limits;
mod line_load;
mod line_pipeline;
mod load_flags;
mod pace;
#[cfg(test)]
mod parse_props;
mod proto_json;
mod quic_load;
mod redact;
mod report_command;
mod resp;
mod sources;
mod status;
mod tls_flags;
mod udp_load;

use std::ffi::OsString;

use clap::Parser;

pub use demo_target::DemoTarget;

/// Runs the `ttk` command line `args` (the first is the program's name) and returns its exit
/// code: 0 passed, 1 a threshold failed, 2 a bad command line, 3 the run failed, 130
/// interrupted.
///
/// # Examples
/// ```
/// // A bad URL is a bad command line: a message, and exit code 2.
/// assert_eq!(ttk_cli::run(["ttk", "http", "ftp://127.0.0.1/"]), 2);
///
/// // A short load on the built-in target.
/// let target = ttk_cli::DemoTarget::start().unwrap();
/// let url = format!("http://{}/", target.addr());
/// assert_eq!(ttk_cli::run(["ttk", "http", &url, "-c", "2", "-d", "300ms", "-q"]), 0);
/// ```
pub fn run<I, T>(args: I) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let command = match command::Ttk::try_parse_from(&args) {
        Ok(command) => command,
        Err(error) => {
            let _ = error.print();
            return u8::try_from(error.exit_code()).unwrap_or(2);
        }
    };
    let typed: Vec<String> = args
        .iter()
        .map(|arg| arg.to_string_lossy().into_owned())
        .collect();
    let redacted = redact::redacted_command_line(&typed);
    command.run(typed, redacted)
}
