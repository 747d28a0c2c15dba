use profiler::profile;

#[profile]
pub struct Grid {
    cells: Vec<f64>,
}

#[profile]
enum Mode {
    Fast,
}

#[profile]
trait Solve {
    fn step(&self);
}

fn main() {
    let g = Grid { cells: vec![1.0] };
    let _ = (g.cells.len(), Mode::Fast);
}
