//! #[bot] works through a re-export of the facade under another name.

mod engine {
    pub use ttk as runtime;
}

use engine::runtime;

#[runtime::bot(crate = runtime)]
fn tick_twice(_cx: runtime::Cx, id: usize) -> usize {
    runtime::yield_!();
    runtime::yield_!();
    id
}

fn main() {
    assert_eq!(runtime::run(2, tick_twice), [0, 1]);
}
