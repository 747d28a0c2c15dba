use profiler::profile;

#[profile]
const fn square(x: u32) -> u32 {
    x * x
}

#[profile]
struct Grid;

#[profile(nme = "solve")]
fn solve() {}

#[profile(name = 5)]
fn numbered() {}

struct S;

#[profile(name = "s")]
impl S {
    fn m(&self) {}
}

fn main() {
    let _ = (square(2), Grid);
    solve();
    numbered();
    S.m();
}
