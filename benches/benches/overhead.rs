//! Cost of one instrumented call (enter + exit) against raw clock reads.
//!
//! Every case times a tiny `#[inline(never)]` function; what matters is the
//! difference between cases measured in the same run:
//!
//! - `floor_empty`: the bare call;
//! - `floor_two_tsc`: the call plus two `rdtsc` reads (the target's unit);
//! - `floor_two_instant`: the call plus two `Instant::now()` reads;
//! - `profiled_enabled`: the call inside a `profile_scope!`;
//! - `profiled_disabled`: the same with recording turned off at run time;
//! - `profiled_while_snapshotting`: enabled while another thread takes snapshots.
//!
//! Each runs on 1 thread and on 2 threads at once. Run with
//! `cargo bench -p benches --bench overhead`. The side-by-side table with the
//! peer profilers, timeline recording and the compiled-out case is the
//! `peers` bench (`cargo bench -p benches --features peers --bench peers`).

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use divan::Bencher;

fn main() {
    // Register the site, the thread and the clock before any timing.
    profiled_work(1);
    divan::main();
}

const THREADS: &[usize] = &[1, 2];

#[inline(never)]
fn work(x: u64) -> u64 {
    black_box(x).wrapping_mul(3)
}

#[inline(never)]
fn profiled_work(x: u64) -> u64 {
    let _g = profiler::profile_scope!("bench.work");
    black_box(x).wrapping_mul(3)
}

#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn tsc() -> u64 {
    // SAFETY: `rdtsc` has no preconditions on x86-64.
    unsafe { core::arch::x86_64::_rdtsc() }
}

#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
fn tsc() -> u64 {
    0
}

#[inline(never)]
fn tsc_work(x: u64) -> u64 {
    let a = tsc();
    let r = black_box(x).wrapping_mul(3);
    let b = tsc();
    black_box(b.wrapping_sub(a));
    r
}

#[inline(never)]
fn instant_work(x: u64) -> u64 {
    let a = Instant::now();
    let r = black_box(x).wrapping_mul(3);
    black_box(a.elapsed());
    r
}

#[divan::bench(threads = THREADS)]
fn floor_empty(b: Bencher<'_, '_>) {
    b.bench(|| work(black_box(7)));
}

#[divan::bench(threads = THREADS)]
fn floor_two_tsc(b: Bencher<'_, '_>) {
    b.bench(|| tsc_work(black_box(7)));
}

#[divan::bench(threads = THREADS)]
fn floor_two_instant(b: Bencher<'_, '_>) {
    b.bench(|| instant_work(black_box(7)));
}

/// A fixed sample size: on 2 threads, the second thread's first call is
/// timed (divan's worker registers its recorder then, tens of
/// microseconds), and divan's own choice of sample size, made from that
/// call, was then 100 calls, so that its barrier between the threads'
/// samples (a few microseconds) was most of every sample.
#[divan::bench(threads = THREADS, sample_size = 12800)]
fn profiled_enabled(b: Bencher<'_, '_>) {
    profiler::set_enabled(true);
    profiled_work(1); // this thread's first call registers it
    b.bench(|| profiled_work(black_box(7)));
}

#[divan::bench(threads = THREADS)]
fn profiled_disabled(b: Bencher<'_, '_>) {
    profiler::set_enabled(false);
    b.bench(|| profiled_work(black_box(7)));
    profiler::set_enabled(true);
}

#[divan::bench(threads = THREADS)]
fn profiled_while_snapshotting(b: Bencher<'_, '_>) {
    profiler::set_enabled(true);
    static STOP: AtomicBool = AtomicBool::new(false);
    STOP.store(false, Ordering::Relaxed);
    let snapshotter = std::thread::Builder::new()
        .name("snapshotter".into())
        .spawn(|| {
            let mut n = 0u64;
            while !STOP.load(Ordering::Relaxed) {
                n += black_box(profiler::snapshot()).threads.len() as u64;
            }
            n
        })
        .unwrap();
    b.bench(|| profiled_work(black_box(7)));
    STOP.store(true, Ordering::Relaxed);
    black_box(snapshotter.join().unwrap());
}
