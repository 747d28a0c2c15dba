//! Test program (issue 17, item 9): profiled calls and no session. With
//! `PROFILER_OUT` set, the profiler says at exit that nothing was written.

#[profiler::profile]
fn work(n: u64) -> u64 {
    (0..n).map(std::hint::black_box).sum()
}

fn main() {
    println!("{}", work(1000));
}
