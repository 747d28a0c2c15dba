//! Methods and associated functions are named `Type::method`.
#![deny(warnings)]
#![forbid(unsafe_code)]

mod common;

use profiler::profile;

struct Grid {
    cells: Vec<f64>,
}

impl Grid {
    #[profile]
    fn new(n: usize) -> Self {
        Grid {
            cells: vec![1.0; n],
        }
    }

    #[profile]
    fn relax(&mut self) {
        for c in &mut self.cells {
            *c *= 0.5;
        }
    }

    #[profile]
    fn sum(&self) -> f64 {
        self.cells.iter().sum()
    }

    #[profile]
    fn into_cells(self) -> Vec<f64> {
        self.cells
    }
}

fn main() {
    let mut g = Grid::new(4);
    g.relax();
    g.relax();
    assert_eq!(g.sum(), 1.0);
    assert_eq!(g.into_cells().len(), 4);

    assert_eq!(common::row("Grid::new").ncalls, 1);
    assert_eq!(common::row("Grid::relax").ncalls, 2);
    assert_eq!(common::row("Grid::sum").ncalls, 1);
    assert_eq!(common::row("Grid::into_cells").ncalls, 1);
}
