#[ttk::bot]
fn player(_cx: ttk::Cx, _id: usize) {
    let _ = ttk::yield_!(42);
}

fn main() {}
