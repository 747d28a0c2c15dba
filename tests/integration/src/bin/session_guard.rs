//! Test program for the session's guard (issue 17, item 9). `attr`: main
//! under `#[profiler::main]` calls `work` 7 times. `dropped`: a session
//! whose guard is dropped at once (`let _ = ...start()`), then the calls.

#[profiler::profile]
fn work(n: u64) -> u64 {
    (0..n).map(std::hint::black_box).sum()
}

fn calls() -> u64 {
    (0..7).map(|i| work(1000 + i)).sum()
}

#[profiler::main]
fn main() {
    let mode = std::env::args().nth(1).unwrap_or_default();
    if mode == "dropped" {
        // The mistake: the guard is dropped on this line.
        let out = std::env::var("DROPPED_OUT").expect("DROPPED_OUT");
        let _ = profiler::Session::new().output_dir(out).start();
    }
    println!("{}", calls());
}
