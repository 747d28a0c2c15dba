//! Code generation for `#[profile]`.
//!
//! A sync function keeps its signature, attributes and inner attributes; its
//! body becomes
//!
//! ```text
//! {
//!     #![inner attributes]
//!     let __profiler_guard = ::profiler::__private::enter({
//!         fn __profiler_name() -> &'static str { ::core::any::type_name_of_val(&__profiler_name) }
//!         static __PROFILER_SITE: ::profiler::__private::Site = ::profiler::__private::Site::new(
//!             ::profiler::__private::SiteName::Nested(__profiler_name, "__profiler_name"),
//!             ::core::module_path!(), ::core::file!(), ::core::line!(),
//!         )
//!         .in_crate(::core::option_env!("CARGO_MANIFEST_DIR"));
//!         &__PROFILER_SITE
//!     });
//!     { original statements }
//! }
//! ```
//!
//! With `name = "..."`, the nested function is not generated and the name is
//! `SiteName::Literal("...")`; with `crate = path`, `path` replaces
//! `::profiler`. `line!()` is spanned at the function's name, so the site
//! reports the function's line rather than the attribute's.
//!
//! The generated items sit in their own block, so the user's body cannot see
//! them, and the guard is a `mixed_site` local, so it cannot be named (or
//! shadowed) by the user's code. The body is never wrapped in a closure: early
//! `return`, `?` and `#[track_caller]` keep their meaning, and the guard's
//! `Drop` closes the scope on every exit, unwinding included.
//!
//! An `async fn` stays an `async fn` whose body awaits
//! `Instrumented::new(site, async move { original statements })`, which opens
//! a scope around every poll (no guard is held across an `.await`). A sync
//! function whose body ends in `Box::pin(async move { .. })` (what
//! `#[async_trait]` produces) gets the same treatment for that future.
//!
//! `#[profile]` on an `impl` block instruments each of its functions the same
//! way, except `const fn`s and functions carrying their own `#[profile(..)]`.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, TokenStreamExt, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::visit_mut::{self, VisitMut};
use syn::{
    AttrStyle, Attribute, Block, Expr, ExprAsync, ImplItem, ImplItemFn, Item, ItemFn, ItemImpl,
    Path, ReturnType, Signature, Stmt, Token, Type, TypeInfer, Visibility,
};

use crate::args::Args;

/// The marker segment that the runtime strips from the nested item's type name.
const MARKER: &str = "__profiler_name";

/// The entry point: parses the arguments and the item, checks them, and
/// returns the instrumented item (or, with the `enable` feature off, the item
/// unchanged). On an error, the original item is emitted next to the
/// `compile_error!` so that the rest of the crate still type-checks.
pub(crate) fn profile(attr: TokenStream, item: TokenStream) -> TokenStream {
    match parse_and_check(attr, item.clone()) {
        Ok((args, parsed)) if cfg!(feature = "enable") => expand(&args, parsed),
        Ok(_) => item,
        Err(e) => {
            let error = e.to_compile_error();
            quote!(#error #item)
        }
    }
}

/// Parses and checks everything; the errors of the arguments and of the item
/// are reported together.
fn parse_and_check(attr: TokenStream, item: TokenStream) -> syn::Result<(Args, Item)> {
    let args = Args::parse(attr);
    let item = syn::parse2::<Item>(item).and_then(|item| check_item(&item).map(|()| item));
    match (args, item) {
        (Ok(args), Ok(item)) => {
            check_args_for(&args, &item)?;
            Ok((args, item))
        }
        (Err(mut e), Err(more)) => {
            e.combine(more);
            Err(e)
        }
        (Err(e), Ok(_)) | (Ok(_), Err(e)) => Err(e),
    }
}

/// What the attribute may be put on: a function with a body (not `const`) or
/// an `impl` block.
fn check_item(item: &Item) -> syn::Result<()> {
    match item {
        Item::Fn(f) => check_fn(&f.sig),
        Item::Impl(_) => Ok(()),
        other => Err(syn::Error::new(
            item_keyword_span(other),
            "`#[profile]` goes on a function with a body or on an `impl` block",
        )),
    }
}

/// Arguments that depend on the item: `name` is for one function only.
fn check_args_for(args: &Args, item: &Item) -> syn::Result<()> {
    match (&args.name, item) {
        (Some(name), Item::Impl(_)) => Err(syn::Error::new(
            name.key,
            "`name` is not allowed on an `impl` block: every function in it is named \
             after itself; put `#[profile(name = \"...\")]` on one function instead",
        )),
        _ => Ok(()),
    }
}

/// Instruments a checked item.
fn expand(args: &Args, item: Item) -> TokenStream {
    let config = Config::new(args);
    match item {
        Item::Fn(f) => instrument_item_fn(f, &config, args.name.as_ref().map(|n| &n.value)),
        Item::Impl(imp) => instrument_impl(imp, &config),
        // `check_item` let nothing else through.
        other => other.into_token_stream(),
    }
}

/// Rejects what cannot be instrumented: a `const fn` (it may run at compile
/// time, where there is no clock).
fn check_fn(sig: &Signature) -> syn::Result<()> {
    if let Some(c) = &sig.constness {
        return Err(syn::Error::new(
            c.span,
            "`#[profile]` cannot instrument a `const fn`: it may run at compile time; \
             remove `const` or profile its callers",
        ));
    }
    Ok(())
}

/// The span of the keyword that says what kind of item this is (`struct`,
/// `enum`, ...), falling back to the item's first token.
fn item_keyword_span(item: &Item) -> Span {
    match item {
        Item::Const(i) => i.const_token.span,
        Item::Enum(i) => i.enum_token.span,
        Item::ExternCrate(i) => i.extern_token.span,
        Item::ForeignMod(i) => i.abi.extern_token.span,
        Item::Macro(i) => i.mac.path.span(),
        Item::Mod(i) => i.mod_token.span,
        Item::Static(i) => i.static_token.span,
        Item::Struct(i) => i.struct_token.span,
        Item::Trait(i) => i.trait_token.span,
        Item::TraitAlias(i) => i.trait_token.span,
        Item::Type(i) => i.type_token.span,
        Item::Union(i) => i.union_token.span,
        Item::Use(i) => i.use_token.span,
        other => other
            .to_token_stream()
            .into_iter()
            .next()
            .map_or_else(Span::call_site, |t| t.span()),
    }
}

/// What every instrumented function of one attribute shares.
struct Config {
    /// The path of the runtime crate: `::profiler` or the `crate = path` given.
    krate: TokenStream,
}

impl Config {
    fn new(args: &Args) -> Self {
        let krate = match &args.krate {
            Some(path) => path.to_token_stream(),
            None => quote!(::profiler),
        };
        Config { krate }
    }
}

/// Instruments every non-`const` function of an `impl` block. A function that
/// carries its own `#[profile(...)]` is left to that attribute.
fn instrument_impl(mut imp: ItemImpl, config: &Config) -> TokenStream {
    imp.items = std::mem::take(&mut imp.items)
        .into_iter()
        .map(|item| match item {
            ImplItem::Fn(f)
                if f.sig.constness.is_none() && !f.attrs.iter().any(is_profile_attr) =>
            {
                ImplItem::Verbatim(instrument_impl_fn(f, config))
            }
            other => other,
        })
        .collect();
    imp.into_token_stream()
}

/// Whether an attribute is (most likely) `#[profile]` or `#[profiler::profile]`.
fn is_profile_attr(attr: &Attribute) -> bool {
    attr.path()
        .segments
        .last()
        .is_some_and(|s| s.ident == "profile")
}

/// A free function (or a method under its own attribute), instrumented.
fn instrument_item_fn(f: ItemFn, config: &Config, name: Option<&syn::LitStr>) -> TokenStream {
    let ItemFn {
        attrs,
        vis,
        sig,
        block,
    } = f;
    let body = instrument_body(&attrs, &sig, *block, config, name);
    let outer = attrs.iter().filter(|a| is_outer(a));
    quote!(#(#outer)* #vis #sig #body)
}

/// A function of a profiled `impl` block, instrumented.
fn instrument_impl_fn(f: ImplItemFn, config: &Config) -> TokenStream {
    let ImplItemFn {
        attrs,
        vis,
        defaultness,
        sig,
        block,
    } = f;
    let body = instrument_body(&attrs, &sig, block, config, None);
    let outer = attrs.iter().filter(|a| is_outer(a));
    let vis: &Visibility = &vis;
    quote!(#(#outer)* #vis #defaultness #sig #body)
}

/// `#[...]` rather than `#![...]`.
fn is_outer(attr: &Attribute) -> bool {
    matches!(attr.style, AttrStyle::Outer)
}

/// The new body: the original braces, the inner attributes first, then the
/// instrumentation around the original statements.
fn instrument_body(
    attrs: &[Attribute],
    sig: &Signature,
    mut block: Block,
    config: &Config,
    name: Option<&syn::LitStr>,
) -> TokenStream {
    let site = site_expr(sig, config, name);
    let krate = &config.krate;
    let inner = attrs.iter().filter(|a| !is_outer(a));
    let brace = block.brace_token;

    let code = if sig.asyncness.is_some() {
        let user = block.into_token_stream();
        let fake_return = fake_return(sig);
        quote! {
            #krate::__private::Instrumented::new(#site, async move { #fake_return #user }).await
        }
    } else if let Some(fut) = boxed_async_tail(&mut block) {
        // `Box::pin(async move { .. })`, as `#[async_trait]` writes it:
        // instrument the future, not its creation.
        let user = fut.to_token_stream();
        *fut = Expr::Verbatim(quote! {
            #krate::__private::Instrumented::new(#site, #user)
        });
        block.into_token_stream()
    } else {
        let guard = syn::Ident::new("__profiler_guard", Span::mixed_site());
        // A body that is a single expression (`{ 3 }`) is spliced without its
        // braces: kept as a block after the guard, rustc's `unused_braces`
        // would flag the user's braces. With no statements there is nothing
        // that could shadow the generated names.
        let user = match block.stmts.as_slice() {
            [Stmt::Expr(e, None)] => e.to_token_stream(),
            _ => block.into_token_stream(),
        };
        quote! {
            let #guard = #krate::__private::enter(#site);
            #user
        }
    };

    let mut body = TokenStream::new();
    brace.surround(&mut body, |tokens| {
        tokens.append_all(inner);
        tokens.extend(code);
    });
    body
}

/// For an `async fn`: a never-taken `return` of the declared type, first in
/// the `async move` block, so that the block's output is the declared type and
/// every other `return` coerces to it as it did in the function
/// (`return Box::new(1)` in a `-> Box<dyn Display>`), and `?` knows its
/// target. `impl Trait` in the type becomes `_`. (tracing-attributes #1613.)
fn fake_return(sig: &Signature) -> TokenStream {
    let ReturnType::Type(_, ty) = &sig.output else {
        return TokenStream::new();
    };
    let mut ty = (**ty).clone();
    EraseImplTrait.visit_type_mut(&mut ty);
    let var = syn::Ident::new("__profiler_fake_return", Span::mixed_site());
    quote! {
        #[allow(
            unreachable_code,
            clippy::diverging_sub_expression,
            clippy::empty_loop,
            clippy::let_unit_value,
            clippy::unreachable
        )]
        if false {
            let #var: #ty = loop {};
            return #var;
        }
    }
}

/// Replaces `impl Trait` by `_` in a type (it cannot be written in a `let`).
struct EraseImplTrait;

impl VisitMut for EraseImplTrait {
    fn visit_type_mut(&mut self, ty: &mut Type) {
        if let Type::ImplTrait(it) = ty {
            *ty = Type::Infer(TypeInfer {
                underscore_token: Token![_](it.impl_token.span),
            });
        } else {
            visit_mut::visit_type_mut(self, ty);
        }
    }
}

/// A block expression that defines the call site's `static` and evaluates to
/// a `&'static` reference to it. The items live in their own block so that
/// the user's body cannot see (or clash with) them.
fn site_expr(sig: &Signature, config: &Config, name: Option<&syn::LitStr>) -> TokenStream {
    let krate = &config.krate;
    // `line!()` spanned at the function's name reports the function's line,
    // not the attribute's.
    let line = quote_spanned!(sig.ident.span()=> ::core::line!());
    let marker = syn::Ident::new(MARKER, Span::call_site());
    let (marker_fn, site_name) = match name {
        Some(lit) => (
            TokenStream::new(),
            quote!(#krate::__private::SiteName::Literal(#lit)),
        ),
        None => (
            quote! {
                fn #marker() -> &'static str {
                    ::core::any::type_name_of_val(&#marker)
                }
            },
            quote!(#krate::__private::SiteName::Nested(#marker, #MARKER)),
        ),
    };
    quote! {
        {
            #marker_fn
            static __PROFILER_SITE: #krate::__private::Site = #krate::__private::Site::new(
                #site_name,
                ::core::module_path!(),
                ::core::file!(),
                #line,
            )
            .in_crate(::core::option_env!("CARGO_MANIFEST_DIR"));
            &__PROFILER_SITE
        }
    }
}

/// The `async move { .. }` argument of a body whose last expression is
/// `Box::pin(async move { .. })`, if it is one.
fn boxed_async_tail(block: &mut Block) -> Option<&mut Expr> {
    let Some(Stmt::Expr(Expr::Call(call), None)) = block.stmts.last_mut() else {
        return None;
    };
    let Expr::Path(func) = &*call.func else {
        return None;
    };
    if !ends_with_box_pin(&func.path) || call.args.len() != 1 {
        return None;
    }
    let arg = call.args.first_mut()?;
    match arg {
        Expr::Async(ExprAsync {
            capture: Some(_), ..
        }) => Some(arg),
        _ => None,
    }
}

/// Whether a call path is `Box::pin` (or `..::Box::pin`).
fn ends_with_box_pin(path: &Path) -> bool {
    let mut rev = path.segments.iter().rev();
    matches!(
        (rev.next(), rev.next()),
        (Some(pin), Some(boxed)) if pin.ident == "pin" && boxed.ident == "Box"
    )
}

/// `#[main]`: the function with `let _profiler_session =
/// krate::Session::from_env().start();` as its first statement, so the
/// session lives exactly as long as the function body (the guard cannot be
/// dropped at once by mistake, as `let _ = ...start()` does). Accepts only
/// `crate = path`.
pub(crate) fn main(attr: TokenStream, item: TokenStream) -> TokenStream {
    let args = match Args::parse(attr) {
        Ok(a) => a,
        Err(e) => return e.to_compile_error(),
    };
    if let Some(name) = &args.name {
        return syn::Error::new(
            name.key,
            "`#[profiler::main]` takes only `crate = path`: the rows are named by `#[profile]`",
        )
        .to_compile_error();
    }
    let mut f: syn::ItemFn = match syn::parse2(item) {
        Ok(f) => f,
        Err(e) => {
            return syn::Error::new(
                e.span(),
                "`#[profiler::main]` goes on a function (`fn main`)",
            )
            .to_compile_error();
        }
    };
    let krate = match &args.krate {
        Some(p) => quote!(#p),
        None => quote!(::profiler),
    };
    let start: syn::Stmt = syn::parse_quote! {
        let _profiler_session = #krate::Session::from_env().start();
    };
    f.block.stmts.insert(0, start);
    quote!(#f)
}
