use profiler::profile;

#[profile]
const fn square(x: u32) -> u32 {
    x * x
}

fn main() {
    // The function is still emitted: only the attribute's error is reported.
    const NINE: u32 = square(3);
    assert_eq!(NINE, 9);
}
