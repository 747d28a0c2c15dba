//! The `profiler` command-line tool, run as a real process: reports of
//! cProfile files against Python's own pstats output, conversions, merges of
//! a multi-process run, diffs, and bad inputs.
//!
//! Child processes (the profiled program of the merge and diff tests) are
//! this test binary run again with `PROFILER_CLI_TEST_CHILD` set, which turns
//! the `child_process` test into that program. The cProfile tests need
//! `python3` (or `$PROFILER_TEST_PYTHON`).
#![cfg(all(feature = "cli", feature = "enable"))]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use profiler::emit::flamegraph::{self, FlamegraphOptions};
use profiler::emit::{callgrind, chrome, pstats_file, speedscope};
use profiler::profile::file;
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
    assert_eq!(std::fs::read(&prof).unwrap(), pstats_file::to_bytes(&m));
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
        ("prof", |p, w| pstats_file::write(p, w)),
        ("flamegraph", |p, w| flamegraph::write_svg(p, w)),
        ("folded", |p, w| {
            flamegraph::write_folded(p, &FlamegraphOptions::default(), w)
        }),
        ("chrome", |p, w| chrome::write(p, w)),
        ("speedscope", |p, w| speedscope::write(p, w)),
        ("json", |p, w| file::write(p, w)),
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
