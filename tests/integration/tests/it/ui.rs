//! Compile tests of `#[profile]` (trybuild).
//!
//! - `ui/pass/*.rs` must compile under `#![deny(warnings)]` (and
//!   `#![forbid(unsafe_code)]` where the shape allows) and then run: each
//!   checks the rows it recorded.
//! - `ui/fail/*.rs` must fail with the errors in the `.stderr` file next to
//!   it. After a deliberate change of a message, regenerate them with
//!   `TRYBUILD=overwrite cargo test -p integration --test it -- ui::ui` and read
//!   the diff.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/fail/*.rs");
}
