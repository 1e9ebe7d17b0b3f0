//! `ttk`: load without writing code. See `ttk --help`.

use std::process::ExitCode;

fn main() -> ExitCode {
    ExitCode::from(ttk_cli::run(std::env::args_os()))
}
