//! The recorder's behaviour: call trees, faults (panics, leaked and
//! out-of-order guards), many threads, deep recursion and concurrent snapshots.
//!
//! Tests in this file share one process-wide recorder, so each runs its work
//! on a thread with a name of its own and reads that thread's tree, or uses
//! scope names no other test uses.

use std::thread;

use integration::{thread_named, tree_of};
use profiler::{Profile, profile_scope};

/// Runs `f` on a new thread called `name` and returns the snapshot taken after it ended.
fn on_thread(name: &str, stack: usize, f: impl FnOnce() + Send + 'static) -> Profile {
    thread::Builder::new()
        .name(name.to_owned())
        .stack_size(stack)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap();
    profiler::snapshot()
}

/// (ncalls, pcalls) of the site called `site` in thread `name`.
fn counts(p: &Profile, thread: &str, site: &str) -> (u64, u64) {
    let (i, _) = thread_named(p, thread);
    let stats = p.thread_stats(i);
    let row = stats
        .functions()
        .iter()
        .find(|f| p.sites[f.site as usize].name == site);
    row.map_or((0, 0), |f| (f.figures.ncalls, f.figures.pcalls))
}

fn check_invariants(p: &Profile) {
    p.validate().unwrap();
    let stats = p.stats();
    assert_eq!(
        stats.total_time_ns(),
        p.root_time_ns(),
        "sum of tottime != roots' inclusive time"
    );
    for f in stats.functions() {
        assert!(
            f.figures.cumtime_ns >= f.figures.tottime_ns,
            "cumtime < tottime for {:?}",
            p.sites[f.site as usize]
        );
        assert!(f.figures.pcalls <= f.figures.ncalls);
    }
    for (i, _) in p.threads.iter().enumerate() {
        let s = p.thread_stats(i);
        assert_eq!(s.total_time_ns(), p.threads[i].root_time_ns());
    }
}

fn fib(n: u32) -> u64 {
    let _g = profile_scope!("fib");
    if n < 2 {
        u64::from(n)
    } else {
        fib(n - 1) + fib(n - 2)
    }
}

#[test]
fn fib_20_counts_like_cprofile() {
    let p = on_thread("fib-20", 8 << 20, || assert_eq!(fib(20), 6765));
    assert_eq!(counts(&p, "fib-20", "fib"), (21891, 1));
    check_invariants(&p);
}

fn leaf() {
    let _g = profile_scope!("tree.leaf");
}
fn mid() {
    let _g = profile_scope!("tree.mid");
    leaf();
    leaf();
}
fn top() {
    let _g = profile_scope!("tree.top");
    mid();
    leaf();
    mid();
}

#[test]
fn call_tree_of_a_known_program() {
    let p = on_thread("known-tree", 1 << 20, || {
        top();
        leaf();
    });
    assert_eq!(
        tree_of(&p, "known-tree"),
        "thread known-tree\n  tree.top calls=1\n    tree.mid calls=2\n      tree.leaf calls=4\n    tree.leaf calls=1\n  tree.leaf calls=1\n"
    );
    check_invariants(&p);
}

fn panicking(depth: u32) {
    let _g = profile_scope!("panic.frame");
    if depth == 3 {
        panic!("deliberate");
    }
    panicking(depth + 1);
}

#[test]
fn panic_unwinding_through_three_frames_leaves_the_recorder_consistent() {
    let p = on_thread("panics", 1 << 20, || {
        let r = std::panic::catch_unwind(|| panicking(1));
        assert!(r.is_err());
        let _after = profile_scope!("panic.after");
    });
    assert_eq!(counts(&p, "panics", "panic.frame"), (3, 1));
    // `after` is a root: the unwound frames are all closed.
    assert_eq!(
        tree_of(&p, "panics"),
        "thread panics\n  panic.frame calls=1\n    panic.frame calls=1\n      panic.frame calls=1\n  panic.after calls=1\n"
    );
    check_invariants(&p);
}

#[test]
fn a_leaked_guard_corrupts_no_other_frame() {
    let p = on_thread("leaks", 1 << 20, || {
        {
            let _outer = profile_scope!("leak.outer");
            std::mem::forget(profile_scope!("leak.forgotten"));
            // Closing `outer` closes the forgotten frame first.
        }
        let _next = profile_scope!("leak.next");
    });
    assert_eq!(
        tree_of(&p, "leaks"),
        "thread leaks\n  leak.outer calls=1\n    leak.forgotten calls=1\n  leak.next calls=1\n"
    );
    check_invariants(&p);
}

#[test]
fn guards_dropped_out_of_order_never_panic_nor_misattribute() {
    let p = on_thread("out-of-order", 1 << 20, || {
        let a = profile_scope!("ooo.a");
        let b = profile_scope!("ooo.b");
        drop(a); // closes b's frame, then a's
        let c = profile_scope!("ooo.c"); // a root now, at b's old depth... of 0
        let d = profile_scope!("ooo.d"); // depth 1, where b was
        drop(b); // b's frame is gone: must not close d
        drop(d);
        drop(c);
    });
    assert_eq!(
        tree_of(&p, "out-of-order"),
        "thread out-of-order\n  ooo.a calls=1\n    ooo.b calls=1\n  ooo.c calls=1\n    ooo.d calls=1\n"
    );
    check_invariants(&p);
}

fn deep(n: u32) {
    let _g = profile_scope!("deep");
    if n > 1 {
        deep(n - 1);
    }
}

#[test]
fn recursion_100_000_deep() {
    let p = on_thread("deep", 1 << 30, || deep(100_000));
    assert_eq!(counts(&p, "deep", "deep"), (100_000, 1));
    let (_, t) = thread_named(&p, "deep");
    assert_eq!(t.nodes.len(), 100_000, "one node per depth");
    check_invariants(&p);
}

fn spin_work() {
    let _g = profile_scope!("race.outer");
    for _ in 0..10 {
        let _i = profile_scope!("race.inner");
        std::hint::black_box(0u64);
    }
}

#[test]
fn snapshots_while_two_threads_record_are_consistent() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..2)
        .map(|i| {
            let stop = Arc::clone(&stop);
            thread::Builder::new()
                .name(format!("racer-{i}"))
                .spawn(move || {
                    let mut rounds = 0u64;
                    while !stop.load(Ordering::Relaxed) || rounds < 1000 {
                        spin_work();
                        rounds += 1;
                    }
                    rounds
                })
                .unwrap()
        })
        .collect();
    let mut last = 0;
    for _ in 0..20 {
        let p = profiler::snapshot();
        check_invariants(&p);
        let stats = p.stats();
        let inner = stats
            .functions()
            .iter()
            .find(|f| p.sites[f.site as usize].name == "race.inner")
            .map_or(0, |f| f.figures.ncalls);
        assert!(inner >= last, "counts went backwards: {inner} < {last}");
        last = inner;
    }
    stop.store(true, Ordering::Relaxed);
    let rounds: u64 = workers.into_iter().map(|w| w.join().unwrap()).sum();
    let p = profiler::snapshot();
    let stats = p.stats();
    let total = |name: &str| {
        stats
            .functions()
            .iter()
            .find(|f| p.sites[f.site as usize].name == name)
            .map_or(0, |f| f.figures.ncalls)
    };
    assert_eq!(total("race.outer"), rounds);
    assert_eq!(total("race.inner"), rounds * 10);
}

#[test]
fn own_open_scopes_count_in_a_snapshot_as_cprofile_flushes_them() {
    let p = on_thread("self-snapshot", 1 << 20, || {
        let _outer = profile_scope!("open.outer");
        leaf();
        let p = profiler::snapshot();
        // The open scope counts as one call ending now.
        assert_eq!(counts(&p, "self-snapshot", "open.outer"), (1, 1));
        check_invariants(&p);
    });
    // Once closed, it is one call (not two).
    assert_eq!(counts(&p, "self-snapshot", "open.outer"), (1, 1));
}

/// Runs on its own as a child process of the next test with
/// `PROFILER_CLOCK=monotonic` (the clock source is chosen once per process);
/// in the parent it runs on the TSC. Counts and invariants must not depend on it.
#[test]
fn clock_source_child() {
    let p = on_thread("clock-child", 8 << 20, || assert_eq!(fib(15), 610));
    if std::env::var_os("PROFILER_CLOCK").is_some_and(|v| v == "monotonic") {
        assert_eq!(p.meta.clock, "monotonic");
        assert!(
            (p.meta.ticks_per_second - 1e9).abs() < 1.0,
            "monotonic ticks are nanoseconds"
        );
    }
    assert_eq!(counts(&p, "clock-child", "fib"), (1973, 1));
    check_invariants(&p);
}

#[test]
fn monotonic_clock_fallback_gives_the_same_counts() {
    if std::env::var_os("PROFILER_CLOCK").is_some() {
        return; // already the child
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .env("PROFILER_CLOCK", "monotonic")
        .args([
            "--exact",
            &integration::test_name(module_path!(), "clock_source_child"),
            "--test-threads=1",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "child failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("1 passed"),
        "the child ran no test:\n{stdout}"
    );
}

/// Regression: a guard leaked with `mem::forget` on a thread that then
/// exited was never closed, although it was to be closed with its parent.
/// It is closed at the thread's exit: one call, with its time.
#[test]
fn leaked_guard_is_closed_when_its_thread_exits() {
    let p = on_thread("leaks-then-exits", 1 << 20, || {
        let g = profile_scope!("leaked_at_exit");
        std::thread::sleep(std::time::Duration::from_millis(2));
        std::mem::forget(g);
    });
    assert_eq!(counts(&p, "leaks-then-exits", "leaked_at_exit"), (1, 1));
    let (_, t) = thread_named(&p, "leaks-then-exits");
    assert!(
        t.root_time_ns() >= 2_000_000,
        "time {} ns",
        t.root_time_ns()
    );
    assert!(t.open.is_empty(), "closed at exit, not open");
    check_invariants(&p);
}

thread_local! {
    static KEPT: std::cell::RefCell<Option<profiler::Guard>> = const { std::cell::RefCell::new(None) };
}

/// Regression (use-after-free under valgrind): a guard stored in a
/// thread-local that the thread touched before its first profiled call is
/// dropped after the profiler's own thread-exit hook freed the recorder.
/// The guard must do nothing then; its frame is closed and counted at exit.
#[test]
fn guard_kept_in_a_thread_local_dropped_after_the_exit_hook() {
    let p = on_thread("guard-in-tls", 1 << 20, || {
        KEPT.with(|k| k.borrow_mut().take());
        let g = profile_scope!("kept_in_tls");
        KEPT.with(|k| *k.borrow_mut() = Some(g));
    });
    assert_eq!(counts(&p, "guard-in-tls", "kept_in_tls"), (1, 1));
    check_invariants(&p);
}

/// A thread inside one profiled call for the whole snapshot (a server loop)
/// shows that call, with its time so far, marked open; it closes normally
/// later.
#[test]
fn snapshot_counts_other_threads_open_calls() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Barrier};
    let stop = Arc::new(AtomicBool::new(false));
    let started = Arc::new(Barrier::new(2));
    let worker = {
        let (stop, started) = (Arc::clone(&stop), Arc::clone(&started));
        thread::Builder::new()
            .name("open-call-worker".into())
            .spawn(move || {
                let _outer = profile_scope!("serve_forever");
                let _inner = profile_scope!("serve_one");
                started.wait();
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
            })
            .unwrap()
    };
    started.wait();
    std::thread::sleep(std::time::Duration::from_millis(20));
    let p = profiler::snapshot();
    stop.store(true, Ordering::Relaxed);
    worker.join().unwrap();
    assert_eq!(counts(&p, "open-call-worker", "serve_forever"), (1, 1));
    assert_eq!(counts(&p, "open-call-worker", "serve_one"), (1, 1));
    let (_, t) = thread_named(&p, "open-call-worker");
    assert_eq!(t.open.len(), 2, "both calls marked open");
    assert!(
        t.root_time_ns() >= 20_000_000,
        "time so far {} ns",
        t.root_time_ns()
    );
    check_invariants(&p);
    // After the thread ended, the same calls are closed, not open.
    let after = profiler::snapshot();
    assert_eq!(counts(&after, "open-call-worker", "serve_forever"), (1, 1));
    assert!(thread_named(&after, "open-call-worker").1.open.is_empty());
}
