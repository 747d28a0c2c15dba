//! Timelines: recording them (`recording`), and the four timeline formats
//! (Chrome trace event JSON, speedscope, Paraver and the flame chart), each
//! read back by a checker written here from docs/formats.md (never by
//! the crate's own code), one module per format, and checks of every format
//! at once (`every_format`).
//!
//! The formats' profiles, here: hand-built ones (nested spans, several
//! threads, two processes, equal timestamps at boundaries, zero-length
//! spans, non-ASCII names), generated ones with many ties, and a live one
//! recorded with `profile_scope!` and `#[profile]` (in `every_format`).

mod chrome;
mod every_format;
mod flamechart;
pub(crate) mod paraver;
mod recording;
mod speedscope;

use integration::{python, scratch, site};
use profiler::{Metadata, Profile, Span, ThreadProfile};

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

/// `(site, start, end)` as a [`Span`].
fn span(site: u32, start: u64, end: u64) -> Span {
    Span::new(site, start, end - start)
}

/// docs/formats.md's samples: main 1000 ⊃ a 900 ⊃ b 700 ⊃ b 400 on `main`, and
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
