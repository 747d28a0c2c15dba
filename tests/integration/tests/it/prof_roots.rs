//! The `.prof` has one root, as a cProfile file has: every thread's tree
//! hangs from a `{thread NAME}` function, and those from
//! `PROGRAM:0(<module>)`. Checked with Python's own `pstats` on a made
//! profile and on a live snapshot of this process: one uncalled function,
//! every function reachable from it, no edge's cumulative time above its
//! caller's, and the header's counts grown by the roots' calls only.

use std::process::Command;

use integration::{node, python, site};
use profiler::profile::NO_PARENT;
use profiler::{Metadata, Profile, ThreadProfile, profile};

const MS: u64 = 1_000_000;

/// Loads `path` with pstats and checks the root structure; prints the
/// root's key, the thread roots' names in order, and the header's totals
/// (`nc cc tt`).
const CHECK: &str = r#"
import pstats, sys
st = pstats.Stats(sys.argv[1]).stats
roots = [k for k, v in st.items() if not v[4]]
assert len(roots) == 1, roots
root = roots[0]
callees = {}
for k, (cc, nc, tt, ct, callers) in st.items():
    for c, (enc, ecc, ett, ect) in callers.items():
        assert c in st, (k, c)
        callees.setdefault(c, []).append(k)
        # No child reads more than its parent.
        assert ect <= st[c][3] * (1 + 1e-12) + 1e-12, (k, c, ect, st[c][3])
seen, todo = {root}, [root]
while todo:
    for k in callees.get(todo.pop(), []):
        if k not in seen:
            seen.add(k)
            todo.append(k)
assert seen == set(st), set(st) - seen
threads = [k[2] for k in st if k[0] == "~" and k[2].startswith("<thread ")]
assert all(st[(("~", 0, t))][4].keys() == {root} for t in threads)
s = pstats.Stats(sys.argv[1])
print(repr(root))
print("|".join(threads))
print(s.total_calls, s.prim_calls, round(s.total_tt, 9))
"#;

fn check(path: &std::path::Path) -> Vec<String> {
    let o = Command::new(python())
        .args(["-c", CHECK])
        .arg(path)
        .output()
        .unwrap_or_else(|e| panic!("these tests need python3 on PATH: {e}"));
    assert!(
        o.status.success(),
        "pstats check of {}: {}",
        path.display(),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_thread_hangs_from_one_root_that_pstats_reads() {
    let sites = vec![
        site("main", "src/main.rs", 1),
        site("work", "src/work.rs", 10),
        site("fib", "src/work.rs", 20),
    ];
    // main -> work -> fib (recursing); two workers named alike run work at
    // their top, so work is both called and a thread's top-level function;
    // a fourth thread recorded nothing.
    let main = ThreadProfile::new(
        1,
        "main",
        7,
        vec![
            node(0, NO_PARENT, 1, 100 * MS),
            node(1, 0, 2, 60 * MS),
            node(2, 1, 2, 50 * MS),
            node(2, 2, 6, 30 * MS),
        ],
    );
    let worker = |id| {
        ThreadProfile::new(
            id,
            "worker",
            7,
            vec![node(1, NO_PARENT, 3, 80 * MS), node(2, 0, 3, 70 * MS)],
        )
    };
    let idle = ThreadProfile::new(4, "idle", 7, Vec::new());
    let mut meta = Metadata::default();
    meta.program = "demo".into();
    let p = Profile::new(meta, sites, vec![main, worker(2), worker(3), idle]);
    p.validate().unwrap();
    let dir = integration::scratch!("made");
    let path = dir.join("profile.prof");
    profiler::emit::Format::Prof.save(&p, &path).unwrap();

    let out = check(&path);
    assert_eq!(out[0], "('demo', 0, '<module>')");
    assert_eq!(out[1], "<thread main>|<thread worker>|<thread worker #2>");
    // Our own totals, plus one call of the module and one per busy thread;
    // the roots have no time of their own.
    let st = p.stats();
    let (nc, cc) = (st.total_calls(), st.primitive_calls());
    let tt = st.total_time_ns() as f64 / 1e9;
    let got: Vec<&str> = out[2].split(' ').collect();
    assert_eq!(
        got[..2],
        [(nc + 4).to_string(), (cc + 4).to_string()],
        "{}",
        out[2]
    );
    assert!(
        (got[2].parse::<f64>().unwrap() - tt).abs() < 1e-9,
        "{}",
        out[2]
    );

    // Read back, the roots are gone and the figures are the profile's.
    let back = Profile::import_prof(&path).unwrap();
    let (a, b) = (p.stats(), back.stats());
    assert_eq!(
        (b.total_calls(), b.primitive_calls(), b.total_time_ns()),
        (a.total_calls(), a.primitive_calls(), a.total_time_ns())
    );
    assert!(
        back.sites
            .iter()
            .all(|s| s.name != "<module>" && !s.name.starts_with("<thread ")),
        "{:?}",
        back.sites
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[profile]
fn leaf(n: u64) -> u64 {
    (0..n).fold(0, |a, x| a ^ x.wrapping_mul(31))
}

#[profile]
fn task(n: u64) -> u64 {
    leaf(n) + leaf(n / 2)
}

/// A live snapshot: this process's threads (this test's workers among
/// them, running `task` at their top while `spawner` calls it too) all
/// reachable from the one root.
#[test]
fn a_live_snapshot_has_one_root_too() {
    #[profile]
    fn spawner() -> u64 {
        let hs: Vec<_> = (0..3)
            .map(|i| {
                std::thread::Builder::new()
                    .name(format!("prof-roots-{i}"))
                    .spawn(move || task(10_000 + i))
                    .unwrap()
            })
            .collect();
        task(5_000) + hs.into_iter().map(|h| h.join().unwrap()).sum::<u64>()
    }
    spawner();
    let p = profiler::snapshot();
    let dir = integration::scratch!("live");
    let path = dir.join("profile.prof");
    profiler::emit::Format::Prof.save(&p, &path).unwrap();
    let out = check(&path);
    for i in 0..3 {
        assert!(
            out[1].contains(&format!("<thread prof-roots-{i}>")),
            "{}",
            out[1]
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// A profile that already has one root (one thread, one uncalled top
/// function) is written as it is: a cProfile file read back converts to
/// itself. A second top-level function, or a second thread, brings the roots.
#[test]
fn a_profile_with_one_root_is_written_as_it_is() {
    let sites = vec![site("main", "src/main.rs", 1), site("f", "src/main.rs", 5)];
    let one = |nodes| {
        let mut meta = Metadata::default();
        meta.program = "demo".into();
        Profile::new(
            meta,
            sites.clone(),
            vec![ThreadProfile::new(1, "main", 7, nodes)],
        )
    };
    let bare = |p: &Profile| {
        let mut b = Vec::new();
        profiler::emit::prof::write_stats(&p.stats(), &mut b).unwrap();
        b
    };
    let single = one(vec![node(0, NO_PARENT, 1, 10 * MS), node(1, 0, 3, 6 * MS)]);
    assert_eq!(profiler::emit::prof::to_bytes(&single), bare(&single));
    // Two top-level functions, or a top function also called below: roots.
    for nodes in [
        vec![
            node(0, NO_PARENT, 1, 10 * MS),
            node(1, NO_PARENT, 3, 6 * MS),
        ],
        vec![node(1, NO_PARENT, 1, 10 * MS), node(1, 0, 3, 6 * MS)],
    ] {
        let p = one(nodes);
        let dir = integration::scratch!("two-tops");
        let path = dir.join("profile.prof");
        profiler::emit::Format::Prof.save(&p, &path).unwrap();
        assert_eq!(check(&path)[0], "('demo', 0, '<module>')");
        std::fs::remove_dir_all(&dir).ok();
    }
}
