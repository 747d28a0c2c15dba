//! A small profiled program that ends in the way its first argument names,
//! for the tests of how a run ends (`tests/it/endings.rs`). Not for users.
//!
//! `endings <mode> [steps] [delay_ms] [width]`: starts a session from the
//! environment and a `server` thread that stays inside one profiled call
//! (`server_loop`) for the whole run, makes `steps` calls of `step` and a
//! tree of `width`^4 distinct call paths (to make the reports slow to write),
//! prints `ready` on standard output, waits `delay_ms`, then ends:
//!
//! - `return`: leaves `main` normally;
//! - `panic`: panics on the main thread (build with `panic = "abort"` for the abort case);
//! - `exit-main`: `process::exit(3)` on the main thread;
//! - `exit-thread`: `process::exit(4)` on another thread;
//! - `wait`: waits for a signal (the test sends it);
//! - `loop`: calls `step` every millisecond, printing `count <n>` every
//!   100 calls, until killed;
//! - `second-session`, `disabled`, `chdir`: the sessions' regression cases.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use profiler::profile;

static SINK: AtomicU64 = AtomicU64::new(0);

#[profile]
fn step(i: u64) {
    SINK.fetch_add(i, Ordering::Relaxed);
}

/// Long enough (1 ms) to be on the timeline.
#[profile]
fn warm_up() {
    std::thread::sleep(Duration::from_millis(1));
}

#[profile]
fn phase_a() {
    step(1);
}

#[profile]
fn phase_b() {
    step(2);
}

/// Stays inside this call until `stop`: half working, half sleeping.
#[profile]
fn server_loop(stop: &AtomicBool, entered: &AtomicBool) {
    entered.store(true, Ordering::Release);
    while !stop.load(Ordering::Relaxed) {
        let t = Instant::now();
        let mut x = 0u64;
        while t.elapsed() < Duration::from_millis(1) {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
        }
        SINK.fetch_add(x & 1, Ordering::Relaxed);
        std::thread::sleep(Duration::from_millis(1));
    }
}

macro_rules! tree {
    ($($f:ident),*) => {
        $(
            #[profile]
            fn $f(depth: u32, width: usize) {
                if depth > 0 {
                    for k in 0..width {
                        branch(k, depth - 1, width);
                    }
                }
            }
        )*
        const BRANCHES: &[fn(u32, usize)] = &[$($f),*];
    };
}

tree!(
    b00, b01, b02, b03, b04, b05, b06, b07, b08, b09, b10, b11, b12, b13, b14, b15
);

fn branch(k: usize, depth: u32, width: usize) {
    BRANCHES[k % BRANCHES.len()](depth, width);
}

fn ready() {
    println!("ready");
    let _ = std::io::stdout().flush();
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mode = args.get(1).map_or("return", String::as_str);
    let arg = |i: usize, default: u64| {
        args.get(i)
            .and_then(|a| a.parse::<u64>().ok())
            .unwrap_or(default)
    };
    let (steps, delay_ms, width) = (arg(2, 1000), arg(3, 0), arg(4, 0) as usize);
    match mode {
        "second-session" => return second_session(),
        "disabled" => return disabled(),
        "chdir" => return chdir(),
        _ => {}
    }

    let session = profiler::Session::from_env().start();
    let stop = Arc::new(AtomicBool::new(false));
    let entered = Arc::new(AtomicBool::new(false));
    let server = {
        let (stop, entered) = (Arc::clone(&stop), Arc::clone(&entered));
        std::thread::Builder::new()
            .name("server".into())
            .spawn(move || server_loop(&stop, &entered))
            .expect("spawn the server thread")
    };
    warm_up();
    for i in 0..steps {
        step(i);
    }
    if width > 0 {
        branch(0, 4, width);
    }
    // Let the server thread run a while inside its call.
    while !entered.load(Ordering::Acquire) {
        std::thread::sleep(Duration::from_millis(1));
    }
    std::thread::sleep(Duration::from_millis(50));
    ready();
    std::thread::sleep(Duration::from_millis(delay_ms));
    match mode {
        "return" => {}
        "panic" => panic!("boom after {steps} steps"),
        "exit-main" => std::process::exit(3),
        "exit-thread" => {
            let t = std::thread::Builder::new()
                .name("exiter".into())
                .spawn(|| std::process::exit(4))
                .expect("spawn the exiting thread");
            let _ = t.join();
            unreachable!("process::exit returned");
        }
        "wait" => loop {
            std::thread::sleep(Duration::from_secs(1));
        },
        "loop" => {
            for i in steps.. {
                step(i);
                if i % 100 == 0 {
                    println!("count {}", i + 1);
                    let _ = std::io::stdout().flush();
                }
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        other => panic!("unknown mode {other}"),
    }
    drop(session);
    stop.store(true, Ordering::Relaxed);
    let _ = server.join();
}

/// Two sessions one after the other, into `$PROFILER_OUT/one` and `/two`:
/// the second must not report `phase_a`, run only in the first.
fn second_session() {
    let out = std::path::PathBuf::from(std::env::var_os("PROFILER_OUT").expect("PROFILER_OUT"));
    let one = profiler::Session::new().output_dir(out.join("one")).start();
    phase_a();
    drop(one);
    let two = profiler::Session::new().output_dir(out.join("two")).start();
    phase_b();
    drop(two);
}

/// `set_enabled(false)` before the session starts: nothing is recorded.
fn disabled() {
    profiler::set_enabled(false);
    let session = profiler::Session::from_env().start();
    step(1);
    assert!(!profiler::is_enabled(), "start() turned recording back on");
    drop(session);
}

/// A relative `PROFILER_OUT`, then a change of directory: the reports go
/// where the path pointed when the session started.
fn chdir() {
    let session = profiler::Session::from_env().start();
    step(1);
    std::env::set_current_dir(std::env::temp_dir()).expect("chdir");
    drop(session);
}
