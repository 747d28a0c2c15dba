//! The `profiler` command-line tool, run as a real process: reports of
//! cProfile files against Python's own pstats output, conversions, merges of
//! a multi-process run, diffs, and bad inputs.
//!
//! Child processes (the profiled program of the merge and diff tests) are
//! this test binary run again with `PROFILER_CLI_TEST_CHILD` set, which turns
//! the `child_process` test into that program. The cProfile tests need
//! `python3` (or `$PROFILER_TEST_PYTHON`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use profiler::emit::flamegraph::{self, FlamegraphOptions};
use profiler::emit::{callgrind, chrome, json, prof, speedscope};
use profiler::{Profile, Session, SortKey, profile};

const BIN: &str = env!("CARGO_BIN_EXE_profiler");
const CHILD_ENV: &str = "PROFILER_CLI_TEST_CHILD";

fn python() -> String {
    std::env::var("PROFILER_TEST_PYTHON").unwrap_or_else(|_| "python3".to_owned())
}

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/python")
        .join(name)
}

/// A fresh scratch directory, unique to this process and test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("profiler-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

/// Runs the tool and expects success.
fn ok(args: &[&str]) -> String {
    let o = run(args);
    assert!(
        o.status.success(),
        "profiler {args:?} failed: {}",
        stderr(&o)
    );
    stdout(&o)
}

fn py(args: &[&str]) -> String {
    let o = Command::new(python())
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("these tests need python3 on PATH (or PROFILER_TEST_PYTHON): {e}")
        });
    assert!(o.status.success(), "python {args:?}: {}", stderr(&o));
    stdout(&o)
}

/// Profiles the Python workload with cProfile into `out`.
fn cprofile(out: &Path, mutual: bool) {
    let s = script("cprofile_workload.py");
    let mut args = vec![s.to_str().unwrap(), out.to_str().unwrap()];
    if mutual {
        args.push("mutual");
    }
    py(&args);
}

/// What pstats prints for `files` (its header lines left out).
fn pstats(report: &str, sort: &str, files: &[&Path]) -> String {
    let s = script("pstats_report.py");
    let mut args = vec![s.to_str().unwrap(), report, sort];
    args.extend(files.iter().map(|f| f.to_str().unwrap()));
    py(&args)
}

// ------------------------------------------------------------ cProfile

#[test]
fn report_of_a_cprofile_file_prints_what_pstats_prints() {
    let dir = scratch("cprofile");
    let prof = dir.join("run.prof");
    cprofile(&prof, false);
    let p = prof.to_str().unwrap();
    for sort in [
        "cumulative",
        "time",
        "calls",
        "pcalls",
        "nfl",
        "stdname",
        "name,line",
        "tottime,filename",
    ] {
        let ours = ok(&["report", p, "--sort", sort]);
        assert_eq!(
            ours,
            pstats("stats", sort, &[&prof]),
            "print_stats sorted by {sort}"
        );
        let ours = ok(&["report", p, "--sort", sort, "--callers"]);
        assert_eq!(
            ours,
            pstats("callers", sort, &[&prof]),
            "print_callers sorted by {sort}"
        );
        let ours = ok(&["report", p, "--sort", sort, "--callees"]);
        assert_eq!(
            ours,
            pstats("callees", sort, &[&prof]),
            "print_callees sorted by {sort}"
        );
    }
    // No note: this program has no mutual recursion, so the import is exact.
    let o = run(&["report", p]);
    assert_eq!(stderr(&o), "");
    // Recursion is there: fib's row reads `total/primitive`.
    assert!(stdout(&o).contains("/3 "), "{}", stdout(&o));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn several_cprofile_files_are_merged_as_pstats_adds_them() {
    let dir = scratch("cprofile-two");
    let a = dir.join("a.prof");
    let b = dir.join("b.prof");
    cprofile(&a, false);
    cprofile(&b, false);
    let args = [
        "report",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--sort",
        "cumulative",
    ];
    // pstats sums the floats of both files; we sum nanoseconds: the same
    // digits unless a sum lands on a rounding edge.
    assert_eq!(ok(&args), pstats("stats", "cumulative", &[&a, &b]));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn mutual_recursion_keeps_calls_and_self_time_and_says_what_differs() {
    let dir = scratch("cprofile-mutual");
    let prof = dir.join("mutual.prof");
    cprofile(&prof, true);
    let o = run(&["report", prof.to_str().unwrap(), "--sort", "nfl"]);
    assert!(o.status.success());
    let note = stderr(&o);
    assert_eq!(note.lines().count(), 1, "{note}");
    assert!(
        note.starts_with(&format!("profiler: note: {}: ", prof.display())),
        "{note}"
    );
    // Columns 1 (ncalls, total part) and 2 (tottime) are exact on every row.
    let ours = stdout(&o);
    let theirs = pstats("stats", "nfl", &[&prof]);
    let cols = |s: &str| -> Vec<(String, String, String)> {
        s.lines()
            .filter(|l| l.contains('(') && !l.contains("Ordered"))
            .map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                let total = f[0].split('/').next().unwrap().to_owned();
                (total, f[1].to_owned(), f[5..].join(" "))
            })
            .collect()
    };
    assert_eq!(cols(&ours), cols(&theirs));
    let _ = std::fs::remove_dir_all(&dir);
}

// ------------------------------------------------------------ a Rust program

#[profile]
fn heavy(n: u64) -> u64 {
    (0..n).fold(0u64, |a, i| {
        std::hint::black_box(a.wrapping_mul(31).wrapping_add(i))
    })
}

#[profile]
fn light(n: u64) -> u64 {
    (0..n).fold(1u64, |a, i| std::hint::black_box(a ^ i))
}

#[profile]
fn step(i: u64) -> u64 {
    light(100_000 + i)
}

#[profile]
fn program(rounds: u64, heavy_factor: u64) -> u64 {
    let mut acc = 0u64;
    for i in 0..rounds {
        acc = acc.wrapping_add(step(i));
        acc = acc.wrapping_add(heavy(5_000_000 * heavy_factor));
    }
    acc
}

/// Not a test in the parent. In a child (`PROFILER_CLI_TEST_CHILD=rounds[,factor]`)
/// it runs `program` in a session configured from the environment
/// (`PROFILER_OUT=dir/%p`) and saves `profile.json` there.
#[test]
fn child_process() {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        return;
    };
    let mut parts = spec.split(',').map(|s| s.parse::<u64>().unwrap());
    let rounds = parts.next().unwrap();
    let factor = parts.next().unwrap_or(1);
    // `%p` in `PROFILER_OUT` is this process's id when the session writes.
    let out = std::env::var("PROFILER_OUT").expect("PROFILER_OUT is set");
    let dir = PathBuf::from(out.replace("%p", &std::process::id().to_string()));
    let guard = Session::from_env().start();
    program(rounds, factor);
    let p = guard.finish().unwrap();
    p.save(dir.join("profile.json")).unwrap();
}

/// Runs `child_process` in a new process writing to `out/%p`; returns the
/// path of its `profile.json`.
fn child(out: &Path, spec: &str) -> PathBuf {
    let c = Command::new(std::env::current_exe().unwrap())
        .args([
            "child_process",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, spec)
        .env("PROFILER_OUT", out.join("%p"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = c.id();
    let o = c.wait_with_output().unwrap();
    assert!(o.status.success(), "child failed: {}", stderr(&o));
    out.join(pid.to_string()).join("profile.json")
}

fn calls_of(p: &Profile, name: &str) -> u64 {
    let st = p.stats();
    st.functions()
        .iter()
        .filter(|f| p.sites[f.site as usize].name == name)
        .map(|f| f.figures.ncalls)
        .sum()
}

#[test]
fn merge_of_a_multi_process_run_gives_the_sum_and_keeps_the_pids() {
    let dir = scratch("merge");
    let runs = [3u64, 5, 4];
    let files: Vec<PathBuf> = runs.iter().map(|r| child(&dir, &r.to_string())).collect();
    let pids: Vec<u32> = files
        .iter()
        .map(|f| {
            f.parent()
                .unwrap()
                .file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    let merged = dir.join("merged.json");
    let mut args = vec!["merge"];
    args.extend(files.iter().map(|f| f.to_str().unwrap()));
    args.extend(["-o", merged.to_str().unwrap()]);
    assert_eq!(ok(&args), "");
    let m = Profile::load(&merged).unwrap();
    assert_eq!(calls_of(&m, "step"), runs.iter().sum::<u64>());
    assert_eq!(calls_of(&m, "program"), 3);
    let mut got: Vec<u32> = m.threads.iter().map(|t| t.pid).collect();
    got.dedup();
    assert_eq!(got, pids);
    // `report` of the three files merges them the same way.
    let direct: Vec<&str> = std::iter::once("report")
        .chain(files.iter().map(|f| f.to_str().unwrap()))
        .collect();
    assert_eq!(ok(&direct), ok(&["report", merged.to_str().unwrap()]));
    // --threads: one report per thread, each under its process.
    let per_thread = ok(&["report", merged.to_str().unwrap(), "--threads"]);
    for pid in &pids {
        assert!(
            per_thread.contains(&format!("(pid {pid}, thread")),
            "{per_thread}"
        );
    }
    // Merging into a .prof writes cProfile's format.
    let prof = dir.join("merged.prof");
    let mut args = vec!["merge"];
    args.extend(files.iter().map(|f| f.to_str().unwrap()));
    args.extend(["-o", prof.to_str().unwrap()]);
    ok(&args);
    assert_eq!(std::fs::read(&prof).unwrap(), prof::to_bytes(&m));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn diff_ranks_the_function_whose_work_doubled_first() {
    let dir = scratch("diff");
    // Four runs of each version, interleaved and merged, to even out the
    // noise of a busy machine; `light` takes a fair share of the time and
    // does not change.
    let (mut b, mut a) = (Vec::new(), Vec::new());
    for _ in 0..4 {
        b.push(child(&dir, "8,1"));
        a.push(child(&dir, "8,2"));
    }
    let merged = |name: &str, runs: &[PathBuf]| -> PathBuf {
        let out = dir.join(name);
        let mut args = vec!["merge"];
        args.extend(runs.iter().map(|r| r.to_str().unwrap()));
        args.extend(["-o", out.to_str().unwrap()]);
        ok(&args);
        out
    };
    let before = merged("before.json", &b);
    let after = merged("after.json", &a);
    let svg = dir.join("diff.svg");
    let out = ok(&[
        "diff",
        before.to_str().unwrap(),
        after.to_str().unwrap(),
        "--svg",
        svg.to_str().unwrap(),
    ]);
    let rows: Vec<&str> = out
        .lines()
        .skip_while(|l| !l.ends_with("  function"))
        .skip(1)
        .collect();
    assert!(rows[0].ends_with("(heavy)"), "{out}");
    let svg_text = std::fs::read_to_string(&svg).unwrap();
    assert!(
        svg_text.contains("<svg") && svg_text.contains("heavy"),
        "{svg_text}"
    );
    // Ranked by calls instead, nothing changed: every function shows +0.
    let by_calls = ok(&[
        "diff",
        before.to_str().unwrap(),
        after.to_str().unwrap(),
        "--by",
        "ncalls",
    ]);
    assert!(by_calls.contains("(heavy)"));
    let _ = std::fs::remove_dir_all(&dir);
}

// ------------------------------------------------------------ convert

/// A profile file with two threads and recursion, saved by the library.
fn saved_profile(dir: &Path) -> PathBuf {
    let path = dir.join("input.json");
    let mut p = profiler::snapshot();
    if p.threads.is_empty() {
        program(1, 1);
        p = profiler::snapshot();
    }
    p.save(&path).unwrap();
    path
}

#[test]
fn convert_writes_what_the_library_writes() {
    let dir = scratch("convert");
    program(2, 1);
    let input = saved_profile(&dir);
    let p = Profile::load(&input).unwrap();
    let i = input.to_str().unwrap();
    type Write = fn(&Profile, &mut Vec<u8>) -> std::io::Result<()>;
    let cases: [(&str, Write); 7] = [
        ("callgrind", |p, w| callgrind::write(p, None, w)),
        ("prof", |p, w| prof::write(p, w)),
        ("flamegraph", |p, w| flamegraph::write_svg(p, w)),
        ("folded", |p, w| {
            flamegraph::write_folded(p, &FlamegraphOptions::default(), w)
        }),
        ("chrome", |p, w| chrome::write(p, w)),
        ("speedscope", |p, w| speedscope::write(p, w)),
        ("json", |p, w| json::write(p, w)),
    ];
    for (to, write) in cases {
        let out = dir.join(format!("out.{to}"));
        ok(&["convert", i, "--to", to, "-o", out.to_str().unwrap()]);
        let mut expected = Vec::new();
        write(&p, &mut expected).unwrap();
        assert!(
            std::fs::read(&out).unwrap() == expected,
            "convert --to {to}"
        );
        // `-o -`: the same bytes on standard output.
        let o = run(&["convert", i, "--to", to, "-o", "-"]);
        assert!(o.status.success());
        assert!(o.stdout == expected, "convert --to {to} -o -");
    }
    // Paraver: three files.
    ok(&[
        "convert",
        i,
        "--to",
        "paraver",
        "-o",
        dir.join("trace").to_str().unwrap(),
        "--force",
    ]);
    for ext in ["prv", "pcf", "row"] {
        assert!(dir.join(format!("trace.{ext}")).is_file());
    }
    // The default output name is the input's, with the format's extension,
    // in the current directory.
    let o = Command::new(BIN)
        .args(["convert", i, "--to", "folded"])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(dir.join("input.folded").is_file());
    // The report of a saved profile is the library's.
    let text = ok(&["report", i, "--sort", "time", "--limit", "3"]);
    assert_eq!(text, p.stats().sort_by(SortKey::Time).limit(3).to_string());
    let text = ok(&["report", i, "--filter", "heavy|light", "--callees"]);
    let st = p
        .stats()
        .sort_by(SortKey::Cumulative)
        .filter(regex::Regex::new("heavy|light").unwrap());
    assert_eq!(text, st.callees().to_string());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_cprofile_file_converts_to_a_prof_that_pstats_prints_the_same() {
    let dir = scratch("prof-round-trip");
    let prof = dir.join("orig.prof");
    cprofile(&prof, false);
    let again = dir.join("again.prof");
    ok(&[
        "convert",
        prof.to_str().unwrap(),
        "--to",
        "prof",
        "-o",
        again.to_str().unwrap(),
    ]);
    for report in ["stats", "callers", "callees"] {
        assert_eq!(
            pstats(report, "cumulative", &[&again]),
            pstats(report, "cumulative", &[&prof]),
            "{report}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

// ------------------------------------------------------------ bad inputs

/// Runs the tool, expects exit status 2 and one line `profiler: <what>...`
/// on standard error, and nothing new in `dir`.
fn refused(dir: &Path, args: &[&str], what: &str) -> String {
    let before: Vec<_> = listing(dir);
    let o = run(args);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
    assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
    assert!(
        err.starts_with(&format!("profiler: {what}")),
        "{args:?}: {err}"
    );
    assert!(!err.contains("internal error"), "{err}");
    assert_eq!(listing(dir), before, "{args:?} left files behind");
    err
}

fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn bad_inputs_get_one_line_and_exit_status_2() {
    let dir = scratch("bad");
    let input = saved_profile(&dir);
    let good = std::fs::read(&input).unwrap();
    let write = |name: &str, bytes: &[u8]| -> String {
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        p.to_str().unwrap().to_owned()
    };
    let empty = write("empty.json", b"");
    let truncated = write("truncated.json", &good[..good.len() / 2]);
    let future = write(
        "future.json",
        String::from_utf8(good.clone())
            .unwrap()
            .replacen("\"version\":1", "\"version\":99", 1)
            .as_bytes(),
    );
    let garbage = write(
        "garbage.bin",
        &[0x7f, b'E', b'L', b'F', 2, 1, 1, 0, 0xff, 0xfe, 0x80],
    );
    // A pstats dict whose value is a 4-tuple (cProfile writes 5).
    let mut shape = vec![b'{', b')', 3, b'z', 4];
    shape.extend_from_slice(b"a.py");
    shape.extend_from_slice(&[b'i', 1, 0, 0, 0, b'z', 1, b'f', b')', 4]);
    for _ in 0..4 {
        shape.extend_from_slice(&[b'i', 1, 0, 0, 0]);
    }
    shape.push(b'0');
    let wrong_shape = write("shape.prof", &shape);
    // A caller entry with 3 items.
    let mut callers = vec![
        b'{', b')', 3, b'z', 1, b'a', b'i', 1, 0, 0, 0, b'z', 1, b'f', b')', 5,
    ];
    callers.extend_from_slice(&[b'i', 1, 0, 0, 0, b'i', 1, 0, 0, 0, b'g']);
    callers.extend_from_slice(&0.5f64.to_le_bytes());
    callers.push(b'g');
    callers.extend_from_slice(&0.5f64.to_le_bytes());
    callers.extend_from_slice(&[
        b'{', b')', 3, b'z', 1, b'a', b'i', 1, 0, 0, 0, b'z', 1, b'f',
    ]);
    callers.extend_from_slice(&[
        b')', 3, b'i', 1, 0, 0, 0, b'i', 1, 0, 0, 0, b'i', 1, 0, 0, 0,
    ]);
    callers.extend_from_slice(b"00");
    let wrong_callers = write("callers.prof", &callers);
    let missing = dir.join("missing.json");
    let missing = missing.to_str().unwrap();

    let e = refused(&dir, &["report", missing], missing);
    assert!(e.contains("No such file"), "{e}");
    let e = refused(&dir, &["report", &empty], &empty);
    assert!(e.contains("empty file"), "{e}");
    let e = refused(&dir, &["report", &truncated], &truncated);
    assert!(e.contains("truncated"), "{e}");
    let e = refused(&dir, &["report", &future], &future);
    assert!(
        e.contains("written by a newer profiler: version 99, this build reads 1"),
        "{e}"
    );
    let e = refused(&dir, &["report", &garbage], &garbage);
    assert!(e.contains("not JSON"), "{e}");
    let e = refused(&dir, &["report", &wrong_shape], &wrong_shape);
    assert!(e.contains("a tuple of 4 items; cProfile writes 5"), "{e}");
    let e = refused(&dir, &["report", &wrong_callers], &wrong_callers);
    assert!(e.contains("a tuple of 3 items; cProfile writes 4"), "{e}");
    // The first bad file of several is named.
    refused(&dir, &["report", input.to_str().unwrap(), &empty], &empty);

    // Outputs: nothing written, not even a temporary file, when the input is
    // bad or the output cannot be written.
    let i = input.to_str().unwrap();
    let out = dir.join("out.json");
    let o = out.to_str().unwrap();
    refused(
        &dir,
        &["convert", &truncated, "--to", "json", "-o", o],
        &truncated,
    );
    refused(&dir, &["merge", i, &future, "-o", o], &future);
    let unwritable = dir.join("empty.json").join("out.json");
    let u = unwritable.to_str().unwrap();
    for to in [
        "json",
        "prof",
        "callgrind",
        "flamegraph",
        "folded",
        "chrome",
        "speedscope",
        "paraver",
    ] {
        refused(&dir, &["convert", i, "--to", to, "-o", u], u);
    }
    refused(&dir, &["merge", i, i, "-o", u], u);
    refused(&dir, &["diff", i, i, "--svg", u], u);
    refused(&dir, &["diff", i, &garbage], &garbage);
    refused(&dir, &["convert", i, "--to", "json", "-o", i], i);

    // Options and usage.
    let e = refused(&dir, &["report", i, "--sort", "cum"], "--sort");
    assert!(e.contains("ambiguous"), "{e}");
    refused(&dir, &["report", i, "--sort", "bogus"], "--sort");
    refused(&dir, &["report", i, "--filter", "(unclosed"], "--filter");
    refused(&dir, &["report", i, "--limit", "many"], "--limit");
    let o = run(&["report"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
    let o = run(&["convert", i, "--to", "pdf"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
    let _ = std::fs::remove_dir_all(&dir);
}

// ------------------------------------------------------------ outputs

/// Runs `args` under `sh -c` with the address space capped at `mib` MiB
/// (`ulimit -v`): an import that tried to fill memory fails to allocate and
/// aborts (status 134) instead of finishing with its one-line error.
fn run_capped(mib: u64, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(format!("ulimit -v {} && exec \"$0\" \"$@\"", mib * 1024))
        .arg(BIN)
        .args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn folded_of(input: &Path) -> Vec<u8> {
    let p = Profile::load(input).unwrap();
    let mut expected = Vec::new();
    flamegraph::write_folded(&p, &FlamegraphOptions::default(), &mut expected).unwrap();
    expected
}

#[test]
fn convert_to_dev_full_reports_the_error_and_keeps_the_device() {
    use std::os::unix::fs::FileTypeExt;
    let full = Path::new("/dev/full");
    if !std::fs::metadata(full).is_ok_and(|m| m.file_type().is_char_device()) {
        eprintln!("skipped: no /dev/full character device here");
        return;
    }
    let dir = scratch("dev-full");
    let input = saved_profile(&dir);
    let o = run(&[
        "convert",
        input.to_str().unwrap(),
        "--to",
        "folded",
        "-o",
        "/dev/full",
    ]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("profiler: /dev/full: "), "{err}");
    assert!(err.contains("No space left on device"), "{err}");
    let meta = std::fs::symlink_metadata(full).unwrap();
    assert!(meta.file_type().is_char_device(), "/dev/full was replaced");
    // /dev/null takes the output, and stays a device too.
    ok(&[
        "convert",
        input.to_str().unwrap(),
        "--to",
        "folded",
        "-o",
        "/dev/null",
    ]);
    assert!(
        std::fs::metadata("/dev/null")
            .unwrap()
            .file_type()
            .is_char_device()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn fifo_output_is_written_through() {
    use std::os::unix::fs::FileTypeExt;
    let dir = scratch("fifo");
    let input = saved_profile(&dir);
    let fifo = dir.join("pipe");
    let made = Command::new("mkfifo").arg(&fifo).status();
    if !made.is_ok_and(|s| s.success()) {
        eprintln!("skipped: mkfifo is not available");
        return;
    }
    let reader = {
        let fifo = fifo.clone();
        std::thread::Builder::new()
            .name("fifo-reader".into())
            .spawn(move || std::fs::read(fifo).unwrap())
            .unwrap()
    };
    ok(&[
        "convert",
        input.to_str().unwrap(),
        "--to",
        "folded",
        "-o",
        fifo.to_str().unwrap(),
    ]);
    assert_eq!(reader.join().unwrap(), folded_of(&input));
    assert!(
        std::fs::symlink_metadata(&fifo)
            .unwrap()
            .file_type()
            .is_fifo()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn symlinked_output_keeps_the_link() {
    let dir = scratch("symlink-out");
    let input = saved_profile(&dir);
    let i = input.to_str().unwrap();
    let target = dir.join("real.folded");
    std::fs::write(&target, b"old\n").unwrap();
    let link = dir.join("link.folded");
    std::os::unix::fs::symlink("real.folded", &link).unwrap();
    ok(&[
        "convert",
        i,
        "--to",
        "folded",
        "-o",
        link.to_str().unwrap(),
        "--force",
    ]);
    assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());
    assert_eq!(std::fs::read_link(&link).unwrap(), Path::new("real.folded"));
    assert_eq!(std::fs::read(&target).unwrap(), folded_of(&input));
    // A link to a link, and a dangling link: the final target is written.
    let link2 = dir.join("link2");
    std::os::unix::fs::symlink(&link, &link2).unwrap();
    ok(&["merge", i, "-o", link2.to_str().unwrap(), "--force"]);
    assert!(std::fs::symlink_metadata(&link2).unwrap().is_symlink());
    assert_eq!(
        Profile::load(&target).unwrap(),
        Profile::load(&input).unwrap()
    );
    let dangling = dir.join("dangling");
    std::os::unix::fs::symlink("made.svg", &dangling).unwrap();
    ok(&["diff", i, i, "--svg", dangling.to_str().unwrap()]);
    assert!(std::fs::symlink_metadata(&dangling).unwrap().is_symlink());
    assert!(dir.join("made.svg").is_file());
    // Paraver's three files, one of them a link.
    let prv = dir.join("real.prv");
    std::fs::write(&prv, b"old\n").unwrap();
    std::os::unix::fs::symlink("real.prv", dir.join("trace.prv")).unwrap();
    ok(&[
        "convert",
        i,
        "--to",
        "paraver",
        "-o",
        dir.join("trace").to_str().unwrap(),
        "--force",
    ]);
    assert!(
        std::fs::symlink_metadata(dir.join("trace.prv"))
            .unwrap()
            .is_symlink()
    );
    assert!(std::fs::read(&prv).unwrap().starts_with(b"#Paraver"));
    for f in ["trace.prv", "trace.pcf", "trace.row", "real.prv"] {
        std::fs::remove_file(dir.join(f)).unwrap();
    }
    // Nothing else was left behind (no temporary files).
    assert_eq!(
        listing(&dir),
        [
            "dangling",
            "input.json",
            "link.folded",
            "link2",
            "made.svg",
            "real.folded"
        ]
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn output_keeps_permission_bits() {
    use std::os::unix::fs::PermissionsExt;
    let dir = scratch("mode");
    let input = saved_profile(&dir);
    let out = dir.join("secret.prof");
    std::fs::write(&out, b"old").unwrap();
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o600)).unwrap();
    let i = input.to_str().unwrap();
    ok(&[
        "convert",
        i,
        "--to",
        "prof",
        "-o",
        out.to_str().unwrap(),
        "--force",
    ]);
    let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o600, "{mode:o}");
    assert_ne!(std::fs::read(&out).unwrap(), b"old");
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o640)).unwrap();
    ok(&["merge", i, i, "-o", out.to_str().unwrap(), "--force"]);
    let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o640, "{mode:o}");
    // The new file was written in a private directory, gone again.
    assert_eq!(listing(&dir), ["input.json", "secret.prof"]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn diff_svg_naming_an_input_is_refused() {
    let dir = scratch("svg-input");
    let input = saved_profile(&dir);
    let i = input.to_str().unwrap();
    let before = std::fs::read(&input).unwrap();
    refused(&dir, &["diff", i, i, "--svg", i], i);
    // Through a symlink, a hard link or another spelling of the path: the
    // same file, refused by every subcommand.
    let link = dir.join("link.svg");
    std::os::unix::fs::symlink(&input, &link).unwrap();
    let hard = dir.join("hard.json");
    std::fs::hard_link(&input, &hard).unwrap();
    let dotted = dir.join(".").join("input.json");
    for out in [&link, &hard, &dotted] {
        let o = out.to_str().unwrap();
        refused(&dir, &["diff", i, i, "--svg", o], o);
        refused(&dir, &["convert", i, "--to", "json", "-o", o], o);
        refused(&dir, &["merge", i, i, "-o", o], o);
    }
    // Paraver: any of the three files.
    let pcf = dir.join("trace.pcf");
    std::fs::hard_link(&input, &pcf).unwrap();
    let base = dir.join("trace");
    refused(
        &dir,
        &[
            "convert",
            pcf.to_str().unwrap(),
            "--to",
            "paraver",
            "-o",
            base.to_str().unwrap(),
        ],
        pcf.to_str().unwrap(),
    );
    assert_eq!(std::fs::read(&input).unwrap(), before);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn dash_o_dash_writes_stdout() {
    let dir = scratch("dash");
    let input = saved_profile(&dir);
    let i = input.to_str().unwrap();
    let o = run(&["convert", i, "--to", "folded", "-o", "-"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(o.stdout, folded_of(&input));
    let o = run(&["merge", i, "-o", "-"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let merged = profiler::load::from_bytes(&o.stdout, Path::new("-"))
        .unwrap()
        .profile;
    assert_eq!(merged, Profile::load(&input).unwrap());
    let o = run(&["diff", i, i, "--svg", "-"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("<svg"), "{}", stdout(&o));
    assert!(!dir.join("-").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

// ------------------------------------------------------------ hostile inputs

/// A `.prof` whose `keys` function keys all name one `len`-byte file name
/// through marshal back-references (5 bytes each), and share one value.
fn shared_reference_prof(len: usize, keys: u32) -> Vec<u8> {
    let mut b = vec![b'{', b')', 3, b'a' | 0x80];
    b.extend_from_slice(&(len as i32).to_le_bytes());
    b.resize(b.len() + len, b'x');
    b.extend_from_slice(&[b'i', 0, 0, 0, 0, b'z' | 0x80, 1, b'f']);
    b.extend_from_slice(&[b')' | 0x80, 5, b'i', 1, 0, 0, 0, b'i', 1, 0, 0, 0]);
    for _ in 0..2 {
        b.push(b'g');
        b.extend_from_slice(&0.0f64.to_le_bytes());
    }
    b.extend_from_slice(b"{0");
    for line in 1..keys {
        b.extend_from_slice(&[b')', 3, b'r', 0, 0, 0, 0, b'i']);
        b.extend_from_slice(&line.to_le_bytes());
        b.extend_from_slice(&[b'r', 1, 0, 0, 0, b'r', 2, 0, 0, 0]);
    }
    b.push(b'0');
    b
}

#[test]
fn prof_with_shared_back_references_is_bounded() {
    let dir = scratch("shared-refs");
    // 1.1 MB naming a 1 MB string from 5,000 keys: 5 GB once copied per key.
    let big = dir.join("big.prof");
    std::fs::write(&big, shared_reference_prof(1 << 20, 5_000)).unwrap();
    let b = big.to_str().unwrap();
    let o = run_capped(1024, &["report", b], &[]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with(&format!("profiler: {b}: ")), "{err}");
    assert!(err.contains("more than the limit of 256 MiB"), "{err}");
    // A few keys sharing it are fine: each function's name is copied once.
    let small = dir.join("small.prof");
    std::fs::write(&small, shared_reference_prof(1 << 20, 8)).unwrap();
    let o = run_capped(1024, &["report", small.to_str().unwrap()], &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let rows = stdout(&o).lines().filter(|l| l.ends_with("(f)")).count();
    assert_eq!(rows, 8);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn report_dev_zero_stops_at_the_input_limit() {
    let dir = scratch("dev-zero");
    if Path::new("/dev/zero").exists() {
        // The first block shows it is no profile: stop there.
        let o = run_capped(256, &["report", "/dev/zero"], &[]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(
            err.starts_with("profiler: /dev/zero: not JSON: expected value at line 1 column 1"),
            "{err}"
        );
    }
    // An endless stream that could be JSON: stopped at the limit.
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg("ulimit -v 262144 && yes '{' | \"$0\" report /dev/stdin")
        .arg(BIN)
        .env("PROFILER_MAX_INPUT", "1000000");
    let o = cmd.output().unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert_eq!(
        err.trim_end(),
        "profiler: /dev/stdin: too large: the limit on an input is 1000000 bytes, \
         the file holds more than that"
    );
    // A regular file over the limit is refused before it is read.
    let big = dir.join("big.json");
    std::fs::write(&big, vec![b' '; 3 << 20]).unwrap();
    let b = big.to_str().unwrap();
    let o = run_capped(256, &["report", b], &[("PROFILER_MAX_INPUT", "2097152")]);
    assert_eq!(
        stderr(&o).trim_end(),
        format!(
            "profiler: {b}: too large: the limit on an input is 2097152 bytes (2 MiB), \
             the file holds 3145728 bytes"
        )
    );
    let o = run(&["report", b]);
    assert!(stderr(&o).contains("empty file"), "{}", stderr(&o));
    let o = Command::new(BIN)
        .args(["report", b])
        .env("PROFILER_MAX_INPUT", "lots")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).starts_with("profiler: PROFILER_MAX_INPUT: expected a size in bytes"),
        "{}",
        stderr(&o)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn prof_with_non_utf8_filename_is_read_lossily() {
    let dir = scratch("non-utf8");
    let prof = dir.join("run.prof");
    // A script under a directory whose name is not UTF-8, run under
    // cProfile: Python keeps the name with a lone surrogate and marshal
    // writes it with surrogatepass, bytes that are not UTF-8.
    let program = r#"
import cProfile, os, sys
base = sys.argv[1]
d = os.path.join(os.fsencode(base), b"caf\xe9")
os.makedirs(d, exist_ok=True)
script = os.path.join(d, b"work.py")
with open(script, "w") as f:
    f.write("def work(n):\n    return sum(range(n))\n")
sys.path.insert(0, os.fsdecode(d))
import work
cProfile.run("work.work(1000)", sys.argv[2])
import pstats
pstats.Stats(sys.argv[2])
"#;
    py(&["-c", program, dir.to_str().unwrap(), prof.to_str().unwrap()]);
    let o = run(&["report", prof.to_str().unwrap()]);
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    let out = stdout(&o);
    assert!(out.contains("caf\u{FFFD}"), "{out}");
    assert!(out.contains("work.py:1(work)"), "{out}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("string(s) are not valid UTF-8") && err.contains("U+FFFD"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn duplicate_version_key_is_named() {
    let dir = scratch("dup-version");
    let input = saved_profile(&dir);
    let good = std::fs::read_to_string(&input).unwrap();
    let dup = dir.join("dup.json");
    std::fs::write(
        &dup,
        good.replacen("\"version\":1", "\"version\":1,\"version\":1", 1),
    )
    .unwrap();
    let d = dup.to_str().unwrap();
    let e = refused(&dir, &["report", d], d);
    assert!(
        e.contains("not a profile: duplicate field `version` at line 1 column"),
        "{e}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bom_is_accepted() {
    let dir = scratch("bom");
    let input = saved_profile(&dir);
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend(std::fs::read(&input).unwrap());
    let bom = dir.join("bom.json");
    std::fs::write(&bom, bytes).unwrap();
    assert_eq!(
        ok(&["report", bom.to_str().unwrap()]),
        ok(&["report", input.to_str().unwrap()])
    );
    assert_eq!(Profile::load(&bom).unwrap(), Profile::load(&input).unwrap());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn overlapping_timeline_spans_get_a_note() {
    let dir = scratch("overlap");
    let input = saved_profile(&dir);
    let mut p = Profile::load(&input).unwrap();
    let t = p.threads[0].clone();
    let site = t.nodes[0].site;
    // [0, 100] and [50, 150]: a recording never overlaps spans like this.
    p.threads[0] = t.with_timeline(
        vec![
            profiler::Span::new(site, 0, 100),
            profiler::Span::new(site, 50, 100),
        ],
        0,
    );
    let edited = dir.join("edited.json");
    p.save(&edited).unwrap();
    let o = run(&[
        "convert",
        edited.to_str().unwrap(),
        "--to",
        "chrome",
        "-o",
        "/dev/null",
    ]);
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("1 timeline span(s) overlap a span without nesting in it"),
        "{err}"
    );
    let o = run(&[
        "convert",
        input.to_str().unwrap(),
        "--to",
        "chrome",
        "-o",
        "-",
    ]);
    assert!(!stderr(&o).contains("span(s) overlap"), "{}", stderr(&o));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Issue 17, item 10: `convert` and `merge` say what they wrote, and never
/// replace an existing file (a session's richer `profile.json`) without
/// `--force`.
#[test]
fn convert_and_merge_say_what_they_wrote_and_refuse_to_clobber() {
    let dir = scratch("clobber");
    let input = saved_profile(&dir);
    let i = input.to_str().unwrap();
    // Without -o, next to the current folder, named after the input.
    let o = Command::new(env!("CARGO_BIN_EXE_profiler"))
        .args(["convert", i, "--to", "html"])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stderr(&o), "profiler: wrote input.html (html)\n");
    assert!(dir.join("input.html").is_file());
    // Again: refused, the file untouched, the one line names it.
    let before = std::fs::read(dir.join("input.html")).unwrap();
    std::fs::write(dir.join("input.html"), b"mine").unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_profiler"))
        .args(["convert", i, "--to", "html"])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        "profiler: input.html: exists: give --force to replace it, or another output with -o\n"
    );
    assert_eq!(std::fs::read(dir.join("input.html")).unwrap(), b"mine");
    // A merge onto the session's profile.json is refused too.
    let session = dir.join("profile.json");
    std::fs::copy(&input, &session).unwrap();
    let o = run(&["merge", i, i, "-o", session.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(
        std::fs::read(&session).unwrap(),
        std::fs::read(&input).unwrap()
    );
    // With --force both go ahead, and say so.
    let o = Command::new(env!("CARGO_BIN_EXE_profiler"))
        .args(["convert", i, "--to", "html", "--force"])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(std::fs::read(dir.join("input.html")).unwrap(), before);
    let o = run(&["merge", i, i, "-o", session.to_str().unwrap(), "--force"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        format!("profiler: wrote {} (json)\n", session.display())
    );
    // Standard output is no file: nothing refused, nothing said.
    let o = run(&["convert", i, "--to", "folded", "-o", "-"]);
    assert!(o.status.success());
    assert_eq!(stderr(&o), "");
    let _ = std::fs::remove_dir_all(&dir);
}
