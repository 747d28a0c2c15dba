//! The profiler built without its `enable` feature: `#[profile]` returns the
//! item unchanged (after checking its arguments) and `profile_scope!` returns
//! a zero-sized guard. The tests check that nothing is recorded.
//!
//! Build it alone (`cargo test -p compiled-out`): in a workspace build, Cargo
//! unifies features and another member turns `enable` back on.

use profiler::profile;

/// A profiled free function.
#[profile]
pub fn fib(n: u32) -> u64 {
    if n < 2 {
        u64::from(n)
    } else {
        fib(n - 1) + fib(n - 2)
    }
}

/// A function with a given row name and a scope inside.
#[profile(name = "solve")]
pub fn solve(xs: &mut [f64]) -> f64 {
    {
        let _g = profiler::profile_scope!("setup");
        for x in xs.iter_mut() {
            *x *= 0.5;
        }
    }
    xs.iter().sum()
}

/// A type whose methods are all profiled.
#[derive(Debug, Default)]
pub struct Grid {
    /// The cells.
    pub cells: Vec<f64>,
}

#[profile(crate = ::profiler)]
impl Grid {
    /// Halves every cell.
    pub fn relax(&mut self) {
        for c in &mut self.cells {
            *c *= 0.5;
        }
    }

    /// Left alone (a `const fn` in a profiled impl block).
    pub const fn empty() -> Self {
        Grid { cells: Vec::new() }
    }
}

/// A profiled `async fn`.
#[profile]
pub async fn fetch(x: u32) -> u32 {
    x + 1
}
