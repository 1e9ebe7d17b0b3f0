//! The seed's second example: a yield between the two prints interleaves the bots.
//!
//! ```text
//! process 0: 1
//! process 1: 1
//! process 0: 2
//! process 1: 2
//! ```

use ttk::Cx;

/// Prints a line, lets the other bots run, prints another.
#[ttk::bot]
fn print_process(_cx: Cx, process: usize) {
    println!("process {process}: 1");
    ttk::yield_!();
    println!("process {process}: 2");
}

fn main() {
    ttk::run(2, print_process);
}
