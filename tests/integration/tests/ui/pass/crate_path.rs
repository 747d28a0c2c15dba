//! `#[profile(crate = path)]`: the generated code reaches the runtime through
//! `path::__private`, as a crate that re-exports `profiler` needs.
#![deny(warnings)]
#![forbid(unsafe_code)]

mod common;

use std::sync::atomic::{AtomicU32, Ordering};

/// A crate that re-exports the profiler (as a framework would).
mod framework {
    pub use ::profiler;
}

/// A stand-in runtime that counts the entries, to prove that the path given
/// is the one the expansion uses.
mod counting {
    pub mod __private {
        use std::sync::atomic::Ordering;

        pub use ::profiler::__private::{Instrumented, Site, SiteName};

        pub fn enter(site: &'static Site) -> ::profiler::Guard {
            super::super::ENTERED.fetch_add(1, Ordering::Relaxed);
            ::profiler::__private::enter(site)
        }
    }
}

static ENTERED: AtomicU32 = AtomicU32::new(0);

#[framework::profiler::profile(crate = framework::profiler)]
fn through_reexport() -> u32 {
    1
}

#[profiler::profile(crate = crate::counting)]
fn counted() -> u32 {
    2
}

#[profiler::profile(crate = crate::counting, name = "counted async")]
async fn counted_async() -> u32 {
    3
}

struct S;

#[profiler::profile(crate = ::profiler)]
impl S {
    fn m(&self) -> u32 {
        4
    }
}

fn main() {
    assert_eq!(through_reexport(), 1);
    assert_eq!(counted() + counted(), 4);
    assert_eq!(ENTERED.load(Ordering::Relaxed), 2);
    let mut fut = std::pin::pin!(counted_async());
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    assert_eq!(fut.as_mut().poll(&mut cx), std::task::Poll::Ready(3));
    assert_eq!(S.m(), 4);

    assert_eq!(common::row("through_reexport").ncalls, 1);
    assert_eq!(common::row("counted").ncalls, 2);
    assert_eq!(common::row("counted async").ncalls, 1);
    assert_eq!(common::row("S::m").ncalls, 1);
}
