//! A free function: doc comments, `#[track_caller]` and inner attributes kept.
#![deny(warnings)]
#![forbid(unsafe_code)]

mod common;

use profiler::profile;

/// Adds one.
///
/// The doc comment stays on the function (`missing_docs` would see it).
#[profile]
#[must_use]
pub fn add_one(x: u64) -> u64 {
    x + 1
}

#[profile]
fn with_inner_attributes() -> u32 {
    // Without the inner attribute, `unused` under `deny(warnings)` fails.
    #![allow(unused_variables)]
    let unused = 5;
    3
}

#[profile]
#[track_caller]
fn where_am_i_called() -> u32 {
    std::panic::Location::caller().line()
}

#[profile]
fn recursive(n: u32) -> u32 {
    if n == 0 { 0 } else { 1 + recursive(n - 1) }
}

fn main() {
    assert_eq!(add_one(1), 2);
    assert_eq!(with_inner_attributes(), 3);
    let (called, line) = (where_am_i_called(), line!());
    assert_eq!(
        called, line,
        "#[track_caller] must see through the instrumentation"
    );
    assert_eq!(recursive(4), 4);

    assert_eq!(common::row("add_one").ncalls, 1);
    assert_eq!(common::row("with_inner_attributes").ncalls, 1);
    assert_eq!(common::row("where_am_i_called").ncalls, 1);
    let rec = common::row("recursive");
    assert_eq!((rec.ncalls, rec.pcalls), (5, 1));
}
