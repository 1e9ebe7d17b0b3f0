//! The `#[bot]` attribute of ttk.
//!
//! `#[bot]` turns a plain function whose body uses `yield_!` into a function that returns a bot:
//! a resumable state machine that the ttk loop runs. The compiler builds the state machine (the
//! body becomes an `async move` block and each `yield_!` an await point); this crate only
//! rewrites the syntax and reports misuse with spanned errors.
//!
//! Use it through the facade as `#[ttk::bot]`. A crate that depends only on `ttk-core` and
//! `ttk-macros` writes `#[ttk_macros::bot(crate = ttk_core)]`.
//!
//! # Examples
//! ```
//! use ttk::Cx;
//!
//! #[ttk::bot]
//! fn player(_cx: Cx, id: usize) -> usize {
//!     ttk::yield_!();
//!     id * 10
//! }
//!
//! assert_eq!(ttk::run(3, player), vec![0, 10, 20]);
//! ```

#![deny(missing_docs, missing_debug_implementations)]

use proc_macro::TokenStream;

mod args;
mod expand;
mod rewrite;

/// Turns a plain function into a bot: calling it returns a resumable state machine instead of
/// running the body; `yield_!` points inside it are where it suspends.
///
/// - `ttk::yield_!()` ends the bot's step for the current tick;
/// - `ttk::yield_!(op)` suspends until `op` completes and evaluates to its output; helper
///   functions marked `#[bot]` are called this way.
///
/// The function keeps its name, visibility, generics, arguments, docs and attributes; its return
/// type `T` becomes `impl Future<Output = T>`. Options: `#[bot(crate = path)]` names the crate
/// that provides the runtime (default `::ttk`; `ttk_core` for crates without the facade).
///
/// Errors (spanned at the offending code): `#[bot]` on an `async fn`, `const fn` or variadic fn,
/// and `yield_!` inside a closure or a nested fn, which are not part of the bot's state machine.
///
/// # Examples
/// ```
/// use ttk::Cx;
///
/// #[ttk::bot]
/// fn add_later(a: u32, b: u32) -> u32 {
///     ttk::yield_!();
///     a + b
/// }
///
/// #[ttk::bot]
/// fn player(_cx: Cx, id: usize) -> u32 {
///     ttk::yield_!(add_later(id as u32, 1))
/// }
///
/// assert_eq!(ttk::run(2, player), vec![1, 2]);
/// ```
#[proc_macro_attribute]
pub fn bot(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand::bot(attr.into(), item.into()).into()
}
