//! pstats compatibility, checked with real Python (`python3` on `PATH`).
//!
//! For each profile: our `.prof` is loaded by `pstats.Stats`, its stats dict
//! is compared entry by entry with our figures (counts exactly; times must
//! be the very doubles we wrote, nanoseconds / 1e9), and Python's
//! `print_stats`, `print_callers` and `print_callees` under many sort keys,
//! limits and regex restrictions are compared with our text, line by line.
//! Python's first two `print_stats` lines (`<date>    <path>` and a blank
//! line, which a live profile does not have) are left out of the comparison.
//! `PROFILER_TEST_PYTHON=/path/to/python3.x` runs them with another Python.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use integration::{python, scratch, site};
use profiler::profile::NO_PARENT;
use profiler::{Limit, Metadata, Node, Profile, SiteInfo, SortKey, Stats, ThreadProfile};
use regex::Regex;
use serde_json::{Value, json};

const ROOT: u32 = NO_PARENT;
const MS: u64 = 1_000_000;

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/pstats_dump.py")
}

/// Fails with a clear message when Python is missing.
fn require_python() {
    let found = Command::new(python())
        .arg("-c")
        .arg("import pstats, marshal, json")
        .output();
    match found {
        Ok(o) if o.status.success() => {}
        Ok(o) => panic!(
            "python3 could not import pstats/marshal/json: {}",
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(e) => panic!(
            "these tests need Python 3 as `python3` on PATH (CI installs it; \
             locally e.g. `apt-get install python3`), or PROFILER_TEST_PYTHON; \
             running `{}` failed: {e}",
            python()
        ),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Report {
    Stats,
    Callers,
    Callees,
}

/// One report to print on both sides.
#[derive(Clone, Debug)]
struct Check {
    report: Report,
    /// pstats names passed to `sort_stats` (and parsed by our `FromStr`);
    /// `None`: no sort.
    sort: Option<Vec<&'static str>>,
    regexes: Vec<&'static str>,
    limit: Option<Limit>,
}

fn check(report: Report, sort: Option<&[&'static str]>) -> Check {
    Check {
        report,
        sort: sort.map(<[_]>::to_vec),
        regexes: Vec::new(),
        limit: None,
    }
}

impl Check {
    fn re(mut self, r: &'static str) -> Self {
        self.regexes.push(r);
        self
    }
    fn limit(mut self, l: Limit) -> Self {
        self.limit = Some(l);
        self
    }

    fn config(&self) -> Value {
        let mut amount: Vec<Value> = self.regexes.iter().map(|r| json!({ "re": r })).collect();
        match self.limit {
            Some(Limit::Count(n)) => amount.push(json!({ "int": n })),
            Some(Limit::Fraction(f)) => amount.push(json!({ "float": f })),
            Some(other) => panic!("unexpected limit {other:?}"),
            None => {}
        }
        let report = match self.report {
            Report::Stats => "stats",
            Report::Callers => "callers",
            Report::Callees => "callees",
        };
        json!({ "report": report, "sort": self.sort, "amount": amount })
    }

    fn ours(&self, mut stats: Stats<'_>) -> String {
        if let Some(sort) = &self.sort {
            let keys: Vec<SortKey> = sort
                .iter()
                .map(|k| k.parse().unwrap_or_else(|e| panic!("{e}")))
                .collect();
            stats = stats.sort_by_keys(&keys);
        }
        for r in &self.regexes {
            stats = stats.filter(Regex::new(r).unwrap());
        }
        if let Some(l) = self.limit {
            stats = stats.limit(l);
        }
        match self.report {
            Report::Stats => stats.to_string(),
            Report::Callers => stats.callers().to_string(),
            Report::Callees => stats.callees().to_string(),
        }
    }
}

/// Every sort key (canonical names, aliases, prefixes, several keys) in
/// every report, then restrictions.
fn battery() -> Vec<Check> {
    let sorts: &[&[&'static str]] = &[
        &["calls"],
        &["cumulative"],
        &["time"],
        &["pcalls"],
        &["filename"],
        &["line"],
        &["name"],
        &["nfl"],
        &["stdname"],
        &["ncalls"],
        &["cumtime"],
        &["tottime"],
        &["module"],
        &["cumu"],
        &["pc"],
        &["calls", "name"],
        &["time", "cumulative", "stdname"],
        &["filename", "line"],
        &["pcalls", "nfl"],
        &[],
    ];
    let mut out = Vec::new();
    for report in [Report::Stats, Report::Callers, Report::Callees] {
        out.push(check(report, None));
        for s in sorts {
            out.push(check(report, Some(s)));
        }
    }
    for report in [Report::Stats, Report::Callers, Report::Callees] {
        let cum = Some(&["cumulative"][..]);
        out.push(check(report, cum).limit(Limit::Count(2)));
        out.push(check(report, cum).limit(Limit::Count(0)));
        out.push(check(report, cum).limit(Limit::Count(1000)));
        out.push(check(report, cum).limit(Limit::Fraction(0.5)));
        out.push(check(report, cum).limit(Limit::Fraction(0.3333)));
        out.push(check(report, cum).limit(Limit::Fraction(1.0)));
        out.push(check(report, cum).limit(Limit::Fraction(0.0)));
        out.push(check(report, cum).re("main"));
        out.push(check(report, cum).re("no such function"));
        out.push(check(report, None).re(r"\.rs:\d+\(").limit(Limit::Count(1)));
        out.push(check(report, Some(&["time"])).re("a|b").re(r"\(b\)"));
        out.push(check(report, Some(&["name"])).re("it's|naïve|日本"));
        out.push(
            check(report, Some(&["stdname"]))
                .re("[{]")
                .limit(Limit::Fraction(0.9)),
        );
    }
    out
}

type Key = (String, u64, String);
type Quad = (u64, u64, u64, u64);

/// Our entries keyed like the `.prof` (sites with one key summed), in
/// first-appearance order.
/// Each function's figures and its callers' figures.
type Entries = HashMap<Key, (Quad, HashMap<Key, Quad>)>;

fn our_entries(stats: &Stats<'_>) -> (Vec<Key>, Entries) {
    let sites = &stats.profile().sites;
    let key = |s: u32| {
        let s = &sites[s as usize];
        (s.file.clone(), u64::from(s.line), s.name.clone())
    };
    let mut order = Vec::new();
    let mut map: HashMap<Key, (Quad, HashMap<Key, Quad>)> = HashMap::new();
    for f in stats.functions() {
        let k = key(f.site);
        let e = map.entry(k.clone()).or_insert_with(|| {
            order.push(k.clone());
            ((0, 0, 0, 0), HashMap::new())
        });
        let g = &f.figures;
        e.0.0 += g.pcalls;
        e.0.1 += g.ncalls;
        e.0.2 += g.tottime_ns;
        e.0.3 += g.cumtime_ns;
        for (c, g) in &f.callers {
            let q = e.1.entry(key(*c)).or_insert((0, 0, 0, 0));
            q.0 += g.ncalls;
            q.1 += g.pcalls;
            q.2 += g.tottime_ns;
            q.3 += g.cumtime_ns;
        }
    }
    (order, map)
}

fn seconds(v: &Value) -> f64 {
    v.as_str()
        .expect("time as a repr string")
        .parse()
        .expect("a Python float repr")
}

fn assert_time(python: f64, ns: u64, what: &str) {
    let ours = ns as f64 / 1e9;
    assert_eq!(
        python.to_bits(),
        ours.to_bits(),
        "{what}: Python read {python:e} s, we wrote {ours:e} s ({ns} ns)"
    );
    let rel = if ours == 0.0 {
        python.abs()
    } else {
        ((python - ours) / ours).abs()
    };
    assert!(rel <= 1e-9, "{what}: {python} vs {ours}");
}

fn key_of(v: &Value) -> Key {
    (
        v[0].as_str().unwrap().to_owned(),
        v[1].as_u64().unwrap(),
        v[2].as_str().unwrap().to_owned(),
    )
}

fn assert_same_text(ours: &str, python: &str, what: &str) {
    if ours == python {
        return;
    }
    let (o, p): (Vec<&str>, Vec<&str>) = (ours.split('\n').collect(), python.split('\n').collect());
    let line = o
        .iter()
        .zip(&p)
        .position(|(a, b)| a != b)
        .unwrap_or(o.len().min(p.len()));
    panic!(
        "{what}: text differs from Python's at line {}\n  ours:   {:?}\n  python: {:?}\n\
         --- ours ---\n{ours}\n--- python ---\n{python}",
        line + 1,
        o.get(line),
        p.get(line),
    );
}

/// Writes `stats`' `.prof`, has Python load it and print every check, and
/// compares everything. `make` rebuilds the same statistics for each check.
fn compare<'p>(name: &str, make: impl Fn() -> Stats<'p>, checks: &[Check]) {
    require_python();
    let dir = scratch!(name);
    let prof = dir.join("profile.prof");
    let mut bytes = Vec::new();
    profiler::emit::prof::write_stats(&make(), &mut bytes).expect("encode .prof");
    std::fs::write(&prof, &bytes).expect("write .prof");
    let configs: Vec<Value> = checks.iter().map(Check::config).collect();
    let configs_path = dir.join("configs.json");
    std::fs::write(&configs_path, serde_json::to_vec(&configs).unwrap()).unwrap();
    let out = Command::new(python())
        .arg(script())
        .arg(&prof)
        .arg(&configs_path)
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "{name}: pstats_dump.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dump: Value = serde_json::from_slice(&out.stdout).expect("JSON from pstats_dump.py");

    // The stats dict, entry by entry, in our order.
    let (order, ours) = our_entries(&make());
    let theirs = dump["stats"].as_array().unwrap();
    let their_order: Vec<Key> = theirs.iter().map(key_of).collect();
    assert_eq!(their_order, order, "{name}: dict keys or their order");
    for entry in theirs {
        let k = key_of(entry);
        let ((cc, nc, tt, ct), callers) = &ours[&k];
        let what = format!("{name}: {k:?}");
        assert_eq!(entry[3].as_u64(), Some(*cc), "{what}: cc");
        assert_eq!(entry[4].as_u64(), Some(*nc), "{what}: nc");
        assert_time(seconds(&entry[5]), *tt, &format!("{what}: tt"));
        assert_time(seconds(&entry[6]), *ct, &format!("{what}: ct"));
        let edges = entry[7].as_array().unwrap();
        assert_eq!(edges.len(), callers.len(), "{what}: number of callers");
        for e in edges {
            let ck = key_of(e);
            let (enc, ecc, ett, ect) = callers
                .get(&ck)
                .unwrap_or_else(|| panic!("{what}: unexpected caller {ck:?}"));
            let what = format!("{what} <- {ck:?}");
            assert_eq!(e[3].as_u64(), Some(*enc), "{what}: nc");
            assert_eq!(e[4].as_u64(), Some(*ecc), "{what}: cc");
            assert_time(seconds(&e[5]), *ett, &format!("{what}: tt"));
            assert_time(seconds(&e[6]), *ect, &format!("{what}: ct"));
        }
    }

    // The reports.
    let reports = dump["reports"].as_array().unwrap();
    assert_eq!(reports.len(), checks.len());
    for (c, text) in checks.iter().zip(reports) {
        let ours = c.ours(make());
        assert_same_text(&ours, text.as_str().unwrap(), &format!("{name}: {c:?}"));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn profile(sites: Vec<SiteInfo>, threads: Vec<Vec<Node>>) -> Profile {
    let threads = threads
        .into_iter()
        .enumerate()
        .map(|(i, nodes)| ThreadProfile::new(i as u64 + 1, format!("t{i}"), 1, nodes))
        .collect();
    let p = Profile::new(Metadata::default(), sites, threads);
    p.validate().expect("a valid hand-built profile");
    p
}

/// docs/formats.md's sample: main -> a -> b -> b -> b, a built-in, and 2^40 calls
/// in a non-ASCII file.
#[test]
fn recursion_sample() {
    let p = profile(
        vec![
            site("main", "src/main.rs", 10),
            site("a", "src/main.rs", 20),
            site("b", "src/main.rs", 30),
            site("<built-in method alloc>", "~", 0),
            site("naïve", "src/ünï.rs", 5),
        ],
        vec![vec![
            Node::new(0, ROOT, 1, 1000 * MS),
            Node::new(1, 0, 1, 900 * MS),
            Node::new(2, 1, 1, 700 * MS),
            Node::new(2, 2, 1, 400 * MS),
            Node::new(2, 3, 1, 50 * MS),
            Node::new(3, 1, 2, 40 * MS),
            Node::new(4, ROOT, 1 << 40, 10 * MS),
        ]],
    );
    compare("recursion", || p.stats(), &battery());
}

/// a -> b -> a -> b, b -> a from main, recursion inside, and ties in every
/// time and count column.
#[test]
fn mutual_recursion_and_ties() {
    let p = profile(
        vec![
            site("main", "src/mutual.rs", 1),
            site("a", "src/mutual.rs", 10),
            site("b", "src/mutual.rs", 20),
            site("c", "src/other.rs", 10),
            site("d", "src/other.rs", 10),
        ],
        vec![vec![
            Node::new(0, ROOT, 1, 100 * MS), // 0 main
            Node::new(1, 0, 3, 60 * MS),     // 1 main>a
            Node::new(2, 1, 3, 50 * MS),     // 2 main>a>b
            Node::new(1, 2, 2, 30 * MS),     // 3 main>a>b>a
            Node::new(2, 3, 2, 10 * MS),     // 4 main>a>b>a>b
            Node::new(2, 0, 1, 20 * MS),     // 5 main>b
            Node::new(1, 5, 1, 10 * MS),     // 6 main>b>a
            Node::new(3, 0, 2, 5 * MS),      // 7 main>c
            Node::new(4, 0, 2, 5 * MS),      // 8 main>d (ties c everywhere but name)
            Node::new(3, 4, 1, 5 * MS),      // 9 ...>b>c
        ]],
    );
    compare("mutual", || p.stats(), &battery());
}

/// Three threads over the same sites: merged, and each thread on its own.
#[test]
fn several_threads() {
    let sites = vec![
        site("main", "src/threads.rs", 1),
        site("work", "src/threads.rs", 20),
        site("leaf", "src/threads.rs", 40),
        site("worker", "src/threads.rs", 60),
    ];
    let p = profile(
        sites,
        vec![
            vec![
                Node::new(0, ROOT, 1, 300 * MS),
                Node::new(1, 0, 2, 200 * MS),
                Node::new(2, 1, 4, 120 * MS),
            ],
            vec![
                Node::new(3, ROOT, 1, 250 * MS),
                Node::new(1, 0, 5, 240 * MS),
                Node::new(2, 1, 10, 100 * MS),
                Node::new(1, 1, 3, 70 * MS),
                Node::new(2, 3, 3, 33 * MS),
            ],
            vec![
                Node::new(3, ROOT, 2, 90 * MS),
                Node::new(1, 0, 2, 80 * MS),
                Node::new(1, 1, 2, 60 * MS),
                Node::new(1, 2, 2, 40 * MS),
            ],
        ],
    );
    let checks = battery();
    compare("threads", || p.stats(), &checks);
    for t in 0..p.threads.len() {
        compare(&format!("thread{t}"), || p.thread_stats(t), &checks);
    }
}

/// Counts around the 32-bit and 2^40 boundaries, 2^62, an open frame with
/// no completed call (blank per-call columns), and days of time.
#[test]
fn large_counts() {
    let p = profile(
        vec![
            site("root", "src/big.rs", 1),
            site("i32_max", "src/big.rs", 2),
            site("i32_max_plus_1", "src/big.rs", 3),
            site("two_pow_40", "src/big.rs", 4),
            site("two_pow_62", "src/big.rs", 5),
            site("open", "src/big.rs", 6),
        ],
        vec![vec![
            Node::new(0, ROOT, 1, 1_000_000_000 * MS),
            Node::new(1, 0, i32::MAX as u64, 7 * MS),
            Node::new(2, 0, 1 << 31, 123_456_789),
            Node::new(3, 0, 1 << 40, 400_000 * MS),
            Node::new(4, 0, 1 << 62, 500_000 * MS),
            Node::new(5, 0, 0, 0),
            Node::new(0, 0, 3, 999),
        ]],
    );
    compare("large", || p.stats(), &battery());
}

/// Non-ASCII and long names, quotes, and built-in style keys: widths are in
/// code points, as Python counts them.
#[test]
fn names() {
    let long = "x".repeat(300);
    let p = profile(
        vec![
            site("main", "src/ünï.rs", 1),
            site("naïve", "src/ünï.rs", 2),
            site("日本語", "src/日本.rs", 3),
            site("🦀 crab", "src/main.rs", 4),
            site(&long, "src/main.rs", 5),
            site("it's \"quoted\"", "src/main.rs", 6),
            site("<built-in method alloc>", "~", 0),
            site("plain builtin", "~", 0),
            site("back\\slash", "C:\\src\\main.rs", 7),
        ],
        vec![vec![
            Node::new(0, ROOT, 1, 100 * MS),
            Node::new(1, 0, 2, 20 * MS),
            Node::new(2, 1, 3, 15 * MS),
            Node::new(3, 0, 4, 12 * MS),
            Node::new(4, 3, 1, 11 * MS),
            Node::new(5, 0, 6, 10 * MS),
            Node::new(6, 5, 7, 3 * MS),
            Node::new(7, 0, 8, 4 * MS),
            Node::new(8, 7, 9, 2 * MS),
            Node::new(6, 0, 1, MS),
        ]],
    );
    compare("names", || p.stats(), &battery());
}

/// Two sites with the same (file, line, name) are one entry, summed, in the
/// file and in the text.
#[test]
fn colliding_keys_are_merged() {
    let p = profile(
        vec![
            site("main", "src/dup.rs", 1),
            SiteInfo::new("dup", "mod_a", "src/dup.rs", 5),
            SiteInfo::new("dup", "mod_b", "src/dup.rs", 5),
            site("leaf", "src/dup.rs", 9),
        ],
        vec![vec![
            Node::new(0, ROOT, 1, 100 * MS),
            Node::new(1, 0, 2, 50 * MS),
            Node::new(2, 1, 3, 30 * MS),
            Node::new(3, 2, 4, 10 * MS),
            Node::new(2, 0, 1, 20 * MS),
            Node::new(3, 4, 1, 5 * MS),
        ]],
    );
    let (order, entries) = our_entries(&p.stats());
    assert_eq!(order.len(), 3);
    let dup = &entries[&("src/dup.rs".to_owned(), 5, "dup".to_owned())];
    assert_eq!(dup.0.1, 6, "summed ncalls");
    compare("collisions", || p.stats(), &battery());
}

fn spin(micros: u64) {
    let t = std::time::Instant::now();
    while t.elapsed() < std::time::Duration::from_micros(micros) {
        std::hint::spin_loop();
    }
}

fn rec(n: u32) {
    let _g = profiler::profile_scope!("rec");
    spin(20);
    if n > 0 {
        rec(n - 1);
    }
}

fn ping(n: u32) {
    let _g = profiler::profile_scope!("ping");
    spin(10);
    if n > 0 {
        pong(n - 1);
    }
}

fn pong(n: u32) {
    let _g = profiler::profile_scope!("pong");
    spin(10);
    if n > 0 {
        ping(n - 1);
    }
}

/// A profile recorded live with scope guards, on two threads.
#[test]
fn live_profile() {
    // Own process: Python's pstats reads the whole process's snapshot, which
    // must hold only this test's calls.
    if integration::ran_in_own_process(module_path!(), "live_profile") {
        return;
    }
    {
        let _main = profiler::profile_scope!("live main");
        for _ in 0..3 {
            rec(4);
        }
        ping(5);
        std::thread::Builder::new()
            .name("worker".into())
            .spawn(|| {
                let _w = profiler::profile_scope!("worker");
                rec(2);
                ping(3);
            })
            .unwrap()
            .join()
            .unwrap();
    }
    let p = profiler::snapshot();
    let stats = p.stats();
    let rec_row = stats
        .functions()
        .iter()
        .find(|f| p.sites[f.site as usize].name == "rec")
        .expect("rec was recorded");
    assert_eq!((rec_row.figures.ncalls, rec_row.figures.pcalls), (18, 4));
    compare("live", || p.stats(), &battery());
}

/// The CSV table (`--to csv`) read by Python's `csv` module gives, row for
/// row, pstats' own figures of the same profile's `.prof`: calls, primitive
/// calls, tottime and cumtime per `(file, line, name)`, a quoted file name
/// with a comma and a name with quotes included.
#[test]
fn csv_rows_are_pstats_figures() {
    require_python();
    let p = profile(
        vec![
            site("main", "src/main.rs", 10),
            site("say \"hi\"", "src/a,b.rs", 20),
            site("b", "src/main.rs", 30),
        ],
        vec![vec![
            Node::new(0, ROOT, 1, 1000 * MS),
            Node::new(1, 0, 3, 900 * MS),
            Node::new(2, 1, 2, 700 * MS),
            Node::new(2, 2, 1, 400 * MS),
        ]],
    );
    let dir = scratch!("csv");
    let (csv, prof) = (dir.join("stats.csv"), dir.join("p.prof"));
    profiler::emit::Format::Csv.save(&p, &csv).unwrap();
    profiler::emit::Format::Prof.save(&p, &prof).unwrap();
    let code = r#"
import csv, pstats, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
st = pstats.Stats(sys.argv[2]).stats
assert len(rows) == len(st), (len(rows), len(st))
for r in rows:
    cc, nc, tt, ct, _ = st[(r["file"], int(r["line"]), r["function"])]
    assert (int(r["ncalls"]), int(r["primitive_calls"])) == (nc, cc), r
    assert abs(float(r["tottime_s"]) - tt) < 1e-9 and abs(float(r["cumtime_s"]) - ct) < 1e-9, r
cum = [float(r["cumtime_s"]) for r in rows]
assert cum == sorted(cum, reverse=True), cum
print(len(rows))
"#;
    let out = Command::new(python())
        .args(["-c", code, csv.to_str().unwrap(), prof.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "3");
}
