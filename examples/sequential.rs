//! The seed's first example: two bots that never yield run one after the other.
//!
//! ```text
//! process 0: 1
//! process 0: 2
//! process 1: 1
//! process 1: 2
//! ```

use ttk::Cx;

/// Prints two lines without letting anyone else run in between.
#[ttk::bot]
fn print_process(_cx: Cx, process: usize) {
    println!("process {process}: 1");
    println!("process {process}: 2");
}

fn main() {
    ttk::run(2, print_process);
}
