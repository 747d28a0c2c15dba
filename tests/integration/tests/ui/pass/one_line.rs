//! Regression: a one-line body (`{ 3 }`) was kept as a block after the
//! guard, and rustc's `unused_braces` broke `-D warnings` builds.
#![deny(warnings)]
#![forbid(unsafe_code)]

mod common;

use profiler::profile;

#[profile]
fn three() -> u64 {
    3
}

struct Wrapper(u32);

#[profile]
impl Wrapper {
    fn get(&self) -> u32 {
        self.0
    }
}

#[profile]
fn unit() {}

fn main() {
    assert_eq!(three(), 3);
    assert_eq!(Wrapper(7).get(), 7);
    unit();
    assert_eq!(common::row("three").ncalls, 1);
    assert_eq!(common::row("Wrapper::get").ncalls, 1);
    assert_eq!(common::row("unit").ncalls, 1);
}
