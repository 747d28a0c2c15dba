//! The hot path under an instruction counter: `CALLS` calls of a tiny
//! `#[inline(never)]` function with a profiled scope, and as many of the same
//! function without one. Run it under callgrind to count the instructions
//! one profiled call adds (the issue's "Ir per call"):
//!
//! ```sh
//! cargo bench -p benches --bench hot_path --no-run
//! valgrind --tool=callgrind --callgrind-out-file=hot.out \
//!     target/release/deps/hot_path-<hash> --bench
//! callgrind_annotate --inclusive=yes hot.out | grep -E 'loop_(plain|profiled)'
//! ```
//!
//! (Ir of `loop_profiled` - Ir of `loop_plain`) / `CALLS` is the cost of one
//! profiled call's enter and exit in instructions. Natively, it prints
//! nanoseconds per call of both loops (no target: see `peers`).

use std::hint::black_box;
use std::time::Instant;

/// Calls per loop.
const CALLS: u64 = 1_000_000;

#[inline(never)]
fn plain(x: u64) -> u64 {
    black_box(x).wrapping_mul(3)
}

#[inline(never)]
fn profiled(x: u64) -> u64 {
    let _g = profiler::profile_scope!("hot_path.profiled");
    black_box(x).wrapping_mul(3)
}

#[inline(never)]
fn loop_plain() -> u64 {
    let mut acc = 0;
    for i in 0..CALLS {
        acc ^= plain(black_box(i));
    }
    acc
}

#[inline(never)]
fn loop_profiled() -> u64 {
    let mut acc = 0;
    for i in 0..CALLS {
        acc ^= profiled(black_box(i));
    }
    acc
}

fn main() {
    // Only `cargo bench` runs it: `cargo test --benches` passes no `--bench`.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    // The recorder and the clock are set up before the loops.
    drop(profiler::profile_scope!("hot_path.warm_up"));
    let t = Instant::now();
    black_box(loop_plain());
    let plain_ns = t.elapsed().as_nanos() as f64 / CALLS as f64;
    let t = Instant::now();
    black_box(loop_profiled());
    let profiled_ns = t.elapsed().as_nanos() as f64 / CALLS as f64;
    let p = profiler::snapshot();
    let recorded: u64 = p
        .threads
        .iter()
        .flat_map(|t| &t.nodes)
        .filter(|n| p.sites[n.site as usize].name == "hot_path.profiled")
        .map(|n| n.calls)
        .sum();
    assert_eq!(
        recorded, CALLS,
        "the profiled loop's calls were not all recorded"
    );
    println!(
        "{CALLS} calls: plain {plain_ns:.2} ns/call, profiled {profiled_ns:.2} ns/call \
         (+{:.2} ns)",
        profiled_ns - plain_ns
    );
}
