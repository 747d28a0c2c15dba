//! The `workloads` program: errors exit with status 2 and one line, `run`
//! writes every report, `scale` writes its chart.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const SMALL: &[&str] = &[
    "--files=3",
    "--nums-per-file=1000",
    "--arrays=2",
    "--len=70000",
    "--samples=1100000",
    "--width=60",
    "--height=30",
    "--max-iter=100",
    "--units=12",
    "--matrix-size=32",
    "--leaf-size=4",
    "--points=70000",
    "--steps=5",
];

fn workloads(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_workloads"))
        .args(args)
        .output()
        .expect("run workloads")
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("workloads-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// Exit status 2 and exactly one line on standard error mentioning `needle`.
fn assert_usage_error(args: &[&str], needle: &str) {
    let out = workloads(args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    assert_eq!(err.lines().count(), 1, "{args:?}: not one line: {err:?}");
    assert!(err.contains(needle), "{args:?}: {err:?} lacks {needle:?}");
    assert!(out.stdout.is_empty(), "{args:?}: printed {:?}", out.stdout);
}

#[test]
fn bad_options_exit_2_with_one_line() {
    assert_usage_error(&["run", "pi", "--bogus"], "--bogus");
    assert_usage_error(&["run", "pi", "--threads", "lots"], "lots");
    assert_usage_error(&["frobnicate"], "frobnicate");
    assert_usage_error(&["run"], "<NAME>");
}

#[test]
fn bad_sizes_exit_2_with_one_line() {
    assert_usage_error(&["run", "pi", "--threads", "0"], "--threads");
    assert_usage_error(&["run", "all", "--files", "0"], "--files");
    assert_usage_error(&["run", "axpy", "--nums-per-file=0"], "--nums-per-file");
    assert_usage_error(&["run", "sums", "--len", "0"], "--len");
    assert_usage_error(
        &["run", "amdahl", "--serial-fraction", "1.5"],
        "--serial-fraction",
    );
    assert_usage_error(
        &["run", "recursion", "--matrix-size", "100"],
        "--matrix-size",
    );
    assert_usage_error(&["run", "nosuch"], "nosuch");
    assert_usage_error(&["run", "pi", "--mode", "overlapped"], "overlapped");
    assert_usage_error(&["run", "pi", "--mode", "fast"], "fast");
    assert_usage_error(&["scale", "pi", "--threads", "1,0"], "--threads");
    assert_usage_error(&["scale", "pi", "--repeats", "0"], "--repeats");
}

fn assert_reports(dir: &Path) {
    for f in [
        "pstats.txt",
        "profile.prof",
        "callgrind.out",
        "flamegraph.svg",
        "report.html",
    ] {
        let p = dir.join(f);
        let len = std::fs::metadata(&p)
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
            .len();
        assert!(len > 0, "{} is empty", p.display());
    }
}

#[test]
fn run_all_writes_every_report_and_cleans_up() {
    let out = temp_dir("run");
    let mut args = vec![
        "run",
        "all",
        "--threads",
        "3",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(SMALL);
    let o = workloads(&args);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    for w in [
        "axpy",
        "sums",
        "pi",
        "imbalance",
        "amdahl",
        "recursion",
        "halo",
    ] {
        assert!(stdout.contains(&format!("== {w}:")), "{stdout}");
        assert_reports(&out.join(w));
        // The flame graph's title names this workload, not `all`; the line
        // under it gives the totals (issue 17, item 5).
        if workloads::INSTRUMENTED {
            let svg = std::fs::read_to_string(out.join(w).join("flamegraph.svg")).unwrap();
            let title = format!("Flame Graph: workloads run {w} --threads 3");
            assert!(svg.contains(&title), "{w}: no {title:?}");
            assert!(
                svg.contains(" in profiled scopes, ") && svg.contains(" calls, "),
                "{w}: no totals"
            );
        }
    }
    assert_eq!(
        stdout.matches("every mode gives the same answer").count(),
        7,
        "{stdout}"
    );
    if workloads::INSTRUMENTED {
        assert!(stdout.contains("ncalls  tottime  percall  cumtime  percall"));
        let pstats = std::fs::read_to_string(out.join("recursion/pstats.txt")).unwrap();
        // 32 x 32 matrices, leaf 4: 64 products of 1 + 8 calls; three modes.
        assert!(pstats.contains("1728/192"), "{pstats}");
    }
    // Only the reports are left: axpy's work folder is gone.
    for e in std::fs::read_dir(out.join("axpy")).unwrap() {
        let e = e.unwrap();
        assert!(e.file_type().unwrap().is_file(), "left behind: {e:?}");
    }
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn run_one_mode() {
    let out = temp_dir("mode");
    let mut args = vec![
        "run",
        "imbalance",
        "--mode",
        "threads",
        "--threads",
        "2",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(SMALL);
    let o = workloads(&args);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{stdout}");
    if workloads::INSTRUMENTED {
        assert!(stdout.contains("load balance"), "{stdout}");
    }
    assert!(!stdout.contains("   dynamic "), "{stdout}");
    assert_reports(&out.join("imbalance"));
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn scale_prints_figures_and_writes_the_chart() {
    let out = temp_dir("scale");
    let mut args = vec![
        "scale",
        "amdahl",
        "--threads",
        "1,2,3",
        "--repeats",
        "1",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(SMALL);
    let o = workloads(&args);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(stdout.contains("Karp-Flatt"), "{stdout}");
    assert!(stdout.contains("Amdahl fit"), "{stdout}");
    let svg = std::fs::read_to_string(out.join("amdahl/speedup.svg")).unwrap();
    assert!(svg.starts_with("<svg"), "{}", &svg[..svg.len().min(200)]);
    assert!(svg.contains("measured") && svg.contains("ideal"));
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn time_prints_one_line_per_workload() {
    let mut args = vec!["time", "all", "--repeats", "1", "--threads", "2"];
    args.extend_from_slice(SMALL);
    let o = workloads(&args);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{stdout}");
    assert_eq!(stdout.lines().filter(|l| l.starts_with("time ")).count(), 7);
}

#[test]
fn list_says_whether_instrumented() {
    let o = workloads(&["list"]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    let expected = format!("instrumented: {}", workloads::INSTRUMENTED);
    assert!(stdout.starts_with(&expected), "{stdout}");
}
