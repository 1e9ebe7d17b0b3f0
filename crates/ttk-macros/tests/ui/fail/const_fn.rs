#[ttk::bot]
const fn player() {}

fn main() {}
