//! Resident memory against the number of profiled calls: the same call paths
//! (12 calls per iteration over 10 call paths, recursion included) are
//! called from 1 million to 100 million times, and the process's resident
//! set (`VmRSS` in `/proc/self/status`) is printed at each checkpoint. The
//! recorder keeps one node per call path, so it must stay flat; the bench
//! fails if it grows by more than [`TOLERANCE_KIB`] from the first checkpoint
//! to the last, or if a snapshot does not count every call.
//!
//! Run with `cargo bench -p benches --bench memory`
//! (`MEMORY_MAX_CALLS=n` lowers the last checkpoint).

use std::hint::black_box;
use std::time::Instant;

use benches::proc_status_kib;
use profiler::profile;

/// Allowed growth of the resident set between the first and last checkpoint.
const TOLERANCE_KIB: u64 = 256;
/// Calls per iteration of [`root`].
const CALLS_PER_ITERATION: u64 = 12;
/// Checkpoints, in calls.
const CHECKPOINTS: [u64; 7] = [
    1_000_000,
    2_000_000,
    5_000_000,
    10_000_000,
    20_000_000,
    50_000_000,
    100_000_000,
];

#[profile]
#[inline(never)]
fn leaf(x: u64) -> u64 {
    black_box(x).wrapping_mul(3)
}

#[profile]
#[inline(never)]
fn a(x: u64) -> u64 {
    leaf(x) ^ leaf(x + 1)
}

#[profile]
#[inline(never)]
fn rec(depth: u32, x: u64) -> u64 {
    if depth == 0 {
        black_box(x)
    } else {
        rec(depth - 1, x.wrapping_add(1))
    }
}

#[profile]
#[inline(never)]
fn b(x: u64) -> u64 {
    a(x) ^ rec(3, x)
}

/// One iteration: root, a, leaf x2, b, a, leaf x2, rec x4 = 12 calls.
#[profile]
#[inline(never)]
fn root(x: u64) -> u64 {
    a(x) ^ b(x)
}

/// Calls recorded on this thread, and its number of call paths.
fn recorded() -> (u64, usize) {
    let p = profiler::snapshot();
    let me = std::thread::current();
    let name = me.name().unwrap_or("<unnamed>");
    let t = p
        .threads
        .iter()
        .find(|t| t.name == name)
        .expect("this thread recorded");
    (t.nodes.iter().map(|n| n.calls).sum(), t.nodes.len())
}

fn main() {
    let max_calls = std::env::var("MEMORY_MAX_CALLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(u64::MAX);
    let checkpoints: Vec<u64> = CHECKPOINTS
        .iter()
        .copied()
        .filter(|&c| c <= max_calls)
        .collect();

    // One iteration and a snapshot first, so that the allocator has already
    // served a snapshot of this tree's size before the first checkpoint.
    let mut acc = root(0);
    let mut iterations = 1u64;
    let _ = recorded();

    println!("\nresident memory against profiled calls (same call paths throughout)\n");
    println!(
        "|       calls | VmRSS KiB | growth KiB | paths | calls recorded | ns per call (with the work)"
    );
    println!(
        "|-------------|-----------|------------|-------|----------------|----------------------------"
    );
    let mut first_rss = None;
    let mut last_rss = 0;
    let mut ok = true;
    for &target in &checkpoints {
        let goal = target.div_ceil(CALLS_PER_ITERATION);
        let t0 = Instant::now();
        let start_iterations = iterations;
        while iterations < goal {
            acc ^= root(black_box(iterations));
            iterations += 1;
        }
        let ns = t0.elapsed().as_nanos() as f64
            / ((iterations - start_iterations).max(1) * CALLS_PER_ITERATION) as f64;
        let rss = proc_status_kib("VmRSS").expect("VmRSS in /proc/self/status");
        let first = *first_rss.get_or_insert(rss);
        last_rss = rss;
        let calls = iterations * CALLS_PER_ITERATION;
        let (seen, paths) = recorded();
        ok &= seen == calls;
        println!(
            "| {calls:>11} | {rss:>9} | {:>10} | {paths:>5} | {seen:>14} | {ns:>10.1}",
            rss as i64 - first as i64
        );
    }
    black_box(acc);
    let growth = last_rss.saturating_sub(first_rss.unwrap_or(last_rss));
    println!(
        "\ngrowth from the first to the last checkpoint: {growth} KiB (tolerance {TOLERANCE_KIB} KiB); \
         peak resident (VmHWM): {} KiB",
        proc_status_kib("VmHWM").unwrap_or(0)
    );
    if !ok {
        eprintln!("FAILED: a snapshot did not count every call");
        std::process::exit(1);
    }
    if growth > TOLERANCE_KIB {
        eprintln!("FAILED: resident memory grew with the number of calls");
        std::process::exit(1);
    }
}
