//! The expansion keeps the user's tokens, so lints about them still fire
//! where they would without `#[profile]`, and none fires on generated code.
#![deny(dead_code, unused_variables, unused_must_use, unused_mut)]

use profiler::profile;

#[profile]
fn never_called() {}

#[profile]
fn unused_local() {
    let x = 1;
}

#[profile]
#[must_use]
fn important() -> u32 {
    1
}

struct Grid;

#[profile]
impl Grid {
    fn never_used_method(&self) {}

    async fn unused_mut_in_async(&self) {
        let mut y = 2;
        let _ = y;
    }
}

fn main() {
    unused_local();
    important();
    let _ = Grid.unused_mut_in_async();
}
