//! Regression: a profiled call from a thread-local destructor that ran after
//! the profiler's exit hook registered a recorder that was never retired.
//! In a process of its own: it retires thousands of threads, which folds the
//! exited threads of any test running beside it.

use std::thread;

use profiler::{Profile, profile_scope};

fn check_invariants(p: &Profile) {
    p.validate().unwrap();
    assert_eq!(p.stats().total_time_ns(), p.root_time_ns());
}

/// Calls a profiled function when dropped (from a thread-local destructor).
struct CallsOnDrop;

impl Drop for CallsOnDrop {
    fn drop(&mut self) {
        let _g = profile_scope!("from_tls_destructor");
    }
}

thread_local! {
    static LATE: std::cell::RefCell<Option<CallsOnDrop>> = const { std::cell::RefCell::new(None) };
}

/// Regression: a profiled call from a thread-local destructor that ran after
/// the profiler's exit hook registered a recorder that was never retired:
/// 20,000 such threads left 21,025 thread entries and 130 MB resident. Such
/// calls are now counted as dropped, and exited threads stay folded.
#[test]
fn late_thread_local_destructor_calls_do_not_leak_recorders() {
    // Own process: retiring thousands of threads folds every test's exited
    // threads, and the dropped-call count is process-wide.
    if integration::ran_in_own_process(
        module_path!(),
        "late_thread_local_destructor_calls_do_not_leak_recorders",
    ) {
        return;
    }
    const THREADS: u64 = 5_000;
    let before = profiler::snapshot().meta.calls_dropped_at_thread_exit;
    for batch in 0..THREADS / 100 {
        let handles: Vec<_> = (0..100)
            .map(|_| {
                thread::Builder::new()
                    .name(format!("late-dtor-{batch}"))
                    .spawn(|| {
                        // Touched before the first profiled call, so its
                        // destructor runs after the profiler's exit hook.
                        LATE.with(|l| *l.borrow_mut() = Some(CallsOnDrop));
                        let _g = profile_scope!("before_exit");
                    })
                    .unwrap()
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
    }
    let p = profiler::snapshot();
    let late = p.meta.calls_dropped_at_thread_exit - before;
    assert_eq!(late, THREADS, "every late call is counted as dropped");
    assert!(
        p.threads.len() <= 1024 + 64,
        "{} thread entries: late recorders leaked",
        p.threads.len()
    );
    check_invariants(&p);
}
