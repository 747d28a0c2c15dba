//! Merging the profiles of an MPI run's ranks on rank 0: 4,096 synthetic
//! ranks of 10,000 call paths each, folded one at a time with
//! [`RankMerge`], against [`Profile::merge`] (the offline merge that keeps
//! every thread) as the baseline.
//!
//! Every rank's profile is generated on the fly from a seeded generator:
//! one thread `main` whose 10,000 nodes have the same tree shape on every
//! rank, with the rank's own calls and times. In the "rank-specific"
//! variant, 300 of those nodes are a subtree only that rank has (its path
//! goes through `dispatch_{r / 64}` and `dispatch_{r % 64}`), so the merge
//! holds 9,700 shared paths plus 299 per rank (and one per 64 ranks).
//! A rank is dropped as soon as it was folded in, so memory must grow with
//! the distinct call paths only, never with ranks x paths.
//!
//! The cases, each in a child process of its own so that its peak
//! resident set (`VmHWM`) is its own:
//!
//! - `fold`: generate -> [`RankMerge::add`], for 256, 1,024 and 4,096
//!   ranks, shared and rank-specific;
//! - `gather`: what rank 0 does with what it gathered: generate ->
//!   serialize ([`json::write`], what each rank sends) -> parse
//!   ([`load::from_bytes`]) -> fold, one rank at a time, for 4,096 ranks
//!   (target: under 10 s and 2 GB);
//! - `Profile::merge`: the baseline, every rank generated first and then
//!   merged offline (every thread kept), for 256 ranks;
//! - the JSON round trip of one rank alone (medians of 31).
//!
//! The phases (generate, serialize, parse, merge) are timed in CPU time of
//! the thread, so that other processes on a shared machine do not count;
//! each case's wall-clock time and its time waiting for a CPU are shown
//! next to them.
//!
//! Each case checks its result: the merged calls are the sum of the ranks'
//! calls, the merged tree has exactly the distinct paths, and every rank's
//! MPI figures are kept. The bench exits with an error otherwise, or if the
//! peak heap of the shared variant grows by more than [`SHARED_SLACK`] per
//! rank (the size of a rank's MPI figures, which the merge keeps).
//!
//! Run with `cargo bench -p benches --bench merge_ranks`
//! (`MERGE_RANKS=256,1024` changes the rank counts of the `fold` cases, and
//! the `gather` case uses the largest).

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::HashSet;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use benches::{Summary, proc_status_kib};
use profiler::emit::json;
use profiler::load;
use profiler::profile::{MpiRun, NO_PARENT, RankMerge, RankMpi};
use profiler::{Metadata, Node, Profile, SiteInfo, ThreadProfile};

/// Call paths (nodes) per rank.
const NODES: usize = 10_000;
/// Distinct functions (sites) the ranks' trees call.
const SITES: u32 = 1_000;
/// `dispatch_k` sites: a rank-specific subtree hangs below
/// `dispatch_{r / 64} -> dispatch_{r % 64}`.
const DISPATCH: u32 = 64;
/// Nodes of a rank's own subtree in the rank-specific variant (out of
/// [`NODES`]).
const SPECIFIC: usize = 300;
/// The rank counts of the `fold` cases.
const RANKS: [u32; 3] = [256, 1_024, 4_096];
/// Ranks of the `Profile::merge` baseline.
const BASELINE_RANKS: u32 = 256;
/// Allowed growth of the shared variant's peak heap per rank, in bytes: a
/// rank's [`RankMpi`] (about 130 bytes with its host name) and growth of
/// the vector that holds them.
const SHARED_SLACK: usize = 512;
/// Samples of the one-rank JSON round trip.
const ROUND_TRIPS: usize = 31;
/// The environment variable that makes this binary run one case.
const CASE_VAR: &str = "MERGE_RANKS_CASE";

// ---------------------------------------------------------------------------
// Heap accounting

/// The system allocator, counting the bytes live and their peak.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(bytes: usize) {
    let live = LIVE.fetch_add(bytes, Ordering::Relaxed) + bytes;
    PEAK.fetch_max(live, Ordering::Relaxed);
}

// SAFETY: every call is forwarded to `System` with the same arguments; the
// counters only observe sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `alloc` is passed on unchanged.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` with `layout` (above).
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as for `dealloc`, and `new_size` is the caller's.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            grew(new_size);
        }
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

// ---------------------------------------------------------------------------
// Synthetic ranks

/// xorshift64: the same numbers on every run.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The part of every rank that does not change: the sites and the shape of
/// the shared tree (site and parent of each node).
struct Shape {
    sites: Vec<SiteInfo>,
    /// `(site, parent)` of the shared nodes; node 0 is the root, `main`.
    nodes: Vec<(u32, u32)>,
}

impl Shape {
    /// A tree of `n` nodes: each node's parent is drawn from the nodes
    /// before it, and no two siblings call the same site.
    fn new(n: usize) -> Self {
        let mut sites: Vec<SiteInfo> = (0..SITES)
            .map(|i| {
                let module = format!("app::part_{}", i % 40);
                let name = if i == 0 {
                    "main".to_owned()
                } else {
                    format!("{module}::func_{i}")
                };
                SiteInfo::new(name, module, format!("src/part_{}.rs", i % 40), 10 + i * 7)
            })
            .collect();
        sites.extend((0..DISPATCH).map(|k| {
            SiteInfo::new(
                format!("app::dispatch::dispatch_{k}"),
                "app::dispatch",
                "src/dispatch.rs",
                100 + k,
            )
        }));
        let mut rng = Rng::new(42);
        let mut nodes = vec![(0, NO_PARENT)];
        let mut taken = HashSet::new();
        while nodes.len() < n {
            let parent = rng.below(nodes.len() as u64) as u32;
            let site = 1 + rng.below(u64::from(SITES) - 1) as u32;
            if taken.insert((parent, site)) {
                nodes.push((site, parent));
            }
        }
        Shape { sites, nodes }
    }
}

/// The variants of the ranks' trees.
#[derive(Clone, Copy, PartialEq)]
enum Variant {
    /// Every rank has the same 10,000 paths.
    Shared,
    /// 9,700 paths shared, 300 the rank's own.
    Specific,
}

impl Variant {
    fn name(self) -> &'static str {
        match self {
            Variant::Shared => "shared",
            Variant::Specific => "rank-specific",
        }
    }

    fn parse(s: &str) -> Self {
        if s == "shared" {
            Variant::Shared
        } else {
            Variant::Specific
        }
    }

    /// The distinct call paths of `ranks` ranks merged.
    fn distinct_paths(self, ranks: u32) -> usize {
        match self {
            Variant::Shared => NODES,
            Variant::Specific => {
                NODES - SPECIFIC
                    + ranks.div_ceil(DISPATCH) as usize
                    + ranks as usize * (SPECIFIC - 1)
            }
        }
    }
}

/// Rank `rank` of `ranks`: its profile, and the calls it holds.
fn rank_profile(shape: &Shape, variant: Variant, rank: u32, ranks: u32) -> (Profile, u64) {
    let mut rng = Rng::new(u64::from(rank) + 1);
    let shared = match variant {
        Variant::Shared => NODES,
        Variant::Specific => NODES - SPECIFIC,
    };
    let mut nodes: Vec<Node> = Vec::with_capacity(NODES);
    for &(site, parent) in &shape.nodes[..shared] {
        nodes.push(Node::new(
            site,
            parent,
            1 + rng.below(100),
            1 + rng.below(10_000),
        ));
    }
    if variant == Variant::Specific {
        // root -> dispatch_{hi} -> dispatch_{lo} -> a 4-ary tree of 298
        // nodes whose siblings call sites 7 apart.
        let hi = nodes.len() as u32;
        nodes.push(Node::new(SITES + rank / DISPATCH, 0, 1, 1));
        let lo = nodes.len() as u32;
        nodes.push(Node::new(SITES + rank % DISPATCH, hi, 1, 1));
        for j in 0..(SPECIFIC - 2) as u32 {
            let parent = if j < 4 { lo } else { lo + 1 + (j - 4) / 4 };
            let site = 1 + (j * 7 + rank) % (SITES - 1);
            nodes.push(Node::new(
                site,
                parent,
                1 + rng.below(100),
                1 + rng.below(10_000),
            ));
        }
    }
    // A node's time covers its children's.
    for i in (1..nodes.len()).rev() {
        let (p, t) = (nodes[i].parent as usize, nodes[i].time_ns);
        nodes[p].time_ns += t;
    }
    let calls = nodes.iter().map(|n| n.calls).sum();
    let app_ns = nodes[0].time_ns;
    let pid = 10_000 + rank;
    let mut thread = ThreadProfile::new(1, "main", pid, nodes);
    thread.rank = Some(rank);
    let mut meta = Metadata::default();
    meta.program = "synthetic".to_owned();
    meta.pid = pid;
    meta.host = format!("node{:03}", rank / 64);
    meta.start_unix_s = 1.7e9 + f64::from(rank) * 1e-4;
    meta.duration_ns = app_ns + u64::from(rank);
    meta.mpi = Some(MpiRun::new(rank, ranks, "synthetic"));
    let mut p = Profile::new(meta, shape.sites.clone(), vec![thread]);
    p.mpi = vec![RankMpi::new(
        rank,
        format!("node{:03}", rank / 64),
        pid,
        app_ns,
    )];
    (p, calls)
}

// ---------------------------------------------------------------------------
// Cases

/// The figures of one case, as a child prints them to its parent.
#[derive(Default)]
struct Figures {
    /// Generating the ranks' profiles (not the library's cost).
    generate: Duration,
    /// `json::write` of every rank.
    serialize: Duration,
    /// `load::from_bytes` of every rank.
    parse: Duration,
    /// `RankMerge::add` + `finish` (or `Profile::merge`).
    merge: Duration,
    /// JSON bytes of the last rank.
    bytes: usize,
    /// Nodes of the merged profile.
    paths: usize,
    /// Peak heap bytes over the case (counting allocator).
    peak_heap: usize,
    /// Heap bytes held by the merged profile at the end.
    merged_heap: usize,
    /// `VmHWM` of the child, KiB.
    hwm_kib: u64,
    /// Wall-clock time of the case.
    wall: Duration,
    /// Time runnable but waiting for a CPU over the case (other processes
    /// on the machine).
    wait: Duration,
}

impl Figures {
    fn encode(&self) -> String {
        format!(
            "{} {} {} {} {} {} {} {} {} {} {}",
            self.generate.as_nanos(),
            self.serialize.as_nanos(),
            self.parse.as_nanos(),
            self.merge.as_nanos(),
            self.bytes,
            self.paths,
            self.peak_heap,
            self.merged_heap,
            self.hwm_kib,
            self.wall.as_nanos(),
            self.wait.as_nanos()
        )
    }

    fn decode(line: &str) -> Option<Self> {
        let v: Vec<u128> = line
            .split_whitespace()
            .map(|w| w.parse().ok())
            .collect::<Option<_>>()?;
        let [g, s, p, m, b, n, ph, mh, hwm, wall, wait] = v[..] else {
            return None;
        };
        let d = |ns: u128| Duration::from_nanos(ns as u64);
        Some(Figures {
            generate: d(g),
            serialize: d(s),
            parse: d(p),
            merge: d(m),
            bytes: b as usize,
            paths: n as usize,
            peak_heap: ph as usize,
            merged_heap: mh as usize,
            hwm_kib: hwm as u64,
            wall: d(wall),
            wait: d(wait),
        })
    }

    /// The library's time: serialize + parse + merge.
    fn library(&self) -> Duration {
        self.serialize + self.parse + self.merge
    }

    /// Rank 0's part of [`library`](Self::library): parse + merge (each
    /// rank serializes its own profile, in parallel).
    fn rank0(&self) -> Duration {
        self.parse + self.merge
    }
}

/// This thread's time on a CPU so far (`CLOCK_THREAD_CPUTIME_ID`): the
/// phases are timed with it, so that other processes on the machine do not
/// count. The wall clock where the platform has no such clock.
fn cpu_now() -> Duration {
    #[cfg(unix)]
    {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `ts` is a valid, writable `timespec`, and the clock id is
        // one every Unix has.
        if unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) } == 0 {
            return Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32);
        }
    }
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    START.get_or_init(Instant::now).elapsed()
}

/// This thread's time on a CPU and time waiting for one, from
/// `/proc/thread-self/schedstat` (zero where it is missing).
fn sched() -> (Duration, Duration) {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
    let mut v = text
        .split_whitespace()
        .map(|w| Duration::from_nanos(w.parse().unwrap_or(0)));
    (v.next().unwrap_or_default(), v.next().unwrap_or_default())
}

/// Fails the case (and so the bench) with `message`.
fn fail(message: String) -> ! {
    eprintln!("FAILED: {message}");
    std::process::exit(1);
}

/// Checks a merged profile of `ranks` ranks holding `calls` calls.
fn check(merged: &Profile, variant: Variant, ranks: u32, calls: u64) {
    let got: u64 = merged
        .threads
        .iter()
        .flat_map(|t| &t.nodes)
        .map(|n| n.calls)
        .sum();
    if got != calls {
        fail(format!("the merge holds {got} calls, the ranks {calls}"));
    }
    let paths: usize = merged.threads.iter().map(|t| t.nodes.len()).sum();
    let threads = merged.threads.len();
    if threads == 1 {
        let want = variant.distinct_paths(ranks);
        if paths != want {
            fail(format!(
                "the merge holds {paths} paths, not the {want} distinct ones"
            ));
        }
        if merged.threads[0].folded_threads != u64::from(ranks) {
            fail(format!(
                "the merged thread folds {} ranks, not {ranks}",
                merged.threads[0].folded_threads
            ));
        }
    } else if threads != ranks as usize || paths != ranks as usize * NODES {
        fail(format!(
            "Profile::merge kept {threads} threads of {paths} nodes in all"
        ));
    }
    if merged.mpi.len() != ranks as usize
        || merged
            .mpi
            .iter()
            .enumerate()
            .any(|(i, m)| m.rank != i as u32)
        || merged.meta.mpi.as_ref().map(|m| (m.rank, m.ranks)) != Some((0, ranks))
    {
        fail("the merge did not keep every rank's MPI figures in rank order".to_owned());
    }
}

/// Generate -> (serialize -> parse ->) fold, one rank at a time.
fn fold(shape: &Shape, variant: Variant, ranks: u32, wire: bool) -> Figures {
    let mut f = Figures::default();
    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let mut merge = RankMerge::new();
    let mut bytes = Vec::new();
    let mut calls = 0;
    let name = Path::new("rank");
    for r in 0..ranks {
        let t0 = cpu_now();
        let (mut p, c) = rank_profile(shape, variant, r, ranks);
        calls += c;
        let t1 = cpu_now();
        f.generate += t1 - t0;
        if wire {
            bytes.clear();
            json::write(&p, &mut bytes).expect("a profile serializes");
            drop(p);
            let t2 = cpu_now();
            p = load::from_bytes(&bytes, name)
                .unwrap_or_else(|e| fail(format!("rank {r} does not parse: {e}")))
                .profile;
            let t3 = cpu_now();
            f.serialize += t2 - t1;
            f.parse += t3 - t2;
            f.bytes = bytes.len();
        }
        let t4 = cpu_now();
        merge.add(p);
        f.merge += cpu_now() - t4;
    }
    drop(bytes);
    let t5 = cpu_now();
    let merged = merge.finish();
    f.merge += cpu_now() - t5;
    check(&merged, variant, ranks, calls);
    f.paths = merged.threads.iter().map(|t| t.nodes.len()).sum();
    f.peak_heap = PEAK.load(Ordering::Relaxed) - before;
    f.merged_heap = LIVE.load(Ordering::Relaxed) - before;
    f
}

/// The baseline: every rank generated, then `Profile::merge`.
fn offline(shape: &Shape, variant: Variant, ranks: u32) -> Figures {
    let mut f = Figures::default();
    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let t0 = cpu_now();
    let mut calls = 0;
    let all: Vec<Profile> = (0..ranks)
        .map(|r| {
            let (p, c) = rank_profile(shape, variant, r, ranks);
            calls += c;
            p
        })
        .collect();
    let t1 = cpu_now();
    let merged = Profile::merge(&all);
    f.merge = cpu_now() - t1;
    f.generate = t1 - t0;
    drop(all);
    check(&merged, variant, ranks, calls);
    f.paths = merged.threads.iter().map(|t| t.nodes.len()).sum();
    f.peak_heap = PEAK.load(Ordering::Relaxed) - before;
    f.merged_heap = LIVE.load(Ordering::Relaxed) - before;
    f
}

/// One rank's JSON round trip alone: the median of [`ROUND_TRIPS`] of each.
fn round_trip(shape: &Shape) -> Figures {
    let (p, _) = rank_profile(shape, Variant::Shared, 0, 1);
    let mut write = Vec::new();
    let mut read = Vec::new();
    let mut bytes = Vec::new();
    for _ in 0..ROUND_TRIPS {
        bytes.clear();
        let t0 = cpu_now();
        json::write(&p, &mut bytes).expect("a profile serializes");
        let t1 = cpu_now();
        let back = load::from_bytes(&bytes, Path::new("rank 0"))
            .unwrap_or_else(|e| fail(format!("rank 0 does not parse: {e}")))
            .profile;
        read.push((cpu_now() - t1).as_nanos() as f64);
        write.push((t1 - t0).as_nanos() as f64);
        if back != p {
            fail("rank 0 does not read back as written".to_owned());
        }
    }
    let median =
        |v: &mut Vec<f64>| Duration::from_nanos(Summary::of(v).map_or(0.0, |s| s.median) as u64);
    Figures {
        serialize: median(&mut write),
        parse: median(&mut read),
        bytes: bytes.len(),
        paths: p.threads[0].nodes.len(),
        ..Figures::default()
    }
}

/// Runs the case named `spec` (`kind variant ranks`) in this process.
fn run_case(spec: &str) -> Figures {
    let words: Vec<&str> = spec.split_whitespace().collect();
    let [kind, variant, ranks] = words[..] else {
        fail(format!("bad case {spec:?}"));
    };
    let variant = Variant::parse(variant);
    let ranks: u32 = ranks.parse().expect("a rank count");
    let shape = Shape::new(NODES);
    let (_, wait0) = sched();
    let t0 = Instant::now();
    let mut f = match kind {
        "fold" => fold(&shape, variant, ranks, false),
        "gather" => fold(&shape, variant, ranks, true),
        "offline" => offline(&shape, variant, ranks),
        _ => round_trip(&shape),
    };
    f.wall = t0.elapsed();
    let (_, wait1) = sched();
    f.wait = wait1 - wait0;
    f.hwm_kib = proc_status_kib("VmHWM").unwrap_or(0);
    f
}

/// Runs `spec` in a child process of this binary.
fn child(spec: &str) -> Figures {
    let exe = std::env::current_exe().expect("the bench's own path");
    let out = Command::new(exe)
        .env(CASE_VAR, spec)
        .output()
        .expect("the bench runs itself");
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        eprint!("{}", String::from_utf8_lossy(&out.stderr));
        fail(format!("case {spec:?} failed ({})", out.status));
    }
    text.lines()
        .find_map(|l| l.strip_prefix("FIGURES ").and_then(Figures::decode))
        .unwrap_or_else(|| fail(format!("case {spec:?} printed no figures")))
}

// ---------------------------------------------------------------------------
// The table

fn ms(d: Duration) -> String {
    format!("{:.0}", d.as_secs_f64() * 1e3)
}

fn mib(bytes: usize) -> String {
    format!("{:.1}", bytes as f64 / (1 << 20) as f64)
}

/// The table's columns after the case.
const COLUMNS: [&str; 13] = [
    "ranks",
    "paths merged",
    "ranks x paths",
    "generate",
    "serialize",
    "parse",
    "merge",
    "rank 0",
    "wall",
    "wait",
    "peak heap",
    "merged heap",
    "VmHWM",
];

/// The width of the case column.
const CASE: usize = 26;

/// Prints one line of the table: `case`, then `cells` right-aligned under
/// [`COLUMNS`].
fn line(case: &str, cells: &[String]) {
    let mut out = format!("| {case:<CASE$} |");
    for (cell, label) in cells.iter().zip(COLUMNS) {
        out += &format!(" {cell:>w$} |", w = label.len());
    }
    println!("{}", out.trim_end_matches(" |"));
}

/// The table's header.
fn header() {
    line("case", &COLUMNS.map(str::to_owned));
    let rule: String = std::iter::once(CASE + 2)
        .chain(COLUMNS.iter().map(|c| c.len() + 2))
        .map(|w| "-".repeat(w))
        .collect::<Vec<_>>()
        .join("|");
    println!("|{rule}");
}

/// One row of the table.
fn row(case: &str, ranks: u32, f: &Figures) {
    line(
        case,
        &[
            ranks.to_string(),
            f.paths.to_string(),
            (ranks as usize * NODES).to_string(),
            ms(f.generate),
            ms(f.serialize),
            ms(f.parse),
            ms(f.merge),
            ms(f.rank0()),
            ms(f.wall),
            ms(f.wait),
            mib(f.peak_heap),
            mib(f.merged_heap),
            format!("{:.1}", f.hwm_kib as f64 / 1024.0),
        ],
    );
}

fn main() {
    if let Ok(spec) = std::env::var(CASE_VAR) {
        println!("FIGURES {}", run_case(&spec).encode());
        return;
    }
    let ranks: Vec<u32> = std::env::var("MERGE_RANKS")
        .ok()
        .map(|v| v.split(',').filter_map(|s| s.trim().parse().ok()).collect())
        .filter(|v: &Vec<u32>| !v.is_empty())
        .unwrap_or_else(|| RANKS.to_vec());
    let most = *ranks.iter().max().unwrap_or(&4_096);
    let least = *ranks.iter().min().unwrap_or(&256);
    let base = BASELINE_RANKS.min(most);

    let one = child("round-trip shared 1");
    println!(
        "\none rank ({} nodes, {} JSON bytes): json::write {:.2} ms, load::from_bytes {:.2} ms \
         (medians of {ROUND_TRIPS})",
        one.paths,
        one.bytes,
        one.serialize.as_secs_f64() * 1e3,
        one.parse.as_secs_f64() * 1e3
    );

    println!(
        "\nmerging MPI ranks of {NODES} call paths each, one rank at a time. Phases in ms of \
         CPU time (\"rank 0\" = parse + merge); \"wall\" and \"wait\" = the case's wall-clock \
         time and its time waiting for a CPU; memory in MiB\n"
    );
    header();

    let mut failed = false;
    let mut folds: Vec<(Variant, u32, Figures)> = Vec::new();
    for variant in [Variant::Shared, Variant::Specific] {
        for &n in &ranks {
            let f = child(&format!("fold {} {n}", variant.name()));
            row(&format!("RankMerge, {}", variant.name()), n, &f);
            folds.push((variant, n, f));
        }
    }
    let gathers: Vec<(Variant, Figures)> = [Variant::Shared, Variant::Specific]
        .into_iter()
        .map(|v| {
            let f = child(&format!("gather {} {most}", v.name()));
            row(&format!("via JSON, {}", v.name()), most, &f);
            (v, f)
        })
        .collect();
    let offline = child(&format!("offline shared {base}"));
    row("Profile::merge, shared", base, &offline);
    println!();

    let find = |v: Variant, n: u32| {
        folds
            .iter()
            .find(|(fv, fn_, _)| *fv == v && *fn_ == n)
            .map(|(_, _, f)| f)
    };
    if let Some(f) = find(Variant::Shared, base) {
        println!(
            "Profile::merge against RankMerge, {base} shared ranks: {:.1}x the merge time, \
             {:.0}x the peak heap, {:.0}x the VmHWM",
            offline.merge.as_secs_f64() / f.merge.as_secs_f64(),
            offline.peak_heap as f64 / f.peak_heap as f64,
            offline.hwm_kib as f64 / f.hwm_kib as f64
        );
    }
    if let (Some(a), Some(b)) = (find(Variant::Shared, least), find(Variant::Shared, most)) {
        let allowed = a.peak_heap + (most - least) as usize * SHARED_SLACK;
        println!(
            "shared, {least} -> {most} ranks: peak heap {} -> {} MiB ({:.0} bytes per added \
             rank; at most {SHARED_SLACK} allowed)",
            mib(a.peak_heap),
            mib(b.peak_heap),
            (b.peak_heap as f64 - a.peak_heap as f64) / f64::from((most - least).max(1))
        );
        if b.peak_heap > allowed {
            eprintln!("FAILED: the shared variant's peak heap grew with the ranks");
            failed = true;
        }
    }
    if let (Some(a), Some(b)) = (
        find(Variant::Specific, least),
        find(Variant::Specific, most),
    ) {
        println!(
            "rank-specific, {least} -> {most} ranks: paths x{:.1}, peak heap x{:.1}, \
             {:.0} bytes of peak heap per distinct path at {most} ranks",
            b.paths as f64 / a.paths as f64,
            b.peak_heap as f64 / a.peak_heap as f64,
            b.peak_heap as f64 / b.paths as f64
        );
    }
    for (v, g) in &gathers {
        let met = g.rank0() < Duration::from_secs(10) && g.hwm_kib < 2 * 1024 * 1024;
        println!(
            "{most} {} ranks through JSON, CPU time: rank 0 (parse + merge) {:.2} s, {:.2} ms \
             a rank; with serialization {:.2} s, with generation {:.2} s ({:.2} s of wall \
             clock); peak resident {:.0} MiB (target: under 10 s and 2 GB: {})",
            v.name(),
            g.rank0().as_secs_f64(),
            g.rank0().as_secs_f64() * 1e3 / f64::from(most),
            g.library().as_secs_f64(),
            (g.library() + g.generate).as_secs_f64(),
            g.wall.as_secs_f64(),
            g.hwm_kib as f64 / 1024.0,
            if met { "met" } else { "MISSED" }
        );
    }
    failed |= !parallel_rank0(most);
    if failed {
        std::process::exit(1);
    }
}

/// Rank 0 as an MPI session runs it: `RankMerge::add_json`, which parses a
/// round of ranks' bytes on every core, then folds them in order. The ranks'
/// own work (generating and serializing their profiles, each on its own
/// node in a real run) is left out; rank 0's wall clock is what counts.
/// Returns whether it met the target (under 10 s).
fn parallel_rank0(ranks: u32) -> bool {
    const ROUND: u32 = 64;
    let shape = Shape::new(NODES);
    let mut all_met = true;
    for variant in [Variant::Shared, Variant::Specific] {
        let mut merge = RankMerge::new();
        let mut rank0 = Duration::ZERO;
        let mut calls = 0;
        let name = Path::new("rank");
        for first in (0..ranks).step_by(ROUND as usize) {
            let round: Vec<Vec<u8>> = (first..(first + ROUND).min(ranks))
                .map(|r| {
                    let (p, c) = rank_profile(&shape, variant, r, ranks);
                    calls += c;
                    let mut bytes = Vec::new();
                    json::write(&p, &mut bytes).expect("a profile serializes");
                    bytes
                })
                .collect();
            let pieces: Vec<(&Path, &[u8])> = round.iter().map(|b| (name, &b[..])).collect();
            let t = Instant::now();
            merge
                .add_json(&pieces, |_| ())
                .unwrap_or_else(|e| fail(format!("a rank does not parse: {e}")));
            rank0 += t.elapsed();
        }
        let t = Instant::now();
        let merged = merge.finish();
        rank0 += t.elapsed();
        check(&merged, variant, ranks, calls);
        let met = rank0 < Duration::from_secs(10);
        all_met &= met;
        println!(
            "{ranks} {} ranks, rank 0 as a session runs it (RankMerge::add_json: a round of \
             {ROUND} ranks parsed on {} core(s), then folded): {:.2} s of wall clock (target: \
             under 10 s: {})",
            variant.name(),
            profiler::analysis::available_cores(),
            rank0.as_secs_f64(),
            if met { "met" } else { "MISSED" }
        );
    }
    all_met
}
