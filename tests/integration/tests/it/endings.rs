//! How a run ends: every ending writes a complete, consistent set of reports
//! that says how the run ended, and the exit status stays the program's.
//!
//! Each case runs `src/bin/endings.rs` as a child process and ends it one way
//! (return, panics with unwind and with abort, `process::exit` from the main
//! thread and another thread, SIGINT, SIGTERM, SIGHUP, SIGQUIT, and SIGKILL
//! with checkpoints). The reports are read back with the library and with
//! Python's `pstats`, and every file is checked against what the saved
//! profile gives when written again, so a set mixing two runs is caught.

use std::io::{BufRead, BufReader};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use integration::{ncalls, python, scratch};
use profiler::Profile;

const STEPS: u64 = 1234;

fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_endings"))
}

/// The endings program built with `panic = "abort"` (the workspace's
/// `panic-abort` profile), in a target directory of its own.
fn abort_bin() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let target = root.join("target/panic-abort-build");
    let status = Command::new(env!("CARGO"))
        .current_dir(&root)
        .args([
            "build",
            "--quiet",
            "--profile",
            "panic-abort",
            "-p",
            "integration",
        ])
        .args(["--bin", "endings", "--target-dir"])
        .arg(&target)
        .status()
        .expect("run cargo build");
    assert!(status.success(), "building the panic=abort program failed");
    target.join("panic-abort/endings")
}

/// A started program, killed if a failing test drops it still running (so
/// that no child outlives the test).
struct Running(Option<Child>);

impl Running {
    fn id(&self) -> u32 {
        self.0.as_ref().map_or(0, Child::id)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Starts the program with `args`, writing into `out`, and waits until it
/// says `ready` (its calls are made). Core dumps are off (SIGQUIT).
fn start(
    program: &Path,
    args: &[&str],
    out: &Path,
    extra_env: &[(&str, &str)],
) -> (Running, BufReader<std::process::ChildStdout>) {
    let mut cmd = Command::new(program);
    cmd.args(args)
        .env("PROFILER_OUT", out)
        .env("PROFILER_TIMELINE", "1")
        .env_remove("PROFILER_CHECKPOINT_S")
        .env_remove("PROFILER_SIGNALS")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    // SAFETY: `setrlimit` and `signal` are async-signal-safe, as
    // `pre_exec` requires.
    unsafe {
        cmd.pre_exec(|| {
            let none = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            libc::setrlimit(libc::RLIMIT_CORE, &none);
            // The signals these tests send, at their default action: a
            // test run started in the background by a shell without job
            // control (SIGINT, SIGQUIT) or under `nohup` (SIGHUP) passes
            // them on ignored, and the profiler leaves an ignored signal
            // ignored, as it should.
            for sig in [libc::SIGINT, libc::SIGQUIT, libc::SIGHUP, libc::SIGTERM] {
                libc::signal(sig, libc::SIG_DFL);
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().expect("start the endings program");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let child = Running(Some(child));
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "ready", "the program did not start");
    (child, stdout)
}

fn signal(child: &Running, sig: i32) {
    // SAFETY: `kill` with a live child's pid and a valid signal number.
    let rc = unsafe { libc::kill(child.id() as libc::pid_t, sig) };
    assert_eq!(rc, 0, "kill failed");
}

fn wait(mut running: Running) -> (ExitStatus, String) {
    let mut child = running.0.take().expect("a running child");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
            return (status, err);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the program did not end");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The files of a complete set with a timeline.
const SET: [&str; 12] = [
    "profile.json",
    "pstats.txt",
    "profile.prof",
    "callgrind.out",
    "flamegraph.svg",
    "report.html",
    "trace.json",
    "speedscope.json",
    "flamechart.svg",
    "trace.prv",
    "trace.pcf",
    "trace.row",
];

/// Checks that `out` holds one complete set, all files from one run, and no
/// temporary file; returns its profile.
fn check_set(out: &Path) -> Profile {
    check_set_with_temps_of(out, None)
}

/// [`check_set`], allowing the temporary files of process `killed` (a
/// SIGKILL during a write leaves them; the next write removes them).
fn check_set_with_temps_of(out: &Path, killed: Option<u32>) -> Profile {
    let names: Vec<String> = std::fs::read_dir(out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let killed = killed.map(|pid| format!(".tmp.{pid}."));
    let temps: Vec<&String> = names
        .iter()
        .filter(|n| n.starts_with('.'))
        .filter(|n| !killed.as_ref().is_some_and(|k| n.contains(k.as_str())))
        .collect();
    assert!(
        temps.is_empty(),
        "temporary files left in {}: {temps:?}",
        out.display()
    );
    for f in SET {
        assert!(
            names.iter().any(|n| n == f),
            "{f} missing from {}: {names:?}",
            out.display()
        );
    }
    let p = Profile::load(out.join("profile.json")).expect("profile.json loads");
    // Written again from the saved profile, every report is the same file:
    // a report from another run (or half of one) would differ.
    let again = out.with_extension("again");
    let _ = std::fs::remove_dir_all(&again);
    profiler::write_reports(&p, &again).unwrap();
    for f in SET {
        let a = std::fs::read(out.join(f)).unwrap();
        let b = std::fs::read(again.join(f)).unwrap();
        if a != b {
            // Which files are of which write: their times.
            let times: Vec<String> = names
                .iter()
                .map(|n| {
                    let m = std::fs::metadata(out.join(n)).and_then(|m| m.modified());
                    format!("{n} {m:?}")
                })
                .collect();
            panic!(
                "{f} in {} is not the report of its profile.json; the files: {times:#?}",
                out.display()
            );
        }
    }
    std::fs::remove_dir_all(&again).unwrap();
    p
}

/// `name`'s ncalls as Python's pstats reads them from `profile.prof`.
fn python_ncalls(out: &Path, name: &str) -> u64 {
    let script = format!(
        "import pstats\ns = pstats.Stats({:?})\nprint(sum(v[1] for k, v in s.stats.items() if k[2] == {name:?}))",
        out.join("profile.prof").to_str().unwrap()
    );
    let o = Command::new(python())
        .args(["-c", &script])
        .output()
        .expect("python3");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).trim().parse().unwrap()
}

/// Runs one ending and checks everything the issue asks of it.
fn ending(
    name: &str,
    program: &Path,
    mode: &str,
    sig: Option<i32>,
    expect_status: impl Fn(ExitStatus) -> bool,
    ended_by: Option<&str>,
) {
    let out = scratch!(name);
    let steps = STEPS.to_string();
    let (child, _stdout) = start(program, &[mode, &steps], &out, &[]);
    if let Some(sig) = sig {
        signal(&child, sig);
    }
    let (status, stderr) = wait(child);
    assert!(
        expect_status(status),
        "{name}: exit status {status:?}; stderr: {stderr}"
    );
    let p = check_set(&out);
    assert_eq!(ncalls(&p, "step"), STEPS, "{name}: step calls");
    assert_eq!(
        python_ncalls(&out, "step"),
        STEPS,
        "{name}: step calls in Python's pstats"
    );
    match ended_by {
        None => assert_eq!(p.meta.ended_by, None, "{name}"),
        Some(prefix) => {
            let got = p.meta.ended_by.clone().unwrap_or_default();
            assert!(
                got.starts_with(prefix),
                "{name}: ended_by {got:?}, expected {prefix:?}"
            );
            let text = std::fs::read_to_string(out.join("pstats.txt")).unwrap();
            assert!(
                text.starts_with(&format!("Ended by {prefix}")),
                "{name}: pstats.txt says {:?}",
                text.lines().next()
            );
        }
    }
    // The server thread was inside `server_loop` the whole run: one call,
    // open, with its time so far, and busy in the parallel summary.
    assert_eq!(ncalls(&p, "server_loop"), 1, "{name}: server_loop");
    let server = p
        .threads
        .iter()
        .position(|t| t.name == "server")
        .expect("server thread");
    assert_eq!(
        p.threads[server].open.len(),
        1,
        "{name}: server_loop marked open"
    );
    assert!(
        p.threads[server].root_time_ns() >= 40_000_000,
        "{name}: server_loop's time so far"
    );
    let summary = p.parallel.clone().expect("parallel summary stored");
    let busy = summary
        .threads
        .iter()
        .find(|t| t.name == "server")
        .expect("server busy");
    assert!(
        busy.busy_ns > 0,
        "{name}: the server's busy time is missing"
    );
    std::fs::remove_dir_all(&out).unwrap();
}

fn exited(code: i32) -> impl Fn(ExitStatus) -> bool {
    move |s| s.code() == Some(code)
}

fn killed_by(sig: i32) -> impl Fn(ExitStatus) -> bool {
    move |s| s.signal() == Some(sig)
}

#[test]
fn return_writes_the_set() {
    ending("return", &bin(), "return", None, exited(0), None);
}

#[test]
fn unwinding_panic_writes_the_set_and_exits_101() {
    ending(
        "panic",
        &bin(),
        "panic",
        None,
        exited(101),
        Some("a panic: boom after 1234 steps"),
    );
}

#[test]
fn panic_under_abort_writes_the_set_and_aborts() {
    ending(
        "abort",
        &abort_bin(),
        "panic",
        None,
        killed_by(libc::SIGABRT),
        Some("a panic: boom after 1234 steps"),
    );
}

#[test]
fn process_exit_on_the_main_thread_writes_the_set() {
    ending(
        "exit-main",
        &bin(),
        "exit-main",
        None,
        exited(3),
        Some("process::exit(3)"),
    );
}

#[test]
fn process_exit_on_another_thread_writes_the_set() {
    ending(
        "exit-thread",
        &bin(),
        "exit-thread",
        None,
        exited(4),
        Some("process::exit(4)"),
    );
}

#[test]
fn sigint_writes_the_set_and_ends_by_sigint() {
    ending(
        "sigint",
        &bin(),
        "wait",
        Some(libc::SIGINT),
        killed_by(libc::SIGINT),
        Some("SIGINT"),
    );
}

#[test]
fn sigterm_writes_the_set_and_ends_by_sigterm() {
    ending(
        "sigterm",
        &bin(),
        "wait",
        Some(libc::SIGTERM),
        killed_by(libc::SIGTERM),
        Some("SIGTERM"),
    );
}

#[test]
fn sighup_writes_the_set_and_ends_by_sighup() {
    ending(
        "sighup",
        &bin(),
        "wait",
        Some(libc::SIGHUP),
        killed_by(libc::SIGHUP),
        Some("SIGHUP"),
    );
}

#[test]
fn sigquit_writes_the_set_and_ends_by_sigquit() {
    ending(
        "sigquit",
        &bin(),
        "wait",
        Some(libc::SIGQUIT),
        killed_by(libc::SIGQUIT),
        Some("SIGQUIT"),
    );
}

#[test]
fn sigkill_keeps_the_last_checkpoint() {
    let out = scratch!("sigkill");
    let (child, mut stdout) = start(
        &bin(),
        &["loop", "0"],
        &out,
        &[("PROFILER_CHECKPOINT_S", "1")],
    );
    // Counts printed by the program, with the time they were read.
    let mut counts: Vec<(Instant, u64)> = Vec::new();
    let started = Instant::now();
    let mut line = String::new();
    while started.elapsed() < Duration::from_millis(4500) {
        line.clear();
        if stdout.read_line(&mut line).unwrap() == 0 {
            break;
        }
        if let Some(n) = line.trim().strip_prefix("count ") {
            counts.push((Instant::now(), n.parse().unwrap()));
        }
    }
    signal(&child, libc::SIGKILL);
    let killed = Instant::now();
    let pid = child.id();
    let (status, _) = wait(child);
    assert_eq!(status.signal(), Some(libc::SIGKILL));
    let p = check_set_with_temps_of(&out, Some(pid));
    assert_eq!(p.meta.ended_by, None);
    assert_eq!(
        p.meta.still_running.as_deref(),
        Some("checkpoint every 1 s")
    );
    // Calls made a second before the kill, and the time a checkpoint takes
    // to write (every file flushed to disk: up to a second and a half
    // while the other endings tests write theirs), are in the last
    // checkpoint.
    let before = counts
        .iter()
        .filter(|(t, _)| killed.duration_since(*t) >= Duration::from_millis(2500))
        .map(|(_, n)| *n)
        .max()
        .expect("counts were printed");
    let got = ncalls(&p, "step");
    // The next run into the folder removes what the killed one left.
    let (next, _o) = start(&bin(), &["return", "3"], &out, &[]);
    assert!(wait(next).0.success());
    check_set(&out);
    assert!(
        got >= before,
        "the checkpoint holds {got} calls; {before} were made 2.5 s before the kill"
    );
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn dump_signal_writes_the_set_and_keeps_running() {
    let out = scratch!("dump");
    let (child, _stdout) = start(
        &bin(),
        &["wait", "10"],
        &out,
        &[("PROFILER_DUMP_SIGNAL", "USR1")],
    );
    signal(&child, libc::SIGUSR1);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !out.join("trace.prv").exists() {
        assert!(Instant::now() < deadline, "no dump written");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
    let p = check_set(&out);
    assert_eq!(p.meta.still_running.as_deref(), Some("dump on SIGUSR1"));
    assert_eq!(ncalls(&p, "step"), 10);
    // Still running: it ends by the signal it is sent next.
    signal(&child, libc::SIGTERM);
    let (status, _) = wait(child);
    assert_eq!(status.signal(), Some(libc::SIGTERM));
    let p = check_set(&out);
    assert_eq!(p.meta.ended_by.as_deref(), Some("SIGTERM"));
    std::fs::remove_dir_all(&out).unwrap();
}

/// Regression: a second session in the same process reported the first
/// one's calls (phase_a, run only in session 1, showed in session 2).
#[test]
fn second_session_starts_from_zero() {
    let out = scratch!("second-session");
    let o = Command::new(bin())
        .arg("second-session")
        .env("PROFILER_OUT", &out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let one = Profile::load(out.join("one/profile.json")).unwrap();
    let two = Profile::load(out.join("two/profile.json")).unwrap();
    assert_eq!((ncalls(&one, "phase_a"), ncalls(&one, "phase_b")), (1, 0));
    assert_eq!((ncalls(&two, "phase_a"), ncalls(&two, "phase_b")), (0, 1));
    assert_eq!(ncalls(&two, "step"), 1);
    let text = std::fs::read_to_string(out.join("two/pstats.txt")).unwrap();
    assert!(
        !text.contains("phase_a"),
        "session 2 lists phase_a:\n{text}"
    );
    std::fs::remove_dir_all(&out).unwrap();
}

/// Regression: `start()` turned recording on after `set_enabled(false)`.
#[test]
fn set_enabled_false_then_start_records_nothing() {
    let out = scratch!("disabled");
    let o = Command::new(bin())
        .arg("disabled")
        .env("PROFILER_OUT", &out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let p = Profile::load(out.join("profile.json")).unwrap();
    assert_eq!(ncalls(&p, "step"), 0);
    std::fs::remove_dir_all(&out).unwrap();
}

/// Regression: a relative `PROFILER_OUT` was resolved when the session
/// ended, so a program that changed directory wrote elsewhere.
#[test]
fn relative_profiler_out_with_a_chdir_writes_where_it_pointed_at_start() {
    let cwd = scratch!("chdir");
    let o = Command::new(bin())
        .arg("chdir")
        .current_dir(&cwd)
        .env("PROFILER_OUT", "reports")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let p = Profile::load(cwd.join("reports/profile.json")).unwrap();
    assert_eq!(ncalls(&p, "step"), 1);
    std::fs::remove_dir_all(&cwd).unwrap();
}

/// Regression: `PROFILER_OUT` naming an existing file printed only
/// `File exists (os error 17)`, at the end, naming neither variable nor path.
#[test]
fn profiler_out_naming_a_file_says_so_at_start() {
    let dir = scratch!("out-is-file");
    let file = dir.join("not-a-dir");
    std::fs::write(&file, "keep me").unwrap();
    let o = Command::new(bin())
        .args(["return", "5"])
        .env("PROFILER_OUT", &file)
        .output()
        .unwrap();
    assert!(o.status.success());
    let stderr = String::from_utf8_lossy(&o.stderr);
    let first = stderr.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("profiler: PROFILER_OUT=")
            && first.contains("not-a-dir")
            && first.contains("names a file, not a directory"),
        "stderr: {stderr}"
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep me");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A bad value of a `PROFILER_*` variable gets one line at the start naming
/// the variable, the value and the fix.
#[test]
fn bad_profiler_variables_are_named_at_start() {
    let dir = scratch!("bad-env");
    let o = Command::new(bin())
        .args(["return", "5"])
        .env("PROFILER_OUT", &dir)
        .env("PROFILER_TIMELINE_MIN_NS", "fast")
        .env("PROFILER_CHECKPOINT_S", "0")
        .env("PROFILER_DUMP_SIGNAL", "KILL")
        .env("PROFILER_SIGNALS", "maybe")
        .output()
        .unwrap();
    assert!(o.status.success());
    let stderr = String::from_utf8_lossy(&o.stderr);
    for needle in [
        "profiler: PROFILER_TIMELINE_MIN_NS=fast: not a whole number of nanoseconds",
        "profiler: PROFILER_CHECKPOINT_S=0: not a whole number of seconds (at least 1)",
        "profiler: PROFILER_DUMP_SIGNAL=KILL: not a signal the profiler can take; set it to USR1 or USR2",
        "profiler: PROFILER_SIGNALS=maybe: not a switch; set it to 1 (on) or 0 (off)",
    ] {
        assert!(
            stderr.lines().any(|l| l.starts_with(needle)),
            "{needle:?} not in:\n{stderr}"
        );
    }
    // The reports are still written, with the defaults.
    assert!(dir.join("profile.json").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `PROFILER_SIGNALS=0` leaves SIGTERM alone: the program dies by it
/// without writing.
#[test]
fn profiler_signals_0_leaves_signals_alone() {
    let out = scratch!("no-signals");
    let (child, _stdout) = start(&bin(), &["wait", "5"], &out, &[("PROFILER_SIGNALS", "0")]);
    signal(&child, libc::SIGTERM);
    let (status, _) = wait(child);
    assert_eq!(status.signal(), Some(libc::SIGTERM));
    assert!(!out.join("profile.json").exists());
    std::fs::remove_dir_all(&out).unwrap();
}

/// A second Ctrl-C while the reports are being written ends the process at
/// once: the previous set stays whole, and no temporary file is left.
#[test]
fn second_sigint_during_the_write_keeps_the_previous_set() {
    let out = scratch!("double-sigint");
    // A first run leaves a complete set.
    let (child, _o) = start(&bin(), &["return", "7"], &out, &[]);
    let (status, _) = wait(child);
    assert!(status.success());
    let before = check_set(&out);
    // A second run with a large tree (slow to write) gets two SIGINTs.
    let mut interrupted = 0;
    for attempt in 0..5 {
        let (child, _o) = start(&bin(), &["wait", "3", "0", "12"], &out, &[]);
        signal(&child, libc::SIGINT);
        std::thread::sleep(Duration::from_millis(20 + 30 * attempt));
        signal(&child, libc::SIGINT);
        let (status, _) = wait(child);
        assert_eq!(status.signal(), Some(libc::SIGINT));
        let now = check_set(&out);
        if now.meta.pid == before.meta.pid {
            interrupted += 1;
        }
    }
    assert!(
        interrupted > 0,
        "no write was interrupted: the tree is too small to be slow"
    );
    std::fs::remove_dir_all(&out).unwrap();
}

/// A small seeded generator (xorshift64*), so a failing soak run can be
/// repeated with `PROFILER_SOAK_SEED`.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

/// 40 runs into one folder, each ended a random way at a random moment,
/// some interrupted by a second signal during the write: never a temporary
/// file left, never a set mixing two runs, and a run that ended on its own
/// terms left its own complete set.
#[test]
fn soak_random_endings_never_mix_or_leave_files() {
    let seed = std::env::var("PROFILER_SOAK_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    println!("soak seed: PROFILER_SOAK_SEED={seed}");
    let mut rng = Rng(seed);
    let out = scratch!("soak");
    let endings: [(&str, Option<i32>); 8] = [
        ("return", None),
        ("panic", None),
        ("exit-main", None),
        ("exit-thread", None),
        ("wait", Some(libc::SIGINT)),
        ("wait", Some(libc::SIGTERM)),
        ("wait", Some(libc::SIGHUP)),
        ("wait", Some(libc::SIGQUIT)),
    ];
    let mut set_pid: Option<u32> = None;
    for run in 0..40 {
        let (mode, sig) = endings[rng.below(endings.len() as u64) as usize];
        let width = [0u64, 8, 12][rng.below(3) as usize];
        let delay = rng.below(200);
        let interrupt = rng.below(3) == 0;
        let interrupt_after = rng.below(300);
        let steps = (100 + run).to_string();
        let program_delay = if sig.is_none() { delay } else { 0 };
        let args = [mode, &steps, &program_delay.to_string(), &width.to_string()];
        let (child, _stdout) = start(&bin(), &args, &out, &[]);
        let pid = child.id();
        if let Some(sig) = sig {
            std::thread::sleep(Duration::from_millis(delay));
            signal(&child, sig);
        }
        if interrupt {
            std::thread::sleep(Duration::from_millis(interrupt_after));
            // SAFETY: `kill` with a valid signal; the child may have ended
            // already, which only makes the call fail.
            unsafe { libc::kill(pid as libc::pid_t, libc::SIGINT) };
        }
        let (status, stderr) = wait(child);
        let what = format!(
            "run {run} (seed {seed}): {mode} {sig:?} width {width} delay {delay} interrupt {interrupt}/{interrupt_after}: {status:?}; stderr: {stderr}"
        );
        let expected = match (mode, sig) {
            (_, Some(s)) => status.signal() == Some(s),
            ("return", _) => status.code() == Some(0),
            ("panic", _) => status.code() == Some(101),
            ("exit-main", _) => status.code() == Some(3),
            _ => status.code() == Some(4),
        };
        println!("{what}");
        assert!(
            expected || (interrupt && status.signal() == Some(libc::SIGINT)),
            "{what}"
        );
        if set_pid.is_none() && !out.join("profile.json").exists() {
            continue;
        }
        let p = check_set(&out);
        if expected && !interrupt {
            assert_eq!(p.meta.pid, pid, "{what}: the set is not this run's");
            assert_eq!(ncalls(&p, "step"), 100 + run, "{what}");
        } else {
            assert!(
                p.meta.pid == pid || Some(p.meta.pid) == set_pid,
                "{what}: the set is from neither this run nor the last complete one"
            );
        }
        set_pid = Some(p.meta.pid);
    }
    std::fs::remove_dir_all(&out).unwrap();
}

/// Regression: the temporary name was `.<name>.tmp<pid>`, shared by every
/// writer of a process, and two sessions ending together in one folder gave
/// "No such file or directory" and a corrupt `profile.json`. Two processes
/// ending at once into one folder leave one whole set, no temporary file.
#[test]
fn two_processes_ending_together_in_one_folder_leave_one_whole_set() {
    let out = scratch!("two-writers");
    for _ in 0..5 {
        let (a, _oa) = start(&bin(), &["return", "11", "0", "8"], &out, &[]);
        let (b, _ob) = start(&bin(), &["return", "22", "0", "8"], &out, &[]);
        let (pa, pb) = (a.id(), b.id());
        let (sa, ea) = wait(a);
        let (sb, eb) = wait(b);
        assert!(sa.success() && sb.success(), "{ea}\n{eb}");
        let p = check_set(&out);
        assert!(p.meta.pid == pa || p.meta.pid == pb);
        let steps = if p.meta.pid == pa { 11 } else { 22 };
        assert_eq!(ncalls(&p, "step"), steps);
    }
    std::fs::remove_dir_all(&out).unwrap();
}
