//! `workloads compare`: each Rust mode of a workload against its Python
//! twin (the NumPy programs in `workloads/python/`), in alternating runs on
//! the same input, with the answers checked against each other.
//!
//! Both sides start warm: one untimed run of each comes first, then
//! `--repeats` pairs, Rust then Python; the medians are compared. `axpy`'s
//! twin reads the same input files and overwrites the same existing result
//! files; `sums`' twin sums the same bytes (the Rust arrays, written to
//! files that it reads before its clock starts). Rust times the run phase
//! in this process (thread and pool start-up included); each twin times its
//! own run phase (pool start-up and shut-down included; interpreter start-up,
//! the NumPy import and loading `sums`' arrays are not in it).

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

use clap::Args;
use serde_json::Value;
use workloads::{Error, Input, Mode, Sizes, Workload, amdahl, axpy, pi, scaling, sums};

use super::sizes::SizeArgs;
use super::{Selection, at_least_one, thread_count, threads_or_cores, timed_on_thread};

/// The points `compare pi` draws unless told: a quarter of `run`'s default,
/// since the NumPy twin takes about 1.5 s for them on one core (6 s for
/// `run`'s 400,000,000) and every mode runs twelve times.
pub(crate) const COMPARE_PI_SAMPLES: &str = "100000000";

/// The workloads with a Python twin, and the twin's script (built into the
/// program and written into the work folder for each comparison).
const TWINS: [(Workload, &str, &str); 4] = [
    (
        Workload::Axpy,
        "axpy.py",
        include_str!("../../python/axpy.py"),
    ),
    (
        Workload::Sums,
        "sums.py",
        include_str!("../../python/sums.py"),
    ),
    (Workload::Pi, "pi.py", include_str!("../../python/pi.py")),
    (
        Workload::Amdahl,
        "amdahl.py",
        include_str!("../../python/amdahl.py"),
    ),
];

/// Standard deviations of the difference of the two `pi` estimates within
/// which they agree (different generators: the hit counts differ).
pub(crate) const PI_SIGMAS: f64 = 5.0;

/// The options of `compare`.
#[derive(Args, Debug)]
#[command(mut_arg("samples", |a| a.default_value(COMPARE_PI_SAMPLES)))]
pub(crate) struct CompareArgs {
    /// A workload with a Python twin (axpy, sums, pi, amdahl) or `all`.
    #[arg(value_name = "NAME")]
    name: Selection,
    /// Rust worker threads and Python worker threads or processes [default:
    /// the available cores].
    #[arg(long, short = 't', value_parser = thread_count())]
    threads: Option<usize>,
    /// Compare only this Rust mode with its twin [default: every mode].
    #[arg(long, short = 'm')]
    mode: Option<Mode>,
    /// Timed runs of each side, alternating (after one untimed run of
    /// each); the medians are compared.
    #[arg(long, short = 'r', default_value_t = 5, value_parser = at_least_one())]
    repeats: usize,
    /// The Python interpreter of the twins (it needs NumPy).
    #[arg(long, default_value = "python3")]
    python: PathBuf,
    #[command(flatten)]
    sizes: SizeArgs,
}

/// What a twin runs for a Rust mode: its `--mode` and how to say it.
fn twin_mode(w: Workload, m: Mode, workers: usize) -> (&'static str, String) {
    match (w, m) {
        (_, Mode::Seq) => ("seq", "seq".to_owned()),
        (Workload::Sums, Mode::Element) => {
            ("element", format!("element loop, ThreadPool({workers})"))
        }
        (Workload::Sums, _) => ("threads", format!("np.sum, ThreadPool({workers})")),
        _ => ("pool", format!("Pool({workers} processes)")),
    }
}

/// The workloads and modes to compare: every twin's workload for `all`.
fn plan(name: Selection, mode: Option<Mode>) -> Result<Vec<(Workload, Vec<Mode>)>, Error> {
    let with_twin: Vec<Workload> = TWINS.iter().map(|t| t.0).collect();
    let chosen = match name {
        Selection::All => with_twin,
        Selection::One(w) if with_twin.contains(&w) => vec![w],
        Selection::One(w) => {
            let names: Vec<&str> = with_twin.iter().map(|w| w.name()).collect();
            return Err(Error::Invalid(format!(
                "{w} has no Python twin (the workloads with one: {}, all)",
                names.join(", ")
            )));
        }
    };
    chosen
        .into_iter()
        .map(|w| match mode {
            Some(m) if m.is_mpi() => Err(Error::Invalid(format!(
                "mode '{m}' has no Python twin (MPI modes run under mpiexec)"
            ))),
            Some(m) => w.check_mode(m).map(|_| (w, vec![m])),
            None => Ok((w, w.modes().to_vec())),
        })
        .collect()
}

/// Checks that `python` runs and imports NumPy; returns the versions, or
/// one line saying what is missing and how to install it.
fn check_python(python: &Path) -> Result<String, Error> {
    let install = format!("{} -m pip install numpy", python.display());
    let out = Command::new(python)
        .args([
            "-c",
            "import sys, numpy; print('Python', sys.version.split()[0] + ', NumPy', numpy.__version__)",
        ])
        .output()
        .map_err(|e| {
            Error::Failed(format!(
                "cannot run {} ({e}): the Python twins need Python 3 with NumPy; install \
                 Python 3, then NumPy with `{install}`",
                python.display()
            ))
        })?;
    if !out.status.success() {
        return Err(Error::Failed(format!(
            "NumPy is missing for {} (`import numpy` failed): install it with `{install}`",
            python.display()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// A folder removed, with its contents, when dropped.
struct WorkDir(PathBuf);

impl WorkDir {
    /// A fresh folder under `parent` (created if needed).
    fn new(parent: &Path) -> Result<Self, Error> {
        std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        let pid = std::process::id();
        for n in 0.. {
            let dir = parent.join(format!("workloads-compare-{pid}-{n}"));
            match std::fs::create_dir(&dir) {
                Ok(()) => return Ok(WorkDir(dir)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(Error::io(&dir, e)),
            }
        }
        unreachable!("an unbounded range ends only by returning")
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.0) {
            eprintln!("workloads: cannot remove {}: {e}", self.0.display());
        }
    }
}

/// A Rust run's answer, typed, for checking the twin's.
#[derive(Clone, Debug, PartialEq)]
enum RustAnswer {
    Axpy(axpy::Checksum),
    Sums(sums::Sum),
    Pi(pi::Estimate),
    Amdahl(amdahl::Checksum),
}

/// Runs `mode` once on a fresh thread named after the workload; returns the
/// wall time in seconds and the answer.
fn run_rust(input: &Input, mode: Mode, threads: usize) -> Result<(f64, RustAnswer), Error> {
    let w = input.workload();
    timed_on_thread(w, || match input {
        Input::Axpy(i) => axpy::run(i, mode, threads).map(RustAnswer::Axpy),
        Input::Sums(i) => sums::run(i, mode, threads).map(RustAnswer::Sums),
        Input::Pi(c) => pi::run(c, mode, threads).map(RustAnswer::Pi),
        Input::Amdahl(c) => amdahl::run(c, mode, threads).map(RustAnswer::Amdahl),
        _ => Err(Error::Invalid(format!("{w} has no Python twin"))),
    })
}

/// Runs a twin: `python script args`; returns its `seconds` and `answer`
/// (the last line of its output, one JSON object).
fn run_twin(python: &Path, script: &Path, args: &[String]) -> Result<(f64, Value), Error> {
    let name = script.file_name().map_or_else(
        || script.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let out = Command::new(python)
        .arg(script)
        .args(args)
        .output()
        .map_err(|e| Error::Failed(format!("cannot run {}: {e}", python.display())))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let last = err
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        return Err(Error::Failed(format!(
            "the Python twin {name} failed ({}): {}",
            out.status,
            last.trim()
        )));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    let bad = |what: &str| {
        Error::Failed(format!(
            "the Python twin {name} printed {what}, not its JSON line: {line:?}"
        ))
    };
    let v: Value = serde_json::from_str(line).map_err(|_| bad("something else"))?;
    let seconds = v["seconds"].as_f64().ok_or_else(|| bad("no \"seconds\""))?;
    match v.get("answer") {
        Some(a) if a.is_object() => Ok((seconds, a.clone())),
        _ => Err(bad("no \"answer\"")),
    }
}

/// Whether a twin's answer agrees with Rust's.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Agreement {
    /// The same bits (shared data, same order or exact arithmetic).
    Exact,
    /// Within the stated tolerance (`pi`: different generators).
    Within {
        /// |difference of the estimates|.
        diff: f64,
        /// The tolerance.
        tolerance: f64,
    },
    /// They differ: what each side gave.
    Differ(String),
}

impl Agreement {
    fn agrees(&self) -> bool {
        !matches!(self, Agreement::Differ(_))
    }
}

impl fmt::Display for Agreement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Agreement::Exact => f.write_str("yes, bit for bit"),
            Agreement::Within { diff, tolerance } => write!(
                f,
                "yes, within {PI_SIGMAS} sd (pi differs by {diff:.1e}, {PI_SIGMAS} sd = \
                 {tolerance:.1e})"
            ),
            Agreement::Differ(what) => write!(f, "NO: {what}"),
        }
    }
}

/// A 64-bit word as the twins print it: `0x` and 16 hex digits.
fn hex(x: u64) -> String {
    format!("{x:#018x}")
}

/// The tolerance of `pi`: `PI_SIGMAS` standard deviations of the difference
/// of two independent estimates from `samples` points each, 4 *
/// sqrt(2 p (1 - p) / samples) with p = pi / 4.
pub(crate) fn pi_tolerance(samples: u64) -> f64 {
    let p = std::f64::consts::FRAC_PI_4;
    PI_SIGMAS * 4.0 * (2.0 * p * (1.0 - p) / samples as f64).sqrt()
}

/// Checks a twin's answer against Rust's.
fn agreement(rust: &RustAnswer, twin: &Value) -> Agreement {
    let s = |k: &str| twin[k].as_str().unwrap_or("?").to_owned();
    let u = |k: &str| twin[k].as_u64();
    let pairs: Vec<(&str, String, String)> = match rust {
        RustAnswer::Axpy(c) => vec![
            ("files", c.files.to_string(), twin["files"].to_string()),
            (
                "numbers per file",
                c.nums_per_file.to_string(),
                twin["nums_per_file"].to_string(),
            ),
            ("sum bits", hex(c.sum.to_bits()), s("sum_bits")),
            ("hash", hex(c.hash), s("hash")),
        ],
        RustAnswer::Sums(t) => vec![
            (
                "elements",
                t.elements.to_string(),
                twin["elements"].to_string(),
            ),
            ("total bits", hex(t.total.to_bits()), s("total_bits")),
        ],
        RustAnswer::Amdahl(c) => vec![
            (
                "serial units",
                c.serial_units.to_string(),
                twin["serial_units"].to_string(),
            ),
            (
                "parallel units",
                c.parallel_units.to_string(),
                twin["parallel_units"].to_string(),
            ),
            ("sum", hex(c.sum), s("sum")),
        ],
        RustAnswer::Pi(e) => {
            let (Some(hits), Some(samples)) = (u("hits"), u("samples")) else {
                return Agreement::Differ(format!("no hits and samples in {twin}"));
            };
            if samples != e.samples || hits > samples {
                return Agreement::Differ(format!(
                    "{hits} hits of {samples} points, Rust drew {}",
                    e.samples
                ));
            }
            let diff = (4.0 * hits as f64 / samples as f64 - e.pi()).abs();
            let tolerance = pi_tolerance(samples);
            return if diff <= tolerance {
                Agreement::Within { diff, tolerance }
            } else {
                Agreement::Differ(format!(
                    "pi {} against Rust's {}: differs by {diff:.1e} > {tolerance:.1e}",
                    4.0 * hits as f64 / samples as f64,
                    e.pi()
                ))
            };
        }
    };
    match pairs.iter().find(|(_, r, p)| r != p) {
        None => Agreement::Exact,
        Some((what, r, p)) => Agreement::Differ(format!("{what}: Rust {r}, Python {p}")),
    }
}

/// The twin's arguments for `w` (sizes, data folder), without the mode.
fn twin_args(w: Workload, input: &Input, sizes: &Sizes, arrays_dir: &Path) -> Vec<String> {
    match (w, input) {
        (Workload::Axpy, Input::Axpy(i)) => vec![
            format!("--dir={}", i.dir().display()),
            format!("--files={}", sizes.axpy.files),
            format!("--nums-per-file={}", sizes.axpy.nums_per_file),
            format!("--alpha={}", sizes.axpy.alpha),
        ],
        (Workload::Sums, _) => vec![
            format!("--dir={}", arrays_dir.display()),
            format!("--arrays={}", sizes.sums.arrays),
            format!("--len={}", sizes.sums.len),
        ],
        (Workload::Pi, _) => vec![
            format!("--samples={}", sizes.pi.samples),
            format!("--seed={}", sizes.pi.seed),
        ],
        _ => vec![
            format!("--units={}", sizes.amdahl.units),
            format!("--serial-fraction={}", sizes.amdahl.serial_fraction),
        ],
    }
}

/// The sizes compared, in words.
fn describe_sizes(w: Workload, sizes: &Sizes) -> String {
    match w {
        Workload::Axpy => format!(
            "{} file pairs x {} float64, alpha {}",
            sizes.axpy.files, sizes.axpy.nums_per_file, sizes.axpy.alpha
        ),
        Workload::Sums => format!("{} arrays x {} float64", sizes.sums.arrays, sizes.sums.len),
        Workload::Pi => format!("{} points", sizes.pi.samples),
        _ => format!(
            "{} units, serial fraction {}",
            sizes.amdahl.units, sizes.amdahl.serial_fraction
        ),
    }
}

/// One row of the table.
struct Row {
    workload: Workload,
    mode: Mode,
    rust: f64,
    twin: String,
    python: f64,
    agreement: Agreement,
}

impl Row {
    fn ratio(&self) -> f64 {
        self.rust / self.python
    }
}

pub(crate) fn compare(a: &CompareArgs) -> Result<(), Error> {
    let threads = threads_or_cores(a.threads)?;
    let plan = plan(a.name, a.mode)?;
    let mut sizes = a.sizes.sizes();
    for (w, _) in &plan {
        sizes.validate(*w)?;
    }
    let versions = check_python(&a.python)?;
    let parent = sizes
        .axpy
        .work_dir
        .clone()
        .unwrap_or_else(std::env::temp_dir);
    let work = WorkDir::new(&parent)?;
    sizes.axpy.work_dir = Some(work.0.clone());
    for (_, file, text) in TWINS {
        let path = work.0.join(file);
        std::fs::write(&path, text).map_err(|e| Error::io(&path, e))?;
    }
    println!(
        "workloads compare: Rust against its Python twins ({versions}), {threads} thread(s) or \
         worker(s), median of {} alternating runs of each after one untimed run of each",
        a.repeats
    );
    println!(
        "page cache: warm for both; axpy: both read the same input files and overwrite the same \
         existing result files (Rust in place, NumPy's tofile truncates first); sums: both sum \
         the same bytes in memory"
    );
    println!(
        "times: the run phase, measured by each side (Rust here, thread and pool start-up \
         included; Python in the script, Pool start-up included, interpreter start-up and \
         imports not); ratio = Rust / Python (below 1: Rust faster)"
    );
    let mut rows = Vec::new();
    for (w, modes) in &plan {
        println!("\n{w}: {}", describe_sizes(*w, &sizes));
        println!(
            "| workload | Rust mode | Rust s | Python twin | Python s | Rust/Python | answers agree |"
        );
        println!("|---|---|---|---|---|---|---|");
        let input = workloads::prepare(*w, &sizes, threads)?;
        let arrays_dir = work.0.join("sums-arrays");
        if let Input::Sums(s) = &input {
            std::fs::create_dir_all(&arrays_dir).map_err(|e| Error::io(&arrays_dir, e))?;
            for (k, v) in s.arrays.iter().enumerate() {
                axpy::write_vector(&arrays_dir.join(format!("array_{k:05}.bin")), v)?;
            }
        }
        let script = work
            .0
            .join(TWINS.iter().find(|t| t.0 == *w).map_or("", |t| t.1));
        let base = twin_args(*w, &input, &sizes, &arrays_dir);
        for &m in modes {
            let (twin, twin_text) = twin_mode(*w, m, threads);
            let mut args = base.clone();
            args.push(format!("--mode={twin}"));
            args.push(format!("--workers={threads}"));
            // Untimed: caches, the result files' first writing.
            let (_, reference) = run_rust(&input, m, threads)?;
            run_twin(&a.python, &script, &args)?;
            let (mut rust, mut python) = (Vec::new(), Vec::new());
            let mut agreed = Agreement::Exact;
            for _ in 0..a.repeats {
                let (s, answer) = run_rust(&input, m, threads)?;
                if answer != reference {
                    return Err(Error::Failed(format!(
                        "{w} {m}: the Rust answer changed between runs ({answer:?}, then \
                         {reference:?})"
                    )));
                }
                rust.push(s);
                let (s, answer) = run_twin(&a.python, &script, &args)?;
                python.push(s);
                let agrees = agreement(&reference, &answer);
                // Keep the first disagreement, or the last tolerance used.
                if agreed.agrees() && agrees != Agreement::Exact {
                    agreed = agrees;
                }
            }
            let row = Row {
                workload: *w,
                mode: m,
                rust: scaling::median(&rust),
                twin: twin_text,
                python: scaling::median(&python),
                agreement: agreed,
            };
            println!(
                "| {} | {} | {:.4} | {} | {:.4} | {:.2} | {} |",
                row.workload,
                row.mode,
                row.rust,
                row.twin,
                row.python,
                row.ratio(),
                row.agreement
            );
            rows.push(row);
        }
        drop(input); // removes axpy's work folder
        if arrays_dir.exists() {
            std::fs::remove_dir_all(&arrays_dir).map_err(|e| Error::io(&arrays_dir, e))?;
        }
    }
    let faster = rows.iter().filter(|r| r.rust <= r.python).count();
    println!(
        "\nRust at least as fast as its twin in {faster} of {} rows",
        rows.len()
    );
    let differ: Vec<String> = rows
        .iter()
        .filter(|r| !r.agreement.agrees())
        .map(|r| format!("{} {}", r.workload, r.mode))
        .collect();
    if differ.is_empty() {
        println!("answers agree in every row");
        Ok(())
    } else {
        Err(Error::Failed(format!(
            "the Python twin's answer differs from Rust's in: {}",
            differ.join(", ")
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every mode of every workload with a twin has a twin mode the script
    /// accepts; workloads without a twin are refused by name.
    #[test]
    fn every_mode_has_a_twin_mode() {
        for (w, _, script) in TWINS {
            for &m in w.modes() {
                let (mode, _) = twin_mode(w, m, 2);
                assert!(
                    script.contains(&format!("\"{mode}\"")),
                    "{w} {m}: {mode} is not a choice of the script"
                );
            }
        }
        match plan(Selection::One(Workload::Halo), None) {
            Err(Error::Invalid(m)) => assert!(m.contains("halo has no Python twin"), "{m}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(plan(Selection::All, None).unwrap().len(), TWINS.len());
        assert!(plan(Selection::One(Workload::Pi), Some(Mode::Element)).is_err());
    }

    fn axpy_answer() -> RustAnswer {
        RustAnswer::Axpy(axpy::Checksum {
            files: 2,
            nums_per_file: 3,
            sum: 1.5,
            hash: 0xabc,
        })
    }

    /// Shared data: every field must match, bit for bit.
    #[test]
    fn exact_answers_must_match_bit_for_bit() {
        let rust = axpy_answer();
        let mut twin = serde_json::json!({
            "files": 2,
            "nums_per_file": 3,
            "sum": 1.5,
            "sum_bits": hex(1.5f64.to_bits()),
            "hash": "0x0000000000000abc",
        });
        assert_eq!(agreement(&rust, &twin), Agreement::Exact);
        twin["sum_bits"] = hex(1.5f64.next_up().to_bits()).into();
        match agreement(&rust, &twin) {
            Agreement::Differ(m) => assert!(m.starts_with("sum bits"), "{m}"),
            other => panic!("{other:?}"),
        }
    }

    /// pi: different generators, so a tolerance of five standard deviations
    /// of the difference; a count off by more is refused.
    #[test]
    fn pi_agrees_within_its_tolerance_only() {
        let samples = 1_000_000;
        let rust = RustAnswer::Pi(pi::Estimate {
            hits: 785_398,
            samples,
        });
        let tol = pi_tolerance(samples);
        // 4 * sqrt(2 * 0.785 * 0.215 / 1e6) = 0.0023 per sd.
        assert!((tol / PI_SIGMAS - 0.00232).abs() < 1e-4, "{tol}");
        let close = serde_json::json!({"hits": 785_398 + 500, "samples": samples});
        assert!(matches!(agreement(&rust, &close), Agreement::Within { .. }));
        let far = serde_json::json!({"hits": 785_398 + 5_000, "samples": samples});
        assert!(!agreement(&rust, &far).agrees());
        let other_size = serde_json::json!({"hits": 10, "samples": 20});
        assert!(!agreement(&rust, &other_size).agrees());
    }
}
