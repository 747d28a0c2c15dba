//! Thousands of short-lived threads: every call is counted and memory stays
//! bounded by call paths. In a process of its own because folding exited
//! threads is process-wide and would fold other tests' threads too.

use std::thread;

use profiler::profile_scope;

#[test]
fn ten_thousand_short_lived_threads_all_count_with_bounded_memory() {
    // Own process: retiring thousands of threads folds every test's exited
    // threads.
    if integration::ran_in_own_process(
        module_path!(),
        "ten_thousand_short_lived_threads_all_count_with_bounded_memory",
    ) {
        return;
    }
    const THREADS: usize = 10_000;
    for batch in 0..THREADS / 100 {
        let handles: Vec<_> = (0..100)
            .map(|i| {
                thread::Builder::new()
                    .name(format!("short-{batch}-{i}"))
                    .spawn(|| {
                        let _t = profile_scope!("short.task");
                        let _s = profile_scope!("short.step");
                    })
                    .unwrap()
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
    }
    let p = profiler::snapshot();
    let stats = p.stats();
    let row = |name: &str| {
        stats
            .functions()
            .iter()
            .find(|f| p.sites[f.site as usize].name == name)
            .map(|f| f.figures.ncalls)
    };
    assert_eq!(row("short.task"), Some(THREADS as u64));
    assert_eq!(row("short.step"), Some(THREADS as u64));
    // Exited threads are kept one by one up to a cap, then folded together:
    // the profile holds far fewer trees than threads, and a bounded number of nodes.
    assert!(
        p.threads.len() <= 1024 + 64,
        "{} thread trees kept",
        p.threads.len()
    );
    let nodes: usize = p.threads.iter().map(|t| t.nodes.len()).sum();
    assert!(nodes <= (1024 + 64) * 200, "{nodes} nodes kept");
    assert!(
        p.threads
            .iter()
            .any(|t| t.name.ends_with("exited threads)"))
    );
    p.validate().unwrap();
    assert_eq!(stats.total_time_ns(), p.root_time_ns());
}
