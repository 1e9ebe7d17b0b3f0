//! A body that ends by diverging compiles without warnings (no unreachable tail is generated).

#![deny(warnings)]

#[ttk::bot]
fn gives_up(_cx: ttk::Cx, _id: usize) -> u32 {
    ttk::yield_!();
    panic!("this bot never returns");
}

fn main() {
    let outcomes = ttk::try_run(1, gives_up);
    assert!(outcomes[0].is_err());
}
