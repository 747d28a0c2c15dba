use profiler::profile;

trait Solve {
    #[profile]
    fn step(&self) -> u32;
}

impl Solve for u32 {
    fn step(&self) -> u32 {
        *self
    }
}

fn main() {
    assert_eq!(1.step(), 1);
}
