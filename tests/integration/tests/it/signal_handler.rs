//! A profiled function called from a signal handler, 10,000 times, while the
//! interrupted thread creates new call paths: no hang, a valid tree, and
//! every handler call either recorded or counted as dropped (those that
//! interrupted the recorder's own bookkeeping).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Duration;

use integration::ncalls;
use profiler::profile;

static HANDLED: AtomicU64 = AtomicU64::new(0);

/// Ends the process if the test that started it is still running after
/// five minutes (valgrind included): a hang fails instead of stalling CI.
struct Watchdog(Arc<AtomicBool>);

impl Watchdog {
    fn start(what: &'static str) -> Watchdog {
        let done = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&done);
        std::thread::Builder::new()
            .name("watchdog".into())
            .spawn(move || {
                let start = std::time::Instant::now();
                while !flag.load(Ordering::Relaxed) {
                    if start.elapsed() > Duration::from_secs(300) {
                        eprintln!("{what} hung");
                        std::process::abort();
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
            })
            .unwrap();
        Watchdog(done)
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// The two tests share the handler and its counts: one at a time.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[profile]
fn in_handler() {
    HANDLED.fetch_add(1, Ordering::Relaxed);
}

extern "C" fn on_usr1(_sig: libc::c_int) {
    in_handler();
}

/// Installs `on_usr1` for SIGUSR1 (which the test process does not
/// otherwise use).
fn install_handler() {
    // SAFETY: a zeroed `sigaction` with a valid handler, flags and an empty
    // mask; the handler only calls a profiled function.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_usr1 as *const () as usize;
        sa.sa_flags = libc::SA_RESTART;
        libc::sigemptyset(&mut sa.sa_mask);
        assert_eq!(libc::sigaction(libc::SIGUSR1, &sa, std::ptr::null_mut()), 0);
    }
}

macro_rules! tree {
    ($($f:ident),*) => {
        $(
            #[profile]
            fn $f(depth: u32) {
                if depth > 0 {
                    for k in 0..BRANCHES.len() {
                        BRANCHES[k](depth - 1);
                    }
                }
            }
        )*
        const BRANCHES: &[fn(u32)] = &[$($f),*];
    };
}

tree!(t0, t1, t2, t3, t4, t5, t6, t7, t8, t9, t10, t11);

#[test]
fn ten_thousand_handler_calls_while_the_thread_creates_call_paths() {
    // Own process: the SIGUSR1 handler, the process-wide dropped-call counts
    // and the watchdog (which aborts the process) are the process's.
    if integration::ran_in_own_process(
        module_path!(),
        "ten_thousand_handler_calls_while_the_thread_creates_call_paths",
    ) {
        return;
    }
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let _watchdog = Watchdog::start("signal handler test");
    install_handler();
    let done = Arc::new(AtomicBool::new(false));
    let (tx, rx) = mpsc::channel();
    let creator = {
        let done = Arc::clone(&done);
        std::thread::Builder::new()
            .name("creator".into())
            .spawn(move || {
                // SAFETY: `pthread_self` has no preconditions.
                tx.send(unsafe { libc::pthread_self() }).unwrap();
                let mut depth = 1;
                while !done.load(Ordering::Relaxed) {
                    // New paths on every round until depth 5 (12^5 leaves),
                    // then the same ones again.
                    t0(depth);
                    depth = (depth + 1).min(5);
                }
            })
            .unwrap()
    };
    let target = rx.recv().unwrap();
    let mut sent = 0;
    while sent < 10_000 {
        let before = HANDLED.load(Ordering::Relaxed);
        // SAFETY: the creator thread is alive until `done` is set below.
        let rc = unsafe { libc::pthread_kill(target, libc::SIGUSR1) };
        assert_eq!(rc, 0);
        sent += 1;
        // Wait (a little) for the handler to run, so that signals do not
        // merge while pending: each one sent is one handler call.
        let t = std::time::Instant::now();
        while HANDLED.load(Ordering::Relaxed) == before && t.elapsed() < Duration::from_millis(2) {
            std::hint::spin_loop();
        }
    }
    done.store(true, Ordering::Relaxed);
    creator.join().unwrap();
    let p = profiler::snapshot();
    p.validate().unwrap();
    assert_eq!(p.stats().total_time_ns(), p.root_time_ns());
    let handled = HANDLED.load(Ordering::Relaxed);
    let recorded = ncalls(&p, "in_handler");
    // Process-wide counts (the other test's handler calls included, the two
    // run one at a time): a call from a handler that interrupted a thread's
    // exit, after its recorder was retired, is counted at thread exit.
    let dropped = p.meta.calls_dropped_in_signal_handlers + p.meta.calls_dropped_at_thread_exit;
    println!("sent {sent}, handled {handled}, recorded {recorded}, dropped {dropped}");
    assert!(handled > 500, "few signals were delivered: {handled}");
    assert_eq!(recorded + dropped, handled, "a handler call was lost");
    // Every recorded handler call hangs below a creator frame or at the root.
    let creator = p.threads.iter().find(|t| t.name == "creator").unwrap();
    assert!(creator.open.is_empty());
}

/// Regression (a hang in CI): a handler that interrupted a thread's first
/// profiled call, while it registered its recorder and initialised the
/// clock, entered a scope and waited for that registration for good. Fresh
/// threads make their first call under a stream of signals: none hangs.
#[test]
fn handler_calls_during_a_threads_first_call_never_hang() {
    // Own process: the SIGUSR1 handler and the watchdog (which aborts the
    // process) are the process's.
    if integration::ran_in_own_process(
        module_path!(),
        "handler_calls_during_a_threads_first_call_never_hang",
    ) {
        return;
    }
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let _watchdog = Watchdog::start("a thread's first call under signals");
    install_handler();
    for i in 0..200 {
        let (tx, rx) = mpsc::channel();
        let go = Arc::new(AtomicBool::new(false));
        let done = Arc::new(AtomicBool::new(false));
        let t = {
            let (go, done) = (Arc::clone(&go), Arc::clone(&done));
            std::thread::Builder::new()
                .name(format!("first-call-{i}"))
                .spawn(move || {
                    // SAFETY: `pthread_self` has no preconditions.
                    tx.send(unsafe { libc::pthread_self() }).unwrap();
                    while !go.load(Ordering::Acquire) {
                        std::hint::spin_loop();
                    }
                    t1(1);
                    done.store(true, Ordering::Release);
                })
                .unwrap()
        };
        let target = rx.recv().unwrap();
        go.store(true, Ordering::Release);
        let start = std::time::Instant::now();
        while !done.load(Ordering::Acquire) {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "thread {i} hung in its first call"
            );
            // SAFETY: the thread is alive until `done` is set.
            unsafe { libc::pthread_kill(target, libc::SIGUSR1) };
            std::thread::sleep(Duration::from_micros(5));
        }
        t.join().unwrap();
    }
    let p = profiler::snapshot();
    p.validate().unwrap();
}
