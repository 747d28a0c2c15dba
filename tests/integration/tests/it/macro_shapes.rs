//! Odd-but-legal shapes under `#[profile]` (divan's "weird_usage" test): each
//! must compile unchanged in meaning and record the expected calls.
//!
//! Every test uses its own functions, so the tests may run in parallel in one
//! process: the assertions only look at their own rows.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use integration::spin;
use profiler::{Figures, Profile, profile};

/// The figures of the row called `name`, aggregated over all threads.
fn row(p: &Profile, name: &str) -> Figures {
    let stats = p.stats();
    let rows: Vec<Figures> = stats
        .functions()
        .iter()
        .filter(|f| p.sites[f.site as usize].name == name)
        .map(|f| f.figures)
        .collect();
    assert_eq!(
        rows.len(),
        1,
        "expected one row named {name:?}: {:#?}",
        p.sites
    );
    rows[0]
}

fn ncalls(name: &str) -> u64 {
    row(&profiler::snapshot(), name).ncalls
}

// --- Generated names cannot clash with the user's -----------------------------

#[profile]
fn local_named_like_the_guard(x: u32) -> u32 {
    let __profiler_guard = x + 1;
    let __profiler_name = __profiler_guard * 2;
    __profiler_name + __profiler_guard - x - 1
}

#[profile]
fn param_named_like_the_guard(__profiler_guard: u32) -> u32 {
    __profiler_guard + 1
}

#[profile]
fn items_named_like_the_generated_ones() -> usize {
    use std::collections::HashMap as __PROFILER_SITE;
    fn __profiler_name() -> &'static str {
        "user's own"
    }
    let m: __PROFILER_SITE<u8, u8> = __PROFILER_SITE::new();
    m.len() + __profiler_name().len()
}

#[profile]
fn shadows_its_arguments(x: u32, y: u32) -> u32 {
    let x = x * 10;
    let y = y + x;
    let x = "now a string";
    y + x.len() as u32
}

#[test]
fn generated_names_do_not_clash_with_user_names() {
    assert_eq!(local_named_like_the_guard(1), 4);
    assert_eq!(param_named_like_the_guard(1), 2);
    assert_eq!(items_named_like_the_generated_ones(), 10);
    assert_eq!(shadows_its_arguments(1, 2), 24);
    assert_eq!(ncalls("local_named_like_the_guard"), 1);
    assert_eq!(ncalls("param_named_like_the_guard"), 1);
    assert_eq!(ncalls("items_named_like_the_generated_ones"), 1);
    assert_eq!(ncalls("shadows_its_arguments"), 1);
}

// --- Nesting -------------------------------------------------------------------

#[profile]
fn nest_outer(n: u32) -> u32 {
    #[profile]
    fn nest_inner(n: u32) -> u32 {
        n + 1
    }
    (0..n).map(nest_inner).sum()
}

fn plain_host() -> u32 {
    #[profile]
    fn hosted() -> u32 {
        7
    }
    hosted() + hosted()
}

fn host_of_a_type() -> u32 {
    struct Local(u32);
    #[profile]
    impl Local {
        fn get(&self) -> u32 {
            self.0
        }
    }
    Local(5).get()
}

#[test]
fn profiled_fns_nested_in_fns_are_named_by_their_own_name() {
    assert_eq!(nest_outer(3), 6);
    assert_eq!(plain_host(), 14);
    assert_eq!(host_of_a_type(), 5);
    let p = profiler::snapshot();
    assert_eq!(row(&p, "nest_outer").ncalls, 1);
    assert_eq!(row(&p, "nest_inner").ncalls, 3);
    assert_eq!(row(&p, "hosted").ncalls, 2);
    // Like cProfile's names of nested Python functions: the enclosing
    // function is not part of the name (the file and line tell them apart).
    assert_eq!(row(&p, "Local::get").ncalls, 1);
    // The inner rows are the outer's callees.
    let stats = p.stats();
    let outer = stats
        .functions()
        .iter()
        .find(|f| p.sites[f.site as usize].name == "nest_outer")
        .expect("nest_outer row");
    assert!(
        outer
            .callees
            .iter()
            .any(|(s, fig)| p.sites[*s as usize].name == "nest_inner" && fig.ncalls == 3)
    );
}

// --- Control flow ----------------------------------------------------------------

#[profile]
fn closure_returns(x: u32) -> u32 {
    let f = |v: u32| {
        if v > 2 {
            return v * 2;
        }
        v
    };
    // `return` inside the closure leaves the closure, not the function.
    f(x) + f(1)
}

#[profile]
fn early_return(x: u32) -> Result<u32, String> {
    if x == 0 {
        return Err("zero".into());
    }
    let parsed: u32 = format!("{x}").parse().map_err(|_| "bad".to_string())?;
    let checked = parsed.checked_mul(2).ok_or("overflow")?;
    Ok(checked)
}

#[profile]
fn panics_sometimes(x: u32) -> u32 {
    assert!(x != 13, "unlucky");
    x
}

#[test]
fn every_exit_closes_the_scope() {
    assert_eq!(closure_returns(3), 7);
    assert_eq!(early_return(0), Err("zero".into()));
    assert_eq!(early_return(u32::MAX), Err("overflow".into()));
    assert_eq!(early_return(4), Ok(8));
    assert_eq!(panics_sometimes(1), 1);
    let unwound = std::panic::catch_unwind(|| panics_sometimes(13));
    assert!(unwound.is_err());
    assert_eq!(ncalls("closure_returns"), 1);
    assert_eq!(ncalls("early_return"), 3);
    assert_eq!(ncalls("panics_sometimes"), 2);
}

// --- Argument shapes and receivers -------------------------------------------------

#[profile]
fn tuple_pattern((a, b): (u32, u32), [c, d]: [u32; 2], Wrapper(e): Wrapper) -> u32 {
    a + b + c + d + e
}

struct Wrapper(u32);

#[profile]
fn first_of<'a>(v: &'a [u32], _other: &[u32]) -> &'a u32 {
    &v[0]
}

#[profile]
fn longest<'a, 'b: 'a>(a: &'a str, b: &'b str) -> &'a str {
    if a.len() >= b.len() { a } else { b }
}

struct Counter {
    n: u32,
}

#[profile]
impl Counter {
    fn bumped(mut self) -> Self {
        self.n += 1;
        self
    }

    #[expect(clippy::boxed_local, reason = "the receiver's shape is what is tested")]
    fn boxed(self: Box<Self>) -> u32 {
        self.n
    }

    fn by_ref_mut(&mut self) -> &mut u32 {
        &mut self.n
    }
}

#[test]
fn argument_patterns_and_receivers() {
    assert_eq!(tuple_pattern((1, 2), [3, 4], Wrapper(5)), 15);
    let v = vec![9, 8];
    let r = first_of(&v, &[1]);
    assert_eq!(*r, 9);
    assert_eq!(longest("ab", "c"), "ab");
    let mut c = Counter { n: 1 }.bumped();
    *c.by_ref_mut() += 10;
    assert_eq!(Box::new(c).boxed(), 12);
    let p = profiler::snapshot();
    for name in [
        "tuple_pattern",
        "first_of",
        "longest",
        "Counter::bumped",
        "Counter::boxed",
        "Counter::by_ref_mut",
    ] {
        assert_eq!(row(&p, name).ncalls, 1, "{name}");
    }
}

// --- Location --------------------------------------------------------------------

const LOCATED_LINE: u32 = line!() + 4;
#[profile]
/// The reported line is the function's, not the attribute's.
#[inline(never)]
fn located() {}

#[test]
fn the_site_is_at_the_function_name() {
    located();
    let p = profiler::snapshot();
    let site = p
        .sites
        .iter()
        .find(|s| s.name == "located")
        .expect("located site");
    assert_eq!(site.line, LOCATED_LINE);
    assert!(site.file.ends_with("macro_shapes.rs"), "{}", site.file);
    assert_eq!(site.module, "it::macro_shapes");
}

// --- async fn moving between threads -------------------------------------------------

#[profile]
async fn migrating(x: u32) -> u32 {
    spin(Duration::from_millis(2));
    integration::YieldOnce(false).await;
    spin(Duration::from_millis(2));
    x + 1
}

fn poll_once<F: Future + ?Sized>(fut: Pin<&mut F>) -> Poll<F::Output> {
    fut.poll(&mut Context::from_waker(Waker::noop()))
}

#[test]
fn async_fn_moves_between_threads_between_polls() {
    let mut fut: Pin<Box<dyn Future<Output = u32> + Send>> = Box::pin(migrating(41));
    let mut fut = std::thread::Builder::new()
        .name("first-poll".into())
        .spawn(move || {
            assert!(poll_once(fut.as_mut()).is_pending());
            fut
        })
        .unwrap()
        .join()
        .unwrap();
    let out = std::thread::Builder::new()
        .name("second-poll".into())
        .spawn(move || match poll_once(fut.as_mut()) {
            Poll::Ready(v) => v,
            Poll::Pending => panic!("the second poll should finish"),
        })
        .unwrap()
        .join()
        .unwrap();
    assert_eq!(out, 42);

    let p = profiler::snapshot();
    let figures = row(&p, "migrating");
    assert_eq!(figures.ncalls, 1, "one invocation, two polls");
    // Both polls' busy time is recorded (2 ms each).
    assert!(figures.cumtime_ns >= 3_000_000, "{figures:?}");
    let site = p.sites.iter().position(|s| s.name == "migrating").unwrap() as u32;
    for (thread, calls) in [("first-poll", 1), ("second-poll", 0)] {
        let t = p
            .threads
            .iter()
            .find(|t| t.name == thread)
            .unwrap_or_else(|| panic!("thread {thread} recorded nothing"));
        let node = t
            .nodes
            .iter()
            .find(|n| n.site == site)
            .unwrap_or_else(|| panic!("no node for the async fn on {thread}"));
        assert_eq!(node.calls, calls, "{thread}");
        assert!(node.time_ns >= 1_500_000, "{thread}: {node:?}");
    }
}

// --- async returns that need coercion ------------------------------------------------

#[profile]
async fn boxed_display(flag: bool) -> Box<dyn std::fmt::Display> {
    // Each `return` coerces to the declared type, as without `#[profile]`.
    if flag {
        return Box::new(1);
    }
    Box::new("two")
}

#[profile]
async fn display_impl(flag: bool) -> impl std::fmt::Display {
    if flag {
        return String::from("one");
    }
    "two".to_string()
}

#[profile]
async fn parse_twice(a: &str, b: &str) -> Result<u32, Box<dyn std::error::Error>> {
    // `?` converts into the declared error type.
    let a: u32 = a.parse()?;
    let b: f64 = b.parse()?;
    Ok(a + b as u32)
}

fn ready<T>(fut: impl Future<Output = T>) -> T {
    let mut fut = std::pin::pin!(fut);
    match poll_once(fut.as_mut()) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("expected a ready future"),
    }
}

#[test]
fn async_returns_coerce_to_the_declared_type() {
    assert_eq!(ready(boxed_display(true)).to_string(), "1");
    assert_eq!(ready(boxed_display(false)).to_string(), "two");
    assert_eq!(ready(display_impl(true)).to_string(), "one");
    assert_eq!(ready(parse_twice("1", "2.5")).unwrap(), 3);
    assert!(ready(parse_twice("x", "2")).is_err());
    let p = profiler::snapshot();
    assert_eq!(row(&p, "boxed_display").ncalls, 2);
    assert_eq!(row(&p, "display_impl").ncalls, 1);
    assert_eq!(row(&p, "parse_twice").ncalls, 2);
}
