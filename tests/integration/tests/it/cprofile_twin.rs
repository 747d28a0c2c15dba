//! A program written as a new user would, and its Python twin run under
//! CPython's cProfile (tests/python/twin.py): the call counts, primitive
//! counts and per-edge caller counts must be the same. Times differ; counts and
//! structure must not. Also: every ncalls is exact whatever the thread count.

use std::collections::BTreeMap;
use std::future::Future;
use std::process::Command;
use std::task::{Context, Poll, Waker};

use profiler::{Profile, profile};
use rayon::prelude::*;

#[profile]
fn fib(n: u32) -> u64 {
    if n < 2 {
        u64::from(n)
    } else {
        fib(n - 1) + fib(n - 2)
    }
}

struct Grid {
    cells: Vec<f64>,
}

#[profile]
impl Grid {
    fn relax(&mut self) -> f64 {
        for c in &mut self.cells {
            *c *= 0.5;
        }
        self.cells.iter().sum()
    }
}

#[profile]
fn generic_sum<'a, T>(xs: &'a [T]) -> T
where
    T: Copy + std::iter::Sum<&'a T> + 'a,
{
    xs.iter().sum()
}

#[profile]
async fn fetch() -> u32 {
    // Pending once, so `fetch` takes two polls per call.
    integration::YieldOnce(false).await;
    1
}

/// A minimal executor: polls until ready.
fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

#[profile]
fn ping(n: u32) {
    if n > 0 {
        pong(n - 1);
    }
}

#[profile]
fn pong(n: u32) {
    if n > 0 {
        ping(n - 1);
    }
}

#[profile]
fn par_item(i: u64) -> u64 {
    i * 2
}

#[profile]
fn run_parallel() -> u64 {
    (0..100u64).into_par_iter().map(par_item).sum()
}

#[profile]
fn twin_main(grid: &mut Grid) {
    fib(20);
    for _ in 0..3 {
        grid.relax();
    }
    generic_sum(&[1i64, 2, 3]);
    generic_sum(&[1.0f64, 2.0]);
    block_on(fetch());
    block_on(fetch());
    ping(5);
    run_parallel();
}

/// name -> (nc, cc, callers: name -> (nc, cc))
type Table = BTreeMap<String, (u64, u64, BTreeMap<String, (u64, u64)>)>;

fn ours(p: &Profile) -> Table {
    let stats = p.stats();
    let short = |site: u32| {
        let name = &p.sites[site as usize].name;
        name.rsplit("::").next().unwrap_or(name).to_owned()
    };
    stats
        .functions()
        .iter()
        .map(|f| {
            let callers = f
                .callers
                .iter()
                .map(|(c, e)| (short(*c), (e.ncalls, e.pcalls)))
                .collect();
            (short(f.site), (f.figures.ncalls, f.figures.pcalls, callers))
        })
        .collect()
}

fn theirs() -> Table {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/twin.py");
    let out = Command::new(integration::python())
        .arg(script)
        .output()
        .expect("python3 is needed for this test (CI installs it)");
    assert!(
        out.status.success(),
        "twin.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut table = Table::new();
    for (name, v) in json.as_object().unwrap() {
        let mut callers = BTreeMap::new();
        for (c, pair) in v["callers"].as_object().unwrap() {
            callers.insert(
                c.clone(),
                (pair[0].as_u64().unwrap(), pair[1].as_u64().unwrap()),
            );
        }
        table.insert(
            name.clone(),
            (
                v["nc"].as_u64().unwrap(),
                v["cc"].as_u64().unwrap(),
                callers,
            ),
        );
    }
    table
}

fn run_in_pool(threads: usize) -> Profile {
    // A name prefix of this run's own, as tests run concurrently in one process.
    static RUN: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let run = RUN.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let prefix = format!("run{run}-pool{threads}-");
    let name_prefix = prefix.clone();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(move |i| format!("{name_prefix}{i}"))
        .build()
        .unwrap();
    let before = profiler::snapshot();
    pool.install(|| {
        let mut grid = Grid {
            cells: vec![1.0; 16],
        };
        twin_main(&mut grid);
    });
    drop(pool);
    // The profile of just this run: the trees of this pool's threads.
    let after = profiler::snapshot();
    let threads: Vec<_> = after
        .threads
        .iter()
        .filter(|t| t.name.starts_with(&prefix))
        .cloned()
        .collect();
    assert!(before.threads.iter().all(|t| !t.name.starts_with(&prefix)));
    Profile::new(after.meta.clone(), after.sites.clone(), threads)
}

#[test]
fn counts_and_call_structure_match_cprofile() {
    // One worker: the whole program runs on one thread, as in Python, so every
    // edge matches too.
    let p = run_in_pool(1);
    let ours = ours(&p);
    let theirs = theirs();
    assert_eq!(ours, theirs, "\nours:   {ours:?}\ncProfile: {theirs:?}");
    // The figure users read first.
    assert_eq!((ours["fib"].0, ours["fib"].1), (21891, 1));
    print!("{}", p.stats().sort_by(profiler::SortKey::Cumulative));
}

#[test]
fn ncalls_are_exact_whatever_the_thread_count() {
    let reference = ours(&run_in_pool(1));
    for threads in [2, 3, 4] {
        let p = run_in_pool(threads);
        p.validate().unwrap();
        assert_eq!(p.stats().total_time_ns(), p.root_time_ns());
        let got = ours(&p);
        for (name, (nc, cc, callers)) in &reference {
            let (gnc, gcc, gcallers) = &got[name];
            assert_eq!((gnc, gcc), (nc, cc), "{name} with {threads} threads");
            if name != "par_item" {
                // par_item runs wherever rayon's workers steal it: its caller
                // is run_parallel on the thread that ran it, or none.
                assert_eq!(
                    gcallers, callers,
                    "callers of {name} with {threads} threads"
                );
            }
        }
    }
}
