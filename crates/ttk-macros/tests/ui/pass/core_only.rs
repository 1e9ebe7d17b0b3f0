//! A crate using only ttk-core and ttk-macros names the runtime with `crate = ttk_core`.

use ttk_core::Cx;
use ttk_macros::bot;

#[bot(crate = ttk_core)]
fn plain(_cx: Cx, id: usize) -> usize {
    ttk_core::yield_!();
    id * 2
}

fn main() {
    assert_eq!(ttk_core::run(3, plain), [0, 2, 4]);
}
