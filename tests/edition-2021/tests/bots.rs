//! `#[bot]` in a crate of an older edition: the returned bot still captures the lifetimes of
//! reference arguments (this crate is edition 2021).

use ttk::Cx;

#[ttk::bot]
fn borrows(buffer: &mut Vec<u8>, byte: u8) -> usize {
    ttk::yield_!();
    buffer.push(byte);
    buffer.len()
}

#[ttk::bot]
fn shows<T: std::fmt::Display>(value: &T) -> String {
    ttk::yield_!();
    value.to_string()
}

#[ttk::bot]
fn player(_cx: Cx, id: usize) -> String {
    let mut buffer = vec![7];
    let len = ttk::yield_!(borrows(&mut buffer, id as u8));
    let shown = ttk::yield_!(shows(&id));
    format!("{len} {shown}")
}

#[test]
fn reference_arguments_work_in_edition_2021() {
    assert_eq!(ttk::run(2, player), ["2 0", "2 1"]);
}
