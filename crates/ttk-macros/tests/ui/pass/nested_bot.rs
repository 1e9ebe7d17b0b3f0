//! A nested fn may yield when it is itself a #[bot].

use ttk::Cx;

#[ttk::bot]
fn outer(_cx: Cx, id: usize) -> usize {
    #[ttk::bot]
    fn inner(x: usize) -> usize {
        ttk::yield_!();
        x + 1
    }
    let add = |x: usize| x + 1;
    add(ttk::yield_!(inner(id)))
}

fn main() {
    assert_eq!(ttk::run(2, outer), [2, 3]);
}
