//! The original library's `do_something`: a bot that starts, works and terminates, one step per
//! tick, so two bots interleave tick by tick.
//!
//! ```text
//! process 0: started
//! process 1: started
//! process 0: working
//! process 1: working
//! process 0: terminated
//! process 1: terminated
//! ```

use ttk::Cx;

/// One step per tick: start, work, terminate.
#[ttk::bot]
fn do_something(_cx: Cx, process: usize) {
    println!("process {process}: started");
    ttk::yield_!();
    println!("process {process}: working");
    ttk::yield_!();
    println!("process {process}: terminated");
}

fn main() {
    ttk::run(2, do_something);
}
