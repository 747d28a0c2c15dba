//! Quickstart: annotate a few functions, run work on rayon and on a named std
//! thread, and print the report.
//!
//! ```sh
//! PROFILER_OUT=profile-out cargo run --release -p examples --example quickstart
//! ```

use profiler::{SortKey, profile};
use rayon::prelude::*;

/// Naive Fibonacci: the report shows `21891/1` calls for `fib(20)`.
#[profile]
fn fib(n: u32) -> u64 {
    if n < 2 {
        u64::from(n)
    } else {
        fib(n - 1) + fib(n - 2)
    }
}

/// A grid of cells relaxed in place.
struct Grid {
    cells: Vec<f64>,
}

#[profile]
impl Grid {
    fn new(n: usize) -> Self {
        Grid {
            cells: (0..n).map(|i| i as f64).collect(),
        }
    }

    fn relax(&mut self) {
        let n = self.cells.len();
        for i in 1..n.saturating_sub(1) {
            self.cells[i] =
                0.25 * self.cells[i - 1] + 0.5 * self.cells[i] + 0.25 * self.cells[i + 1];
        }
    }
}

/// One item of parallel work, called from rayon's workers.
#[profile]
fn simulate(seed: u64) -> f64 {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut acc = 0.0;
    for _ in 0..20_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        acc += (x >> 11) as f64 / (1u64 << 53) as f64;
    }
    acc
}

#[profile(name = "parallel_phase")]
fn parallel_phase() -> f64 {
    (0..64u64).into_par_iter().map(simulate).sum()
}

#[profile]
fn background_io() -> usize {
    let mut total = 0;
    for i in 0..200 {
        let _g = profiler::profile_scope!("format_record");
        total += format!("record {i}: {}", fib(10)).len();
    }
    total
}

fn main() {
    let _session = profiler::Session::from_env().start();
    // Named threads make the per-thread reports readable.
    rayon::ThreadPoolBuilder::new()
        .thread_name(|i| format!("rayon-{i}"))
        .build_global()
        .expect("configure rayon's global pool");

    let io = std::thread::Builder::new()
        .name("io".into())
        .spawn(background_io)
        .expect("spawn io thread");

    {
        let _g = profiler::profile_scope!("setup");
        println!("fib(20) = {}", fib(20));
    }
    let mut grid = Grid::new(10_000);
    for _ in 0..50 {
        grid.relax();
    }
    println!("parallel sum = {:.3}", parallel_phase());
    println!("io bytes = {}", io.join().expect("io thread"));

    let p = profiler::snapshot();
    print!("{}", p.stats().sort_by(SortKey::Cumulative).limit(15));
    if let Some(dir) = std::env::var_os(profiler::ENV_OUT) {
        println!("reports: {}", std::path::Path::new(&dir).display());
    }
}
