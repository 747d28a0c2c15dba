use profiler::profile;

struct Grid;

#[profile(name = "grid")]
impl Grid {
    fn relax(&self) {}
}

fn main() {
    Grid.relax();
}
