//! `#[bot]`: parse → check → rewrite the body → emit.

use proc_macro2::TokenStream;
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::visit_mut::VisitMut;
use syn::{ItemFn, ReturnType, Type};

use crate::args::BotArgs;
use crate::rewrite::YieldRewriter;

/// Expands `#[bot(attr)] item`. Errors come back as `compile_error!`s next to the best item that
/// can still be emitted, so IDEs keep seeing the function.
pub(crate) fn bot(attr: TokenStream, item: TokenStream) -> TokenStream {
    let args = match BotArgs::parse(attr) {
        Ok(args) => args,
        Err(error) => return with_error(error, item),
    };
    let function = match syn::parse2::<ItemFn>(item.clone()) {
        Ok(function) => function,
        Err(_) => {
            let error = syn::Error::new_spanned(
                &item,
                "#[bot] goes on a fn: it turns the function's body into a resumable bot",
            );
            return with_error(error, item);
        }
    };
    match transform(args, function) {
        Ok(tokens) => tokens,
        Err(error) => with_error(error, item),
    }
}

/// The original item, preceded by the error.
fn with_error(error: syn::Error, item: TokenStream) -> TokenStream {
    let error = error.to_compile_error();
    quote! { #error #item }
}

/// Rewrites a checked function into one that returns its body as a bot.
fn transform(args: BotArgs, mut function: ItemFn) -> syn::Result<TokenStream> {
    check_signature(&function)?;
    let krate = args.krate;
    let mut rewriter = YieldRewriter::new(krate.clone());
    rewriter.visit_block_mut(&mut function.block);

    let bindings = bind_arguments(&mut function.sig, &function.block);
    let block = &function.block;
    let body = quote_spanned!(block.span()=> { #bindings #block });
    let output = match &function.sig.output {
        ReturnType::Default => quote!(()),
        ReturnType::Type(_, ty) => ty.to_token_stream(),
    };
    let output_span = function.sig.output.span();
    // Naming the body's output type (through an identity fn bounded on it) pins down what `?`
    // converts errors into and lets `return` work as in a plain fn, without a tail expression
    // that would warn as unreachable after a diverging body. An `impl Trait` output cannot be
    // named, so it is inferred.
    let bot_body = if returns_impl_trait(&function.sig.output) {
        quote_spanned!(block.span()=> async move #body)
    } else {
        quote_spanned! {block.span()=>
            #krate::__private::bot::<#output, _>(async move #body)
        }
    };
    // The `impl` keyword takes this crate's edition (2024) through a mixed-site span, so the
    // returned bot captures the arguments' lifetimes in the user's crate whatever its edition
    // (before 2024, `impl Trait` in return position captured only the lifetimes it named).
    let opaque = quote::quote_spanned!(proc_macro2::Span::mixed_site()=> impl);
    function.sig.output = syn::parse2(quote_spanned! {output_span=>
        -> #opaque ::core::future::Future<Output = #output>
    })?;
    let ItemFn {
        attrs, vis, sig, ..
    } = &function;
    Ok(quote! {
        #(#attrs)*
        #vis #sig {
            #bot_body
        }
    })
}

/// Keeps every argument alive as long as the bot, as an `async fn` does. An `async move` block
/// captures what its body uses, and a captured value lives until the bot ends; but an unused
/// argument (a connection held open, `_guard: Guard`) is not captured and would be dropped as
/// soon as the bot is built. Such arguments are moved in with a `let` at the start of the body.
///
/// Only those: a `let` for a used argument would store it twice in the state machine (the
/// capture and the local), and a bot's size is memory per bot. Arguments whose type has no
/// destructor (references, numbers, `Cx`) are skipped too: dropping them early is invisible.
/// Arguments with patterns other than a plain name are renamed in the signature and bound.
fn bind_arguments(sig: &mut syn::Signature, body: &syn::Block) -> TokenStream {
    let used = identifiers(body);
    let mut bindings = TokenStream::new();
    for (index, input) in sig.inputs.iter_mut().enumerate() {
        let syn::FnArg::Typed(argument) = input else {
            continue;
        };
        let droppable = may_have_destructor(&argument.ty);
        match &mut *argument.pat {
            syn::Pat::Ident(binding) if binding.by_ref.is_none() && binding.subpat.is_none() => {
                let name = &binding.ident;
                if droppable && !used.contains(&name.to_string()) {
                    let mutability = &binding.mutability;
                    bindings.extend(quote!(let #mutability #name = #name;));
                    binding.mutability = None;
                }
            }
            pattern => {
                let name = quote::format_ident!("__ttk_arg{}", index);
                // `mut`, so that a `ref mut` inside the pattern can borrow it mutably.
                let original = std::mem::replace(pattern, syn::parse_quote!(mut #name));
                argument.attrs.push(syn::parse_quote!(#[allow(unused_mut)]));
                // `let _ = x` would not move `x`: a wildcard keeps the hidden name instead.
                let target = match original {
                    syn::Pat::Wild(_) if droppable => quote!(#name),
                    syn::Pat::Wild(_) => continue,
                    other => other.to_token_stream(),
                };
                bindings.extend(quote!(let #target = #name;));
            }
        }
    }
    bindings
}

/// The names the body reads as variables: single-segment paths in expressions, and (to be safe)
/// every identifier inside macro arguments, which syn cannot see into. Nested items are skipped:
/// they cannot use the function's arguments.
fn identifiers(body: &syn::Block) -> std::collections::HashSet<String> {
    struct Uses(std::collections::HashSet<String>);
    impl<'a> syn::visit::Visit<'a> for Uses {
        fn visit_expr_path(&mut self, path: &'a syn::ExprPath) {
            if path.qself.is_none()
                && let Some(ident) = path.path.get_ident()
            {
                self.0.insert(ident.to_string());
            }
            syn::visit::visit_expr_path(self, path);
        }
        fn visit_macro(&mut self, mac: &'a syn::Macro) {
            let mut stack = vec![mac.tokens.clone()];
            while let Some(tokens) = stack.pop() {
                for tree in tokens {
                    match tree {
                        proc_macro2::TokenTree::Ident(ident) => {
                            self.0.insert(ident.to_string());
                        }
                        proc_macro2::TokenTree::Group(group) => stack.push(group.stream()),
                        _ => {}
                    }
                }
            }
        }
        fn visit_item(&mut self, _: &'a syn::Item) {}
    }
    let mut uses = Uses(std::collections::HashSet::new());
    syn::visit::Visit::visit_block(&mut uses, body);
    uses.0
}

/// Whether a value of type `ty` may run code when dropped (false only for types known not to:
/// references, raw pointers, primitive numbers, `bool`, `char`, `Cx`).
fn may_have_destructor(ty: &Type) -> bool {
    match ty {
        Type::Reference(_) | Type::Ptr(_) | Type::Never(_) => false,
        Type::Paren(inner) => may_have_destructor(&inner.elem),
        Type::Path(path) if path.qself.is_none() => {
            let Some(last) = path.path.segments.last() else {
                return true;
            };
            let name = last.ident.to_string();
            !matches!(
                name.as_str(),
                "Cx" | "bool"
                    | "char"
                    | "u8"
                    | "u16"
                    | "u32"
                    | "u64"
                    | "u128"
                    | "usize"
                    | "i8"
                    | "i16"
                    | "i32"
                    | "i64"
                    | "i128"
                    | "isize"
                    | "f32"
                    | "f64"
                    | "Duration"
                    | "Instant"
                    | "SocketAddr"
            )
        }
        _ => true,
    }
}

/// Rejects signatures a bot cannot have, with a hint at the fix.
fn check_signature(function: &ItemFn) -> syn::Result<()> {
    let sig = &function.sig;
    if let Some(token) = &sig.asyncness {
        return Err(syn::Error::new_spanned(
            token,
            "#[bot] functions are written as plain `fn`s: remove `async` \
             (#[bot] makes the state machine; use `ttk::yield_!(op)` where you would `.await`)",
        ));
    }
    if let Some(token) = &sig.constness {
        return Err(syn::Error::new_spanned(
            token,
            "a #[bot] cannot be a `const fn`: it suspends at run time",
        ));
    }
    if let Some(variadic) = &sig.variadic {
        return Err(syn::Error::new_spanned(
            variadic,
            "a #[bot] cannot be variadic",
        ));
    }
    if let Some(abi) = &sig.abi {
        return Err(syn::Error::new_spanned(
            abi,
            "a #[bot] cannot have an `extern` ABI: it returns a Rust state machine",
        ));
    }
    Ok(())
}

/// Whether the declared return type is (or contains at its top) `impl Trait`.
fn returns_impl_trait(output: &ReturnType) -> bool {
    match output {
        ReturnType::Default => false,
        ReturnType::Type(_, ty) => contains_impl_trait(ty),
    }
}

/// Whether `impl Trait` appears anywhere in `ty`.
fn contains_impl_trait(ty: &Type) -> bool {
    struct Finder(bool);
    impl<'a> syn::visit::Visit<'a> for Finder {
        fn visit_type_impl_trait(&mut self, _: &'a syn::TypeImplTrait) {
            self.0 = true;
        }
    }
    let mut finder = Finder(false);
    syn::visit::Visit::visit_type(&mut finder, ty);
    finder.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand(item: TokenStream) -> String {
        bot(TokenStream::new(), item).to_string()
    }

    #[test]
    fn the_body_becomes_an_async_block_and_yields_become_awaits() {
        let out = expand(quote! {
            pub fn player(cx: Cx, id: usize) -> u32 { ttk::yield_!(); 1 }
        });
        assert!(
            out.contains("pub fn player (cx : Cx , id : usize)"),
            "{out}"
        );
        assert!(
            out.contains("impl :: core :: future :: Future < Output = u32 >"),
            "{out}"
        );
        assert!(out.contains("async move"), "{out}");
        assert!(
            out.contains(":: ttk :: __private :: yield_now () . await"),
            "{out}"
        );
        assert!(!out.contains("yield_ !"), "{out}");
    }

    #[test]
    fn the_crate_option_changes_the_runtime_path() {
        let out = bot(quote!(crate = ttk_core), quote! { fn f() { yield_!(); } }).to_string();
        assert!(out.contains("ttk_core :: __private :: yield_now"), "{out}");
    }

    #[test]
    fn unknown_options_and_async_fns_are_errors() {
        let out = bot(quote!(krate = x), quote! { fn f() {} }).to_string();
        assert!(out.contains("compile_error"), "{out}");
        let out = expand(quote! { async fn f() {} });
        assert!(out.contains("remove `async`"), "{out}");
    }
}
