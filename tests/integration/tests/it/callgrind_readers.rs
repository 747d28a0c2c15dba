//! Callgrind files checked with the real readers: `callgrind_annotate`
//! (valgrind) and `gprof2dot -f callgrind`, plus a reader written here that
//! applies KCacheGrind's inclusive-cost rule (from its source,
//! `TracePartFunction::update`), as KCacheGrind itself has no command line.
//!
//! The readers must be installed: valgrind (for `callgrind_annotate`) and
//! gprof2dot (`pip install gprof2dot`). A missing reader fails the test with a
//! message saying what to install.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use integration::{meta, node, sample, scratch, site, tool};
use profiler::profile::NO_PARENT;
use profiler::{Profile, ThreadProfile};

// ---------------------------------------------------------------- profiles

/// Mutual recursion main -> a -> b -> a -> b, and a second call of b from main.
fn mutual() -> Profile {
    let sites = vec![
        site("main", "src/m.rs", 1),
        site("a", "src/m.rs", 5),
        site("b", "src/m.rs", 9),
    ];
    let nodes = vec![
        node(0, NO_PARENT, 1, 2000), // 0 main: self 200
        node(1, 0, 2, 1500),         // 1 a: self 300
        node(2, 1, 3, 1200),         // 2 b: self 400
        node(1, 2, 4, 800),          // 3 a: self 500
        node(2, 3, 5, 300),          // 4 b: self 300
        node(2, 0, 1, 300),          // 5 b from main: self 300
    ];
    Profile::new(
        meta(),
        sites,
        vec![ThreadProfile::new(1, "main", 4242, nodes)],
    )
}

/// Two threads: main -> work -> leaf on one, work -> leaf (a top-level call)
/// on the other, so that `work` is both called and called at the top.
fn two_threads() -> Profile {
    let sites = vec![
        site("main", "src/main.rs", 3),
        site("work", "src/work.rs", 10),
        site("leaf", "src/work.rs", 20),
    ];
    let t1 = vec![
        node(0, NO_PARENT, 1, 5000),
        node(1, 0, 3, 4000),
        node(2, 1, 30, 2500),
    ];
    let t2 = vec![node(1, NO_PARENT, 2, 3000), node(2, 0, 20, 1000)];
    Profile::new(
        meta(),
        sites,
        vec![
            ThreadProfile::new(1, "main", 4242, t1),
            ThreadProfile::new(2, "worker-1", 4242, t2),
        ],
    )
}

/// `helper` in two files and twice in one file, and names with odd characters.
fn odd_names() -> Profile {
    let sites = vec![
        site("main", "src/main.rs", 1),
        site("helper", "src/a.rs", 10),
        site("helper", "src/b.rs", 10),
        site("helper", "src/b.rs", 40),
        site(
            "weird\nname; with <tags> & \"quotes\"\r\tand (3) parens",
            "src/main.rs",
            7,
        ),
        site("ünïcödé::naïve", "src/ü.rs", 3),
        site("", "", 0),
        site("(2) looks compressed", "src/main.rs", 9),
    ];
    let nodes = vec![
        node(0, NO_PARENT, 1, 10_000),
        node(1, 0, 2, 1000),
        node(2, 0, 3, 2000),
        node(3, 0, 4, 3000),
        node(4, 0, 5, 500),
        node(5, 4, 6, 100),
        node(6, 0, 1, 50),
        node(7, 0, 1, 70),
    ];
    Profile::new(
        meta(),
        sites,
        vec![ThreadProfile::new(1, "main", 4242, nodes)],
    )
}

/// A top-level function that recurses into itself (KCacheGrind counts the
/// self arc as a caller, so without a thread root its inclusive cost would be
/// 0).
fn recursive_root() -> Profile {
    let sites = vec![site("fib", "src/fib.rs", 2)];
    let nodes = vec![
        node(0, NO_PARENT, 1, 900),
        node(0, 0, 2, 700),
        node(0, 1, 4, 300),
    ];
    Profile::new(
        meta(),
        sites,
        vec![ThreadProfile::new(1, "main", 4242, nodes)],
    )
}

// ---------------------------------------------------------------- helpers

fn callgrind_text(p: &Profile, thread: Option<usize>) -> String {
    let mut buf = Vec::new();
    profiler::emit::callgrind::write(p, thread, &mut buf).unwrap();
    String::from_utf8(buf).unwrap()
}

fn write_file(dir: &Path, name: &str, p: &Profile) -> PathBuf {
    let path = dir.join(name);
    profiler::emit::Format::Callgrind.save(p, &path).unwrap();
    path
}

fn annotate_bin() -> String {
    tool(
        "callgrind_annotate",
        "install valgrind, e.g. `apt-get install valgrind`",
    )
}

/// What `callgrind_annotate` printed: program totals and per-function
/// `(ns, calls)`, keyed `file:function`.
#[derive(Debug)]
struct Annotated {
    totals: (u64, u64),
    functions: BTreeMap<String, (u64, u64)>,
}

fn annotate(path: &Path, inclusive: bool) -> Annotated {
    let out = Command::new(annotate_bin())
        .arg(format!(
            "--inclusive={}",
            if inclusive { "yes" } else { "no" }
        ))
        .arg("--threshold=100")
        .arg("--show-percs=no")
        .arg("--auto=no")
        .arg(path)
        .output()
        .expect("run callgrind_annotate");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "callgrind_annotate failed on {}:\n{stderr}\n{stdout}",
        path.display()
    );
    assert!(
        !stderr.contains("WARNING") && !stderr.contains("malformed"),
        "callgrind_annotate warned on {}:\n{stderr}",
        path.display()
    );
    parse_annotate(&stdout)
}

fn number(s: &str) -> Option<u64> {
    if s == "." {
        return Some(0);
    }
    s.replace(',', "").parse().ok()
}

fn parse_annotate(text: &str) -> Annotated {
    let mut totals = None;
    let mut functions = BTreeMap::new();
    let mut in_table = false;
    for line in text.lines() {
        if line.contains("PROGRAM TOTALS") {
            let mut it = line.split_whitespace();
            let ns = number(it.next().unwrap()).unwrap();
            let calls = number(it.next().unwrap()).unwrap();
            totals = Some((ns, calls));
            continue;
        }
        if line.contains("file:function") {
            in_table = true;
            continue;
        }
        if !in_table || line.starts_with("---") || line.trim().is_empty() {
            continue;
        }
        let t = line.trim_start();
        let (a, rest) = t.split_once(char::is_whitespace).unwrap();
        let rest = rest.trim_start();
        let (b, name) = rest.split_once(char::is_whitespace).unwrap();
        let (Some(ns), Some(calls)) = (number(a), number(b)) else {
            continue;
        };
        let prev = functions.insert(name.trim().to_owned(), (ns, calls));
        assert!(prev.is_none(), "function listed twice by annotate: {name}");
    }
    Annotated {
        totals: totals.expect("no PROGRAM TOTALS line in callgrind_annotate output"),
        functions,
    }
}

fn gprof2dot(path: &Path) -> String {
    let out = Command::new(integration::gprof2dot())
        .args(["-f", "callgrind", "--node-thres=0", "--edge-thres=0"])
        .arg(path)
        .output()
        .expect("run gprof2dot");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "gprof2dot -f callgrind failed on {}:\n{stderr}",
        path.display()
    );
    assert!(
        !stderr.contains("warning"),
        "gprof2dot warned on {}:\n{stderr}",
        path.display()
    );
    let dot = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(dot.starts_with("digraph"), "gprof2dot output: {dot}");
    dot
}

// ---------------------------------------------------- a reader written here

#[derive(Debug, Default, Clone)]
struct PFunc {
    file: String,
    name: String,
    line: Option<u32>,
    self_ns: u64,
    self_calls: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct PArc {
    calls: u64,
    ns: u64,
    incl_calls: u64,
}

/// A strict reader of the subset of the format this crate writes: checks the
/// header order, name compression and arcs, and returns functions (by
/// compressed id) and arcs.
#[derive(Debug)]
struct Parsed {
    header: Vec<String>,
    funcs: BTreeMap<u32, PFunc>,
    arcs: BTreeMap<(u32, u32), PArc>,
    summary: (u64, u64),
    totals: (u64, u64),
}

impl Parsed {
    fn by_name(&self, name: &str) -> u32 {
        let ids: Vec<u32> = self
            .funcs
            .iter()
            .filter(|(_, f)| f.name == name)
            .map(|(&i, _)| i)
            .collect();
        assert_eq!(ids.len(), 1, "function {name:?} in {:#?}", self.funcs);
        ids[0]
    }

    /// KCacheGrind's inclusive cost (`TracePartFunction::update`): with any
    /// call into the function (self-recursion included), the sum of the
    /// incoming arcs that are not self-recursion; else self plus the outgoing
    /// arcs that are not self-recursion.
    fn kcachegrind_inclusive(&self, f: u32) -> (u64, u64) {
        let called: u64 = self
            .arcs
            .iter()
            .filter(|((_, callee), _)| *callee == f)
            .map(|(_, a)| a.calls)
            .sum();
        let sum = |it: &mut dyn Iterator<Item = &PArc>| {
            it.fold((0, 0), |(n, c), a| (n + a.ns, c + a.incl_calls))
        };
        if called > 0 {
            sum(&mut self
                .arcs
                .iter()
                .filter(|((caller, callee), _)| *callee == f && *caller != f)
                .map(|(_, a)| a))
        } else {
            let out = sum(&mut self
                .arcs
                .iter()
                .filter(|((caller, callee), _)| *caller == f && *callee != f)
                .map(|(_, a)| a));
            let me = &self.funcs[&f];
            (me.self_ns + out.0, me.self_calls + out.1)
        }
    }
}

fn compressed(spec: &str, table: &mut HashMap<u32, String>) -> (u32, String) {
    assert!(spec.starts_with('('), "uncompressed name {spec:?}");
    let close = spec.find(')').unwrap();
    let id: u32 = spec[1..close].parse().unwrap();
    let rest = spec[close + 1..].trim_start();
    if rest.is_empty() {
        let name = table
            .get(&id)
            .unwrap_or_else(|| panic!("({id}) used before it was defined"));
        (id, name.clone())
    } else {
        let prev = table.insert(id, rest.to_owned());
        assert!(
            prev.is_none() || prev.as_deref() == Some(rest),
            "({id}) redefined"
        );
        (id, rest.to_owned())
    }
}

fn pair(s: &str) -> (u64, u64) {
    let v: Vec<u64> = s.split_whitespace().map(|x| x.parse().unwrap()).collect();
    assert_eq!(v.len(), 2, "{s:?}");
    (v[0], v[1])
}

fn parse(text: &str) -> Parsed {
    let mut lines = text.lines();
    let mut header = Vec::new();
    for l in lines.by_ref() {
        header.push(l.to_owned());
        if l.starts_with("events:") {
            break;
        }
    }
    let mut files: HashMap<u32, String> = HashMap::new();
    let mut fn_names: HashMap<u32, String> = HashMap::new();
    let mut funcs: BTreeMap<u32, PFunc> = BTreeMap::new();
    let mut arcs: BTreeMap<(u32, u32), PArc> = BTreeMap::new();
    let mut summary = None;
    let mut totals = None;
    let mut file = String::new();
    let mut func: Option<u32> = None;
    let mut cfile: Option<String> = None;
    let mut callee: Option<u32> = None;
    let mut pending_calls: Option<u64> = None;
    for l in lines {
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        if let Some(s) = l.strip_prefix("summary: ") {
            assert!(func.is_none(), "summary: after the body");
            summary = Some(pair(s));
        } else if let Some(s) = l.strip_prefix("totals: ") {
            totals = Some(pair(s));
        } else if let Some(s) = l.strip_prefix("fl=") {
            file = compressed(s, &mut files).1;
        } else if let Some(s) = l.strip_prefix("fn=") {
            let (id, name) = compressed(s, &mut fn_names);
            let f = funcs.entry(id).or_default();
            f.name = name;
            f.file = file.clone();
            func = Some(id);
        } else if let Some(s) = l.strip_prefix("cfl=") {
            cfile = Some(compressed(s, &mut files).1);
        } else if let Some(s) = l.strip_prefix("cfn=") {
            let (id, name) = compressed(s, &mut fn_names);
            let f = funcs.entry(id).or_default();
            f.name = name;
            let cf = cfile.take().unwrap_or_else(|| file.clone());
            assert!(
                f.file.is_empty() || f.file == cf,
                "callee {id} in two files"
            );
            f.file = cf;
            callee = Some(id);
        } else if let Some(s) = l.strip_prefix("calls=") {
            let mut it = s.split_whitespace();
            pending_calls = Some(it.next().unwrap().parse().unwrap());
            let target: u32 = it.next().unwrap().parse().unwrap();
            let c = callee.unwrap();
            if let Some(line) = funcs[&c].line {
                assert_eq!(line, target, "call target line of {c}");
            }
        } else {
            let v: Vec<u64> = l
                .split(' ')
                .map(|x| {
                    x.parse()
                        .unwrap_or_else(|_| panic!("not a cost line: {l:?}"))
                })
                .collect();
            assert_eq!(v.len(), 3, "cost line {l:?}");
            let f = func.expect("cost line before fn=");
            if let Some(calls) = pending_calls.take() {
                let a = arcs.entry((f, callee.take().unwrap())).or_default();
                a.calls += calls;
                a.ns += v[1];
                a.incl_calls += v[2];
            } else {
                let pf = funcs.get_mut(&f).unwrap();
                pf.line = Some(v[0] as u32);
                pf.self_ns += v[1];
                pf.self_calls += v[2];
            }
        }
    }
    Parsed {
        header,
        funcs,
        arcs,
        summary: summary.expect("no summary: line"),
        totals: totals.expect("no totals: line"),
    }
}

/// The parsed function of each called site (matched by file and line, and
/// the name written for it).
fn function_of_site(parsed: &Parsed, p: &Profile, site: u32) -> u32 {
    let s = &p.sites[site as usize];
    let clean = |x: &str| {
        x.chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect::<String>()
            .trim()
            .to_owned()
    };
    let file = if clean(&s.file).is_empty() {
        "???".to_owned()
    } else {
        clean(&s.file)
    };
    // Relative files are written joined to the source root.
    let file = match &p.meta.source_root {
        Some(root) if !file.starts_with(['/', '?', '~', '<']) => {
            Path::new(root).join(&file).display().to_string()
        }
        _ => file,
    };
    let name = if clean(&s.name).is_empty() {
        "(unnamed)".to_owned()
    } else {
        clean(&s.name)
    };
    let ids: Vec<u32> = parsed
        .funcs
        .iter()
        .filter(|(_, f)| {
            f.file == file
                && f.line == Some(s.line)
                && (f.name == name || f.name.starts_with(&format!("{name} (")))
        })
        .map(|(&i, _)| i)
        .collect();
    assert_eq!(ids.len(), 1, "site {s:?} in {:#?}", parsed.funcs);
    ids[0]
}

/// Checks a callgrind text against the profile's statistics: self costs,
/// totals, arc costs (non-self arcs = the edge's cumtime), unique names, and
/// (unless `cycles`) KCacheGrind's inclusive cost = cumtime.
fn check_against_stats(p: &Profile, thread: Option<usize>, text: &str, cycles: bool) -> Parsed {
    let parsed = parse(text);
    let stats = match thread {
        Some(t) => p.thread_stats(t),
        None => p.stats(),
    };
    let total = (stats.total_time_ns(), stats.total_calls());
    assert_eq!(parsed.summary, total, "summary");
    assert_eq!(parsed.totals, total, "totals");
    let names: HashSet<&str> = parsed.funcs.values().map(|f| f.name.as_str()).collect();
    assert_eq!(names.len(), parsed.funcs.len(), "names must be unique");
    for f in parsed.funcs.values() {
        assert!(!f.name.contains('\n') && !f.file.contains('\n'));
    }
    for row in stats.functions() {
        let f = function_of_site(&parsed, p, row.site);
        let pf = &parsed.funcs[&f];
        assert_eq!(
            (pf.self_ns, pf.self_calls),
            (row.figures.tottime_ns, row.figures.ncalls),
            "self cost of {}",
            pf.name
        );
        for (callee, e) in &row.callees {
            let c = function_of_site(&parsed, p, *callee);
            let a = parsed.arcs[&(f, c)];
            assert_eq!(a.calls, e.ncalls, "calls of arc {f} -> {c}");
            if c != f {
                assert_eq!(a.ns, e.cumtime_ns, "cost of arc {f} -> {c}");
            }
        }
        if !cycles {
            assert_eq!(
                parsed.kcachegrind_inclusive(f).0,
                row.figures.cumtime_ns,
                "KCacheGrind's inclusive cost of {}",
                pf.name
            );
        }
    }
    parsed
}

fn stats_cumtime(p: &Profile, name: &str) -> u64 {
    let site = p.sites.iter().position(|s| s.name == name).unwrap() as u32;
    p.stats().function(site).unwrap().figures.cumtime_ns
}

// ------------------------------------------------------------------ tests

#[test]
fn sample_matches_the_verified_layout() {
    let p = sample();
    let text = callgrind_text(&p, None);
    let version = env!("CARGO_PKG_VERSION");
    let expected = format!(
        "# callgrind format
version: 1
creator: profiler {version}
pid: 4242
cmd: ./demo --flag
part: 1
desc: Trigger: 1 thread merged
positions: line
event: ns : Wall-clock nanoseconds
event: calls : Calls
events: ns calls
summary: 1000 5

fl=(1) ???
fn=(1) (thread 1: main)
cfl=(2) src/demo.rs
cfn=(2) main
calls=1 10
0 1000 5

fl=(2)
fn=(2)
10 100 1
cfn=(3) a
calls=1 20
10 900 4

fl=(2)
fn=(3)
20 200 1
cfn=(4) b
calls=1 30
20 700 3

fl=(2)
fn=(4)
30 700 3
cfn=(4)
calls=2 30
30 550 3

totals: 1000 5
"
    );
    assert_eq!(text, expected);
    check_against_stats(&p, None, &text, false);
}

#[test]
fn sample_through_callgrind_annotate() {
    let p = sample();
    let dir = scratch!("sample");
    let path = write_file(&dir, "callgrind.out", &p);

    let own = annotate(&path, false);
    assert_eq!(own.totals, (1000, 5));
    let stats = p.stats();
    assert_eq!(own.totals.0, stats.total_time_ns());
    let expected: BTreeMap<String, (u64, u64)> = [
        ("???:(thread 1: main)", (0, 0)),
        ("src/demo.rs:main", (100, 1)),
        ("src/demo.rs:a", (200, 1)),
        ("src/demo.rs:b", (700, 3)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(own.functions, expected);

    // annotate adds self arcs into inclusive costs: b = 700 + 550 (documented).
    let incl = annotate(&path, true);
    assert_eq!(incl.totals, (1000, 5));
    assert_eq!(incl.functions["src/demo.rs:main"], (1000, 5));
    assert_eq!(incl.functions["src/demo.rs:a"], (900, 4));
    assert_eq!(incl.functions["src/demo.rs:b"], (1250, 6));

    gprof2dot(&path);
}

#[test]
fn tree_view_of_the_sample() {
    let p = sample();
    let dir = scratch!("tree");
    let path = write_file(&dir, "callgrind.out", &p);
    let out = Command::new(annotate_bin())
        .args([
            "--inclusive=yes",
            "--tree=both",
            "--threshold=100",
            "--auto=no",
        ])
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    // Same call tree as docs/formats.md's verified run.
    for needle in [
        "Profiled target:  ./demo --flag (PID 4242, part 1)",
        "< src/demo.rs:a (1x) []",
        "< src/demo.rs:b (2x) []",
        "*  src/demo.rs:b",
        ">   src/demo.rs:a (1x) []",
        "< src/demo.rs:main (1x) []",
        ">   src/demo.rs:b (1x) []",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
}

#[test]
fn recursion_free_inclusive_costs_are_cumtime() {
    let p = two_threads();
    let dir = scratch!("inclusive");
    let path = write_file(&dir, "callgrind.out", &p);
    let stats = p.stats();
    let incl = annotate(&path, true);
    let own = annotate(&path, false);
    assert_eq!(own.totals, (stats.total_time_ns(), stats.total_calls()));
    for row in stats.functions() {
        let s = &p.sites[row.site as usize];
        let key = format!("{}:{}", s.file, s.name);
        assert_eq!(
            incl.functions[&key].0, row.figures.cumtime_ns,
            "inclusive ns of {key}"
        );
        assert_eq!(
            own.functions[&key],
            (row.figures.tottime_ns, row.figures.ncalls),
            "self cost of {key}"
        );
    }
    // The thread roots added because `work` is both called and top-level.
    assert_eq!(incl.functions["???:(thread 1: main)"].0, 5000);
    assert_eq!(incl.functions["???:(thread 2: worker-1)"].0, 3000);
    assert_eq!(own.functions["???:(thread 1: main)"], (0, 0));
    let text = callgrind_text(&p, None);
    let parsed = check_against_stats(&p, None, &text, false);
    let t2 = parsed.by_name("(thread 2: worker-1)");
    assert_eq!(parsed.kcachegrind_inclusive(t2), (3000, 22));
    gprof2dot(&path);
}

#[test]
fn threads_merged_and_per_thread() {
    let p = two_threads();
    let dir = scratch!("threads");
    let merged = write_file(&dir, "callgrind.out", &p);
    let merged_ann = annotate(&merged, false);
    assert_eq!(
        merged_ann.totals,
        (p.stats().total_time_ns(), p.stats().total_calls())
    );
    gprof2dot(&merged);

    let per = profiler::emit::callgrind::write_per_thread(&p, &dir.join("threads")).unwrap();
    assert_eq!(
        per.iter()
            .map(|x| x.file_name().unwrap().to_string_lossy().into_owned())
            .collect::<Vec<_>>(),
        ["callgrind.out.4242-01", "callgrind.out.4242-02"]
    );
    for (i, path) in per.iter().enumerate() {
        let text = std::fs::read_to_string(path).unwrap();
        assert!(text.contains(&format!("\nthread: {}\n", i + 1)), "{text}");
        let parsed = check_against_stats(&p, Some(i), &text, false);
        assert!(parsed.header.iter().any(|h| h == "part: 1"));
        let stats = p.thread_stats(i);
        let ann = annotate(path, false);
        assert_eq!(ann.totals, (stats.total_time_ns(), stats.total_calls()));
        for row in stats.functions() {
            let s = &p.sites[row.site as usize];
            assert_eq!(
                ann.functions[&format!("{}:{}", s.file, s.name)],
                (row.figures.tottime_ns, row.figures.ncalls)
            );
        }
        gprof2dot(path);
    }
    // Thread 2 alone: `work` is only top-level there, and still has an arc
    // from the thread's root, so KCacheGrind shows "Called (2)" and not 0;
    // the part's trigger names the thread.
    let t2 = callgrind_text(&p, Some(1));
    assert!(t2.contains("\ndesc: Trigger: thread 2: worker-1\n"), "{t2}");
    let root = t2
        .lines()
        .position(|l| l.ends_with(" (thread 2: worker-1)") && l.starts_with("fn="))
        .unwrap_or_else(|| panic!("no thread root:\n{t2}"));
    let calls: Vec<&str> = t2.lines().skip(root).take(4).collect();
    assert!(
        calls[1].starts_with("cfl=") && calls[1].ends_with("src/work.rs"),
        "{calls:?}"
    );
    assert!(
        calls[2].starts_with("cfn=") && calls[2].ends_with(" work"),
        "{calls:?}"
    );
    assert_eq!(calls[3], "calls=2 10", "{calls:?}");
    assert!(callgrind_text(&p, None).contains("\ndesc: Trigger: 2 threads merged\n"));
    // An index out of range is an error, not a panic.
    let mut sink = Vec::new();
    let err = profiler::emit::callgrind::write(&p, Some(2), &mut sink).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
}

#[test]
fn mutual_recursion() {
    let p = mutual();
    let dir = scratch!("mutual");
    let path = write_file(&dir, "callgrind.out", &p);
    let text = std::fs::read_to_string(&path).unwrap();
    let parsed = check_against_stats(&p, None, &text, true);
    let stats = p.stats();
    let own = annotate(&path, false);
    assert_eq!(own.totals, (stats.total_time_ns(), stats.total_calls()));
    assert_eq!(own.totals, (2000, 16));
    for row in stats.functions() {
        let s = &p.sites[row.site as usize];
        assert_eq!(
            own.functions[&format!("{}:{}", s.file, s.name)],
            (row.figures.tottime_ns, row.figures.ncalls)
        );
    }
    // Outside the cycle, KCacheGrind's rule still gives cumtime.
    let main = parsed.by_name("main");
    assert_eq!(parsed.kcachegrind_inclusive(main).0, 2000);
    // Inside the a <-> b cycle, arcs carry nested calls: the arcs into `a`
    // add up to its outer activation (1500, from main) plus the inner `a`
    // called from `b` (800), as callgrind's own data would; KCacheGrind's
    // cycle detection groups them. `b` happens to be exact here.
    let a = parsed.by_name("a");
    assert_eq!(stats_cumtime(&p, "a"), 1500);
    assert_eq!(parsed.kcachegrind_inclusive(a).0, 1500 + 800);
    let b = parsed.by_name("b");
    assert_eq!(parsed.kcachegrind_inclusive(b).0, stats_cumtime(&p, "b"));
    gprof2dot(&path);
}

#[test]
fn recursive_top_level_function_gets_a_thread_root() {
    let p = recursive_root();
    let text = callgrind_text(&p, None);
    let parsed = check_against_stats(&p, None, &text, false);
    let fib = parsed.by_name("fib");
    assert_eq!(parsed.kcachegrind_inclusive(fib), (900, 7));
    let dir = scratch!("recursive_root");
    let path = write_file(&dir, "callgrind.out", &p);
    let own = annotate(&path, false);
    assert_eq!(own.totals, (900, 7));
    assert_eq!(own.functions["src/fib.rs:fib"], (900, 7));
    gprof2dot(&path);
}

#[test]
fn same_names_and_odd_characters() {
    let p = odd_names();
    let text = callgrind_text(&p, None);
    for line in text.lines() {
        assert!(!line.contains('\r') && !line.contains('\t'), "{line:?}");
    }
    let parsed = check_against_stats(&p, None, &text, false);
    // Every `helper` is its own function, named after its place.
    let helpers: Vec<&str> = parsed
        .funcs
        .values()
        .filter(|f| f.name.starts_with("helper"))
        .map(|f| f.name.as_str())
        .collect();
    assert_eq!(
        helpers,
        [
            "helper (src/a.rs:10)",
            "helper (src/b.rs:10)",
            "helper (src/b.rs:40)"
        ]
    );
    parsed.by_name("weird name; with <tags> & \"quotes\"  and (3) parens");
    parsed.by_name("(unnamed)");
    parsed.by_name("(2) looks compressed");

    let dir = scratch!("odd");
    let path = write_file(&dir, "callgrind.out", &p);
    let own = annotate(&path, false);
    let stats = p.stats();
    assert_eq!(own.totals, (stats.total_time_ns(), stats.total_calls()));
    assert_eq!(own.functions["src/a.rs:helper (src/a.rs:10)"], (1000, 2));
    assert_eq!(own.functions["src/b.rs:helper (src/b.rs:10)"], (2000, 3));
    assert_eq!(own.functions["src/b.rs:helper (src/b.rs:40)"], (3000, 4));
    assert_eq!(own.functions["src/ü.rs:ünïcödé::naïve"], (100, 6));
    assert_eq!(own.functions["???:(unnamed)"], (50, 1));
    // The eight functions and the thread's root.
    assert_eq!(
        own.functions.len(),
        9,
        "one row per function: {:#?}",
        own.functions
    );
    let dot = gprof2dot(&path);
    assert!(dot.contains("helper (src/a.rs:10)"));
    assert!(dot.contains("helper (src/b.rs:40)"));
}

fn live_work(depth: u32) -> u64 {
    let _g = profiler::profile_scope!("live_work");
    let mut x = 0u64;
    for i in 0..2000 {
        x = x.wrapping_mul(31).wrapping_add(i);
    }
    if depth > 0 {
        x = x.wrapping_add(live_work(depth - 1));
    }
    std::hint::black_box(x)
}

#[test]
fn live_profile_through_the_readers() {
    // Own process: the readers check the snapshot of the whole process, which
    // must hold only this test's calls.
    if integration::ran_in_own_process(module_path!(), "live_profile_through_the_readers") {
        return;
    }
    let total = std::thread::Builder::new()
        .name("live-callgrind".into())
        .spawn(|| {
            let _outer = profiler::profile_scope!("live_main");
            let mut s = 0;
            for _ in 0..5 {
                let _g = profiler::profile_scope!("live_step");
                s += live_work(3);
            }
            s
        })
        .unwrap()
        .join()
        .unwrap();
    std::hint::black_box(total);
    let p = profiler::snapshot();
    p.validate().unwrap();
    let stats = p.stats();
    let step = p
        .sites
        .iter()
        .position(|s| s.name == "live_step")
        .expect("live_step recorded") as u32;
    assert_eq!(stats.function(step).unwrap().figures.ncalls, 5);

    let text = callgrind_text(&p, None);
    check_against_stats(&p, None, &text, false);
    let dir = scratch!("live");
    let path = write_file(&dir, "callgrind.out", &p);
    let own = annotate(&path, false);
    assert_eq!(own.totals, (stats.total_time_ns(), stats.total_calls()));
    for row in stats.functions() {
        let s = &p.sites[row.site as usize];
        if !s.name.starts_with("live_") {
            continue;
        }
        // The files are absolute (joined to the source root), and
        // callgrind_annotate shortens those under its working directory.
        let root = p.meta.source_root.as_deref().expect("a source root");
        let abs = Path::new(root).join(&s.file);
        assert!(abs.exists(), "{}", abs.display());
        let cwd = std::env::current_dir().unwrap();
        let shown = abs.strip_prefix(&cwd).unwrap_or(&abs);
        let key = format!("{}:{}", shown.display(), s.name);
        assert_eq!(
            own.functions[&key],
            (row.figures.tottime_ns, row.figures.ncalls),
            "{key}"
        );
    }
    gprof2dot(&path);
    for f in profiler::emit::callgrind::write_per_thread(&p, &dir.join("threads")).unwrap() {
        annotate(&f, false);
        gprof2dot(&f);
    }
}

#[test]
fn empty_profile_is_a_valid_file() {
    let p = Profile::new(meta(), vec![], vec![]);
    let text = callgrind_text(&p, None);
    let parsed = parse(&text);
    assert_eq!(parsed.summary, (0, 0));
    assert!(parsed.funcs.is_empty());
    let dir = scratch!("empty");
    let path = write_file(&dir, "callgrind.out", &p);
    assert_eq!(annotate(&path, false).totals, (0, 0));
    assert!(
        profiler::emit::callgrind::write_per_thread(&p, &dir)
            .unwrap()
            .is_empty()
    );
}
