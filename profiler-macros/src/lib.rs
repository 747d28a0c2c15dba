//! The `#[profile]` attribute of the `profiler` crate.
//!
//! Use it through `profiler::profile`, which carries the user documentation;
//! this crate is an implementation detail. The generated code reaches the
//! runtime only through `profiler::__private` (or `path::__private` with
//! `#[profile(crate = path)]`).
//!
//! - `args.rs` parses the arguments (`name = "..."`, `crate = path`);
//! - `expand.rs` checks the item and generates the instrumentation.
//!
//! With the `enable` feature off (the `profiler` crate built without its own
//! `enable`), the arguments and the item are still checked, and the item is
//! returned unchanged.

mod args;
mod expand;

use proc_macro::TokenStream;

/// Instruments a function, a method, or every function of an `impl` block.
///
/// See `profiler::profile` for the documentation and examples.
#[proc_macro_attribute]
pub fn profile(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand::profile(attr.into(), item.into()).into()
}

/// Profiles a whole program: starts a session from the environment at the
/// top of the function (usually `main`) and keeps its guard until the
/// function returns.
///
/// See `profiler::main` for the documentation and examples.
#[proc_macro_attribute]
pub fn main(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand::main(attr.into(), item.into()).into()
}
