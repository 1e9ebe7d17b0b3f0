use ttk::Cx;

#[ttk::bot]
fn player(_cx: Cx, _id: usize) {
    let each = |x: u32| {
        ttk::yield_!();
        x
    };
    each(1);
}

fn main() {}
