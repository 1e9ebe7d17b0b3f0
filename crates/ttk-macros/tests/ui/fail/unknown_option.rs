#[ttk::bot(krate = ttk)]
fn player(_cx: ttk::Cx, _id: usize) {}

fn main() {}
