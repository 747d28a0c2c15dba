//! The `#[profile]` attribute of the `profiler` crate (stub, being written).
use proc_macro::TokenStream;

/// Instruments a function (stub).
#[proc_macro_attribute]
pub fn profile(_attr: TokenStream, item: TokenStream) -> TokenStream {
    item
}
