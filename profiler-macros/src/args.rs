//! Parsing the arguments of `#[profile(...)]`.
//!
//! Accepted: `name = "..."` (the row's name) and `crate = path` (where the
//! `profiler` crate is, when it is re-exported). Every error is spanned on the
//! offending token: the unknown or repeated key, or the bad value.

use proc_macro2::{Span, TokenStream};
use syn::parse::Parser;
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, Lit, LitStr, Path, Token};

/// The parsed arguments of one `#[profile(...)]` attribute.
#[derive(Default)]
pub(crate) struct Args {
    /// `name = "..."`: the row's name instead of the function's path.
    pub(crate) name: Option<NameArg>,
    /// `crate = path`: the path of the `profiler` crate (default `::profiler`).
    pub(crate) krate: Option<Path>,
}

/// A `name = "..."` argument, with the span of its key for later errors
/// (`name` is not allowed on an `impl` block).
pub(crate) struct NameArg {
    /// The span of the `name` key.
    pub(crate) key: Span,
    /// The given name.
    pub(crate) value: LitStr,
}

impl Args {
    /// Parses the tokens between the parentheses of `#[profile(...)]`.
    pub(crate) fn parse(attr: TokenStream) -> syn::Result<Args> {
        if let Some(proc_macro2::TokenTree::Literal(lit)) = attr.clone().into_iter().next() {
            let text = lit.to_string();
            let hint = if text.starts_with('"') {
                format!("write `name = {text}`")
            } else {
                "expected `name = \"...\"` or `crate = path`".to_owned()
            };
            return Err(syn::Error::new(
                lit.span(),
                format_args!("a bare literal is not an argument: {hint}"),
            ));
        }
        let mut args = Args::default();
        let parser = syn::meta::parser(|meta| {
            if meta.path.is_ident("name") {
                if args.name.is_some() {
                    return Err(meta.error("duplicate argument `name`: give it once"));
                }
                let key = meta.path.span();
                if !meta.input.peek(Token![=]) {
                    return Err(meta.error("`name` takes a value: `name = \"solve\"`"));
                }
                let value = name_value(meta.value()?.parse()?)?;
                args.name = Some(NameArg { key, value });
                Ok(())
            } else if meta.path.is_ident("crate") {
                if args.krate.is_some() {
                    return Err(meta.error("duplicate argument `crate`: give it once"));
                }
                if !meta.input.peek(Token![=]) {
                    return Err(meta.error("`crate` takes a value: `crate = my_crate::profiler`"));
                }
                let input = meta.value()?;
                if input.peek(LitStr) {
                    let lit: LitStr = input.parse()?;
                    return Err(syn::Error::new(
                        lit.span(),
                        "`crate` takes a path, not a string: `crate = my_crate::profiler`",
                    ));
                }
                args.krate = Some(input.parse().map_err(|e| {
                    syn::Error::new(
                        e.span(),
                        "`crate` takes a path to the `profiler` crate: `crate = my_crate::profiler`",
                    )
                })?);
                Ok(())
            } else {
                let key = path_text(&meta.path);
                Err(meta.error(format_args!(
                    "unknown argument `{key}`: expected `name = \"...\"` or `crate = path`"
                )))
            }
        });
        parser.parse2(attr)?;
        Ok(args)
    }
}

/// Checks the value of `name = ...`: a non-empty string literal.
fn name_value(value: Expr) -> syn::Result<LitStr> {
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => {
            if s.value().is_empty() {
                Err(syn::Error::new(s.span(), "`name` must not be empty"))
            } else {
                Ok(s)
            }
        }
        other => Err(syn::Error::new(
            other.span(),
            "`name` takes a string literal: `name = \"solve\"`",
        )),
    }
}

/// The path as written, for messages (`foo`, `a::b`).
fn path_text(path: &Path) -> String {
    let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    let joined = segments.join("::");
    if path.leading_colon.is_some() {
        format!("::{joined}")
    } else {
        joined
    }
}
