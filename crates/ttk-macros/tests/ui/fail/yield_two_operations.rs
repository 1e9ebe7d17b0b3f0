#[ttk::bot]
fn player(_cx: ttk::Cx, _id: usize) {
    ttk::yield_!(ttk::sleep(std::time::Duration::ZERO), 2);
}

fn main() {}
