//! `fork()` while other threads start and exit: no child hangs in the
//! profiler, and each child's profile is its own (its pid, its one thread,
//! none of the parent's calls), also the reports a child's session writes to
//! `PROFILER_OUT`-style `out/%p`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use integration::ncalls;
use profiler::{Profile, profile};

#[profile]
fn parent_work() {}

#[profile]
fn child_work() {}

#[profile]
fn churn(i: u64) -> u64 {
    std::hint::black_box(i)
}

/// Waits for child `pid` at most `limit`; kills it and fails if it hangs.
fn wait_child(pid: libc::pid_t, limit: Duration) -> i32 {
    let deadline = Instant::now() + limit;
    loop {
        let mut status = 0;
        // SAFETY: `waitpid` on our own child with a valid status pointer.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if r == pid {
            assert!(
                libc::WIFEXITED(status),
                "child {pid} did not exit normally: {status:#x}"
            );
            return libc::WEXITSTATUS(status);
        }
        if Instant::now() > deadline {
            // SAFETY: killing our own hung child.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            panic!("child {pid} hung in the profiler after fork");
        }
        std::thread::sleep(Duration::from_micros(200));
    }
}

/// In the child: checks its own profile; returns the exit code (0 = good).
fn child_checks() -> i32 {
    child_work();
    let p = profiler::snapshot();
    let checks = [
        p.meta.pid == std::process::id(),
        p.threads.len() == 1,
        p.threads.iter().all(|t| t.pid == std::process::id()),
        ncalls(&p, "parent_work") == 0,
        ncalls(&p, "churn") == 0,
        ncalls(&p, "child_work") == 1,
        p.validate().is_ok(),
    ];
    checks
        .iter()
        .position(|ok| !ok)
        .map_or(0, |i| 10 + i as i32)
}

#[test]
fn three_hundred_forks_while_threads_start_and_exit() {
    // Own process: each child must hold only this test's calls and threads,
    // and the session installs exit hooks.
    if integration::ran_in_own_process(
        module_path!(),
        "three_hundred_forks_while_threads_start_and_exit",
    ) {
        return;
    }
    let out = integration::scratch!("out");
    let session = profiler::Session::new()
        .signals(false)
        .output_dir(out.join("%p"))
        .start();
    for _ in 0..10 {
        parent_work();
    }
    let stop = Arc::new(AtomicBool::new(false));
    let churners: Vec<_> = (0..2)
        .map(|k| {
            let stop = Arc::clone(&stop);
            std::thread::Builder::new()
                .name(format!("churner-{k}"))
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        std::thread::Builder::new()
                            .name("short-lived".into())
                            .spawn(|| (0..100).map(churn).sum::<u64>())
                            .unwrap()
                            .join()
                            .unwrap();
                    }
                })
                .unwrap()
        })
        .collect();
    let mut writers = Vec::new();
    for i in 0..300 {
        // SAFETY: the child only runs this test's code and the profiler,
        // whose fork handlers made its locks consistent, then exits.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork failed");
        if pid == 0 {
            let code = child_checks();
            if i < 20 {
                // Exits through the exit handlers: the child's session writes
                // its reports into out/<child pid>. `libc::exit`, not
                // `std::process::exit`: std's own cleanup takes a lock of
                // its stack-overflow bookkeeping that a parent thread
                // starting or ending at the fork may hold (seen hanging in
                // std::rt::cleanup); the exit handlers are the same.
                // SAFETY: ends the child through the C library's exit.
                unsafe { libc::exit(code) };
            }
            // SAFETY: ends the child at once, without the parent's handlers.
            unsafe { libc::_exit(code) };
        }
        let code = wait_child(pid, Duration::from_secs(20));
        assert_eq!(code, 0, "child {i} (pid {pid}) failed check {}", code - 10);
        if i < 20 {
            writers.push(pid as u32);
        }
    }
    stop.store(true, Ordering::Relaxed);
    for c in churners {
        c.join().unwrap();
    }
    for pid in writers {
        let p = Profile::load(out.join(pid.to_string()).join("profile.json")).unwrap();
        assert_eq!(p.meta.pid, pid);
        assert_eq!(p.meta.ended_by.as_deref(), Some("process::exit(0)"));
        assert_eq!(
            (ncalls(&p, "child_work"), ncalls(&p, "parent_work")),
            (1, 0)
        );
    }
    let parent = session.finish().unwrap();
    assert_eq!(parent.meta.pid, std::process::id());
    assert_eq!(
        (
            ncalls(&parent, "parent_work"),
            ncalls(&parent, "child_work")
        ),
        (10, 0)
    );
    std::fs::remove_dir_all(&out).unwrap();
}
