//! HTML escaping of the text a run brought with it.
//!
//! Transaction names, error messages, counter names, the run's name and its command line all
//! come from the load test or from the server under test, so any of them may hold markup. Every
//! such string goes through [`escape`] on its way into the page, whether it lands in an element
//! or in a quoted attribute.

use std::fmt::Write as _;

/// `text` with the five characters that can end a text node or a quoted attribute replaced
/// by character references, so that it reads as the same characters and never as markup.
///
/// Characters that HTML forbids in a document (NUL and the C0 controls other than whitespace)
/// become U+FFFD: a browser would drop or replace them anyway, and dropping them ourselves keeps
/// the page valid whatever a server sent.
pub(crate) fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            '\t' | '\n' | '\r' => escaped.push(c),
            c if c.is_control() => escaped.push('\u{FFFD}'),
            c => escaped.push(c),
        }
    }
    escaped
}

/// A `String` builder that escapes what it is asked to: `text` for run-provided text, `raw` for
/// the page's own markup. Naming the two keeps every insertion of run text visible in review.
#[derive(Debug, Default)]
pub(crate) struct Html(String);

impl Html {
    /// An empty page fragment.
    pub(crate) fn new() -> Self {
        Html(String::new())
    }

    /// Appends markup written by this crate (never text from the run).
    pub(crate) fn raw(&mut self, markup: &str) -> &mut Self {
        self.0.push_str(markup);
        self
    }

    /// Appends text, escaped.
    pub(crate) fn text(&mut self, text: &str) -> &mut Self {
        self.0.push_str(&escape(text));
        self
    }

    /// Appends a value formatted by this crate (a number, a figure): escaped all the same,
    /// since it costs nothing and a formatter may one day pass a name through.
    pub(crate) fn display(&mut self, value: impl std::fmt::Display) -> &mut Self {
        let mut formatted = String::new();
        let _ = write!(formatted, "{value}");
        self.text(&formatted)
    }

    /// The markup built.
    pub(crate) fn finish(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_characters_become_references() {
        assert_eq!(
            escape(r#"<a href="x" title='y'>&</a>"#),
            "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;"
        );
    }

    #[test]
    fn plain_text_and_unicode_pass_through() {
        assert_eq!(escape("login — 200 OK ✓"), "login — 200 OK ✓");
        assert_eq!(escape(""), "");
        assert_eq!(escape("line\n\ttab"), "line\n\ttab");
    }

    #[test]
    fn references_in_the_input_are_escaped_not_kept() {
        // A server sending `&lt;` must be shown as `&lt;`, not as `<`.
        assert_eq!(escape("&lt;"), "&amp;lt;");
    }

    #[test]
    fn controls_are_replaced() {
        assert_eq!(escape("a\0b\u{1b}[31m"), "a\u{FFFD}b\u{FFFD}[31m");
    }

    #[test]
    fn builder_escapes_text_and_keeps_raw() {
        let mut html = Html::new();
        html.raw("<td>").text("<b>").raw("</td>").display(42);
        assert_eq!(html.finish(), "<td>&lt;b&gt;</td>42");
    }
}
