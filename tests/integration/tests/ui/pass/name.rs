//! `#[profile(name = "...")]` sets the row's name.
#![deny(warnings)]
#![forbid(unsafe_code)]

mod common;

use profiler::profile;

#[profile(name = "solve")]
fn solve_inner(n: u32) -> u32 {
    n * 2
}

struct Solver;

impl Solver {
    #[profile(name = "Solver::run (phase 1)")]
    fn run(&self) -> u32 {
        solve_inner(1)
    }
}

#[profile(name = "async step")]
async fn step() -> u32 {
    3
}

fn main() {
    assert_eq!(Solver.run(), 2);
    assert_eq!(solve_inner(2), 4);
    let mut fut = std::pin::pin!(step());
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    assert_eq!(fut.as_mut().poll(&mut cx), std::task::Poll::Ready(3));

    assert_eq!(common::row("solve").ncalls, 2);
    assert_eq!(common::row("Solver::run (phase 1)").ncalls, 1);
    assert_eq!(common::row("async step").ncalls, 1);
    let p = profiler::snapshot();
    assert!(!p.sites.iter().any(|s| s.name == "solve_inner"));
    let site = p
        .sites
        .iter()
        .find(|s| s.name == "solve")
        .expect("solve site");
    assert!(site.file.ends_with("name.rs"), "{}", site.file);
}
