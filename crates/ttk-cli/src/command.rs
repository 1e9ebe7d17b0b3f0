//! The command line: `ttk` and its subcommands.

use clap::{Parser, Subcommand};

use crate::demo::DemoArgs;
use crate::http_load::HttpArgs;
use crate::line_load::TcpArgs;
use crate::report_command::ReportArgs;
use crate::udp_load::UdpArgs;

/// Load without writing code: HTTP, gRPC, TCP, UDP and QUIC, each connection a ttk bot.
#[derive(Parser, Debug)]
#[command(
    name = "ttk",
    version,
    after_help = "Exit codes: 0 passed, 1 a threshold failed, 2 bad command line, \
                  3 the run failed, 130 interrupted.\n\
                  Scripted bots (several steps, bots that play together): write a load test \
                  with the ttk crate; see the README."
)]
pub(crate) struct Ttk {
    #[command(subcommand)]
    command: Command,
}

/// The subcommands.
#[derive(Subcommand, Debug)]
enum Command {
    /// HTTP/1.1 load: keep-alive connections sending a request again and again (like wrk, oha,
    /// hey), or on a schedule with --rate.
    Http(HttpArgs),
    /// gRPC load without code (like ghz): the .proto read at run time, the message as JSON,
    /// calls in flight over HTTP/2.
    Grpc(crate::grpc_load::GrpcArgs),
    /// Line-protocol load over TCP: each connection sends a line and reads the reply line.
    Tcp(TcpArgs),
    /// Datagram load over UDP: each bot sends a datagram and waits for the reply datagram.
    Udp(UdpArgs),
    /// QUIC load: each connection sends a message on a stream (or as a datagram) and reads the
    /// answer, over TLS 1.3 on its own UDP socket.
    Quic(crate::quic_load::QuicArgs),
    /// Merge the JSON reports of a sharded run (--shard I/N of each) into the whole run's.
    #[command(
        after_help = "Example:\n  ttk merge shard-*.json --json all.json --html all.html\n\n\
        Exit codes: 0 every shard merged and the thresholds held, 1 a threshold failed, 2 the \
        reports are not of one run, or one is not a report this ttk reads (another schema, a \
        field out of bounds, not JSON), 3 a shard is missing (the merge of the others is still \
        written)."
    )]
    Merge(ttk::cli::MergeArgs),
    /// Print a JSON report's summary, write its HTML page, check thresholds against it.
    Report(ReportArgs),
    /// Start a built-in HTTP target and run a short, visible load against it.
    Demo(DemoArgs),
}

impl Ttk {
    /// Runs the subcommand, `typed` as it was (what the children of `--processes` are started
    /// with) and recorded in the reports as `command_line` (secrets redacted); its exit code.
    pub(crate) fn run(self, typed: Vec<String>, command_line: Vec<String>) -> u8 {
        match self.command {
            Command::Http(mut args) => {
                args.load.command_line = command_line;
                args.load.typed = typed;
                args.run()
            }
            Command::Grpc(mut args) => {
                args.load.command_line = command_line;
                args.load.typed = typed;
                args.run()
            }
            Command::Tcp(mut args) => {
                args.load.command_line = command_line;
                args.load.typed = typed;
                args.run()
            }
            Command::Udp(mut args) => {
                args.load.command_line = command_line;
                args.load.typed = typed;
                args.run()
            }
            Command::Quic(mut args) => {
                args.load.command_line = command_line;
                args.load.typed = typed;
                args.run()
            }
            Command::Merge(args) => args.merge("ttk").code,
            Command::Report(args) => args.run(),
            Command::Demo(args) => args.run(),
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Ttk;

    #[test]
    fn the_command_line_is_well_formed() {
        Ttk::command().debug_assert();
    }
}
