//! The arguments of `#[bot(...)]`.

use proc_macro2::TokenStream;
use syn::Path;
use syn::meta::ParseNestedMeta;

/// Parsed `#[bot(...)]` options.
pub(crate) struct BotArgs {
    /// The crate whose `__private` module the generated code names.
    pub(crate) krate: Path,
}

impl BotArgs {
    /// Parses `crate = path` (the only option); an empty list keeps the default `::ttk`.
    pub(crate) fn parse(attr: TokenStream) -> syn::Result<BotArgs> {
        let mut krate: Path = syn::parse_quote!(::ttk);
        let parser = syn::meta::parser(|meta: ParseNestedMeta| {
            if meta.path.is_ident("crate") {
                krate = meta.value()?.parse()?;
                Ok(())
            } else {
                Err(meta.error("unknown #[bot] option; the only option is `crate = path`"))
            }
        });
        syn::parse::Parser::parse2(parser, attr)?;
        Ok(BotArgs { krate })
    }
}
