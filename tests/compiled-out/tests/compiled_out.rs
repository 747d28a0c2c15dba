//! With `enable` off, profiled code runs unchanged and records nothing.

use std::pin::pin;
use std::task::{Context, Poll, Waker};

use compiled_out::{Grid, fetch, fib, solve};

#[test]
fn guards_are_zero_sized() {
    assert_eq!(std::mem::size_of::<profiler::Guard>(), 0);
    let g = profiler::profile_scope!("scope");
    assert_eq!(std::mem::size_of_val(&g), 0);
}

#[test]
fn nothing_is_recorded() {
    assert_eq!(fib(15), 610);
    let mut xs = [2.0, 4.0];
    assert_eq!(solve(&mut xs), 3.0);
    let mut g = Grid {
        cells: vec![1.0; 4],
    };
    g.relax();
    assert_eq!(g.cells, [0.5; 4]);
    assert!(Grid::empty().cells.is_empty());
    let mut fut = pin!(fetch(1));
    assert_eq!(
        fut.as_mut().poll(&mut Context::from_waker(Waker::noop())),
        Poll::Ready(2)
    );
    {
        let _g = profiler::profile_scope!("block");
    }

    let p = profiler::snapshot();
    assert!(p.sites.is_empty(), "sites: {:?}", p.sites);
    assert!(p.threads.is_empty(), "threads: {:?}", p.threads);
    assert_eq!(p.stats().total_calls(), 0);
}

/// The arguments and the item are still checked without `enable`: the same
/// errors as with it.
#[test]
fn attribute_errors_are_still_reported() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/fail/*.rs");
}
