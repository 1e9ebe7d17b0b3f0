//! What an example needs of its command line beyond the harness's parsing.

/// Whether the command line gave `flag` (`--bots 6` or `--bots=6`): a standard flag's default
/// cannot tell whether the user set it, and an example that fixes it (its bots are its players)
/// refuses it when given.
///
/// # Examples
/// ```
/// // This doctest's own command line has no `--rooms`.
/// assert!(!ttk_examples::flags::given("--rooms"));
/// ```
pub fn given(flag: &str) -> bool {
    std::env::args_os().skip(1).any(|arg| {
        let arg = arg.to_string_lossy();
        arg == flag
            || arg
                .strip_prefix(flag)
                .is_some_and(|rest| rest.starts_with('='))
    })
}
