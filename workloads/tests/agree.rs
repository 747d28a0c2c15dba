//! Every workload gives the same answer, bit for bit, for every mode and for
//! 1 and 3 threads, and the profiled call counts do not depend on the thread
//! count (except the per-worker functions, called once per worker).

use std::collections::BTreeMap;
use std::sync::Mutex;

use workloads::{Answer, Mode, Sizes, Workload};

/// Runs are isolated by thread name and recorder id (see
/// `workloads::profiled`): one at a time, so that two tests never run the
/// same workload at once.
static SERIAL: Mutex<()> = Mutex::new(());

/// Functions called once per worker thread, per workload and mode.
fn per_worker(w: Workload, m: Mode) -> &'static [&'static str] {
    match (w, m) {
        (Workload::Sums, Mode::Threads) => &["sum_block"],
        (Workload::Sums, Mode::Element) => &["element_worker"],
        (Workload::Pi, Mode::Threads) => &["pi_worker"],
        (Workload::Imbalance, Mode::Threads) => &["static_worker"],
        (Workload::Imbalance, Mode::Dynamic) => &["dynamic_worker"],
        (Workload::Amdahl, Mode::Threads) => &["parallel_worker"],
        (Workload::Halo, Mode::Threads) => &["halo_worker"],
        _ => &[],
    }
}

/// `(ncalls, primitive calls)` per function name.
type Calls = BTreeMap<String, (u64, u64)>;

fn calls(p: &profiler::Profile) -> Calls {
    let stats = p.stats();
    stats
        .functions()
        .iter()
        .map(|f| {
            (
                p.sites[f.site as usize].name.clone(),
                (f.figures.ncalls, f.figures.pcalls),
            )
        })
        .collect()
}

/// Runs `w` in every mode on 1 and 3 threads; checks answers and counts;
/// returns the counts per mode (from the 1-thread runs). Built without the
/// `profile` feature nothing is recorded: only the answers are checked.
fn check(w: Workload) -> BTreeMap<&'static str, Calls> {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let sizes = Sizes::small();
    let input = workloads::prepare(w, &sizes, 2).expect("prepare");
    let mut reference: Option<Answer> = None;
    let mut per_mode = BTreeMap::new();
    for &mode in w.modes() {
        let mut counts_by_threads = Vec::new();
        for threads in [1, 3] {
            let run = workloads::profiled(w.name(), || workloads::execute(&input, mode, threads))
                .expect("run");
            let answer = run.value.expect("execute");
            match &reference {
                None => reference = Some(answer),
                Some(r) => assert_eq!(
                    &answer, r,
                    "{w}: {mode} on {threads} threads differs from seq"
                ),
            }
            let p = &run.profile;
            p.validate().expect("valid profile");
            for t in &p.threads {
                assert!(
                    t.name == w.name() || t.name.starts_with(&format!("{w}-{mode}-")),
                    "{w} {mode}: unexpected thread {} in the run's profile",
                    t.name
                );
            }
            let mut c = calls(p);
            if !workloads::INSTRUMENTED {
                assert!(c.is_empty());
                continue;
            }
            assert!(!c.is_empty(), "{w} {mode}: nothing recorded");
            for name in per_worker(w, mode) {
                let (n, _) = c
                    .remove(*name)
                    .unwrap_or_else(|| panic!("{w} {mode}: no {name} row"));
                assert_eq!(n, threads as u64, "{w} {mode}: {name} once per worker");
            }
            counts_by_threads.push(c);
        }
        if counts_by_threads.is_empty() {
            continue;
        }
        assert_eq!(
            counts_by_threads[0], counts_by_threads[1],
            "{w} {mode}: call counts differ between 1 and 3 threads"
        );
        per_mode.insert(mode.name(), counts_by_threads.swap_remove(0));
    }
    per_mode
}

/// The count of `name` in `mode`'s run.
fn n(per_mode: &BTreeMap<&'static str, Calls>, mode: &str, name: &str) -> (u64, u64) {
    per_mode[mode]
        .get(name)
        .copied()
        .unwrap_or_else(|| panic!("{mode}: no {name} row in {:?}", per_mode[mode]))
}

#[test]
fn axpy_agrees() {
    let c = check(Workload::Axpy);
    if !workloads::INSTRUMENTED {
        return;
    }
    let files = Sizes::small().axpy.files as u64;
    for mode in ["seq", "overlapped", "threads", "rayon"] {
        assert_eq!(n(&c, mode, "read_vector"), (2 * files, 2 * files), "{mode}");
        assert_eq!(n(&c, mode, "write_vector"), (files, files), "{mode}");
        assert_eq!(n(&c, mode, "axpy"), (files, files), "{mode}");
    }
    for stage in ["read_stage", "compute_stage", "write_stage"] {
        assert_eq!(n(&c, "overlapped", stage), (1, 1));
    }
}

#[test]
fn sums_agrees() {
    let c = check(Workload::Sums);
    if !workloads::INSTRUMENTED {
        return;
    }
    let s = Sizes::small().sums;
    let chunks = (s.arrays * s.len.div_ceil(workloads::sums::CHUNK)) as u64;
    for mode in ["seq", "threads", "rayon"] {
        assert_eq!(n(&c, mode, "sum_chunk"), (chunks, chunks), "{mode}");
    }
    assert_eq!(n(&c, "element", "sum_elements"), (1, 1));
}

#[test]
fn pi_agrees() {
    let c = check(Workload::Pi);
    if !workloads::INSTRUMENTED {
        return;
    }
    let chunks = Sizes::small().pi.samples.div_ceil(workloads::pi::CHUNK);
    for mode in ["seq", "threads", "rayon"] {
        assert_eq!(n(&c, mode, "count_hits"), (chunks, chunks), "{mode}");
        assert_eq!(n(&c, mode, "derive_streams"), (1, 1), "{mode}");
    }
}

#[test]
fn imbalance_agrees() {
    let c = check(Workload::Imbalance);
    if !workloads::INSTRUMENTED {
        return;
    }
    let rows = Sizes::small().imbalance.height as u64;
    for mode in ["seq", "threads", "dynamic", "rayon"] {
        assert_eq!(n(&c, mode, "mandelbrot_row"), (rows, rows), "{mode}");
    }
}

#[test]
fn amdahl_agrees() {
    let c = check(Workload::Amdahl);
    if !workloads::INSTRUMENTED {
        return;
    }
    let units = Sizes::small().amdahl.units;
    for mode in ["seq", "threads", "rayon"] {
        assert_eq!(n(&c, mode, "work_unit"), (units, units), "{mode}");
        assert_eq!(n(&c, mode, "serial_part"), (1, 1), "{mode}");
    }
}

#[test]
fn recursion_agrees_and_shows_recursive_calls() {
    let c = check(Workload::Recursion);
    if !workloads::INSTRUMENTED {
        return;
    }
    for mode in ["seq", "threads", "rayon"] {
        // 16 tasks x 4 products, each 1 + 8 + 64 calls deep: 4672/64.
        assert_eq!(n(&c, mode, "multiply_block"), (4672, 64), "{mode}");
        assert_eq!(n(&c, mode, "leaf_kernel"), (4096, 4096), "{mode}");
        assert_eq!(n(&c, mode, "multiply_task"), (16, 16), "{mode}");
    }
}

#[test]
fn halo_agrees() {
    let c = check(Workload::Halo);
    if !workloads::INSTRUMENTED {
        return;
    }
    let h = Sizes::small().halo;
    let calls = (h.steps * h.points.div_ceil(workloads::halo::CHUNK)) as u64;
    for mode in ["seq", "threads", "rayon"] {
        assert_eq!(n(&c, mode, "relax_chunk"), (calls, calls), "{mode}");
    }
}

/// The threads of `threads` mode cap at one per chunk: 9 threads on the
/// small domain's 4 chunks still give the answer of `seq`.
#[test]
fn halo_with_more_threads_than_chunks() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let h = Sizes::small().halo;
    let seq = workloads::halo::run(&h, Mode::Seq, 1).expect("seq");
    let threads = workloads::halo::run(&h, Mode::Threads, 9).expect("threads");
    assert_eq!(format!("{seq:?}"), format!("{threads:?}"));
}

/// MPI modes run under mpiexec only: a single-process run says how.
#[test]
fn mpi_modes_are_not_run_in_one_process() {
    let input = workloads::prepare(Workload::Pi, &Sizes::small(), 1).expect("prepare");
    match workloads::execute(&input, Mode::Mpi, 1) {
        Err(workloads::Error::Invalid(m)) => assert!(m.contains("mpi"), "{m}"),
        other => panic!("{other:?}"),
    }
    assert!(Workload::Amdahl.check_mode(Mode::Mpi).is_err());
    assert!(Workload::Halo.check_mode(Mode::MpiOverlap).is_ok());
}

#[test]
fn sizes_are_validated() {
    let mut s = Sizes::small();
    s.axpy.files = 0;
    assert!(matches!(
        workloads::prepare(Workload::Axpy, &s, 1),
        Err(workloads::Error::Invalid(_))
    ));
    s.recursion.n = 100;
    assert!(s.validate(Workload::Recursion).is_err());
    s.amdahl.serial_fraction = 1.5;
    assert!(s.validate(Workload::Amdahl).is_err());
    assert!(workloads::check_threads(0).is_err());
    assert!(workloads::check_threads(1).is_ok());
    assert!(Workload::Pi.check_mode(Mode::Overlapped).is_err());
}

#[test]
fn axpy_removes_its_work_folder() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let parent = std::env::temp_dir().join(format!("workloads-test-wd-{}", std::process::id()));
    let mut s = Sizes::small();
    s.axpy.work_dir = Some(parent.clone());
    let input = workloads::prepare(Workload::Axpy, &s, 2).expect("prepare");
    workloads::execute(&input, Mode::Rayon, 2).expect("run");
    assert_eq!(std::fs::read_dir(&parent).unwrap().count(), 1);
    drop(input);
    assert_eq!(std::fs::read_dir(&parent).unwrap().count(), 0);
    std::fs::remove_dir(&parent).unwrap();
}
