//! The parallel summary: exact POP metrics on hand-built profiles, parallel
//! regions and oversubscription on hand-built timelines, and live runs:
//! static scheduling of uneven work shows a worse load balance than dynamic
//! scheduling, and more busy threads than cores get the warning.

use std::sync::Barrier;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use profiler::analysis::{OversubscriptionKind, ParallelSummary, RuntimeSource, available_cores};
use profiler::profile::NO_PARENT;
use profiler::{Metadata, Node, Profile, SiteInfo, Span, ThreadProfile, profile};

const MS: u64 = 1_000_000;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-12
}

fn meta(duration_ns: u64, cores: u32) -> Metadata {
    let mut m = Metadata::default();
    m.duration_ns = duration_ns;
    m.available_cores = cores;
    m
}

fn sites() -> Vec<SiteInfo> {
    ["run", "chunk", "setup", "phase1", "phase2", "log"]
        .iter()
        .enumerate()
        .map(|(i, n)| SiteInfo::new(*n, "app", "app.rs", i as u32 + 1))
        .collect()
}
const RUN: u32 = 0;
const CHUNK: u32 = 1;
const SETUP: u32 = 2;
const PHASE1: u32 = 3;
const PHASE2: u32 = 4;
const LOG: u32 = 5;

/// A thread whose roots are the given (site, inclusive ns), each with a
/// child of half its time, so that busy time is the roots' time only.
fn thread_with(id: u64, name: &str, roots: &[(u32, u64)]) -> ThreadProfile {
    let mut nodes = Vec::new();
    for &(site, ns) in roots {
        let root = nodes.len() as u32;
        nodes.push(Node::new(site, NO_PARENT, 1, ns));
        nodes.push(Node::new(SETUP, root, 3, ns / 2));
    }
    ThreadProfile::new(id, name, 7, nodes)
}

/// A thread whose nodes and timeline come from the spans (start, end) of
/// each site: nodes get the spans' inclusive times, roots being the spans
/// not nested in another.
fn thread_from_spans(id: u64, name: &str, spans: &[(u32, u64, u64)]) -> ThreadProfile {
    let mut sorted: Vec<(u32, u64, u64)> = spans.to_vec();
    sorted.sort_by_key(|&(_, s, e)| (s, std::cmp::Reverse(e)));
    // One node per span (a tree of calls, good enough for the busy time).
    let mut nodes: Vec<Node> = Vec::new();
    let mut stack: Vec<(usize, u64)> = Vec::new();
    for &(site, s, e) in &sorted {
        while stack.last().is_some_and(|&(_, end)| end <= s) {
            stack.pop();
        }
        let parent = stack.last().map_or(NO_PARENT, |&(i, _)| i as u32);
        nodes.push(Node::new(site, parent, 1, e - s));
        stack.push((nodes.len() - 1, e));
    }
    // The timeline lists spans in the order they ended.
    let mut by_end = sorted.clone();
    by_end.sort_by_key(|&(_, s, e)| (e, std::cmp::Reverse(s)));
    let timeline = by_end
        .iter()
        .map(|&(site, s, e)| Span::new(site, s, e - s))
        .collect();
    ThreadProfile::new(id, name, 7, nodes).with_timeline(timeline, 0)
}

#[test]
fn without_a_timeline_there_is_no_whole_run_load_balance() {
    let threads = vec![
        thread_with(1, "main", &[(RUN, 60 * MS), (CHUNK, 40 * MS)]),
        thread_with(2, "w1", &[(CHUNK, 50 * MS)]),
        thread_with(3, "w2", &[(CHUNK, 30 * MS)]),
        thread_with(4, "idle", &[]),
        thread_with(5, "(12 exited threads)", &[(CHUNK, 900 * MS)]).with_folded_threads(12),
    ];
    let p = Profile::new(meta(200 * MS, 4), sites(), threads);
    p.validate().unwrap();
    let s = p.parallel_summary();
    assert_eq!(s.runtime_source, RuntimeSource::Duration);
    assert_eq!(s.runtime_ns, 200 * MS);
    let busy: Vec<u64> = s.threads.iter().map(|t| t.busy_ns).collect();
    assert_eq!(busy, vec![100 * MS, 50 * MS, 30 * MS, 0, 900 * MS]);
    assert_eq!(
        s.threads.iter().map(|t| t.folded).collect::<Vec<_>>(),
        vec![false, false, false, false, true]
    );
    assert!(s.threads.iter().all(|t| t.waiting_ns.is_none()));
    // Load balance is over the workers of parallel regions, which need a
    // timeline: no number rather than one over every thread of the run.
    assert_eq!(s.efficiency, None);
    assert_eq!(s.efficiency_calls, 0);
    assert!(!s.cpu_known);
    // Without a timeline: mean concurrency only, from the useful times.
    assert!(!s.concurrency.from_timeline);
    assert_eq!(s.concurrency.peak, None);
    assert!(close(s.concurrency.mean, 1080.0 / 200.0));
    assert_eq!(s.concurrency.cores, Some(4));
    // No CPU time from the operating system (a hand-built or older
    // profile): busy threads stand in for runnable ones, and say so.
    assert!(s.oversubscribed, "5.4 busy threads on average on 4 cores");
    assert_eq!(
        s.oversubscriptions[0].kind,
        profiler::analysis::OversubscriptionKind::Busy
    );
    assert!(s.regions.is_empty());
    assert!(s.is_parallel());

    let text = s.to_string();
    assert!(text.starts_with("Parallel summary\n"), "{text}");
    for needle in [
        "Whole run: load balance is measured over the workers of parallel regions, which \
         need a timeline",
        "100.000 ms",
        "(not in the figures below)",
        "WARNING: oversubscribed: 5.40 busy threads on average on 4 cores",
        "record a timeline",
    ] {
        assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
    }
    assert!(!text.contains("Load balance"), "{text}");
}

#[test]
fn balanced_busy_threads_are_acceptable() {
    // main's `run` forks a and b, busy 90 ms each in its 100 ms.
    let threads = vec![
        thread_from_spans(1, "main", &[(RUN, 0, 100 * MS)]),
        thread_from_spans(2, "a", &[(CHUNK, 5 * MS, 95 * MS)]),
        thread_from_spans(3, "b", &[(CHUNK, 5 * MS, 95 * MS)]),
    ];
    let s = Profile::new(meta(100 * MS, 2), sites(), threads).parallel_summary();
    let e = s.efficiency.unwrap();
    assert_eq!(e.workers, 2, "main waited: it is no worker");
    assert!(close(e.load_balance, 1.0));
    assert!(close(e.communication, 0.9));
    assert!(close(e.parallel, 0.9));
    assert!(!s.oversubscribed);
    let text = s.to_string();
    assert!(
        text.contains("Parallel efficiency        0.900   acceptable (>= 0.8)"),
        "{text}"
    );
    assert!(!text.contains("WARNING"), "{text}");
}

#[test]
fn nothing_recorded_gives_no_figures_and_no_nan() {
    let p = Profile::new(meta(0, 0), sites(), vec![thread_with(1, "main", &[])]);
    let s = p.parallel_summary();
    assert_eq!(s.efficiency, None);
    assert!(!s.oversubscribed);
    assert!(!s.is_parallel());
    assert!(
        s.to_string()
            .contains("Whole run: load balance is measured over")
    );
    let json = serde_json::to_string(&s).unwrap();
    assert_eq!(serde_json::from_str::<ParallelSummary>(&json).unwrap(), s);
}

#[test]
fn runtime_is_the_timeline_extent_and_never_below_the_busiest_thread() {
    let threads = vec![
        thread_from_spans(1, "a", &[(CHUNK, 10 * MS, 50 * MS)]),
        thread_from_spans(2, "b", &[(CHUNK, 30 * MS, 110 * MS)]),
    ];
    let p = Profile::new(meta(999 * MS, 2), sites(), threads);
    p.validate().unwrap();
    let s = p.parallel_summary();
    assert_eq!(s.runtime_source, RuntimeSource::Timeline);
    assert_eq!((s.start_ns, s.runtime_ns), (10 * MS, 100 * MS));
    // Two threads that merely overlap: no region, so no load balance.
    assert!(s.regions.is_empty());
    assert_eq!(s.efficiency, None);
    assert!(
        s.to_string().contains("Whole run: no parallel region"),
        "{s}"
    );

    // A busy time beyond the timeline (scopes left off it) raises the runtime.
    let mut threads = p.threads.clone();
    threads[1].nodes[0].time_ns = 150 * MS;
    let s = Profile::new(meta(999 * MS, 2), sites(), threads).parallel_summary();
    assert_eq!(s.runtime_ns, 150 * MS);
}

/// main: `run` [0, 100) forking two workers, with `setup` [0, 2) inside;
/// w0 busy [2, 27), w1 busy [2, 77) (w1's scope encloses w0's).
fn fork_join() -> Profile {
    let threads = vec![
        thread_from_spans(1, "main", &[(RUN, 0, 100 * MS), (SETUP, 0, 2 * MS)]),
        thread_from_spans(2, "w0", &[(CHUNK, 2 * MS, 27 * MS)]),
        thread_from_spans(3, "w1", &[(CHUNK, 2 * MS, 77 * MS)]),
    ];
    Profile::new(meta(100 * MS, 2), sites(), threads)
}

#[test]
fn a_fork_join_call_is_a_region_with_exact_metrics() {
    let p = fork_join();
    p.validate().unwrap();
    let s = p.parallel_summary();
    // Whole run: over the region's workers (its one call).
    let e = s.efficiency.unwrap();
    assert_eq!(s.efficiency_calls, 1);
    assert_eq!(Some(e), s.regions.first().map(|r| r.efficiency));

    // One region: `run`. The workers' own scopes are not regions, although
    // w1's encloses w0's: they lie inside main's region.
    assert_eq!(s.regions.len(), 1, "{:#?}", s.regions);
    let r = &s.regions[0];
    assert_eq!((r.name.as_str(), r.site, r.calls), ("run", RUN, 1));
    assert_eq!(r.total_ns, 100 * MS);
    // Workers: w0 25 ms, w1 75 ms. Main's 2 ms of nested work (`setup`)
    // come before the workers start: serial work, no part of the balance.
    let call = &r.longest[0];
    assert_eq!(
        (call.thread, call.start_ns, call.duration_ns),
        (0, 0, 100 * MS)
    );
    let busy: Vec<(usize, u64)> = call.busy.iter().map(|b| (b.thread, b.busy_ns)).collect();
    assert_eq!(busy, vec![(0, 0), (1, 25 * MS), (2, 75 * MS)]);
    let mean = 50.0;
    assert_eq!(call.efficiency.workers, 2);
    assert!(close(call.efficiency.load_balance, mean / 75.0));
    assert!(close(call.efficiency.communication, 0.75));
    assert!(close(call.efficiency.parallel, mean / 100.0));
    assert_eq!(r.efficiency, call.efficiency);

    // Concurrency: main's time directly in `run` is waiting, not busy.
    assert_eq!(s.threads[0].waiting_ns, Some(98 * MS));
    assert_eq!(s.threads[1].waiting_ns, Some(0));
    let c = s.concurrency;
    assert!(c.from_timeline);
    assert_eq!(c.peak, Some(2));
    assert_eq!(c.peak_ns, Some(25 * MS));
    assert!(close(c.mean, 102.0 / 100.0));
    assert_eq!(c.over_cores_ns, Some(0));
    assert!(
        !s.oversubscribed,
        "main waiting for its 2 workers on 2 cores"
    );

    let text = s.to_string();
    for needle in [
        "Parallel regions",
        "  run           1    100.000 ms        2   0.667   0.750   0.500\n",
        "longest call: 100.000 ms at 0 ns on main",
        "busy: main 0 ns, w0 25.000 ms, w1 75.000 ms",
        "waiting",
    ] {
        assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
    }
    let json = serde_json::to_string(&s).unwrap();
    assert_eq!(serde_json::from_str::<ParallelSummary>(&json).unwrap(), s);
}

#[test]
fn region_figures_over_calls_keep_each_calls_imbalance() {
    // Two calls of `run`: w0 is the slow one in the first, w1 in the second.
    // Summed per thread they would look balanced; per call they are not.
    let threads = vec![
        thread_from_spans(1, "main", &[(RUN, 0, 100 * MS), (RUN, 200 * MS, 300 * MS)]),
        thread_from_spans(
            2,
            "w0",
            &[(CHUNK, 0, 100 * MS), (CHUNK, 200 * MS, 250 * MS)],
        ),
        thread_from_spans(3, "w1", &[(CHUNK, 0, 50 * MS), (CHUNK, 200 * MS, 300 * MS)]),
    ];
    let s = Profile::new(meta(300 * MS, 2), sites(), threads).parallel_summary();
    assert_eq!(s.regions.len(), 1, "{:#?}", s.regions);
    let r = &s.regions[0];
    assert_eq!((r.calls, r.total_ns), (2, 200 * MS));
    assert_eq!(r.longest.len(), 2);
    for call in &r.longest {
        assert!(close(call.efficiency.load_balance, 0.75));
        assert!(close(call.efficiency.communication, 1.0));
        assert_eq!(call.efficiency.workers, 2);
    }
    let e = &r.efficiency;
    assert!(close(e.mean_busy_ns, 150.0 * MS as f64));
    assert_eq!((e.max_busy_ns, e.runtime_ns), (200 * MS, 200 * MS));
    assert!(close(e.load_balance, 0.75));
    assert!(close(e.communication, 1.0));
    assert!(close(e.parallel, 0.75));
}

#[test]
fn nested_regions_on_one_thread_and_an_unrelated_busy_thread() {
    // main: run [0, 300) > phase1 [0, 100) and phase2 [100, 300), each
    // forking workers; a logger is busy across the regions' boundaries.
    let threads = vec![
        thread_from_spans(
            1,
            "main",
            &[
                (RUN, 0, 300 * MS),
                (PHASE1, 0, 100 * MS),
                (PHASE2, 100 * MS, 300 * MS),
            ],
        ),
        thread_from_spans(
            2,
            "w0",
            &[(CHUNK, 10 * MS, 90 * MS), (CHUNK, 110 * MS, 290 * MS)],
        ),
        thread_from_spans(
            3,
            "w1",
            &[(CHUNK, 10 * MS, 50 * MS), (CHUNK, 110 * MS, 200 * MS)],
        ),
        thread_from_spans(
            4,
            "logger",
            &[(LOG, 95 * MS, 105 * MS), (LOG, 280 * MS, 320 * MS)],
        ),
    ];
    let s = Profile::new(meta(400 * MS, 4), sites(), threads).parallel_summary();
    assert_eq!(s.runtime_ns, 320 * MS);
    let names: Vec<(&str, u64)> = s
        .regions
        .iter()
        .map(|r| (r.name.as_str(), r.total_ns))
        .collect();
    assert_eq!(
        names,
        vec![
            ("run", 300 * MS),
            ("phase2", 200 * MS),
            ("phase1", 100 * MS)
        ]
    );
    let phase1 = &s.regions[2].longest[0];
    // The logger straddles the calls: not one of their workers. Main has no
    // useful time of its own inside (its nested scopes are regions too).
    let busy: Vec<(usize, u64)> = phase1.busy.iter().map(|b| (b.thread, b.busy_ns)).collect();
    assert_eq!(busy, vec![(0, 0), (1, 80 * MS), (2, 40 * MS)]);
    assert_eq!(phase1.efficiency.workers, 2);
    assert!(close(phase1.efficiency.load_balance, 60.0 / 80.0));
    assert!(close(phase1.efficiency.communication, 0.8));
    let run = &s.regions[0].longest[0];
    let busy: Vec<(usize, u64)> = run.busy.iter().map(|b| (b.thread, b.busy_ns)).collect();
    assert_eq!(busy, vec![(0, 0), (1, 260 * MS), (2, 130 * MS)]);
    assert_eq!(s.threads[0].waiting_ns, Some(300 * MS));
    // The workers' scopes are no regions (w0's enclose w1's, but both lie
    // inside main's `run`), nor are the logger's.
    assert!(
        s.regions
            .iter()
            .all(|r| r.name != "log" && r.name != "chunk")
    );
    // Busy: at most two of the workers and the logger at once; main waits.
    assert_eq!(s.concurrency.peak, Some(2));
    assert_eq!(s.concurrency.peak_ns, Some((40 + 90 + 10) * MS));
    assert!(!s.oversubscribed);
}

#[test]
fn sustained_oversubscription_on_a_timeline_gets_the_warning() {
    // Four threads busy over the same 100 ms on 2 cores.
    let threads = (0..4)
        .map(|i| thread_from_spans(i + 1, &format!("w{i}"), &[(CHUNK, 0, 100 * MS)]))
        .collect();
    let s = Profile::new(meta(100 * MS, 2), sites(), threads).parallel_summary();
    let c = s.concurrency;
    assert_eq!(
        (c.peak, c.peak_ns, c.over_cores_ns),
        (Some(4), Some(100 * MS), Some(100 * MS))
    );
    assert!(close(c.mean, 4.0));
    assert!(s.oversubscribed);
    let w = s.warning().unwrap();
    assert!(
        w.starts_with("WARNING: oversubscribed: up to 4 busy threads on 2 cores; more than 2 busy for 100.000 ms (100.0% of the runtime)"),
        "{w}"
    );
    assert!(s.to_string().contains(&format!("\n{w}\n")));
}

#[test]
fn a_momentary_peak_above_the_cores_is_no_warning() {
    // Two workers on 2 cores, and a third thread overlapping them for 1 ms
    // of a 100 ms run (1% < 5%): the peak is reported, without a warning.
    let threads = vec![
        thread_from_spans(1, "a", &[(CHUNK, 0, 100 * MS)]),
        thread_from_spans(2, "b", &[(CHUNK, 0, 100 * MS)]),
        thread_from_spans(3, "c", &[(CHUNK, 99 * MS, 100 * MS)]),
    ];
    let s = Profile::new(meta(100 * MS, 2), sites(), threads).parallel_summary();
    assert_eq!(s.concurrency.peak, Some(3));
    assert_eq!(s.concurrency.over_cores_ns, Some(MS));
    assert!(!s.oversubscribed);
    assert_eq!(s.warning(), None);
    let text = s.to_string();
    assert!(
        text.contains(
            "peak 3 (for 1.000 ms) on 2 cores; more than 2 busy for 1.000 ms (1.0% of the runtime)"
        ),
        "{text}"
    );
    assert!(!text.contains("WARNING"), "{text}");

    // Unknown cores: no judgement.
    let mut p = Profile::new(meta(100 * MS, 0), sites(), vec![]);
    p.threads = (0..8)
        .map(|i| thread_from_spans(i, "x", &[(CHUNK, 0, 100 * MS)]))
        .collect();
    let s = p.parallel_summary();
    assert_eq!(s.concurrency.peak, Some(8));
    assert_eq!(s.concurrency.over_cores_ns, None);
    assert!(!s.oversubscribed);
}

#[test]
fn dropped_scopes_are_reported() {
    let mut t = thread_from_spans(1, "a", &[(CHUNK, 0, 10 * MS)]);
    t.timeline_dropped = 42;
    let s = Profile::new(meta(10 * MS, 2), sites(), vec![t]).parallel_summary();
    assert_eq!(s.timeline_dropped, 42);
    assert!(
        s.to_string()
            .contains("Note: 42 scopes were left off the timeline")
    );
}

// ---------------------------------------------------------------------------
// Live runs, each in a process of its own.

/// Items and their cost: item `i` does `(i + 1)^2` units of computation,
/// so that the second half of the items holds 7/8 of the work. Work, not a
/// wall-clock spin: on a loaded machine both threads then slow down alike,
/// and the busy times keep the ratio of the work.
const ITEMS: usize = 100;
/// xorshift steps per unit (~200 ms in all in a test build).
const STEPS_PER_UNIT: u64 = 300;

fn cost(i: usize) -> u64 {
    ((i + 1) * (i + 1)) as u64
}

#[profile]
fn item(i: usize) -> u64 {
    let mut x = i as u64 | 1;
    for _ in 0..cost(i) * STEPS_PER_UNIT {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    std::hint::black_box(x)
}

/// The threads whose names start with `prefix`, as a profile of their own.
fn only(p: &Profile, prefix: &str) -> Profile {
    let mut meta = p.meta.clone();
    meta.available_cores = available_cores();
    let threads: Vec<ThreadProfile> = p
        .threads
        .iter()
        .filter(|t| t.name.starts_with(prefix))
        .cloned()
        .collect();
    let mut q = Profile::new(meta, p.sites.clone(), threads);
    q.sched = p.sched.clone();
    q
}

/// Forks the items to 2 threads named `{prefix}-{t}` and joins them, inside
/// the profiled call `fork_two` on a thread named `{prefix}-main` (a parallel
/// region); `schedule` hands out items to worker `t`. Returns the summary of
/// those threads (recorded with a timeline) and the work units each did.
fn run_two(
    prefix: &str,
    schedule: impl Fn(usize) -> Vec<usize> + Sync,
) -> (ParallelSummary, Vec<u64>) {
    #[profile]
    fn fork_two(prefix: &str, schedule: &(dyn Fn(usize) -> Vec<usize> + Sync)) -> Vec<u64> {
        thread::scope(|s| {
            let hs: Vec<_> = (0..2)
                .map(|t| {
                    thread::Builder::new()
                        .name(format!("{prefix}-{t}"))
                        .spawn_scoped(s, move || schedule(t).into_iter().map(cost).sum::<u64>())
                        .unwrap()
                })
                .collect();
            hs.into_iter()
                .map(|h| h.join().unwrap())
                .collect::<Vec<u64>>()
        })
    }
    profiler::start_sampler(profiler::DEFAULT_SAMPLE_INTERVAL);
    let before = profiler::timeline();
    profiler::set_timeline(Some(profiler::TimelineConfig::default()));
    let done = thread::scope(|s| {
        thread::Builder::new()
            .name(format!("{prefix}-main"))
            .spawn_scoped(s, || fork_two(prefix, &schedule))
            .unwrap()
            .join()
            .unwrap()
    });
    profiler::set_timeline(before);
    let p = only(&profiler::snapshot(), &format!("{prefix}-"));
    assert_eq!(p.threads.len(), 3);
    (p.parallel_summary(), done)
}

#[test]
fn static_scheduling_of_uneven_work_balances_worse_than_dynamic() {
    // Own process: the sampler, the timeline settings and the runnable threads
    // of the process are process-wide. Live runs hold the cores lock so that
    // they do not compete for the cores.
    let _cores = integration::cores();
    if integration::ran_in_own_process(
        module_path!(),
        "static_scheduling_of_uneven_work_balances_worse_than_dynamic",
    ) {
        return;
    }
    // Static: each thread a fixed contiguous half of the items.
    let (stat, stat_units) = run_two("static", |t| {
        let range = t * ITEMS / 2..(t + 1) * ITEMS / 2;
        for i in range.clone() {
            item(i);
        }
        range.collect()
    });
    // Dynamic: one item at a time from a shared counter.
    let next = AtomicUsize::new(0);
    let (dynamic, dyn_units) = run_two("dynamic", |_| {
        let mut mine = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            if i >= ITEMS {
                return mine;
            }
            item(i);
            mine.push(i);
        }
    });
    println!("{stat}\n{dynamic}");
    // One region each, `fork_two`, whose workers are the two threads: the
    // forking thread waited in join, so it is no worker.
    for x in [&stat, &dynamic] {
        assert_eq!(x.regions.len(), 1, "{x}");
        assert_eq!(x.regions[0].name, "fork_two", "{x}");
        assert_eq!(x.efficiency_calls, 1, "{x}");
    }
    let s = stat.efficiency.unwrap();
    let d = dynamic.efficiency.unwrap();
    // Static: the second thread has 7/8 of the work: LB ~ 0.57. Dynamic ~ 1.
    assert!(
        s.load_balance < 0.75,
        "static load balance {}",
        s.load_balance
    );
    assert!(
        d.load_balance > 0.85,
        "dynamic load balance {}",
        d.load_balance
    );
    assert!(d.load_balance - s.load_balance > 0.15);
    assert_eq!(s.workers, 2);
    assert_eq!(d.workers, 2);

    // The per-thread busy times explain it: under static the busiest thread
    // is the one given the costly items (7/8 of the work), several times
    // busier than the other; under dynamic they are close.
    let busy_of = |x: &ParallelSummary, name: &str| {
        x.threads.iter().find(|t| t.name == name).unwrap().busy_ns
    };
    assert_eq!(stat_units, vec![42_925, 295_425]);
    let (light, heavy) = (busy_of(&stat, "static-0"), busy_of(&stat, "static-1"));
    // Useful time is CPU time (at most the busy time): a loaded machine
    // may preempt the workers, which is not work.
    assert!(
        s.max_busy_ns <= heavy + heavy / 1000,
        "{} <= {heavy}",
        s.max_busy_ns
    );
    assert!(
        heavy as f64 > 2.5 * light as f64,
        "static busy {light} {heavy}"
    );
    let predicted = (42_925.0 + 295_425.0) / 2.0 / 295_425.0;
    assert!(
        (s.load_balance - predicted).abs() < 0.15,
        "static load balance {} against {predicted} from the work split",
        s.load_balance
    );
    let (d0, d1) = (
        busy_of(&dynamic, "dynamic-0"),
        busy_of(&dynamic, "dynamic-1"),
    );
    assert!(
        (d0.max(d1) as f64) < 1.3 * d0.min(d1) as f64,
        "dynamic busy {d0} {d1}"
    );
    assert_eq!(
        dyn_units.iter().sum::<u64>(),
        stat_units.iter().sum::<u64>()
    );
    // The text says so.
    let text = stat.to_string();
    assert!(text.contains("static-1"), "{text}");
    assert!(text.contains("Load balance"), "{text}");
}

/// `n` threads named `{prefix}-{i}` spin for `ms` inside a profiled scope,
/// all at once; returns the summary of those threads.
fn spinners(prefix: &str, n: usize, ms: u64) -> ParallelSummary {
    let barrier = Barrier::new(n);
    thread::scope(|s| {
        for i in 0..n {
            let barrier = &barrier;
            thread::Builder::new()
                .name(format!("{prefix}-{i}"))
                .spawn_scoped(s, move || {
                    barrier.wait();
                    let _g = profiler::profile_scope!("spin");
                    integration::spin(Duration::from_millis(ms));
                })
                .unwrap();
        }
    });
    only(&profiler::snapshot(), &format!("{prefix}-")).parallel_summary()
}

#[test]
fn more_runnable_threads_than_cores_get_the_process_warning_and_one_does_not() {
    // Own process: the sampler, the timeline settings and the runnable threads
    // of the process are process-wide. Live runs hold the cores lock so that
    // they do not compete for the cores.
    let _cores = integration::cores();
    if integration::ran_in_own_process(
        module_path!(),
        "more_runnable_threads_than_cores_get_the_process_warning_and_one_does_not",
    ) {
        return;
    }
    assert!(profiler::start_sampler(profiler::DEFAULT_SAMPLE_INTERVAL));
    let before = profiler::timeline();
    profiler::set_timeline(Some(profiler::TimelineConfig::default()));
    let cores = available_cores() as usize;
    let over = spinners("over", 2 * cores, 500);
    let one = spinners("single", 1, 500);
    profiler::set_timeline(before);
    println!("{over}\n{one}");

    assert!(over.concurrency.from_timeline, "{over}");
    assert_eq!(over.concurrency.cores, Some(cores as u32));
    assert!(over.cpu_known, "{over}");
    let sched = over
        .sched
        .unwrap_or_else(|| panic!("no sampler figures in\n{over}"));
    assert!(sched.process_peak as usize > cores, "{over}");
    let process = over
        .oversubscriptions
        .iter()
        .find(|o| o.kind == OversubscriptionKind::Process)
        .unwrap_or_else(|| panic!("no process oversubscription in\n{over}"));
    assert!(process.mean > cores as f64, "{over}");
    assert!(
        over.to_string()
            .contains("WARNING: oversubscribed (this process): "),
        "{over}"
    );

    // One spinning thread: not this process's doing, whatever else the
    // machine runs (another program would be the machine's kind).
    assert!(
        one.oversubscriptions
            .iter()
            .all(|o| o.kind != OversubscriptionKind::Process),
        "{one}"
    );
    assert!(!one.to_string().contains("(this process)"), "{one}");
}
