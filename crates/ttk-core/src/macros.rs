//! `yield_!`: the suspension point of a bot.

/// Marks where a bot lets others run (`yield_!()`) or waits for an operation (`yield_!(op)`).
///
/// - `yield_!()` ends this bot's step for the current tick; it runs again in the next one, after
///   the bots that were ready before it.
/// - `yield_!(op)` suspends the bot until `op` completes, and evaluates to `op`'s result:
///   `let n = yield_!(stream.read(&mut buf))?;`. Helper bots (functions marked `#[bot]`) are
///   called the same way: `let token = yield_!(login(&mut conn))?;`.
///
/// It only means something inside a function marked `#[bot]`, which rewrites it; anywhere else it
/// is a compile error that says so.
///
/// # Examples
/// ```
/// # use ttk_macros::bot;
/// use ttk_core::Cx;
///
/// #[bot(crate = ttk_core)]
/// fn double(x: u32) -> u32 {
///     ttk_core::yield_!();
///     x * 2
/// }
///
/// #[bot(crate = ttk_core)]
/// fn player(_cx: Cx, id: usize) -> u32 {
///     ttk_core::yield_!(double(id as u32))
/// }
///
/// assert_eq!(ttk_core::run(3, player), vec![0, 2, 4]);
/// ```
#[macro_export]
macro_rules! yield_ {
    ($($op:tt)*) => {
        ::core::compile_error!(
            "`yield_!` can only be used directly in the body of a function marked `#[bot]`: \
             add `#[ttk::bot]` to the enclosing function (a closure or nested fn cannot yield)"
        )
    };
}
