//! A flag's value together with the text typed for it: the report records the load as it
//! was given (`60s`, not `1m`; `2000`, not `2000/s`).

/// A parsed flag value and its text as typed.
#[derive(Clone, Debug)]
pub(crate) struct Given<T> {
    /// The value.
    pub(crate) value: T,
    /// The text it was read from, as typed.
    pub(crate) text: String,
}

impl<T> Given<T> {
    /// Reads `text` with `parse`, keeping the text.
    pub(crate) fn parse(
        text: &str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<Given<T>, String> {
        Ok(Given {
            value: parse(text)?,
            text: text.to_owned(),
        })
    }
}
