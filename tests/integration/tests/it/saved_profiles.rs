//! Saved profiles: save/load round trips (every output format the same from
//! the loaded profile as from the live one), merging runs and processes
//! (real child processes writing `PROFILER_OUT=dir/%p`), and the loader's
//! errors.
//!
//! The child processes are this test binary run again with
//! `PROFILER_TEST_CHILD` set: `child_process` then runs a small profiled
//! program and saves its profile instead of being an (empty) test.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use integration::scratch;
use profiler::emit::flamegraph::{self, FlamegraphOptions};
use profiler::emit::{callgrind, chrome, json, prof, speedscope};
use profiler::{Profile, Session, SortKey, TimelineConfig, profile};

/// Set in child processes: how many times `work` runs.
const CHILD_ENV: &str = "PROFILER_TEST_CHILD";

#[profile]
fn fib(n: u32) -> u64 {
    if n < 2 {
        u64::from(n)
    } else {
        fib(n - 1) + fib(n - 2)
    }
}

#[profile]
fn leaf(x: u64) -> u64 {
    std::hint::black_box(x.wrapping_mul(2654435761))
}

#[profile]
fn work(rounds: u64) -> u64 {
    let mut acc = 0;
    for i in 0..rounds {
        acc += leaf(i) % 7;
        acc += fib(10);
    }
    acc
}

/// Not a test in the parent: in a child process (`PROFILER_TEST_CHILD=n`)
/// it runs `work(n)` in a session configured from the environment and saves
/// the profile as `profile.json` in the session's output directory.
#[test]
fn child_process() {
    let Ok(rounds) = std::env::var(CHILD_ENV) else {
        return;
    };
    let rounds: u64 = rounds.parse().unwrap();
    // `%p` in `PROFILER_OUT` is this process's id when the session writes.
    let out = std::env::var("PROFILER_OUT").expect("PROFILER_OUT is set");
    let dir = PathBuf::from(out.replace("%p", &std::process::id().to_string()));
    let guard = Session::from_env().start();
    let t = std::thread::Builder::new()
        .name("helper".into())
        .spawn(move || work(rounds / 2))
        .unwrap();
    work(rounds - rounds / 2);
    t.join().unwrap();
    let p = guard.finish().unwrap();
    p.save(dir.join("profile.json")).unwrap();
}

/// Runs this binary's `child_process` test in a new process with
/// `PROFILER_OUT=<out>/%p` and returns the child's pid.
fn spawn_child(out: &Path, rounds: u64) -> u32 {
    let child = Command::new(std::env::current_exe().unwrap())
        .args([
            integration::test_name(module_path!(), "child_process").as_str(),
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, rounds.to_string())
        .env("PROFILER_OUT", out.join("%p"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let o = child.wait_with_output().unwrap();
    assert!(
        o.status.success(),
        "child {pid} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    pid
}

/// `function name -> ncalls`, merged over threads.
fn ncalls(p: &Profile) -> std::collections::BTreeMap<String, u64> {
    let st = p.stats();
    st.functions()
        .iter()
        .map(|f| (p.sites[f.site as usize].name.clone(), f.figures.ncalls))
        .collect()
}

/// Every output format of `p`, as bytes (per-thread callgrind files and the
/// three Paraver files written into `dir`, then read back).
fn all_outputs(p: &Profile, dir: &Path) -> Vec<(String, Vec<u8>)> {
    let st = p.stats().sort_by(SortKey::Cumulative);
    let mut out = vec![(
        "pstats.txt".to_owned(),
        format!("{st}{}{}", st.callers(), st.callees()).into_bytes(),
    )];
    let mut push = |name: &str, f: &dyn Fn(&mut Vec<u8>) -> std::io::Result<()>| {
        let mut b = Vec::new();
        f(&mut b).unwrap();
        out.push((name.to_owned(), b));
    };
    push("profile.prof", &|b| prof::write(p, b));
    push("callgrind.out", &|b| callgrind::write(p, None, b));
    push("folded", &|b| {
        flamegraph::write_folded(p, &FlamegraphOptions::default(), b)
    });
    push("flamegraph.svg", &|b| flamegraph::write_svg(p, b));
    push("icicle.svg", &|b| {
        flamegraph::write_svg_with(
            p,
            &FlamegraphOptions::new().icicle(true).per_thread(true),
            b,
        )
    });
    push("trace.json", &|b| chrome::write(p, b));
    push("speedscope.json", &|b| speedscope::write(p, b));
    push("profile.json", &|b| json::write(p, b));
    std::fs::create_dir_all(dir).unwrap();
    profiler::emit::callgrind::write_per_thread(p, dir).unwrap();
    profiler::emit::Format::Paraver.save(p, dir).unwrap();
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for f in files {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        out.push((name, std::fs::read(&f).unwrap()));
    }
    out
}

#[test]
fn save_then_load_gives_the_same_profile_and_outputs() {
    // Own process: the timeline settings are process-wide, and every output of
    // the whole process's snapshot is written twice.
    if integration::ran_in_own_process(
        module_path!(),
        "save_then_load_gives_the_same_profile_and_outputs",
    ) {
        return;
    }
    profiler::set_timeline(Some(
        TimelineConfig::default().min_duration(Duration::from_nanos(0)),
    ));
    let t = std::thread::Builder::new()
        .name("worker".into())
        .spawn(|| work(20))
        .unwrap();
    work(30);
    t.join().unwrap();
    let live = profiler::snapshot();
    profiler::set_timeline(None);
    assert!(live.threads.iter().any(|t| !t.timeline.is_empty()));

    let dir = scratch!("round-trip");
    let path = dir.join("profile.json");
    live.save(&path).unwrap();
    let loaded = Profile::load(&path).unwrap();
    assert_eq!(loaded, live);
    // No temporary file is left beside it.
    let names: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert_eq!(names.len(), 1);

    let a = all_outputs(&live, &dir.join("live"));
    let b = all_outputs(&loaded, &dir.join("loaded"));
    assert_eq!(a.len(), b.len());
    for ((na, ba), (nb, bb)) in a.iter().zip(&b) {
        assert_eq!(na, nb);
        assert!(
            ba == bb,
            "{na} differs between the live and the loaded profile"
        );
    }
    // The loader accepts what load_any accepts too.
    assert_eq!(Profile::load_any(&path).unwrap(), live);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn merging_two_runs_doubles_every_ncalls_and_keeps_both_pids() {
    let out = scratch!("two-runs");
    let pids = [spawn_child(&out, 40), spawn_child(&out, 40)];
    let runs: Vec<Profile> = pids
        .iter()
        .map(|pid| Profile::load(out.join(pid.to_string()).join("profile.json")).unwrap())
        .collect();
    assert_eq!(runs[0].meta.pid, pids[0]);
    let single = ncalls(&runs[0]);
    assert_eq!(single, ncalls(&runs[1]));
    assert_eq!(single["work"], 2);
    assert_eq!(single["leaf"], 40);
    assert_eq!(single["fib"], 40 * 177);

    let merged = Profile::merge(&runs);
    for (name, n) in ncalls(&merged) {
        assert_eq!(n, 2 * single[&name], "{name}");
    }
    let mut merged_pids: Vec<u32> = merged.threads.iter().map(|t| t.pid).collect();
    merged_pids.dedup();
    assert_eq!(merged_pids, pids);
    // Per-process views: each pid's threads hold one run.
    for pid in pids {
        let calls: u64 = merged
            .threads
            .iter()
            .enumerate()
            .filter(|(_, t)| t.pid == pid)
            .map(|(i, _)| merged.thread_stats(i).total_calls())
            .sum();
        assert_eq!(calls, runs[0].stats().total_calls());
    }
    // Recursion stays primitive per run: fib's primitive calls double too.
    let fib = |p: &Profile| {
        let st = p.stats();
        let f = st
            .functions()
            .iter()
            .find(|f| p.sites[f.site as usize].name == "fib")
            .unwrap()
            .figures;
        (f.ncalls, f.pcalls)
    };
    assert_eq!(fib(&merged), (2 * fib(&runs[0]).0, 2 * fib(&runs[0]).1));
    // Saved and loaded, the merge is the same.
    merged.save(out.join("merged.json")).unwrap();
    assert_eq!(Profile::load(out.join("merged.json")).unwrap(), merged);
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn merging_the_files_of_a_multi_process_run_gives_the_sum() {
    let out = scratch!("multi-process");
    let rounds = [10u64, 25, 7];
    let pids: Vec<u32> = rounds.iter().map(|&r| spawn_child(&out, r)).collect();
    // One directory per process, named by its pid (`%p`).
    let mut dirs: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    dirs.sort();
    let mut expected: Vec<String> = pids.iter().map(u32::to_string).collect();
    expected.sort();
    assert_eq!(dirs, expected);
    let profiles: Vec<Profile> = pids
        .iter()
        .map(|pid| Profile::load(out.join(pid.to_string()).join("profile.json")).unwrap())
        .collect();
    let merged = Profile::merge(&profiles);
    let calls = ncalls(&merged);
    let total: u64 = rounds.iter().sum();
    assert_eq!(calls["leaf"], total);
    assert_eq!(calls["fib"], total * 177);
    assert_eq!(calls["work"], 2 * rounds.len() as u64);
    // Times add up too: the merge's total is the sum of the processes'.
    let sum: u64 = profiles.iter().map(|p| p.stats().total_time_ns()).sum();
    assert_eq!(merged.stats().total_time_ns(), sum);
    // Every process's threads are there, under its own pid.
    for pid in &pids {
        assert_eq!(merged.threads.iter().filter(|t| t.pid == *pid).count(), 2);
    }
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn load_errors_say_which_problem_and_where() {
    let dir = scratch!("errors");
    work(1);
    let mut good = Vec::new();
    json::write(&profiler::snapshot(), &mut good).unwrap();
    let check = |name: &str, bytes: &[u8], expected: &str| {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        let e = Profile::load(&path).unwrap_err().to_string();
        let want = format!("{}: {expected}", path.display());
        assert!(e.starts_with(&want), "{name}: {e}\n  wanted: {want}");
        assert!(!e.contains('\n'), "{e}");
    };
    check("empty.json", b"", "empty file");
    check(
        "truncated.json",
        &good[..good.len() * 2 / 3],
        "truncated: the JSON ends early (line 1, column",
    );
    check(
        "garbage.json",
        b"\x7fELF\x02\x01\x01\0\0",
        "not JSON: expected value at line 1 column 1",
    );
    check("other.json", br#"{"traceEvents": []}"#, "not a profile");
    let future =
        String::from_utf8(good.clone())
            .unwrap()
            .replacen("\"version\":1", "\"version\":2", 1);
    check(
        "future.json",
        future.as_bytes(),
        "written by a newer profiler: version 2, this build reads 1",
    );
    let bad = String::from_utf8(good).unwrap().replacen(
        "\"parent\":4294967295",
        "\"parent\":\"none\"",
        1,
    );
    check(
        "bad.json",
        bad.as_bytes(),
        "invalid profile: invalid type: string \"none\"",
    );
    let missing = dir.join("missing.json");
    let e = Profile::load(&missing).unwrap_err().to_string();
    assert!(e.starts_with(&format!("{}: ", missing.display())), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Regression: two threads saving to one path shared one temporary file
/// name and left a corrupt file under the final name (103 of 200 rounds).
/// Every round now leaves one of the two profiles, whole.
#[test]
fn two_threads_saving_to_one_path_leave_one_whole_file() {
    // Own process: it saves the whole process's snapshot 400 times, which
    // other tests' recordings (a 100,000-deep recursion) would make large.
    if integration::ran_in_own_process(
        module_path!(),
        "two_threads_saving_to_one_path_leave_one_whole_file",
    ) {
        return;
    }
    let t = std::thread::Builder::new()
        .name("saver-a".into())
        .spawn(|| work(3))
        .unwrap();
    t.join().unwrap();
    let a = profiler::snapshot();
    let mut b = a.clone();
    b.meta.program = "the other one".into();
    let dir = scratch!("two-savers");
    let path = dir.join("profile.json");
    for _ in 0..200 {
        let barrier = std::sync::Barrier::new(2);
        std::thread::scope(|s| {
            for p in [&a, &b] {
                let (barrier, path) = (&barrier, &path);
                std::thread::Builder::new()
                    .name("saver".into())
                    .spawn_scoped(s, move || {
                        barrier.wait();
                        p.save(path).unwrap();
                    })
                    .unwrap();
            }
        });
        let loaded = Profile::load(&path).unwrap();
        assert!(loaded == a || loaded == b, "the file mixes two profiles");
    }
    let left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, vec![std::ffi::OsString::from("profile.json")]);
    std::fs::remove_dir_all(&dir).unwrap();
}
