//! The integration tests are one test binary, `tests/it/main.rs`, with a
//! module per area; this library holds the fixtures they share.
//!
//! All the modules' tests run as threads of one process, which has one
//! recorder. A test that changes the profiler's process-wide state
//! (`set_enabled`, `set_timeline`, compensation, a session, the sampler,
//! signal handlers, `fork`), that counts what the whole process did, or that
//! checks a snapshot of the whole process, runs in a process of its own:
//! see [`ran_in_own_process`].

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::Command;
use std::sync::{Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use profiler::profile::NO_PARENT;
use profiler::{Metadata, Node, Profile, SiteInfo, ThreadProfile};

// ------------------------------------------------------------ own processes

/// Set in a test's own process to the name of the test that runs there.
const OWN_PROCESS: &str = "INTEGRATION_OWN_PROCESS";

/// The name the test harness gives the test function `name` of the module
/// `module` (`module_path!()`): the module path without the crate.
pub fn test_name(module: &str, name: &str) -> String {
    match module.split_once("::") {
        Some((_, path)) => format!("{path}::{name}"),
        None => name.to_owned(),
    }
}

/// Runs the test `name` of `module` (`module_path!()`) in a process of its
/// own: this test binary run again for that one test, with
/// `INTEGRATION_OWN_PROCESS` set to its name. In the test's own process
/// this returns `false`, and the test goes on with its body; in the process
/// that started it, it waits for it, prints its output, checks that the one
/// test ran and passed, and returns `true`: the test then returns.
///
/// ```text
/// #[test]
/// fn sets_global_state() {
///     if integration::ran_in_own_process(module_path!(), "sets_global_state") {
///         return;
///     }
///     // ...
/// }
/// ```
///
/// Under valgrind, `--trace-children=yes` runs that process under valgrind too.
pub fn ran_in_own_process(module: &str, name: &str) -> bool {
    let test = test_name(module, name);
    if std::env::var(OWN_PROCESS).is_ok_and(|t| t == test) {
        return false;
    }
    let out = Command::new(std::env::current_exe().expect("the test binary's path"))
        .args([test.as_str(), "--exact", "--nocapture", "--test-threads=1"])
        .env(OWN_PROCESS, &test)
        .output()
        .expect("run the test binary again");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    print!("{stdout}");
    eprint!("{stderr}");
    assert!(
        out.status.success(),
        "{test} failed in its own process ({})",
        out.status
    );
    assert!(
        stdout.contains("test result: ok. 1 passed"),
        "{test}: its own process ran no test (is the name right?)"
    );
    true
}

/// Held by the tests that measure the machine's cores or time calls (the
/// live parallel-summary runs, compensation), in the process that starts
/// their own processes, so that they do not compete with each other for the
/// cores.
pub fn cores() -> MutexGuard<'static, ()> {
    static CORES: Mutex<()> = Mutex::new(());
    CORES.lock().unwrap_or_else(|e| e.into_inner())
}

// ---------------------------------------------------------------- folders

/// A fresh scratch directory for `name` in the module `module`
/// (`module_path!()`), under `tmp` (the target's `CARGO_TARGET_TMPDIR`):
/// removed if it was there, then created empty. Most tests remove it when
/// they pass; the others leave their files there to be read.
pub fn scratch(tmp: &str, module: &str, name: &str) -> PathBuf {
    let module = test_name(module, "")
        .trim_end_matches("::")
        .replace("::", "-");
    let dir = Path::new(tmp).join(format!("{module}-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create a scratch directory");
    dir
}

/// [`scratch`] for the calling module, under the target's temporary folder:
/// `scratch!("name")`.
#[macro_export]
macro_rules! scratch {
    ($name:expr) => {
        $crate::scratch(env!("CARGO_TARGET_TMPDIR"), module_path!(), $name)
    };
}

// ------------------------------------------------------------------ tools

/// Python 3: `$PROFILER_TEST_PYTHON` (to try other versions), else
/// `python3`.
pub fn python() -> String {
    std::env::var("PROFILER_TEST_PYTHON").unwrap_or_else(|_| "python3".to_owned())
}

/// The command `name` on `PATH`, or a failure saying what to install
/// (`hint`).
pub fn tool(name: &str, hint: &str) -> String {
    let ok = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {name}"))
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(
        ok,
        "the reader `{name}` is not installed; this test needs it ({hint})"
    );
    name.to_owned()
}

/// gprof2dot: `$GPROF2DOT`, else `gprof2dot` on `PATH` (CI installs it from
/// PyPI).
pub fn gprof2dot() -> String {
    if let Some(p) = std::env::var_os("GPROF2DOT") {
        return p.to_string_lossy().into_owned();
    }
    tool("gprof2dot", "install it with `pip install gprof2dot`")
}

// --------------------------------------------------------------- profiles

/// The metadata of the hand-built profiles: program `demo`, pid 4242.
pub fn meta() -> Metadata {
    let mut m = Metadata::default();
    m.program = "demo".into();
    m.args = vec!["./demo".into(), "--flag".into()];
    m.pid = 4242;
    m
}

/// A site of the crate `demo`.
pub fn site(name: &str, file: &str, line: u32) -> SiteInfo {
    SiteInfo::new(name, "demo", file, line)
}

/// A call-tree node: `calls` calls of `site` under the node `parent`,
/// `time_ns` inclusive.
pub fn node(site: u32, parent: u32, calls: u64, time_ns: u64) -> Node {
    Node::new(site, parent, calls, time_ns)
}

/// docs/formats.md's verified sample: main -> a -> b, b recursing twice.
/// main 100 ns self, a 200, b 700 self over 3 activations (outer b inclusive
/// 700, the inner calls' inclusive values 400 + 150 = 550).
pub fn sample() -> Profile {
    let sites = vec![
        site("main", "src/demo.rs", 10),
        site("a", "src/demo.rs", 20),
        site("b", "src/demo.rs", 30),
    ];
    let nodes = vec![
        node(0, NO_PARENT, 1, 1000),
        node(1, 0, 1, 900),
        node(2, 1, 1, 700),
        node(2, 2, 1, 400),
        node(2, 3, 1, 150),
    ];
    Profile::new(
        meta(),
        sites,
        vec![ThreadProfile::new(1, "main", 4242, nodes)],
    )
}

// ------------------------------------------------------------ reading them

/// `name`'s ncalls in `p`, summed over every site of that name and thread.
pub fn ncalls(p: &Profile, name: &str) -> u64 {
    let stats = p.stats();
    stats
        .functions()
        .iter()
        .filter(|f| p.sites[f.site as usize].name == name)
        .map(|f| f.figures.ncalls)
        .sum()
}

/// The one thread of `p` called `name`, with its index.
pub fn thread_named<'p>(p: &'p Profile, name: &str) -> (usize, &'p ThreadProfile) {
    let found: Vec<_> = p
        .threads
        .iter()
        .enumerate()
        .filter(|(_, t)| t.name == name)
        .collect();
    assert_eq!(found.len(), 1, "expected one thread named {name}");
    found[0]
}

/// The call tree of the thread called `name`, as `call_tree_text` prints it.
pub fn tree_of(p: &Profile, name: &str) -> String {
    let (i, _) = thread_named(p, name);
    let one = Profile::new(p.meta.clone(), p.sites.clone(), vec![p.threads[i].clone()]);
    one.call_tree_text()
}

// ------------------------------------------------------------------ work

/// Busy for `d` of wall time: real work a clock can see.
pub fn spin(d: Duration) {
    let t = Instant::now();
    while t.elapsed() < d {
        std::hint::spin_loop();
    }
}

/// A future that is pending once (waking itself), then ready.
pub struct YieldOnce(pub bool);

impl Future for YieldOnce {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

/// Runs the browser checks of `tests/browser/report.py` on the report set in
/// `dir` (report.html, profile.prof, profile.json) in headless Chromium,
/// screenshots into `target/browser-artifacts/<artifacts>`. Prints why and
/// returns when python3, selenium or Chromium is missing (the README's test
/// command installs them); panics when a check fails.
pub fn browser_checks(dir: &Path, artifacts: &str) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = Command::new(python())
        .arg(root.join("tests/browser/report.py"))
        .arg(dir)
        .arg(root.join("target/browser-artifacts").join(artifacts))
        .output();
    let out = match out {
        Ok(o) => o,
        Err(e) => {
            println!("browser checks skipped: cannot run python3: {e}");
            return;
        }
    };
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{text}");
    if out.status.code() == Some(77) {
        println!("browser checks skipped: {}", text.trim());
        return;
    }
    assert!(out.status.success(), "browser checks failed:\n{text}");
}
