//! Timeline formats: Chrome trace event JSON, speedscope, Paraver and the
//! flame chart, each read back by a checker written here from
//! reference/formats.md (never by the crate's own code):
//!
//! - Chrome trace: the JSON parses; `ts`/`dur` are microseconds with at most
//!   three decimals; process and thread metadata name every process and
//!   thread; the `X` events of each thread are exactly its spans, and each
//!   lies inside its parent (no partial overlaps), as Perfetto nests them.
//! - speedscope: the file validates against speedscope's published JSON
//!   schema (vendored in `tests/timeline/`, checked with Python's
//!   `jsonschema`), and each thread's open/close events nest, never go back
//!   in time and give back exactly its spans.
//! - Paraver: a strict reader of the `.prv` grammar (header, record field
//!   counts, object ranges, sorted times), of the `.pcf` sections and of the
//!   `.row` blocks; it accepts formats.md's verified sample and rejects its
//!   bad lines. Replaying the 60000019 events as Paraver's "Stacked Val"
//!   does gives back every thread's spans, and the Running states are the
//!   times inside a top-level span.
//! - Flame chart: the SVG parses as XML, and each span is one frame at its
//!   start time (left to right), as wide as its duration.
//!
//! Profiles: hand-built ones (nested spans, several threads, two processes,
//! equal timestamps at boundaries, zero-length spans, non-ASCII names),
//! generated ones with many ties, and a live one recorded with
//! `profile_scope!` and `#[profile]`.
//!
//! The speedscope schema test needs Python 3 with `jsonschema`
//! (`python3 -m pip install jsonschema`); `PROFILER_TEST_PYTHON` picks
//! another interpreter.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use profiler::emit::flamegraph::{self, FlamegraphOptions};
use profiler::emit::{chrome, paraver, speedscope};
use profiler::{Metadata, Profile, SiteInfo, Span, ThreadProfile, profile};
use quick_xml::Reader;
use quick_xml::events::Event;
use regex::Regex;
use serde_json::Value;

// ---------------------------------------------------------------- profiles

fn meta(program: &str, duration_ns: u64) -> Metadata {
    let mut m = Metadata::default();
    m.program = program.into();
    m.args = vec![format!("./{program}")];
    m.pid = 4242;
    m.duration_ns = duration_ns;
    m.start_unix_s = 1_795_239_059.0; // 21/11/2026 at 05:30:59 UTC
    m.clock = "tsc".into();
    m.crate_version = "0.1.0".into();
    m
}

fn site(name: &str, file: &str, line: u32) -> SiteInfo {
    SiteInfo::new(name, "demo", file, line)
}

/// `(site, start, end)` as a [`Span`].
fn span(site: u32, start: u64, end: u64) -> Span {
    Span::new(site, start, end - start)
}

/// formats.md's samples: main 1000 ⊃ a 900 ⊃ b 700 ⊃ b 400 on `main`, and
/// `job` on `worker`; spans stored in the order they ended.
fn sample() -> Profile {
    let sites = vec![
        site("main", "src/demo.rs", 10),
        site("a", "src/demo.rs", 20),
        site("b", "src/demo.rs", 30),
        site("job", "src/demo.rs", 40),
    ];
    let main = ThreadProfile::new(1, "main", 4242, Vec::new()).with_timeline(
        vec![
            span(2, 200, 600),
            span(2, 150, 850),
            span(1, 100, 1000),
            span(0, 0, 1000),
        ],
        0,
    );
    let worker =
        ThreadProfile::new(2, "worker", 4242, Vec::new()).with_timeline(vec![span(3, 200, 900)], 0);
    Profile::new(meta("demo", 1000), sites, vec![main, worker])
}

/// Site ids of [`rich`].
const MAIN: u32 = 0;
const WORK: u32 = 1;
const LEAF: u32 = 2;
const UNI: u32 = 3;
const VEC: u32 = 4;
const LEAF2: u32 = 5;
const ZERO: u32 = 6;
const STEP: u32 = 7;

/// Several threads in two processes, ties at every boundary, zero-length
/// spans, names that need escaping, a thread without a timeline, dropped
/// scopes, repeated thread names and ids.
fn rich() -> Profile {
    let sites = vec![
        site("main", "src/main.rs", 1),
        site("work", "src/w.rs", 2),
        site("leaf", "src/w.rs", 3),
        site("ünïcødé 名前", "src/ü.rs", 4),
        site("Vec<[u8; 8]>::push & \"q\"\n", "src/w.rs", 5),
        site("leaf", "src/other.rs", 6),
        site("zero", "src/w.rs", 7),
        site("step 3", "src/w.rs", 8),
    ];
    // Thread 1, in end order:
    // main [0,1000]
    //   work [0,400]: leaf [0,100], leaf [100,200], zero [200,200], ünï [200,400]
    //   zero [400,400] (after work: stored after it)
    //   work [400,1000]: Vec [500,600] > zero [600,600] (stored before Vec)
    // step 3 [1000,1200]; zero [1300,1300] alone.
    let t1 = vec![
        span(LEAF, 0, 100),
        span(LEAF, 100, 200),
        span(ZERO, 200, 200),
        span(UNI, 200, 400),
        span(WORK, 0, 400),
        span(ZERO, 400, 400),
        span(ZERO, 600, 600),
        span(VEC, 500, 600),
        span(WORK, 400, 1000),
        span(MAIN, 0, 1000),
        span(STEP, 1000, 1200),
        span(ZERO, 1300, 1300),
    ];
    // Thread 2: recursion with identical intervals.
    let t2 = vec![span(LEAF2, 50, 950), span(LEAF2, 50, 950)];
    // Thread 3 (another process, same id as thread 1): some scopes dropped.
    let t3 = vec![span(WORK, 300, 700)];
    // Thread 5: same process and id as thread 3.
    let t5 = vec![span(MAIN, 0, 10)];
    Profile::new(
        meta("rich", 1500),
        sites,
        vec![
            ThreadProfile::new(1, "main", 100, Vec::new()).with_timeline(t1, 0),
            ThreadProfile::new(2, "<unnamed>", 100, Vec::new()).with_timeline(t2, 0),
            ThreadProfile::new(1, "<unnamed>", 200, Vec::new()).with_timeline(t3, 5),
            ThreadProfile::new(7, "no timeline", 200, Vec::new()),
            ThreadProfile::new(1, "dup", 200, Vec::new()).with_timeline(t5, 0),
        ],
    )
}

/// A small deterministic generator (xorshift).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn pick(&mut self, options: &[u64]) -> u64 {
        options[(self.next() % options.len() as u64) as usize]
    }
}

/// Random nested spans in end order, with many zero gaps and zero-length
/// spans, so that ties are everywhere.
fn generated(seed: u64) -> Profile {
    fn grow(rng: &mut Rng, t0: u64, depth: u32, out: &mut Vec<Span>) -> u64 {
        let mut t = t0 + rng.pick(&[0, 0, 1, 3]);
        if depth < 5 {
            for _ in 0..rng.pick(&[0, 0, 1, 2, 3]) {
                t = grow(rng, t, depth + 1, out) + rng.pick(&[0, 0, 2]);
            }
        }
        let end = t + rng.pick(&[0, 0, 1, 7]);
        out.push(span((rng.next() % 6) as u32, t0, end));
        end
    }
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let sites = (0..6)
        .map(|i| site(&format!("f{i}"), "src/gen.rs", i + 1))
        .collect();
    let mut threads = Vec::new();
    let mut end = 0;
    for k in 0..3u64 {
        let mut spans = Vec::new();
        let mut t = rng.pick(&[0, 5]);
        for _ in 0..1 + rng.next() % 6 {
            t = grow(&mut rng, t, 0, &mut spans) + rng.pick(&[0, 0, 4]);
        }
        end = end.max(t);
        let pid = if k == 2 { 77 } else { 76 };
        threads.push(
            ThreadProfile::new(k + 1, format!("gen {k}"), pid, Vec::new()).with_timeline(spans, 0),
        );
    }
    Profile::new(meta("gen", end / 2), sites, threads)
}

/// Every profile the format checks run on.
fn hand_built() -> Vec<(String, Profile)> {
    let mut out = vec![("sample".to_owned(), sample()), ("rich".to_owned(), rich())];
    for seed in 1..=40 {
        out.push((format!("generated {seed}"), generated(seed)));
    }
    let mut empty = rich();
    for t in &mut empty.threads {
        t.timeline.clear();
    }
    out.push(("no timelines".to_owned(), empty));
    out.push((
        "no threads".to_owned(),
        Profile::new(meta("none", 10), Vec::new(), Vec::new()),
    ));
    out
}

// ------------------------------------------------------------- expectations

/// `(site, start, end)` of every span of a thread, sorted: what each format
/// must give back.
fn expected_spans(t: &ThreadProfile) -> Vec<(u32, u64, u64)> {
    let mut v: Vec<_> = t
        .timeline
        .iter()
        .map(|s| (s.site, s.start_ns, s.start_ns + s.duration_ns))
        .collect();
    v.sort_unstable();
    v
}

/// The end of the time axis: the duration or the last span's end.
fn expected_end(p: &Profile) -> u64 {
    p.threads
        .iter()
        .flat_map(|t| &t.timeline)
        .map(|s| s.start_ns + s.duration_ns)
        .fold(p.meta.duration_ns, u64::max)
}

/// Control characters as spaces (what every format writes for names).
fn clean(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Bytes as text, or a failure naming `what`.
fn utf8(bytes: Vec<u8>, what: &str) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| panic!("{what} is not UTF-8: {e}"))
}

// ------------------------------------------------------------- chrome trace

/// A complete event as read back.
#[derive(Clone, Debug)]
struct XEvent {
    name: String,
    file: String,
    line: u64,
    start: u64,
    dur: u64,
}

/// Microseconds as written (`12.345`) to nanoseconds, exactly; `None` if
/// the text is not a plain decimal with at most three decimals.
fn micros_to_ns(text: &str) -> Option<u64> {
    let re = Regex::new(r"^(0|[1-9][0-9]*)(?:\.([0-9]{1,3}))?$").unwrap();
    let c = re.captures(text)?;
    let us: u64 = c[1].parse().ok()?;
    let frac = c.get(2).map_or("", |m| m.as_str());
    let ns: u64 = format!("{frac:0<3}").parse().ok()?;
    Some(us * 1000 + ns)
}

/// Checks a Chrome trace against `p` and returns the number of X events.
fn check_chrome(p: &Profile, text: &str, what: &str) -> usize {
    let v: Value =
        serde_json::from_str(text).unwrap_or_else(|e| panic!("{what}: trace.json: bad JSON: {e}"));
    assert_eq!(v["displayTimeUnit"], "ns", "{what}");
    let other = v["otherData"].as_object().expect("otherData");
    assert!(
        other["program"].is_string() && other["clock"].is_string(),
        "{what}"
    );
    let dropped: u64 = p.threads.iter().map(|t| t.timeline_dropped).sum();
    assert_eq!(other["timeline_dropped"], dropped, "{what}");
    let events = v["traceEvents"].as_array().expect("traceEvents");

    // Every ts and dur as written: microseconds, at most three decimals.
    let raw = Regex::new(r#""(ts|dur)":([^,}]*)"#).unwrap();
    let mut n_times = 0;
    for c in raw.captures_iter(text) {
        assert!(
            micros_to_ns(&c[2]).is_some(),
            "{what}: {} written as {:?}",
            &c[1],
            &c[2]
        );
        n_times += 1;
    }

    let mut process_names: BTreeMap<u64, String> = BTreeMap::new();
    let mut thread_names: BTreeMap<(u64, u64), String> = BTreeMap::new();
    let mut sort_index: BTreeMap<(u64, u64), u64> = BTreeMap::new();
    let mut x: BTreeMap<(u64, u64), Vec<XEvent>> = BTreeMap::new();
    for e in events {
        let pid = e["pid"].as_u64().expect("pid");
        let tid = e["tid"].as_u64().expect("tid");
        match e["ph"].as_str().expect("ph") {
            "M" => {
                let args = &e["args"];
                match e["name"].as_str().unwrap() {
                    "process_name" => {
                        let name = args["name"].as_str().unwrap().to_owned();
                        assert!(
                            process_names.insert(pid, name).is_none(),
                            "{what}: two process_name"
                        );
                    }
                    "thread_name" => {
                        let name = args["name"].as_str().unwrap().to_owned();
                        assert!(
                            thread_names.insert((pid, tid), name).is_none(),
                            "{what}: two thread_name"
                        );
                    }
                    "thread_sort_index" => {
                        let i = args["sort_index"].as_u64().unwrap();
                        assert!(sort_index.insert((pid, tid), i).is_none(), "{what}");
                    }
                    other => panic!("{what}: unexpected metadata {other}"),
                }
            }
            "X" => {
                assert_eq!(e["cat"], "fn", "{what}");
                let ns = |k: &str| {
                    let n = e[k]
                        .as_f64()
                        .unwrap_or_else(|| panic!("{what}: {k} in {e}"));
                    (n * 1000.0).round() as u64
                };
                x.entry((pid, tid)).or_default().push(XEvent {
                    name: e["name"].as_str().unwrap().to_owned(),
                    file: e["args"]["file"].as_str().unwrap().to_owned(),
                    line: e["args"]["line"].as_u64().unwrap(),
                    start: ns("ts"),
                    dur: ns("dur"),
                });
            }
            other => panic!("{what}: unexpected phase {other}"),
        }
    }
    let n_x: usize = x.values().map(Vec::len).sum();
    assert_eq!(n_times, 2 * n_x, "{what}: ts and dur of every X event");

    // One process_name per process, one thread per profile thread.
    let pids: BTreeSet<u64> = p.threads.iter().map(|t| u64::from(t.pid)).collect();
    assert_eq!(
        process_names.keys().copied().collect::<BTreeSet<_>>(),
        pids,
        "{what}"
    );
    assert_eq!(thread_names.len(), p.threads.len(), "{what}");
    assert_eq!(sort_index.len(), p.threads.len(), "{what}");
    let mut track_of = vec![None; p.threads.len()];
    for (&(pid, tid), &i) in &sort_index {
        let t = &p.threads[i as usize];
        assert_eq!(pid, u64::from(t.pid), "{what}: thread {i}'s pid");
        assert_eq!(
            thread_names[&(pid, tid)],
            t.name,
            "{what}: thread {i}'s name"
        );
        track_of[i as usize] = Some((pid, tid));
    }

    for (i, t) in p.threads.iter().enumerate() {
        let track = track_of[i].unwrap();
        let got = x.remove(&track).unwrap_or_default();
        // The events are the spans, named and located as their sites.
        let mut spans: Vec<(u32, u64, u64)> = Vec::new();
        for e in &got {
            let s = p
                .sites
                .iter()
                .position(|s| {
                    clean(&s.name) == e.name && s.file == e.file && u64::from(s.line) == e.line
                })
                .unwrap_or_else(|| panic!("{what}: no site for {e:?}"));
            spans.push((s as u32, e.start, e.start + e.dur));
        }
        spans.sort_unstable();
        assert_eq!(spans, expected_spans(t), "{what}: thread {i}");
        check_x_nesting(&got, &format!("{what}: thread {i}"));
    }
    assert!(x.is_empty(), "{what}: events on unknown tracks: {x:?}");
    n_x
}

/// Every X event of a track lies inside its parent: sorted by start (longer
/// first, then file order), each event is inside the innermost open event
/// that has not ended, and never overlaps one that has.
fn check_x_nesting(events: &[XEvent], what: &str) {
    let mut order: Vec<usize> = (0..events.len()).collect();
    order.sort_by_key(|&i| (events[i].start, std::cmp::Reverse(events[i].dur)));
    let mut stack: Vec<usize> = Vec::new();
    for i in order {
        let e = &events[i];
        let end = e.start + e.dur;
        while let Some(&top) = stack.last() {
            let t = &events[top];
            if end <= t.start + t.dur {
                break; // inside its parent
            }
            assert!(
                e.start >= t.start + t.dur,
                "{what}: {e:?} overlaps {t:?} without nesting"
            );
            stack.pop();
        }
        stack.push(i);
    }
}

// --------------------------------------------------------------- speedscope

/// The vendored schema (see tests/timeline/README.md).
fn schema() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/timeline/speedscope-file-format-schema.json")
}

fn python() -> String {
    std::env::var("PROFILER_TEST_PYTHON").unwrap_or_else(|_| "python3".to_owned())
}

/// Validates `files` against `schema` with Python's `jsonschema`: `Ok` with
/// the report, or `Err` with the errors.
fn validate_schema(schema: &Path, files: &[PathBuf]) -> Result<String, String> {
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/timeline/validate_json_schema.py");
    let out = Command::new(python())
        .arg(&script)
        .arg(schema)
        .args(files)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "this test needs Python 3 as `python3` on PATH (or PROFILER_TEST_PYTHON) \
                 with the `jsonschema` package; running `{}` failed: {e}",
                python()
            )
        });
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !text.contains("No module named 'jsonschema'"),
        "this test needs Python's `jsonschema` package: `{} -m pip install jsonschema` \
         (CI's .ci/run installs it)",
        python()
    );
    match out.status.code() {
        Some(0) => Ok(text),
        Some(1) => Err(text),
        _ => panic!("the schema validator failed: {text}"),
    }
}

/// Checks a speedscope file against `p` (everything but the schema).
fn check_speedscope(p: &Profile, text: &str, what: &str) {
    let v: Value = serde_json::from_str(text)
        .unwrap_or_else(|e| panic!("{what}: speedscope.json: bad JSON: {e}"));
    assert_eq!(
        v["$schema"],
        "https://www.speedscope.app/file-format-schema.json"
    );
    let frames = v["shared"]["frames"].as_array().expect("frames");
    assert!(frames.len() >= p.sites.len(), "{what}");
    for (i, s) in p.sites.iter().enumerate() {
        assert_eq!(frames[i]["name"], clean(&s.name), "{what}: frame {i}");
        assert_eq!(frames[i]["file"], s.file, "{what}: frame {i}");
        assert_eq!(frames[i]["line"], s.line, "{what}: frame {i}");
    }
    let profiles = v["profiles"].as_array().expect("profiles");
    let with: Vec<&ThreadProfile> = p
        .threads
        .iter()
        .filter(|t| !t.timeline.is_empty())
        .collect();
    assert_eq!(
        profiles.len(),
        with.len(),
        "{what}: one profile per thread with a timeline"
    );
    let end = expected_end(p);
    let mut names = BTreeSet::new();
    for (prof, t) in profiles.iter().zip(with) {
        let name = prof["name"].as_str().unwrap();
        assert!(
            name.starts_with(&format!("thread {}", t.name)),
            "{what}: {name}"
        );
        assert!(
            names.insert(name.to_owned()),
            "{what}: two profiles named {name}"
        );
        assert_eq!(prof["type"], "evented");
        assert_eq!(prof["unit"], "nanoseconds");
        assert_eq!(prof["startValue"], 0);
        assert_eq!(prof["endValue"], end, "{what}");
        let spans = replay_speedscope(prof["events"].as_array().unwrap(), end, what);
        let mut flat: Vec<(u32, u64, u64)> = spans.iter().map(|&(f, a, b, _)| (f, a, b)).collect();
        flat.sort_unstable();
        assert_eq!(flat, expected_spans(t), "{what}: {name}");
    }
}

/// Replays evented O/C events as speedscope does (a close must close the
/// frame on top; values never decrease) and returns the spans in the order
/// they opened: `(frame, open, close, depth)`.
fn replay_speedscope(events: &[Value], end: u64, what: &str) -> Vec<(u32, u64, u64, usize)> {
    let mut out: Vec<(u32, u64, u64, usize)> = Vec::new();
    let mut open: Vec<usize> = Vec::new();
    let mut last = 0;
    for e in events {
        let at = e["at"].as_u64().unwrap();
        let frame = e["frame"].as_u64().unwrap() as u32;
        assert!(at >= last, "{what}: `at` went back to {at}");
        assert!(at <= end, "{what}: `at` {at} past endValue");
        last = at;
        match e["type"].as_str().unwrap() {
            "O" => {
                out.push((frame, at, u64::MAX, open.len()));
                open.push(out.len() - 1);
            }
            "C" => {
                let top = open
                    .pop()
                    .unwrap_or_else(|| panic!("{what}: close with nothing open"));
                assert_eq!(
                    out[top].0, frame,
                    "{what}: closed frame {frame} over another"
                );
                out[top].2 = at;
            }
            other => panic!("{what}: event type {other}"),
        }
    }
    assert!(open.is_empty(), "{what}: frames left open");
    out
}

// ------------------------------------------------------------------ paraver

/// A strict reader of Paraver traces, written from reference/formats.md
/// section 5 (after paraver-kernel's `utils/traceparser`).
mod prv {
    use std::collections::BTreeMap;

    use regex::Regex;

    /// The `.prv` header.
    #[derive(Debug, Clone, PartialEq)]
    pub(super) struct Header {
        pub(super) date: (u32, u32, u32, u32, u32),
        pub(super) end: u64,
        pub(super) unit: String,
        /// CPUs per node.
        pub(super) nodes: Vec<u32>,
        /// Per application, per task: (threads, node).
        pub(super) appls: Vec<Vec<(u32, u32)>>,
        pub(super) communicators: u32,
    }

    impl Header {
        pub(super) fn cpus(&self) -> u32 {
            self.nodes.iter().sum()
        }
    }

    /// A body record (objects 1-based; cpu 0 = unknown).
    #[derive(Debug, Clone, PartialEq)]
    pub(super) enum Record {
        State {
            obj: Obj,
            begin: u64,
            end: u64,
            state: u32,
        },
        Event {
            obj: Obj,
            time: u64,
            pairs: Vec<(u32, i64)>,
        },
        Comm {
            obj: Obj,
            lsend: u64,
            to: Obj,
        },
    }

    /// cpu, appl, task, thread.
    pub(super) type Obj = (u32, u32, u32, u32);

    fn num<T: std::str::FromStr>(s: &str, what: &str) -> Result<T, String> {
        let ok = !s.is_empty()
            && s.bytes()
                .enumerate()
                .all(|(i, b)| b.is_ascii_digit() || (i == 0 && b == b'-' && s.len() > 1));
        if !ok {
            return Err(format!("{what}: {s:?} is not an integer"));
        }
        s.parse().map_err(|_| format!("{what}: {s:?} out of range"))
    }

    pub(super) fn header(line: &str) -> Result<Header, String> {
        let re = Regex::new(
            r"^#Paraver \(([0-9]{2})/([0-9]{2})/([0-9]{4}) at ([0-9]{2}):([0-9]{2})\):([0-9]+)(_ns|_ms)?:(.*)$",
        )
        .unwrap();
        let c = re
            .captures(line)
            .ok_or_else(|| format!("bad header {line:?}"))?;
        let n = |i: usize| c[i].parse::<u32>().unwrap();
        let date = (n(1), n(2), n(3), n(4), n(5));
        if !(1..=31).contains(&date.0) || !(1..=12).contains(&date.1) || date.3 > 23 || date.4 > 59
        {
            return Err(format!("bad date in {line:?}"));
        }
        let end = num(&c[6], "end time")?;
        let unit = c.get(7).map_or("us", |m| &m.as_str()[1..]).to_owned();
        let rest = &c[8];
        // RESOURCES: `0` or `n(c1,...,cn)`, then `:N_APPL:APPL...[,N_COMM]`.
        let (nodes, rest) = if let Some(r) = rest.strip_prefix("0:") {
            (Vec::new(), r)
        } else {
            let open = rest.find('(').ok_or("resources without '('")?;
            let close = rest.find(')').ok_or("resources without ')'")?;
            let n: usize = num(&rest[..open], "nodes")?;
            let cpus: Vec<u32> = rest[open + 1..close]
                .split(',')
                .map(|s| num(s, "cpus"))
                .collect::<Result<_, _>>()?;
            if cpus.len() != n || n == 0 {
                return Err(format!("{n} nodes but {} CPU counts", cpus.len()));
            }
            let r = rest[close + 1..]
                .strip_prefix(':')
                .ok_or("no ':' after resources")?;
            (cpus, r)
        };
        let colon = rest.find(':').ok_or("no applications")?;
        let n_appl: usize = num(&rest[..colon], "applications")?;
        let mut rest = &rest[colon + 1..];
        let mut appls = Vec::new();
        for k in 0..n_appl {
            let open = rest.find('(').ok_or("application without '('")?;
            let close = rest.find(')').ok_or("application without ')'")?;
            let n_tasks: usize = num(&rest[..open], "tasks")?;
            let mut tasks = Vec::new();
            for t in rest[open + 1..close].split(',') {
                let (th, node) = t.split_once(':').ok_or("task without ':node'")?;
                let th: u32 = num(th, "threads")?;
                let node: u32 = num(node, "node")?;
                if th == 0 || node == 0 || (!nodes.is_empty() && node as usize > nodes.len()) {
                    return Err(format!("task {t:?}: bad threads or node"));
                }
                tasks.push((th, node));
            }
            if tasks.len() != n_tasks || n_tasks == 0 {
                return Err(format!("{n_tasks} tasks but {} listed", tasks.len()));
            }
            appls.push(tasks);
            rest = &rest[close + 1..];
            if k + 1 < n_appl {
                rest = rest
                    .strip_prefix(':')
                    .ok_or("applications not separated by ':'")?;
            }
        }
        let communicators = match rest {
            "" => 0,
            r => num(
                r.strip_prefix(',').ok_or("junk after the applications")?,
                "communicators",
            )?,
        };
        if appls.is_empty() {
            return Err("no application".into());
        }
        Ok(Header {
            date,
            end,
            unit,
            nodes,
            appls,
            communicators,
        })
    }

    fn obj(h: &Header, f: &[&str], what: &str) -> Result<Obj, String> {
        let cpu: u32 = num(f[0], "cpu")?;
        let appl: u32 = num(f[1], "appl")?;
        let task: u32 = num(f[2], "task")?;
        let thread: u32 = num(f[3], "thread")?;
        if cpu > h.cpus() {
            return Err(format!("{what}: cpu {cpu} of {}", h.cpus()));
        }
        let tasks = h
            .appls
            .get((appl as usize).wrapping_sub(1))
            .ok_or(format!("{what}: appl {appl} of {}", h.appls.len()))?;
        let (threads, _) = tasks
            .get((task as usize).wrapping_sub(1))
            .ok_or(format!("{what}: task {task} of {}", tasks.len()))?;
        if thread == 0 || thread > *threads {
            return Err(format!("{what}: thread {thread} of {threads}"));
        }
        Ok((cpu, appl, task, thread))
    }

    /// Reads a whole `.prv`: the header, then the records, strictly.
    pub(super) fn read(text: &str) -> Result<(Header, Vec<Record>), String> {
        let mut lines = text.lines();
        let h = header(lines.next().ok_or("empty file")?)?;
        for k in 0..h.communicators {
            let l = lines.next().ok_or("missing communicator line")?;
            if !l.starts_with("c:") {
                return Err(format!("communicator {k}: {l:?}"));
            }
        }
        let mut out = Vec::new();
        let mut last = 0u64;
        for (no, line) in lines.enumerate() {
            let what = format!("record {} {line:?}", no + 1);
            if line.starts_with('#') {
                continue;
            }
            let f: Vec<&str> = line.split(':').collect();
            let (time, rec) = match f[0] {
                "1" => {
                    if f.len() != 8 {
                        return Err(format!("{what}: a state has 8 fields"));
                    }
                    let obj = obj(&h, &f[1..5], &what)?;
                    let begin: u64 = num(f[5], "begin")?;
                    let end: u64 = num(f[6], "end")?;
                    if begin > end || end > h.end {
                        return Err(format!("{what}: bad interval"));
                    }
                    let state = num(f[7], "state")?;
                    (
                        begin,
                        Record::State {
                            obj,
                            begin,
                            end,
                            state,
                        },
                    )
                }
                "2" => {
                    if f.len() < 8 || f.len() & 1 != 0 {
                        return Err(format!("{what}: an event has type:value pairs"));
                    }
                    let obj = obj(&h, &f[1..5], &what)?;
                    let time: u64 = num(f[5], "time")?;
                    let pairs = f[6..]
                        .chunks(2)
                        .map(|p| Ok((num(p[0], "type")?, num(p[1], "value")?)))
                        .collect::<Result<Vec<_>, String>>()?;
                    (time, Record::Event { obj, time, pairs })
                }
                "3" => {
                    if f.len() != 15 {
                        return Err(format!("{what}: a communication has 15 fields"));
                    }
                    let from = obj(&h, &f[1..5], &what)?;
                    let t: Vec<u64> = [5, 6, 11, 12]
                        .iter()
                        .map(|&i| num(f[i], "time"))
                        .collect::<Result<_, _>>()?;
                    let to = obj(&h, &f[7..11], &what)?;
                    num::<u64>(f[13], "size")?;
                    num::<i64>(f[14], "tag")?;
                    if t.iter().any(|&x| x > h.end) {
                        return Err(format!("{what}: time past the end"));
                    }
                    (
                        t[0],
                        Record::Comm {
                            obj: from,
                            lsend: t[0],
                            to,
                        },
                    )
                }
                other => return Err(format!("{what}: unknown record type {other:?}")),
            };
            if time < last {
                return Err(format!("{what}: time {time} before {last}: not sorted"));
            }
            if time > h.end {
                return Err(format!("{what}: time past the end"));
            }
            last = time;
            out.push(rec);
        }
        Ok((h, out))
    }

    /// The `.pcf`: options, states, colours and event types.
    #[derive(Debug, Default)]
    pub(super) struct Pcf {
        pub(super) options: BTreeMap<String, String>,
        pub(super) semantic: BTreeMap<String, String>,
        pub(super) states: BTreeMap<u32, String>,
        pub(super) colors: BTreeMap<u32, (u8, u8, u8)>,
        /// type -> (label, values)
        pub(super) types: BTreeMap<u32, (String, BTreeMap<i64, String>)>,
    }

    pub(super) fn pcf(text: &str) -> Result<Pcf, String> {
        #[derive(PartialEq)]
        enum Sec {
            None,
            Options,
            Semantic,
            States,
            Colors,
            Types,
            Values,
        }
        let mut out = Pcf::default();
        let mut sec = Sec::None;
        // The types of the current EVENT_TYPE block.
        let mut block: Vec<u32> = Vec::new();
        let split = |l: &str| -> Option<(String, String)> {
            let (a, b) = l.split_once(' ')?;
            let b = b.trim_start();
            (!b.is_empty()).then(|| (a.to_owned(), b.to_owned()))
        };
        for (no, raw) in text.lines().enumerate() {
            let line = raw.replace('\t', " ");
            let line = line.trim();
            let what = format!(".pcf line {} {raw:?}", no + 1);
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            match line {
                "DEFAULT_OPTIONS" => sec = Sec::Options,
                "DEFAULT_SEMANTIC" => sec = Sec::Semantic,
                "STATES" => sec = Sec::States,
                "STATES_COLOR" => sec = Sec::Colors,
                "EVENT_TYPE" => {
                    sec = Sec::Types;
                    block.clear();
                }
                "VALUES" if sec == Sec::Types && !block.is_empty() => sec = Sec::Values,
                "GRADIENT_COLOR" | "GRADIENT_NAMES" => return Err(format!("{what}: deprecated")),
                _ => {
                    let (k, v) = split(line).ok_or(format!("{what}: key without value"))?;
                    match sec {
                        Sec::None => return Err(format!("{what}: outside any section")),
                        Sec::Options => {
                            const KEYS: [&str; 7] = [
                                "LEVEL",
                                "UNITS",
                                "LOOK_BACK",
                                "SPEED",
                                "FLAG_ICONS",
                                "NUM_OF_STATE_COLORS",
                                "YMAX_SCALE",
                            ];
                            if !KEYS.contains(&k.as_str()) {
                                return Err(format!("{what}: unknown option"));
                            }
                            out.options.insert(k, v);
                        }
                        Sec::Semantic => {
                            out.semantic.insert(k, v);
                        }
                        Sec::States => {
                            let s: u32 = num(&k, &what)?;
                            if out.states.insert(s, v).is_some() {
                                return Err(format!("{what}: state {s} twice"));
                            }
                        }
                        Sec::Colors => {
                            let s: u32 = num(&k, &what)?;
                            let rgb = v
                                .strip_prefix('{')
                                .and_then(|v| v.strip_suffix('}'))
                                .ok_or(format!("{what}: colour not {{r,g,b}}"))?;
                            let c: Vec<u8> = rgb
                                .split(',')
                                .map(|x| num(x, &what))
                                .collect::<Result<_, _>>()?;
                            if c.len() != 3 {
                                return Err(format!("{what}: colour not {{r,g,b}}"));
                            }
                            out.colors.insert(s, (c[0], c[1], c[2]));
                        }
                        Sec::Types => {
                            num::<u32>(&k, &what)?; // gradient colour
                            let (ty, label) =
                                split(&v).ok_or(format!("{what}: type without label"))?;
                            let ty: u32 = num(&ty, &what)?;
                            block.push(ty);
                            if out.types.insert(ty, (label, BTreeMap::new())).is_some() {
                                return Err(format!("{what}: type {ty} twice"));
                            }
                        }
                        Sec::Values => {
                            if k == "PRECISION" {
                                num::<u32>(&v, &what)?;
                                continue;
                            }
                            let val: i64 = num(&k, &what)?;
                            for ty in &block {
                                let values = &mut out.types.get_mut(ty).unwrap().1;
                                if values.insert(val, v.clone()).is_some() {
                                    return Err(format!("{what}: value {val} twice"));
                                }
                            }
                        }
                    }
                }
            }
        }
        Ok(out)
    }

    /// The `.row`: labels per level.
    pub(super) fn row(text: &str) -> Result<BTreeMap<String, Vec<String>>, String> {
        let re = Regex::new(r"^LEVEL (CPU|NODE|SYSTEM|WORKLOAD|APPL|TASK|THREAD) SIZE ([0-9]+)$")
            .unwrap();
        let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut lines = text.lines().enumerate();
        while let Some((no, line)) = lines.next() {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let c = re.captures(line).ok_or(format!(
                ".row line {}: {line:?} is not a LEVEL line",
                no + 1
            ))?;
            let n: usize = c[2].parse().unwrap();
            let mut labels = Vec::new();
            for _ in 0..n {
                match lines.next() {
                    Some((_, l)) if !l.is_empty() && !l.starts_with("LEVEL ") => {
                        labels.push(l.to_owned())
                    }
                    other => {
                        return Err(format!(
                            ".row: LEVEL {} SIZE {n} has {} labels (then {other:?})",
                            &c[1],
                            labels.len()
                        ));
                    }
                }
            }
            if out.insert(c[1].to_owned(), labels).is_some() {
                return Err(format!(".row: LEVEL {} twice", &c[1]));
            }
        }
        Ok(out)
    }
}

/// A Paraver trace as written.
struct Trace {
    prv: String,
    pcf: String,
    row: String,
}

fn paraver_of(p: &Profile) -> Trace {
    let (mut a, mut b, mut c) = (Vec::new(), Vec::new(), Vec::new());
    paraver::write(p, &mut a, &mut b, &mut c).unwrap();
    Trace {
        prv: utf8(a, ".prv"),
        pcf: utf8(b, ".pcf"),
        row: utf8(c, ".row"),
    }
}

/// The function labels the .pcf must hold: the name, with `(file:line)` when
/// several sites share it.
fn function_labels(p: &Profile) -> Vec<String> {
    let names: Vec<String> = p
        .sites
        .iter()
        .map(|s| clean(&s.name).trim().to_owned())
        .collect();
    names
        .iter()
        .zip(&p.sites)
        .map(|(n, s)| {
            if names.iter().filter(|m| *m == n).count() > 1 {
                format!("{n} ({}:{})", s.file, s.line)
            } else {
                n.clone()
            }
        })
        .collect()
}

/// Reads a trace strictly and checks it against `p`.
fn check_paraver(p: &Profile, t: &Trace, what: &str) {
    let (h, records) = prv::read(&t.prv).unwrap_or_else(|e| panic!("{what}: .prv: {e}\n{}", t.prv));
    let pcf = prv::pcf(&t.pcf).unwrap_or_else(|e| panic!("{what}: .pcf: {e}"));
    let row = prv::row(&t.row).unwrap_or_else(|e| panic!("{what}: .row: {e}"));
    let end = expected_end(p);

    // Header: ns, the end, a 4-digit year, one application of one task per
    // process, one CPU per thread.
    assert_eq!((h.unit.as_str(), h.end), ("ns", end), "{what}");
    assert_eq!(h.date, (21, 11, 2026, 5, 30), "{what}");
    assert_eq!(h.appls.len(), 1, "{what}");
    let mut pids: Vec<u32> = Vec::new();
    for th in &p.threads {
        if !pids.contains(&th.pid) {
            pids.push(th.pid);
        }
    }
    let tasks = &h.appls[0];
    if p.threads.is_empty() {
        assert_eq!(tasks, &[(1, 1)], "{what}");
    } else {
        assert_eq!(tasks.len(), pids.len(), "{what}: one task per process");
        for (k, pid) in pids.iter().enumerate() {
            let n = p.threads.iter().filter(|t| t.pid == *pid).count() as u32;
            assert_eq!(tasks[k], (n, 1), "{what}: task {k}");
        }
        assert_eq!(h.cpus() as usize, p.threads.len(), "{what}");
    }

    // .row: sizes match the header; threads named in profile order.
    assert_eq!(row["CPU"].len(), h.cpus() as usize, "{what}");
    assert_eq!(row["NODE"].len(), h.nodes.len(), "{what}");
    assert_eq!(row["APPL"].len(), 1, "{what}");
    assert_eq!(row["TASK"].len(), tasks.len(), "{what}");
    let n_threads: u32 = tasks.iter().map(|t| t.0).sum();
    assert_eq!(row["THREAD"].len(), n_threads as usize, "{what}");
    // (task, thread) of every profile thread, from the .row labels.
    let label = Regex::new(r"^THREAD 1\.([0-9]+)\.([0-9]+) \((.*)\)$").unwrap();
    let mut obj_of: HashMap<(u32, u32), usize> = HashMap::new();
    for (i, th) in p.threads.iter().enumerate() {
        let l = &row["THREAD"][i];
        let c = label
            .captures(l)
            .unwrap_or_else(|| panic!("{what}: .row label {l:?}"));
        let task: u32 = c[1].parse().unwrap();
        let thread: u32 = c[2].parse().unwrap();
        assert_eq!(&c[3], clean(&th.name).trim(), "{what}");
        assert_eq!(
            pids[task as usize - 1],
            th.pid,
            "{what}: task of thread {i}"
        );
        assert!(
            obj_of.insert((task, thread), i).is_none(),
            "{what}: {l} twice"
        );
    }

    // .pcf: states and the user-function names.
    assert_eq!(pcf.options["LEVEL"], "THREAD");
    assert_eq!(pcf.options["UNITS"], "NANOSEC");
    assert_eq!(pcf.semantic["THREAD_FUNC"], "State As Is");
    assert_eq!(pcf.states[&0], "Idle");
    assert_eq!(pcf.states[&1], "Running");
    assert!(pcf.colors.contains_key(&0) && pcf.colors.contains_key(&1));
    let (fn_label, values) = &pcf.types[&60_000_019];
    assert_eq!(fn_label, "User function");
    assert_eq!(values[&0], "End");
    for (i, l) in function_labels(p).iter().enumerate() {
        assert_eq!(&values[&(i as i64 + 1)], l, "{what}: function {}", i + 1);
    }

    // Records, per thread: replay "Stacked Val" and the states.
    let mut states: BTreeMap<usize, Vec<(u64, u64, u32)>> = BTreeMap::new();
    let mut stacks: BTreeMap<usize, Vec<(u64, u64)>> = BTreeMap::new();
    let mut spans: BTreeMap<usize, Vec<(u32, u64, u64)>> = BTreeMap::new();
    // Per thread: the intervals with something on the stack.
    let mut busy: BTreeMap<usize, Vec<(u64, u64)>> = BTreeMap::new();
    for r in &records {
        match r {
            prv::Record::State {
                obj,
                begin,
                end,
                state,
            } => {
                let i = obj_of[&(obj.2, obj.3)];
                assert_eq!(obj.0 as usize, i + 1, "{what}: thread {i}'s CPU");
                states.entry(i).or_default().push((*begin, *end, *state));
            }
            prv::Record::Event { obj, time, pairs } => {
                let i = obj_of[&(obj.2, obj.3)];
                for &(ty, value) in pairs {
                    assert_eq!(ty, 60_000_019, "{what}");
                    let stack = stacks.entry(i).or_default();
                    if value != 0 {
                        assert!(values.contains_key(&value), "{what}: value {value} unnamed");
                        if stack.is_empty() {
                            busy.entry(i).or_default().push((*time, u64::MAX));
                        }
                        stack.push((value as u64, *time));
                    } else {
                        let (v, start) = stack
                            .pop()
                            .unwrap_or_else(|| panic!("{what}: thread {i}: 0 with nothing open"));
                        spans
                            .entry(i)
                            .or_default()
                            .push((v as u32 - 1, start, *time));
                        if stack.is_empty() {
                            busy.get_mut(&i).unwrap().last_mut().unwrap().1 = *time;
                        }
                    }
                }
            }
            prv::Record::Comm { .. } => panic!("{what}: no communications expected"),
        }
    }
    for (i, th) in p.threads.iter().enumerate() {
        assert!(
            stacks.get(&i).is_none_or(Vec::is_empty),
            "{what}: thread {i} ends inside a function"
        );
        let mut got = spans.remove(&i).unwrap_or_default();
        got.sort_unstable();
        assert_eq!(got, expected_spans(th), "{what}: thread {i}'s spans");
        let st = states.remove(&i).unwrap_or_default();
        if th.timeline.is_empty() {
            assert!(
                st.is_empty(),
                "{what}: thread {i} has no timeline but states"
            );
            continue;
        }
        // States cover [0, end] without gaps; Running = busy, merged.
        let mut at = 0;
        for &(b, e, s) in &st {
            assert_eq!(b, at, "{what}: thread {i}: state gap or overlap at {b}");
            assert!(b < e, "{what}: empty state");
            assert!(s <= 1, "{what}: state {s}");
            at = e;
        }
        assert_eq!(at, end, "{what}: thread {i}: states end at {at}");
        let running: Vec<(u64, u64)> = st.iter().filter(|s| s.2 == 1).map(|s| (s.0, s.1)).collect();
        let mut merged: Vec<(u64, u64)> = Vec::new();
        for &(b, e) in busy.get(&i).map_or(&[][..], Vec::as_slice) {
            match merged.last_mut() {
                Some(last) if b <= last.1 => last.1 = last.1.max(e),
                _ => merged.push((b, e)),
            }
        }
        merged.retain(|&(b, e)| e > b);
        // Idle states also separate Running ones.
        for w in st.windows(2) {
            assert_ne!(
                w[0].2, w[1].2,
                "{what}: thread {i}: equal states not merged"
            );
        }
        assert_eq!(
            running, merged,
            "{what}: thread {i}: Running = inside a top-level span"
        );
    }
}

// ------------------------------------------------------------- flame chart

#[derive(Debug, Clone)]
struct Frame {
    name: String,
    x: u64,
    w: u64,
    y: i64,
}

/// The frames of an inferno SVG, read with an XML parser.
fn svg_frames(svg: &str) -> Vec<Frame> {
    let mut reader = Reader::from_str(svg);
    reader.config_mut().check_end_names = true;
    let mut out = Vec::new();
    let (mut in_frames, mut depth_svg, mut in_g, mut in_title) = (false, 0, false, false);
    let mut title = String::new();
    let mut rect = None;
    loop {
        match reader.read_event().expect("well-formed SVG") {
            Event::Eof => break,
            Event::Start(e) => match e.name().as_ref() {
                b"svg" => {
                    depth_svg += 1;
                    if attr(&e, b"id").as_deref() == Some("frames") {
                        in_frames = true;
                    }
                }
                b"g" if in_frames => {
                    in_g = true;
                    title.clear();
                    rect = None;
                }
                b"title" if in_g => in_title = true,
                _ => {}
            },
            Event::Empty(e) if in_g && e.name().as_ref() == b"rect" => {
                let n = |k: &[u8]| attr(&e, k).unwrap().parse::<u64>().unwrap();
                let y = attr(&e, b"y").unwrap().parse::<i64>().unwrap();
                rect = Some((n(b"fg:x"), n(b"fg:w"), y));
            }
            Event::Text(t) if in_title => title.push_str(&t.decode().unwrap()),
            Event::GeneralRef(r) if in_title => match r.resolve_char_ref().unwrap() {
                Some(c) => title.push(c),
                None => title.push(match r.decode().unwrap().as_ref() {
                    "amp" => '&',
                    "lt" => '<',
                    "gt" => '>',
                    "quot" => '"',
                    "apos" => '\'',
                    other => panic!("unknown entity &{other};"),
                }),
            },
            Event::End(e) => match e.name().as_ref() {
                b"title" => in_title = false,
                b"g" if in_g => {
                    in_g = false;
                    let (x, w, y) = rect.take().expect("frame without rect");
                    let open = title.rfind(" (").unwrap();
                    let count: u64 = title[open + 2..]
                        .split(' ')
                        .next()
                        .unwrap()
                        .replace(',', "")
                        .parse()
                        .unwrap();
                    assert_eq!(count, w, "tooltip count = width: {title}");
                    assert!(title.contains(" ns, "), "{title}");
                    out.push(Frame {
                        name: title[..open].to_owned(),
                        x,
                        w,
                        y,
                    });
                }
                b"svg" => {
                    depth_svg -= 1;
                    if in_frames && depth_svg == 1 {
                        in_frames = false;
                    }
                }
                _ => {}
            },
            _ => {}
        }
    }
    assert_eq!(depth_svg, 0, "unclosed <svg>");
    out
}

fn attr(e: &quick_xml::events::BytesStart<'_>, key: &[u8]) -> Option<String> {
    e.attributes()
        .map(|a| a.unwrap())
        .find(|a| a.key.as_ref() == key)
        .map(|a| String::from_utf8(a.value.into_owned()).unwrap())
}

/// A name as the folded format writes it (flamegraph.rs's rules).
fn folded_name(s: &str) -> String {
    let s: String = s
        .chars()
        .map(|c| match c {
            ';' => ',',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect();
    let mut s = s.trim().to_owned();
    if let Some(sp) = s
        .rfind(' ')
        .filter(|&sp| s[sp + 1..].chars().all(|c| c.is_ascii_digit()))
    {
        s.replace_range(sp..sp + 1, "\u{a0}");
    }
    s
}

fn flame_chart_svg(p: &Profile, o: &FlamegraphOptions) -> String {
    let mut buf = Vec::new();
    flamegraph::write_flame_chart_with(p, o, &mut buf).unwrap();
    utf8(buf, "flame chart")
}

/// Checks a flame chart drawn with `min_width(0)`: threads side by side,
/// each `end` wide; every span of positive length one frame at its start
/// time, as wide as it lasted, inside a frame one level up.
fn check_flame_chart(p: &Profile, svg: &str, what: &str) {
    let frames = svg_frames(svg);
    let with: Vec<&ThreadProfile> = p
        .threads
        .iter()
        .filter(|t| !t.timeline.is_empty())
        .collect();
    if with.is_empty() {
        assert!(frames.is_empty() && svg.contains("No timeline"), "{what}");
        return;
    }
    let end = expected_end(p);
    let mut ys: Vec<i64> = frames.iter().map(|f| f.y).collect();
    ys.sort_unstable();
    ys.dedup();
    ys.reverse(); // roots at the bottom
    let depth = |f: &Frame| ys.iter().position(|&y| y == f.y).unwrap();
    let all: Vec<&Frame> = frames.iter().filter(|f| depth(f) == 0).collect();
    assert_eq!(all.len(), 1, "{what}");
    assert_eq!((all[0].x, all[0].w), (0, end * with.len() as u64), "{what}");
    let threads: Vec<&Frame> = frames.iter().filter(|f| depth(f) == 1).collect();
    assert_eq!(threads.len(), with.len(), "{what}: one frame per thread");
    let mut got: Vec<(String, u64, u64)> = Vec::new();
    for f in &frames {
        let d = depth(f);
        if d >= 1 {
            let parent = frames
                .iter()
                .any(|q| depth(q) == d - 1 && q.x <= f.x && f.x + f.w <= q.x + q.w);
            assert!(parent, "{what}: {f:?} outside every frame below it");
        }
        if d >= 2 {
            got.push((f.name.clone(), f.x, f.w));
        }
    }
    let mut expect: Vec<(String, u64, u64)> = Vec::new();
    for (k, t) in with.iter().enumerate() {
        let offset = k as u64 * end;
        assert_eq!(
            (threads[k].x, threads[k].w),
            (offset, end),
            "{what}: thread {k}"
        );
        for s in t.timeline.iter().filter(|s| s.duration_ns > 0) {
            let name = folded_name(&p.sites[s.site as usize].name);
            expect.push((name, offset + s.start_ns, s.duration_ns));
        }
    }
    got.sort();
    expect.sort();
    assert_eq!(got, expect, "{what}: one frame per span, at its time");
}

// ------------------------------------------------------------------ tests

fn chrome_of(p: &Profile) -> String {
    let mut buf = Vec::new();
    chrome::write(p, &mut buf).unwrap();
    utf8(buf, "trace.json")
}

fn speedscope_of(p: &Profile) -> String {
    let mut buf = Vec::new();
    speedscope::write(p, &mut buf).unwrap();
    utf8(buf, "speedscope.json")
}

/// A fresh scratch directory under the target directory.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("timeline-formats-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn chrome_trace_of_the_sample() {
    let p = sample();
    let text = chrome_of(&p);
    assert_eq!(check_chrome(&p, &text, "sample"), 5);
    // formats.md's event shapes, with exact microseconds.
    assert!(text.contains(
        r#"{"name":"a","cat":"fn","ph":"X","ts":0.1,"dur":0.9,"pid":4242,"tid":1,"args":{"file":"src/demo.rs","line":20}}"#
    ));
    assert!(text.contains(r#""ts":0.15,"dur":0.7,"#));
    assert!(
        text.contains(
            r#"{"name":"process_name","ph":"M","pid":4242,"tid":0,"args":{"name":"demo"}}"#
        )
    );
    assert!(text.contains(
        r#"{"name":"thread_name","ph":"M","pid":4242,"tid":2,"args":{"name":"worker"}}"#
    ));
}

#[test]
fn chrome_trace_of_every_profile() {
    for (what, p) in hand_built() {
        let text = chrome_of(&p);
        check_chrome(&p, &text, &what);
    }
}

#[test]
fn chrome_trace_keeps_names_processes_and_drops() {
    let p = rich();
    let text = chrome_of(&p);
    let v: Value = serde_json::from_str(&text).unwrap();
    // Two processes, named after the program.
    let procs: Vec<&Value> = v["traceEvents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["name"] == "process_name")
        .collect();
    assert_eq!(procs.len(), 2);
    assert!(procs.iter().all(|e| e["args"]["name"] == "rich"));
    // Non-ASCII and escaped names survive.
    assert!(text.contains("ünïcødé 名前"));
    assert!(
        text.contains(r#""name":"Vec<[u8; 8]>::push & \"q\" ""#),
        "{text}"
    );
    // Dropped scopes are reported, per thread too.
    assert_eq!(v["otherData"]["timeline_dropped"], 5);
    assert_eq!(v["otherData"]["timeline_dropped_by_thread"]["200:1"], 5);
    // Thread 5 shares pid 200 and id 1 with thread 3: a fresh tid.
    let dup = v["traceEvents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "thread_name" && e["args"]["name"] == "dup")
        .unwrap();
    assert_eq!(
        (dup["pid"].as_u64(), dup["tid"].as_u64()),
        (Some(200), Some(8))
    );
    // The thread without a timeline has metadata only.
    let nt = v["traceEvents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["tid"] == 7)
        .count();
    assert_eq!(nt, 2);
}

#[test]
fn micros_are_written_exactly() {
    assert_eq!(micros_to_ns("12.345"), Some(12_345));
    assert_eq!(micros_to_ns("0.1"), Some(100));
    assert_eq!(micros_to_ns("7"), Some(7000));
    assert_eq!(micros_to_ns("1.2345"), None);
    assert_eq!(micros_to_ns("1e3"), None);
    // Large times stay exact in the text.
    let sites = vec![site("x", "x.rs", 1)];
    let big = 86_400_000_000_123; // a day and 123 ns
    let t = ThreadProfile::new(1, "t", 1, Vec::new()).with_timeline(vec![Span::new(0, big, 1)], 0);
    let p = Profile::new(meta("big", 0), sites, vec![t]);
    let text = chrome_of(&p);
    assert!(
        text.contains(r#""ts":86400000000.123,"dur":0.001,"#),
        "{text}"
    );
}

#[test]
fn speedscope_files_validate_against_the_published_schema() {
    let dir = scratch("speedscope-schema");
    let mut files = Vec::new();
    for (what, p) in hand_built() {
        let text = speedscope_of(&p);
        check_speedscope(&p, &text, &what);
        let path = dir.join(format!("{}.speedscope.json", what.replace(' ', "-")));
        std::fs::write(&path, text).unwrap();
        files.push(path);
    }
    match validate_schema(&schema(), &files) {
        Ok(report) => assert_eq!(report.matches(": valid").count(), files.len(), "{report}"),
        Err(errors) => panic!("speedscope files fail the schema:\n{errors}"),
    }
    // The validator does reject what the schema forbids.
    let bad = dir.join("bad.speedscope.json");
    let text = speedscope_of(&sample()).replace("\"nanoseconds\"", "\"parsecs\"");
    std::fs::write(&bad, text).unwrap();
    assert!(validate_schema(&schema(), &[bad]).is_err());
}

#[test]
fn speedscope_of_the_sample_matches_formats_md() {
    let p = sample();
    let v: Value = serde_json::from_str(&speedscope_of(&p)).unwrap();
    let events = v["profiles"][0]["events"].as_array().unwrap();
    let got: Vec<(String, u64, u64)> = events
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap().to_owned(),
                e["frame"].as_u64().unwrap(),
                e["at"].as_u64().unwrap(),
            )
        })
        .collect();
    let expect: Vec<(String, u64, u64)> = [
        ("O", 0, 0),
        ("O", 1, 100),
        ("O", 2, 150),
        ("O", 2, 200),
        ("C", 2, 600),
        ("C", 2, 850),
        ("C", 1, 1000),
        ("C", 0, 1000),
    ]
    .iter()
    .map(|&(k, f, a)| (k.to_owned(), f, a))
    .collect();
    assert_eq!(got, expect);
    assert_eq!(v["profiles"][0]["name"], "thread main");
    assert_eq!(v["profiles"][1]["name"], "thread worker");
    assert_eq!(v["name"], "demo");
}

#[test]
fn ties_nest_as_recorded() {
    // The rich profile's first thread, opened in pre-order with depths:
    // the documented tie rules (emit::timeline) applied to every boundary.
    let p = rich();
    let v: Value = serde_json::from_str(&speedscope_of(&p)).unwrap();
    let spans = replay_speedscope(v["profiles"][0]["events"].as_array().unwrap(), 1500, "rich");
    let expect = [
        (MAIN, 0, 1000, 0),
        (WORK, 0, 400, 1),
        (LEAF, 0, 100, 2),
        (LEAF, 100, 200, 2),
        (UNI, 200, 400, 2),  // longer first at the same start...
        (ZERO, 200, 200, 3), // ...and the zero-length span at its start inside it
        (WORK, 400, 1000, 1),
        (ZERO, 400, 400, 2), // stored after work [0,400]: inside the next work
        (VEC, 500, 600, 2),
        (ZERO, 600, 600, 3), // stored before Vec: inside it, at its end
        (STEP, 1000, 1200, 0),
        (ZERO, 1300, 1300, 0),
    ];
    assert_eq!(spans, expect);
    // Identical intervals: recursion, one inside the other.
    let spans = replay_speedscope(v["profiles"][1]["events"].as_array().unwrap(), 1500, "rich");
    assert_eq!(spans, [(LEAF2, 50, 950, 0), (LEAF2, 50, 950, 1)]);
    // Thread names that repeat, or processes that differ, are told apart.
    let names: Vec<&str> = v["profiles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "thread main (pid 100 tid 1)",
            "thread <unnamed> (pid 100 tid 2)",
            "thread <unnamed> (pid 200 tid 1)",
            "thread dup (pid 200 tid 1)",
        ]
    );
}

#[test]
fn paraver_reader_accepts_the_verified_sample() {
    // formats.md section 5, verbatim (read by BSC's own parser there).
    let prv = "#Paraver (21/11/2026 at 05:30):1000_ns:1(2):1:1(2:1)
1:1:1:1:1:0:1000:1
2:1:1:1:1:0:60000019:1
1:2:1:1:2:0:200:0
2:1:1:1:1:100:60000019:2
2:1:1:1:1:150:60000019:3:42000000:7
1:2:1:1:2:200:900:1
2:2:1:1:2:200:60000019:3
3:1:1:1:1:300:310:2:1:1:2:320:330:64:7
2:1:1:1:1:400:60000019:0
2:1:1:1:1:500:60000019:0
1:2:1:1:2:900:1000:0
2:2:1:1:2:900:60000019:0
2:1:1:1:1:1000:60000019:0
";
    let pcf = "DEFAULT_OPTIONS

LEVEL               THREAD
UNITS               NANOSEC

DEFAULT_SEMANTIC

THREAD_FUNC          State As Is

STATES
0    Idle
1    Running

STATES_COLOR
0    {117,195,255}
1    {0,0,255}

EVENT_TYPE
0    60000019    User function
VALUES
0      End
1      main
2      a
3      b

EVENT_TYPE
0    42000000    Allocated bytes
";
    let row = "LEVEL CPU SIZE 2
1.myhost
2.myhost

LEVEL NODE SIZE 1
myhost

LEVEL THREAD SIZE 2
THREAD 1.1.1 (main)
THREAD 1.1.2 (worker)
";
    let (h, records) = prv::read(prv).unwrap();
    assert_eq!((h.end, h.unit.as_str(), h.cpus()), (1000, "ns", 2));
    assert_eq!(h.appls, [vec![(2, 1)]]);
    assert_eq!(records.len(), 13);
    assert!(records.contains(&prv::Record::Event {
        obj: (1, 1, 1, 1),
        time: 150,
        pairs: vec![(60_000_019, 3), (42_000_000, 7)]
    }));
    let pcf = prv::pcf(pcf).unwrap();
    assert_eq!(pcf.types[&60_000_019].1.len(), 4);
    assert_eq!(pcf.types[&42_000_000].0, "Allocated bytes");
    let row = prv::row(row).unwrap();
    assert_eq!(
        row["THREAD"],
        ["THREAD 1.1.1 (main)", "THREAD 1.1.2 (worker)"]
    );

    // The header grammar beyond the sample.
    let h = prv::header("#Paraver (01/02/2025 at 10:00):5:2(4,4):2:2(1:1,3:2):1(1:1),2").unwrap();
    assert_eq!(h.unit, "us");
    assert_eq!(h.nodes, [4, 4]);
    assert_eq!(h.appls, [vec![(1, 1), (3, 2)], vec![(1, 1)]]);
    assert_eq!(h.communicators, 2);
}

#[test]
fn paraver_reader_rejects_bad_lines() {
    let header = "#Paraver (21/11/2026 at 05:30):1000_ns:1(2):1:1(2:1)\n";
    let ok = "2:1:1:1:2:100:60000019:2\n";
    assert!(prv::read(&format!("{header}{ok}")).is_ok());
    for (bad, why) in [
        // formats.md's three bad lines, rejected by BSC's parser.
        ("2:1:1:1:3:100:60000019:2", "thread 3 of 2"),
        ("2:1:1:1:1:100:60000019", "an odd number of event fields"),
        ("1:3:1:1:1:0:1000:1", "cpu 3 of 2"),
        // More of the grammar.
        ("2:1:1:2:1:100:60000019:2", "task 2 of 1"),
        ("2:1:2:1:1:100:60000019:2", "appl 2 of 1"),
        ("2:1:1:1:0:100:60000019:2", "thread 0"),
        ("1:1:1:1:1:0:1000", "a state of 7 fields"),
        ("1:1:1:1:1:0:1000:1:9", "a state of 9 fields"),
        ("1:1:1:1:1:500:400:1", "a state ending before it begins"),
        ("2:1:1:1:1:x:60000019:2", "a time that is not a number"),
        ("2:1:1:1:1: 100:60000019:2", "a padded field"),
        ("2:1:1:1:1:2000:60000019:2", "a time past the end"),
        (
            "3:1:1:1:1:300:310:2:1:1:3:320:330:64",
            "a communication of 14 fields",
        ),
        ("5:1:1:1:1:100", "an unknown record type"),
    ] {
        let text = format!("{header}{bad}\n");
        assert!(prv::read(&text).is_err(), "accepted {why}: {bad}");
    }
    // Records out of time order.
    let unsorted = format!("{header}2:1:1:1:1:200:60000019:2\n2:1:1:1:1:100:60000019:0\n");
    assert!(prv::read(&unsorted).unwrap_err().contains("not sorted"));
    // Headers.
    for bad in [
        "#Paraver (21/11/26 at 05:30):1000_ns:1(2):1:1(2:1)", // 2-digit year
        "#Paraver (21/11/2026 at 05:30):1000_ns:1(2):1:2(2:1)", // 2 tasks, 1 listed
        "#Paraver (21/11/2026 at 05:30):1000_ns:2(2):1:1(2:1)", // 2 nodes, 1 count
        "#Paraver (21/11/2026 at 05:30):1000_ns:1(2):1:1(2:3)", // node 3 of 1
        "#Paraver (21/11/2026 at 05:30):1000_ns:1(2):2:1(2:1)", // 2 appls, 1 listed
        "#Paraver (32/11/2026 at 05:30):1000_ns:1(2):1:1(2:1)", // day 32
        "Paraver (21/11/2026 at 05:30):1000_ns:1(2):1:1(2:1)",
    ] {
        assert!(prv::header(bad).is_err(), "accepted header {bad}");
    }
    // .pcf and .row.
    for bad in [
        "0 Idle\n",                                     // outside any section
        "STATES\n0\n",                                  // no label
        "STATES_COLOR\n0 {1,2}\n",                      // not r,g,b
        "EVENT_TYPE\n0 60000019 F\nVALUES\n1 a\n1 b\n", // value twice
        "DEFAULT_OPTIONS\nCOLOUR blue\n",               // unknown option
    ] {
        assert!(prv::pcf(bad).is_err(), "accepted .pcf {bad:?}");
    }
    for bad in [
        "LEVEL CPU SIZE 2\n1.a\n",
        "LEVEL CPU SIZE 1\n1.a\nLEVEL CPU SIZE 1\n1.a\n",
        "LEVEL CORE SIZE 1\nx\n",
        "LEVEL THREAD SIZE 2\nTHREAD 1.1.1 (a)\n\nTHREAD 1.1.2 (b)\n",
    ] {
        assert!(prv::row(bad).is_err(), "accepted .row {bad:?}");
    }
}

#[test]
fn paraver_of_the_sample_matches_formats_md() {
    let p = sample();
    let t = paraver_of(&p);
    check_paraver(&p, &t, "sample");
    let body: Vec<&str> = t.prv.lines().collect();
    assert_eq!(
        body[0],
        "#Paraver (21/11/2026 at 05:30):1000_ns:1(2):1:1(2:1)"
    );
    assert_eq!(
        &body[1..5],
        [
            "1:1:1:1:1:0:1000:1",
            "2:1:1:1:1:0:60000019:1",
            "1:2:1:1:2:0:200:0",
            "2:1:1:1:1:100:60000019:2",
        ]
    );
    assert!(
        t.row
            .contains("LEVEL THREAD SIZE 2\nTHREAD 1.1.1 (main)\nTHREAD 1.1.2 (worker)\n")
    );
    assert!(
        t.pcf
            .contains("VALUES\n0      End\n1      main\n2      a\n3      b\n4      job\n")
    );
}

#[test]
fn paraver_of_every_profile() {
    for (what, p) in hand_built() {
        let t = paraver_of(&p);
        check_paraver(&p, &t, &what);
    }
}

#[test]
fn paraver_orders_ties_for_stacked_val() {
    let p = rich();
    let t = paraver_of(&p);
    // Two processes: two tasks, one CPU per thread.
    assert!(
        t.prv
            .starts_with("#Paraver (21/11/2026 at 05:30):1500_ns:1(5):1:2(2:1,3:1)\n")
    );
    assert!(
        t.row
            .contains("LEVEL TASK SIZE 2\nrich (pid 100)\nrich (pid 200)\n")
    );
    assert!(
        t.row
            .contains("THREAD 1.2.2 (no timeline)\nTHREAD 1.2.3 (dup)\n")
    );
    // Shared names get their place; control characters become spaces.
    assert!(t.pcf.contains("3      leaf (src/w.rs:3)\n"));
    assert!(t.pcf.contains("6      leaf (src/other.rs:6)\n"));
    assert!(t.pcf.contains("4      ünïcødé 名前\n"));
    assert!(t.pcf.contains("5      Vec<[u8; 8]>::push & \"q\"\n"));
    assert!(t.pcf.starts_with("# 5 scopes"));
    // Thread 1 at t=400: ünï and work close (innermost first), the next
    // work opens, then the zero-length span at its start opens and closes
    // inside it; at t=200, leaf closes before ünï opens and the zero-length
    // span at ünï's start opens and closes inside it.
    let at = |time: u64| -> Vec<String> {
        t.prv
            .lines()
            .filter(|l| l.starts_with(&format!("2:1:1:1:1:{time}:")))
            .map(|l| l.rsplit(':').next().unwrap().to_owned())
            .collect()
    };
    assert_eq!(at(400), ["0", "0", "2", "7", "0"]);
    assert_eq!(at(200), ["0", "4", "7", "0"]);
    assert_eq!(at(1000), ["0", "0", "8"]);
    // Thread 1 runs [0, 1200] (main then step 3, touching), idles after;
    // the zero-length span at 1300 runs in the Idle state.
    assert!(t.prv.contains("\n1:1:1:1:1:0:1200:1\n"));
    assert!(t.prv.contains("\n1:1:1:1:1:1200:1500:0\n"));
}

#[test]
fn flame_chart_draws_time_left_to_right() {
    let p = sample();
    let o = FlamegraphOptions::new().min_width(0.0);
    let svg = flame_chart_svg(&p, &o);
    assert!(svg.contains("Flame Chart: demo"));
    check_flame_chart(&p, &svg, "sample");
    let frames = svg_frames(&svg);
    let find = |n: &str| frames.iter().find(|f| f.name == n).unwrap().clone();
    // main's thread first, worker's after it: each 1000 ns wide.
    assert_eq!((find("main").x, find("main").w), (0, 1000));
    assert_eq!((find("a").x, find("a").w), (100, 900));
    assert_eq!(
        (find("worker").x, find("job").x, find("job").w),
        (1000, 1200, 700)
    );
}

#[test]
fn flame_chart_of_every_profile() {
    let o = FlamegraphOptions::new().min_width(0.0);
    for (what, p) in hand_built() {
        let svg = flame_chart_svg(&p, &o);
        check_flame_chart(&p, &svg, &what);
    }
}

#[test]
fn flame_chart_keeps_back_to_back_calls_apart() {
    let p = rich();
    let o = FlamegraphOptions::new()
        .min_width(0.0)
        .thread(Some(0))
        .title("one");
    let svg = flame_chart_svg(&p, &o);
    assert!(svg.contains(">one<"));
    let frames = svg_frames(&svg);
    let at = |n: &str| -> Vec<(u64, u64)> {
        frames
            .iter()
            .filter(|f| f.name == n)
            .map(|f| (f.x, f.w))
            .collect()
    };
    let mut leaves = at("leaf");
    leaves.sort_unstable();
    assert_eq!(leaves, [(0, 100), (100, 100)]);
    let mut works = at("work");
    works.sort_unstable();
    assert_eq!(works, [(0, 400), (400, 600)]);
    assert_eq!(at("step\u{a0}3"), [(1000, 200)]);
    assert_eq!(at("ünïcødé 名前"), [(200, 200)]);
    // max_depth cuts deeper calls into their parent.
    let o = FlamegraphOptions::new()
        .min_width(0.0)
        .thread(Some(0))
        .max_depth(2);
    let frames = svg_frames(&flame_chart_svg(&p, &o));
    assert!(frames.iter().all(|f| f.name != "leaf" && f.name != "work"));
    assert!(frames.iter().any(|f| f.name == "main"));
}

/// Every output of a profile as text: trace.json, speedscope.json, the
/// .prv, .pcf and .row, and the flame chart SVG.
fn all_formats(p: &Profile) -> [String; 6] {
    let t = paraver_of(p);
    [
        chrome_of(p),
        speedscope_of(p),
        t.prv,
        t.pcf,
        t.row,
        flame_chart_svg(p, &FlamegraphOptions::new().min_width(0.0)),
    ]
}

#[test]
fn storage_order_does_not_matter_without_ties() {
    // A hand-edited file may list spans in any order; without ties the
    // nesting is the same.
    let p = sample();
    let mut q = sample();
    for t in &mut q.threads {
        t.timeline.reverse();
    }
    assert_eq!(all_formats(&p), all_formats(&q));
    let mut g = generated(7);
    for t in &mut g.threads {
        t.timeline.reverse();
    }
    let [json, scope, prv, pcf, row, svg] = all_formats(&g);
    check_chrome(&g, &json, "reversed");
    check_speedscope(&g, &scope, "reversed");
    check_paraver(&g, &Trace { prv, pcf, row }, "reversed");
    check_flame_chart(&g, &svg, "reversed");
}

#[test]
fn overlapping_spans_are_cut_to_nest() {
    // Spans that overlap without nesting (impossible in a recording) are cut
    // at the end of the span they start in, in every format.
    let sites = vec![
        site("a", "a.rs", 1),
        site("b", "b.rs", 2),
        site("c", "c.rs", 3),
    ];
    let bad = vec![
        span(0, 0, 10),
        span(1, 5, 15),
        span(2, 8, 30),
        span(2, 12, 20),
    ];
    let cut = vec![
        span(2, 8, 10),
        span(1, 5, 10),
        span(0, 0, 10),
        span(2, 12, 20),
    ];
    let p = |spans| {
        let t = ThreadProfile::new(1, "t", 1, Vec::new()).with_timeline(spans, 0);
        Profile::new(meta("cut", 40), sites.clone(), vec![t])
    };
    let (bad, cut) = (p(bad), p(cut));
    assert_eq!(all_formats(&bad), all_formats(&cut));
    let [json, scope, prv, pcf, row, svg] = all_formats(&bad);
    check_chrome(&cut, &json, "cut");
    check_speedscope(&cut, &scope, "cut");
    check_paraver(&cut, &Trace { prv, pcf, row }, "cut");
    check_flame_chart(&cut, &svg, "cut");
}

#[test]
fn files_are_written_under_the_documented_names() {
    let dir = scratch("files");
    let p = rich();
    p.write_chrome_trace(&dir.join("trace.json")).unwrap();
    p.write_speedscope(&dir.join("speedscope.json")).unwrap();
    p.write_flame_chart(&dir.join("flamechart.svg")).unwrap();
    p.write_paraver(&dir).unwrap();
    p.write_paraver(&dir.join("run")).unwrap();
    p.write_paraver(&dir.join("other.prv")).unwrap();
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "flamechart.svg",
            "other.pcf",
            "other.prv",
            "other.row",
            "run.pcf",
            "run.prv",
            "run.row",
            "speedscope.json",
            "trace.json",
            "trace.pcf",
            "trace.prv",
            "trace.row",
        ]
    );
    let read = |n: &str| std::fs::read_to_string(dir.join(n)).unwrap();
    check_chrome(&p, &read("trace.json"), "file");
    check_speedscope(&p, &read("speedscope.json"), "file");
    let t = Trace {
        prv: read("trace.prv"),
        pcf: read("trace.pcf"),
        row: read("trace.row"),
    };
    check_paraver(&p, &t, "file");
    assert_eq!(read("run.prv"), t.prv);
    // A destination that cannot be written: an error naming it, no files.
    let missing = dir.join("no/such/dir/trace");
    let err = p.write_paraver(&missing).unwrap_err().to_string();
    assert!(err.contains("no/such/dir"), "{err}");
    let err = p
        .write_chrome_trace(&dir.join("no/trace.json"))
        .unwrap_err();
    assert!(err.to_string().contains("trace.json"));
}

// --------------------------------------------------------------- recording

#[profile]
fn fib(n: u32) -> u64 {
    if n < 2 {
        u64::from(n)
    } else {
        fib(n - 1) + fib(n - 2)
    }
}

fn work(round: u32) -> u64 {
    let _g = profiler::profile_scope!("work");
    let mut sum = 0;
    for i in 0..3 {
        let _s = profiler::profile_scope!("step");
        sum += fib(6 + (round + i) % 4);
    }
    {
        let _e = profiler::profile_scope!("empty");
    }
    sum
}

#[test]
fn a_recorded_timeline_round_trips_through_every_format() {
    profiler::set_timeline(Some(
        profiler::TimelineConfig::default().min_duration(Duration::ZERO),
    ));
    let handles: Vec<_> = (0..3)
        .map(|k| {
            std::thread::Builder::new()
                .name(format!("tl-worker-{k}"))
                .spawn(move || (0..4 + k).map(work).sum::<u64>())
                .unwrap()
        })
        .collect();
    let total: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert!(total > 0);
    let mut p = profiler::snapshot();
    profiler::set_timeline(None);
    p.threads.retain(|t| t.name.starts_with("tl-worker-"));
    assert_eq!(
        p.threads.len(),
        3,
        "{:?}",
        p.threads.iter().map(|t| &t.name).collect::<Vec<_>>()
    );
    for t in &p.threads {
        // Nothing dropped and no minimum: one span per call.
        let calls: u64 = t.nodes.iter().map(|n| n.calls).sum();
        assert_eq!(t.timeline_dropped, 0);
        assert_eq!(t.timeline.len() as u64, calls, "{}", t.name);
    }

    check_chrome(&p, &chrome_of(&p), "recorded");
    check_speedscope(&p, &speedscope_of(&p), "recorded");
    let t = paraver_of(&p);
    // The recording's own date, not the hand-built one.
    let fixed = {
        let mut q = p.clone();
        q.meta.start_unix_s = 1_795_239_059.0;
        q
    };
    check_paraver(&fixed, &paraver_of(&fixed), "recorded");
    assert!(prv::read(&t.prv).unwrap().0.date.2 >= 2024);
    check_flame_chart(
        &p,
        &flame_chart_svg(&p, &FlamegraphOptions::new().min_width(0.0)),
        "recorded",
    );

    // The nesting in the files is the recorded one: every fib span sits in
    // a step or a fib span, every step in a work span.
    let v: Value = serde_json::from_str(&speedscope_of(&p)).unwrap();
    let frames: Vec<String> = v["shared"]["frames"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_owned())
        .collect();
    for prof in v["profiles"].as_array().unwrap() {
        let spans = replay_speedscope(prof["events"].as_array().unwrap(), u64::MAX, "recorded");
        let mut stack: Vec<&str> = Vec::new();
        for (f, _, _, depth) in &spans {
            stack.truncate(*depth);
            let name = frames[*f as usize].as_str();
            let parent = stack.last().copied();
            match name {
                "work" => assert_eq!(parent, None),
                "step" | "empty" => assert_eq!(parent, Some("work")),
                "fib" => assert!(matches!(parent, Some("step" | "fib")), "{parent:?}"),
                other => panic!("unexpected frame {other}"),
            }
            stack.push(name);
        }
    }
}
