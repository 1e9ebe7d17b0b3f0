//! Rewriting `yield_!` inside a `#[bot]` body into await points.
//!
//! Syntax the body shows directly (expressions, statements) is rewritten with a syn visitor;
//! the arguments of other macros (`println!`, `assert_eq!`, ...) are opaque tokens to syn, so
//! `yield_!` there is found by scanning tokens. Closures and nested fns are not part of the
//! bot's state machine: a `yield_!` inside them becomes a `compile_error!` at the call.

use proc_macro2::{Group, Span, TokenStream, TokenTree};
use quote::{ToTokens, quote_spanned};
use syn::visit_mut::{self, VisitMut};
use syn::{Expr, Item, Macro, Path, Stmt};

/// The name of the suspension macro.
const YIELD: &str = "yield_";

/// Why a `yield_!` cannot be rewritten where it is.
#[derive(Clone, Copy)]
enum Forbidden {
    /// Inside a closure.
    Closure,
    /// Inside a nested fn that is not itself a `#[bot]`.
    NestedFn,
}

impl Forbidden {
    /// The error message, with the fix.
    fn message(self) -> &'static str {
        match self {
            Forbidden::Closure => {
                "`yield_!` cannot be used inside a closure: a closure is not part of the bot's \
                 state machine. Use a loop in the bot's body, or move the code into a helper fn \
                 marked `#[bot]` and call it with `yield_!(helper(...))`"
            }
            Forbidden::NestedFn => {
                "`yield_!` cannot be used inside a nested fn that is not a bot: mark the nested fn \
                 `#[bot]` and call it with `yield_!(helper(...))`"
            }
        }
    }
}

/// What to do with a `yield_!` found in tokens.
#[derive(Clone, Copy)]
enum Mode<'a> {
    /// Rewrite it into an await on the runtime named by the path.
    Allowed(&'a Path),
    /// Replace it by a `compile_error!`.
    Forbidden(Forbidden),
}

/// The visitor that rewrites a bot body in place.
pub(crate) struct YieldRewriter {
    /// The crate providing `__private::yield_now`.
    krate: Path,
}

impl YieldRewriter {
    /// A rewriter naming `krate` in generated code.
    pub(crate) fn new(krate: Path) -> Self {
        YieldRewriter { krate }
    }

    /// The await expression for one `yield_!` invocation.
    fn rewrite_yield(&mut self, mac: &Macro) -> Expr {
        let span = mac
            .path
            .segments
            .last()
            .map_or_else(Span::call_site, |s| s.ident.span());
        if mac.tokens.is_empty() {
            let krate = &self.krate;
            return syn::parse_quote_spanned!(span=> #krate::__private::yield_now().await);
        }
        match syn::parse2::<Expr>(mac.tokens.clone()) {
            Ok(mut op) => {
                self.visit_expr_mut(&mut op);
                syn::parse_quote_spanned!(span=> (#op).await)
            }
            Err(error) => {
                let message =
                    format!("`yield_!` takes nothing or one operation to wait for ({error})");
                syn::parse_quote_spanned!(error.span()=> ::core::compile_error!(#message))
            }
        }
    }
}

/// Whether `mac` is `yield_!` (by any path: `yield_!`, `ttk::yield_!`, `ttk_core::yield_!`).
fn is_yield(mac: &Macro) -> bool {
    mac.path
        .segments
        .last()
        .is_some_and(|segment| segment.ident == YIELD)
}

impl VisitMut for YieldRewriter {
    fn visit_expr_mut(&mut self, expr: &mut Expr) {
        match expr {
            Expr::Macro(expr_macro) if is_yield(&expr_macro.mac) => {
                *expr = self.rewrite_yield(&expr_macro.mac);
            }
            Expr::Macro(expr_macro) => {
                let tokens = std::mem::take(&mut expr_macro.mac.tokens);
                expr_macro.mac.tokens = rewrite_tokens(tokens, Mode::Allowed(&self.krate));
            }
            Expr::Closure(_) => {
                let tokens =
                    rewrite_tokens(expr.to_token_stream(), Mode::Forbidden(Forbidden::Closure));
                if let Ok(rewritten) = syn::parse2(tokens) {
                    *expr = rewritten;
                }
            }
            _ => visit_mut::visit_expr_mut(self, expr),
        }
    }

    fn visit_block_mut(&mut self, block: &mut syn::Block) {
        // `yield_! { op }` may stand without a semicolon in the middle of a block; as an
        // expression statement it then needs one.
        let last = block.stmts.len().saturating_sub(1);
        for (index, stmt) in block.stmts.iter_mut().enumerate() {
            if let Stmt::Macro(stmt_macro) = stmt
                && is_yield(&stmt_macro.mac)
                && stmt_macro.semi_token.is_none()
                && index < last
            {
                stmt_macro.semi_token = Some(Default::default());
            }
            self.visit_stmt_mut(stmt);
        }
    }

    fn visit_stmt_mut(&mut self, stmt: &mut Stmt) {
        match stmt {
            Stmt::Macro(stmt_macro) if is_yield(&stmt_macro.mac) => {
                let expr = self.rewrite_yield(&stmt_macro.mac);
                *stmt = Stmt::Expr(expr, stmt_macro.semi_token);
            }
            Stmt::Macro(stmt_macro) => {
                let tokens = std::mem::take(&mut stmt_macro.mac.tokens);
                stmt_macro.mac.tokens = rewrite_tokens(tokens, Mode::Allowed(&self.krate));
            }
            _ => visit_mut::visit_stmt_mut(self, stmt),
        }
    }

    fn visit_item_mut(&mut self, item: &mut Item) {
        // A nested `#[bot]` expands by itself; any other nested item cannot yield.
        let nested_bot = matches!(item, Item::Fn(function)
        if function.attrs.iter().any(|attr| {
            attr.path().segments.last().is_some_and(|segment| segment.ident == "bot")
        }));
        if nested_bot {
            return;
        }
        let tokens = rewrite_tokens(item.to_token_stream(), Mode::Forbidden(Forbidden::NestedFn));
        if let Ok(rewritten) = syn::parse2(tokens) {
            *item = rewritten;
        }
    }
}

/// Rewrites every `yield_!(...)` in a token stream (at any depth of groups).
fn rewrite_tokens(tokens: TokenStream, mode: Mode<'_>) -> TokenStream {
    let mut out: Vec<TokenTree> = Vec::new();
    let mut iter = tokens.into_iter().peekable();
    while let Some(tree) = iter.next() {
        match tree {
            TokenTree::Ident(ident) if ident == YIELD => {
                let is_call =
                    matches!(iter.peek(), Some(TokenTree::Punct(p)) if p.as_char() == '!');
                if !is_call {
                    out.push(TokenTree::Ident(ident));
                    continue;
                }
                let bang = iter.next().expect("peeked");
                let Some(TokenTree::Group(args)) =
                    iter.next_if(|t| matches!(t, TokenTree::Group(_)))
                else {
                    out.push(TokenTree::Ident(ident));
                    out.push(bang);
                    continue;
                };
                strip_path_prefix(&mut out);
                let span = ident.span();
                let replacement = match mode {
                    Mode::Allowed(krate) => {
                        let op = rewrite_tokens(args.stream(), mode);
                        if op.is_empty() {
                            quote_spanned!(span=> (#krate::__private::yield_now().await))
                        } else {
                            quote_spanned!(span=> ((#op).await))
                        }
                    }
                    Mode::Forbidden(reason) => {
                        let message = reason.message();
                        quote_spanned!(span=> ::core::compile_error!(#message))
                    }
                };
                out.extend(replacement);
            }
            TokenTree::Group(group) => {
                let mut rewritten =
                    Group::new(group.delimiter(), rewrite_tokens(group.stream(), mode));
                rewritten.set_span(group.span());
                out.push(TokenTree::Group(rewritten));
            }
            other => out.push(other),
        }
    }
    out.into_iter().collect()
}

/// Removes a path prefix (`ttk::`, `::ttk::`) just emitted before a `yield_` being replaced.
fn strip_path_prefix(out: &mut Vec<TokenTree>) {
    loop {
        let len = out.len();
        let ends_with_colons = len >= 2
            && matches!(&out[len - 1], TokenTree::Punct(p) if p.as_char() == ':')
            && matches!(&out[len - 2], TokenTree::Punct(p) if p.as_char() == ':');
        if !ends_with_colons {
            return;
        }
        out.truncate(len - 2);
        match out.last() {
            Some(TokenTree::Ident(ident)) if !is_keyword(&ident.to_string()) => {
                out.pop();
            }
            _ => return,
        }
    }
}

/// Whether `word` is a keyword that cannot start a path (`return ::ttk::yield_!()` keeps its
/// `return`); `crate`, `self`, `super` and `Self` can, so they are not listed.
fn is_keyword(word: &str) -> bool {
    matches!(
        word,
        "as" | "async"
            | "await"
            | "box"
            | "break"
            | "const"
            | "continue"
            | "dyn"
            | "else"
            | "enum"
            | "extern"
            | "false"
            | "fn"
            | "for"
            | "if"
            | "impl"
            | "in"
            | "let"
            | "loop"
            | "match"
            | "mod"
            | "move"
            | "mut"
            | "pub"
            | "ref"
            | "return"
            | "static"
            | "struct"
            | "trait"
            | "true"
            | "type"
            | "unsafe"
            | "use"
            | "where"
            | "while"
            | "yield"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn allowed(tokens: TokenStream) -> String {
        let krate: Path = syn::parse_quote!(::ttk);
        rewrite_tokens(tokens, Mode::Allowed(&krate)).to_string()
    }

    #[test]
    fn yields_inside_other_macros_are_rewritten_with_their_path() {
        let out = allowed(quote!("{}", ttk::yield_!(f(yield_!())), x));
        assert_eq!(
            out,
            "\"{}\" , ((f ((:: ttk :: __private :: yield_now () . await))) . await) , x"
        );
    }

    #[test]
    fn a_yield_in_a_closure_becomes_a_compile_error() {
        let out = rewrite_tokens(
            quote!(|x| ::ttk::yield_!(x)),
            Mode::Forbidden(Forbidden::Closure),
        )
        .to_string();
        assert!(out.starts_with("| x | :: core :: compile_error !"), "{out}");
    }

    #[test]
    fn a_keyword_before_an_absolute_path_is_kept() {
        let out = allowed(quote!(return ::ttk::yield_!(f())));
        assert_eq!(out, "return ((f ()) . await)");
    }

    #[test]
    fn other_uses_of_the_name_are_left_alone() {
        assert_eq!(allowed(quote!(yield_ + 1)), "yield_ + 1");
    }
}
