//! The cost of one `tracing` span (`info_span!("work").entered()` around a
//! tiny `#[inline(never)]` body) under each subscriber, side by side:
//! no subscriber, tracing's own registry alone (the floor every layer
//! builds on), the registry with `profiler::tracing::ProfilerLayer`, and,
//! with `--features tracing-peers`, tracing-timing, tracing-chrome,
//! tracing-flame and tracing-tracy.
//!
//! `cargo bench -p benches --bench tracing_layers [--features tracing-peers]`;
//! `BENCH_ROUNDS=n` sets the samples per case (default 300).
//!
//! A sample is one batch of [`BATCH`] spans on one thread under the case's
//! dispatcher (`tracing::dispatcher::with_default`, set once per batch),
//! timed with `Instant` around the batch and divided by the spans; cases are
//! interleaved round-robin. The table gives the median, minimum and
//! maximum, and the median's ratio to the registry alone. After the run the
//! profiler is asked how many `work` calls it recorded, and the bench fails
//! if that is not what was issued.

use std::hint::black_box;
use std::time::Instant;

use benches::Summary;
use tracing::Dispatch;
use tracing_subscriber::prelude::*;

const BATCH: u64 = 2_000;
const WARMUP: u64 = 200;

#[inline(never)]
fn work(x: u64) -> u64 {
    let _s = tracing::info_span!("work").entered();
    black_box(x).wrapping_mul(3)
}

fn batch(n: u64) {
    for i in 0..n {
        black_box(work(i));
    }
}

struct Case {
    name: &'static str,
    dispatch: Dispatch,
    samples: Vec<f64>,
}

fn cases() -> Vec<Case> {
    #[allow(unused_mut)]
    let mut v = vec![
        (
            "no subscriber",
            Dispatch::new(tracing::subscriber::NoSubscriber::default()),
        ),
        (
            "registry alone (floor)",
            Dispatch::new(tracing_subscriber::registry()),
        ),
        (
            "registry + profiler::tracing::ProfilerLayer",
            Dispatch::new(
                tracing_subscriber::registry().with(profiler::tracing::ProfilerLayer::new()),
            ),
        ),
    ];
    #[cfg(feature = "tracing-peers")]
    v.extend(peers::cases());
    v.into_iter()
        .map(|(name, dispatch)| Case {
            name,
            dispatch,
            samples: Vec::new(),
        })
        .collect()
}

#[cfg(feature = "tracing-peers")]
mod peers {
    use tracing::Dispatch;
    use tracing_subscriber::prelude::*;

    pub(super) fn cases() -> Vec<(&'static str, Dispatch)> {
        let dir = std::env::temp_dir().join(format!("tracing-layers-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a scratch folder");
        let (chrome, chrome_guard) = tracing_chrome::ChromeLayerBuilder::new()
            .file(dir.join("trace.json"))
            .build();
        std::mem::forget(chrome_guard);
        let (flame, flame_guard) = tracing_flame::FlameLayer::with_file(dir.join("tracing.folded"))
            .expect("a folded file");
        std::mem::forget(flame_guard);
        let timing = tracing_timing::Builder::default()
            .build(|| tracing_timing::Histogram::new_with_max(1_000_000_000, 2).unwrap());
        vec![
            (
                "tracing-timing 0.6 (its own subscriber)",
                Dispatch::new(timing),
            ),
            (
                "registry + tracing-chrome 0.7",
                Dispatch::new(tracing_subscriber::registry().with(chrome)),
            ),
            (
                "registry + tracing-flame 0.2",
                Dispatch::new(tracing_subscriber::registry().with(flame)),
            ),
            (
                "registry + tracing-tracy 0.11 (no server: events discarded)",
                Dispatch::new(
                    tracing_subscriber::registry().with(tracing_tracy::TracyLayer::default()),
                ),
            ),
        ]
    }
}

fn main() {
    // Only `cargo bench` runs it: `cargo test --benches` passes no `--bench`.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let rounds: usize = std::env::var("BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let mut cases = cases();
    let worker = std::thread::Builder::new()
        .name("spans".into())
        .spawn(move || {
            for _ in 0..rounds {
                for c in &mut cases {
                    tracing::dispatcher::with_default(&c.dispatch, || {
                        batch(WARMUP);
                        let t = Instant::now();
                        batch(BATCH);
                        c.samples.push(t.elapsed().as_nanos() as f64 / BATCH as f64);
                    });
                }
            }
            cases
        })
        .expect("a worker thread");
    let mut cases = worker.join().expect("the worker");

    let p = profiler::snapshot();
    let st = p.stats();
    let recorded: u64 = st
        .functions()
        .iter()
        .filter(|f| p.sites[f.site as usize].name == "work")
        .map(|f| f.figures.ncalls)
        .sum();
    let issued = rounds as u64 * (BATCH + WARMUP);
    assert_eq!(
        recorded, issued,
        "ProfilerLayer recorded {recorded} of {issued} spans"
    );

    let floor = Summary::of(&mut cases[1].samples.clone()).map_or(f64::NAN, |s| s.median);
    println!("one span (enter + exit + close), 1 thread, ns; {rounds} samples of {BATCH} spans");
    println!(
        "{:<62} {:>8} {:>8} {:>8} {:>9}",
        "case", "median", "min", "max", "x floor"
    );
    for c in &mut cases {
        let s = Summary::of(&mut c.samples).expect("samples");
        println!(
            "{:<62} {:>8.1} {:>8.1} {:>8.1} {:>8.2}x",
            c.name,
            s.median,
            s.min,
            s.max,
            s.median / floor
        );
    }
}
