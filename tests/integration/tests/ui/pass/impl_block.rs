//! `#[profile]` on an `impl` block instruments every function in it, inherent
//! or trait impl; a `const fn` there is left alone, and a function with its
//! own `#[profile(...)]` is left to that attribute.
#![deny(warnings)]
#![forbid(unsafe_code)]

mod common;

use profiler::profile;

struct Grid {
    cells: Vec<f64>,
}

#[profile]
impl Grid {
    const fn empty() -> Self {
        Grid { cells: Vec::new() }
    }

    fn with(n: usize) -> Self {
        Grid {
            cells: vec![1.0; n],
        }
    }

    /// Halves every cell.
    fn relax(&mut self) {
        for c in &mut self.cells {
            *c *= 0.5;
        }
    }

    #[profile(name = "Grid::total (renamed)")]
    fn total(&self) -> f64 {
        self.cells.iter().sum()
    }
}

trait Shape {
    fn area(&self) -> f64;
    fn name(&self) -> String {
        "shape".into()
    }
}

#[profile]
impl Shape for Grid {
    fn area(&self) -> f64 {
        self.cells.len() as f64
    }

    fn name(&self) -> String {
        "grid".into()
    }
}

const EMPTY: Grid = Grid::empty();

fn main() {
    assert!(EMPTY.cells.is_empty());
    let mut g = Grid::with(4);
    g.relax();
    assert_eq!(g.total(), 2.0);
    assert_eq!(g.area(), 4.0);
    assert_eq!(g.name(), "grid");

    assert_eq!(common::row("Grid::with").ncalls, 1);
    assert_eq!(common::row("Grid::relax").ncalls, 1);
    assert_eq!(common::row("Grid::total (renamed)").ncalls, 1);
    assert_eq!(common::row("<Grid as Shape>::area").ncalls, 1);
    assert_eq!(common::row("<Grid as Shape>::name").ncalls, 1);
    let p = profiler::snapshot();
    assert!(!p.sites.iter().any(|s| s.name.contains("empty")));
    assert!(!p.sites.iter().any(|s| s.name == "Grid::total"));
}
