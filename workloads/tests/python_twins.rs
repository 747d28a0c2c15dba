//! The Python twins (workloads/python/) give the Rust workloads' answers on
//! small sizes: bit for bit where they share the data (axpy, sums) or the
//! arithmetic is exact (amdahl), within five standard deviations for pi
//! (different generators). Skipped, with the reason on standard error, where
//! python3 or NumPy is missing. `workloads compare` itself is run on small
//! sizes too, and its errors checked.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use workloads::{Mode, Sizes, axpy, sums};

/// Whether python3 with NumPy is here; says why not on standard error.
fn numpy_here(test: &str) -> bool {
    match Command::new("python3")
        .args(["-c", "import numpy"])
        .output()
    {
        Ok(o) if o.status.success() => true,
        Ok(_) => {
            eprintln!("{test}: skipped: NumPy is missing (python3 -m pip install numpy)");
            false
        }
        Err(e) => {
            eprintln!("{test}: skipped: python3 not found ({e}); install it and NumPy");
            false
        }
    }
}

/// Runs a twin from the source tree; returns its JSON line.
fn twin(script: &str, args: &[String]) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("python")
        .join(script);
    let out = Command::new("python3")
        .arg(&path)
        .args(args)
        .output()
        .expect("run python3");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{script} {args:?}: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = stdout.lines().last().expect("a line");
    let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{line:?}: {e}"));
    assert!(v["seconds"].as_f64().is_some_and(|s| s >= 0.0), "{v}");
    v
}

fn hex(x: u64) -> String {
    format!("{x:#018x}")
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("workloads-twins-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

#[test]
fn axpy_twin_gives_the_rust_fingerprint() {
    if !numpy_here("axpy_twin_gives_the_rust_fingerprint") {
        return;
    }
    let parent = temp_dir("axpy");
    let cfg = axpy::Config {
        work_dir: Some(parent.clone()),
        alpha: -0.75,
        ..axpy::Config::small()
    };
    let input = axpy::prepare(&cfg, 2).expect("prepare");
    let rust = axpy::run(&input, Mode::Seq, 1).expect("run");
    for (mode, workers) in [("seq", 1), ("pool", 2)] {
        let v = twin(
            "axpy.py",
            &[
                format!("--dir={}", input.dir().display()),
                format!("--files={}", cfg.files),
                format!("--nums-per-file={}", cfg.nums_per_file),
                format!("--alpha={}", cfg.alpha),
                format!("--mode={mode}"),
                format!("--workers={workers}"),
            ],
        );
        let a = &v["answer"];
        assert_eq!(a["files"].as_u64(), Some(cfg.files as u64), "{mode}");
        assert_eq!(a["sum_bits"], hex(rust.sum.to_bits()), "{mode}: {a}");
        // The twin's answer is read back from the files it wrote.
        assert_eq!(a["hash"], hex(rust.hash), "{mode}: {a}");
    }
    drop(input);
    std::fs::remove_dir_all(&parent).expect("remove");
}

#[test]
fn sums_twin_gives_the_rust_total() {
    if !numpy_here("sums_twin_gives_the_rust_total") {
        return;
    }
    let dir = temp_dir("sums");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let cfg = sums::Config::small();
    let input = sums::prepare(&cfg, 2).expect("prepare");
    for (k, v) in input.arrays.iter().enumerate() {
        axpy::write_vector(&dir.join(format!("array_{k:05}.bin")), v).expect("write");
    }
    let rust = sums::run(&input, Mode::Seq, 1).expect("run");
    for mode in ["seq", "threads", "element"] {
        let v = twin(
            "sums.py",
            &[
                format!("--dir={}", dir.display()),
                format!("--arrays={}", cfg.arrays),
                format!("--len={}", cfg.len),
                format!("--mode={mode}"),
                "--workers=2".into(),
            ],
        );
        let a = &v["answer"];
        assert_eq!(a["total_bits"], hex(rust.total.to_bits()), "{mode}: {a}");
        assert_eq!(a["elements"].as_u64(), Some(rust.elements), "{mode}");
    }
    std::fs::remove_dir_all(&dir).expect("remove");
}

#[test]
fn pi_twin_agrees_within_five_sd() {
    if !numpy_here("pi_twin_agrees_within_five_sd") {
        return;
    }
    let cfg = Sizes::small().pi;
    let rust = workloads::pi::run(&cfg, Mode::Seq, 1).expect("run");
    let mut hits = Vec::new();
    for mode in ["seq", "pool"] {
        let v = twin(
            "pi.py",
            &[
                format!("--samples={}", cfg.samples),
                format!("--seed={}", cfg.seed),
                format!("--mode={mode}"),
                "--workers=2".into(),
            ],
        );
        let a = &v["answer"];
        assert_eq!(a["samples"].as_u64(), Some(cfg.samples));
        let h = a["hits"].as_u64().expect("hits");
        let p = std::f64::consts::FRAC_PI_4;
        let sd = 4.0 * (2.0 * p * (1.0 - p) / cfg.samples as f64).sqrt();
        let diff = (4.0 * h as f64 / cfg.samples as f64 - rust.pi()).abs();
        assert!(diff <= 5.0 * sd, "{mode}: pi differs by {diff} > 5 sd {sd}");
        hits.push(h);
    }
    // One stream per chunk: the pool draws the same points as seq.
    assert_eq!(hits[0], hits[1]);
}

#[test]
fn amdahl_twin_gives_the_rust_checksum() {
    if !numpy_here("amdahl_twin_gives_the_rust_checksum") {
        return;
    }
    // 0.3 * 45 = 13.5: a half, which Rust rounds away from zero.
    let cfg = workloads::amdahl::Config {
        units: 45,
        serial_fraction: 0.3,
    };
    let rust = workloads::amdahl::run(&cfg, Mode::Seq, 1).expect("run");
    for mode in ["seq", "pool"] {
        let v = twin(
            "amdahl.py",
            &[
                format!("--units={}", cfg.units),
                format!("--serial-fraction={}", cfg.serial_fraction),
                format!("--mode={mode}"),
                "--workers=2".into(),
            ],
        );
        let a = &v["answer"];
        assert_eq!(a["sum"], hex(rust.sum), "{mode}: {a}");
        assert_eq!(
            a["serial_units"].as_u64(),
            Some(rust.serial_units),
            "{mode}"
        );
        assert_eq!(a["parallel_units"].as_u64(), Some(rust.parallel_units));
    }
}

fn workloads_bin(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_workloads"))
        .args(args)
        .output()
        .expect("run workloads")
}

const SMALL: &[&str] = &[
    "--files=3",
    "--nums-per-file=1000",
    "--arrays=2",
    "--len=70000",
    "--samples=1100000",
    "--units=12",
    "--repeats=1",
    "--threads=2",
];

/// `compare all` on small sizes: every row agrees, the exit status is 0.
#[test]
fn compare_all_agrees_on_small_sizes() {
    if !numpy_here("compare_all_agrees_on_small_sizes") {
        return;
    }
    let parent = temp_dir("compare");
    let wd = format!("--work-dir={}", parent.display());
    let mut args = vec!["compare", "all", wd.as_str()];
    args.extend_from_slice(SMALL);
    let out = workloads_bin(&args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| workload"))
        .collect();
    // 4 + 4 + 3 + 3 modes.
    assert_eq!(rows.len(), 14, "{stdout}");
    for r in rows {
        assert!(r.contains("| yes, "), "{r}");
    }
    assert!(stdout.contains("answers agree in every row"), "{stdout}");
    // The work folder is gone, files and all.
    assert_eq!(std::fs::read_dir(&parent).expect("parent").count(), 0);
    std::fs::remove_dir(&parent).expect("remove");
}

/// One line and a non-zero status: a workload without a twin, and a
/// missing interpreter (which says how to install NumPy).
#[test]
fn compare_errors_are_one_line() {
    let out = workloads_bin(&["compare", "halo"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("halo has no Python twin"), "{err}");

    let out = workloads_bin(&["compare", "pi", "--python=/nonexistent/python3"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("-m pip install numpy"), "{err}");
    assert!(out.stdout.is_empty());
}
