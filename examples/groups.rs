//! The original library's groups example: four bots in two groups; the even bots say "Hello" to
//! their group after one tick, the odd bots wait for it.
//!
//! ```text
//! process 0: sent "Hello" to process 1
//! process 2: sent "Hello" to process 3
//! process 1: received "Hello" from process 0
//! process 3: received "Hello" from process 2
//! ```

use ttk::Cx;

/// Joins group `process / 2`; even bots greet it, odd bots wait for the greeting.
#[ttk::bot]
fn process(cx: Cx<&'static str>, process: usize) {
    let group = format!("group {}", process / 2);
    cx.join(&group);
    ttk::yield_!();
    if process.is_multiple_of(2) {
        let members = cx.members(&group);
        cx.send_group(&group, "Hello");
        for member in members.iter().filter(|&&member| member != process) {
            println!("process {process}: sent \"Hello\" to process {member}");
        }
    } else {
        let message = ttk::yield_!(cx.recv());
        println!(
            "process {process}: received \"{}\" from process {}",
            message.data, message.from
        );
    }
}

fn main() {
    ttk::run(4, process);
}
