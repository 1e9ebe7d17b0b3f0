use ttk::Cx;

#[ttk::bot]
fn player(_cx: Cx, _id: usize) {
    fn helper() {
        ttk::yield_!();
    }
    helper();
}

fn main() {}
