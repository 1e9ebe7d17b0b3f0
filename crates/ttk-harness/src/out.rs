//! The harness's standard output: the summary and where the reports went.

use std::fmt::Display;
use std::io::Write;

/// Prints `text` and a newline on standard output. A reader that went away (`mytest merge … |
/// head -1`: a broken pipe) or any other failure to write is not the run's failure: the rest
/// of the output is dropped, and the exit code still tells how the run went. (`println!` would
/// panic.)
pub(crate) fn print_line(text: impl Display) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{text}").and_then(|()| out.flush());
}
