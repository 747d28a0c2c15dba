//! `unsafe fn` and `extern "C" fn` (this file cannot forbid `unsafe_code`).
#![deny(warnings)]

mod common;

use profiler::profile;

/// Reads through a raw pointer.
///
/// # Safety
/// `p` must be valid for reads.
#[profile]
unsafe fn read(p: *const u32) -> u32 {
    // SAFETY: the caller guarantees `p` is valid.
    unsafe { *p }
}

#[profile]
extern "C" fn add(a: i32, b: i32) -> i32 {
    a + b
}

#[profile]
#[unsafe(no_mangle)]
pub extern "C" fn profiler_ui_exported(x: i32) -> i32 {
    x * 2
}

#[profile]
unsafe extern "C" fn read_c(p: *const i32) -> i32 {
    // SAFETY: the caller guarantees `p` is valid.
    unsafe { *p }
}

fn main() {
    let x = 7u32;
    // SAFETY: `&x` is valid.
    assert_eq!(unsafe { read(&x) }, 7);
    let f: extern "C" fn(i32, i32) -> i32 = add;
    assert_eq!(f(2, 3), 5);
    assert_eq!(profiler_ui_exported(4), 8);
    let y = 9i32;
    // SAFETY: `&y` is valid.
    assert_eq!(unsafe { read_c(&y) }, 9);

    assert_eq!(common::row("read").ncalls, 1);
    assert_eq!(common::row("add").ncalls, 1);
    assert_eq!(common::row("profiler_ui_exported").ncalls, 1);
    assert_eq!(common::row("read_c").ncalls, 1);
}
