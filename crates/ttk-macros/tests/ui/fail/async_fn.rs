#[ttk::bot]
async fn player(_cx: ttk::Cx, _id: usize) {}

fn main() {}
